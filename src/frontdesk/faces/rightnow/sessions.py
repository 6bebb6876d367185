"""ChatTokens and SessionIDs (spec §7.5, §8.1, §11), kept in the engine's key-value table so that
any node can answer the next call (ARCHITECTURE.md 10.6).

Only SHA-256 digests of the secrets are stored or used as keys. A SessionID is bound to one chat,
one interface and this face; every mismatch is the same ``BAD_ID`` so nobody can probe which
SessionIDs exist (§15 rule 4). The per-chat face state ``rn`` holds the delivery cursor and whether
the session is closed.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
import uuid
from typing import Any

from frontdesk.config import EntryPointConfig
from frontdesk.domain.model import Chat
from frontdesk.engine.engine import Engine
from frontdesk.engine.tenants import Tenant
from frontdesk.soap import SoapFault

FACE = "rightnow"
TOKEN_NS = "rightnow:token"
SESSION_NS = "rightnow:session"
_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
_SESSION_TTL = 30 * 86400.0
SECRET_MAX = 64


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _binding(tenant: Tenant, ep: EntryPointConfig) -> dict[str, str]:
    return {"tenant": tenant.id, "interface": ep.id}


async def issue_token(engine: Engine, tenant: Tenant, ep: EntryPointConfig) -> str:
    token = str(uuid.uuid4())
    ttl = float(tenant.config.faces.rightnow.token_ttl_seconds)
    await engine.kv_put(TOKEN_NS, _digest(token), json.dumps(_binding(tenant, ep)), time.time() + ttl)
    return token


async def check_token(engine: Engine, tenant: Tenant, ep: EntryPointConfig, token: str) -> None:
    """Unknown, expired or foreign tokens: ``BAD_ID`` (token). Tokens stay usable until expiry."""
    raw = await engine.kv_get(TOKEN_NS, _digest(token)) if len(token) <= SECRET_MAX else None
    if raw is None or _load(raw) != _binding(tenant, ep):
        raise SoapFault("BAD_TOKEN")


def new_session_id() -> str:
    """25 characters of [a-z0-9] from the OS CSPRNG: about 129 bits."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(25))


async def bind_session(
    engine: Engine, session_id: str, chat: Chat, tenant: Tenant, ep: EntryPointConfig
) -> None:
    value = {**_binding(tenant, ep), "chat": chat.id}
    await engine.kv_put(
        SESSION_NS, _digest(session_id), json.dumps(value), time.time() + _SESSION_TTL, chat=chat
    )


def state(chat: Chat) -> dict[str, Any]:
    st = chat.face_state.get(FACE)
    if not isinstance(st, dict):
        st = chat.face_state[FACE] = {"cursor": 0}
    return st


async def resolve(engine: Engine, tenant: Tenant, ep: EntryPointConfig, session_id: str) -> Chat:
    bad = SoapFault("BAD_ID")
    if len(session_id) > SECRET_MAX:
        raise bad
    raw = await engine.kv_get(SESSION_NS, _digest(session_id))
    bound = _load(raw) if raw is not None else None
    if bound is None or bound.get("tenant") != tenant.id or bound.get("interface") != ep.id:
        raise bad
    chat = await engine.get_chat(str(bound.get("chat", "")))
    if chat is None or chat.face != FACE or chat.tenant_id != tenant.id or chat.entry_point != ep.id:
        raise bad
    if state(chat).get("closed"):
        raise bad
    retention = tenant.config.faces.rightnow.ended_retention_seconds
    if not chat.live and time.time() - (chat.ended_at or 0.0) > retention:
        await close(engine, chat, session_id)
        raise bad
    return chat


async def close(engine: Engine, chat: Chat, session_id: str) -> None:
    """The session becomes unknown: concluded message delivered, or retention over (§11.3)."""
    st = state(chat)
    if not st.get("closed"):
        st["closed"] = True
        await engine.save_face_state(chat)
    await engine.kv_delete(SESSION_NS, _digest(session_id))


def _load(raw: str) -> dict[str, Any] | None:
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None

"""Engagements and consumer sessions (fusion-chat.md §5.1, §6.2, §10 rules 4-5).

An engagement is an engine chat of the Fusion entry point. The face keeps its own durable state in
``chat.face_state["fusion"]``: the current SessionId, the end user's clientId, the delivery cursor
(last event seq handed out), the last ``sequenceNumber`` and whether the session is closed. Three
key-value records let any node find the chat: SessionId -> chat, token ``jti`` -> chat (one token,
one engagement) and site + authUserName -> newest chat (``resumeType`` RESUME).
"""

from __future__ import annotations

import secrets
import string
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import msgspec

from frontdesk.config import EntryPointConfig
from frontdesk.domain.model import Chat
from frontdesk.engine.engine import Engine
from frontdesk.engine.tenants import Tenant
from frontdesk.faces.fusion import attributes
from frontdesk.faces.fusion.http import denied

FACE = "fusion"
KV_SESSION = "fusion_session"
KV_JTI = "fusion_jti"
KV_USER = "fusion_user"
_ALPHABET = string.ascii_lowercase + string.digits
_ABSENT = ("", "undefined", "null")


def new_session_id() -> str:
    """25 characters of [a-z0-9] from the system CSPRNG (about 129 bits)."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(25))


def state(chat: Chat) -> dict[str, Any]:
    st = chat.face_state.get(FACE)
    if st is None:
        st = chat.face_state[FACE] = {"cursor": 0, "sn": 0}
    return st


def site_of(tenant: Tenant) -> EntryPointConfig | None:
    for ep in tenant.config.entry_points:
        if ep.face == FACE:
            return ep
    return None


def is_closed(chat: Chat, tenant: Tenant) -> bool:
    """CLOSED: the final message was fetched, or the ended chat outlived its retention (§6.2)."""
    if chat.live:
        return False
    if state(chat).get("closed"):
        return True
    retention = tenant.config.faces.fusion.ended_retention_seconds
    return time.time() - (chat.ended_at or 0.0) > retention


def session_header(raw: str | None) -> str | None:
    """The SessionId header's value; ``""``, ``undefined`` and ``null`` count as absent (§4.3)."""
    if raw is None:
        return None
    value = raw.strip()
    return None if value in _ABSENT else value


@dataclass(slots=True)
class Engagement:
    chat: Chat
    session_id: str
    client_id: int


class Sessions:
    """Finds and issues sessions; a small per-node cache saves a store read per request."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._cache: OrderedDict[str, str] = OrderedDict()

    def _remember(self, sid: str, chat_id: str) -> None:
        self._cache[sid] = chat_id
        self._cache.move_to_end(sid)
        if len(self._cache) > 100_000:
            self._cache.popitem(last=False)

    async def find(self, tenant: Tenant, site: str, sid: str | None) -> Chat | None:
        """The open engagement of this SessionId on this site of this face, else None."""
        if sid is None or len(sid) > 64:
            return None
        chat_id = self._cache.get(sid) or await self.engine.kv_get(KV_SESSION, sid)
        chat = await self.engine.get_chat(chat_id) if chat_id else None
        if (
            chat is None
            or chat.face != FACE
            or chat.tenant_id != tenant.id
            or chat.entry_point != site
            or not secrets.compare_digest(str(state(chat).get("sid", "")), sid)
            or is_closed(chat, tenant)
        ):
            return None
        self._remember(sid, chat.id)
        return chat

    async def require(self, tenant: Tenant, site: str, sid: str | None) -> Chat:
        chat = await self.find(tenant, site, sid)
        if chat is None:
            raise denied()
        self.engine.customer_seen(chat, tenant.config.faces.fusion.abandon_seconds)
        return chat

    async def _issue(self, chat: Chat) -> Engagement:
        """A new SessionId for ``chat``; the previous one stops working at once (§5.1 rule 4)."""
        st = state(chat)
        old = st.get("sid")
        sid = new_session_id()
        st["sid"] = sid
        st.setdefault("cid", chat.customer.party_number)
        if old:
            self._cache.pop(str(old), None)
        await self.engine.kv_put(KV_SESSION, sid, chat.id, chat=chat)
        if old:
            await self.engine.kv_delete(KV_SESSION, str(old))
        self._remember(sid, chat.id)
        return Engagement(chat, sid, int(st["cid"]))

    async def _live(self, tenant: Tenant, site: str, chat_id: str | None) -> Chat | None:
        chat = await self.engine.get_chat(chat_id) if chat_id else None
        if chat is None or chat.face != FACE or chat.tenant_id != tenant.id or chat.entry_point != site:
            return None
        return chat if chat.live else None

    async def engage(self, tenant: Tenant, ep: EntryPointConfig, claims: dict[str, Any]) -> Engagement | None:
        """requestEngagement after the token was verified; None: a used token whose chat ended."""
        jti = str(claims["jti"])
        exp = float(claims["exp"]) + 60
        chat_claim: dict[str, Any] = claims["chat"]
        used = await self.engine.kv_get(KV_JTI, jti)
        if used is not None:
            chat = await self._live(tenant, ep.id, used)
            return await self._issue(chat) if chat is not None else None
        user = str(claims["sub"])
        user_key = f"{tenant.id}:{ep.id}:{user}"
        if str(chat_claim.get("resumeType") or "").upper() == "RESUME":
            chat = await self._live(tenant, ep.id, await self.engine.kv_get(KV_USER, user_key))
            if chat is not None:
                await self.engine.kv_put(KV_JTI, jti, chat.id, exp)
                return await self._issue(chat)
        chat, is_new = await self.engine.create_chat(
            tenant,
            _routed(tenant, ep, chat_claim),
            customer=attributes.customer_of(chat_claim),
            pre_chat=attributes.pre_chat_of(chat_claim),
            subject=_subject(chat_claim),
            identity=f"fusion:{ep.id}:{jti}",
        )
        if is_new:
            state(chat)["user"] = user
            await self.engine.kv_put(KV_USER, user_key, chat.id)
        await self.engine.kv_put(KV_JTI, jti, chat.id, exp)
        self.engine.customer_seen(chat, tenant.config.faces.fusion.abandon_seconds)
        return await self._issue(chat)

    async def close(self, chat: Chat) -> None:
        """The final message went out: the session is CLOSED (§5.3 rule 6)."""
        st = state(chat)
        st["closed"] = True
        sid = st.get("sid")
        if sid:
            self._cache.pop(str(sid), None)


def queue_for(tenant: Tenant, ep: EntryPointConfig, queue_id: Any) -> str:
    """``queueId`` selects a queue through the entry point's ``queue_ids``, else its own queue."""
    key = str(queue_id).strip() if queue_id is not None and not isinstance(queue_id, bool) else ""
    name = ep.queue_ids.get(key)
    return name if name and name in tenant.queues else ep.queue


def _routed(tenant: Tenant, ep: EntryPointConfig, chat: dict[str, Any]) -> EntryPointConfig:
    """The entry point as routing sees this chat: its queue and ``chatPriority`` (§2.5, §5.1)."""
    queue = queue_for(tenant, ep, chat.get("queueId"))
    priority = ep.priority
    raw = chat.get("chatPriority")
    if isinstance(raw, str) and raw.strip().lstrip("-").isdigit() and len(raw.strip()) < 10:
        priority = int(raw.strip())
    if queue == ep.queue and priority == ep.priority:
        return ep
    return msgspec.structs.replace(ep, queue=queue, priority=priority)


def _subject(chat: dict[str, Any]) -> str | None:
    q = chat.get("question")
    return q if isinstance(q, str) and q.strip() else None

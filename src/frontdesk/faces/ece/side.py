"""Side endpoints of a chat (spec/cisco-ece.md 6.2-6.6): re-attach, transcript, the chat's own queue
figures, and the polite refusals of features this version does not offer.
"""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import parse_qs

from frontdesk.domain.model import Chat
from frontdesk.engine.engine import Engine
from frontdesk.faces.ece import xmlsafe
from frontdesk.faces.ece.bosh import supersede
from frontdesk.faces.ece.checks import session_status_xml
from frontdesk.faces.ece.render import assigned_to
from frontdesk.faces.ece.sessions import Sessions, state

CLOSED = '{"code":"400-115","message":"This session is closed"}'
NOT_SUPPORTED: dict[str, str] = {
    "sendcustattachmentnotificaiton": "attachmentSettingDisabledForCustomer",
    "sendcustattachmentnotification": "attachmentSettingDisabledForCustomer",
    "uploadattachments": "attachmentSettingDisabledForCustomer",
    "initiatevideochat": "0",
    "convertvideochat": "false",
    "rejectvideochat": "false",
}


def sid_from(body: bytes, content_type: str, query: dict[str, str] | None = None) -> str | None:
    """The sid of a side request: JSON, XML (``<sid>`` child or attribute) or form, by content."""
    if query and query.get("sid"):
        return query["sid"].strip()
    ct = content_type.lower()
    text = body.decode("utf-8", errors="replace").strip()
    if not text:
        return None
    if "json" in ct or text.startswith("{"):
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):  # RecursionError: nested too deeply to decode
            return None
        value = data.get("sid") if isinstance(data, dict) else None
        return value.strip() if isinstance(value, str) else None
    if "xml" in ct or text.startswith("<"):
        try:
            root = xmlsafe.parse(body)
        except xmlsafe.BadXml:
            return None
        found = xmlsafe.child(root, "sid")
        value = xmlsafe.text(found).strip() if found is not None else (xmlsafe.attr(root, "sid") or "")
        return value.strip() or None
    form = parse_qs(text, keep_blank_values=True)
    values = form.get("sid")
    return values[0].strip() if values else None


async def open_chat(sessions: Sessions, sid: str | None) -> Chat | None:
    chat = await sessions.find(sid)
    return chat if chat is not None and chat.live else None


async def attach(engine: Engine, sessions: Sessions, chat: Chat) -> None:
    """Page reload: the old page's held request ends, the next rid becomes the baseline (6.2)."""
    async with sessions.lock(chat.id):
        st = state(chat)
        now = time.time()
        tenant = engine.tenant(chat.tenant_id)
        limit = float(st.get("lim") or (tenant.config.faces.ece.bosh_inactivity_seconds if tenant else 90))
        if now - float(st.get("seen") or now) > limit:
            st["disc"] = True
        st["seen"] = now
        sessions.seen(chat)
        st["rid"] = None
        st["epoch"] = int(st.get("epoch") or 0) + 1
        st["cache"] = []
        supersede(engine, chat, f"a:{chat.id}:{st['epoch']}")
        await engine.save_face_state(chat)


def transcript(engine: Engine, sessions: Sessions, chat: Chat) -> str:
    renderer = sessions.renderer(chat)
    out: dict[str, Any] = {}
    if chat.customer.name:
        out["customerName"] = chat.customer.name
    if chat.subject:
        out["subject"] = chat.subject
    agent = assigned_to(chat)
    if agent:
        out["assignedTo"] = agent
    out["startTime"] = int(chat.created_at * 1000)
    messages = []
    end = chat.committed_seq
    for ev in engine.read_events(chat, 0, end + 1, up_to=end):
        entry = renderer.transcript_entry(ev)
        if entry is not None:
            messages.append(entry)
    out["message"] = messages
    return json.dumps(out, separators=(",", ":"), ensure_ascii=False)


def statistics(engine: Engine, chat: Chat, with_alt: bool) -> str:
    position = engine.chat_position(chat) or 0
    wait = float(engine.chat_ewt(chat)) if position else 0.0
    return session_status_xml(wait, position, 0 if with_alt else None)

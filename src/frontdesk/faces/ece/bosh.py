"""The BOSH request cycle after creation (spec/cisco-ece.md 5.5, 5.6, 5.9, 5.10).

Rids order the requests; the last two answers are cached in the chat's face state, so a client that
lost an answer resends its rid and gets the same bytes while the payload is not processed again.
A held request ends when there is something to send (plus 50 ms of batching), when ``wait`` passes,
or when a newer request (or ``attachConnection``) of the same session arrives.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time

from frontdesk.domain import errors
from frontdesk.domain.model import Chat
from frontdesk.engine.engine import Engine
from frontdesk.engine.tenants import Tenant
from frontdesk.faces.ece import xmlsafe
from frontdesk.faces.ece.codec import blank, html_to_text, render_template, sanitise
from frontdesk.faces.ece.create import parse_rid
from frontdesk.faces.ece.render import assigned_to, m1
from frontdesk.faces.ece.sessions import TERMINATE, Sessions, cached, remember, state

CHATSTATES = "http://jabber.org/protocol/chatstates"
LINE_MAX = 8000
BATCH_SECONDS = 0.05
_tokens = itertools.count(1)
_node = os.urandom(4).hex()


class Outcome:
    """What the route answers: a status with an empty body, or a BOSH body."""

    def __init__(self, status: int = 200, body: str | None = None) -> None:
        self.status = status
        self.body = body


def poll_topic(chat_id: str) -> str:
    return "ece-poll:" + chat_id


def supersede(engine: Engine, chat: Chat, token: str) -> None:
    """Tell a held request of this session to answer now (hold is 1)."""
    engine.notifier.publish("chat:" + poll_topic(chat.id), token)


async def handle(engine: Engine, sessions: Sessions, root: xmlsafe.Element, sid: str) -> Outcome:
    chat = await sessions.find(sid)
    tenant = engine.tenant(chat.tenant_id) if chat is not None else None
    if chat is None or tenant is None:
        return Outcome(404)
    face = tenant.config.faces.ece
    if not chat.live and time.time() - (chat.ended_at or 0.0) > face.ended_retention_seconds:
        return Outcome(404)
    rid = parse_rid(xmlsafe.attr(root, "rid"))
    if rid is None:
        return Outcome(400)
    st = state(chat)
    replay = cached(st, rid)
    if replay is not None:
        return Outcome(200, replay)
    if not sessions.rates.allow(f"session:{chat.id}", face.limits.session_requests_per_second, 1.0):
        st["disc"] = True
        return Outcome(403)
    deadline = time.monotonic() + float(st.get("wait") or face.long_poll_hold_seconds)
    while True:
        async with sessions.lock(chat.id):
            replay = cached(st, rid)
            if replay is not None:
                return Outcome(200, replay)
            if not chat.live and sessions.finished(chat):
                remember(st, rid, TERMINATE)
                return Outcome(200, TERMINATE)
            last = st.get("rid")
            if last is None or rid == int(last) + 1:
                early = await _process(engine, sessions, tenant, chat, root, rid)
                if early is not None:
                    return early
                break
            if rid == int(last):
                break  # a resent request that is still held elsewhere: hold this one instead
            if not int(last) + 1 < rid <= int(last) + 2 or time.monotonic() >= deadline:
                st["disc"] = True
                return Outcome(404)
        await asyncio.sleep(0.05)  # the missing rid may still be on its way (5.5 "Order")
    return await _hold(engine, sessions, chat, rid, deadline)


async def _process(
    engine: Engine, sessions: Sessions, tenant: Tenant, chat: Chat, root: xmlsafe.Element, rid: int
) -> Outcome | None:
    """Apply the payload once; an Outcome when the request must be answered without holding."""
    face = tenant.config.faces.ece
    st = state(chat)
    now = time.time()
    st["rid"] = rid
    lapsed = now - float(st.get("seen") or now) > float(st.get("lim") or face.bosh_inactivity_seconds)
    if (st.pop("disc", False) or lapsed) and chat.state == "connected":
        name = assigned_to(chat) or ""
        defaults = face.templates
        text = render_template("CUST_RECONNECTED_AGENT_MESSAGE", st.get("tpl") or {}, defaults, name)
        if text:
            st.setdefault("pend", []).append(m1(text))
    pause_attr = (xmlsafe.attr(root, "pause") or "").strip()
    pause = int(pause_attr) if pause_attr.isdigit() and int(pause_attr) > 0 else 0
    st["lim"] = min(pause, face.max_pause_seconds) if pause else face.bosh_inactivity_seconds
    st["seen"] = now
    sessions.seen(chat)
    gone = await _stanzas(engine, tenant, chat, root, rid, int(st.get("epoch") or 0))
    terminate = (xmlsafe.attr(root, "type") or "") == "terminate"
    if terminate or gone or pause:
        supersede(engine, chat, f"r:{_node}:{next(_tokens)}")
    if terminate:
        await engine.customer_end(chat, "customer")
        remember(st, rid, TERMINATE)
        await engine.save_face_state(chat)
        return Outcome(200, TERMINATE)
    if gone:
        await engine.customer_end(chat, "customer")
    if gone or pause:
        return Outcome(200, await sessions.answer(chat, rid))
    await engine.save_face_state(chat)
    return None


async def _stanzas(
    engine: Engine, tenant: Tenant, chat: Chat, root: xmlsafe.Element, rid: int, epoch: int
) -> bool:
    """Customer stanzas → engine calls (5.6); True when the customer left (presence unavailable)."""
    ep = tenant.entry_point("ece", chat.entry_point)
    masks = list(ep.masking_patterns) if ep is not None else []
    gone = False
    for index, el in enumerate(xmlsafe.children(root)):
        name = xmlsafe.local(el)
        if name == "presence":
            gone = gone or (xmlsafe.attr(el, "type") or "") == "unavailable"
            continue
        if name != "message" or not chat.live:
            continue
        kind = (xmlsafe.attr(el, "type") or "normal").strip().lower()
        body_el = xmlsafe.child(el, "body")
        for st_el in xmlsafe.children(el):
            if xmlsafe.ns(st_el) == CHATSTATES:
                await _typing(engine, chat, xmlsafe.local(st_el) == "composing")
        if body_el is None:
            continue
        body = xmlsafe.text(body_el)
        try:
            if kind in ("chat", "headline"):
                if blank(body):
                    continue
                html = sanitise(body[:LINE_MAX], masks)
                text = html_to_text(html)
                if not text.strip():
                    continue
                await engine.customer_message(
                    chat, text, html=html, note=kind == "headline", dedupe_key=f"ece:{epoch}:{rid}:{index}"
                )
            elif kind == "normal" and body.strip():
                await _typing(engine, chat, body.strip() != "0")
        except errors.ChatEnded:
            return gone
    return gone


async def _typing(engine: Engine, chat: Chat, on: bool) -> None:
    try:
        await engine.customer_typing(chat, on)
    except errors.ChatEnded:
        pass


async def _hold(engine: Engine, sessions: Sessions, chat: Chat, rid: int, deadline: float) -> Outcome:
    mine = f"h:{_node}:{next(_tokens)}"
    supersede(engine, chat, mine)
    with engine.waiter(chat.id, poll_topic(chat.id)) as w:
        while True:
            async with sessions.lock(chat.id):
                replay = cached(state(chat), rid)
                if replay is not None:
                    return Outcome(200, replay)
                stanzas, _, _ = sessions.collect(chat)
                if stanzas:
                    break
                if not chat.live:
                    remember(state(chat), rid, TERMINATE)
                    await engine.save_face_state(chat)
                    return Outcome(200, TERMINATE)
            left = deadline - time.monotonic()
            if left <= 0:
                break
            if not await w.wait(left):
                break
            if any(p != mine and p[:2] in ("h:", "a:", "r:") for p in w.take()):
                break
            await asyncio.sleep(BATCH_SECONDS)
    async with sessions.lock(chat.id):
        replay = cached(state(chat), rid)
        if replay is not None:
            return Outcome(200, replay)
        return Outcome(200, await sessions.answer(chat, rid))

"""getMessages, the long poll (fusion-chat.md §5.3), mapped onto the chat's event cursor.

Delivery is at-most-once: the cursor and ``sequenceNumber`` move in memory (synchronously, so two
overlapping polls never hand out the same event) and are stored before the reply is sent. The
newest poll of a session wins: each poll publishes a token on the session's poll topic, and a held
poll that sees another token returns an empty list at once. A held poll whose client went away
stops waiting, so nothing is handed to a dead connection.
"""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import Request

from frontdesk.domain import events as ev
from frontdesk.domain.model import Chat
from frontdesk.engine import polls
from frontdesk.engine.engine import Engine
from frontdesk.engine.notifier import Waiter
from frontdesk.engine.tenants import Tenant
from frontdesk.faces.fusion import render
from frontdesk.faces.fusion.sessions import Sessions, state
from frontdesk.serving.holding import wake_or_gone, watch_disconnect

MAX_MESSAGES = 100


def collect(engine: Engine, tenant: Tenant, chat: Chat) -> list[dict[str, Any]]:
    """Render and claim the undelivered messages (at most 100); moves the in-memory cursor."""
    st = state(chat)
    cfg = tenant.config.faces.fusion
    sneak = (cfg.sneak_preview, cfg.sneak_preview_interval_ms)
    cursor = int(st.get("cursor", 0))
    sequence = int(st.get("sn", 0))
    out: list[dict[str, Any]] = []
    full = False
    while not full:
        batch = engine.read_events(chat, cursor, MAX_MESSAGES)
        if not batch:
            break
        for event in batch:
            body = render.message(engine, chat, event, sneak)
            if body is not None:
                if len(out) >= MAX_MESSAGES:
                    full = True
                    break
                sequence += 1
                out.append(render.finish(body, event, sequence))
                if event.kind == ev.ENDED:
                    st["terminal"] = True
            cursor = event.seq
    st["cursor"] = cursor
    st["sn"] = sequence
    return out


async def get_messages(
    engine: Engine, sessions: Sessions, request: Request, tenant: Tenant, chat: Chat
) -> dict[str, Any]:
    cfg = tenant.config.faces.fusion
    mine, w = polls.claim(engine, chat, "fusion")
    with w:
        messages = collect(engine, tenant, chat)
        if not messages and chat.live and cfg.long_poll_hold_seconds > 0:
            messages = await _hold(engine, request, tenant, chat, w, mine, float(cfg.long_poll_hold_seconds))
    st = state(chat)
    if st.pop("terminal", False):
        await sessions.close(chat)
    if messages or st.get("closed"):
        await engine.save_face_state(chat)
    engine.customer_seen(chat, cfg.abandon_seconds)
    return {"errorMessages": [], "systemMessages": messages}


async def _hold(
    engine: Engine, request: Request, tenant: Tenant, chat: Chat, w: Waiter, mine: str, hold: float
) -> list[dict[str, Any]]:
    deadline = time.monotonic() + hold
    gone = watch_disconnect(request)
    try:
        while (left := deadline - time.monotonic()) > 0:
            await wake_or_gone(w, gone, left)
            if gone.done() or polls.superseded(w, mine):
                return []
            messages = collect(engine, tenant, chat)
            if messages:
                return messages
            if not chat.live and chat.committed_seq >= chat.last_seq:
                return []
        return []
    finally:
        gone.cancel()

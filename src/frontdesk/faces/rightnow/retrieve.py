"""RetrieveMessages as a long poll (spec §9.3).

Register the waiter first, then read, then wait (design §3). Delivery is at most once: the cursor
in ``chat.face_state`` moves when a response with messages is handed to the HTTP layer. Newest poll
wins: each poll publishes a token on the session's poll topic, and a held poll that sees another
token answers at once with an empty ``SystemMessages``.
"""

from __future__ import annotations

import time

from frontdesk.domain import events as ev
from frontdesk.domain.model import Chat
from frontdesk.engine import polls
from frontdesk.engine.engine import Engine
from frontdesk.faces.rightnow import sessions
from frontdesk.faces.rightnow.messages import render_event

MAX_MESSAGES = 100


def _transfer_target(engine: Engine, chat: Chat, seq: int) -> str | None:
    """``to.type`` of the transferred event just before ``seq`` (it precedes the lead's party_left)."""
    for event in reversed(engine.read_events(chat, max(seq - 4, 0), 3)):
        if event.kind == ev.TRANSFERRED:
            return str((event.data.get("to") or {}).get("type") or "")
    return None


def collect(engine: Engine, chat: Chat, since: int, greeting: bool) -> tuple[list[str], int, bool]:
    """Rendered messages after ``since``: (messages, seq the cursor may move to, concluded?)."""
    out: list[str] = []
    last = since
    while True:
        batch = engine.read_events(chat, last, MAX_MESSAGES)
        if not batch:
            return out, last, False
        for event in batch:
            target = _transfer_target(engine, chat, event.seq) if event.kind == ev.PARTY_LEFT else None
            rendered = render_event(chat, event, greeting, target)
            if rendered is not None:
                if len(out) >= MAX_MESSAGES:
                    return out, last, False
                out.append(rendered)
            last = event.seq
            if event.kind == ev.ENDED:
                return out, last, True


async def retrieve(engine: Engine, chat: Chat, session_id: str, hold: float, greeting: bool) -> list[str]:
    mine, w = polls.claim(engine, chat, "rn")
    st = sessions.state(chat)
    with w:
        cursor = int(st.get("cursor", 0))
        messages, last, concluded = collect(engine, chat, cursor, greeting)
        deadline = time.monotonic() + hold
        while not messages and chat.live:
            left = deadline - time.monotonic()
            if left <= 0 or not await w.wait(left) or polls.superseded(w, mine):
                break
            cursor = max(last, int(st.get("cursor", 0)))
            messages, last, concluded = collect(engine, chat, cursor, greeting)
    if messages:
        st["cursor"] = max(last, int(st.get("cursor", 0)))
        if concluded:
            await sessions.close(engine, chat, session_id)
        else:
            await engine.save_face_state(chat)
    return messages

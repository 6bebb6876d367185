"""Get New Chat Events (long poll, §3.6), history (§3.7) and the durable poll cursor (§5.6).

The cursor lives in ``chat.face_state["sp"]``: ``cursor`` (last seq handed to the client), ``gone``
(the terminal event was delivered). It moves only after a poll response was handed to the transport;
a client that dropped its held poll keeps the events pending. Newest poll wins: every poll publishes a
token on the chat's poll topic and a held poll that sees another token ends with ``{"events":[]}``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from frontdesk.domain.model import Chat
from frontdesk.engine import polls
from frontdesk.engine.engine import Engine
from frontdesk.engine.notifier import Waiter
from frontdesk.faces.servicepattern.errors import SpError
from frontdesk.faces.servicepattern.http import EMPTY_EVENTS, JsonBytes, encode, error_reply
from frontdesk.faces.servicepattern.render import history_event, queue_position, server_event
from frontdesk.serving.holding import HeldResponse, quiet

log = logging.getLogger("frontdesk.faces.servicepattern")
MAX_EVENTS = 100


def sp_state(chat: Chat) -> dict[str, Any]:
    st = chat.face_state.get("sp")
    if st is None:
        st = chat.face_state["sp"] = {"cursor": 0}
    return st


def is_gone(chat: Chat, retention: float) -> bool:
    """Closing becomes gone on delivery of the terminal event or after the grace (§5.1)."""
    if chat.live:
        return False
    st = chat.face_state.get("sp")
    if st is not None and st.get("gone"):
        return True
    return time.time() - (chat.ended_at or 0.0) > retention


async def mark_gone(engine: Engine, chat: Chat) -> None:
    st = sp_state(chat)
    if not st.get("gone"):
        st["gone"] = True
        await engine.save_face_state(chat)


def collect(engine: Engine, chat: Chat, since: int, receipts: bool) -> tuple[list[dict[str, Any]], int, bool]:
    """Up to 100 rendered events after ``since``: (events, seq to move the cursor to, terminal?)."""
    out: list[dict[str, Any]] = []
    last = since
    terminal = False
    while True:
        batch = engine.read_events(chat, last, MAX_EVENTS)
        if not batch:
            return out, last, terminal
        for ev in batch:
            rendered = server_event(chat, ev, receipts)
            extra = queue_position(ev)
            if rendered is not None or extra is not None:
                if len(out) >= MAX_EVENTS:
                    return out, last, terminal
                if rendered is not None:
                    out.append(rendered)
                if extra is not None:
                    out.append(extra)
                if ev.kind == "ended":
                    terminal = True
            last = ev.seq


class PollResponse(JsonBytes):
    """A poll reply that moves the cursor once it was handed to a still-connected transport."""

    def __init__(self, body: bytes, on_sent: Callable[[], Awaitable[None]]) -> None:
        super().__init__(body)
        self._on_sent = on_sent

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        await send({"type": "http.response.body", "body": self.body})
        await self.after_send(True)

    async def after_send(self, delivered: bool) -> None:
        """Called once the reply was written, or found no connection to write to."""
        if delivered:
            try:
                await self._on_sent()
            except Exception:
                log.exception("could not store the poll cursor")


class HeldPoll(HeldResponse):
    """A poll with nothing to deliver yet, parked on the chat's waiter and a hold timer. Newest poll
    wins: a poll that sees another poll's token ends with ``{"events":[]}``."""

    def __init__(
        self, engine: Engine, chat: Chat, w: Waiter, mine: str, cursor: int, receipts: bool, hold: float
    ) -> None:
        super().__init__()
        self._engine = engine
        self._chat = chat
        self._w = w
        self._mine = mine
        self._cursor = cursor
        self._receipts = receipts
        self._pending = False
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(hold, self.expire, context=quiet())
        w.on_wake = self._woken
        if w.payloads:
            self._woken()

    def release(self) -> None:
        self._timer.cancel()
        self._w.on_wake = None
        self._w.close()

    def expire(self) -> None:
        self.finish(JsonBytes(EMPTY_EVENTS))

    def _woken(self) -> None:
        # Wake-ups come from inside a commit's publish: look at the chat once that is over.
        if not self._pending:
            self._pending = True
            asyncio.get_running_loop().call_soon(self._check, context=quiet())

    def _check(self) -> None:
        self._pending = False
        if self._finished:
            return
        if polls.superseded(self._w, self._mine):
            self.finish(JsonBytes(EMPTY_EVENTS))
            return
        chat = self._chat
        try:
            cursor = max(self._cursor, int(sp_state(chat).get("cursor", 0)))
            events, last, terminal = collect(self._engine, chat, cursor, self._receipts)
        except Exception as exc:
            log.exception("servicepattern poll of chat %s failed", chat.id)
            self.finish(error_reply(SpError("5500", 500, f"Internal server error: {type(exc).__name__}")))
            return
        if events:
            self.finish(_reply(self._engine, chat, events, last, terminal))
        else:
            self._cursor = last


async def poll(engine: Engine, chat: Chat, hold: float, receipts: bool) -> Response:
    mine, w = polls.claim(engine, chat, "sp")
    st = sp_state(chat)
    parked = False
    try:
        events, last, terminal = collect(engine, chat, int(st.get("cursor", 0)), receipts)
        if events:
            return _reply(engine, chat, events, last, terminal)
        if not chat.live and chat.committed_seq >= chat.last_seq:
            # The terminal event already reached the client (e.g. through history): nothing follows.
            await mark_gone(engine, chat)
            raise SpError("5005")
        parked = True
        return HeldPoll(engine, chat, w, mine, last, receipts, hold)
    finally:
        if not parked:
            w.close()


def _reply(
    engine: Engine,
    chat: Chat,
    events: list[dict[str, Any]],
    last: int,
    terminal: bool,
) -> PollResponse:
    async def delivered() -> None:
        st = sp_state(chat)
        if last > int(st.get("cursor", 0)):
            st["cursor"] = last
        if terminal:
            st["gone"] = True
        await engine.save_face_state(chat)

    return PollResponse(encode({"events": events}), delivered)


async def history(engine: Engine, chat: Chat, receipts: bool) -> Response:
    """Every stored event up to a snapshot; the cursor moves to the snapshot's end atomically."""
    end = chat.committed_seq
    out = []
    for ev in engine.read_events(chat, 0, end + 1, up_to=end):
        rendered = history_event(chat, ev, receipts)
        if rendered is not None:
            out.append(rendered)
    st = sp_state(chat)
    if end > int(st.get("cursor", 0)):
        st["cursor"] = end
        await engine.save_face_state(chat)
    return JsonBytes(encode({"events": out}))

"""The chats of one simulated agent: cursors (§6.5) and the answering rules of spec/native.md §10.2.2.

Frames are applied synchronously in the socket's reader (so the cursor only moves after the
event is applied); everything that waits (think time, REST calls) runs in one worker task per
chat, which keeps each chat's answers in `seq` order without stalling the other chats.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from frontdesk.agentsim.client import NETWORK_ERRORS, ApiClient, ApiError, Json
from frontdesk.agentsim.options import SimOptions, matches_end_on, render_echo, render_greeting
from frontdesk.agentsim.output import Output, SimStats

Spawn = Callable[[Coroutine[Any, Any, Any]], "asyncio.Task[Any]"]


@dataclass
class ChatTrack:
    """What one agent remembers about one chat; the cursor lives in `ChatBook.cursors`."""

    chat_id: str
    number: int | None = None
    customer: Json | None = None
    lines: asyncio.Queue[tuple[int, str, float]] = field(default_factory=asyncio.Queue)
    worker: asyncio.Task[None] | None = None
    timers: list[asyncio.Task[None]] = field(default_factory=list)
    answered_upto: int = 0
    replies: int = 0
    over: bool = False  # nothing more to answer: the chat ended or the agent left it
    ended: bool = False
    ending: bool = False
    end_in_flight: bool = False
    held_over: str | None = None  # `ended` seen while our own end call was in flight
    wrapup_done: bool = False

    def absorb(self, summary: Json | None) -> None:
        if summary:
            self.number = summary.get("number") or self.number
            self.customer = summary.get("customer") or self.customer


class ChatBook:
    def __init__(self, api: ApiClient, opts: SimOptions, out: Output, stats: SimStats, spawn: Spawn) -> None:
        self._api = api
        self._o = opts
        self._out = out
        self._stats = stats
        self._spawn = spawn
        self.login = api.login
        self.cursors: dict[str, int] = {}
        self.chats: dict[str, ChatTrack] = {}
        self.accepting: set[str] = set()  # chats whose accept is in flight: that path greets
        self._gone: set[str] = set()
        self.changed = asyncio.Event()  # wakes a draining agent when a chat ends or goes

    def emit(self, action: str, track: ChatTrack | None = None, **kw: Any) -> None:
        if track is not None:
            kw.setdefault("chat_id", track.chat_id)
            kw.setdefault("chat_number", track.number)
        self._out.emit(self.login, action, **kw)

    # -- bookkeeping -------------------------------------------------------------------------

    def track(self, chat_id: str, summary: Json | None = None) -> ChatTrack:
        track = self.chats.get(chat_id)
        if track is None:
            track = self.chats[chat_id] = ChatTrack(chat_id)
            self.cursors.setdefault(chat_id, 0)  # no cursor yet: the whole log is streamed
            self._gone.discard(chat_id)
        track.absorb(summary)
        return track

    def adopt(self, chat: Json) -> ChatTrack:
        """A chat the agent is in (hello, chat_assigned). Its worker answers without a greeting
        unless our own accept is in flight, which starts the worker itself, greeting first."""
        chat_id = str(chat["id"])
        track = self.track(chat_id, chat)
        if chat_id not in self.accepting:
            self.start_worker(track, greet=False)
        me = chat.get("me") or {}
        if me.get("status") == "wrapup" and not track.ended:
            self.chat_over(track, str(chat.get("end_reason") or "ended"))
        return track

    def accepted(self, chat_id: str, offer_id: str, offer_chat: Json, detail: Json | None) -> None:
        track = self.track(chat_id, offer_chat)
        track.absorb(detail)
        self.emit("accept", track, offer_id=offer_id)
        self.start_worker(track, greet=True)
        if self._o.hold is not None:
            track.timers.append(self._spawn(self._hold(track)))

    def start_worker(self, track: ChatTrack, *, greet: bool) -> None:
        if track.worker is None:
            track.worker = self._spawn(self._work(track, greet))

    def drop(self, chat_id: str) -> None:
        """`chat_removed`: wrapped up, transferred, left or removed; nothing more will come."""
        track = self.chats.pop(chat_id, None)
        self.cursors.pop(chat_id, None)
        self._gone.add(chat_id)
        self.changed.set()
        if track is not None:
            track.over = True
            for task in [track.worker, *track.timers]:
                if task is not None:
                    task.cancel()

    @property
    def open_chats(self) -> int:
        return sum(1 for t in self.chats.values() if not t.over)

    def drained(self) -> bool:
        return all(t.over and (t.wrapup_done or not t.ended) for t in self.chats.values())

    # -- events ------------------------------------------------------------------------------

    async def on_chat_event(self, frame: Json) -> None:
        chat_id, seq = str(frame["chat_id"]), int(frame["seq"])
        cursor = self.cursors.get(chat_id, 0)
        if seq <= cursor or chat_id in self._gone:
            return
        track = self.track(chat_id)
        if seq > cursor + 1:  # a gap is a server bug, but close it rather than lose lines (§6.5.6)
            await self._fill_gap(track, cursor, seq)
        self._apply(track, frame["event"])
        self.cursors[chat_id] = seq

    async def _fill_gap(self, track: ChatTrack, since: int, until: int) -> None:
        while since < until - 1:
            page = await self._api.call(
                "GET", f"/api/v1/chats/{track.chat_id}/events?since={since}&limit=500"
            )
            events = [e for e in page.get("events") or [] if since < int(e["seq"]) < until]
            if not events:
                return
            for event in events:
                self._apply(track, event)
                since = self.cursors[track.chat_id] = int(event["seq"])

    def _apply(self, track: ChatTrack, event: Json) -> None:
        kind, seq = event.get("kind"), int(event["seq"])
        by: Json = event.get("by") or {}
        if kind == "message":
            if by.get("kind") == "customer":
                if event.get("visibility", "all") == "all" and not event.get("note") and not track.over:
                    now = asyncio.get_running_loop().time()
                    track.lines.put_nowait((seq, str(event.get("text") or ""), now))
            elif by.get("login") == self.login:
                self._note_own_reply(track, str(event.get("client_msg_id") or ""))
        elif kind == "party_left" and (event.get("party") or {}).get("login") == self.login:
            track.over = True
            if event.get("reason") == "chat_ended":  # wrap-up is owed from here on (§5.9, §5.10)
                track.timers.append(self._spawn(self._ended_soon(track)))
        elif kind == "ended":
            self.chat_over(track, str(event.get("reason") or "ended"))
        elif kind == "wrapup" and by.get("login") == self.login:
            track.wrapup_done = True

    def _note_own_reply(self, track: ChatTrack, client_msg_id: str) -> None:
        """Our replies coming back (after a restart) mark their lines answered (§10.2.2 step 7)."""
        prefix = f"sim-{track.number}-{self.login}-"
        if track.number is not None and client_msg_id.startswith(prefix):
            tail = client_msg_id[len(prefix) :]
            if tail.isdigit():
                track.answered_upto = max(track.answered_upto, int(tail))

    async def _ended_soon(self, track: ChatTrack) -> None:
        """`ended` normally follows `party_left chat_ended` at once; a survey may delay it."""
        await asyncio.sleep(1.0)
        self.chat_over(track, "chat_ended")

    def chat_over(self, track: ChatTrack, reason: str) -> None:
        if track.ended:
            return
        track.ended = track.over = True
        if track.end_in_flight:  # report our "end" before the "ended" it caused
            track.held_over = reason
        else:
            self._finish_over(track, reason)

    def _finish_over(self, track: ChatTrack, reason: str) -> None:
        self.changed.set()
        self.emit("ended", track, detail=reason)
        self._stats.chat_ended()
        if self._o.no_wrapup or track.wrapup_done:
            track.wrapup_done = True
        else:
            self._spawn(self._wrapup(track))

    # -- actions -----------------------------------------------------------------------------

    async def _work(self, track: ChatTrack, greet: bool) -> None:
        if greet:
            if self._o.greeting_delay:
                await asyncio.sleep(self._o.greeting_delay)
            text = render_greeting(self._o.greeting, self._api.profile, track.customer)
            if text.strip() and not track.over:
                seq = await self._send(track, "greeting", text)
                if seq is not None:
                    self.emit("greeting", track, seq=seq, text=text)
        while True:
            seq, text, received = await track.lines.get()
            if not track.over and seq > track.answered_upto:
                await self._answer(track, seq, text, received)

    async def _answer(self, track: ChatTrack, line: int, text: str, received: float) -> None:
        o = self._o
        if matches_end_on(o.end_on, text):
            sent = await self._send(track, str(line), o.farewell, received)
            track.answered_upto = line
            if sent is not None:
                self.emit("farewell", track, seq=sent, text=o.farewell)
            await self.end(track, "end-on")
            return
        if o.reply != "none":
            reply = render_echo(o.echo_format, text) if o.reply == "echo" else o.reply_text
            if o.typing:
                await self._typing(track, True)
                self.emit("typing_on", track, seq=line)
            if o.think:
                await asyncio.sleep(o.think)
            if o.typing:
                await self._typing(track, False)
                self.emit("typing_off", track)
            if track.over or line <= track.answered_upto:
                return
            sent = await self._send(track, str(line), reply, received) if reply.strip() else None
            if sent is not None:
                self.emit("reply", track, seq=sent, text=reply)
        track.answered_upto = max(track.answered_upto, line)
        track.replies += 1
        if o.end_after is not None and track.replies >= o.end_after:
            await self.end(track, "end-after")

    async def _number(self, track: ChatTrack) -> int:
        if track.number is None:
            track.absorb(await self._api.call("GET", f"/api/v1/chats/{track.chat_id}"))
        return int(track.number or 0)

    async def _send(
        self, track: ChatTrack, suffix: str, text: str, received: float | None = None
    ) -> int | None:
        """Send one message; the client_msg_id makes a repeat after a reconnect harmless (§5.5)."""
        try:
            cmid = f"sim-{await self._number(track)}-{self.login}-{suffix}"
            body = {"client_msg_id": cmid, "text": text}
            result = await self._api.call("POST", f"/api/v1/chats/{track.chat_id}/messages", body)
        except (ApiError, *NETWORK_ERRORS) as exc:
            if isinstance(exc, ApiError) and exc.code in ("chat_ended", "not_participant"):
                track.over = True
            self.emit("error", track, detail=f"send: {exc}")
            return None
        latency = None if received is None else asyncio.get_running_loop().time() - received
        self._stats.message_sent(latency)
        return int(result["seq"])

    async def _typing(self, track: ChatTrack, typing: bool) -> None:
        try:
            await self._api.call("POST", f"/api/v1/chats/{track.chat_id}/typing", {"typing": typing})
        except (ApiError, *NETWORK_ERRORS) as exc:
            self.emit("error", track, detail=f"typing: {exc}")

    async def end(self, track: ChatTrack, why: str) -> None:
        if track.ending or track.over:
            return
        track.ending = track.end_in_flight = True
        try:
            await self._api.call("POST", f"/api/v1/chats/{track.chat_id}/end", {"reason": None})
            self.emit("end", track, detail=why)
        except (ApiError, *NETWORK_ERRORS) as exc:
            track.ending = False
            if not (isinstance(exc, ApiError) and exc.code == "chat_ended"):
                self.emit("error", track, detail=f"end: {exc}")
        finally:
            track.end_in_flight = False
            held, track.held_over = track.held_over, None
            if held is not None:
                self._finish_over(track, held)

    async def _hold(self, track: ChatTrack) -> None:
        await asyncio.sleep(self._o.hold or 0.0)
        await self.end(track, "hold")

    async def _wrapup(self, track: ChatTrack) -> None:
        body = {"disposition": self._o.wrapup, "notes": self._o.wrapup_notes}
        try:
            await self._api.call("POST", f"/api/v1/chats/{track.chat_id}/wrapup", body)
            self.emit("wrapup", track, text=self._o.wrapup_notes, detail=self._o.wrapup)
        except (ApiError, *NETWORK_ERRORS) as exc:
            if not (isinstance(exc, ApiError) and exc.code == "wrapup_not_pending"):
                self.emit("error", track, detail=f"wrapup: {exc}")
        finally:
            track.wrapup_done = True
            self.changed.set()

"""The agent WebSocket `/api/v1/ws` (native.md §6).

Per connection: a reader task (client frames) and a pump task (notices and chat events). The pump
registers its waiter before it reads anything (§6.5 step 2), always reads events from the engine's
committed log (never from bus payloads), and keeps a high-water mark per chat. Every send holds one
lock, and the batch to send is taken under that lock, so per chat frames leave in strictly increasing
``seq`` without gaps or duplicates even when the reader's resume and the pump flush at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from typing import Any

import msgspec
from starlette.websockets import WebSocket

from frontdesk.domain import errors
from frontdesk.domain.clock import rfc3339
from frontdesk.domain.model import Chat
from frontdesk.engine.auth import Principal
from frontdesk.engine.availability import eligible, queue_skills
from frontdesk.engine.notifier import Waiter, agent_topic, chat_topic
from frontdesk.engine.tenants import Tenant
from frontdesk.faces.native import frames as f
from frontdesk.faces.native import views
from frontdesk.faces.native.agent import offers_of, queue_ewt
from frontdesk.faces.native.chats import check_message
from frontdesk.faces.native.http import Ctx
from frontdesk.faces.native.ws_common import MAX_FRAME, authenticate, close_ws, token_exp

log = logging.getLogger("frontdesk.native.ws")
BATCH = 500
_enc = f.encoder.encode


class AgentSockets:
    """The live agent connections of this node, one per user (the newest wins)."""

    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx
        self.live: dict[tuple[str, str], AgentConn] = {}
        self._figures: dict[str, tuple[float, dict[str, f.QueueUpdate]]] = {}

    def queue_figures(self, tenant: Tenant) -> dict[str, f.QueueUpdate]:
        """Queue figures shared by every connection of a tenant, recomputed at most once a second."""
        now = time.monotonic()
        cached = self._figures.get(tenant.id)
        if cached is not None and now - cached[0] < 1.0:
            return cached[1]
        out = {}
        for name in tenant.queue_order:
            fig = self.ctx.engine.queue_figures(tenant, name)
            out[name] = f.QueueUpdate(
                queue=name,
                waiting=fig.waiting,
                oldest_queued_at=rfc3339(fig.oldest_queued_at),
                ewt_seconds=queue_ewt(self.ctx.engine, tenant, name),
                ready_agents=fig.ready_agents,
            )
        self._figures[tenant.id] = (now, out)
        return out

    async def __call__(self, ws: WebSocket) -> None:
        auth = await authenticate(self.ctx, ws, f.agent_decoder)
        if auth is None:
            return
        principal, tenant, token, cursors = auth
        if not principal.has("agent"):
            await close_ws(ws, 4003)
            return
        conn = AgentConn(self, ws, principal, tenant, token_exp(token))
        key = (tenant.id, principal.login)
        old = self.live.get(key)
        self.live[key] = conn
        if old is not None:
            await old.stop(4001)
        engine = self.ctx.engine
        engine.socket_opened(tenant, principal.login)
        try:
            await conn.run(cursors)
        finally:
            if self.live.get(key) is conn:
                del self.live[key]
            engine.socket_closed(tenant, principal.login)


class AgentConn:
    def __init__(
        self, owner: AgentSockets, ws: WebSocket, principal: Principal, tenant: Tenant, exp: float
    ) -> None:
        self.owner = owner
        self.engine = owner.ctx.engine
        self.ws = ws
        self.principal = principal
        self.login = principal.login
        self.tenant = tenant
        self.exp = exp
        cfg = tenant.config.faces.native
        self.heartbeat = cfg.ws_heartbeat_seconds
        self.idle_timeout = cfg.ws_idle_timeout_seconds
        self.lock = asyncio.Lock()
        self.chats: dict[str, Chat] = {}
        self.hw: dict[str, int] = {}
        self.streaming = False
        self.resumed_once = False
        self.closed = False
        self.last_sent = self.last_recv = time.monotonic()
        self.queue_sent: dict[str, f.QueueUpdate] = {}
        self.tasks: set[asyncio.Task[Any]] = set()
        self.inflight: dict[tuple[str, str], asyncio.Future[None]] = {}
        self.waiter: Waiter | None = None
        user = tenant.users[self.login]
        self.queues = [q for q in tenant.queue_order if eligible(user, queue_skills(tenant, q), None)]

    # -- sending ---------------------------------------------------------------------------------
    async def _send(self, frame: Any) -> None:
        """Send one frame; the caller holds ``self.lock``."""
        await self.ws.send({"type": "websocket.send", "text": _enc(frame).decode()})
        self.last_sent = time.monotonic()

    async def send(self, frame: Any) -> None:
        async with self.lock:
            await self._send(frame)

    async def stop(self, code: int) -> None:
        if self.closed:
            return
        self.closed = True
        await close_ws(self.ws, code)
        current = asyncio.current_task()
        for task in list(self.tasks):
            if task is not current:
                task.cancel()

    # -- lifecycle -------------------------------------------------------------------------------
    async def run(self, cursors: dict[str, int] | None) -> None:
        engine = self.engine
        # Register first, then read (§6.5 step 2).
        self.waiter = waiter = engine.notifier.waiter(agent_topic(self.tenant.id, self.login))
        try:
            for chat in engine.agent_chats(self.tenant.id, self.login):
                self._track(chat)
            hello = f.Hello(
                connection_id=str(uuid.uuid4()),
                heartbeat_seconds=self.heartbeat,
                server_time=views.ts(time.time()),
                user=views.user_view(self.tenant, self.tenant.users[self.login]),
                agent_state=views.agent_state(engine, self.tenant, self.login),
                offers=await offers_of(engine, self.tenant, self.login),
                chats=[views.summary(c, self.login) for c in self.chats.values()],
            )
            await self.send(hello)
            if cursors is not None:
                await self.resume(cursors)
            reader = asyncio.create_task(self.read_loop())
            pump = asyncio.create_task(self.pump_loop())
            self.tasks.update((reader, pump))
            await asyncio.wait((reader, pump), return_when=asyncio.FIRST_COMPLETED)
            for task in (reader, pump):
                if task.done() and not task.cancelled() and task.exception() is not None and not self.closed:
                    log.error("agent socket task failed", exc_info=task.exception())
                    await self.stop(1011)
        except Exception:
            log.exception("agent socket failed")
            await self.stop(1011)
        finally:
            self.closed = True
            for task in list(self.tasks):
                task.cancel()
            await asyncio.gather(*self.tasks, return_exceptions=True)
            waiter.close()
            await close_ws(self.ws, 1000)

    def _track(self, chat: Chat) -> None:
        if chat.id not in self.chats:
            self.chats[chat.id] = chat
            assert self.waiter is not None
            self.waiter.add_topic(chat_topic(chat.id))

    def _untrack(self, chat_id: str) -> None:
        if self.chats.pop(chat_id, None) is not None:
            assert self.waiter is not None
            self.waiter.remove_topic(chat_topic(chat_id))
        self.hw.pop(chat_id, None)

    # -- streaming (§6.5) ------------------------------------------------------------------------
    async def _flush(self, chat: Chat) -> None:
        """Send the chat's events above its high-water mark; the caller holds ``self.lock``."""
        hw = self.hw.get(chat.id)
        while hw is not None and chat.committed_seq > hw:
            up_to = self.engine.readable_up_to(self.principal, chat)
            events = self.engine.read_events(chat, hw, BATCH, up_to=up_to)
            if not events:
                return
            for event in events:
                await self._send(f.ChatEvent(chat_id=chat.id, seq=event.seq, event=event.to_json()))
                hw = self.hw[chat.id] = event.seq
            if len(events) < BATCH:
                return

    async def flush_all(self) -> None:
        if not self.streaming:
            return
        async with self.lock:
            for chat in list(self.chats.values()):
                await self._flush(chat)

    async def resume(self, cursors: dict[str, int]) -> None:
        async with self.lock:
            extra: list[str] = []
            for raw_id, cursor in cursors.items():
                chat_id = raw_id.lower()
                if chat_id not in self.chats:
                    chat = await self.engine.get_chat(chat_id) if len(chat_id) <= 64 else None
                    if chat is None or not self.engine.can_read(self.principal, chat):
                        continue
                    self._track(chat)
                    extra.append(chat_id)
                self.hw[chat_id] = max(0, int(cursor))
            for chat_id in self.chats:
                self.hw.setdefault(chat_id, 0)
            for chat in list(self.chats.values()):
                await self._flush(chat)
            await self._send(f.Resumed(cursors=dict(self.hw)))
            for chat_id in extra:  # readable, but not one of the agent's chats: no further streaming
                self._untrack(chat_id)
            self.streaming = True
            self.resumed_once = True

    # -- the pump: notices, chat events, heartbeats ----------------------------------------------
    async def pump_loop(self) -> None:
        waiter = self.waiter
        assert waiter is not None
        next_tick = time.monotonic() + 1.0
        while not self.closed:
            now = time.monotonic()
            await waiter.wait(max(0.0, next_tick - now))
            await self.on_notices(waiter.take())
            await self.flush_all()
            now = time.monotonic()
            if now >= next_tick:
                next_tick = now + 1.0
                if await self.tick(now):
                    return

    async def tick(self, now: float) -> bool:
        """Once a second: idle and token checks, queue figures, heartbeat. True when closed."""
        if now - self.last_recv > self.idle_timeout:
            await self.stop(4008)
            return True
        if self.exp and time.time() > self.exp + 5:
            await self.stop(4009)
            return True
        figures = self.owner.queue_figures(self.tenant)
        for name in self.queues:
            fig = figures.get(name)
            if fig is not None and self.queue_sent.get(name) != fig:
                self.queue_sent[name] = fig
                await self.send(fig)
        if time.monotonic() - self.last_sent >= self.heartbeat:
            await self.send(f.Heartbeat(at=views.ts(time.time())))
        return False

    async def on_notices(self, payloads: list[str]) -> None:
        state_changed = False
        for payload in payloads:
            kind, sep, raw = payload.partition(":")
            if not sep or kind.isdigit():
                continue  # a chat wake-up: flush_all reads the log
            if kind == "agent_state":
                state_changed = True
                continue
            body = msgspec.json.decode(raw)
            if kind == "offer":
                offer = self.engine.offer(body["offer_id"])
                chat = await self.engine.get_chat(body["chat_id"])
                if offer is not None and chat is not None and offer.login == self.login:
                    await self.send(f.OfferFrame(offer=views.offer(chat, offer)))
            elif kind == "offer_revoked":
                await self.send(
                    f.OfferRevoked(offer_id=body["offer_id"], chat_id=body["chat_id"], reason=body["reason"])
                )
            elif kind == "chat_assigned":
                chat = await self.engine.get_chat(body["chat_id"])
                if chat is not None:
                    async with self.lock:
                        self._track(chat)
                        if self.streaming:
                            self.hw[chat.id] = 0
                        await self._send(f.ChatAssigned(chat=views.summary(chat, self.login)))
                        await self._flush(chat)
            elif kind == "chat_removed":
                chat_id = body["chat_id"]
                async with self.lock:
                    chat = self.chats.get(chat_id)
                    if chat is not None:
                        await self._flush(chat)
                    await self._send(f.ChatRemoved(chat_id=chat_id, reason=body["reason"]))
                    if chat is not None and chat.id not in self._own_chats():
                        self._untrack(chat_id)
        if state_changed:
            await self.flush_all()
            await self.send(
                f.AgentStateFrame(agent_state=views.agent_state(self.engine, self.tenant, self.login))
            )

    def _own_chats(self) -> set[str]:
        agent = self.engine.agent_state(self.tenant.id, self.login)
        return set(agent.chats) | set(agent.wrapups)

    # -- the reader: client frames ---------------------------------------------------------------
    async def read_loop(self) -> None:
        ws = self.ws
        decoder = f.agent_decoder
        while not self.closed:
            msg = await ws.receive()
            if msg["type"] == "websocket.disconnect":
                self.closed = True
                return
            self.last_recv = time.monotonic()
            text = msg.get("text")
            if text is None:
                await self.send(f.ErrorFrame(code="invalid_request", detail="frames must be JSON text"))
                continue
            if len(text) > MAX_FRAME // 4 and len(text.encode()) > MAX_FRAME:
                await self.stop(1009)
                return
            try:
                frame = decoder.decode(text)
            except msgspec.DecodeError as exc:
                await self.send(f.ErrorFrame(code="invalid_request", detail=str(exc)))
                continue
            await self.on_frame(frame)

    async def on_frame(self, frame: f.AgentClientFrame) -> None:
        if isinstance(frame, f.SendFrame):
            task = asyncio.create_task(self.on_message(frame))  # pipelined: sends commit in groups
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)
        elif isinstance(frame, f.Ping):
            await self.send(f.Pong(nonce=frame.nonce))
        elif isinstance(frame, f.TypingFrame):
            with contextlib.suppress(errors.FrontdeskError):
                chat = self.engine.require_chat_visible(
                    self.principal, await self.engine.get_chat(frame.chat_id)
                )
                await self.engine.agent_typing(chat, self.login, frame.typing)
        elif isinstance(frame, f.Resume):
            await self.resume(frame.cursors)
        elif isinstance(frame, f.Auth):
            try:
                principal = self.engine.verify_token(frame.token)
            except errors.FrontdeskError:
                await self.stop(4003)
                return
            if principal.login != self.login or principal.tenant_id != self.tenant.id:
                await self.stop(4003)
                return
            self.principal, self.exp = principal, token_exp(frame.token)
            if frame.cursors is not None and not self.resumed_once:
                await self.resume(frame.cursors)

    async def on_message(self, frame: f.SendFrame) -> None:
        # A resend of a client_msg_id still in flight waits for the first send to commit, so the
        # engine answers it from its dedupe record instead of appending it twice.
        key = (frame.chat_id, frame.client_msg_id)
        previous = self.inflight.get(key)
        mine: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.inflight[key] = mine
        try:
            if previous is not None:
                await asyncio.shield(previous)
            await self._send_message(frame)
        finally:
            mine.set_result(None)
            if self.inflight.get(key) is mine:
                del self.inflight[key]

    async def _send_message(self, frame: f.SendFrame) -> None:
        try:
            check_message(frame.client_msg_id, frame.visibility)
            chat = self.engine.require_chat_visible(self.principal, await self.engine.get_chat(frame.chat_id))
            event, _ = await self.engine.agent_message(
                self.tenant, chat, self.login, frame.client_msg_id, frame.text, frame.visibility
            )
        except errors.FrontdeskError as exc:
            await self.send(f.Nack(id=frame.id, code=exc.code, detail=exc.detail))
            return
        await self.send(f.Ack(id=frame.id, chat_id=chat.id, seq=event.seq))

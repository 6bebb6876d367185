"""The supervisor WebSocket `/api/v1/supervisor/ws` (native.md §7.3).

``hello`` and a ``snapshot`` at once; then deltas per queue, agent and chat, computed at most once
a second and sent only for objects whose figures changed (figures that merely grow with time are
left out of the comparison, clients compute them).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import msgspec
from starlette.websockets import WebSocket

from frontdesk.engine.notifier import tenant_topic
from frontdesk.engine.tenants import Tenant
from frontdesk.faces.native import frames as f
from frontdesk.faces.native import stats, views
from frontdesk.faces.native import sup_schemas as ss
from frontdesk.faces.native.http import Ctx
from frontdesk.faces.native.ws_common import MAX_FRAME, authenticate, close_ws

log = logging.getLogger("frontdesk.native.ws")
_enc = f.encoder.encode


def _key_queue(q: ss.QueueStats) -> bytes:
    return _enc(msgspec.structs.replace(q, longest_wait_seconds=0))


def _key_chat(c: ss.LiveChat) -> bytes:
    return _enc(msgspec.structs.replace(c, waited_seconds=0))


class SupervisorSocket:
    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx

    async def __call__(self, ws: WebSocket) -> None:
        auth = await authenticate(self.ctx, ws, f.supervisor_decoder)
        if auth is None:
            return
        principal, tenant, _, _ = auth
        if not principal.has("supervisor"):
            await close_ws(ws, 4003)
            return
        await SupervisorConn(self.ctx, ws, tenant).run()


class SupervisorConn:
    def __init__(self, ctx: Ctx, ws: WebSocket, tenant: Tenant) -> None:
        self.engine = ctx.engine
        self.ws = ws
        self.tenant = tenant
        cfg = tenant.config.faces.native
        self.heartbeat = cfg.ws_heartbeat_seconds
        self.idle_timeout = cfg.ws_idle_timeout_seconds
        self.lock = asyncio.Lock()
        self.last_sent = self.last_recv = time.monotonic()
        self.closed = False
        self.queues: dict[str, bytes] = {}
        self.agents: dict[str, bytes] = {}
        self.chats: dict[str, bytes] = {}

    async def send(self, frame: Any) -> None:
        async with self.lock:
            await self.ws.send({"type": "websocket.send", "text": _enc(frame).decode()})
            self.last_sent = time.monotonic()

    def _views(self) -> tuple[list[ss.QueueStats], list[ss.AgentStats], list[ss.LiveChat]]:
        return (
            stats.all_queue_stats(self.engine, self.tenant),
            stats.all_agent_stats(self.engine, self.tenant),
            stats.live_chats(self.engine, self.tenant),
        )

    async def snapshot(self) -> None:
        queues, agents, chats = self._views()
        self.queues = {q.name: _key_queue(q) for q in queues}
        self.agents = {a.login: _enc(a) for a in agents}
        self.chats = {c.id: _key_chat(c) for c in chats}
        await self.send(f.Snapshot(queues=queues, agents=agents, chats=chats))

    async def deltas(self) -> None:
        queues, agents, chats = self._views()
        for q in queues:
            key = _key_queue(q)
            if self.queues.get(q.name) != key:
                self.queues[q.name] = key
                await self.send(f.QueueFrame(queue=q))
        for a in agents:
            key = _enc(a)
            if self.agents.get(a.login) != key:
                self.agents[a.login] = key
                await self.send(f.AgentFrame(agent=a))
        seen = set()
        for c in chats:
            seen.add(c.id)
            key = _key_chat(c)
            if self.chats.get(c.id) != key:
                self.chats[c.id] = key
                await self.send(f.ChatFrame(chat=c))
        for gone in [cid for cid in self.chats if cid not in seen]:
            del self.chats[gone]
            await self.send(f.ChatGone(chat_id=gone))

    async def surveys(self, ids: list[str]) -> None:
        now = time.time()
        for record in await self.engine.surveys(self.tenant.id, now - 300, now + 60):
            if record.id in ids:
                await self.send(f.SurveyFrame(survey=views.survey_record(record)))

    async def run(self) -> None:
        waiter = self.engine.notifier.waiter(tenant_topic(self.tenant.id), f"surveys:{self.tenant.id}")
        reader = asyncio.create_task(self.read_loop())
        try:
            await self.send(
                f.SupervisorHello(heartbeat_seconds=self.heartbeat, server_time=views.ts(time.time()))
            )
            await self.snapshot()
            last = time.monotonic()
            dirty = False
            while not reader.done():
                wait = min(1.0, max(0.0, last + 1.0 - time.monotonic())) if dirty else 1.0
                waker = asyncio.create_task(waiter.wait(wait))
                await asyncio.wait((waker, reader), return_when=asyncio.FIRST_COMPLETED)
                if not waker.done():
                    waker.cancel()
                    break
                if waker.result():
                    dirty = True
                    survey_ids = [p for p in waiter.take() if p]
                    if survey_ids:
                        await self.surveys(survey_ids)
                now = time.monotonic()
                if dirty and now - last >= 1.0:
                    dirty, last = False, now
                    await self.deltas()
                if now - self.last_recv > self.idle_timeout:
                    await close_ws(self.ws, 4008)
                    break
                if now - self.last_sent >= self.heartbeat:
                    await self.send(f.Heartbeat(at=views.ts(time.time())))
        except Exception:
            if not reader.done():
                log.exception("supervisor socket failed")
                await close_ws(self.ws, 1011)
        finally:
            waiter.close()
            reader.cancel()
            with contextlib.suppress(BaseException):
                await reader
            await close_ws(self.ws, 1000)

    async def read_loop(self) -> None:
        while True:
            msg = await self.ws.receive()
            if msg["type"] == "websocket.disconnect":
                return
            self.last_recv = time.monotonic()
            text = msg.get("text")
            if text is None:
                await self.send(f.ErrorFrame(code="invalid_request", detail="frames must be JSON text"))
                continue
            if len(text) > MAX_FRAME // 4 and len(text.encode()) > MAX_FRAME:
                await close_ws(self.ws, 1009)
                return
            try:
                frame = f.supervisor_decoder.decode(text)
            except msgspec.DecodeError as exc:
                await self.send(f.ErrorFrame(code="invalid_request", detail=str(exc)))
                continue
            if isinstance(frame, f.Ping):
                await self.send(f.Pong(nonce=frame.nonce))
            elif isinstance(frame, f.Auth):
                try:
                    principal = self.engine.verify_token(frame.token)
                except Exception:
                    await close_ws(self.ws, 4003)
                    return
                if not principal.has("supervisor") or principal.tenant_id != self.tenant.id:
                    await close_ws(self.ws, 4003)
                    return

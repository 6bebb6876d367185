"""One simulated agent: spec/native.md §10.2.2, over REST plus one WebSocket (§5, §6).

Only the public API is used, exactly like a console, so the simulator also exercises what real
consoles depend on: cursors and resume (§6.5), idempotent sends, RONA and wrap-up. This module
owns the socket, the offers and the agent state; `chat.py` owns the chats.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
from collections.abc import Coroutine
from typing import Any, Final

import aiohttp

from frontdesk.agentsim.chat import ChatBook
from frontdesk.agentsim.client import (
    FATAL_HTTP,
    NETWORK_ERRORS,
    AgentFatal,
    ApiClient,
    ApiError,
    Json,
    backoff_delay,
)
from frontdesk.agentsim.options import SimOptions
from frontdesk.agentsim.output import Output, SimStats

INITIAL_ATTEMPTS: Final = 5  # failures before any success that count as "for good"
IDLE_TIMEOUT: Final = 60.0
LOGOUT_TIMEOUT: Final = 10.0  # faces.native.ws_idle_timeout_seconds default (§6.4)
CLOSING_TYPES: Final = (
    aiohttp.WSMsgType.CLOSE,
    aiohttp.WSMsgType.CLOSING,
    aiohttp.WSMsgType.CLOSED,
    aiohttp.WSMsgType.ERROR,
)


class SimAgent:
    def __init__(
        self,
        login: str,
        index: int,
        opts: SimOptions,
        http: aiohttp.ClientSession,
        out: Output,
        stats: SimStats,
        seed: int,
    ) -> None:
        self.login = login
        self._o = opts
        self._http = http
        self._out = out
        # One generator per agent, so a seed gives each agent the same decisions whatever the
        # interleaving with the other agents.
        self._rng = random.Random(f"{seed}:{index}")
        self.api = ApiClient(http, opts.url, login, opts.password, opts.tenant)
        self.book = ChatBook(self.api, opts, out, stats, self._spawn)
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._heartbeat = 25.0
        self._offers: dict[str, asyncio.Task[None]] = {}
        self._offer_waiting: set[str] = set()
        self._revoked: set[str] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = asyncio.Event()
        self.state = "logged_out"
        self.reason: str | None = None
        self._ready_once = False
        self._readying = False
        self._stopping = False
        self.logged_in = False

    # -- plumbing ----------------------------------------------------------------------------

    def _emit(self, action: str, **kw: Any) -> None:
        self._out.emit(self.login, action, **kw)

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            self._emit("error", detail=f"{type(exc).__name__}: {exc}")

    async def _pause(self, seconds: float) -> None:
        """A sleep that ends early when the agent closes."""
        try:
            await asyncio.wait_for(self._closed.wait(), timeout=seconds)
        except TimeoutError:
            pass

    @property
    def ready(self) -> bool:
        return self.state == "ready"

    @property
    def open_chats(self) -> int:
        return self.book.open_chats

    # -- main loop ---------------------------------------------------------------------------

    async def run(self) -> None:
        """Log in, then keep one WebSocket open until `close()`; raises AgentFatal."""
        for attempt in range(1, INITIAL_ATTEMPTS + 1):
            try:
                await self.api.sign_in()
                break
            except (ApiError, *NETWORK_ERRORS) as exc:
                self._emit("error", detail=f"login: {exc or type(exc).__name__}")
                if attempt == INITIAL_ATTEMPTS:
                    raise AgentFatal(f"login failed: {exc or type(exc).__name__}") from exc
                await self._pause(backoff_delay(attempt, self._rng))
                if self._closed.is_set():
                    return
        self.logged_in = True
        self._emit("login", detail=self.api.profile.get("display_name"))
        self._spawn(self._refresh_loop())
        failures = 0
        ever_connected = False
        while not self._closed.is_set():
            got_hello, code, why = await self._connect_once()
            ever_connected = ever_connected or got_hello
            if self._closed.is_set():
                break
            failures = 0 if got_hello else failures + 1
            if code == 4001:
                raise AgentFatal("WebSocket replaced by a newer connection of the same user (4001)")
            if not ever_connected and failures >= INITIAL_ATTEMPTS:
                raise AgentFatal(f"WebSocket failed: {why}")
            if code in (4003, 4009):  # token rejected or expired: a fresh login, then resume
                try:
                    await self.api.relogin(self.api.generation)
                except (ApiError, *NETWORK_ERRORS) as exc:
                    self._emit("error", detail=f"login: {exc}")
            delay = 0.0 if code == 1001 else 10.0 if code == 4029 else backoff_delay(failures, self._rng)
            self._emit("reconnect", detail=f"{why}; retry in {delay:.1f}s")
            await self._pause(delay)

    async def _refresh_loop(self) -> None:
        """Refresh at about 80 % of the token lifetime (§1.2) and hand the new token to the socket."""
        while True:
            await self._pause(self.api.lifetime * 0.8)
            if self._closed.is_set():
                return
            await self.api.refresh()
            ws = self._ws
            if ws is not None and not ws.closed:
                await ws.send_json({"type": "auth", "token": self.api.token})

    async def _connect_once(self) -> tuple[bool, int | None, str]:
        """One WebSocket session: auth with the cursors (§6.5), then frames until it closes."""
        try:
            ws = await self._http.ws_connect(self.api.base_url + "/api/v1/ws", max_msg_size=0)
        except aiohttp.WSServerHandshakeError as exc:
            if exc.status in FATAL_HTTP:
                raise AgentFatal(f"WebSocket refused: {exc.status} {exc.message}") from exc
            return False, None, f"handshake {exc.status}"
        except NETWORK_ERRORS as exc:
            return False, None, f"connect: {exc or type(exc).__name__}"
        self._ws = ws
        got_hello = False
        why = "closed"
        pinger = self._spawn(self._ping_loop(ws))
        try:
            auth = {"type": "auth", "token": self.api.token, "cursors": dict(self.book.cursors)}
            await ws.send_json(auth)
            while True:
                msg = await ws.receive(timeout=max(IDLE_TIMEOUT, 2.4 * self._heartbeat))
                if msg.type == aiohttp.WSMsgType.TEXT:
                    frame = json.loads(msg.data)
                    got_hello = got_hello or frame.get("type") == "hello"
                    try:
                        await self._on_frame(frame)
                    except (AgentFatal, *NETWORK_ERRORS):
                        raise
                    except Exception as exc:  # one odd frame must not end a long benchmark run
                        self._emit("error", detail=f"frame {frame.get('type')}: {type(exc).__name__}: {exc}")
                elif msg.type in CLOSING_TYPES:
                    break
        except TimeoutError:
            why = "idle timeout"
        except (ApiError, *NETWORK_ERRORS, ValueError, KeyError) as exc:
            why = f"{type(exc).__name__}: {exc}"
        finally:
            pinger.cancel()
            self._ws = None
            await ws.close()
        code = ws.close_code
        return got_hello, code, f"{why} (code {code})" if code is not None else why

    async def _ping_loop(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        nonce = 0
        while not ws.closed:
            await asyncio.sleep(self._heartbeat)
            nonce += 1
            if not ws.closed:
                await ws.send_json({"type": "ping", "nonce": str(nonce)})

    # -- frames ------------------------------------------------------------------------------

    async def _on_frame(self, frame: Json) -> None:
        kind = frame.get("type")
        if kind == "chat_event":
            await self.book.on_chat_event(frame)
        elif kind == "hello":
            self._on_hello(frame)
        elif kind == "offer":
            self._on_offer(frame["offer"])
        elif kind == "offer_revoked":
            self._on_revoked(str(frame["offer_id"]), frame.get("chat_id"), frame.get("reason"))
        elif kind == "chat_assigned":
            self.book.adopt(frame["chat"])
        elif kind == "chat_removed":
            self.book.drop(str(frame["chat_id"]))
        elif kind == "agent_state":
            self._on_state(frame["agent_state"])
        elif kind == "error":
            self._emit("error", detail=f"server: {frame.get('code')}: {frame.get('detail')}")
        # resumed, heartbeat, pong, queue_update, ack, nack: nothing to do

    def _on_hello(self, hello: Json) -> None:
        self._heartbeat = float(hello.get("heartbeat_seconds") or 25)
        profile = (hello.get("user") or {}).get("profile")
        if profile:
            self.api.profile = dict(profile)
        state: Json = hello.get("agent_state") or {}
        self._on_state(state, react=False)
        offers = {str(o["offer_id"]): o for o in hello.get("offers") or []}
        for offer_id in list(self._offer_waiting - offers.keys()):
            self._offers[offer_id].cancel()  # the snapshot says it is gone
        for offer in offers.values():
            self._on_offer(offer)
        for chat in hello.get("chats") or []:
            self.book.adopt(chat)
        if self._stopping:
            return
        if not self._ready_once:
            self._spawn(self._set_ready("start"))
        elif state.get("state") == "logged_out" or state.get("reason") in ("rona", "disconnected"):
            # Lost while we were away; a supervisor's not_ready is left alone.
            self._spawn(self._set_ready(f"reconnect ({state.get('reason') or state.get('state')})"))

    def _on_state(self, state: Json, *, react: bool = True) -> None:
        self.state = str(state.get("state", self.state))
        self.reason = state.get("reason")
        if react and self.state == "not_ready" and self.reason == "rona" and not self._stopping:
            self._spawn(self._set_ready("rona"))

    async def _set_ready(self, why: str) -> None:
        if self._readying:
            return
        self._readying = True
        try:
            state = await self.api.call("PUT", "/api/v1/agent/state", {"state": "ready"})
            self._on_state(state, react=False)
            self._ready_once = True
            self._emit("ready", detail=why)
        except (ApiError, *NETWORK_ERRORS) as exc:
            self._emit("error", detail=f"ready: {exc}")
        finally:
            self._readying = False

    # -- offers ------------------------------------------------------------------------------

    def _on_offer(self, offer: Json) -> None:
        offer_id = str(offer["offer_id"])
        if offer_id in self._offers or self._stopping:
            return
        chat = offer.get("chat") or {}
        self._emit(
            "offer",
            chat_id=offer.get("chat_id"),
            chat_number=chat.get("number"),
            offer_id=offer_id,
            detail=offer.get("reason"),
        )
        self._offer_waiting.add(offer_id)
        self._offers[offer_id] = self._spawn(self._handle_offer(offer_id, offer))

    def _on_revoked(self, offer_id: str, chat_id: Any, reason: Any) -> None:
        self._revoked.add(offer_id)
        self._emit("revoked", chat_id=chat_id, offer_id=offer_id, detail=reason)
        if offer_id in self._offer_waiting:
            self._offers[offer_id].cancel()  # only while waiting; an accept in flight finishes

    async def _handle_offer(self, offer_id: str, offer: Json) -> None:
        chat_id = str(offer["chat_id"])
        chat: Json = offer.get("chat") or {}
        number = chat.get("number")
        base = f"/api/v1/agent/offers/{offer_id}"
        try:
            if self._o.accept_delay:
                await asyncio.sleep(self._o.accept_delay)
            self._offer_waiting.discard(offer_id)
            if self._stopping:
                return
            if self._rng.random() < self._o.reject_rate:
                await self.api.call("POST", base + "/reject", {"reason": None})
                self._emit("reject", chat_id=chat_id, chat_number=number, offer_id=offer_id)
                return
            self.book.accepting.add(chat_id)
            try:
                detail = await self.api.call("POST", base + "/accept")
            finally:
                self.book.accepting.discard(chat_id)
            self.book.accepted(chat_id, offer_id, chat, detail)
        except ApiError as exc:
            if exc.code in ("offer_gone", "offer_not_found"):
                if offer_id not in self._revoked:
                    self._emit("revoked", chat_id=chat_id, offer_id=offer_id, detail=exc.code)
            else:
                self._emit("error", chat_id=chat_id, offer_id=offer_id, detail=f"offer: {exc}")
        except NETWORK_ERRORS as exc:
            self._emit("error", chat_id=chat_id, offer_id=offer_id, detail=f"offer: {exc}")
        finally:
            self._offer_waiting.discard(offer_id)
            self._offers.pop(offer_id, None)
            self._revoked.discard(offer_id)
            self.book.changed.set()

    # -- stop --------------------------------------------------------------------------------

    async def shutdown(self, *, drain: bool, force: asyncio.Event) -> None:
        """§10.2.2 step 8: optionally drain, then log out; `force` (a second signal) cuts the drain."""
        self._stopping = True
        for offer_id in list(self._offer_waiting):
            self._offers[offer_id].cancel()
        try:
            if self.logged_in and drain:
                await self._go_not_ready()
                while not (self.book.drained() and not self._offers) and not force.is_set():
                    self.book.changed.clear()
                    with contextlib.suppress(TimeoutError):  # also re-checks `force` twice a second
                        await asyncio.wait_for(self.book.changed.wait(), 0.5)
            if self.logged_in:
                async with asyncio.timeout(LOGOUT_TIMEOUT):
                    state = await self.api.call("PUT", "/api/v1/agent/state", {"state": "logged_out"})
                self._on_state(state, react=False)
                self._emit("logout")
        except (ApiError, *NETWORK_ERRORS) as exc:
            self._emit("error", detail=f"logout: {exc}")
        finally:
            await self.close()

    async def _go_not_ready(self) -> None:
        """not_ready needs a configured reason code (§5.1.2); the tenant's first one will do."""
        me = await self.api.call("GET", "/api/v1/me")
        reasons = [str(r["code"]) for r in (me.get("tenant") or {}).get("not_ready_reasons") or []]
        if not reasons:
            self._emit("error", detail="drain: the tenant has no not-ready reason; staying ready")
            return
        body = {"state": "not_ready", "reason": reasons[0]}
        self._on_state(await self.api.call("PUT", "/api/v1/agent/state", body), react=False)

    async def close(self) -> None:
        self._closed.set()
        self._stopping = True
        ws = self._ws
        if ws is not None:
            await ws.close()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

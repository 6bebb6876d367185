"""Every node answers every request: the engine owner serves it, any other node forwards it there.

Forwarding is a plain reverse proxy for HTTP and WebSocket, so every face and its wire format stay
exactly as on one node, and clients need no sticky sessions. Failover is handled here:

* a request that never reached the owner (connection refused) waits for the lease to move, then
  goes to the new owner, so a dead node costs latency, not an error;
* a long poll cut off by the owner's death is a read by cursor, so it is re-sent to the new owner;
* a write cut off after it was sent may or may not have committed: the client gets 503 with
  ``Retry-After`` and re-sends it with its client message id, which the engine de-duplicates;
* a WebSocket whose owner died is closed with 1012 (service restart); agents reconnect to any node
  and resume from their per-chat cursors. A handshake no owner can take is refused with 503 and
  ``Retry-After``, like an HTTP request.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

import aiohttp
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from yarl import URL

from frontdesk.cluster import peer
from frontdesk.cluster.node import Cluster
from frontdesk.httpbody import read_limited, replay
from frontdesk.ops.middleware import deny_websocket, face_of, too_large

log = logging.getLogger("frontdesk.cluster")

# Served by every node itself: they describe the node, not the engine.
LOCAL_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
_HOP = frozenset(
    {
        b"connection",
        b"expect",  # the body is already read whole; the engine node must not wait to send 100
        b"keep-alive",
        b"proxy-authenticate",
        b"proxy-authorization",
        b"te",
        b"trailer",
        b"transfer-encoding",
        b"upgrade",
        b"content-length",
        peer.HEADER,
    }
)
_WS_OWN = frozenset(
    {b"sec-websocket-key", b"sec-websocket-version", b"sec-websocket-extensions", b"sec-websocket-protocol"}
)
_AUTO = (("accept", "Accept"), ("accept-encoding", "Accept-Encoding"), ("user-agent", "User-Agent"))
_IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS"})
_DEAD_CODES = (None, 1005, 1006)


def unavailable(path: str, retry_after: int = 1) -> Response:
    headers = {"Retry-After": str(retry_after)}
    if path.startswith("/api/"):
        return JSONResponse(
            {
                "type": "about:blank",
                "title": "Service Unavailable",
                "status": 503,
                "detail": "The engine is moving to another node; retry.",
            },
            503,
            headers,
            media_type="application/problem+json",
        )
    return PlainTextResponse("Service Unavailable", 503, headers)


async def refuse_websocket(scope: Scope, send: Send, status: int, close_code: int) -> None:
    """Refuse a WebSocket handshake as an HTTP request would be: 503 + ``Retry-After`` while the
    engine moves, or the owner's own refusal status."""
    response = unavailable(scope["path"]) if status == 503 else PlainTextResponse("", status)
    await deny_websocket(scope, send, response, close_code)


class Forwarder:
    def __init__(
        self,
        app: ASGIApp,
        *,
        cluster: Cluster,
        body_cap: int,
        on_result: Callable[[str], None] | None = None,
    ) -> None:
        self.app = app
        self.cluster = cluster
        self.body_cap = body_cap
        self._on_result = on_result or (lambda outcome: None)
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                auto_decompress=False,
                cookie_jar=aiohttp.DummyCookieJar(),
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=2.0),
                connector=aiohttp.TCPConnector(limit=0, ttl_dns_cache=None),
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope["path"] in LOCAL_PATHS:
            await self.app(scope, receive, send)
            return
        cluster = self.cluster
        forwarded = _take_header(scope)
        if forwarded is not None:
            key = await cluster.key()
            method = scope.get("method", "WS")
            seen = peer.verify(key, forwarded, method, scope["path"]) if key is not None else None
            if seen is not None:
                scope["client"], scope["scheme"] = seen
                if not cluster.leading:
                    # Never forward twice: the sender's idea of the owner is stale; it retries.
                    await self._refuse(scope, receive, send)
                    return
        if cluster.leading:
            await self._serve_here(scope, receive, send)
            return
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        else:
            await self._websocket(scope, receive, send)

    async def _serve_here(self, scope: Scope, receive: Receive, send: Send) -> None:
        """This node runs the engine (or is starting it): the app answers, once it serves."""
        cluster = self.cluster
        if not cluster.serving.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(cluster.serving.wait(), cluster.ttl)
        if cluster.serving.is_set():
            await self.app(scope, receive, send)
            return
        await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await refuse_websocket(scope, send, 503, 1012)
        else:
            await unavailable(scope["path"])(scope, receive, send)

    # -- HTTP ------------------------------------------------------------------------------------
    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            body = await read_limited(Request(scope, receive), self.body_cap)
        except ClientDisconnect:
            return
        if body is None:
            await too_large(face_of(scope["path"]), scope["path"])(scope, receive, send)
            return
        method: str = scope["method"]
        while True:
            url = await self.cluster.leader_url(self.cluster.takeover_wait)
            if url is None:
                if self.cluster.leading:  # this node took the engine over while the request waited
                    await self._serve_here(
                        scope, replay({"type": "http.request", "body": body}, receive), send
                    )
                    return
                break
            headers, skip = await self._headers(scope, method)
            target = URL(url + _raw_target(scope), encoded=True)
            try:
                async with self._client().request(
                    method,
                    target,
                    headers=headers,
                    data=body if body or method not in _IDEMPOTENT else None,
                    allow_redirects=False,
                    skip_auto_headers=skip,
                ) as resp:
                    await _relay(resp, send)
                    self._on_result("answered")
                    return
            except aiohttp.ClientConnectorError:
                self.cluster.suspect(url)  # never reached the owner: safe to send to the next one
            except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError, aiohttp.ClientPayloadError):
                if method not in _IDEMPOTENT:
                    break  # may have committed: the client re-sends with its message id
                self.cluster.suspect(url)
            self._on_result("retried")
        self._on_result("unavailable")
        await unavailable(scope["path"])(scope, receive, send)

    async def _headers(self, scope: Scope, method: str) -> tuple[list[tuple[str, str]], list[str]]:
        key = await self.cluster.key()
        raw: list[tuple[bytes, bytes]] = scope["headers"]
        out = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in raw if k not in _HOP]
        if scope["type"] == "websocket":
            out = [(k, v) for k, v in out if k.encode() not in _WS_OWN]
        if key is not None:
            signed = peer.sign(
                key, self.cluster.node_id, scope.get("client"), scope["scheme"], method, scope["path"]
            )
            out.append((peer.HEADER.decode(), signed.decode()))
        present = {k for k, _ in out}
        return out, [name for low, name in _AUTO if low not in present]

    # -- WebSocket -------------------------------------------------------------------------------
    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        first = await receive()
        if first["type"] != "websocket.connect":
            return
        deadline = time.monotonic() + self.cluster.takeover_wait
        while True:
            url = await self.cluster.leader_url(max(0.0, deadline - time.monotonic()))
            if url is None:
                if self.cluster.leading:  # this node took the engine over while the client waited
                    await self._serve_here(scope, replay(first, receive), send)
                else:
                    await refuse_websocket(scope, send, 503, 1012)
                return
            try:
                upstream = await self._ws_connect(scope, url)
            except aiohttp.WSServerHandshakeError as exc:
                if exc.status != 503:
                    await refuse_websocket(
                        scope, send, exc.status, 1008 if exc.status in (401, 403) else 1011
                    )
                    return
            except aiohttp.ClientConnectorError:
                pass
            else:
                break
            # Never reached the owner (it died and this node has not seen the takeover yet), or that
            # node is no longer the owner: as for HTTP, the next owner rather than refusing a client
            # that did nothing wrong.
            self.cluster.suspect(url)
            if time.monotonic() >= deadline:
                await refuse_websocket(scope, send, 503, 1012)
                return
            self._on_result("retried")
        await send({"type": "websocket.accept", "subprotocol": upstream.protocol})
        await _pump(upstream, receive, send, on_dead=lambda: self.cluster.suspect(url))

    async def _ws_connect(self, scope: Scope, url: str) -> aiohttp.ClientWebSocketResponse:
        headers, _ = await self._headers(scope, "WS")
        target = URL(url.replace("http", "ws", 1) + _raw_target(scope), encoded=True)
        return await self._client().ws_connect(
            target,
            protocols=tuple(scope.get("subprotocols", ())),
            headers=headers,
            autoclose=False,
            autoping=True,
            max_msg_size=0,
            compress=0,
        )


def _take_header(scope: Scope) -> bytes | None:
    """Remove the peer header from the request (the app never sees it) and return its value."""
    found: bytes | None = None
    kept = []
    for name, value in scope["headers"]:
        if name == peer.HEADER:
            found = value
        else:
            kept.append((name, value))
    if found is not None:
        scope["headers"] = kept
    return found


def _raw_target(scope: Scope) -> str:
    path: bytes = scope.get("raw_path") or scope["path"].encode()
    query: bytes = scope.get("query_string", b"")
    return (path + (b"?" + query if query else b"")).decode("latin-1")


async def _relay(resp: aiohttp.ClientResponse, send: Send) -> None:
    headers = [(k.lower(), v) for k, v in resp.raw_headers if k.lower() not in _HOP]
    if resp.headers.get("Content-Length") is not None:
        headers.append((b"content-length", resp.headers["Content-Length"].encode("latin-1")))
    await send({"type": "http.response.start", "status": resp.status, "headers": headers})
    async for chunk in resp.content.iter_any():
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
    await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _pump(
    upstream: aiohttp.ClientWebSocketResponse, receive: Receive, send: Send, on_dead: Callable[[], None]
) -> None:
    """Relay frames both ways until one side closes. An owner connection that drops without a close
    frame calls ``on_dead`` before the client hears 1012, so the client's next request waits for
    the lease to move instead of going to the dead node."""

    async def client_to_owner() -> None:
        while True:
            message: Message = await receive()
            if message["type"] == "websocket.disconnect":
                code = int(message.get("code", 1000))
                await upstream.close(code=code if 1000 <= code < 5000 and code not in (1005, 1006) else 1000)
                return
            if message.get("text") is not None:
                await upstream.send_str(message["text"])
            elif message.get("bytes") is not None:
                await upstream.send_bytes(message["bytes"])

    async def owner_to_client() -> None:
        async for msg in upstream:
            if msg.type == aiohttp.WSMsgType.TEXT:
                await send({"type": "websocket.send", "text": msg.data})
            elif msg.type == aiohttp.WSMsgType.BINARY:
                await send({"type": "websocket.send", "bytes": msg.data})
            else:
                break
        code = upstream.close_code
        if code in _DEAD_CODES:
            on_dead()
            code = 1012
        await send({"type": "websocket.close", "code": code})

    tasks: list[asyncio.Task[Any]] = [
        asyncio.create_task(client_to_owner()),
        asyncio.create_task(owner_to_client()),
    ]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if not upstream.closed:
            await upstream.close()

"""One ASGI middleware in front of every face: logging context, the general rate limit, a body-size
safety net, and HTTP metrics by face and status.

Each face enforces its own body limits (its spec fixes them); the safety net here only stops bodies
larger than anything any face accepts, before a face reads them. A refused request gets HTTP 429
with ``Retry-After`` and the face's usual error body (ARCHITECTURE.md 10.9).
"""

from __future__ import annotations

import itertools
import logging
import math
import time
import uuid

import structlog
from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from frontdesk.domain import errors
from frontdesk.ops.limits import RateLimiter
from frontdesk.ops.metrics import Metrics, in_http_request

log = logging.getLogger("frontdesk.http")
# Request ids for log correlation: unique per process start, and cheaper than a uuid per request.
_NODE = uuid.uuid4().hex[:8]
_SEQUENCE = itertools.count(1)

_PREFIXES: tuple[tuple[str, str], ...] = (
    ("/api/", "native"),
    ("/admin/api/crm", "crmod"),
    ("/clientweb/", "servicepattern"),
    ("/cgi-bin/", "rightnow"),
    ("/services/soap/", "rightnow"),
    ("/engagement/", "fusion"),
    ("/crmRestApi/", "fusion"),
    ("/serviceApi/", "fusion"),
    ("/egain/", "ece"),
    ("/system/egain/", "ece"),
    ("/Services/Integration", "crmod"),
    ("/OnDemand/", "crmod"),
    ("/console", "web"),
    ("/wallboard", "web"),
    ("/demo", "web"),
    ("/web/", "web"),
    ("/metrics", "ops"),
    ("/healthz", "ops"),
    ("/readyz", "ops"),
)


def face_of(path: str) -> str:
    for prefix, face in _PREFIXES:
        if path.startswith(prefix):
            return face
    return "other"


def too_many(face: str, path: str, retry_after: int) -> Response:
    """The face's own error body with status 429 and ``Retry-After``."""
    headers = {"Retry-After": str(retry_after)}
    if face in ("native", "crmod") and path.startswith(("/api/", "/admin/api/")):
        from frontdesk.faces.native.http import problem

        exc = errors.RateLimited("Too many requests; retry later.")
        exc.retry_after = retry_after  # type: ignore[attr-defined]
        return problem(exc, path)
    if face == "servicepattern":
        from frontdesk.faces.servicepattern.errors import SpError
        from frontdesk.faces.servicepattern.http import error_reply

        return error_reply(SpError("5500", 429, "Too many requests", headers))
    if face == "rightnow":
        from frontdesk.faces.rightnow.faults import render
        from frontdesk.soap.faults import SoapFault

        _, body = render(SoapFault("SERVER_BUSY", status=429), None)
        return Response(body, 429, headers, "text/xml; charset=utf-8")
    if face == "fusion":
        from frontdesk.faces.fusion import http as fusion

        if path.startswith("/engagement/"):
            return fusion.consumer_reply(
                fusion.ConsumerError(429, "TOO_MANY_REQUESTS", "Too many requests", headers)
            )
        return fusion.adf_reply(fusion.AdfError(429, "TOO_MANY_REQUESTS", "Too many requests", headers))
    if face == "ece":
        return Response(b"", 429, headers)
    return PlainTextResponse("Too Many Requests", 429, headers)


def too_large(face: str, path: str) -> Response:
    if face == "native":
        from frontdesk.faces.native.http import problem

        return problem(errors.PayloadTooLarge("The body is too large."), path)
    return PlainTextResponse("Payload Too Large", 413)


async def deny_websocket(scope: Scope, send: Send, response: Response, close_code: int) -> None:
    """Refuse a WebSocket handshake with an HTTP response where the server offers the ASGI denial
    response; elsewhere close it with ``close_code``. A bare close before accept reaches the client
    as 403, which reads like a bad token."""
    if "websocket.http.response" not in scope.get("extensions", {}):
        await send({"type": "websocket.close", "code": close_code})
        return
    start = {
        "type": "websocket.http.response.start",
        "status": response.status_code,
        "headers": response.raw_headers,
    }
    await send(start)
    await send({"type": "websocket.http.response.body", "body": response.body})


class OpsGate:
    """What every request passes, whichever way it reached a face: the logging context, the general
    rate limit and the HTTP metrics. The ASGI middleware and the hot-route lane both use it."""

    def __init__(self, *, limiter: RateLimiter, metrics: Metrics | None, body_cap: int) -> None:
        self.limiter = limiter
        self.metrics = metrics
        self.body_cap = body_cap

    def enter(self, scope: Scope, face: str, path: str, headers: Headers) -> float:
        """Bind the log context and take a rate-limit token: 0, or the seconds to wait."""
        request_id = headers.get("x-request-id") or f"{_NODE}-{next(_SEQUENCE):x}"
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id, face=face, path=path)
        peer = scope["client"][0] if scope.get("client") else "unknown"
        address = self.limiter.client_address(peer, headers.get("x-forwarded-for"))
        wait = self.limiter.check(address, headers.get("authorization"))
        if wait > 0:
            if self.metrics is not None:
                self.metrics.rate_limited.labels(face).inc()
            if scope["type"] == "http":
                log.info("rate limited %s on %s", address, face)
        return wait

    def refusal(self, face: str, path: str, wait: float) -> Response:
        """The 429 for a request ``enter`` refused, in the face's format."""
        return too_many(face, path, max(1, math.ceil(wait)))

    def observe(self, face: str, method: str, status: int, started: float) -> None:
        if self.metrics is None:
            return
        metrics = self.metrics
        metrics.child(metrics.http_requests, face, method, str(status)).inc()
        metrics.child(metrics.http_seconds, face).observe(time.perf_counter() - started)
        if status >= 500:
            log.warning("answered %d", status)


class OpsMiddleware:
    def __init__(self, app: ASGIApp, *, gate: OpsGate) -> None:
        self.app = app
        self.gate = gate
        self.body_cap = gate.body_cap

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        face = face_of(path)
        headers = Headers(scope=scope)
        wait = self.gate.enter(scope, face, path, headers)
        if wait > 0:
            refusal = self.gate.refusal(face, path, wait)
            if kind == "websocket":
                await deny_websocket(scope, send, refusal, 1013)
                return
            await self._answer(refusal, scope, receive, send, face, time.perf_counter())
            return
        if kind == "websocket":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        length = headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > self.body_cap:
            await self._answer(too_large(face, path), scope, receive, send, face, started)
            return
        status = 500
        seen = 0
        over = False

        async def capped_receive() -> Message:
            nonlocal seen, over
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.body_cap:
                    over = True
                    return {"type": "http.disconnect"}
            return message

        started_response = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, started_response
            if message["type"] == "http.response.start":
                status = int(message["status"])
                started_response = True
            await send(message)

        token = in_http_request.set(True)
        try:
            await self.app(scope, capped_receive, send_wrapper)
            if over and not started_response:
                await self._answer(too_large(face, path), scope, receive, send, face, started)
                return
        finally:
            in_http_request.reset(token)
            if not (over and not started_response):
                self.gate.observe(face, scope.get("method", "GET"), status, started)

    async def _answer(
        self, response: Response, scope: Scope, receive: Receive, send: Send, face: str, started: float
    ) -> None:
        await response(scope, receive, send)
        self.gate.observe(face, scope.get("method", "GET"), response.status_code, started)

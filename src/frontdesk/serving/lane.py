"""The hot-route lane: the few routes every chat hits many times a minute, served without the ASGI
middleware stack (decision 35).

A request on the lane runs the same face endpoint, behind the same ``OpsGate`` (log context, rate
limit, metrics), as it would through Starlette; it only skips the seven ASGI layers in between and
the second task a long poll needed to notice a dropped connection. Every other request takes the
ordinary ASGI path.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import Message, Receive

from frontdesk.httpbody import replay
from frontdesk.ops.metrics import in_http_request
from frontdesk.ops.middleware import OpsGate

log = logging.getLogger("frontdesk.http")


@dataclass(frozen=True, slots=True)
class FastRoute:
    pattern: re.Pattern[str]  # matched against the whole path; named groups become path_params
    methods: frozenset[str]
    face: str
    endpoint: Callable[[Request], Awaitable[Response]]


class FastLane:
    def __init__(self, routes: list[FastRoute], gate: OpsGate) -> None:
        self.routes = routes
        self.gate = gate
        # A lane request carries its whole body in memory; larger ones take the ASGI path.
        self.body_max = min(gate.body_cap, 65_535)

    def match(self, method: str, path: str) -> tuple[FastRoute, dict[str, Any]] | None:
        for route in self.routes:
            if method in route.methods:
                m = route.pattern.fullmatch(path)
                if m is not None:
                    return route, m.groupdict()
        return None

    async def serve(
        self, route: FastRoute, scope: dict[str, Any], body: bytes, gone: asyncio.Future[None]
    ) -> Response:
        """The face's answer, never an exception; the caller writes it to the connection. ``gone`` is
        done once the client has left (the request's ``receive`` then says ``http.disconnect``)."""
        started = time.perf_counter()
        path: str = scope["path"]
        status = 500
        token = in_http_request.set(True)
        try:
            request = Request(scope, _receiver(body, gone))
            wait = self.gate.enter(scope, route.face, path, request.headers)  # parsed once, for both
            if wait > 0:
                response = self.gate.refusal(route.face, path, wait)
            else:
                response = await route.endpoint(request)
            status = response.status_code
        except Exception:
            log.exception("%s %s failed", scope["method"], path)
            response = PlainTextResponse("Internal Server Error", 500)
        finally:
            in_http_request.reset(token)
            self.gate.observe(route.face, scope["method"], status, started)
        return response


def _receiver(body: bytes, gone: asyncio.Future[None]) -> Receive:
    """An ASGI ``receive`` over a body already read: the body once, then the disconnect."""

    async def disconnected() -> Message:
        await asyncio.shield(gone)
        return {"type": "http.disconnect"}

    return replay({"type": "http.request", "body": body, "more_body": False}, disconnected)

"""uvicorn's httptools protocol with one addition: requests for a hot route go to the lane.

The lane request stands in uvicorn's own per-request slot (``cycle``) as a ``_LaneCycle``, which has
the attributes the protocol's bookkeeping touches (body, end of body, disconnect, keep-alive,
shutdown), so connection handling, keep-alive timers and pipelining stay uvicorn's. Only requests
with a small declared body (or none), no ``Expect`` and no upgrade take the lane.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import httptools
from starlette.responses import Response
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from frontdesk.serving.holding import HeldResponse
from frontdesk.serving.lane import FastLane, FastRoute

log = logging.getLogger("frontdesk.http")
_LANE_METHODS = frozenset((b"GET", b"POST"))


class _LaneCycle:
    """One lane request, shaped like uvicorn's ``RequestResponseCycle`` where the protocol looks."""

    __slots__ = (
        "body",
        "disconnected",
        "gone",
        "held",
        "keep_alive",
        "more_body",
        "protocol",
        "response_complete",
        "route",
        "scope",
        "started",
    )

    def __init__(self, protocol: LaneHttpProtocol, route: FastRoute, scope: dict[str, Any], keep_alive: bool):
        self.protocol = protocol
        self.route = route
        self.scope = scope
        self.keep_alive = keep_alive
        self.body = b""
        self.more_body = True
        self.response_complete = False
        self.disconnected = False
        self.started = False
        self.held: HeldResponse | None = None
        self.gone: asyncio.Future[None] = protocol.loop.create_future()

    @property
    def message_event(self) -> _LaneCycle:
        """The protocol calls ``cycle.message_event.set()`` on every change. A property rather than
        an attribute pointing at itself: a self-reference would leave every request to the cyclic
        garbage collector instead of reference counting."""
        return self

    def set(self) -> None:
        if self.disconnected:
            if not self.gone.done():
                self.gone.set_result(None)
            if self.held is not None:
                self.held.drop()
        elif not self.more_body and not self.started:
            self.started = True
            self.protocol.start_lane(self)


class _Pipeline(list[Any]):
    """uvicorn's queue of pipelined requests, as a list: an empty deque costs 624 bytes on every
    connection, and clients almost never pipeline. ``appendleft`` + ``pop`` keep deque order."""

    def appendleft(self, item: Any) -> None:
        self.insert(0, item)


class LaneHttpProtocol(HttpToolsProtocol):
    lane: FastLane | None = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pipeline = _Pipeline()  # type: ignore[assignment]

    def on_headers_complete(self) -> None:
        lane = self.lane
        parser = self.parser
        method = parser.get_method()
        if (
            lane is None
            or method not in _LANE_METHODS
            or parser.should_upgrade()
            or self.pipeline
            or (self.cycle is not None and not self.cycle.response_complete)
        ):
            super().on_headers_complete()
            return
        parsed = httptools.parse_url(self.url)
        path = parsed.path.decode("ascii")
        hit = None if "%" in path else lane.match(method.decode("ascii"), path)
        if hit is None or not self._small_body(lane.body_max):
            super().on_headers_complete()
            return
        route, params = hit
        version = parser.get_http_version()
        scope: dict[str, Any] = self.scope  # type: ignore[assignment]
        scope["method"] = method.decode("ascii")
        if version != "1.1":
            scope["http_version"] = version
        scope["path"] = path
        scope["raw_path"] = parsed.path
        scope["query_string"] = parsed.query or b""
        scope["path_params"] = params
        cycle = _LaneCycle(self, route, scope, version != "1.0" and parser.should_keep_alive())
        self.cycle = cycle  # type: ignore[assignment]

    def _small_body(self, limit: int) -> bool:
        for name, value in self.headers:
            if name == b"content-length":
                if not value.isdigit() or int(value) > limit:
                    return False
            elif name in (b"transfer-encoding", b"expect"):
                return False
        return True

    def start_lane(self, cycle: _LaneCycle) -> None:
        task = self.loop.create_task(self._serve(cycle))
        task.add_done_callback(self.tasks.discard)
        self.tasks.add(task)

    async def _serve(self, cycle: _LaneCycle) -> None:
        assert self.lane is not None
        response = await self.lane.serve(cycle.route, cycle.scope, cycle.body, cycle.gone)
        if isinstance(response, HeldResponse):
            # Parked until the reply is ready; this task ends here.
            cycle.held = response
            response.defer(functools.partial(self._complete, cycle))
            if cycle.disconnected:  # the client left while the endpoint ran: nobody to answer
                response.drop()
            return
        self._complete(cycle, response)

    def shutdown(self) -> None:
        """Server stopping: a parked reply answers now, as if its hold ran out, and the connection
        closes after it (config.md: on SIGTERM held polls are answered empty)."""
        cycle = self.cycle
        if isinstance(cycle, _LaneCycle) and not cycle.response_complete:
            cycle.keep_alive = False
            if cycle.held is not None:
                cycle.held.expire()
            return
        super().shutdown()

    def _complete(self, cycle: _LaneCycle, response: Response | None) -> None:
        cycle.held = None
        delivered = response is not None and not cycle.disconnected and not self.transport.is_closing()
        if delivered:
            assert response is not None
            self._write(response, cycle.keep_alive)
        cycle.response_complete = True
        after = getattr(response, "after_send", None)
        if after is not None:
            task = self.loop.create_task(self._after(after, delivered, cycle.scope["path"]))
            task.add_done_callback(self.tasks.discard)
            self.tasks.add(task)
        if not delivered:
            return
        if cycle.keep_alive:
            self.on_response_complete()
        else:
            self.transport.close()

    @staticmethod
    async def _after(after: Callable[[bool], Awaitable[None]], delivered: bool, path: str) -> None:
        try:
            await after(delivered)
        except Exception:
            log.exception("after a reply on %s", path)

    def _write(self, response: Response, keep_alive: bool) -> None:
        out = [STATUS_LINE[response.status_code]]
        for name, value in self.server_state.default_headers:
            out += (name, b": ", value, b"\r\n")
        sized = False
        for name, value in response.raw_headers:
            sized = sized or name == b"content-length"
            out += (name, b": ", value, b"\r\n")
        body = bytes(response.body)
        if not sized:
            out.append(b"content-length: %d\r\n" % len(body))
        if not keep_alive:
            out.append(b"connection: close\r\n")
        out += (b"\r\n", body)
        self.transport.write(b"".join(out))


def protocol_for(lane: FastLane | None) -> type[LaneHttpProtocol]:
    """A protocol class bound to this server's lane (uvicorn instantiates it per connection)."""
    return type("FrontdeskHttpProtocol", (LaneHttpProtocol,), {"lane": lane})

"""Per-request objects of the hot-route lane are freed by reference counting alone.

Every lane request and every parked poll used to sit in a reference cycle, about forty objects per
round trip left to the cyclic garbage collector, whose collections then took milliseconds each and
set the tail latency. These tests run with the collector off: an object that survives its last
reference is in a cycle.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import re
import weakref
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.responses import PlainTextResponse, Response

from frontdesk.serving.holding import HeldResponse
from frontdesk.serving.lane import FastRoute
from frontdesk.serving.protocol import _LaneCycle


@pytest.fixture
def no_collector() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


class _Probe:
    pass


class _Request:
    held: HeldResponse | None = None


class _Protocol:
    """What a lane request needs of its connection."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.started: list[_LaneCycle] = []

    def start_lane(self, cycle: _LaneCycle) -> None:
        self.started.append(cycle)


class _Held(HeldResponse):
    def expire(self) -> None:
        self.finish(PlainTextResponse("late"))


class _Connection:
    """The lane protocol's side of a parked reply: it keeps the request, the request keeps the reply,
    and the reply keeps the function that writes to the connection."""

    def __init__(self) -> None:
        self.cycle: Any = None
        self.written: list[Response | None] = []

    def complete(self, cycle: Any, response: Response | None) -> None:
        self.written.append(response)  # the request still names its reply: the reply lets go


async def _endpoint(request: Any) -> Response:
    return PlainTextResponse("")


ROUTE = FastRoute(re.compile("/x"), frozenset({"GET"}), "servicepattern", _endpoint)


def test_a_lane_request_is_freed_without_the_collector(no_collector: None) -> None:
    loop = asyncio.new_event_loop()
    try:
        protocol = _Protocol(loop)
        probe = _Probe()  # the request has no __weakref__ slot; what it keeps shows whether it died
        cycle = _LaneCycle(protocol, ROUTE, {"type": "http", "probe": probe}, True)  # type: ignore[arg-type]
        cycle.more_body = False
        cycle.message_event.set()  # what uvicorn calls once the body is complete
        assert protocol.started == [cycle]
        gone = weakref.ref(probe)
        protocol.started.clear()
        del cycle, probe
        assert gone() is None
    finally:
        loop.close()


def _park_and_finish(written: list[Response | None]) -> list[weakref.ref[Any]]:
    """A reply parked and finished the way the lane protocol does it; weak references to it and
    to its connection."""
    connection = _Connection()
    held = _Held()
    request = _Request()
    request.held = held
    connection.cycle = request
    held.defer(functools.partial(connection.complete, request))
    held.finish(PlainTextResponse("ready"))
    written += connection.written
    return [weakref.ref(held), weakref.ref(connection)]


def test_a_finished_parked_reply_lets_go_of_its_connection(no_collector: None) -> None:
    written: list[Response | None] = []
    refs = _park_and_finish(written)
    assert [r.body for r in written if r is not None] == [b"ready"]
    assert [r() for r in refs] == [None, None]


def test_a_parked_reply_finished_before_it_was_deferred_delivers_at_once(no_collector: None) -> None:
    held = _Held()
    held.finish(PlainTextResponse("early"))
    written: list[Response | None] = []
    held.defer(written.append)
    assert [r.body for r in written if r is not None] == [b"early"]
    gone = weakref.ref(held)
    del held
    assert gone() is None

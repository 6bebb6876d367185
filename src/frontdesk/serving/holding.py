"""Holding a long poll: wait for a wake-up or for the client to go away, without a task for each."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.types import Receive

from frontdesk.engine.notifier import Waiter
from frontdesk.serving.lane import GONE


async def _watch_disconnect(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return


def client_gone(request: Request) -> tuple[asyncio.Future[None], bool]:
    """A future done when the client goes away, and whether it is a watch task of the caller's own
    (to cancel when done). The hot-route lane hands one over; through ASGI it takes a task that
    watches ``receive``."""
    gone: asyncio.Future[None] | None = request.scope.get(GONE)
    if gone is not None:
        return gone, False
    return asyncio.ensure_future(_watch_disconnect(request.receive)), True


async def wake_or_gone(w: Waiter, gone: asyncio.Future[None], timeout: float) -> None:
    """Until ``w`` is woken, ``gone`` is done or ``timeout`` passes; re-arms the wake flag (the
    caller reads the state it waited for next, so a wake in between is not lost)."""
    await asyncio.wait((w.ready(), gone), timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    w.clear()

"""Holding a long poll: wait for a wake-up or for the client to go away, without a task for each."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from frontdesk.engine.notifier import Waiter


def quiet() -> contextvars.Context:
    """An empty context for a callback that fires long after the request that armed it, so that it
    does not keep that request's context (its log bindings) alive meanwhile."""
    return contextvars.Context()


async def _watch_disconnect(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return


def watch_disconnect(request: Request) -> asyncio.Task[None]:
    """A task done when the client goes away (cancel it when done with the request)."""
    return asyncio.ensure_future(_watch_disconnect(request.receive))


async def wake_or_gone(w: Waiter, gone: asyncio.Future[None], timeout: float) -> None:
    """Until ``w`` is woken, ``gone`` is done or ``timeout`` passes; re-arms the wake flag (the
    caller reads the state it waited for next, so a wake in between is not lost)."""
    await asyncio.wait((w.ready(), gone), timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    w.clear()


class HeldResponse(Response):
    """A reply that is not ready yet, parked without a task of its own (decision 35).

    A subclass arranges wake-ups and calls ``finish`` with the real reply. The hot-route lane hands
    ``defer`` the function that writes it and calls ``drop`` when the client leaves; through ASGI,
    ``__call__`` waits for it. Headers added to this object meanwhile (CORS, cookies) are carried
    over to the real reply.
    """

    def __init__(self) -> None:
        self.status_code = 200
        self.background = None
        self.body = b""
        self.raw_headers: list[tuple[bytes, bytes]] = []
        self._deliver: Callable[[Response | None], None] | None = None
        self._finished = False
        self._result: Response | None = None

    def release(self) -> None:
        """Let go of what the subclass holds (waiters, timers); called once, on finish or drop."""

    def finish(self, response: Response | None) -> None:
        if self._finished:
            return
        self._finished = True
        self.release()
        if response is not None:
            response.raw_headers.extend(self.raw_headers)
        self._result = response
        deliver, self._deliver = self._deliver, None  # it refers back to this reply's connection
        if deliver is not None:
            deliver(response)

    def drop(self) -> None:
        """The client left: nothing will be written."""
        self.finish(None)

    def expire(self) -> None:
        """Answer now as if the hold ran out (the server is stopping)."""
        raise NotImplementedError

    def defer(self, deliver: Callable[[Response | None], None]) -> None:
        if self._finished:
            deliver(self._result)
        else:
            self._deliver = deliver

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        ready: asyncio.Future[Response | None] = asyncio.get_running_loop().create_future()

        def deliver(response: Response | None) -> None:
            if not ready.done():
                ready.set_result(response)

        self.defer(deliver)
        watch = asyncio.ensure_future(_watch_disconnect(receive))
        try:
            await asyncio.wait((ready, watch), return_when=asyncio.FIRST_COMPLETED)
        finally:
            watch.cancel()
        if not ready.done():
            self.drop()
        response = ready.result()
        if response is None:
            return
        if watch.done() and not watch.cancelled():
            after = getattr(response, "after_send", None)
            if after is not None:
                await after(False)
            return
        await response(scope, receive, send)

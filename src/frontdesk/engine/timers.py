"""Keyed one-shot timers on the event loop.

Each engine timer (RONA, inactivity, wrap-up, abandonment, queue timeout) has a key, so setting it
again replaces it and cancelling is by name. At start the engine rebuilds them from stored state.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections.abc import Awaitable, Callable

log = logging.getLogger("frontdesk.timers")


class Timers:
    def __init__(self) -> None:
        self._handles: dict[str, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._closed = False

    def set(self, key: str, when: float, action: Callable[[], Awaitable[None]]) -> None:
        """Run ``action`` at epoch time ``when`` (replacing any timer with the same key)."""
        if self._closed:
            return
        self.cancel(key)
        loop = asyncio.get_running_loop()
        delay = max(0.0, when - time.time())
        # A fresh context: a timer armed by a request fires long after it, in no request's context
        # (and so does not keep that request's log bindings alive until then).
        self._handles[key] = loop.call_later(delay, self._fire, key, action, context=contextvars.Context())

    def cancel(self, key: str) -> None:
        handle = self._handles.pop(key, None)
        if handle is not None:
            handle.cancel()

    def has(self, key: str) -> bool:
        return key in self._handles

    def _fire(self, key: str, action: Callable[[], Awaitable[None]]) -> None:
        self._handles.pop(key, None)
        task = asyncio.get_running_loop().create_task(self._run(key, action))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _run(self, key: str, action: Callable[[], Awaitable[None]]) -> None:
        try:
            await action()
        except Exception:
            log.exception("timer %s failed", key)

    async def close(self) -> None:
        self._closed = True
        for handle in self._handles.values():
            handle.cancel()
        self._handles.clear()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

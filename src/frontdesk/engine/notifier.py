"""Parks waiters (long polls, WebSockets) and wakes them on bus notices.

The rule that removes the long-poll race (design section 3): register the waiter first, then read
the store, then wait. ``Waiter`` is registered on construction, so callers create it before reading.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from types import TracebackType

from frontdesk.bus.protocol import Bus


class Waiter:
    """One parked reader of one or more topics; ``wait`` returns once any of them was published."""

    # A future only while someone waits: ten thousand parked long polls are ten thousand of these.
    __slots__ = ("_future", "_notifier", "_topics", "_woken", "on_wake", "payloads")

    def __init__(self, notifier: Notifier, topics: list[str]) -> None:
        self._notifier = notifier
        self._topics = topics
        self._woken = False
        self._future: asyncio.Future[None] | None = None
        # Called on every wake-up: lets a parked reader with no task of its own react.
        self.on_wake: Callable[[], None] | None = None
        self.payloads: list[str] = []
        for topic in topics:
            notifier._add(topic, self)

    def _wake(self, payload: str) -> None:
        self.payloads.append(payload)
        self._woken = True
        future = self._future
        if future is not None and not future.done():
            future.set_result(None)
        if self.on_wake is not None:
            self.on_wake()

    def add_topic(self, topic: str) -> None:
        if topic not in self._topics:
            self._topics.append(topic)
            self._notifier._add(topic, self)

    def remove_topic(self, topic: str) -> None:
        if topic in self._topics:
            self._topics.remove(topic)
            self._notifier._remove(topic, self)

    def ready(self) -> asyncio.Future[None]:
        """A future done once woken (at once if a wake is pending); ``clear`` re-arms the flag.
        For callers that wait on the wake and something else together, without a task each."""
        future = self._future
        if future is None or future.done():
            future = self._future = asyncio.get_running_loop().create_future()
            if self._woken:
                future.set_result(None)
        return future

    def clear(self) -> None:
        self._woken = False

    async def wait(self, timeout: float | None) -> bool:
        """True when woken, False on timeout. Clears the wake flag for the next round.

        One timer on the wake future instead of ``asyncio.wait_for``, which adds a second future,
        a callback and the cancellation dance on every call: an agent's socket waits here twice
        per message."""
        if not self._woken:
            future = self.ready()
            handle = None
            if timeout is not None:
                handle = asyncio.get_running_loop().call_later(timeout, _time_up, future)
            try:
                await future
            finally:
                if handle is not None:
                    handle.cancel()
            if not self._woken:
                return False
        self.clear()
        return True

    def take(self) -> list[str]:
        out, self.payloads = self.payloads, []
        return out

    def close(self) -> None:
        for topic in self._topics:
            self._notifier._remove(topic, self)
        self._topics = []

    def __enter__(self) -> Waiter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class Notifier:
    """Waiters by topic. One bus subscription for every topic: a long poll parks on two topics and
    a subscription per topic would be made and dropped on every poll."""

    def __init__(self, bus: Bus) -> None:
        self.bus = bus
        self._waiters: dict[str, list[Waiter]] = {}
        bus.subscribe_every(self._heard)

    def waiter(self, *topics: str) -> Waiter:
        return Waiter(self, list(topics))

    def publish(self, topic: str, payload: str = "") -> None:
        self.bus.publish(topic, payload)

    def waiting(self, topic: str) -> int:
        return len(self._waiters.get(topic, ()))

    def _add(self, topic: str, waiter: Waiter) -> None:
        group = self._waiters.get(topic)
        if group is None:
            self._waiters[topic] = [waiter]
        elif waiter not in group:
            group.append(waiter)

    def _remove(self, topic: str, waiter: Waiter) -> None:
        group = self._waiters.get(topic)
        if group is None or waiter not in group:
            return
        group.remove(waiter)
        if not group:
            del self._waiters[topic]

    def _heard(self, topic: str | None, payload: str) -> None:
        # No topic: the bus may have missed wake-ups, so every waiter looks again.
        groups = list(self._waiters.values()) if topic is None else [self._waiters.get(topic, [])]
        for group in groups:
            for waiter in list(group):
                waiter._wake(payload)


def _time_up(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def chat_topic(chat_id: str) -> str:
    return f"chat:{chat_id}"


def agent_topic(tenant_id: str, login: str) -> str:
    return f"agent:{tenant_id}:{login}"


def tenant_topic(tenant_id: str) -> str:
    return f"tenant:{tenant_id}"

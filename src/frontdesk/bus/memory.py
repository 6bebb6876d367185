"""In-process bus for the single-node default, and the local delivery every bus shares."""

from __future__ import annotations

import logging
from collections.abc import Callable

log = logging.getLogger("frontdesk.bus")


class LocalSubscribers:
    """This process's subscribers by topic. Every bus delivers to them at once on publish (remote
    buses then also tell the other nodes), so one node's own waiters never wait on a server."""

    def __init__(self) -> None:
        self._subs: dict[str, list[Callable[[str], None]]] = {}
        self._every: list[Callable[[str | None, str], None]] = []

    def subscribe(self, topic: str, callback: Callable[[str], None]) -> Callable[[], None]:
        self._subs.setdefault(topic, []).append(callback)

        def unsubscribe() -> None:
            subs = self._subs.get(topic)
            if subs and callback in subs:
                subs.remove(callback)
                if not subs:
                    del self._subs[topic]

        return unsubscribe

    def subscribe_every(self, callback: Callable[[str | None, str], None]) -> Callable[[], None]:
        self._every.append(callback)

        def unsubscribe() -> None:
            if callback in self._every:
                self._every.remove(callback)

        return unsubscribe

    def _deliver(self, topic: str, payload: str) -> None:
        self._deliver_subscribers(topic, payload)
        self._tell_every(topic, payload)

    def _deliver_subscribers(self, topic: str, payload: str) -> None:
        for callback in list(self._subs.get(topic, ())):
            try:
                callback(payload)
            except Exception:  # one broken subscriber must not keep the others asleep
                log.exception("bus subscriber of %r failed", topic)

    def _tell_every(self, topic: str | None, payload: str) -> None:
        for every in self._every:
            try:
                every(topic, payload)
            except Exception:
                log.exception("bus subscriber of every topic failed on %r", topic)


class MemoryBus(LocalSubscribers):
    async def start(self) -> None:
        return None

    async def close(self) -> None:
        self._subs.clear()

    async def ping(self) -> None:
        return None

    def publish(self, topic: str, payload: str) -> None:
        self._deliver(topic, payload)

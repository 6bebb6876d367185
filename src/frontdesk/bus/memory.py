"""In-process bus for the single-node default."""

from __future__ import annotations

from collections.abc import Callable


class MemoryBus:
    def __init__(self) -> None:
        self._subs: dict[str, list[Callable[[str], None]]] = {}

    async def start(self) -> None:
        return None

    async def close(self) -> None:
        self._subs.clear()

    async def ping(self) -> None:
        return None  # nothing between publisher and subscriber that could be down

    def publish(self, topic: str, payload: str) -> None:
        for cb in list(self._subs.get(topic, ())):
            cb(payload)

    def subscribe(self, topic: str, callback: Callable[[str], None]) -> Callable[[], None]:
        self._subs.setdefault(topic, []).append(callback)

        def unsubscribe() -> None:
            subs = self._subs.get(topic)
            if subs and callback in subs:
                subs.remove(callback)
                if not subs:
                    del self._subs[topic]

        return unsubscribe

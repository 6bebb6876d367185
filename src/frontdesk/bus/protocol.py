"""The bus contract: wake-ups only. The store stays the source of truth; a lost wake-up costs one
poll timeout, never a message."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol


class Bus(Protocol):
    async def start(self) -> None: ...

    async def close(self) -> None: ...

    def publish(self, topic: str, payload: str) -> None:
        """Fire and forget: deliver ``payload`` to every subscriber of ``topic`` on every node."""

    def subscribe(self, topic: str, callback: Callable[[str], None]) -> Callable[[], None]:
        """Register ``callback``; returns the function that unregisters it."""

    def subscribe_every(self, callback: Callable[[str | None, str], None]) -> Callable[[], None]:
        """Register ``callback(topic, payload)`` for every topic; ``topic`` None means "wake
        everything" (after a reconnect, wake-ups may have been missed). For a dispatcher with many
        short-lived topics, which would otherwise subscribe and unsubscribe on every wait."""

    async def ping(self) -> None:
        """Raise when the bus cannot carry a message (``/readyz``): a node that cannot hear the others
        would otherwise look healthy while its parked readers wait out every poll timeout."""

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

    async def ping(self) -> None:
        """Raise when the bus cannot carry a message (``/readyz``): a node that cannot hear the others
        would otherwise look healthy while its parked readers wait out every poll timeout."""

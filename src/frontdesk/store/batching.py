"""Group commit's one rule, shared by both stores: after the first queued intent, take whatever is
already waiting, up to the batch limit, without waiting for more."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def take_batch(
    first: T, get_nowait: Callable[[], T | None], empty: type[Exception], limit: int
) -> tuple[list[T], bool]:
    """The batch starting with ``first``, and whether the stop marker (None) was met."""
    batch = [first]
    while len(batch) < limit:
        try:
            nxt = get_nowait()
        except empty:
            break
        if nxt is None:
            return batch, True
        batch.append(nxt)
    return batch, False

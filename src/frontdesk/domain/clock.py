"""Time helpers: the engine works in epoch seconds (float) and renders RFC 3339 at the edges."""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime


def now() -> float:
    return time.time()


# Formatted seconds, reused while they last: an event's time and its chat's creation time differ.
_seconds: dict[int, str] = {}
_SECONDS_KEPT = 4096


def rfc3339(ts: float | None) -> str | None:
    """RFC 3339 UTC with milliseconds and ``Z`` (native.md 0.1).

    Every event rendered to an agent carries one, so formatted seconds are cached.
    """
    if ts is None:
        return None
    # The same rounding as datetime.fromtimestamp: microseconds half-even, then truncated millis.
    frac, whole_f = math.modf(ts)
    micros = round(frac * 1e6)
    whole = int(whole_f)
    if micros >= 1_000_000:
        whole, micros = whole + 1, micros - 1_000_000
    elif micros < 0:
        whole, micros = whole - 1, micros + 1_000_000
    millis = micros // 1000
    prefix = _seconds.get(whole)
    if prefix is None:
        if len(_seconds) >= _SECONDS_KEPT:
            _seconds.clear()
        prefix = _seconds[whole] = datetime.fromtimestamp(whole, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.")
    return f"{prefix}{millis:03d}Z"


def parse_rfc3339(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()

"""Time helpers: the engine works in epoch seconds (float) and renders RFC 3339 at the edges."""

from __future__ import annotations

import time
from datetime import UTC, datetime


def now() -> float:
    return time.time()


def rfc3339(ts: float | None) -> str | None:
    """RFC 3339 UTC with milliseconds and ``Z`` (native.md 0.1)."""
    if ts is None:
        return None
    dt = datetime.fromtimestamp(ts, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def parse_rfc3339(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()

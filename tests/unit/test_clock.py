"""rfc3339 caches the formatted second; it must agree with datetime's own rendering everywhere."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from frontdesk.domain.clock import rfc3339


def reference(ts: float) -> str:
    dt = datetime.fromtimestamp(ts, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


@given(st.floats(min_value=0, max_value=4e9, allow_nan=False, allow_infinity=False))
def test_rfc3339_matches_datetime(ts: float) -> None:
    assert rfc3339(ts) == reference(ts)


def test_rfc3339_edges() -> None:
    assert rfc3339(None) is None
    assert rfc3339(1736935201.236) == "2025-01-15T10:00:01.236Z"
    for ts in (0.0, 0.9999996, 1795441136.9999999, 1700000000.0005):
        assert rfc3339(ts) == reference(ts)

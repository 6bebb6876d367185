"""Small helpers shared by test packages (plain module on the test path)."""

from __future__ import annotations

import time

SP_AUTH = 'MOBILE-API-140-327-PLAIN appId="test", clientId="{client_id}"'


def sp_url(path: str) -> str:
    return f"/clientweb/api/v1{path}?tenantUrl=example.com"


def midday_timezone(now: float | None = None) -> str:
    """A fixed-offset zone where it is about noon now.

    "Today's" supervisor figures start at the tenant's midnight, so a test that counts today's
    chats against the demo's UTC day fails when a run crosses 00:00 UTC (a chat that entered before
    midnight is yesterday's). Twelve hours from midnight, the day cannot turn over during a run.
    """
    east = 12 - time.gmtime(now).tm_hour  # -11..12 hours east of UTC
    return f"Etc/GMT{-east:+d}"  # POSIX sign: Etc/GMT-5 is five hours east

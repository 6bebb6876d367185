"""Opening hours: is a calendar open at a given moment (config.md 3.4)?"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

_DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


def _minutes(hhmm: str) -> int:
    h, m = hhmm.split(":")
    return int(h) * 60 + int(m)


def is_open(calendars: dict[str, Any], name: str | None, timezone: str, at: float) -> bool:
    if not name or name == "always":
        return True
    cal = calendars.get(name)
    if cal is None:
        return True
    local = datetime.fromtimestamp(at, ZoneInfo(timezone))
    for holiday in getattr(cal, "holidays", None) or []:
        date = holiday.date if hasattr(holiday, "date") else holiday["date"]
        if date in (local.strftime("%Y-%m-%d"), local.strftime("%m-%d")):
            return False
    hours = getattr(cal, "hours", None) or {}
    if not isinstance(hours, dict):
        hours = {day: getattr(hours, day, None) for day in _DAYS}
    intervals = hours.get(_DAYS[local.weekday()]) or []
    minute = local.hour * 60 + local.minute
    for interval in intervals:
        start, end = interval.split("-")
        if _minutes(start) <= minute < _minutes(end):
            return True
    return False

"""Times are stored in UTC and shown to people in the authority's zone (Asia/Shanghai)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

DEFAULT_ZONE = "Asia/Shanghai"


def zone(name: str | None = None) -> ZoneInfo:
    """A timezone by name (default Asia/Shanghai)."""
    return ZoneInfo(name or DEFAULT_ZONE)


def local_iso(value: dt.datetime | None, zone_name: str | None = None) -> str | None:
    """ISO 8601 in local time with its offset, e.g. 2024-08-05T08:00:00+08:00."""
    if value is None:
        return None
    return value.astimezone(zone(zone_name)).isoformat()


def local_datetime(year: int, month: int, day: int, hour: int = 0, minute: int = 0,
                   zone_name: str | None = None) -> dt.datetime:
    """A wall-clock time in the authority's zone, as an aware datetime in UTC."""
    return dt.datetime(year, month, day, hour, minute, tzinfo=zone(zone_name)).astimezone(dt.UTC)


def local_day_start(day: dt.date, zone_name: str | None = None) -> dt.datetime:
    """Midnight at the start of a local calendar day, as an aware datetime in UTC."""
    return local_datetime(day.year, day.month, day.day, zone_name=zone_name)


def local_day_end(day: dt.date, zone_name: str | None = None) -> dt.datetime:
    """Midnight at the end of a local calendar day (exclusive bound), in UTC."""
    return local_day_start(day + dt.timedelta(days=1), zone_name)

"""The one place the current time comes from.

``CASECTL_NOW`` (ISO 8601 with an offset, read by dateutil) fixes the clock, so tests, demos
and example builders get reproducible timestamps; otherwise it is the
system clock in the desk's time zone.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone, tzinfo

from .errors import UsageError


def zone(name: str | None) -> tzinfo:
    if not name:
        return timezone.utc
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError(f"unknown time zone {name!r}",
                         "use an IANA name such as Europe/Oslo, Europe/Stockholm or "
                         "Europe/Copenhagen") from None


def now(tz: tzinfo | None = None) -> datetime:
    fixed = os.environ.get("CASECTL_NOW")
    if fixed:
        from dateutil import parser

        try:
            moment = parser.isoparse(fixed)
        except (ValueError, OverflowError):
            raise UsageError(f"CASECTL_NOW={fixed!r} is not an ISO 8601 time",
                             "write it like 2026-11-22T09:30:00+01:00") from None
        if moment.tzinfo is None:
            raise UsageError(f"CASECTL_NOW={fixed!r} has no UTC offset",
                             "write it like 2026-11-22T09:30:00+01:00")
        try:
            return moment.astimezone(tz) if tz else moment
        except OverflowError:  # year 1 or 9999 shifted out of what datetime holds
            from .ids import range_error

            raise range_error(fixed) from None
    return datetime.now(tz or timezone.utc)


def isoformat(moment: datetime) -> str:
    """Stored form: seconds precision unless finer is needed, always an offset."""
    if moment.microsecond:
        return moment.isoformat(timespec="milliseconds")
    return moment.isoformat(timespec="seconds")

"""Business time: a desk's working hours, in its own time zone.

Pure: no I/O, no clock. A ``Calendar`` knows the weekly hours (per
weekday, in local wall time), the dates it is closed (public holidays and
the desk's own) and extra open dates; it answers two questions, "which
instant is N business minutes after this one?" and "how many business
minutes lie between these two instants?".

Each day's hours are turned into instants through the zone (zoneinfo), so
a daylight-saving change is right: 08:30-15:00 on the Monday after the
change starts at 08:30 local time, one hour earlier in UTC than the week
before, and a 24x7 day with the spring change is 23 hours long. The walk
steps day by day, skipping closed days whole, with no cap on how far it
goes: RT's Business::Hours gives up after 30 days, a 60-working-day target
must still get a due date.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from typing import Iterator, Mapping, Sequence

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
MINUTE = timedelta(minutes=1)
# A calendar must be open at least once in this many days, else an add
# would walk forever: a week of hours, or an extra open date, always is.
_GIVE_UP_DAYS = 400 * 366

Span = tuple[int, int]  # minutes after local midnight, end exclusive; 1440 = 24:00
_SPAN_RE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


class CalendarError(ValueError):
    """Hours that cannot be read; the message says how to write them."""


def parse_span(text: str) -> Span:
    """'08:30-15:00' -> (510, 900). 24:00 is the end of the day."""
    match = _SPAN_RE.match(text)
    if not match:
        raise CalendarError(f"{text!r} is not a time span; write it like 08:30-15:00")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if m1 > 59 or m2 > 59 or start > 24 * 60 or end > 24 * 60:
        raise CalendarError(f"{text!r} is not a time span; hours run 00:00 to 24:00")
    if start >= end:
        raise CalendarError(f"{text!r} ends before it starts; write it like 08:30-15:00")
    return start, end


def parse_day(value: str | Sequence[str] | None) -> tuple[Span, ...]:
    """A weekday's hours as casectl.yaml writes them: null or "closed"
    (closed), "08:30-15:00", or a list of spans ["08:00-11:30", "12:00-15:00"]."""
    if value is None or value == "closed":
        return ()
    texts = [value] if isinstance(value, str) else list(value)
    spans = sorted(parse_span(t) for t in texts)
    for (_, end), (start, _) in zip(spans, spans[1:]):
        if start < end:
            raise CalendarError(f"the spans {', '.join(texts)} overlap")
    return tuple(spans)


def format_span(span: Span) -> str:
    return f"{span[0] // 60:02d}:{span[0] % 60:02d}-{span[1] // 60:02d}:{span[1] % 60:02d}"


@dataclass(frozen=True)
class Calendar:
    """Weekly hours (Monday first) in ``tz``, less ``closed`` dates, plus
    ``open`` dates (which get their weekday's hours, or the normal working
    day's when the weekday has none, e.g. a Saturday opened for a move)."""

    tz: tzinfo
    week: tuple[tuple[Span, ...], ...]
    closed: frozenset[date] = frozenset()
    open: frozenset[date] = frozenset()
    _cache: dict[date, tuple[tuple[datetime, datetime], ...]] = field(
        default_factory=dict, compare=False, repr=False, hash=False)

    def __post_init__(self) -> None:
        if len(self.week) != 7:
            raise CalendarError("weekly hours need all seven weekdays")
        if not any(self.week) and not self.open:
            raise CalendarError("a calendar open on no weekday never counts a minute; give "
                                "at least one weekday hours")

    @property
    def normal_day(self) -> tuple[Span, ...]:
        """The desk's normal working day: the first weekday with hours."""
        return next((spans for spans in self.week if spans), ())

    @property
    def working_day_minutes(self) -> int:
        """The length of a normal working day, what a target's '1d' means."""
        return sum(end - start for start, end in self.normal_day)

    def spans_on(self, day: date) -> tuple[Span, ...]:
        if day in self.closed and day not in self.open:
            return ()
        spans = self.week[day.weekday()]
        if day in self.open and not spans:
            return self.normal_day
        return spans

    def intervals(self, day: date) -> tuple[tuple[datetime, datetime], ...]:
        """The day's open hours as instants in UTC: Python adds to and
        subtracts aware datetimes of one zone in wall time (a day with the
        spring change would count 24 hours), so all arithmetic is in UTC."""
        found = self._cache.get(day)
        if found is None:
            found = tuple((self._instant(day, start), self._instant(day, end))
                          for start, end in self.spans_on(day))
            self._cache[day] = found
        return found

    def _instant(self, day: date, minutes: int) -> datetime:
        if minutes >= 24 * 60:  # 24:00 is the next day's midnight
            day, minutes = day + timedelta(days=1), minutes - 24 * 60
        local = datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=self.tz)
        # A wall time in the spring gap becomes the instant an hour later.
        return local.astimezone(timezone.utc)

    def _days(self, start: date) -> Iterator[date]:
        day = start
        for _ in range(_GIVE_UP_DAYS):
            yield day
            day += timedelta(days=1)
        raise CalendarError("no open hours within 400 years")

    def add(self, start: datetime, amount: timedelta) -> datetime:
        """The instant ``amount`` of business time after ``start``. With no
        business time to add, ``start`` itself (even outside the hours); a
        due time that falls at a closing time is that closing time."""
        if start.tzinfo is None:
            raise ValueError("start must be an aware datetime")
        if amount < timedelta(0):
            raise ValueError("cannot add negative business time")
        if not amount:
            return start.astimezone(self.tz)
        moment = start.astimezone(timezone.utc)
        left = amount
        # The day before, too: a 24:00 end belongs to the previous date, and
        # an instant just after midnight may still be in yesterday's hours.
        for day in self._days(start.astimezone(self.tz).date() - timedelta(days=1)):
            for opens, closes in self.intervals(day):
                if closes <= moment:
                    continue
                begin = max(opens, moment)
                room = closes - begin
                if left <= room:
                    return (begin + left).astimezone(self.tz)
                left -= room
        raise AssertionError("unreachable")

    def between(self, start: datetime, end: datetime) -> timedelta:
        """Business time from ``start`` to ``end`` (zero if end is not later)."""
        if start.tzinfo is None or end.tzinfo is None:
            raise ValueError("instants must be aware datetimes")
        if end <= start:
            return timedelta(0)
        total = timedelta(0)
        day = start.astimezone(self.tz).date() - timedelta(days=1)
        last = end.astimezone(self.tz).date()
        start, end = start.astimezone(timezone.utc), end.astimezone(timezone.utc)
        while day <= last:
            for opens, closes in self.intervals(day):
                begin, finish = max(opens, start), min(closes, end)
                if finish > begin:
                    total += finish - begin
            day += timedelta(days=1)
        return total

    def add_minutes(self, start: datetime, minutes: float) -> datetime:
        return self.add(start, timedelta(minutes=minutes))

    def minutes_between(self, start: datetime, end: datetime) -> float:
        return self.between(start, end) / MINUTE


def weekly(hours: Mapping[str, str | Sequence[str] | None]) -> tuple[tuple[Span, ...], ...]:
    """Weekly hours from casectl.yaml's mapping (mon..sun; a day left out
    is closed)."""
    unknown = sorted(set(hours) - set(WEEKDAYS))
    if unknown:
        raise CalendarError(f"unknown weekday {unknown[0]!r}; use " + ", ".join(WEEKDAYS))
    days = []
    for name in WEEKDAYS:
        try:
            days.append(parse_day(hours.get(name)))
        except CalendarError as exc:
            raise CalendarError(f"{name}: {exc}") from None
    return tuple(days)


ALWAYS = tuple(((0, 24 * 60),) for _ in WEEKDAYS)


def around_the_clock(tz: tzinfo) -> Calendar:
    """24x7: every day 00:00-24:00, no closed dates."""
    return Calendar(tz, ALWAYS)

"""The business calendar (casectl/calendar.py): worked examples and
properties. Pure code, tested directly; the SLA tests drive it through
the command line."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings, strategies as st

from casectl.calendar import (Calendar, CalendarError, around_the_clock, parse_day, parse_span,
                              weekly)

OSLO = ZoneInfo("Europe/Oslo")
DESK_HOURS = weekly({d: "08:30-15:00" for d in ("mon", "tue", "wed", "thu", "fri")})
# Norwegian public holidays around Easter and Christmas 2026/2027.
NO_HOLIDAYS = frozenset({date(2026, 12, 25), date(2026, 12, 26), date(2027, 1, 1),
                         date(2027, 3, 25), date(2027, 3, 26), date(2027, 3, 28),
                         date(2027, 3, 29)})
DESK = Calendar(OSLO, DESK_HOURS, NO_HOLIDAYS)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def test_friday_afternoon_plus_two_working_days_is_tuesday_same_time() -> None:
    assert DESK.working_day_minutes == 390
    due = DESK.add_minutes(at("2026-11-27T14:00:00+01:00"), 780)
    assert due == at("2026-12-01T14:00:00+01:00")
    assert due.utcoffset() == timedelta(hours=1)


def test_easter_2027_is_skipped() -> None:
    # Wednesday 24 March 14:00 + 2 working days: Maundy Thursday to Easter
    # Monday are closed, so Wednesday 15:00, Tuesday 30th, Wednesday 31st 13:00+1h.
    due = DESK.add_minutes(at("2027-03-24T14:00:00+01:00"), 780)
    assert due == at("2027-03-31T14:00:00+02:00")


def test_christmas_is_skipped() -> None:
    due = DESK.add_minutes(at("2026-12-24T09:00:00+01:00"), 390)
    # 24th 09:00-15:00 is 360 minutes; 25th and 26th (and the weekend) closed; Monday 28th.
    assert due == at("2026-12-28T09:00:00+01:00")


def test_daylight_saving_change_inside_the_window() -> None:
    # Friday 27 March 2026 14:00 (+01:00); clocks go forward on Sunday 29th.
    due = DESK.add_minutes(at("2026-03-27T14:00:00+01:00"), 780)
    assert due == at("2026-03-31T14:00:00+02:00")
    assert DESK.minutes_between(at("2026-03-27T14:00:00+01:00"), due) == 780


def test_24x7_counts_real_time_over_the_spring_change() -> None:
    always = around_the_clock(OSLO)
    start = at("2026-03-28T12:00:00+01:00")
    end = at("2026-03-29T12:00:00+02:00")
    assert always.minutes_between(start, end) == 23 * 60
    assert always.add_minutes(start, 240) == at("2026-03-28T16:00:00+01:00")
    assert always.add_minutes(start, 1950) == at("2026-03-29T21:30:00+02:00")
    # Instants in the zone itself: Python would subtract them in wall time.
    zoned = datetime(2026, 3, 28, 12, tzinfo=OSLO), datetime(2026, 3, 29, 12, tzinfo=OSLO)
    assert always.minutes_between(*zoned) == 23 * 60
    assert DESK.minutes_between(datetime(2026, 3, 27, 14, tzinfo=OSLO),
                                datetime(2026, 3, 30, 9, tzinfo=OSLO)) == 60 + 30


def test_more_than_thirty_days() -> None:
    start = at("2026-11-02T08:30:00+01:00")  # a Monday
    due = DESK.add_minutes(start, 60 * 390)  # 60 working days
    assert DESK.minutes_between(start, due) == 60 * 390
    # 60 working days from a Monday morning: 12 weeks (Friday 22 January at
    # closing time) plus the 2 holidays on weekdays (Friday 25 December and
    # Friday 1 January; 26 December 2026 is a Saturday).
    assert due == at("2027-01-26T15:00:00+01:00")


def test_outside_hours_start_and_closing_time() -> None:
    # Saturday: nothing counts until Monday 08:30.
    assert DESK.add_minutes(at("2026-11-28T10:00:00+01:00"), 30) == \
        at("2026-11-30T09:00:00+01:00")
    # Ending exactly at closing time is that closing time, not the next morning.
    assert DESK.add_minutes(at("2026-11-30T14:00:00+01:00"), 60) == \
        at("2026-11-30T15:00:00+01:00")
    assert DESK.minutes_between(at("2026-11-28T10:00:00+01:00"),
                                at("2026-11-30T08:00:00+01:00")) == 0


def test_open_dates_and_closed_dates() -> None:
    saturday = date(2026, 11, 28)
    cal = Calendar(OSLO, DESK_HOURS, frozenset({date(2026, 11, 27)}), frozenset({saturday}))
    assert cal.spans_on(saturday) == ((510, 900),)
    assert cal.spans_on(date(2026, 11, 27)) == ()
    assert cal.add_minutes(at("2026-11-26T14:30:00+01:00"), 60) == \
        at("2026-11-28T09:00:00+01:00")


def test_parsing_hours() -> None:
    assert parse_span("08:30-15:00") == (510, 900)
    assert parse_span("00:00-24:00") == (0, 1440)
    assert parse_day(["12:00-15:00", "08:00-11:30"]) == ((480, 690), (720, 900))
    assert parse_day(None) == () and parse_day("closed") == ()
    for bad in ("8-15", "15:00-08:30", "08:30-25:00", "08:61-09:00"):
        with pytest.raises(CalendarError):
            parse_span(bad)
    with pytest.raises(CalendarError, match="overlap"):
        parse_day(["08:00-12:00", "11:00-15:00"])
    with pytest.raises(CalendarError, match="weekday"):
        weekly({"monday": "08:00-15:00"})
    with pytest.raises(CalendarError, match="no weekday"):
        Calendar(OSLO, weekly({}))


instants = st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2028, 12, 31),
                        timezones=st.just(OSLO)).map(lambda d: d.replace(microsecond=0))
calendars = st.sampled_from([DESK, around_the_clock(OSLO),
                             Calendar(OSLO, weekly({"mon": ["07:00-11:00", "12:00-16:00"],
                                                    "sat": "10:00-24:00",
                                                    "sun": "00:00-02:30"}), NO_HOLIDAYS)])


@settings(max_examples=60, deadline=None)
@given(calendars, instants, st.integers(min_value=0, max_value=90 * 390))
def test_between_undoes_add(cal: Calendar, start: datetime, minutes: int) -> None:
    due = cal.add_minutes(start, minutes)
    assert due >= start
    assert cal.minutes_between(start, due) == minutes


@settings(max_examples=60, deadline=None)
@given(calendars, instants, st.integers(min_value=0, max_value=5000),
       st.integers(min_value=0, max_value=5000))
def test_add_is_monotonic_and_additive(cal: Calendar, start: datetime, a: int, b: int) -> None:
    first, second = cal.add_minutes(start, min(a, b)), cal.add_minutes(start, max(a, b))
    assert first <= second
    assert cal.minutes_between(start, second) == cal.minutes_between(start, first) + \
        cal.minutes_between(first, second)


@settings(max_examples=50, deadline=None)
@given(calendars, instants, instants, instants)
def test_between_is_additive(cal: Calendar, a: datetime, b: datetime, c: datetime) -> None:
    a, b, c = sorted((a, b, c))
    assert cal.between(a, c) == cal.between(a, b) + cal.between(b, c)
    assert cal.between(a, c) <= c.astimezone(timezone.utc) - a.astimezone(timezone.utc)

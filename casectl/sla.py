"""SLA clocks, computed from a case's events, its policy and the time.

Pure: no I/O; the policy (targets, the level's calendar, where resolution
counts from) and ``now`` are passed in. The rules [seed 004, seed 002]:

- Reaction runs from arrival until an agent reacts: the case is started,
  put to waiting (a counter-question), solved, closed or rejected, or an
  agent writes a work log entry or an e-mail the reporter can see.
- Resolution runs from arrival (or, with ``resolution_from: start``, from
  the first start) until the case is solved, closed or rejected; it is
  paused while the case waits for the reporter, and does not run between
  solved and a reopen.
- Both count business time in the calendar of the case's level (24x7 for
  platinum and gold by default, the desk's working hours otherwise).
- A priority change re-targets: the new priority's targets apply, counted
  from arrival (as RT and Zammad do), for a clock still running. A clock
  that has stopped keeps the target of the priority it stopped under: a
  later change does not rewrite a result already reached.
- ``remaining_minutes`` is target minus business time used, negative once
  overdue (by that many business minutes); for a stopped clock, what was
  left when it stopped. ``due`` is when the target is (or was) reached; for
  a stopped clock not breached, the deadline as it stood when it stopped;
  while paused, where it would fall if work resumed now.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any, Mapping, Sequence

from . import model
from .calendar import Calendar, around_the_clock, weekly

RISK_SHARE = 0.2  # "at risk": less than this share of the target left
REACTED_STATUSES = ("started", "waiting")
STOPPED = ("solved", "closed", "rejected")


@dataclass(frozen=True)
class Policy:
    """What the clocks of one case need from casectl.yaml."""

    targets: Mapping[str, Mapping[str, int | None]]  # priority -> clock -> minutes
    calendar: Calendar
    resolution_from: str = "arrival"


@dataclass(frozen=True)
class Clock:
    target_minutes: int | None
    due: datetime | None
    done: datetime | None
    breached: bool | None
    remaining_minutes: int | None
    paused_minutes: int | None
    # For the query index: the instant the clock breached or will breach if
    # nothing happens, and the instant it is (or will be) at risk; None when
    # that cannot happen without a further event (stopped in time, paused).
    breach_at: datetime | None
    risk_at: datetime | None
    running: bool

    def to_dict(self, tz: tzinfo, paused: bool) -> dict[str, Any]:
        out: dict[str, Any] = {
            "target_minutes": self.target_minutes, "due": _iso(self.due, tz),
            "done": _iso(self.done, tz), "breached": self.breached,
            "remaining_minutes": self.remaining_minutes}
        if paused:
            out["paused_minutes"] = self.paused_minutes
        return out


def _iso(moment: datetime | None, tz: tzinfo) -> str | None:
    if moment is None:
        return None
    moment = moment.astimezone(tz)
    return moment.isoformat(timespec="milliseconds" if moment.microsecond else "seconds")


def calendar_for(policy: Mapping[str, Any], level: str, holidays: frozenset[date],
                 tz: tzinfo) -> Calendar:
    """The calendar of an SLA level: 24x7, the desk's business hours, or
    hours of its own (with the desk's closed and open dates)."""
    hours = policy["levels"].get(level, "business")
    if hours == "24x7":
        return around_the_clock(tz)
    week = weekly(policy["hours"] if hours == "business" else hours)
    closed = holidays | {date.fromisoformat(d) for d in policy.get("closed") or []}
    opened = frozenset(date.fromisoformat(d) for d in policy.get("open") or [])
    return Calendar(tz, week, frozenset(closed), opened)


def _at(event: Mapping[str, Any]) -> datetime:
    return datetime.fromisoformat(event["at"])


def _status_after(event: Mapping[str, Any], status: str) -> str:
    kind, data = event["kind"], event.get("data") or {}
    if kind == "created":
        return "new"
    if kind == "status_changed":
        return str(data.get("status", status))
    if kind in STOPPED:
        return kind
    if kind == "reopened":
        return "started"
    return status


def _is_reaction(event: Mapping[str, Any]) -> bool:
    kind, data = event["kind"], event.get("data") or {}
    if kind == "status_changed":
        return data.get("status") in REACTED_STATUSES
    if kind in ("worklog", "email"):
        # What the reporter said, recorded by an agent, is no reaction to it.
        return bool(event.get("public", True)) and not data.get("from_reporter") \
            and data.get("from") != "reporter"
    return kind in STOPPED


def _priority_at(events: Sequence[Mapping[str, Any]], moment: datetime | None) -> str:
    priority = model.DEFAULT_PRIORITY
    for event in events:
        if moment is not None and _at(event) > moment:
            break
        data = event.get("data") or {}
        if event["kind"] == "created":
            priority = data.get("priority", priority)
        elif event["kind"] == "priority_set":
            priority = data["priority"]
    return priority


Segment = tuple[datetime, datetime | None]  # running time; None: still running


def _reach(cal: Calendar, segments: Sequence[Segment], amount: timedelta) -> datetime | None:
    """The instant the running time in ``segments`` reaches ``amount``."""
    used = timedelta(0)
    for start, end in segments:
        if end is None:
            return cal.add(start, amount - used)
        length = cal.between(start, end)
        if used + length >= amount:
            return cal.add(start, amount - used)
        used += length
    return None


def _whole(minutes: timedelta) -> int:
    return math.floor(minutes / timedelta(minutes=1))


def _clock(cal: Calendar, segments: Sequence[Segment], target: int | None,
           done: datetime | None, now: datetime, pauses: Sequence[Segment] | None,
           ) -> Clock:
    running = bool(segments) and segments[-1][1] is None
    paused_minutes = None
    if pauses is not None:
        paused_minutes = _whole(sum((cal.between(s, e or now) for s, e in pauses),
                                    timedelta(0)))
    if target is None:
        return Clock(None, None, done, None, None, None, None, None, running)
    goal = timedelta(minutes=target)
    used = sum((cal.between(s, e or now) for s, e in segments), timedelta(0))
    breached = used > goal
    reached = _reach(cal, segments, goal)
    risk = _reach(cal, segments, goal * (1 - RISK_SHARE))
    if reached is not None and (running or breached):
        due = reached
    else:  # stopped in time: the deadline as it stood; paused: if resumed now
        due = cal.add(done or now, goal - used)
    return Clock(
        target_minutes=target, due=due, done=done, breached=breached,
        remaining_minutes=_whole(goal - used), paused_minutes=paused_minutes,
        breach_at=reached if (running or breached) else None,
        risk_at=risk if done is None else None, running=running)


def clocks(log: Sequence[Mapping[str, Any]], policy: Policy, now: datetime
           ) -> tuple[Clock, Clock]:
    """The reaction and the resolution clock of a case, at ``now``."""
    events = model.ordered(log)  # type: ignore[arg-type]
    arrival = _at(events[0])
    cal = policy.calendar

    reacted = next((_at(e) for e in events[1:] if _is_reaction(e)), None)
    reaction_target = policy.targets.get(_priority_at(events, reacted), {}).get("reaction")
    reaction = _clock(cal, [(arrival, reacted)], reaction_target, reacted, now, None)

    segments: list[Segment] = []
    pauses: list[Segment] = []
    status = "new"
    begun = policy.resolution_from != "start"
    since: datetime | None = arrival if begun else None  # start of the running stretch
    paused_since: datetime | None = None
    stopped_at: datetime | None = None
    for event in events[1:]:
        moment = _at(event)
        after = _status_after(event, status)
        if after == status:
            continue
        if not begun and after == "started":
            begun = True
        if since is not None and after not in ("new", "started"):
            segments.append((since, moment))
            since = None
        if paused_since is not None and after != "waiting":
            pauses.append((paused_since, moment))
            paused_since = None
        if begun and after in ("new", "started") and since is None:
            since = moment
        if after == "waiting" and paused_since is None:
            paused_since = moment
        if after in STOPPED and status not in STOPPED:
            stopped_at = moment
        status = after
    if since is not None:
        segments.append((since, None))
    if paused_since is not None:
        pauses.append((paused_since, None))
    done = stopped_at if status in STOPPED else None
    resolution_target = policy.targets.get(_priority_at(events, done), {}).get("resolution")
    resolution = _clock(cal, segments, resolution_target, done, now, pauses)
    return reaction, resolution


def report(case_id: str, level: str, priority: str, reaction: Clock, resolution: Clock,
           tz: tzinfo) -> dict[str, Any]:
    """`casectl sla ID --format json`, field for field."""
    return {"id": case_id, "level": level, "priority": priority,
            "reaction": reaction.to_dict(tz, paused=False),
            "resolution": resolution.to_dict(tz, paused=True)}


def summary(reaction: Clock, resolution: Clock) -> dict[str, datetime | None]:
    """What the query index keeps to answer list --breached, --at-risk and
    --sort due by comparing instants with now: the next due instant of a
    running clock, and the earliest breach and risk instants."""
    due = [c.due for c in (reaction, resolution) if c.running and c.due is not None]
    breach = [c.breach_at for c in (reaction, resolution) if c.breach_at is not None]
    risk = [c.risk_at for c in (reaction, resolution) if c.risk_at is not None]
    return {"due": min(due, default=None), "breach": min(breach, default=None),
            "risk": min(risk, default=None)}

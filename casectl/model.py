"""Cases and events: a case is its log, the header is replay(log).

Pure functions over plain dicts (the shape of the YAML file), no I/O, no
clock: everything time-dependent takes the time as an argument.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Iterable, Mapping, Sequence


class Priority(StrEnum):
    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"


class Status(StrEnum):
    NEW = "new"
    STARTED = "started"
    WAITING = "waiting"
    SOLVED = "solved"
    CLOSED = "closed"
    REJECTED = "rejected"


class CaseType(StrEnum):
    INCIDENT = "incident"
    REQUEST = "request"
    ORDER = "order"
    CHANGE = "change"


# The one source of these lists: the command line's choices, the query
# index and the JSON Schemas (a test checks the schemas agree) use them.
PRIORITIES = tuple(p.value for p in Priority)  # most urgent first
STATUSES = tuple(s.value for s in Status)
OPEN_STATUSES = ("new", "started", "waiting", "solved")
FINISHED_STATUSES = ("closed", "rejected")
TYPES = tuple(t.value for t in CaseType)
DEFAULT_PRIORITY = Priority.MEDIUM.value
DEFAULT_TYPE = CaseType.INCIDENT.value

# What a row of `casectl list` holds, and the columns its table shows.
LIST_FIELDS = ("id", "status", "priority", "type", "category", "team", "assignee", "subject",
               "reporter", "created", "updated", "sla", "due")
# `updated` shows as an age (3h, 2d); the subject comes last and takes the room left.
# `due` (the next SLA deadline of a running clock) shows as a time left (4h, -2h: overdue).
LIST_TABLE_COLUMNS = ("id", "status", "priority", "type", "team", "assignee", "updated", "due",
                      "subject")
SORT_FIELDS = ("priority", "created", "updated", "id", "status", "team", "assignee", "subject",
               "due")


@dataclass(frozen=True)
class Reporter:
    """Who reported a case; any part may be unknown."""

    name: str | None = None
    email: str | None = None
    phone: str | None = None
    org: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        return {"name": self.name, "email": self.email, "phone": self.phone, "org": self.org}

# Event kinds, and whether the reporter may see such an event.
EVENT_KINDS: dict[str, bool] = {
    "created": True,
    "assigned": False,
    "taken": False,
    "handed_over": True,  # a handover is noted where the reporter can see it [seed 004]
    "worklog": True,
    "note": False,
    "email": True,
    "priority_set": False,
    "status_changed": True,
    "solved": True,
    "closed": True,
    "rejected": True,
    "reopened": True,
}

# The header in the order it is written; every key is always present.
HEADER_KEYS = (
    "id", "subject", "description", "type", "category", "status", "priority",
    "team", "assignee", "reporter", "notify", "fields", "tasks", "solution",
    "rejection", "created", "updated", "started", "solved", "closed",
    "sla",
)

# Header keys added after 0.2, with the value replay gives a case whose log
# never set them. A file written before the key existed lacks it, and is
# read as holding that value, so every case ever written stays valid.
LATER_HEADER_KEYS: dict[str, Any] = {
    # The SLA level the case was registered under (new --sla, the
    # reporter's organisation's, or the desk default). Cases written before
    # have none and are read under the desk's default level.
    "sla": None,
}

Case = dict[str, Any]
Event = dict[str, Any]


class ReplayError(ValueError):
    """The log cannot be replayed; ``field`` names where, for reports."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def make_event(event_id: str, at: str, by: str, kind: str, data: Mapping[str, Any]) -> Event:
    return {"id": event_id, "at": at, "by": by, "kind": kind,
            "public": EVENT_KINDS[kind], "data": dict(data)}


def _instant(event: Event) -> datetime:
    try:
        return datetime.fromisoformat(event["at"])
    except (TypeError, ValueError):  # 2026-02-30 matches the schema's pattern, yet is no date
        raise ReplayError("log", f"event {event.get('id')}: {event.get('at')!r} is not a "
                          "valid time") from None


def ordered(log: Iterable[Event]) -> list[Event]:
    """Events once each, in the order they happened (ties broken by id), so
    that replay does not depend on the order two clones appended them."""
    unique: dict[str, Event] = {}
    for event in log:
        unique.setdefault(event["id"], event)
    return sorted(unique.values(), key=lambda e: (_instant(e), e["id"]))


def merge_logs(*logs: Sequence[Event]) -> list[Event]:
    """The union of several logs of one case, in replay order."""
    return ordered(event for log in logs for event in log)


def empty_header(case_id: str) -> Case:
    header: Case = {key: None for key in HEADER_KEYS}
    header.update(id=case_id, fields={}, tasks=[], notify=False)
    for key, empty in LATER_HEADER_KEYS.items():
        header[key] = copy.deepcopy(empty)
    return header


def replay(case_id: str, log: Sequence[Event]) -> Case:
    """Recompute the header from the log.

    Replay is lenient about the order of workflow steps (a merge may put a
    work log entry after a close); the rules are enforced when an action is
    taken, not here. It is strict about the one thing every case needs: a
    single ``created`` event that comes first.
    """
    events = ordered(log)
    if not events:
        raise ReplayError("log", "the log is empty; every case starts with a 'created' event")
    if events[0]["kind"] != "created":
        raise ReplayError("log", f"the first event is '{events[0]['kind']}', not 'created'")
    header = empty_header(case_id)
    for position, event in enumerate(events):
        if event["kind"] == "created" and position:
            raise ReplayError("log", f"more than one 'created' event ({event['id']})")
        _APPLY[event["kind"]](header, event["data"], event["at"], event["by"])
        header["updated"] = event["at"]
    return header


def with_header(case_id: str, log: list[Event]) -> Case:
    """A whole case document: header followed by the log."""
    case = replay(case_id, log)
    case["log"] = log
    return case


def header_value(case: Mapping[str, Any], key: str) -> Any:
    """A header field as stored, a later key missing from an older file
    read as its empty value."""
    return case[key] if key in case else LATER_HEADER_KEYS.get(key)


def header_of(case: Mapping[str, Any]) -> Case:
    return {key: header_value(case, key) for key in HEADER_KEYS}


def header_differences(case: Mapping[str, Any], replayed: Mapping[str, Any]) -> list[str]:
    """Header fields whose stored value disagrees with replay(log)."""
    return [key for key in HEADER_KEYS if header_value(case, key) != replayed.get(key)]


def _created(header: Case, data: Mapping[str, Any], at: str, by: str) -> None:
    header.update(
        subject=data["subject"],
        description=data.get("description"),
        type=data.get("type", DEFAULT_TYPE),
        category=data.get("category"),
        priority=data.get("priority", DEFAULT_PRIORITY),
        team=data.get("team"),
        assignee=data.get("assignee"),
        reporter=data.get("reporter"),
        notify=bool(data.get("notify", False)),
        fields=dict(data.get("fields") or {}),
        status="new",
        created=at,
        sla=data.get("sla"),
    )


def _assigned(header: Case, data: Mapping[str, Any], at: str, by: str) -> None:
    for key in ("team", "assignee"):
        if key in data:
            header[key] = data[key]


def _nothing(header: Case, data: Mapping[str, Any], at: str, by: str) -> None:
    """Entries that add to the record without changing the header."""


def _priority_set(header: Case, data: Mapping[str, Any], at: str, by: str) -> None:
    header["priority"] = data["priority"]


def _status_changed(header: Case, data: Mapping[str, Any], at: str, by: str) -> None:
    header["status"] = data["status"]
    if data["status"] == "started" and header["started"] is None:
        header["started"] = at


def _solved(header: Case, data: Mapping[str, Any], at: str, by: str) -> None:
    header.update(status="solved", solution=data["solution"], solved=at)


def _closed(header: Case, data: Mapping[str, Any], at: str, by: str) -> None:
    if data.get("solution"):
        header["solution"] = data["solution"]
    if header["solved"] is None:
        header["solved"] = at
    header.update(status="closed", closed=at)


def _rejected(header: Case, data: Mapping[str, Any], at: str, by: str) -> None:
    header.update(status="rejected", rejection=data["reason"], closed=at)


def _reopened(header: Case, data: Mapping[str, Any], at: str, by: str) -> None:
    header.update(status="started", solution=None, rejection=None, solved=None, closed=None)
    if header["started"] is None:
        header["started"] = at


_APPLY = {
    "created": _created,
    "assigned": _assigned,
    "taken": _assigned,
    "handed_over": _assigned,
    "worklog": _nothing,
    "note": _nothing,
    "email": _nothing,
    "priority_set": _priority_set,
    "status_changed": _status_changed,
    "solved": _solved,
    "closed": _closed,
    "rejected": _rejected,
    "reopened": _reopened,
}
assert set(_APPLY) == set(EVENT_KINDS)


def event_text(event: Mapping[str, Any]) -> str:
    """The human words an event carries, for search and timelines."""
    data = event.get("data") or {}
    parts = [str(data[key]) for key in ("subject", "description", "text", "note", "reason",
                                        "solution") if data.get(key)]
    return "\n".join(parts)


def _assignment(kind: str, data: Mapping[str, Any]) -> str:
    """Who has the case now, as a desk says it: a case without an agent is
    unassigned, in its team's queue, not "assigned to agent (none)"."""
    agent = data.get("assignee")
    team = data.get("team")
    if kind == "taken":
        return f"taken over by agent {agent}" + (f", team {team}" if team else "")
    if agent:
        return f"assigned to agent {agent}" + (f", team {team}" if team else "")
    if team:  # a move to another team without an agent leaves the case in its queue
        return f"to team {team}'s queue, unassigned"
    return "unassigned" + (", no team" if "team" in data else "")


def describe_event(event: Event) -> str:
    """One line about an event, for timelines."""
    data = event["data"]
    kind = event["kind"]
    if kind == "created":
        return f"created: {data['subject']}"
    if kind == "handed_over":
        return f"handed over to {data['to']}: {data['note']}"
    if kind in ("assigned", "taken"):
        note = f" ({data['note']})" if data.get("note") else ""
        return _assignment(kind, data) + note
    if kind == "priority_set":
        why = f" ({data['reason']})" if data.get("reason") else ""
        return f"priority {data.get('previous', '?')} -> {data['priority']}{why}"
    if kind == "status_changed":
        why = f" ({data['reason']})" if data.get("reason") else ""
        return f"status -> {data['status']}{why}"
    if kind == "email":
        return f"e-mail to {data['to']}: {data['text']}"
    if kind == "closed" and not data.get("solution"):
        return "closed: the reporter confirmed the solution"
    text = event_text(event)
    return f"{kind}: {text}" if text else kind

"""Cases and events: a case is its log, the header is replay(log).

Pure functions over plain dicts (the shape of the YAML file), no I/O, no
clock: everything time-dependent takes the time as an argument.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Callable, Iterable, Mapping, Sequence


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
    # A correction of the record (subject, reporter, fields, ...): internal,
    # as its old values may hold what the reporter should not see again; the
    # reporter sees the case as it is now, not how it was corrected.
    "edited": False,
    # Answers to a team's triage questions: the desk's working material; the
    # header's answers say per answer whether the reporter may see it.
    "triaged": False,
    # Desk rules from the seeds (issue 6). A task's visibility depends on
    # whom it went to (is_public); the kind's value here is its default.
    "task_added": False,
    "task_done": False,
    # A contact attempt is the desk's own bookkeeping (who tried to reach
    # the reporter, how, whether they answered): internal.
    "contact": False,
    # What the reporter said, recorded by an agent: their own words.
    "reply": True,
}

# A task's status, and what it can be given to (the schemas agree: tests/test_tasks.py).
TASK_STATUSES = ("open", "done")
TASK_TARGET_KINDS = ("agent", "team")

# Kinds whose visibility depends on their data, not only on the kind.
PUBLIC_BY_DATA = ("task_added", "task_done")


def task_is_public(data: Mapping[str, Any]) -> bool:
    """A task delegated to someone other than the case's owner is visible
    to the reporter [seed 000]; one the owner keeps is internal."""
    return data.get("to_kind") == "team" or data.get("to") != data.get("owner")


def is_public(kind: str, data: Mapping[str, Any]) -> bool:
    """Whether the reporter may see an event of ``kind`` carrying ``data``."""
    if kind in PUBLIC_BY_DATA:
        return task_is_public(data)
    return EVENT_KINDS[kind]


# The header keys the reporter may see (show --reporter-view). A list of
# what is shown, not of what is hidden: a key added later (SLA, triage
# answers, ...) stays internal until someone decides the reporter may see it.
# Priority, team and assignee are the desk's internal routing.
REPORTER_HEADER_KEYS = (
    "id", "subject", "description", "type", "category", "status", "reporter", "fields",
    "tasks", "answers", "solution", "rejection", "created", "updated", "started", "solved",
    "closed",
)
# Data keys of public events that still say something internal: a task's
# ``owner`` names the responsible agent.
INTERNAL_DATA_KEYS: dict[str, tuple[str, ...]] = {
    "task_added": ("owner",), "task_done": ("owner",),
}
# The created event says where the case went and how urgent the desk found
# it; the reporter sees what they reported. A list of what is shown, as
# later versions may record more there.
REPORTER_CREATED_KEYS = ("subject", "description", "type", "category", "reporter", "notify",
                         "fields")

# What `casectl edit` may change, as the keys of an edited event's changes:
# header keys, and "reporter.<part>" and "fields.<key>" for the parts of
# those two mappings, so one change never rewrites its neighbours.
EDITABLE_KEYS = ("subject", "description", "type", "category", "sla")
REPORTER_PARTS = ("name", "email", "phone", "org")
# A mark on the reporter, not a part of who they are: ``protected: true``
# (protected identity [seed 002], see protection.py), set by `new
# --protected` and by an edited event's ``reporter.protected``; absent when
# not marked, so files written before it stay as they were.
REPORTER_MARKS = ("protected",)

# The header in the order it is written; every key is always present.
HEADER_KEYS = (
    "id", "subject", "description", "type", "category", "status", "priority",
    "team", "assignee", "reporter", "notify", "fields", "tasks", "solution",
    "rejection", "created", "updated", "started", "solved", "closed", "answers", "urgent",
    "sla",
)

# Header keys added after 0.2, with the value replay gives a case whose log
# never set them. A file written before the key existed lacks it, and is
# read as holding that value, so every case ever written stays valid.
LATER_HEADER_KEYS: dict[str, Any] = {
    # key -> {question, answer, internal}: answers to triage questions [seed 004]
    "answers": {},
    # what an urgent case was registered with [seed 003], or None
    "urgent": None,
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
            "public": is_public(kind, data), "data": dict(data)}


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
        if event["kind"] in _APPLY_WITH_ID:
            _APPLY_WITH_ID[event["kind"]](header, event)
        else:
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
    if data.get("urgent"):
        header["urgent"] = dict(data["urgent"])


def _assigned(header: Case, data: Mapping[str, Any], at: str, by: str) -> None:
    for key in ("team", "assignee"):
        if key in data:
            header[key] = data[key]


def _nothing(header: Case, data: Mapping[str, Any], at: str, by: str) -> None:
    """Entries that add to the record without changing the header."""


def _priority_set(header: Case, data: Mapping[str, Any], at: str, by: str) -> None:
    header["priority"] = data["priority"]


def _triaged(header: Case, data: Mapping[str, Any], at: str, by: str) -> None:
    """A later answer to the same question replaces the earlier one."""
    answers = dict(header["answers"] or {})
    for key, entry in data["answers"].items():
        answers[key] = dict(entry)
    header["answers"] = answers


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


def _edited(header: Case, data: Mapping[str, Any], at: str, by: str) -> None:
    for key, change in data["changes"].items():
        apply_change(header, key, change["new"])


def apply_change(header: Case, key: str, value: Any) -> None:
    """Set one editable value (a key as in an edited event) in a header."""
    group, _, part = key.partition(".")
    if group == "reporter":
        reporter = dict(header.get("reporter") or dict.fromkeys(REPORTER_PARTS))
        if value is None and part not in REPORTER_PARTS:
            # A mark (``protected``) taken off is absent, as on a reporter
            # never marked: the header does not depend on whether it ever was.
            reporter.pop(part, None)
        else:
            reporter[part] = value
        # A reporter with no part known is no reporter, as a case registered without one.
        header["reporter"] = reporter if any(v is not None for v in reporter.values()) else None
    elif group == "fields" and part:
        fields = dict(header.get("fields") or {})
        if value is None:
            fields.pop(part, None)
        else:
            fields[part] = value
        header["fields"] = fields
    else:
        header[key] = value


def editable_value(header: Mapping[str, Any], key: str) -> Any:
    """The current value of one editable key (see apply_change)."""
    group, _, part = key.partition(".")
    if group == "reporter":
        return (header.get("reporter") or {}).get(part)
    if group == "fields" and part:
        return (header.get("fields") or {}).get(part)
    return header.get(key)


def _task_added(header: Case, event: Event) -> None:
    """A task's id is its place among the case's tasks (T1, T2, ...): short
    to type, and given by replay, so two clones that each add a task never
    issue the same id. ``task_done`` names the task by its event id, which
    stays right whatever order a merge puts the tasks in."""
    data = event["data"]
    header["tasks"] = [*header["tasks"], {
        "id": f"T{len(header['tasks']) + 1}", "event": event["id"], "subject": data["subject"],
        "need": data.get("need"), "to": data["to"], "to_kind": data["to_kind"],
        "public": task_is_public(data), "status": "open", "created": event["at"],
        "by": event["by"], "done": None, "done_by": None, "note": None}]


def _task_done(header: Case, event: Event) -> None:
    data = event["data"]
    tasks = header["tasks"]
    for position, task in enumerate(tasks):
        if task["event"] == data["task"]:
            break
    else:
        raise ReplayError("log", f"event {event['id']}: task_done names task {data['task']}, "
                          "which no task_added event before it added")
    if (data.get("to"), data.get("to_kind")) != (task["to"], task["to_kind"]):
        raise ReplayError("log", f"event {event['id']}: task_done says the task went to "
                          f"{data.get('to')}, but task {task['id']} went to {task['to']}")
    if task_is_public(data) != task["public"]:
        raise ReplayError("log", f"event {event['id']}: task_done is "
                          f"{'visible' if task_is_public(data) else 'internal'} but task "
                          f"{task['id']} is not; its owner must be the task's")
    done = {**task, "status": "done", "done": event["at"], "done_by": event["by"],
            "note": data.get("note")}
    header["tasks"] = [*tasks[:position], done, *tasks[position + 1:]]


# Kinds whose replay needs the whole event (its id and time), not just its data.
_APPLY_WITH_ID: dict[str, Callable[[Case, Event], None]] = {
    "task_added": _task_added, "task_done": _task_done}

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
    "edited": _edited,
    "triaged": _triaged,
    "contact": _nothing,
    "reply": _nothing,
}
assert set(_APPLY) | set(_APPLY_WITH_ID) == set(EVENT_KINDS)


def event_text(event: Mapping[str, Any]) -> str:
    """The human words an event carries, for search and timelines."""
    data = event.get("data") or {}
    if event.get("kind") == "edited":
        # Old values too: a caller may still name the case by its former subject.
        changes = [f"{key}: {_shown(change.get('old'))} -> {_shown(change.get('new'))}"
                   for key, change in (data.get("changes") or {}).items()]
        return "\n".join(changes + ([str(data["reason"])] if data.get("reason") else []))
    parts = [str(data[key]) for key in ("subject", "description", "need", "text", "note",
                                        "reason", "solution") if data.get(key)]
    if event.get("kind") == "triaged":
        parts += [f"{key}: {entry['answer']}" for key, entry in data["answers"].items()]
    return "\n".join(parts)


MESSAGE_ID_FIELD = "message-id"  # the created event's field: the Message-ID of the mail that opened it


def message_ids(case: Mapping[str, Any]) -> list[str]:
    """The Message-IDs a case recorded, oldest first, each once: of the mail
    that opened it (the created event's ``fields["message-id"]``) and of
    every message that joined it or that it sent (any event's
    ``message_id``). Read from every event kind, so kinds that come to
    carry a Message-ID count without a change here; anything not text is
    passed over (a hand edit). In order, as a mail's References lists them."""
    found: dict[str, None] = {}
    for event in case.get("log") or ():
        data = event.get("data") if isinstance(event, Mapping) else None
        if not isinstance(data, Mapping):
            continue
        fields = data.get("fields") if event.get("kind") == "created" else None
        for value in ((fields or {}).get(MESSAGE_ID_FIELD) if isinstance(fields, Mapping)
                      else None, data.get("message_id")):
            if isinstance(value, str) and value:
                found[value] = None
    return list(found)


def _shown(value: Any, limit: int = 60) -> str:
    """A value of an edited event on one line: quoted, long text cut."""
    if value is None:
        return "(none)"
    text = " ".join(str(value).split())
    return repr(text if len(text) <= limit else text[:limit - 3] + "...")


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
        why = f" (priority {data['priority_reason']})" if data.get("priority_reason") else ""
        return f"created: {data['subject']}{why}"
    if kind == "handed_over":
        return f"handed over to {data['to']}: {data['note']}"
    if kind in ("assigned", "taken"):
        note = f" ({data['note']})" if data.get("note") else ""
        return _assignment(kind, data) + note
    if kind == "triaged":
        answered = ", ".join(f"{key}={entry['answer']}" + (" (internal)" if entry["internal"]
                                                           else "")
                             for key, entry in data["answers"].items())
        whose = f" for team {data['team']}" if data.get("team") else ""
        return f"triage answers{whose}: {answered}"
    if kind == "priority_set":
        why = f" ({data['reason']})" if data.get("reason") else ""
        return f"priority {data.get('previous', '?')} -> {data['priority']}{why}"
    if kind == "status_changed":
        why = f" ({data['reason']})" if data.get("reason") else ""
        return f"status -> {data['status']}{why}"
    if kind == "email":
        return f"e-mail to {data['to']}: {data['text']}"
    if kind == "edited":
        changes = "; ".join(f"{key} {_shown(change.get('old'), 40)} -> "
                            f"{_shown(change.get('new'), 40)}"
                            for key, change in data["changes"].items())
        why = f" ({data['reason']})" if data.get("reason") else ""
        return f"edited: {changes}{why}"
    if kind == "task_added":
        need = f" (needs: {data['need']})" if data.get("need") else ""
        return f"task for {data['to_kind']} {data['to']}: {data['subject']}{need}"
    if kind == "task_done":
        note = f": {data['note']}" if data.get("note") else ""
        return f"task for {data['to_kind']} {data['to']} done{note}"
    if kind == "contact":
        how = "phone" if data["via"] == "phone" else "e-mail"
        outcome = "reached the reporter" if data["reached"] else "no answer"
        note = f" ({data['note']})" if data.get("note") else ""
        return f"contact attempt by {how}: {outcome}{note}"
    if kind == "reply":
        return f"the reporter said: {data['text']}"
    if kind == "closed" and data.get("unreachable"):
        return (f"closed: the reporter could not be reached ({data['attempts']} contact "
                "attempts)")
    if kind == "closed" and not data.get("solution"):
        return "closed: the reporter confirmed the solution"
    text = event_text(event)
    return f"{kind}: {text}" if text else kind


def last_reply(log: Iterable[Event]) -> int | None:
    """The instant (milliseconds since 1970 UTC) of the reporter's newest
    reply, as the query index keeps it; None when they never replied."""
    times = [_instant(event) for event in log if event["kind"] == "reply"]
    return round(max(times).timestamp() * 1000) if times else None


def _is_internal(item: Any) -> bool:
    """An entry marked internal: ``public: false`` or ``internal: true``."""
    return isinstance(item, Mapping) and (item.get("public") is False
                                           or item.get("internal") is True)


def _without_internal(value: Any) -> Any:
    """A header value with the entries marked internal left out, at any
    depth: tasks kept by the owner, triage answers marked internal."""
    if isinstance(value, Mapping):
        return {key: _without_internal(item) for key, item in value.items()
                if not _is_internal(item) and key not in ("public", "internal")}
    if isinstance(value, list):
        return [_without_internal(item) for item in value if not _is_internal(item)]
    return value


def reporter_view(case: Mapping[str, Any]) -> Case:
    """What the reporter may see of a case: the header keys they may see,
    without entries marked internal, and the events marked public, without
    the data keys that name the desk's internals. ``updated`` is the time of
    the last thing they can see, so it does not give away internal work."""
    log = [event for event in case.get("log", []) if event.get("public") is True]
    view: Case = {key: _without_internal(header_value(case, key))
                  for key in REPORTER_HEADER_KEYS if key in case or key in HEADER_KEYS}
    if log:
        view["updated"] = max(log, key=_instant)["at"]
    # What an edit corrected shows as corrected in the created event too: a
    # case registered under the wrong person and then given to the right
    # one must not show them the first one's name, address or fields.
    corrected = {key.partition(".")[0] for event in case.get("log", [])
                 if event.get("kind") == "edited"
                 for key in (event.get("data") or {}).get("changes", {})}
    current = {key: header_value(case, key) for key in corrected}
    view["log"] = [{**{key: value for key, value in event.items()
                       if key not in ("public", "data")}, "data": _reporter_data(event, current)}
                   for event in log]
    return view


def _reporter_data(event: Event, current: Mapping[str, Any]) -> dict[str, Any]:
    data = event["data"]
    if event["kind"] == "created":
        return {key: _without_internal(current.get(key, data[key]))
                for key in REPORTER_CREATED_KEYS if key in data}
    return {key: value for key, value in data.items()
            if key not in INTERNAL_DATA_KEYS.get(event["kind"], ())}

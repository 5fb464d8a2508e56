"""The rules of the trade: which action is allowed on which case.

Each function looks at a case header and the request, and either returns
the events to append as ``(kind, data)`` pairs or raises RuleViolation
naming the rule and what would satisfy it. Pure: no I/O, no clock.
"""

from __future__ import annotations

import re
from typing import Any, Mapping, Sequence

from .errors import RuleViolation
from .model import FINISHED_STATUSES, PRIORITIES

Step = tuple[str, dict[str, Any]]

# action -> (statuses it may start from, status it leads to). The one
# transition table: every status change goes through it.
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "start": (frozenset({"new", "waiting"}), "started"),
    "wait": (frozenset({"new", "started"}), "waiting"),
    "solve": (frozenset({"new", "started", "waiting"}), "solved"),
    "close": (frozenset({"new", "started", "waiting", "solved"}), "closed"),
    "reject": (frozenset({"new", "started", "waiting"}), "rejected"),
    "reopen": (frozenset({"solved", "closed", "rejected"}), "started"),
}

# What a user types to get out of a status, for the hints.
_WAY_OUT = {
    "closed": "reopen it first: casectl reopen {id} --reason TEXT",
    "rejected": "reopen it first: casectl reopen {id} --reason TEXT",
    "solved": "reopen it (casectl reopen {id} --reason TEXT) or close it "
              "(casectl close {id} --confirmed)",
    "started": "it is being worked on already",
    "new": "start it first: casectl start {id}",
    "waiting": "start it again when the reporter answers: casectl start {id}",
}


def transition(case: Mapping[str, Any], action: str) -> str:
    """The status ``action`` leads to from the case's status, or a refusal."""
    allowed_from, target = TRANSITIONS[action]
    status = case["status"]
    if status not in allowed_from:
        allowed = ", ".join(sorted(allowed_from))
        raise RuleViolation(
            f"transition:{action}",
            f"case {case['id']} is {status}; '{action}' is allowed only from: {allowed}",
            _WAY_OUT[status].format(id=case["id"]))
    return target


def require_not_finished(case: Mapping[str, Any], action: str) -> None:
    if case["status"] in FINISHED_STATUSES:
        raise RuleViolation(
            "finished-case-is-frozen",
            f"case {case['id']} is {case['status']}; '{action}' would change a finished case",
            _WAY_OUT[case["status"]].format(id=case["id"]))


def require_text(rule: str, text: str | None, what: str, hint: str) -> str:
    if text is None or not text.strip():
        raise RuleViolation(rule, f"{what} is required and must not be empty", hint)
    return text


def create(data: dict[str, Any], start: bool) -> list[Step]:
    """The created event, and a start when the agent starts work at once."""
    require_text("subject-required", data.get("subject"), "a subject",
                 "give one with --subject TEXT")
    if data.get("priority") == "critical":
        require_contact_phone(data.get("reporter"))
    steps: list[Step] = [("created", data)]
    if start:
        steps.append(("status_changed", {"status": "started"}))
    return steps


def require_handover_for_team_move(case: Mapping[str, Any], team: str | None) -> None:
    """Critical and high cases change team only by a hand-carried handover."""
    if team is not None and team != case["team"] and case["priority"] in ("critical", "high"):
        raise RuleViolation(
            "handover-for-critical-and-high",
            f"case {case['id']} is {case['priority']}; moving it to another team must be a "
            "hand-carried handover",
            f"casectl handover {case['id']} --to {team} --note \"handed to <person> because ...\"")


def require_contact_phone(reporter: Mapping[str, Any] | None) -> None:
    """An urgent (critical) case is phoned in and followed up by phone: it
    needs a contact person with a mobile number [seed 003]. Checked when a
    case is registered, where --phone can supply it; raising a case to
    critical later is not blocked, as no command can add the phone then."""
    if not (reporter or {}).get("phone"):
        raise RuleViolation("critical-needs-contact-phone",
                            "a critical case needs a contact person with a mobile number",
                            "give them with --reporter \"Name <email>\" --phone NUMBER")


def assign(case: Mapping[str, Any], assignee: str | None, team: str | None,
           note: str | None) -> list[Step]:
    require_not_finished(case, "assign")
    require_handover_for_team_move(case, team)
    if team is not None and assignee is None and team == case["team"]:
        # Naming the case's own team changes nothing about where it is;
        # taking the agent off it as a side effect would surprise.
        raise RuleViolation("assignment-changes-something",
                            f"case {case['id']} is in team {team} already",
                            "name another team with --team, or an agent with --to")
    data: dict[str, Any] = {}
    if team is not None:
        data["team"] = team
        if assignee is None and case["assignee"] is not None:
            data["assignee"] = None  # the team's queue takes it
    if assignee is not None:
        data["assignee"] = assignee
    if all(case[key] == value for key, value in data.items()):
        raise RuleViolation("assignment-changes-something",
                            f"case {case['id']} is already assigned that way",
                            "name another agent with --to or another team with --team")
    if note:
        data["note"] = note
    return [("assigned", data)]


def take(case: Mapping[str, Any], agent: str, team: str | None, note: str | None) -> list[Step]:
    require_not_finished(case, "take")
    require_handover_for_team_move(case, team)
    if case["assignee"] == agent:
        raise RuleViolation("take-changes-owner", f"you ({agent}) are already responsible for "
                            f"case {case['id']}", "nothing to do")
    data: dict[str, Any] = {"assignee": agent, "previous": case["assignee"]}
    if team is not None and team != case["team"]:
        data["team"] = team
    if note:
        data["note"] = note
    return [("taken", data)]


def handover(case: Mapping[str, Any], *, agent: str | None, team: str | None, note: str | None,
             receivers: Sequence[tuple[str, str]] = (), agent_team: str | None = None
             ) -> list[Step]:
    """Hand-carried transfer to an agent or a team.

    An agent handover moves the case to ``agent_team`` (the agent's own team)
    as well when it is given. ``receivers`` are the (id, name) of the agents of the receiving team; when
    there are any, the note must name the one who received the case, so the
    record says who it went to, not just where.
    """
    require_not_finished(case, "handover")
    target = agent or team
    note = require_text("handover-needs-note", note, "a handover note",
                        f"say who received it and why: casectl handover {case['id']} "
                        f"--to {target} --note \"handed to <person>: <why>\"")
    if team is not None and receivers:
        if not any(_names(note, ident) or _names(note, name) for ident, name in receivers):
            names = ", ".join(f"{name} ({ident})" for ident, name in receivers)
            raise RuleViolation(
                "handover-names-receiver",
                f"the note does not name who in team {team} received case {case['id']}",
                f"name the person in --note, one of: {names}")
    data: dict[str, Any] = {"to": target, "note": note}
    if team is not None:
        data.update(team=team, assignee=None)
    else:
        data["assignee"] = agent
        if agent_team is not None and agent_team != case["team"]:
            data["team"] = agent_team
    if team is not None and team == case["team"] and case["assignee"] is None:
        raise RuleViolation("assignment-changes-something",
                            f"case {case['id']} is already with team {team}",
                            "hand it to another team or a named agent")
    if agent is not None and agent == case["assignee"]:
        raise RuleViolation("assignment-changes-something",
                            f"case {case['id']} is already with {agent}",
                            "hand it to another agent or a team")
    return [("handed_over", data)]


def _names(text: str, who: str) -> bool:
    """Whether ``text`` mentions ``who`` as a whole word ("per" is not in "operasjon")."""
    return re.search(rf"(?<!\w){re.escape(who)}(?!\w)", text, re.IGNORECASE) is not None


def log_entry(case: Mapping[str, Any], text: str, *, internal: bool, email: bool,
              from_reporter: bool = False) -> list[Step]:
    require_not_finished(case, "log")
    require_text("log-needs-text", text, "the log text", "give the text as an argument, or - "
                 "to read it from standard input")
    if from_reporter:  # what the reporter said, typed in by the agent who heard it
        return [("reply", {"text": text, "from": "reporter"})]
    if email:
        reporter = case.get("reporter") or {}
        address = reporter.get("email")
        if not address:
            raise RuleViolation("email-needs-reporter-address",
                                f"case {case['id']} has no reporter e-mail address",
                                "log it as a work log entry instead (drop --email)")
        return [("email", {"text": text, "to": address})]
    return [("note" if internal else "worklog", {"text": text})]


def set_priority(case: Mapping[str, Any], level: str, reason: str | None) -> list[Step]:
    require_not_finished(case, "priority")
    if level not in PRIORITIES:  # the command line checks too; the domain must not trust it
        raise RuleViolation("known-priority", f"unknown priority {level!r}",
                            "use one of: " + ", ".join(PRIORITIES))
    if case["priority"] == level:
        raise RuleViolation("priority-changes", f"case {case['id']} is {level} already",
                            "give another level")
    data: dict[str, Any] = {"priority": level, "previous": case["priority"]}
    if reason:
        data["reason"] = reason
    return [("priority_set", data)]


def change_status(case: Mapping[str, Any], action: str, reason: str | None) -> list[Step]:
    """start or wait."""
    data: dict[str, Any] = {"status": transition(case, action)}
    if reason:
        data["reason"] = reason
    return [("status_changed", data)]


def require_tasks_done(case: Mapping[str, Any], action: str) -> None:
    """A case is solved or closed once the work delegated in it is done:
    a task left open would stay in its assignee's list with no way to
    finish it on a closed case [seed 000: the task has its own status]."""
    pending = [task for task in case.get("tasks") or [] if task.get("status") == "open"]
    if pending:
        listed = ", ".join(f"{task['id']} (to {task['to']}: {task['subject']})"
                           for task in pending)
        raise RuleViolation(
            "tasks-done-first", f"case {case['id']} has {len(pending)} open task"
            f"{'s' if len(pending) > 1 else ''}: {listed}; '{action}' would leave "
            f"{'them' if len(pending) > 1 else 'it'} behind",
            f"have them finished first: casectl task done {case['id']} "
            f"{pending[0]['id']} --note TEXT")


def close(case: Mapping[str, Any], solution: str | None, confirmed: bool) -> list[Step]:
    """Without confirmation the case is solved, waiting for the reporter to
    confirm; with it, closed. A solved case can be closed by confirmation
    alone: its solution stands."""
    transition(case, "close" if confirmed else "solve")
    require_tasks_done(case, "close" if confirmed else "solve")
    if solution is None and case["status"] == "solved" and confirmed:
        return [("closed", {"confirmed": True})]
    require_text("close-needs-solution", solution, "a solution description",
                 f"describe what fixed it: casectl close {case['id']} --solution TEXT")
    if confirmed:
        return [("closed", {"solution": solution, "confirmed": True})]
    return [("solved", {"solution": solution})]


def reject(case: Mapping[str, Any], reason: str | None) -> list[Step]:
    transition(case, "reject")
    reason = require_text("reject-needs-reason", reason, "a reason",
                          f"casectl reject {case['id']} --reason TEXT (agreed with the "
                          "coordinator)")
    return [("rejected", {"reason": reason})]


def reopen(case: Mapping[str, Any], reason: str | None) -> list[Step]:
    transition(case, "reopen")
    reason = require_text("reopen-needs-reason", reason, "a reason",
                          f"casectl reopen {case['id']} --reason TEXT")
    return [("reopened", {"reason": reason})]

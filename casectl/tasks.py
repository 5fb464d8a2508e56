"""Tasks: part of a case's work delegated to an agent or a team [seed 000].

The case's owner stays responsible; a task has its own subject, need,
assignee and status. Pure rules in the style of workflow.py: each returns
the events to append as ``(kind, data)`` or raises RuleViolation.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from .errors import NotFound, RuleViolation
from .workflow import Step, require_not_finished, require_text

_TASK_ID = re.compile(r"^[Tt]?([1-9][0-9]*)$")


def add(case: Mapping[str, Any], *, to: str, to_kind: str, subject: str | None,
        need: str | None) -> list[Step]:
    require_not_finished(case, "task add")
    subject = require_text("task-needs-subject", subject, "a task subject",
                           f"casectl task add {case['id']} --to AGENT|TEAM --subject TEXT")
    data: dict[str, Any] = {"subject": subject, "to": to, "to_kind": to_kind,
                            # who was responsible when the task was given decides
                            # whether the reporter sees it (model.task_is_public)
                            "owner": case["assignee"]}
    if need:
        data["need"] = need
    return [("task_added", data)]


def find(case: Mapping[str, Any], typed: str) -> Mapping[str, Any]:
    """The task a user named: T2, t2 or 2."""
    match = _TASK_ID.match(typed.strip())
    tasks = case["tasks"]
    known = ", ".join(task["id"] for task in tasks) or "none yet"
    if match is None:
        raise NotFound(f"{typed!r} is not a task id", f"task ids look like T1; case "
                       f"{case['id']} has: {known}")
    wanted = f"T{match[1]}"
    for task in tasks:
        if task["id"] == wanted:
            return task
    raise NotFound(f"case {case['id']} has no task {wanted}",
                   f"its tasks: {known} (casectl show {case['id']})")


def done(case: Mapping[str, Any], typed: str, note: str | None) -> list[Step]:
    task = find(case, typed)
    require_not_finished(case, "task done")
    if task["status"] == "done":
        raise RuleViolation("task-done-once",
                            f"task {task['id']} of case {case['id']} was done already "
                            f"({task['done']} by {task['done_by']})",
                            "add a new task if there is more to do: casectl task add "
                            f"{case['id']} --to {task['to']} --subject TEXT")
    owner = _owner_of(case, task)
    data: dict[str, Any] = {"task": task["event"], "to": task["to"], "to_kind": task["to_kind"],
                            "owner": owner}
    if note:
        data["note"] = note
    return [("task_done", data)]


def _owner_of(case: Mapping[str, Any], task: Mapping[str, Any]) -> str | None:
    """The owner recorded when the task was added (its visibility follows it)."""
    for event in case["log"]:
        if event["id"] == task["event"]:
            return event["data"].get("owner")
    return None  # pragma: no cover - replay found the task by that event

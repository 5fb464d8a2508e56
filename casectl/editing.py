"""Correcting a case's record: the rule behind `casectl edit`.

An edit never rewrites history: it appends one ``edited`` event holding the
old and the new value of each field it changes, and replay applies it. Keys
are those of model.EDITABLE_KEYS, ``reporter.<part>`` and ``fields.<key>``.
Pure: no I/O, no clock.
"""

from __future__ import annotations

from typing import Any, Mapping

from .errors import RuleViolation
from .model import editable_value
from .workflow import Step


def edit(case: Mapping[str, Any], wanted: Mapping[str, Any], reason: str | None,
         *, must_exist: tuple[str, ...] = ()) -> list[Step]:
    """The edited event that gives the case the ``wanted`` values (a value of
    None clears the field), or a refusal when it would change nothing.

    Finished (closed, rejected) cases may be edited too: an edit corrects the
    record (a misfiled category, a misspelt name) and does not reopen work,
    so refusing it would force a reopen that rewrites the case's status and
    times just to fix a typo. ``must_exist`` names ``fields.<key>`` keys the
    user asked to remove: removing a field the case does not have is
    refused rather than silently ignored (most likely a misspelt key)."""
    fields = case.get("fields") or {}
    missing = [key for key in must_exist if key.partition(".")[2] not in fields]
    if missing:
        names = ", ".join(key.partition(".")[2] for key in missing)
        have = ", ".join(sorted(fields)) or "none"
        raise RuleViolation("unset-field-exists",
                            f"case {case['id']} has no field {names}",
                            f"its fields: {have}; name one of them with --unset-field KEY")
    changes = {key: {"old": editable_value(case, key), "new": value}
               for key, value in wanted.items() if editable_value(case, key) != value}
    if not changes:
        raise RuleViolation("edit-changes-something",
                            f"case {case['id']} already has those values; nothing to change",
                            "give a value that differs from the case's (casectl show "
                            f"{case['id']})")
    data: dict[str, Any] = {"changes": changes}
    if reason:
        data["reason"] = reason
    return [("edited", data)]

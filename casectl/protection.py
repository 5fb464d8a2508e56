"""Protected identity [seed 002: skyddad identitet, sperret adresse]: a
case whose reporter is marked protected (``reporter.protected: true``) is
shown to those who may not see it (roles.may_see_protected) with the
person's details and every free text replaced by one fixed marker.

Pure: a case or a row in, a masked copy out. What is kept is listed, not
what is hidden: a data key added to an event later is masked until someone
decides it says nothing about the person.
"""

from __future__ import annotations

import re
from typing import Any, Mapping, Sequence

from .model import Case, Event

# What a masked value reads, in every format: visible, fixed, and no
# length or shape of what it hides.
MARK = "[protected]"

# Event data keys that route and classify, and say nothing about the
# person: kept. Every other string (subject, description, texts, notes,
# reasons, the reporter, fields, answers, an urgent case's contact) is masked.
KEPT_DATA_KEYS = frozenset({
    "type", "category", "priority", "previous", "team", "assignee", "notify", "impact",
    "urgency", "sla", "config", "status", "confirmed", "unreachable", "attempts", "to",
    "to_kind", "owner", "task", "via", "reached", "internal",
})
# ... except where the same key names the person: an e-mail's recipient.
MASKED_BY_KIND: dict[str, frozenset[str]] = {"email": frozenset({"to"})}
# Header keys of free text about the case or the person.
MASKED_HEADER_KEYS = ("subject", "description", "solution", "rejection", "reporter", "fields",
                      "answers", "urgent")
# A task's own free text.
MASKED_TASK_KEYS = ("subject", "need", "note")


def is_protected(case: Mapping[str, Any] | None) -> bool:
    """Whether the case's reporter is marked protected."""
    reporter = case.get("reporter") if isinstance(case, Mapping) else None
    return isinstance(reporter, Mapping) and reporter.get("protected") is True


def registrant(case: Mapping[str, Any]) -> str | None:
    """Who registered the case: the actor of its created event."""
    for event in case.get("log") or ():
        if isinstance(event, Mapping) and event.get("kind") == "created":
            by = event.get("by")
            return by if isinstance(by, str) else None
    return None


def masked_value(value: Any) -> Any:
    """Every string in ``value`` replaced by MARK, at any depth; mapping
    keys (field names, question keys) and other values (flags, counts,
    ``protected: true`` itself) kept."""
    if isinstance(value, str):
        return MARK
    if isinstance(value, Mapping):
        return {key: masked_value(item) for key, item in value.items()}
    if isinstance(value, list):
        return [masked_value(item) for item in value]
    return value


def masked_event(event: Mapping[str, Any]) -> Event:
    kind = event.get("kind")
    hidden = MASKED_BY_KIND.get(str(kind), frozenset())
    data = event.get("data") or {}
    if not isinstance(data, Mapping):  # a hand-edited file: whatever it holds is hidden
        return {**event, "data": masked_value(data)}
    return {**event, "data": {key: value if key in KEPT_DATA_KEYS and key not in hidden
                              else masked_value(value) for key, value in data.items()}}


def masked_case(case: Mapping[str, Any]) -> Case:
    """The case as one who may not see the person sees it: the marker for
    the person and the free text, the routing, statuses and times as they
    are, and ``protected: true, masked: true`` on top so a program knows."""
    shown: Case = dict(case)
    for key in MASKED_HEADER_KEYS:
        if shown.get(key) is not None:
            shown[key] = masked_value(shown[key])
    if isinstance(shown.get("tasks"), list):
        shown["tasks"] = [{key: masked_value(value) if key in MASKED_TASK_KEYS else value
                           for key, value in task.items()} if isinstance(task, Mapping) else task
                          for task in shown["tasks"]]
    if isinstance(shown.get("log"), list):
        shown["log"] = [masked_event(event) if isinstance(event, Mapping) else event
                        for event in shown["log"]]
    shown["protected"] = True
    shown["masked"] = True
    return shown


def hidden_texts(case: Mapping[str, Any]) -> list[str]:
    """Every string of ``case`` that masking hides, longest first: what a
    message about the case (a refusal, a problem validate finds) must not
    quote to one who may not see it (``scrubbed``)."""
    found: set[str] = set()

    def walk(original: Any, masked: Any) -> None:
        if isinstance(original, str):
            if masked == MARK and original != MARK and len(original.strip()) > 1:
                found.add(original.strip())
        elif isinstance(original, Mapping) and isinstance(masked, Mapping):
            for key, value in original.items():
                walk(value, masked.get(key))
        elif isinstance(original, list) and isinstance(masked, list):
            for value, shown in zip(original, masked):
                walk(value, shown)
    walk(case, masked_case(case))
    return sorted(found, key=len, reverse=True)


def scrubbed(text: str, hidden: Sequence[str]) -> str:
    """``text`` with each of ``hidden`` (hidden_texts) that stands as a
    whole word or more replaced by MARK: a rule's refusal or validate's
    problem keeps its ids, keys and counts and loses the person's words."""
    for secret in hidden:
        if secret in text:
            text = re.sub(rf"(?<!\w){re.escape(secret)}(?!\w)", MARK, text)
    return text


def ever_marked(document: Mapping[str, Any]) -> bool:
    """Whether a case file's reporter is, or ever was, marked protected, by
    its header or any event of its log: validate errs on the person's side,
    as a hand edit may have dropped the header's mark."""
    state = is_protected(document)
    for event in document.get("log") or ():
        data = event.get("data") if isinstance(event, Mapping) else None
        if not isinstance(data, Mapping):
            continue
        if event.get("kind") == "created" and isinstance(data.get("reporter"), Mapping):
            state = state or data["reporter"].get("protected") is True
        changes = data.get("changes") if event.get("kind") == "edited" else None
        change = changes.get("reporter.protected") if isinstance(changes, Mapping) else None
        if isinstance(change, Mapping):
            state = state or change.get("new") is True
    return state


def reporter_emails(doc: Mapping[str, Any]) -> list[str]:
    """Every address the case's reporter ever had (created, then each edit's
    old and new), folded: `report activity --reporter` finds a person's
    cases by it, those that were theirs once too."""
    found: set[str] = set()
    for event in doc.get("log") or []:
        data = event.get("data") if isinstance(event, Mapping) else None
        if not isinstance(data, Mapping):
            continue
        if event.get("kind") == "created" and isinstance(data.get("reporter"), Mapping):
            found.add(data["reporter"].get("email"))
        change = (data.get("changes") or {}).get("reporter.email") \
            if event.get("kind") == "edited" and isinstance(data.get("changes"), Mapping) else None
        if isinstance(change, Mapping):
            found.update((change.get("old"), change.get("new")))
    return sorted(address.casefold() for address in found if isinstance(address, str))

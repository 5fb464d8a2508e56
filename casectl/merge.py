"""Merging two clones' versions of one case file: the union of their events
by id, replayed. Pure: documents in, document out.

Events are only ever appended, so a clean merge needs no judgement: every
event of either side, once, in replay order, and the header recomputed.
What is refused is what the append-only rule forbids: a side that changed
or removed an event the common ancestor had (a hand edit of history), two
different events under one id, or two files that are not the same case.
"""

from __future__ import annotations

from typing import Any, Mapping

from . import model
from .model import Case


class MergeConflict(ValueError):
    """The two versions cannot be merged by rule; ``message`` says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class IdCollision(MergeConflict):
    """Both sides registered a different case under one id (two clones in
    the same second with the same random part): never one file."""


def _created(log: list[Any]) -> Any:
    """The log's created event (None when there is none)."""
    return next((e for e in log if isinstance(e, dict) and e.get("kind") == "created"), None)


def merge_case(base: Mapping[str, Any] | None, ours: Mapping[str, Any],
               theirs: Mapping[str, Any]) -> Case:
    """The merged case document, or MergeConflict. ``base`` is the common
    ancestor's version (None when both sides added the file)."""
    for side, doc in (("ours", ours), ("theirs", theirs)):
        if not isinstance(doc.get("log"), list) or not isinstance(doc.get("id"), str):
            raise MergeConflict(f"{side} is not a case file (no id or log)")
    if ours["id"] != theirs["id"]:
        raise MergeConflict(f"two different cases in one file: {ours['id']} and "
                            f"{theirs['id']}")
    mine, other = _created(ours["log"]), _created(theirs["log"])
    # Different created events (by id): two cases, not two histories of one.
    if isinstance(mine, dict) and isinstance(other, dict) and mine.get("id") != other.get("id"):
        raise IdCollision(f"two different cases were given the same id {ours['id']} "
                          f"(ours: {ours.get('subject')!r}, theirs: {theirs.get('subject')!r})")
    ours_by_id = _by_id(ours["log"], "ours")
    theirs_by_id = _by_id(theirs["log"], "theirs")
    if base is not None and isinstance(base.get("log"), list):
        for event in base["log"]:
            if not isinstance(event, dict) or "id" not in event:
                continue
            for side, events in (("ours", ours_by_id), ("theirs", theirs_by_id)):
                if event["id"] not in events:
                    raise MergeConflict(f"{side} removed event {event['id']} "
                                        f"({event.get('kind')}), which both started from; "
                                        "events are never removed")
                if events[event["id"]] != event:
                    raise MergeConflict(f"{side} changed event {event['id']} "
                                        f"({event.get('kind')}), which both started from; "
                                        "events are never edited")
    for event_id, event in ours_by_id.items():
        other = theirs_by_id.get(event_id)
        if other is not None and other != event:
            raise MergeConflict(f"event id {event_id} names two different events "
                                f"({event.get('kind')} and {other.get('kind')})")
    try:
        return model.with_header(ours["id"], model.merge_logs(ours["log"], theirs["log"]))
    except (model.ReplayError, KeyError, TypeError) as exc:
        raise MergeConflict(f"the merged log does not replay: {exc}") from None


def _by_id(log: list[Any], side: str) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for event in log:
        if not isinstance(event, dict) or not isinstance(event.get("id"), str):
            raise MergeConflict(f"{side} has an event without an id")
        found.setdefault(event["id"], event)
    return found


# ---------------------------------------------------------------- casectl.yaml

class _Missing:
    """A key one version does not have (unlike None, a value it holds)."""

    def __repr__(self) -> str:
        return "(absent)"


MISSING: Any = _Missing()


def merge_config(base: Mapping[str, Any] | None, ours: Mapping[str, Any],
                 theirs: Mapping[str, Any]) -> dict[str, Any]:
    """The merged desk configuration (casectl.yaml), or MergeConflict naming
    every key path the two sides changed differently.

    Each key is merged three-way: changed on one side only, that side's
    value; changed the same way on both, that value; changed differently,
    the mappings under it are merged key by key, so two clones that each
    added an agent, a team, an organisation or a setting get both. A list
    of distinct plain values (categories, an agent's teams or roles) is
    merged as a set: what either side added is added, what either side
    removed is removed. Anything else changed differently on both sides (a
    team's name set to two different names, an agent removed on one side
    and changed on the other) is a contradiction only a person can settle.
    Two agents with one e-mail address are refused as well: casectl finds
    who is acting by that address.
    """
    for side, doc in (("ours", ours), ("theirs", theirs)):
        if not isinstance(doc, Mapping):
            raise MergeConflict(f"{side} is not a desk configuration (not a mapping)")
    conflicts: list[str] = []
    merged = _merge_value(base if isinstance(base, Mapping) else {}, ours, theirs, (),
                          conflicts)
    if conflicts:
        raise MergeConflict("both sides changed " + "; ".join(conflicts))
    _check_agent_emails(merged)
    return merged


def _merge_value(base: Any, ours: Any, theirs: Any, path: tuple[str, ...],
                 conflicts: list[str]) -> Any:
    if ours == theirs:
        return ours
    if base == ours:
        return theirs
    if base == theirs:
        return ours
    if isinstance(ours, Mapping) and isinstance(theirs, Mapping) and \
            (base is MISSING or isinstance(base, Mapping)):
        before = base if isinstance(base, Mapping) else {}
        merged: dict[str, Any] = {}
        for key in [*ours, *(key for key in theirs if key not in ours)]:
            value = _merge_value(before.get(key, MISSING), ours.get(key, MISSING),
                                 theirs.get(key, MISSING), (*path, str(key)), conflicts)
            if value is not MISSING:
                merged[key] = value
        return merged
    if _is_set(ours) and _is_set(theirs) and (base is MISSING or _is_set(base)):
        before = set(base) if base is not MISSING else set()
        kept = [item for item in ours if item in theirs or item not in before]
        return kept + [item for item in theirs if item not in ours and item not in before]
    conflicts.append(f"{'.'.join(path) or '(the whole file)'} differently "
                     f"(ours: {_short(ours)}, theirs: {_short(theirs)})")
    return ours


def _is_set(value: Any) -> bool:
    """A list of distinct plain values: its order carries no meaning."""
    return isinstance(value, list) and \
        all(isinstance(item, (str, int, float, bool)) for item in value) and \
        len(set(value)) == len(value)


def _short(value: Any) -> str:
    if value is MISSING:
        return "removed"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _check_agent_emails(config: Mapping[str, Any]) -> None:
    agents = config.get("agents")
    if not isinstance(agents, Mapping):
        return
    owners: dict[str, str] = {}
    for agent_id, agent in agents.items():
        email = agent.get("email") if isinstance(agent, Mapping) else None
        if not isinstance(email, str):
            continue
        key = email.strip().casefold()
        if key in owners:
            raise MergeConflict(f"agents {owners[key]} and {agent_id} (one added on each side) "
                                f"have the same e-mail address {email}; each agent needs their "
                                "own")
        owners[key] = agent_id

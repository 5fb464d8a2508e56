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

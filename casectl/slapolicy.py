"""Which SLA policy judges a case, and the clocks' marks the query index keeps.

A case's created event names the casectl.yaml blob it arrived under; its
SLA policy (targets, calendar, levels) is read from that blob (one
cat-file) and kept, parsed, in .git/casectl/sla-configs.json, so a holiday
or a target added to casectl.yaml later does not change a past result.
Cases without a blob (registered before casectl recorded one), or whose
blob this clone lacks, are judged under the current casectl.yaml.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import Any, Mapping, Sequence

from . import clock, config as configmod, journal, model, publicholidays, sla, yamlio
from .errors import InvalidData, UsageError

POLICY_CACHE = "sla-configs.json"
POLICY_FORMAT = 1  # bump when config.sla_policy's output changes: the cache is then ignored


def _read_cache(state: Path | None) -> dict[str, Any]:
    """blob id -> policy. The file keeps each distinct policy once: every
    team or agent added makes a new casectl.yaml blob with the same policy."""
    if state is None:
        return {}
    try:
        found = json.loads((state / POLICY_CACHE).read_text(encoding="utf-8"))
        if found["format"] != POLICY_FORMAT:
            return {}
        policies, blobs = found["policies"], found["blobs"]
        return {blob: policies[number] for blob, number in blobs.items()}
    except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError):
        return {}


def _write_cache(state: Path | None, cache: Mapping[str, Any]) -> None:
    if state is None:
        return
    numbers: dict[str, int] = {}
    policies: list[Any] = []
    blobs: dict[str, int] = {}
    for blob, policy in cache.items():
        text = json.dumps(policy, sort_keys=True)
        if text not in numbers:
            numbers[text] = len(policies)
            policies.append(policy)
        blobs[blob] = numbers[text]
    path = state / POLICY_CACHE
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        temp.write_text(json.dumps({"format": POLICY_FORMAT, "policies": policies,
                                    "blobs": blobs},
                                   separators=(",", ":")), encoding="utf-8")
        os.replace(temp, path)
    except OSError:  # a read-only repository: it is only a cache
        temp.unlink(missing_ok=True)


def _policy_of_text(text: bytes) -> dict[str, Any] | None:
    """The SLA policy of a casectl.yaml's content; None when it cannot be
    read as one (then the current configuration is used instead)."""
    try:
        data = configmod.normalise(yamlio.load(text.decode("utf-8"), configmod.CONFIG_FILE))
        if not isinstance(data, dict) or configmod.sla_problems(data):
            return None
        return configmod.sla_policy(data)
    except (InvalidData, UsageError, UnicodeDecodeError, ValueError, TypeError, AttributeError):
        return None


def resolve_blobs(root: Path, state: Path | None, blobs: Sequence[str]
                  ) -> dict[str, dict[str, Any] | None]:
    """The policies of config blobs: from the cache, else read from git (one
    cat-file for all the missing ones) and cached. None for a blob this
    repository does not have, or that holds no valid configuration."""
    cache = _read_cache(state)
    found: dict[str, dict[str, Any] | None] = {}
    missing = []
    for blob in dict.fromkeys(blobs):
        if blob in cache:
            found[blob] = cache[blob]
        else:
            missing.append(blob)
    if missing:
        contents = journal.read_blobs_by_id(root, missing)
        for blob in missing:
            data = contents.get(blob)
            found[blob] = None if data is None else _policy_of_text(data)
            if found[blob] is not None:  # a missing blob may arrive with the next fetch
                cache[blob] = found[blob]
        _write_cache(state, cache)
    return found


@dataclass
class Judge:
    """Computes the clocks of many cases: calendars are built once per
    (policy, level), holidays read once per country. Picklable, so index
    workers can take one along."""

    current: dict[str, Any]
    policies: dict[str, dict[str, Any]]
    holidays: dict[str, frozenset[date]]
    state: Path | None = None  # where the holidays cache is
    missing: set[str] = field(default_factory=set)  # blobs not in this repository
    _calendars: dict[tuple[str, str], Any] = field(default_factory=dict, repr=False)

    def policy(self, blob: str | None) -> tuple[dict[str, Any], str, bool]:
        """(policy, its key, whether it is the one the case asks for): a case
        naming no blob (registered before casectl recorded one) asks for
        the current casectl.yaml; one naming a blob this repository lacks
        gets the current one instead of the one it asks for."""
        if blob and blob in self.policies:
            return self.policies[blob], blob, True
        return self.current, "current", not blob

    def knows(self, blob: str | None) -> bool:
        return not blob or blob in self.policies or blob in self.missing

    def clocks(self, case: Mapping[str, Any], now: datetime
               ) -> tuple[str, sla.Clock, sla.Clock, dict[str, Any], bool]:
        created = _created(case)
        policy, key, pinned = self.policy(created.get("config"))
        level = model.header_value(case, "sla") or policy["default"]
        if level not in policy["levels"]:
            level = policy["default"]
        cal = self._calendars.get((key, level))
        if cal is None:
            tz = clock.zone(policy["timezone"])
            cal = sla.calendar_for(policy, level, self.holidays.get(policy["country"] or "",
                                                                    frozenset()), tz)
            self._calendars[(key, level)] = cal
        reaction, resolution = sla.clocks(case["log"], sla.Policy(
            policy["targets"], cal, policy["resolution_from"]), now)
        return level, reaction, resolution, policy, pinned


def judge(root: Path, state: Path | None, current_config: Mapping[str, Any],
          blobs: Sequence[str] = ()) -> Judge:
    current = configmod.sla_policy(current_config)
    policies = {b: p for b, p in resolve_blobs(root, state, blobs).items() if p is not None}
    return with_holidays(Judge(current, policies, {}, state), state)


def with_holidays(found: Judge, state: Path | None, country: str | None = None) -> Judge:
    """Read the holidays of ``country`` (default: of every policy known)."""
    countries = {country} if country else {
        p["country"] for p in [found.current, *found.policies.values()]}
    for name in {c for c in countries if c} - set(found.holidays):
        found.holidays[name] = publicholidays.closed_dates(name, state or found.state)
    return found


def index_fields(found: Judge, case: Mapping[str, Any], tz: tzinfo
                 ) -> tuple[Any, ...]:
    """The SLA columns of a case's row in the query index (see index.py):
    level, due (text and instant), breach and risk instants in ms since 1970."""
    # The instants kept do not depend on ``now``: a running clock's due and
    # risk instants follow from its events alone; so the last event will do.
    last = datetime.fromisoformat(case["updated"])  # the last event's time (replay)
    level, reaction, resolution, _, _ = found.clocks(case, last)
    marks = sla.summary(reaction, resolution)
    due = marks["due"]
    return (level, clock.isoformat(due.astimezone(tz)) if due else None, _ms(due),
            _ms(marks["breach"]), _ms(marks["risk"]))


def _ms(moment: datetime | None) -> int | None:
    return None if moment is None else round(moment.timestamp() * 1000)


def _created(case: Mapping[str, Any]) -> Mapping[str, Any]:
    """The created event's data (there is one; replay checks it)."""
    return next(e for e in case["log"] if e["kind"] == "created").get("data") or {}


def cached_judge(root: Path, state: Path | None, current_config: Mapping[str, Any]) -> Judge:
    """A Judge knowing every policy cached so far (for the query index;
    holidays are read when the first case needs them)."""
    policies = {b: p for b, p in _read_cache(state).items() if isinstance(p, dict)}
    return Judge(configmod.sla_policy(current_config), policies, {}, state)


def current_key(root: Path) -> str:
    """What the SLA columns of cases judged under the current casectl.yaml
    depend on: its policy, and the holidays package's version."""
    # The policy itself (a few hundred bytes): no hashlib to import (6 ms).
    policy = json.dumps(configmod.sla_policy(read_current(root)), sort_keys=True,
                        separators=(",", ":"))
    return f"{policy} {publicholidays.package_version()}"


def read_current(root: Path) -> dict[str, Any]:
    """casectl.yaml as it stands in the working tree, for the index (which
    does not get a session); an unreadable one counts as empty (the
    defaults), the command that loaded it has said what is wrong."""
    try:
        data = yamlio.load((root / configmod.CONFIG_FILE).read_text(encoding="utf-8"),
                           configmod.CONFIG_FILE)
    except (OSError, InvalidData, UnicodeDecodeError):
        return {}
    data = configmod.normalise(data) if isinstance(data, dict) else {}
    return data if not configmod.sla_problems(data) else {}


def row_fields(found: Judge, case: Mapping[str, Any]) -> tuple[Any, ...] | None:
    """The SLA columns of a case's index row (index_fields, and whether its
    own config blob judged it), or None when its config blob is not known
    yet (the indexer reads it from git and asks again)."""
    created = _created(case)
    if not found.knows(created.get("config")):
        return None
    policy, _, _ = found.policy(created.get("config"))
    with_holidays(found, None, policy.get("country"))
    return (*index_fields(found, case, clock.zone(policy["timezone"])),
            _pinned(found, created.get("config")))


def _pinned(found: Judge, blob: str | None) -> int:
    """The index's sla_pinned: 1 judged under the case's own blob, 0 under
    the current casectl.yaml as it asks (no blob), -1 under the current one
    for want of its blob here (a later pull may bring it: index.py looks)."""
    if blob in found.policies:
        return 1
    return -1 if blob else 0

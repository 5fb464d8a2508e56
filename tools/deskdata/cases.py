"""Seeded random cases of the desk: what a reporter brings, and what happens next.

A ``Draft`` is what `casectl new` is given (subject, description, reporter,
fields, ...); a ``CasePlan`` is a draft with a history: the events, their
times and actors, that lead to a given status. Plans are plain data, equal
for equal seeds and `now`, so they can be checked and written in several
ways: ``Draft.new_args`` for the command line, ``files.case_file`` for a
case file written directly.

Pure Python, no casectl: the example builder imports this without it.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import parseaddr
from typing import Any, Final, Sequence

from .desk import AGENTS, DESK_TZ, FOLD, HOME_TEAM, RECEIVERS, TEAM_MEMBERS, TEAMS, mailbox
from .words import CATEGORIES, LANG

LANG_WEIGHTS: Final = [("no", 0.5), ("sv", 0.3), ("da", 0.2)]
TYPES: Final = [("incident", 55), ("request", 30), ("order", 8), ("change", 7)]
PRIORITIES: Final = [("critical", 2), ("high", 13), ("medium", 60), ("low", 25)]
OPEN_MIX: Final = [("new", 25), ("started", 40), ("waiting", 20), ("solved", 15)]
STATUSES: Final = ("new", "started", "waiting", "solved", "closed", "rejected")
SPAN_DAYS: Final = 730  # cases are created over the last two years
# How many events a case has, from 3 to 10, and how often.
EVENT_COUNTS: Final = list(zip(range(3, 11), [10, 20, 20, 16, 12, 9, 7, 6]))


@dataclass(frozen=True)
class Reporter:
    name: str
    email: str | None = None
    phone: str | None = None
    org: str | None = None

    @classmethod
    def parse(cls, address: str, phone: str | None = None, org: str | None = None) -> Reporter:
        """From casectl's own form, 'Name <email>' (or just a name)."""
        name, email = parseaddr(address)
        return cls(name or address, email or None, phone, org)

    @property
    def address(self) -> str:
        """As `casectl new --reporter` takes it."""
        return f"{self.name} <{self.email}>" if self.email else self.name

    def as_data(self) -> dict[str, str | None]:
        return {"name": self.name, "email": self.email, "phone": self.phone, "org": self.org}


@dataclass(frozen=True)
class Draft:
    """A case as it is registered: the flags of `casectl new`."""

    subject: str
    description: str
    type: str
    priority: str
    team: str
    category: str | None = None
    reporter: Reporter | None = None
    assignee: str | None = None
    fields: dict[str, str] = field(default_factory=dict)
    notify: bool = False
    start: bool = False

    def new_args(self, *, description_on_stdin: bool = False) -> list[str]:
        """The arguments of `casectl new` for this draft; with ``description_on_stdin``
        the description is to be fed on standard input (`--description -`)."""
        args = ["new", "--subject", self.subject,
                "--description", "-" if description_on_stdin else self.description,
                "--type", self.type, "--priority", self.priority, "--team", self.team]
        if self.category:
            args += ["--category", self.category]
        if self.reporter:
            args += ["--reporter", self.reporter.address]
            if self.reporter.phone:
                args += ["--phone", self.reporter.phone]
            if self.reporter.org:
                args += ["--org", self.reporter.org]
        if self.assignee:
            args += ["--assignee", self.assignee]
        for name, value in self.fields.items():
            args += ["--field", f"{name}={value}"]
        if self.notify:
            args.append("--notify")
        if self.start:
            args.append("--start")
        return args

    def created_data(self) -> dict[str, Any]:
        """The data of the case's `created` event, as casectl records it."""
        return {"subject": self.subject, "description": self.description, "type": self.type,
                "category": self.category, "priority": self.priority, "team": self.team,
                "assignee": self.assignee,
                "reporter": self.reporter.as_data() if self.reporter else None,
                "notify": self.notify, "fields": dict(self.fields)}


@dataclass(frozen=True)
class Step:
    """One event of a plan: when, by whom, what kind, with what data."""

    at: datetime
    by: str
    kind: str
    data: dict[str, Any]


@dataclass(frozen=True)
class CasePlan:
    draft: Draft
    steps: list[Step]  # the first is `created`, with the draft's data
    status: str

    @property
    def created(self) -> datetime:
        return self.steps[0].at


def _pick(rng: random.Random, weighted: Sequence[tuple[Any, float]]) -> Any:
    return rng.choices([k for k, _ in weighted], [w for _, w in weighted])[0]


class CaseGenerator:
    """Realistic cases of the desk from one seeded random source.

    ``now`` is the end of the desk's history: cases are created in the
    ``SPAN_DAYS`` before it, mostly in office hours on weekdays, and their
    last event is before it.
    """

    def __init__(self, seed: int | random.Random, now: datetime) -> None:
        self.rng = seed if isinstance(seed, random.Random) else random.Random(seed)
        self.now = now.astimezone(DESK_TZ)

    # -- time

    def created_at(self) -> datetime:
        """A moment in the last two years, mostly office hours on weekdays."""
        rng = self.rng
        while True:
            age = timedelta(days=rng.uniform(0, SPAN_DAYS))
            day = (self.now - age).astimezone(DESK_TZ)
            if day.weekday() >= 5 and rng.random() < 0.8:
                continue
            if rng.random() < 0.85:
                minute = rng.randint(7 * 60, 16 * 60)
            else:
                minute = rng.randint(0, 24 * 60 - 1)
            local = day.replace(hour=minute // 60, minute=minute % 60, second=rng.randint(0, 59),
                                microsecond=rng.randint(0, 999) * 1000)
            moment = local.astimezone(timezone.utc).astimezone(DESK_TZ)  # DST-normalised
            if moment < self.now - timedelta(hours=2):
                return moment

    def event_times(self, created: datetime, count: int) -> list[datetime]:
        """``count`` moments from ``created`` on: minutes, hours or days apart,
        squeezed to end before now."""
        rng = self.rng
        gaps = []
        for _ in range(count - 1):
            r = rng.random()
            minutes = (rng.uniform(1, 45) if r < 0.5 else rng.uniform(60, 480) if r < 0.8
                       else rng.uniform(1440, 4320) if r < 0.95 else rng.uniform(4320, 20160))
            gaps.append(timedelta(minutes=minutes))
        room = self.now - timedelta(minutes=5) - created
        total = sum(gaps, timedelta())
        if total > room:
            gaps = [gap * (room / total) for gap in gaps]
        times = [created]
        for gap in gaps:
            nxt = times[-1] + max(gap, timedelta(seconds=1))
            # Milliseconds, as casectl stores them.
            times.append(nxt.replace(microsecond=(nxt.microsecond // 1000) * 1000))
        return times

    # -- words

    def fill(self, template: str, ctx: dict[str, str]) -> str:
        """A template with the case's words, and a fresh number, time and colleague."""
        rng = self.rng
        values = {"n": str(rng.randint(1000, 99999)),
                  "t": f"{rng.randint(6, 22):02d}:{rng.randint(0, 59):02d}",
                  "agent": rng.choice(AGENTS).first_name}
        return template.format(**{**values, **ctx})

    def phone(self, lang: str) -> str:
        digits = {k: str(self.rng.randint(0, 9)) for k in "abcdefgh"}
        digits["a"] = str(self.rng.randint(2, 9))  # no national number starts with 0 or 1
        return str(LANG[lang]["phone"][0]).format(**digits)

    def context(self, lang: str) -> dict[str, str]:
        """The words one case is about: organisation, reporter, system, problem, PC."""
        rng = self.rng
        words = LANG[lang]
        org, domain, place = rng.choice(words["orgs"])
        who = rng.choice(words["names"])
        pc = f"{place[:3].upper().translate(FOLD)}-PC-{rng.randint(1, 9999):04d}"
        return {"lang": lang, "s": rng.choice(words["systems"]), "p": rng.choice(words["problems"]),
                "place": place, "pc": pc, "o": org, "domain": domain, "name": who,
                "who": who.split()[0]}

    def sentence(self, kind: str, lang: str = "no", ctx: dict[str, str] | None = None) -> str:
        """One text of ``kind`` (worklog, note, email, solution, reject, wait,
        assign, desc, subject) about ``ctx``, or about a new random context."""
        ctx = ctx or self.context(lang)
        return self.fill(self.rng.choice(LANG[ctx["lang"]][kind]), ctx)

    # -- the case

    def draft(self, lang: str | None = None, created: datetime | None = None,
              ctx: dict[str, str] | None = None) -> Draft:
        """What a reporter brings: a new case as `casectl new` would register it."""
        rng = self.rng
        ctx = ctx or self.context(lang or _pick(rng, LANG_WEIGHTS))
        words = LANG[ctx["lang"]]
        moment = created or self.now
        ctx["t"] = (moment - timedelta(minutes=rng.randint(1, 20))).strftime("%H:%M")
        priority = _pick(rng, PRIORITIES)
        team = rng.choice(TEAMS).id
        assignee = rng.choice(TEAM_MEMBERS[team]).id if rng.random() < 0.85 else None
        email = f"{mailbox(ctx['name'])}@{ctx['domain']}" if rng.random() < 0.8 else None
        # A critical case needs a contact person's phone (domain rule, seed 003).
        phone = self.phone(ctx["lang"]) if rng.random() < 0.7 or priority == "critical" else None
        field_keys = words["fields"]
        fields: dict[str, str] = {}
        if rng.random() < 0.6:
            fields[field_keys[0]] = ctx["place"]
        if rng.random() < 0.3:
            fields[field_keys[1]] = str(rng.randint(10_000_000, 99_999_999))
        lines = [words["desc"][0], *rng.sample(words["desc"][1:], rng.randint(1, 4))]
        return Draft(
            subject=self.fill(rng.choice(words["subject"]), ctx)[:300],
            description="\n".join(self.fill(line, ctx) for line in lines),
            type=_pick(rng, TYPES), priority=priority, team=team,
            category=rng.choice(CATEGORIES) if rng.random() < 0.8 else None,
            reporter=Reporter(ctx["name"], email, phone, ctx["o"]), assignee=assignee,
            fields=fields, notify=email is not None and rng.random() < 0.5)

    def plan(self, status: str | None = None) -> CasePlan:
        """A case and its history up to ``status`` (by default one drawn by
        the case's age: about 20% open, more among recent cases)."""
        rng = self.rng
        ctx = self.context(_pick(rng, LANG_WEIGHTS))
        words = LANG[ctx["lang"]]
        created = self.created_at()
        draft = self.draft(created=created, ctx=ctx)
        if status is None:
            age_days = (self.now - created).total_seconds() / 86400
            p_open = min(0.95, 0.175 + 0.6 * math.exp(-age_days / 30))
            if rng.random() < p_open:
                status = _pick(rng, OPEN_MIX)
            else:
                status = "closed" if rng.random() < 0.9 else "rejected"
        elif status not in STATUSES:
            raise ValueError(f"no such status {status!r}; one of {', '.join(STATUSES)}")
        count = _pick(rng, EVENT_COUNTS)

        # The steps: a skeleton for the final status, filled with the day's work.
        head: list[tuple[str, dict[str, Any]]] = [("created", draft.created_data())]
        tail: list[tuple[str, dict[str, Any]]] = []
        if status not in ("new", "rejected"):
            head.append(("status_changed", {"status": "started"}))
        if status == "waiting":
            tail.append(("status_changed", {"status": "waiting",
                                            "reason": self.fill(rng.choice(words["wait"]), ctx)}))
        elif status == "solved":
            tail.append(("solved", {"solution": self.fill(rng.choice(words["solution"]), ctx)}))
        elif status == "closed":
            solution = self.fill(rng.choice(words["solution"]), ctx)
            if rng.random() < 0.4:
                tail += [("solved", {"solution": solution}), ("closed", {"confirmed": True})]
            else:
                tail.append(("closed", {"solution": solution, "confirmed": True}))
        elif status == "rejected":
            tail.append(("rejected", {"reason": self.fill(rng.choice(words["reject"]), ctx)}))
        state = {"team": draft.team, "assignee": draft.assignee, "priority": draft.priority}
        email = draft.reporter.email if draft.reporter else None
        middle = [self._filler(ctx, state, email)
                  for _ in range(max(0, count - len(head) - len(tail)))]
        kinds = head + middle + tail
        # A short history may need more events than drawn: the skeleton always fits.
        times = self.event_times(created, len(kinds))
        receiver = rng.choice(RECEIVERS).id
        actors = [receiver, *self._actors(kinds, receiver)]
        steps = [Step(moment, actor, kind, data)
                 for (kind, data), moment, actor in zip(kinds, times, actors)]
        return CasePlan(draft, steps, status)

    def _actors(self, steps: list[tuple[str, dict[str, Any]]], first: str) -> list[str]:
        """Who does each step after the first: the assignee of the moment."""
        current: str = steps[0][1].get("assignee") or first
        actors: list[str] = []
        for kind, data in steps[1:]:
            actors.append(data["assignee"] if kind == "taken" else current)
            if kind in ("assigned", "taken", "handed_over") and data.get("assignee"):
                current = data["assignee"]
        return actors

    def _filler(self, ctx: dict[str, str], state: dict[str, Any],
                email: str | None) -> tuple[str, dict[str, Any]]:
        """One step of the day's work: a log entry, a note, a mail to the
        reporter, a reassignment, a takeover or a new priority."""
        rng = self.rng
        words = LANG[ctx["lang"]]
        r = rng.random()
        if r < 0.45:
            return "worklog", {"text": self.fill(rng.choice(words["worklog"]), ctx)}
        if r < 0.6:
            return "note", {"text": self.fill(rng.choice(words["note"]), ctx)}
        if r < 0.72 and email:
            return "email", {"text": self.fill(rng.choice(words["email"]), ctx), "to": email}
        if r < 0.85:
            team = rng.choice(TEAMS).id
            agent = rng.choice(TEAM_MEMBERS[team])
            note = self.fill(rng.choice(words["assign"]), ctx)
            state.update(team=team, assignee=agent.id)
            # Critical and high cases are always handed over deliberately (domain rule).
            if state["priority"] in ("critical", "high"):
                return "handed_over", {"to": agent.id, "note": f"{agent.name}: {note}",
                                       "assignee": agent.id, "team": team}
            return "assigned", {"team": team, "assignee": agent.id, "note": note}
        if r < 0.93:
            agent = rng.choice(AGENTS)
            data: dict[str, Any] = {"assignee": agent.id, "previous": state["assignee"]}
            if HOME_TEAM[agent.id] != state["team"]:
                data["team"] = HOME_TEAM[agent.id]
                state["team"] = data["team"]
            state["assignee"] = agent.id
            return "taken", data
        level = rng.choice([p for p, _ in PRIORITIES if p != state["priority"]])
        data = {"priority": level, "previous": state["priority"]}
        state["priority"] = level
        return "priority_set", data

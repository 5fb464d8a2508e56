"""The desk's configuration, casectl.yaml: teams, agents, categories.

Loaded and checked against schemas/config.schema.json on every command; a
broken file is reported with file, field and line, never a traceback.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from . import clock, mailconfig, schema, triage, yamlio
from .errors import InvalidData, NotFound, RuleViolation, UsageError

CONFIG_FILE = "casectl.yaml"
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


def name_key(name: str) -> str:
    """An organisation's or a category's name as matched: case, spaces and
    the Unicode form do not matter (an Å typed as A plus a combining ring
    is the same letter, and "Ås  kommune" the same municipality as "Ås
    kommune")."""
    return unicodedata.normalize("NFC", " ".join(name.split())).casefold()


def default_config(desk_name: str, timezone: str) -> dict[str, Any]:
    return {"desk": {"name": desk_name, "timezone": timezone}, "teams": {}, "agents": {},
            "categories": []}


def check_slug(kind: str, value: str) -> str:
    """A team or agent id as named on the command line, in the form it is
    stored: lower case, as ids are case-insensitive on input (like case
    ids), so --as KARI is kari. Ids end up in file contents, paths and
    commit trailers, hence the narrow alphabet."""
    value = value.strip().lower()
    if not SLUG_RE.match(value):
        raise UsageError(f"{kind} id {value!r} is not valid",
                         "use lower-case letters, digits, '.', '_' or '-', starting with a "
                         "letter or digit, at most 64 characters (e.g. kari or k-ikt)")
    return value


@dataclass
class Config:
    data: dict[str, Any]
    path: Path = field(default=Path(CONFIG_FILE))

    @property
    def desk_name(self) -> str:
        return str(self.data["desk"]["name"])

    @property
    def timezone(self) -> str | None:
        return self.data["desk"].get("timezone")

    @property
    def teams(self) -> dict[str, dict[str, Any]]:
        return self.data.setdefault("teams", {})

    @property
    def agents(self) -> dict[str, dict[str, Any]]:
        return self.data.setdefault("agents", {})

    @property
    def categories(self) -> list[str]:
        return self.data.get("categories") or []

    @property
    def orgs(self) -> dict[str, dict[str, Any]]:
        return self.data.setdefault("orgs", {})

    @property
    def sla_levels(self) -> list[str]:
        return list((self.data.get("sla") or {}).get("levels") or DEFAULT_SLA["levels"])

    @property
    def default_sla(self) -> str:
        return str((self.data.get("sla") or {}).get("default", DEFAULT_SLA["default"]))

    def check_sla_level(self, level: str) -> str:
        level = level.strip().lower()
        if level not in self.sla_levels:
            raise UsageError(f"unknown SLA level {level!r}",
                             "use one of: " + ", ".join(self.sla_levels))
        return level

    def org_level(self, org: str | None) -> str | None:
        """The SLA level agreed with an organisation, matched as people
        type names (name_key): case, spaces and Unicode form do not matter."""
        if not org:
            return None
        wanted = name_key(org)
        for name, entry in self.orgs.items():
            if name_key(name) == wanted:
                return str(entry["sla"])
        return None

    def agent(self, agent_id: str) -> dict[str, Any]:
        if agent_id not in self.agents:
            raise NotFound(f"no agent {agent_id!r} in {CONFIG_FILE}",
                           _known("agents", self.agents) + f"; add one with 'casectl agent add "
                           f"{agent_id} --name NAME --email ADDR'")
        return self.agents[agent_id]

    def team(self, team_id: str) -> dict[str, Any]:
        if team_id not in self.teams:
            raise NotFound(f"no team {team_id!r} in {CONFIG_FILE}",
                           _known("teams", self.teams) + f"; add one with 'casectl team add "
                           f"{team_id}'")
        return self.teams[team_id]

    def check_agent(self, agent_id: str) -> str:
        """An agent named on the command line: must be listed once any are."""
        agent_id = check_slug("agent", agent_id)
        if self.agents:
            self.agent(agent_id)
        return agent_id

    def check_team(self, team_id: str) -> str:
        team_id = check_slug("team", team_id)
        if self.teams:
            self.team(team_id)
        return team_id

    def check_category(self, category: str) -> str:
        """A category as typed, once casectl.yaml lists any: one of them, in
        the listed spelling (nettverk is Nettverk), so reports group alike."""
        if not self.categories:
            return category
        for listed in self.categories:
            if name_key(listed) == name_key(category):
                return listed
        raise UsageError(f"unknown category {category!r}",
                         "use one of: " + ", ".join(self.categories)
                         + f"; or add it: casectl category add \"{category.strip()}\"")

    def is_active(self, agent_id: str) -> bool:
        """Whether a listed agent may act and be given cases: everyone is,
        until `casectl agent deactivate` sets ``active: false``."""
        return self.agents.get(agent_id, {}).get("active", True) is not False

    def assignable_agent(self, agent_id: str) -> str:
        """An agent a case or task is given to: listed (once any are) and
        active. A deactivated agent keeps the cases they have (history keeps
        them), but gets no new ones."""
        agent_id = self.check_agent(agent_id)
        if self.agents and not self.is_active(agent_id):
            raise RuleViolation("active-agent", f"agent {agent_id} is deactivated and cannot "
                                "be given cases", "give it to an active agent (casectl agent "
                                f"list), or reactivate them: {self.reactivation(agent_id)}")
        return agent_id

    def named(self, target: str) -> tuple[str, str]:
        """('agent' or 'team', the id) of whom a --to or --assignee names;
        with no agents or teams listed (one person working alone) a name is
        an agent's."""
        if not (self.agents or self.teams):
            return "agent", check_slug("agent", target)
        return self.is_agent_or_team(target)

    def receiver(self, target: str) -> tuple[str, str]:
        """Whom a case or task is given to (handover --to, task add --to):
        as ``named``, and an agent must be active."""
        kind, ident = self.named(target)
        if kind == "agent" and self.agents:
            self.assignable_agent(ident)
        return kind, ident

    def reactivation(self, agent_id: str) -> str:
        """Who can bring a deactivated agent back, and how, for hints."""
        admins = sorted(ident for ident, agent in self.agents.items()
                        if self.is_active(ident) and "admin" in (agent.get("roles") or []))
        command = f"casectl agent activate {agent_id}"
        if admins:
            return f"{command} (run by an admin: {', '.join(admins)})"
        return f"{command} (run by any active agent)"

    def home_team(self, agent_id: str | None) -> str | None:
        """The first team an agent belongs to: where their cases land."""
        if agent_id is None:
            return None
        teams = self.agents.get(agent_id, {}).get("teams") or []
        return teams[0] if teams else None

    def team_for(self, agent_id: str, current: str | None) -> str | None:
        """The team a case belongs to once ``agent_id`` is responsible for it:
        the case's team if the agent is in it, else the agent's home team,
        else (an agent in no team) the case's team as it is."""
        teams = self.agents.get(agent_id, {}).get("teams") or []
        if current in teams or not teams:
            return current
        return teams[0]

    def team_members(self, team_id: str) -> list[tuple[str, str]]:
        return [(ident, agent["name"]) for ident, agent in self.agents.items()
                if team_id in (agent.get("teams") or [])]

    def is_agent_or_team(self, target: str) -> tuple[str, str]:
        """('agent' or 'team', the id): what a --to names. Agents win a tie,
        as people hand cases to people more often than to queues."""
        target = target.strip().lower()
        if target in self.agents:
            return "agent", target
        if target in self.teams:
            return "team", target
        known = sorted(self.agents) + sorted(self.teams)
        raise NotFound(f"{target!r} is neither an agent nor a team in {CONFIG_FILE}",
                       "known: " + (", ".join(known) if known else "none yet; add them with "
                                    "'casectl agent add' or 'casectl team add'"))


def _known(kind: str, items: Mapping[str, Any]) -> str:
    return f"known {kind}: " + (", ".join(sorted(items)) if items else "none")


def load(root: Path, cache_dir: Path | None) -> Config:
    path = root / CONFIG_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidData(CONFIG_FILE, f"cannot read: {exc.strerror}") from None
    data = normalise(yamlio.load(text, CONFIG_FILE))
    found = problems(data, root, cache_dir)
    if found:
        field_name, message = found[0]
        raise InvalidData(CONFIG_FILE, message, field=field_name)
    return Config(data, path)


def problems(data: Any, root: Path, cache_dir: Path | None) -> list[tuple[str, str]]:
    """(field, message) for what is wrong with a configuration: the schema,
    then what it cannot say (teams that exist, a time zone that exists)."""
    if not isinstance(data, dict):
        return [("(file)", "must be a mapping with desk, teams and agents")]
    data = normalise(data)
    validator = schema.Validator(schema.load_schema(root / "schemas", schema.CONFIG_SCHEMA),
                                 cache_dir)
    found = [(p.field, p.message) for p in validator.problems(data, CONFIG_FILE)]
    if found:
        return found
    owners: dict[str, str] = {}
    for agent_id, agent in data.get("agents", {}).items():
        # The acting agent is found by git's user.email: two agents with one
        # address would file one's commits as the other's.
        address = agent["email"].strip().casefold()
        if address in owners:
            found.append((f"agents.{agent_id}.email", f"agents {owners[address]} and "
                          f"{agent_id} have the same e-mail address {agent['email']}; each "
                          "agent needs their own"))
        owners.setdefault(address, agent_id)
        for team_id in agent.get("teams") or []:
            if team_id not in data.get("teams", {}):
                found.append((f"agents.{agent_id}", f"agent {agent_id} is in team "
                              f"{team_id!r}, which is not listed under teams"))
    found += triage.config_problems(data.get("teams") or {})
    try:
        clock.zone(data["desk"].get("timezone"))
    except UsageError as exc:
        found.append(("desk.timezone", exc.message))
    found.extend(sla_problems(data))
    found.extend(mailconfig.problems(data))
    return found


def dump(config: Config) -> str:
    return yamlio.dump(config.data)


# ---------------------------------------------------------------- service levels

# seed 004's table: the desk's defaults when casectl.yaml says nothing.
SLA_LEVELS = ("platinum", "gold", "silver", "bronze")
DEFAULT_SLA = {
    "default": "bronze",
    "resolution_from": "arrival",
    "levels": {"platinum": {"hours": "24x7"}, "gold": {"hours": "24x7"},
               "silver": {"hours": "business"}, "bronze": {"hours": "business"}},
    "targets": {"critical": {"reaction": "10m", "resolution": "4h"},
                "high": {"reaction": "30m", "resolution": "8h"},
                "medium": {"reaction": None, "resolution": "2d"},
                "low": {"reaction": None, "resolution": "5d"}},
}
DEFAULT_HOURS = {day: "08:30-15:00" for day in ("mon", "tue", "wed", "thu", "fri")}
COUNTRIES = ("NO", "SE", "DK")
# A desk written before casectl.yaml had a calendar gets its zone's country's
# holidays: every desk of the seeds is in one of these zones.
_ZONE_COUNTRY = {"Europe/Oslo": "NO", "Europe/Stockholm": "SE", "Europe/Copenhagen": "DK"}
_DURATION_RE = re.compile(r"^(?=\d)(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?$")


def duration_minutes(text: str | None, working_day: int) -> int | None:
    """'10m', '4h', '1h30m', '2d' (working days of ``working_day`` business
    minutes) as business minutes; None is no target."""
    if text is None:
        return None
    match = _DURATION_RE.match(str(text).strip())
    if not match:
        raise UsageError(f"{text!r} is not a duration",
                         "write it like 10m, 4h, 1h30m or 2d (2 working days), or null for "
                         "no target")
    days, hours, minutes = (int(g or 0) for g in match.groups())
    return days * working_day + hours * 60 + minutes


def country_of(data: Mapping[str, Any]) -> str | None:
    calendar = data.get("calendar") or {}
    if "country" in calendar:
        return calendar["country"]
    return _ZONE_COUNTRY.get((data.get("desk") or {}).get("timezone") or "")


def sla_policy(data: Mapping[str, Any]) -> dict[str, Any]:
    """What SLA clocks need from a casectl.yaml, defaults filled in, as
    plain JSON-able data (cached per config blob; see app/slas.py)."""
    from . import calendar as cal

    calendar = data.get("calendar") or {}
    sla = data.get("sla") or {}
    hours = calendar.get("hours", DEFAULT_HOURS)
    week = cal.weekly(hours)
    working_day = sum(end - start for start, end in next((d for d in week if d), ()))
    levels = dict(sla.get("levels") or DEFAULT_SLA["levels"])
    targets = {}
    for priority, default in DEFAULT_SLA["targets"].items():
        given = (sla.get("targets") or {}).get(priority) or {}
        targets[priority] = {
            clock: duration_minutes(given.get(clock, default[clock]), working_day)
            for clock in ("reaction", "resolution")}
    return {
        "timezone": (data.get("desk") or {}).get("timezone") or "UTC",
        "country": country_of(data),
        "hours": {day: [cal.format_span(s) for s in spans]
                  for day, spans in zip(cal.WEEKDAYS, week)},
        "closed": sorted(str(d) for d in calendar.get("closed") or []),
        "open": sorted(str(d) for d in calendar.get("open") or []),
        "working_day": working_day,
        "default": sla.get("default", DEFAULT_SLA["default"]),
        "resolution_from": sla.get("resolution_from", DEFAULT_SLA["resolution_from"]),
        "levels": {name: (level or {}).get("hours", "business") for name, level in levels.items()},
        "targets": targets,
    }


def sla_problems(data: Mapping[str, Any]) -> list[tuple[str, str]]:
    """What the schema cannot say about the calendar and the SLA sections:
    hours that overlap or end before they start, dates that are no dates,
    a default level or an organisation's level that is not defined."""
    from datetime import date

    from . import calendar as cal

    found: list[tuple[str, str]] = []
    calendar = data.get("calendar") or {}
    try:
        week = cal.weekly(calendar.get("hours", DEFAULT_HOURS))
        if not any(week):
            found.append(("calendar.hours", "no weekday has working hours; give at least one, "
                          "e.g. mon: 08:30-15:00"))
    except cal.CalendarError as exc:
        found.append(("calendar.hours", str(exc)))
    for key in ("closed", "open"):
        for position, text in enumerate(calendar.get(key) or []):
            try:
                date.fromisoformat(str(text))
            except ValueError:
                found.append((f"calendar.{key}[{position}]", f"{text!r} is not a date; write "
                              "it like 2026-12-24"))
    sla = data.get("sla") or {}
    levels = sla.get("levels") or DEFAULT_SLA["levels"]
    for name, level in levels.items():
        hours = (level or {}).get("hours", "business")
        if isinstance(hours, str) and hours not in ("24x7", "business"):
            found.append((f"sla.levels.{name}.hours", f"{hours!r} is not a level's hours; "
                          "write 24x7, business (the calendar's hours) or hours per weekday "
                          "(mon: 08:30-15:00 ...)"))
        elif isinstance(hours, dict):
            try:
                if not any(cal.weekly(hours)):
                    found.append((f"sla.levels.{name}.hours", "no weekday has hours"))
            except cal.CalendarError as exc:
                found.append((f"sla.levels.{name}.hours", str(exc)))
    default = sla.get("default", DEFAULT_SLA["default"])
    if default not in levels:
        found.append(("sla.default", f"the default level {default!r} is not one of the "
                      f"levels: {', '.join(levels)}"))
    for priority, given in (sla.get("targets") or {}).items():
        for which, text in (given or {}).items():
            try:
                duration_minutes(text, 390)
            except UsageError as exc:
                found.append((f"sla.targets.{priority}.{which}", f"{exc.message}; {exc.hint}"))
    for org, entry in (data.get("orgs") or {}).items():
        if entry.get("sla") not in levels:
            found.append((f"orgs.{org}.sla", f"level {entry.get('sla')!r} is not one of the "
                          f"levels: {', '.join(levels)}"))
    return found


def default_service_levels(country: str) -> dict[str, Any]:
    """The calendar and sla sections `init --country` writes."""
    import copy

    return {"calendar": {"country": country, "hours": dict(DEFAULT_HOURS), "closed": [],
                         "open": []},
            "sla": copy.deepcopy(DEFAULT_SLA), "orgs": {}}


def normalise(data: Any) -> Any:
    """Dates YAML read as dates (closed: [2026-12-24]) as the text they
    were, and country: NO as Norway, so a hand-written calendar needs no
    quotes."""
    if isinstance(data, dict) and isinstance(data.get("calendar"), dict):
        if data["calendar"].get("country") is False:
            # YAML 1.1 reads an unquoted NO as false: the Norway problem.
            data["calendar"]["country"] = "NO"
        for key in ("closed", "open"):
            values = data["calendar"].get(key)
            if isinstance(values, list):
                data["calendar"][key] = [v.isoformat() if hasattr(v, "isoformat") else v
                                         for v in values]
    return data

"""The desk's configuration, casectl.yaml: teams, agents, categories.

Loaded and checked against schemas/config.schema.json on every command; a
broken file is reported with file, field and line, never a traceback.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

from . import clock, schema, triage, yamlio
from .errors import InvalidData, NotFound, RuleViolation, UsageError

CONFIG_FILE = "casectl.yaml"
SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


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
            if listed.casefold() == category.strip().casefold():
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
    data = yamlio.load(text, CONFIG_FILE)
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
    return found


def dump(config: Config) -> str:
    return yamlio.dump(config.data)

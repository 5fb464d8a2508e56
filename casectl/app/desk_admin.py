"""Running the desk: changing agents (name, address, teams, roles),
deactivating and reactivating them, and the categories cases are filed
under. Each change is one commit of casectl.yaml, like `team add`."""

from __future__ import annotations

from typing import Any, Sequence

from .. import config as configmod
from ..config import Config, name_key
from ..errors import RuleViolation, UsageError
from ..roles import ROLES
from . import schema_support
from .desk import _change_config
from .inputs import clean_line, clean_name, email_address
from .session import Session

MAX_CATEGORY = 100  # as the schemas allow


def set_agent(session: Session, agent_id: str, *, name: str | None = None,
              email: str | None = None, teams: Sequence[str] | None = None,
              add_teams: Sequence[str] = (), remove_teams: Sequence[str] = (),
              roles: Sequence[str] | None = None, add_roles: Sequence[str] = (),
              remove_roles: Sequence[str] = ()) -> dict[str, Any]:
    """Change an agent: ``teams``/``roles`` replace the lists (the first team
    is the home team), ``add_*``/``remove_*`` change them one by one."""
    agent_id = configmod.check_slug("agent", agent_id)
    if teams is not None and (add_teams or remove_teams):
        raise UsageError("--team replaces the agent's teams; --add-team and --remove-team "
                         "change them", "use one or the other")
    if roles is not None and (add_roles or remove_roles):
        raise UsageError("--role replaces the agent's roles; --add-role and --remove-role "
                         "change them", "use one or the other")
    if name is None and email is None and teams is None and roles is None and not (
            add_teams or remove_teams or add_roles or remove_roles):
        raise UsageError("say what to change", "give --name, --email, --team, --add-team, "
                         "--remove-team, --role, --add-role or --remove-role")
    new_name = clean_name(name, "the agent's name") if name is not None else None
    new_email = email_address(email, "the agent's e-mail address") if email is not None \
        else None
    slugs = {key: [configmod.check_slug("team", t) for t in values] for key, values in
             (("teams", teams or ()), ("add", add_teams), ("remove", remove_teams))}
    for role in [*(roles or ()), *add_roles, *remove_roles]:
        if role not in ROLES:
            raise UsageError(f"unknown role {role!r}", "use one of: " + ", ".join(ROLES))
    result: dict[str, Any] = {}

    def change(config: Config) -> None:
        agent = config.agent(agent_id)
        before = {**agent, "teams": list(agent.get("teams") or []),
                  "roles": list(agent.get("roles") or [])}
        if new_name is not None:
            agent["name"] = new_name
        if new_email is not None:
            _require_unique_email(config, agent_id, new_email)
            agent["email"] = new_email
        for team in [*slugs["teams"], *slugs["add"]]:
            config.team(team)  # must exist
        agent["teams"] = _changed_list(
            agent_id, "team", before["teams"], slugs["teams"] if teams is not None else None,
            slugs["add"], slugs["remove"])
        agent["roles"] = _changed_list(
            agent_id, "role", before["roles"], list(roles) if roles is not None else None,
            add_roles, remove_roles)
        if agent == before:
            raise RuleViolation("agent-set-changes-something",
                                f"agent {agent_id} has those values already",
                                "give a value that differs (casectl agent list)")
        result.update(id=agent_id, **agent)
    _change_config(session, "agent-set", agent_id, change)
    return result


def _changed_list(agent_id: str, what: str, current: list[str], replace: list[str] | None,
                  add: Sequence[str], remove: Sequence[str]) -> list[str]:
    if replace is not None:
        return list(dict.fromkeys(replace))
    missing = [item for item in remove if item not in current]
    if missing:
        raise RuleViolation(f"agent-has-{what}", f"agent {agent_id} has no {what} "
                            f"{', '.join(missing)}", f"their {what}s: "
                            + (", ".join(current) or "none"))
    kept = [item for item in current if item not in remove]
    return list(dict.fromkeys([*kept, *add]))


def _require_unique_email(config: Config, agent_id: str, email: str) -> None:
    for other_id, other in config.agents.items():
        # Who is acting is found by git's user.email: a shared address would
        # file one agent's commits as the other's.
        if other_id != agent_id and other["email"].casefold() == email.casefold():
            raise RuleViolation("unique-agent-email",
                                f"agent {other_id} has the e-mail address {other['email']} "
                                "already", "give each agent their own address")


def set_active(session: Session, agent_id: str, active: bool) -> dict[str, Any]:
    """Deactivate an agent (``active: false`` in casectl.yaml: they cannot
    act or be given cases, and keep their place in every case's history),
    or reactivate one (the key is removed: active is the default)."""
    agent_id = configmod.check_slug("agent", agent_id)
    action = "agent-activate" if active else "agent-deactivate"
    if not active:
        schema_support.require(session, "config.schema.json", schema_support.agent_active_flag,
                               "deactivating agents (active: false)")
    result: dict[str, Any] = {}

    def change(config: Config) -> None:
        agent = config.agent(agent_id)
        if config.is_active(agent_id) == active:
            raise RuleViolation(f"{action}-changes-something", f"agent {agent_id} is "
                                f"{'active' if active else 'deactivated'} already",
                                "nothing to do (casectl agent list shows who is active)")
        if active:
            agent.pop("active", None)
        else:
            others = [ident for ident in config.agents
                      if ident != agent_id and config.is_active(ident)]
            if not others:
                raise RuleViolation("one-active-agent", f"agent {agent_id} is the last active "
                                    "agent; nobody could act on the desk afterwards",
                                    "add or activate another agent first")
            agent["active"] = False
        result.update({"id": agent_id, **agent, "active": active})
    _change_config(session, action, agent_id, change)
    return result


def open_cases_of(session: Session, agent_id: str) -> list[str]:
    """The ids of the open cases an agent is responsible for."""
    from .queries import list_cases

    found, _ = list_cases(session, assignee=agent_id)
    return [row["id"] for row in found]


def add_categories(session: Session, categories: Sequence[str]) -> list[str]:
    """List categories in casectl.yaml; from then on new and edit accept
    only listed ones (a case filed under one before keeps it)."""
    cleaned: list[str] = []
    for typed in categories:
        category = clean_line(typed, "the category", limit=MAX_CATEGORY) or ""
        if any(name_key(c) == name_key(category) for c in cleaned):
            raise UsageError(f"category {category!r} is given twice", "give each once")
        cleaned.append(category)
    if not cleaned:
        raise UsageError("name a category", 'e.g. casectl category add "Klinisk applikasjon"')

    def change(config: Config) -> None:
        listed = list(config.categories)
        there = [c for c in cleaned if any(name_key(c) == name_key(l) for l in listed)]
        if there:
            raise RuleViolation("unique-category", f"already listed: {', '.join(there)}",
                                "casectl category list shows the categories")
        config.data["categories"] = listed + cleaned
    _change_config(session, "category-add", ", ".join(cleaned), change)
    return cleaned


def list_categories(session: Session) -> tuple[list[dict[str, Any]], list[str]]:
    """Listed categories, and categories cases use that are not (any more)
    listed, with how many cases (and open ones) each has."""
    from .. import index

    counts, warnings = index.category_counts(session.root)
    used = {row["category"]: row for row in counts}
    rows = [{"category": c, "listed": True, "open": used.get(c, {}).get("open") or 0,
             "cases": used.get(c, {}).get("cases") or 0} for c in session.config.categories]
    rows += [{"category": c, "listed": False, "open": row["open"] or 0, "cases": row["cases"]}
             for c, row in sorted(used.items()) if c not in session.config.categories]
    return rows, warnings

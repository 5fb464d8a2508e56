"""The desk: making a case repository and administering casectl.yaml
(teams, agents). Every change to the desk is a commit, like an action."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Sequence

from .. import clock, config as configmod, journal, schema, store, transaction, yamlio
from ..config import Config
from ..errors import RuleViolation, UsageError
from .actions import refuse_invalid
from .inputs import clean_name, email_address
from .session import Session

GITATTRIBUTES = "cases/**/*.yaml merge=casectl\n"


def init(directory: str | None, desk_name: str | None, timezone: str | None) -> Path:
    """Lay out a case repository (making the git repository if needed)."""
    root = Path(directory or ".").expanduser().resolve()
    if (root / configmod.CONFIG_FILE).exists():
        raise RuleViolation("init-once", f"{root} is already a case repository",
                            "use it as it is, or choose another directory")
    if root.exists() and not root.is_dir():
        raise UsageError(f"{root} exists and is not a directory")
    clock.zone(timezone or "Europe/Oslo")  # refuse an unknown zone before writing anything
    root.mkdir(parents=True, exist_ok=True)
    if not journal.is_work_tree(root):
        journal.init(root)
    else:
        journal.git(root, "config", "core.splitIndex", "true")
    config = configmod.default_config(desk_name or root.name, timezone or "Europe/Oslo")
    files = {configmod.CONFIG_FILE: yamlio.dump(config),
             ".gitattributes": GITATTRIBUTES,
             f"{store.CASES_DIR}/.gitkeep": ""}
    for name in schema.SCHEMA_FILES:
        files[f"schemas/{name}"] = (schema.PACKAGED_SCHEMAS / name).read_text(encoding="utf-8")
    session = Session(root, configmod.Config(config))
    agent, author = session.actor()
    with store.locked(root):
        transaction.recover(root)
        transaction.commit_files(root, files, journal.message(
            f"casectl init: {config['desk']['name']}", [("Action", "init"), ("Agent", agent)]),
            author, session.now(), require_committed=False)
    return root


def _change_config(session: Session, action: str, subject: str,
                   change: Callable[[Config], None]) -> Config:
    with store.locked(session.root):
        transaction.recover(session.root)
        config = configmod.load(session.root, session.state)
        session.config = config
        agent, author = session.actor()
        change(config)
        found = configmod.problems(config.data, session.root, session.state)
        if found:
            refuse_invalid(configmod.CONFIG_FILE, *found[0])
        transaction.commit_files(
            session.root, {configmod.CONFIG_FILE: configmod.dump(config)},
            journal.message(f"casectl {action}: {subject}",
                            [("Action", action), ("Agent", agent)]),
            author, session.now())
    return config


def add_team(session: Session, team_id: str, name: str | None, email: str | None
             ) -> dict[str, Any]:
    team_id = configmod.check_slug("team", team_id)
    entry = {"name": clean_name(name, "the team's name") if name is not None else team_id,
             "email": email_address(email, "the team's e-mail address")
             if email is not None else None}

    def change(config: Config) -> None:
        if team_id in config.teams:
            raise RuleViolation("unique-team", f"team {team_id!r} exists already",
                                "choose another id")
        config.teams[team_id] = entry
    _change_config(session, "team-add", team_id, change)
    return {"id": team_id, **entry}


def add_agent(session: Session, agent_id: str, name: str, email: str,
              teams: Sequence[str], roles: Sequence[str]) -> dict[str, Any]:
    agent_id = configmod.check_slug("agent", agent_id)
    entry = {"name": clean_name(name, "the agent's name"),
             "email": email_address(email, "the agent's e-mail address"),
             "teams": list(dict.fromkeys(configmod.check_slug("team", t) for t in teams)),
             "roles": list(dict.fromkeys(roles))}

    def change(config: Config) -> None:
        if agent_id in config.agents:
            raise RuleViolation("unique-agent", f"agent {agent_id!r} exists already",
                                "choose another id")
        for other_id, other in config.agents.items():
            # Who is acting is found by git's user.email: a shared address
            # would file one agent's commits as the other's.
            if other["email"].casefold() == entry["email"].casefold():
                raise RuleViolation("unique-agent-email",
                                    f"agent {other_id} has the e-mail address {other['email']} "
                                    "already", "give each agent their own address")
        for team in entry["teams"]:
            config.team(team)
        config.agents[agent_id] = entry
    _change_config(session, "agent-add", agent_id, change)
    return {"id": agent_id, **entry}

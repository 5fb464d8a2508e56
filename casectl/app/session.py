"""The session of one command: the repository, its configuration and who
is acting, resolved once."""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from .. import clock, config as configmod, journal, store, transaction
from ..config import Config
from ..errors import RuleViolation
from .inputs import slugify


@dataclass
class Session:
    """A repository, its configuration and who is acting, resolved once per
    command. The actor is looked up only when an action needs it."""

    root: Path
    config: Config
    as_agent: str | None = None
    _actor: tuple[str, journal.Author] | None = field(default=None, repr=False)

    @property
    def state(self) -> Path:
        return store.state_dir(self.root)

    def actor(self) -> tuple[str, journal.Author]:
        if self._actor is None:
            self._actor = resolve_actor(self.root, self.config, self.as_agent)
        return self._actor

    def now(self) -> datetime:
        return clock.now(clock.zone(self.config.timezone))


def open_session(repo: str | None, as_agent: str | None) -> Session:
    root = store.find_root(repo)
    journal.ensure_merge_driver(root)
    transaction.settle(root)
    return Session(root, configmod.load(root, store.state_dir(root)), as_agent)


def resolve_actor(root: Path, config: Config, as_agent: str | None
                  ) -> tuple[str, journal.Author]:
    """Who is acting: --as, else CASECTL_AGENT, else the git identity matched
    against the agents in casectl.yaml. With no agents listed, one person
    works alone under their git identity (or their login name)."""
    chosen = as_agent or os.environ.get("CASECTL_AGENT") or None
    if chosen:
        # An agent named by --as is looked up like one named by --to: an
        # unknown one is not found (exit 3), whichever option named it.
        chosen = config.check_agent(chosen)
        if config.agents:
            agent = config.agents[chosen]
            _require_active(config, chosen)
            return chosen, journal.Author(agent["name"], agent["email"])
        name, email = journal.identity(root)
        return chosen, journal.Author(name or chosen, email or f"{chosen}@localhost")
    name, email = journal.identity(root)
    if config.agents:
        for agent_id, agent in sorted(config.agents.items()):
            if email and agent["email"].casefold() == email.casefold():
                _require_active(config, agent_id)
                return agent_id, journal.Author(agent["name"], agent["email"])
        for agent_id, agent in sorted(config.agents.items()):
            if name and agent["name"].casefold() == name.casefold():
                _require_active(config, agent_id)
                return agent_id, journal.Author(agent["name"], agent["email"])
        who = f"{name or '?'} <{email or '?'}>" if (name or email) else "no git identity"
        raise RuleViolation(
            "known-agent", f"you ({who}) are not an agent in {configmod.CONFIG_FILE}",
            "act as an agent with --as AGENT or CASECTL_AGENT=AGENT, or have an admin add you: "
            "casectl agent add ID --name NAME --email ADDR")
    try:
        login = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry, as in some containers
        login = "agent"
    agent_id = slugify((email or "").split("@")[0] or name or login, "agent")
    return agent_id, journal.Author(name or login, email or f"{login}@localhost")


def _require_active(config: Config, agent_id: str) -> None:
    """A deactivated agent cannot act, however they are named (--as,
    CASECTL_AGENT or their git identity)."""
    if not config.is_active(agent_id):
        raise RuleViolation("active-agent", f"agent {agent_id} is deactivated and cannot act",
                            f"act as an active agent, or have them reactivated: "
                            f"{config.reactivation(agent_id)}")

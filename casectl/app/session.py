"""The session of one command: the repository, its configuration and who
is acting, resolved once."""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Mapping

from .. import clock, config as configmod, journal, roles, store, transaction, yamlio
from ..config import Config
from ..errors import InvalidData, RuleViolation
from .inputs import slugify


@dataclass
class Session:
    """A repository, its configuration and who is acting, resolved once per
    command. The actor is looked up only when an action needs it."""

    root: Path
    config: Config
    as_agent: str | None = None
    _actor: tuple[str, journal.Author] | None = field(default=None, repr=False)
    _user: journal.GitUser | None = field(default=None, repr=False)

    @property
    def state(self) -> Path:
        return store.state_dir(self.root)

    def user(self) -> journal.GitUser:
        """Who runs casectl, as git knows them (one git process, once)."""
        if self._user is None:
            self._user = journal.git_user(self.root)
        return self._user

    def actor(self) -> tuple[str, journal.Author]:
        if self._actor is None:
            self._actor = resolve_actor(self.config, self.as_agent, self.user())
        return self._actor

    def acting_by_default(self, agent: str) -> Session:
        """This session acting as ``agent`` unless --as or CASECTL_AGENT
        named someone: a service that has an identity of its own (mail
        intake's mail.intake.agent) acts as it without being told, and the
        usual checks of who may act as whom still apply."""
        if self.as_agent or os.environ.get("CASECTL_AGENT"):
            return self
        return Session(self.root, self.config, agent, _user=self._user)

    def now(self) -> datetime:
        return clock.now(clock.zone(self.config.timezone))

    def commit_files(self, files: Mapping[str, str | bytes | None], message: str,
                     when: datetime | None = None, **options: Any) -> str:
        """transaction.commit_files as this session: authored by the acting
        agent, committed by the person who ran casectl (their git identity,
        else the agent), signed when their git config says commit.gpgsign."""
        _, author = self.actor()
        user = self.user()
        check = None if configmod.CONFIG_FILE in files else self._require_committed_agents
        return transaction.commit_files(self.root, files, message, author, when or self.now(),
                                        committer=user.author or author, sign=user.sign,
                                        check_base=check, **options)

    def _require_committed_agents(self, base: journal.Base) -> None:
        """Who may act was decided under the agents of the casectl.yaml this
        session read; `casectl audit` and the server hook judge the commit
        under the committed one (HEAD's). A hand edit of the agents not
        committed yet (a role granted, an agent added) must not let the
        client make a commit they would find against the rules. Other
        uncommitted settings (a calendar) are the user's to try out. A
        commit of casectl.yaml itself already requires it committed."""
        path = self.root / configmod.CONFIG_FILE
        committed = base.blob(configmod.CONFIG_FILE)
        try:
            text: bytes | None = path.read_bytes()
        except FileNotFoundError:
            text = None
        if text is not None and committed is not None and journal.blob_id(text) == committed:
            return  # the usual case: as committed, and no git process to know it
        data: Any = {}
        if committed is not None:
            blob = journal.read_blobs_by_id(self.root, [committed]).get(committed)
            try:
                data = yamlio.load(blob.decode("utf-8"), configmod.CONFIG_FILE) if blob else {}
            except (InvalidData, UnicodeDecodeError):
                data = {}
        if roles.agents_of(data) != roles.agents_of(self.config.data):
            raise RuleViolation(
                "committed-agents", f"{configmod.CONFIG_FILE} has changes to its agents that "
                "are not committed, and who may act is judged by the committed file (as "
                "'casectl audit' and the server hook judge it); nothing was changed",
                "have an admin make them with 'casectl agent add/set' (a permission-admin "
                "for roles), or discard them: git checkout -- casectl.yaml")


def open_session(repo: str | None, as_agent: str | None) -> Session:
    root = store.find_root(repo)
    journal.ensure_merge_driver(root)
    transaction.settle(root)
    return Session(root, configmod.load(root, store.state_dir(root)), as_agent)


def resolve_actor(config: Config, as_agent: str | None, user: journal.GitUser
                  ) -> tuple[str, journal.Author]:
    """Who is acting: --as, else CASECTL_AGENT, else the git identity matched
    against the agents in casectl.yaml. With no agents listed, one person
    works alone under their git identity (or their login name).

    Once roles bind (roles.enforced), a person whose git identity is set
    acts in another agent's name only as an admin or a service identity:
    the commit's committer shows who ran casectl, and this keeps --as from
    being a way round the role table. With no git identity set there is
    nobody to compare, and --as says who is at the keyboard."""
    name, email = user.name, user.email
    chosen = as_agent or os.environ.get("CASECTL_AGENT") or None
    if chosen:
        # An agent named by --as is looked up like one named by --to: an
        # unknown one is not found (exit 3), whichever option named it.
        chosen = config.check_agent(chosen)
        if config.agents:
            agent = config.agents[chosen]
            _require_active(config, chosen)
            _require_may_act_as(config, chosen, user)
            return chosen, journal.Author(agent["name"], agent["email"])
        return chosen, journal.Author(name or chosen, email or f"{chosen}@localhost")
    if config.agents:
        runner = _agent_of(config, user)
        if runner is not None:
            _require_active(config, runner)
            agent = config.agents[runner]
            return runner, journal.Author(agent["name"], agent["email"])
        raise RuleViolation(
            "known-agent", f"you ({_who(user)}) are not an agent in {configmod.CONFIG_FILE}",
            "act as an agent with --as AGENT or CASECTL_AGENT=AGENT, or have an admin add you: "
            "casectl agent add ID --name NAME --email ADDR")
    try:
        login = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry, as in some containers
        login = "agent"
    agent_id = slugify((email or "").split("@")[0] or name or login, "agent")
    return agent_id, journal.Author(name or login, email or f"{login}@localhost")


def _agent_of(config: Config, user: journal.GitUser) -> str | None:
    """The agent a git identity is: by e-mail, else by name."""
    if user.email:
        by_email = roles.agent_by_email(config.data, user.email)
        if by_email is not None:
            return by_email
    for agent_id, agent in sorted(config.agents.items()):
        if user.name and agent["name"].casefold() == user.name.casefold():
            return agent_id
    return None


def _who(user: journal.GitUser) -> str:
    if not (user.name or user.email):
        return "no git identity"
    return f"{user.name or '?'} <{user.email or '?'}>"


def _require_may_act_as(config: Config, chosen: str, user: journal.GitUser) -> None:
    if not (user.name or user.email) or not roles.enforced(config.data):
        return
    runner = _agent_of(config, user)
    if runner == chosen:
        return
    if runner is None:
        raise RuleViolation(
            "act-as", f"you ({_who(user)}) are not an agent in {configmod.CONFIG_FILE}, so "
            f"you may not act as {chosen}",
            "set your git identity to your agent's address (git config user.email ADDR), "
            "or have an admin add you as an agent (with service: true for a script)")
    if not roles.is_active(config.data, runner):
        raise RuleViolation(
            "act-as", f"agent {runner} is deactivated, so may not act as {chosen} (nor as "
            "themselves)", f"run the command as an active agent, or have them reactivated: "
            f"{config.reactivation(runner)}")
    if not roles.may_impersonate(config.data, runner):
        raise RuleViolation(
            "act-as", f"agent {runner} may not act as {chosen}: only admins and service "
            "identities act in another agent's name",
            f"run the command as yourself (without --as), or ask {chosen} to")


def _require_active(config: Config, agent_id: str) -> None:
    """A deactivated agent cannot act, however they are named (--as,
    CASECTL_AGENT or their git identity)."""
    if not config.is_active(agent_id):
        raise RuleViolation("active-agent", f"agent {agent_id} is deactivated and cannot act",
                            f"act as an active agent, or have them reactivated: "
                            f"{config.reactivation(agent_id)}")

"""The desk: making a case repository and administering casectl.yaml
(teams, agents). Every change to the desk is a commit, like an action."""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from .. import clock, config as configmod, journal, roles, schema, store, transaction, yamlio
from ..config import Config
from ..errors import InvalidData, OperationFailed, RuleViolation, UsageError
from .actions import refuse_invalid, role_refusal
from .inputs import clean_line, clean_name, clean_phone, email_address
from .session import Session

# Case files and the desk's configuration merge through casectl's driver.
# The files mail brought (attachments/, issue 8) are bytes as they came:
# never converted at line ends (their names are their sha256), and shown
# by `git log -p` as "Bin", not as a 10 MB message in base64.
GITATTRIBUTES = ("cases/**/*.yaml merge=casectl\ncasectl.yaml merge=casectl\n"
                 "attachments/** binary\n")


def init(directory: str | None, desk_name: str | None, timezone: str | None,
         existing: bool = False, phone: str | None = None,
         country: str | None = None, ci: str | None = None) -> Path:
    """Lay out a case repository (making the git repository if needed).

    In a new or empty directory, or an empty git repository; a directory
    with files or a git repository with history only with ``existing``
    (most likely the wrong directory otherwise); never inside another case
    repository."""
    root = Path(directory or ".").expanduser().resolve()
    if (root / configmod.CONFIG_FILE).exists():
        raise RuleViolation("init-once", f"{root} is already a case repository",
                            f"give it the CI file with 'casectl ci {ci}'" if ci else
                            "use it as it is, or choose another directory")
    if root.exists() and not root.is_dir():
        raise UsageError(f"{root} exists and is not a directory",
                         "name a new directory, or an empty one")
    enclosing = store.enclosing_root(root.parent)
    if enclosing is not None:
        # Commands run in the inner one would find it, and those run from
        # the outer one's top would not: two desks tangled in one tree.
        raise RuleViolation("no-nested-repository",
                            f"{root} is inside the case repository {enclosing}",
                            f"choose a directory outside {enclosing}")
    clock.zone(timezone or "Europe/Oslo")  # refuse an unknown zone before writing anything
    desk_phone = clean_phone(phone)  # likewise a phone number that is none
    if country is not None:
        from ..publicholidays import check_country

        country = check_country(country)
    if ci is not None:
        from . import ci as ci_files

        ci_path = ci_files.PROVIDERS[ci]
        if (root / ci_path).exists():  # with --existing: the directory's own, kept
            raise RuleViolation("ci-file-kept", f"{root / ci_path} exists already",
                                f"init without --ci, then merge 'casectl ci {ci} --print' "
                                "into it")
    if root.is_dir() and not existing:
        found = _contents(root)
        if found:
            raise RuleViolation(
                "init-in-empty", f"{root} {found}",
                "casectl init makes a case repository in a new or empty directory: name a "
                "new one (casectl init DIR), or add --existing to lay casectl out here anyway "
                "(what is there stays, untouched and uncommitted)")
    try:
        root.mkdir(parents=True, exist_ok=True)
        writable = os.access(root, os.W_OK | os.X_OK)
    except OSError as exc:
        raise OperationFailed(f"cannot make the directory {root}: {exc.strerror}",
                              "choose a path you can create (its parent must be a directory "
                              "you may write in)") from None
    if not writable:
        raise OperationFailed(f"cannot write in {root}",
                              "choose a directory you may write in, or ask for write access")
    if not journal.is_work_tree(root):
        journal.init(root)
    else:
        journal.git(root, "config", "core.splitIndex", "true")
    journal.ensure_merge_driver(root)
    config = configmod.default_config(desk_name or root.name, timezone or "Europe/Oslo")
    if desk_phone:
        config["desk"]["phone"] = desk_phone  # urgent cases are phoned in to it [seed 003]
    if country is not None:
        # The calendar and seed 004's service levels, written out so the
        # desk sees them and edits them where they are.
        config.update(configmod.default_service_levels(country))
    files = {configmod.CONFIG_FILE: yamlio.dump(config),
             ".gitattributes": GITATTRIBUTES,
             f"{store.CASES_DIR}/.gitkeep": ""}
    for name in schema.SCHEMA_FILES:
        files[f"schemas/{name}"] = (schema.PACKAGED_SCHEMAS / name).read_text(encoding="utf-8")
    if ci is not None:  # the CI file that checks every push (app/ci.py), in the init commit
        files[ci_path] = ci_files.workflow(ci)
    session = Session(root, configmod.Config(config))
    agent, _ = session.actor()
    with store.locked(root):
        transaction.recover(root)
        session.commit_files(files, journal.message(
            f"casectl init: {config['desk']['name']}", [("Action", "init"), ("Agent", agent)]),
            require_committed=False)
    return root


def _contents(root: Path) -> str | None:
    """What makes ``root`` more than an empty directory (or an empty git
    repository), said for the user; None when it is empty."""
    try:
        names = sorted(name for name in os.listdir(root) if name != ".git")
    except OSError as exc:
        raise OperationFailed(f"cannot read the directory {root}: {exc.strerror}",
                              "choose a directory you may read and write") from None
    if names:
        shown = ", ".join(names[:3]) + (", ..." if len(names) > 3 else "")
        return f"is not empty (it holds {shown})"
    if (root / ".git").exists() and journal.is_work_tree(root) and journal.head(root):
        return "is a git repository with commits"
    return None


def _change_config(session: Session, action: str, subject: str,
                   change: Callable[[Config], None]) -> Config:
    with store.locked(session.root):
        transaction.recover(session.root)
        config = configmod.load(session.root, session.state)
        session.config = config
        agent, _ = session.actor()
        before = copy.deepcopy(config.data)
        change(config)
        refusal = roles.config_refusal(before, config.data, agent)
        if refusal:
            raise role_refusal(refusal, on_case=False)
        found = configmod.problems(config.data, session.root, session.state)
        if found:
            refuse_invalid(configmod.CONFIG_FILE, *found[0], session=session,
                           schema_name=schema.CONFIG_SCHEMA, document=config.data)
        session.commit_files({configmod.CONFIG_FILE: configmod.dump(config)},
                             journal.message(f"casectl {action}: {subject}",
                                             [("Action", action), ("Agent", agent)]))
    return config


def add_team(session: Session, team_id: str, name: str | None, email: str | None,
             questions: Mapping[str, str] | None = None, triage: bool = False
             ) -> dict[str, Any]:
    """A team; ``questions`` (key -> text) are its triage questions,
    ``triage`` makes it the desk's triage team."""
    team_id = configmod.check_slug("team", team_id)
    entry: dict[str, Any] = {
        "name": clean_name(name, "the team's name") if name is not None else team_id,
        "email": email_address(email, "the team's e-mail address")
        if email is not None else None}
    if questions:
        entry["questions"] = _questions(questions)
    if triage:
        entry["triage"] = True

    def change(config: Config) -> None:
        if team_id in config.teams:
            raise RuleViolation("unique-team", f"team {team_id!r} exists already",
                                "choose another id")
        config.teams[team_id] = entry
        _check_triage_team(config, team_id)
    _change_config(session, "team-add", team_id, change)
    return {"id": team_id, **entry}


def set_team(session: Session, team_id: str, *, name: str | None = None,
             email: str | None = None, questions: Mapping[str, str] | None = None,
             remove_questions: Sequence[str] = (), triage: bool | None = None
             ) -> dict[str, Any]:
    """Change a team: its name, address, triage questions (added or
    reworded by key, or removed), and whether it is the triage team.
    Cases keep the answers they have; a new question is asked of cases
    routed to the team from now on."""
    team_id = configmod.check_slug("team", team_id)
    new_name = clean_name(name, "the team's name") if name is not None else None
    new_email = email_address(email, "the team's e-mail address") if email is not None else None
    added = _questions(questions or {})
    removed = [configmod.check_slug("question key", key) for key in remove_questions]
    both = sorted(set(added) & set(removed))
    if both:
        raise UsageError(f"question {both[0]} is both set and removed",
                         "give --question or --remove-question for it, not both")
    if new_name is None and new_email is None and not added and not removed and triage is None:
        raise UsageError("nothing to change", "give --name, --email, --question, "
                         "--remove-question, --triage or --no-triage")
    result: dict[str, Any] = {}

    def change(config: Config) -> None:
        entry = config.team(team_id)
        before = dict(entry, questions=dict(entry.get("questions") or {}))
        if new_name is not None:
            entry["name"] = new_name
        if new_email is not None:
            entry["email"] = new_email
        asked = dict(entry.get("questions") or {})
        unknown = [key for key in removed if key not in asked]
        if unknown:
            raise RuleViolation("known-triage-question",
                                f"team {team_id} has no triage question {unknown[0]!r}",
                                "known question keys: " + (", ".join(sorted(asked)) or "none"))
        for key in removed:
            del asked[key]
        asked.update(added)
        if asked:
            entry["questions"] = asked
        else:
            entry.pop("questions", None)
        if triage is True:
            entry["triage"] = True
        elif triage is False:
            entry.pop("triage", None)
        _check_triage_team(config, team_id)
        if dict(entry, questions=dict(entry.get("questions") or {})) == before:
            raise RuleViolation("team-set-changes-something",
                                f"team {team_id} is like that already", "nothing was changed")
        result.update(id=team_id, **entry)
    _change_config(session, "team-set", team_id, change)
    return result


def _questions(questions: Mapping[str, str]) -> dict[str, str]:
    """Triage questions as stored: keys like ids, texts on one line."""
    return {configmod.check_slug("question key", key):
            clean_line(text, f"the question {key}", required=True, limit=2000) or ""
            for key, text in questions.items()}


def _check_triage_team(config: Config, team_id: str) -> None:
    """The desk has one triage team (seed 001's Trakta, the leadership
    team): where cases that need clarification go first."""
    others = sorted(t for t, entry in config.teams.items() if entry.get("triage")
                    and t != team_id)
    if others and config.teams[team_id].get("triage"):
        raise RuleViolation("one-triage-team", f"team {others[0]} is the desk's triage team "
                            "already", f"first: casectl team set {others[0]} --no-triage")


def add_agent(session: Session, agent_id: str, name: str, email: str,
              teams: Sequence[str], roles: Sequence[str], service: bool = False
              ) -> dict[str, Any]:
    """An agent; ``service`` makes it a service identity (a script, the mail
    intake) that may act in other agents' names."""
    agent_id = configmod.check_slug("agent", agent_id)
    entry: dict[str, Any] = {
        "name": clean_name(name, "the agent's name"),
        "email": email_address(email, "the agent's e-mail address"),
        "teams": list(dict.fromkeys(configmod.check_slug("team", t) for t in teams)),
        "roles": list(dict.fromkeys(roles))}
    if service:
        entry["service"] = True

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


def upgrade(repo: str | None, as_agent: str | None) -> list[str]:
    """Take this casectl's schemas into the desk's schemas/, one commit; the
    files it changed (none: the desk's are current).

    A desk keeps the schemas `init` copied, and its CI validates against
    them, so a newer casectl's features (new events, new settings) are
    refused until the desk takes the new ones. casectl.yaml may already use
    what only the new schemas allow, so it is read without validation here:
    only its agents are needed, to know who commits."""
    root = store.find_root(repo)
    transaction.settle(root)
    files = {}
    for name in schema.SCHEMA_FILES:
        packaged = (schema.PACKAGED_SCHEMAS / name).read_text(encoding="utf-8")
        path = root / "schemas" / name
        current = path.read_text(encoding="utf-8") if path.is_file() else None
        if current != packaged:
            files[f"schemas/{name}"] = packaged
    attributes = _upgraded_attributes(root)
    if attributes is not None:
        files[".gitattributes"] = attributes
    if not files:
        return []
    path = root / configmod.CONFIG_FILE
    data = yamlio.read_mapping(path, configmod.CONFIG_FILE)
    if not isinstance(data.get("desk"), dict) or not isinstance(data.get("agents", {}), dict):
        raise InvalidData(configmod.CONFIG_FILE, "desk or agents is not a mapping",
                          field="desk", hint="correct casectl.yaml first")
    session = Session(root, Config(data, path), as_agent)
    agent, _ = session.actor()
    refusal = roles.lacks_role(data, agent, roles.CONFIG_ROLE, "take new schemas into the desk")
    if refusal:
        raise role_refusal(refusal, on_case=False)
    from .. import __version__

    with store.locked(root):
        transaction.recover(root)
        session.commit_files(files, journal.message(
            f"casectl upgrade: schemas of casectl {__version__}"
            if any(name.startswith("schemas/") for name in files)
            else "casectl upgrade: merge casectl.yaml with casectl's driver",
            [("Action", "upgrade"), ("Agent", agent)]))
    return sorted(files)


def _upgraded_attributes(root: Path) -> str | None:
    """.gitattributes with the lines init writes today added (a desk made
    before casectl.yaml was merged by the driver lacks that line), or None
    when it has them all. The desk's own lines stay as they are."""
    path = root / ".gitattributes"
    try:
        current = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        current = ""
    have = {line.strip() for line in current.splitlines()}
    missing = [line for line in GITATTRIBUTES.splitlines()
               if line not in have and "/" + line not in have]
    if not missing:
        return None
    return current + ("\n" if current and not current.endswith("\n") else "") + \
        "".join(line + "\n" for line in missing)

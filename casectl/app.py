"""One function per action: lock, load, check the rules, append events,
replay, write, commit. The command line calls these and renders results;
nothing here knows about Click.
"""

from __future__ import annotations

import getpass
import os
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, NoReturn, Sequence

from . import clock, config as configmod, ids, journal, model, store, transaction, workflow, yamlio
from .config import Config
from .errors import InvalidData, NotARepository, RuleViolation, UsageError
from .model import Case

if TYPE_CHECKING:
    from . import schema

MAX_TEXT = 100_000
MAX_SUBJECT = 300


# ---------------------------------------------------------------- the session

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
    transaction.settle(root)
    return Session(root, configmod.load(root, store.state_dir(root)), as_agent)


def _slugify(text: str) -> str:
    slug = re.sub(r"[^a-z0-9._-]+", "-", text.strip().lower()).strip("-._")
    return slug[:64] or "agent"


def resolve_actor(root: Path, config: Config, as_agent: str | None
                  ) -> tuple[str, journal.Author]:
    """Who is acting: --as, else CASECTL_AGENT, else the git identity matched
    against the agents in casectl.yaml. With no agents listed, one person
    works alone under their git identity (or their login name)."""
    chosen = as_agent or os.environ.get("CASECTL_AGENT") or None
    if chosen:
        configmod.check_slug("agent", chosen)
        if config.agents:
            if chosen not in config.agents:
                raise RuleViolation(
                    "known-agent", f"{chosen!r} is not an agent in {configmod.CONFIG_FILE}",
                    "act as one of: " + ", ".join(sorted(config.agents)) +
                    " (or have an admin run 'casectl agent add')")
            agent = config.agents[chosen]
            return chosen, journal.Author(agent["name"], agent["email"])
        name, email = journal.identity(root)
        return chosen, journal.Author(name or chosen, email or f"{chosen}@localhost")
    name, email = journal.identity(root)
    if config.agents:
        for agent_id, agent in sorted(config.agents.items()):
            if email and agent["email"].casefold() == email.casefold():
                return agent_id, journal.Author(agent["name"], agent["email"])
        for agent_id, agent in sorted(config.agents.items()):
            if name and agent["name"].casefold() == name.casefold():
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
    agent_id = _slugify((email or "").split("@")[0] or name or login)
    return agent_id, journal.Author(name or login, email or f"{login}@localhost")


# ---------------------------------------------------------------- text input

def clean_text(value: str | None, what: str, *, required: bool = False,
               limit: int = MAX_TEXT) -> str | None:
    """Text from the command line or stdin, normalised for the file: line
    endings unified, outer blank lines dropped; empty and huge are refused."""
    if value is None:
        if required:
            raise UsageError(f"{what} is required")
        return None
    text = value.replace("\r\n", "\n").replace("\r", "\n").strip("\n")
    if not text.strip():
        if required:
            raise UsageError(f"{what} is empty", "write what happened in a few words")
        return None
    if len(text) > limit:
        raise UsageError(f"{what} is {len(text):,} characters; the limit is {limit:,}",
                         "shorten it, or attach long logs to the case elsewhere and refer to them")
    if "\x00" in text:
        raise UsageError(f"{what} contains a NUL character", "send plain text")
    return text


def clean_subject(value: str | None) -> str:
    text = clean_text(value, "the subject", required=True, limit=MAX_SUBJECT)
    assert text is not None
    return " ".join(text.split())  # one line: it becomes a commit subject


_NAMED_ADDRESS = re.compile(r"^\s*\"?(?P<name>[^<>\"]*?)\"?\s*<(?P<email>[^<>\s@]+@[^<>\s@]+)>\s*$")
_BARE_ADDRESS = re.compile(r"^\s*<?(?P<email>[^<>\s@]+@[^<>\s@]+)>?\s*$")


def parse_reporter(value: str | None, phone: str | None, org: str | None
                   ) -> dict[str, str | None] | None:
    """The reporter from "Name <email>", a bare address or a bare name. Mail
    programs write "Nordmann, Ola <ola@...>"; the comma is part of the name."""
    if not (value or phone or org):
        return None
    name, email = None, None
    if value and value.strip():
        named = _NAMED_ADDRESS.match(value)
        bare = _BARE_ADDRESS.match(value)
        if named:
            name, email = named["name"].strip() or None, named["email"]
        elif bare:
            email = bare["email"]
        elif "<" in value or ">" in value or "@" in value:
            raise UsageError(f"cannot read the reporter {value!r}",
                             "write it as \"Name <name@example.org>\", an address, or a name")
        else:
            name = " ".join(value.split())
    return {"name": name, "email": email, "phone": (phone or "").strip() or None,
            "org": (org or "").strip() or None}


def parse_fields(pairs: Sequence[str]) -> dict[str, str]:
    fields: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip().lower()
        if not sep or not configmod.SLUG_RE.match(key):
            raise UsageError(f"--field {pair!r} is not KEY=VALUE",
                             "write it like --field epj=12345 --field kommune=Bergen")
        fields[key] = value.strip()
    return fields


# ---------------------------------------------------------------- loading

def _validator(session_root: Path | None, name: str) -> "schema.Validator":
    from . import schema

    schema_dir = session_root / "schemas" if session_root else None
    cache = store.state_dir(session_root) if session_root else None
    return schema.Validator(schema.load_schema(schema_dir, name), cache)


def load_case(session: Session, case_id: str) -> tuple[str, Case]:
    """A case from the working tree, checked: schema, then header == replay."""
    from . import schema

    path = store.find_case_file(session.root, case_id)
    rel = path.relative_to(session.root).as_posix()
    doc = store.read_document(path, rel)
    problems = _validator(session.root, schema.CASE_SCHEMA).problems(doc, rel)
    if not problems:
        problems = schema.semantic_problems(doc, rel, path.stem,
                                            (path.parent.parent.name, path.parent.name))
    if problems:
        more = f" (and {len(problems) - 1} more problems; run 'casectl validate {rel}')" \
            if len(problems) > 1 else ""
        raise InvalidData(rel, problems[0].message + more, field=problems[0].field)
    return rel, doc


# ---------------------------------------------------------------- changing cases

ACTION_SUBJECTS = {"new": "new", "assign": "assign", "take": "take", "handover": "handover",
                   "worklog": "log", "note": "note", "email": "email", "priority": "priority",
                   "start": "start", "wait": "wait", "solve": "solve", "close": "close",
                   "reject": "reject", "reopen": "reopen"}


def _events(session: Session, previous: Sequence[model.Event],
            steps: Sequence[workflow.Step]) -> list[model.Event]:
    """Stamp steps as events. Each is at least a millisecond after the one
    before, so the order they were appended in is the order replay sees,
    even with a clock that stands still (tests) or steps back (NTP)."""
    actor, _ = session.actor()
    moment = session.now()
    last = max((datetime.fromisoformat(e["at"]) for e in previous), default=None)
    events = []
    for kind, data in steps:
        if last is not None and moment <= last:
            moment = (last + timedelta(milliseconds=1)).astimezone(moment.tzinfo)
        events.append(model.make_event(ids.new_event_id(moment), clock.isoformat(moment), actor,
                                       kind, data))
        last = moment
    return events


def _commit_message(case: Case, action: str, agent: str, events: Sequence[model.Event]) -> str:
    body = "\n\n".join(model.event_text(e) for e in events if e["kind"] != "created")
    lines = body.splitlines()
    if len(lines) > 20:
        body = "\n".join(lines[:20] + ["[...]"])
    return journal.message(f"{case['id']} {action}: {case['subject']}",
                           [("Case", case["id"]), ("Action", action), ("Agent", agent)], body)


def _refuse_invalid(what: str, field_name: str, message: str) -> NoReturn:
    """The last check before writing: whatever the command line let through,
    no file that fails its schema is committed."""
    if len(message) > 160:  # jsonschema quotes the whole offending value
        message = message[:80] + " ... " + message[-60:]
    raise UsageError(f"{what} would not be valid: {field_name}: {message}",
                     "shorten or correct that value; nothing was written")


def _save(session: Session, rel: str, case: Case, action: str,
          events: Sequence[model.Event]) -> None:
    """Check the new document against the schema, then write and commit it."""
    from . import schema

    problems = _validator(session.root, schema.CASE_SCHEMA).problems(case, rel)
    if problems:
        _refuse_invalid("the case", problems[0].field, problems[0].message)
    agent, author = session.actor()
    moment = datetime.fromisoformat(events[-1]["at"])
    transaction.commit_files(session.root, {rel: yamlio.dump(case)},
                             _commit_message(case, action, agent, events), author, moment)


def change_case(session: Session, case_id: str, action: str,
                decide: Callable[[Case], list[workflow.Step]]) -> Case:
    """The shape of every action on an existing case."""
    with store.locked(session.root):
        transaction.recover(session.root)
        rel, case = load_case(session, case_id)
        steps = decide(model.header_of(case))
        events = _events(session, case["log"], steps)
        updated = model.with_header(case_id, case["log"] + events)
        _save(session, rel, updated, action, events)
    return updated


def new_case(session: Session, *, subject: str | None, description: str | None,
             type_: str | None, category: str | None, reporter: str | None,
             phone: str | None, org: str | None, priority: str | None, team: str | None,
             assignee: str | None, fields: Sequence[str], notify: bool, start: bool) -> Case:
    """Register a case. Whoever registers it is responsible unless told otherwise."""
    actor, _ = session.actor()
    config = session.config
    assignee = config.check_agent(assignee) if assignee else actor
    team = config.check_team(team) if team else config.home_team(assignee)
    data: dict[str, Any] = {
        "subject": clean_subject(subject),
        "description": clean_text(description, "the description"),
        "type": type_ or model.DEFAULT_TYPE,
        "category": config.check_category(category) if category else None,
        "priority": priority or model.DEFAULT_PRIORITY,
        "team": team, "assignee": assignee,
        "reporter": parse_reporter(reporter, phone, org),
        "notify": notify, "fields": parse_fields(fields),
    }
    if notify and not (data["reporter"] or {}).get("email"):
        raise RuleViolation("notify-needs-reporter-address",
                            "--notify needs the reporter's e-mail address",
                            "give it with --reporter \"Name <name@example.org>\"")
    steps = workflow.create(data, start)
    with store.locked(session.root):
        transaction.recover(session.root)
        case_id = _fresh_case_id(session)
        events = _events(session, [], steps)
        case = model.with_header(case_id, events)
        _save(session, store.case_relpath(case_id), case, "new", events)
    return case


def _fresh_case_id(session: Session) -> str:
    moment = session.now()
    for _ in range(100):
        case_id = ids.new_case_id(moment)
        if not (session.root / store.case_relpath(case_id)).exists():
            return case_id
    raise RuleViolation("unique-case-id", "could not find a free case id", "try again")


def assign(session: Session, case_id: str, to: str | None, team: str | None,
           note: str | None) -> Case:
    config = session.config
    if not to and not team:
        raise UsageError("say who gets the case", "use --to AGENT and/or --team TEAM")
    agent = config.check_agent(to) if to else None
    team_id = config.check_team(team) if team else None
    text = clean_text(note, "the note")

    def decide(case: Case) -> list[workflow.Step]:
        target_team = team_id
        if target_team is None and agent is not None:
            # An agent from another team brings the case into their team.
            moved = config.team_for(agent, case["team"])
            target_team = moved if moved != case["team"] else None
        return workflow.assign(case, agent, target_team, text)
    return change_case(session, case_id, "assign", decide)


def take(session: Session, case_id: str, note: str | None) -> Case:
    actor, _ = session.actor()
    text = clean_text(note, "the note")
    config = session.config
    return change_case(session, case_id, "take", lambda case: workflow.take(
        case, actor, config.team_for(actor, case["team"]), text))


def handover(session: Session, case_id: str, to: str, note: str | None) -> Case:
    config = session.config
    if config.agents or config.teams:
        kind = config.is_agent_or_team(to)
    else:
        kind = "agent"
        configmod.check_slug("agent", to)
    text = clean_text(note, "the handover note")
    if kind == "agent":
        def decide(case: Case) -> list[workflow.Step]:
            return workflow.handover(case, agent=to, team=None, note=text,
                                     agent_team=config.team_for(to, case["team"]))
    else:
        def decide(case: Case) -> list[workflow.Step]:
            return workflow.handover(case, agent=None, team=to, note=text,
                                     receivers=config.team_members(to))
    return change_case(session, case_id, "handover", decide)


def log(session: Session, case_id: str, text: str | None, *, internal: bool,
        email: bool) -> Case:
    if internal and email:
        raise UsageError("--internal and --email exclude each other",
                         "an e-mail goes to the reporter; an internal note never does")
    body = clean_text(text, "the log text", required=True)
    action = "email" if email else "note" if internal else "worklog"
    return change_case(session, case_id, ACTION_SUBJECTS[action],
                       lambda case: workflow.log_entry(case, body or "", internal=internal,
                                                       email=email))


def set_priority(session: Session, case_id: str, level: str, reason: str | None) -> Case:
    text = clean_text(reason, "the reason")
    return change_case(session, case_id, "priority",
                       lambda case: workflow.set_priority(case, level, text))


def change_status(session: Session, case_id: str, action: str, reason: str | None) -> Case:
    text = clean_text(reason, "the reason")
    return change_case(session, case_id, action,
                       lambda case: workflow.change_status(case, action, text))


def close(session: Session, case_id: str, solution: str | None, confirmed: bool) -> Case:
    text = clean_text(solution, "the solution")
    action = "close" if confirmed else "solve"
    return change_case(session, case_id, action,
                       lambda case: workflow.close(case, text, confirmed))


def reject(session: Session, case_id: str, reason: str | None) -> Case:
    text = clean_text(reason, "the reason")
    return change_case(session, case_id, "reject", lambda case: workflow.reject(case, text))


def reopen(session: Session, case_id: str, reason: str | None) -> Case:
    text = clean_text(reason, "the reason")
    return change_case(session, case_id, "reopen", lambda case: workflow.reopen(case, text))


# ---------------------------------------------------------------- reading

def show(session: Session, case_id: str) -> Case:
    return load_case(session, case_id)[1]


def list_cases(session: Session, *, statuses: Sequence[str] = (), scope: str = "open",
               team: str | None = None, assignee: str | None = None,
               priorities: Sequence[str] = (), types: Sequence[str] = (),
               category: str | None = None, sort: str = "priority",
               limit: int | None = None) -> tuple[list[dict[str, Any]], list[str]]:
    """Cases matching the filters, from the query index, and any warnings."""
    from . import index

    if assignee == "me":
        assignee = session.actor()[0]
    elif assignee is not None:
        session.config.check_agent(assignee)  # a typo must not look like an empty queue
    if team is not None:
        session.config.check_team(team)
    return index.query(session.root, statuses=statuses, scope=scope, team=team,
                       assignee=assignee, priorities=priorities, types=types,
                       category=category, sort=sort, limit=limit)


def search(session: Session, text: str, limit: int | None = None
           ) -> tuple[list[dict[str, Any]], list[str]]:
    from . import index

    if not text.strip():
        raise UsageError("nothing to search for", "give a word or two, e.g. casectl search DIPS")
    return index.search(session.root, text, limit=limit)


def history(session: Session, case_id: str) -> list[dict[str, Any]]:
    """The case's timeline: each event with the commit that recorded it, and
    commits that changed the file without adding an event (hand edits)."""
    rel, case = load_case(session, case_id)
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for commit in journal.file_history(session.root, rel):
        added = []
        if commit.content is not None:
            try:
                doc = yamlio.load(commit.content.decode("utf-8"), rel)
                added = [e for e in doc.get("log", []) if isinstance(e, dict)
                         and e.get("id") not in seen]
            except (InvalidData, UnicodeDecodeError, AttributeError):
                added = []
        trailer_action = _first(commit.trailers.get("Action"))
        base = {"commit": commit.sha[:10], "author": commit.author,
                "action": trailer_action or commit.subject}
        if not added:
            rows.append({**base, "at": commit.when.isoformat(), "event": None, "kind": None,
                         "by": None, "text": "commit changed the file without adding an event"
                         if commit.content is not None else "file deleted"})
        for event in added:
            seen.add(event["id"])
            rows.append({**base, "at": event["at"], "event": event["id"], "kind": event["kind"],
                         "by": event["by"], "text": model.describe_event(event)})
    for event in case["log"]:
        if event["id"] not in seen:
            rows.append({"commit": None, "author": None, "action": "(not committed)",
                         "at": event["at"], "event": event["id"], "kind": event["kind"],
                         "by": event["by"], "text": model.describe_event(event)})
    return rows


def _first(value: Any) -> str | None:
    if isinstance(value, list):
        return value[0] if value else None
    return value


# ---------------------------------------------------------------- the desk

def init(directory: str | None, desk_name: str | None, timezone: str | None) -> Path:
    """Lay out a case repository (making the git repository if needed)."""
    from . import schema

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
             ".gitattributes": "cases/**/*.yaml merge=casectl\n",
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
            _refuse_invalid(configmod.CONFIG_FILE, *found[0])
        transaction.commit_files(
            session.root, {configmod.CONFIG_FILE: configmod.dump(config)},
            journal.message(f"casectl {action}: {subject}",
                            [("Action", action), ("Agent", agent)]),
            author, session.now())
    return config


def add_team(session: Session, team_id: str, name: str | None, email: str | None
             ) -> dict[str, Any]:
    configmod.check_slug("team", team_id)
    entry = {"name": (name or team_id).strip(), "email": email}

    def change(config: Config) -> None:
        if team_id in config.teams:
            raise RuleViolation("unique-team", f"team {team_id!r} exists already",
                                "choose another id")
        config.teams[team_id] = entry
    _change_config(session, "team-add", team_id, change)
    return {"id": team_id, **entry}


def add_agent(session: Session, agent_id: str, name: str, email: str,
              teams: Sequence[str], roles: Sequence[str]) -> dict[str, Any]:
    configmod.check_slug("agent", agent_id)
    if "@" not in email:
        raise UsageError(f"{email!r} is not an e-mail address")
    entry = {"name": name.strip(), "email": email.strip(), "teams": list(dict.fromkeys(teams)),
             "roles": list(dict.fromkeys(roles))}

    def change(config: Config) -> None:
        if agent_id in config.agents:
            raise RuleViolation("unique-agent", f"agent {agent_id!r} exists already",
                                "choose another id")
        for team in entry["teams"]:
            config.team(team)
        config.agents[agent_id] = entry
    _change_config(session, "agent-add", agent_id, change)
    return {"id": agent_id, **entry}


# ---------------------------------------------------------------- validation

@dataclass
class ValidationReport:
    checked: int = 0
    problems: list[Any] = field(default_factory=list)  # schema.Problem

    @property
    def valid(self) -> bool:
        return not self.problems

    @property
    def invalid_files(self) -> int:
        return len({problem.file for problem in self.problems})

    def to_dict(self) -> dict[str, Any]:
        return {"valid": self.valid, "checked": self.checked,
                "invalid_files": self.invalid_files,
                "problems": [problem.to_dict() for problem in self.problems]}


PARALLEL_FROM = 2000  # below this, starting worker processes costs more than it saves
BATCH = 500


def validate(repo: str | None, paths: Sequence[str],
             progress: Callable[[int, int], None] | None = None) -> ValidationReport:
    """Check case files against the schema and the rules: header ==
    replay(log), file named by id, ids unique, closed cases solved, rejected
    ones reasoned. Without PATHs, the whole repository and its casectl.yaml.

    ``progress(done, total)`` is called as files are checked.
    """
    from concurrent.futures import ProcessPoolExecutor

    from . import schema

    root: Path | None
    try:
        root = store.find_root(repo)
    except NotARepository:
        if not paths:
            raise
        root = None
    report = ValidationReport()
    targets: list[Path] = []
    if not paths:
        assert root is not None
        targets = store.all_case_files(root)
        report.checked += 1
        try:
            configmod.load(root, store.state_dir(root))
        except InvalidData as exc:
            report.problems.append(schema.Problem(configmod.CONFIG_FILE, exc.field or "(file)",
                                                  exc.message, exc.line))
    for given in paths:
        path = Path(given)
        if path.is_dir():
            targets.extend(sorted(p for p in path.rglob("*.yaml") if p.name != "casectl.yaml"))
        elif path.is_file():
            targets.append(path)
        else:
            from .errors import NotFound
            raise NotFound(f"no such file or directory: {given}")
    schema_dir = _schema_dir_for(root, targets)
    cache_dir = store.state_dir(root) if root else None
    items = [(str(p), _label(p, root)) for p in targets]
    batches = [items[i:i + BATCH] for i in range(0, len(items), BATCH)]
    args = (str(schema_dir) if schema_dir else None, str(cache_dir) if cache_dir else None)
    if len(items) >= PARALLEL_FROM and (os.cpu_count() or 1) > 1:
        with ProcessPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
            results = pool.map(schema.check_batch, *zip(*[(*args, b) for b in batches]))
            report = _collect(report, results, len(items), progress)
    else:
        report = _collect(report, (schema.check_batch(*args, b) for b in batches),
                          len(items), progress)
    return report


def _collect(report: ValidationReport, results: Iterable[Any], total: int,
             progress: Callable[[int, int], None] | None) -> ValidationReport:
    from . import schema

    first_file: dict[str, str] = {}
    done = 0
    for batch in results:
        for label, case_id, problems in batch:
            report.checked += 1
            report.problems.extend(problems)
            if case_id is not None:
                if case_id in first_file:
                    report.problems.append(schema.Problem(
                        label, "id", f"case id {case_id} is also used by {first_file[case_id]}"))
                first_file.setdefault(case_id, label)
        done += len(batch)
        if progress:
            progress(done, total)
    return report


def _schema_dir_for(root: Path | None, targets: Sequence[Path]) -> Path | None:
    """The schemas a tree of files answers to: the repository's, else a
    schemas/ folder beside the nearest cases/ folder, else the package's."""
    if root is not None:
        return root / "schemas"
    for target in targets[:1]:
        for parent in target.resolve().parents:
            if (parent / "schemas" / "case.schema.json").is_file():
                return parent / "schemas"
    return None


def _label(path: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return path.resolve().relative_to(root).as_posix()
        except ValueError:
            pass
    return path.as_posix()

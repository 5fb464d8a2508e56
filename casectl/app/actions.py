"""Changing cases: one function per action. Each has the same shape (see
``change_case``): lock, load, check the rules, append events, replay,
write, commit."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Callable, Mapping, NoReturn, Protocol, Sequence

from .. import clock, config as configmod, ids, journal, model, protection, roles, schema, \
    store, transaction, workflow, yamlio
from ..errors import CasectlError, InvalidData, RuleViolation, UsageError
from ..model import Case, Reporter
from . import triage
from .schema_support import desk_is_older, older_schemas
from .inputs import clean_line, clean_phone, clean_subject, clean_text, email_address
from .session import Session


def validator(session: Session, name: str) -> schema.Validator:
    """The compiled validator of one of the repository's schemas."""
    return schema.Validator(schema.load_schema(session.root / "schemas", name), session.state)


def load_case(session: Session, case_id: str) -> tuple[str, Case]:
    """A case from the working tree, checked: schema, then header == replay.

    ``case_id`` is as typed: a full id or a unique prefix of one, resolved
    here so that every command taking an id accepts the same."""
    path = store.find_case_file(session.root, case_id)
    rel = path.relative_to(session.root).as_posix()
    try:
        doc = yamlio.read_mapping(path, rel)
        problems = validator(session, schema.CASE_SCHEMA).problems(doc, rel)
        if problems and desk_is_older(session.root / "schemas", schema.CASE_SCHEMA, doc):
            # A case written by a newer casectl (in another clone, say).
            raise older_schemas(schema.CASE_SCHEMA, f"what {rel} holds ({problems[0].field})")
        if not problems:
            problems = schema.semantic_problems(doc, rel, path.stem,
                                                (path.parent.parent.name, path.parent.name))
        if problems:
            more = f" (and {len(problems) - 1} more problems; run 'casectl validate {rel}')" \
                if len(problems) > 1 else ""
            raise InvalidData(rel, problems[0].message + more, field=problems[0].field)
    except InvalidData:
        _refuse_if_conflicted(session, rel)
        raise
    return rel, doc


def _refuse_if_conflicted(session: Session, rel: str) -> None:
    """A case file left with conflict markers (by a merge, rebase,
    cherry-pick or a `git stash pop`) is said to be that, not met with a
    YAML error. Asked only once the file failed to load."""
    if rel not in journal.unmerged_paths(session.root, rel):
        return
    operation = journal.operation_in_progress(session.root)
    how = operation.how_to_finish if operation else \
        "then mark it resolved with 'git add " + rel + "' (or take back git's version with " \
        "'git checkout HEAD -- " + rel + "')"
    raise RuleViolation(
        "repository-state", f"{rel} has unresolved merge conflicts"
        + (f" ({operation.name} is in progress)" if operation else ""),
        f"keep the events of both sides when resolving it; {how}")


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
    if protection.is_protected(case):
        # A protected person's case: the subject and texts stay out of the
        # commit message, which travels further than the file (server web
        # pages, mail notifications, CI logs).
        return journal.message(f"{case['id']} {action}: {protection.MARK}",
                               [("Case", case["id"]), ("Action", action), ("Agent", agent)])
    body = "\n\n".join(model.event_text(e) for e in events if e["kind"] != "created")
    lines = body.splitlines()
    if len(lines) > 20:
        body = "\n".join(lines[:20] + ["[...]"])
    return journal.message(f"{case['id']} {action}: {case['subject']}",
                           [("Case", case["id"]), ("Action", action), ("Agent", agent)], body)


def _require_role(session: Session, action: str, case: Case | None) -> None:
    refusal = roles.case_refusal(session.config.data, session.actor()[0], action, case)
    if refusal:
        raise role_refusal(refusal)


def role_refusal(refusal: str, on_case: bool = True) -> RuleViolation:
    """The one refusal for the role table's verdicts (roles.py)."""
    return RuleViolation("role", refusal,
                         "ask a permission-admin to grant the role (casectl agent set AGENT "
                         "--add-role ROLE; casectl agent list shows who holds which)"
                         + (", or have the case given to you or your team" if on_case else
                            ", or ask an agent who holds it"))


def refuse_invalid(what: str, field_name: str, message: str, *,
                   session: Session | None = None, schema_name: str = "",
                   document: Any = None) -> NoReturn:
    """The last check before writing: whatever the command line let through,
    no file that fails its schema is committed. When the desk's copy of the
    schema (``schema_name``) rejects the document and this casectl's own
    accepts it, the desk's schemas are older than the feature used: say how
    to take the new ones rather than blame the value."""
    if session is not None and desk_is_older(session.root / "schemas", schema_name, document):
        raise older_schemas(schema_name, f"what this command writes ({field_name})")
    if len(message) > 160:  # jsonschema quotes the whole offending value
        message = message[:80] + " ... " + message[-60:]
    raise UsageError(f"{what} would not be valid: {field_name}: {message}",
                     "shorten or correct that value; nothing was written")


class MailOut(Protocol):
    """The mail an action sends (app/outbox.py's Mailing): ``mark`` records
    its Message-ID in the steps before they are stamped; ``stage`` writes
    the message to the outbox's tmp/ before the commit, and what it returns
    is moved to the queue after the commit (``deliver``) or dropped when
    the commit fails (``discard``). Sending is never inside the lock."""

    def mark(self, before: Case | None, case_id: str,
             steps: list[workflow.Step]) -> list[workflow.Step]: ...

    def stage(self, case: Case, events: Sequence[model.Event]) -> Any: ...


def _save(session: Session, rel: str, case: Case, action: str,
          events: Sequence[model.Event], *, mail: MailOut | None = None,
          pinned: tuple[str, bytes] | None = None,
          files: Mapping[str, bytes] | None = None) -> None:
    """Check the new document against the schema, then write and commit it
    (``pinned``: see transaction.commit_files), with ``files`` (more
    repository-relative paths and their bytes: a mail's attachments) in the
    same commit; the action's ``mail`` staged before the commit and queued
    after it (the caller holds the lock)."""
    problems = validator(session, schema.CASE_SCHEMA).problems(case, rel)
    if problems:
        refuse_invalid("the case", problems[0].field, problems[0].message,
                       session=session, schema_name=schema.CASE_SCHEMA, document=case)
    agent, _ = session.actor()
    moment = datetime.fromisoformat(events[-1]["at"])
    staged = mail.stage(case, events) if mail is not None else None
    try:
        session.commit_files({**(files or {}), rel: yamlio.dump(case)},
                             _commit_message(case, action, agent, events), moment,
                             pinned=pinned)
    except BaseException:
        if staged is not None:
            staged.discard()
        raise
    if staged is not None:
        staged.deliver()


def change_case(session: Session, case_id: str, action: str,
                decide: Callable[[Case], list[workflow.Step]], *,
                files: Mapping[str, bytes] | None = None,
                mail: MailOut | None = None) -> Case:
    """The shape of every action on an existing case. ``files``: more
    repository-relative paths and their bytes, committed with the event
    (the attachments a reply by mail brought, which its event lists).
    ``mail``: the mail the action sends, queued with its commit (see
    MailOut)."""
    session.actor()  # who acts is settled first: a refused agent hears that, not a case rule
    with store.locked(session.root):
        transaction.recover(session.root)
        rel, case = load_case(session, case_id)
        try:
            _require_role(session, action, model.header_of(case))
            # The header and the log: some rules count events (contact attempts
            # since the case was solved), not just the state replay left.
            before = {**model.header_of(case), "log": case["log"]}
            steps = decide(before)
            if mail is not None:
                steps = mail.mark(before, case["id"], steps)
            events = _events(session, case["log"], steps)
            # The file's own id (checked equal to its name), not the prefix typed.
            updated = model.with_header(case["id"], case["log"] + events)
            _save(session, rel, updated, action, events, mail=mail, files=files)
        except CasectlError as refused:
            _scrub_for_outsider(session, case, refused)
            raise
    return updated


def _scrub_for_outsider(session: Session, case: Case, error: CasectlError) -> None:
    """A refusal on a protected person's case, told to one who may not see
    it, quotes none of its texts (a rule naming the open tasks by subject):
    the message keeps its ids and counts, the person's words read as the
    marker. Changed in place, so its class, rule and exit code stay."""
    if not protection.is_protected(case):
        return
    from . import protected_views

    if protected_views.may_see(session, protected_views.viewer(session), case):
        return
    hidden = protection.hidden_texts(case)
    error.message = protection.scrubbed(error.message, hidden)
    error.hint = protection.scrubbed(error.hint, hidden) if error.hint else error.hint
    error.args = (error.message,)


def new_case(session: Session, *, subject: str | None, description: str | None = None,
             type_: model.CaseType | None = None, category: str | None = None,
             reporter: Reporter | None = None, priority: model.Priority | None = None,
             team: str | None = None, assignee: str | None = None,
             fields: Mapping[str, str] | None = None, notify: bool = False,
             start: bool = False, intake: triage.Intake = triage.NO_INTAKE,
             sla: str | None = None, protected: bool = False,
             queued: bool = False, files: Mapping[str, bytes] | None = None,
             amend: Callable[[list[workflow.Step]], list[workflow.Step]] | None = None,
             mail: MailOut | None = None) -> Case:
    """Register a case. Whoever registers it is responsible unless told otherwise.
    ``protected``: the reporter's identity is protected (protection.py).
    ``queued``: with no ``assignee``, nobody is responsible yet: the case
    waits in ``team`` (else the registering agent's home team).
    ``intake``: impact and urgency, triage answers, an urgent case's pieces
    (app/triage.py). ``mail``: the mail it sends, queued with its commit
    (MailOut); with ``notify`` and no ``mail``, the reporter's notification.

    Its SLA level: ``sla``, else the level agreed with the reporter's
    organisation, else the desk's default. The created event records the
    level and the casectl.yaml in force (its blob id), so a later change of
    targets or holidays does not rewrite this case's SLA results.

    ``files`` (repository-relative paths and their bytes) are committed
    with the case; ``amend`` gets the steps (the created event first) and
    returns them with what else the case records: mail intake lists the
    attachments in the created event and adds a note naming those it refused
    (app/mailfiles.py)."""
    actor, _ = session.actor()
    config = session.config
    _require_role(session, "new", None)
    level = config.check_sla_level(sla) if sla else \
        config.org_level(reporter.org if reporter else None) or config.default_sla
    routed = bool(team or assignee)
    if queued and not assignee:
        # Registered for the team to pick up (mail intake): nobody's yet.
        team = config.check_team(team) if team else config.home_team(actor)
    else:
        assignee = config.assignable_agent(assignee) if assignee else actor
        team = config.check_team(team) if team else config.home_team(assignee)
    if subject is None and intake.urgent is None:
        raise UsageError("a subject is required", "give one with --subject TEXT")
    data: dict[str, Any] = {
        "subject": clean_subject(subject) if subject is not None else None,
        "description": clean_text(description, "the description"),
        "type": (type_ or model.CaseType.INCIDENT).value,
        "category": config.check_category(category) if category else None,
        "priority": (priority or model.Priority.MEDIUM).value,
        "team": team, "assignee": assignee,
        "reporter": _marked(checked_reporter(reporter).to_dict() if reporter else None,
                            protected),
        "notify": notify, "fields": dict(fields or {}),
        "sla": level,
    }
    if notify and not (reporter and reporter.email):
        raise RuleViolation("notify-needs-reporter-address",
                            "--notify needs the reporter's e-mail address",
                            "give it with --reporter \"Name <name@example.org>\"")
    after_created = triage.prepare_new(config, data, intake, routed=routed,
                                       priority_given=priority is not None)
    steps = workflow.create(data, start)
    steps[1:1] = after_created
    if amend is not None:
        steps = amend(steps)
    if mail is None and notify:
        mail = _mailing(session, "notify")
    with store.locked(session.root):
        transaction.recover(session.root)
        config_text = session.config.path.read_bytes()
        steps[0][1]["config"] = journal.blob_id(config_text)
        case_id = _fresh_case_id(session)
        if mail is not None:
            steps = mail.mark(None, case_id, steps)
        events = _events(session, [], steps)
        case = model.with_header(case_id, events)
        # The casectl.yaml the case is judged under, by the blob id git gives
        # it; stored in git when HEAD does not hold it as it is (a hand edit
        # not committed yet), so the id always names a blob.
        _save(session, store.case_relpath(case_id), case, "new", events, mail=mail,
              pinned=(configmod.CONFIG_FILE, config_text), files=files)
    return case


def _marked(reporter: dict[str, Any] | None, protected: bool) -> dict[str, Any] | None:
    """The reporter with the protected mark when asked; a person not named
    yet can be protected too (their details come with a later edit)."""
    if not protected:
        return reporter
    return {**(reporter or dict.fromkeys(model.REPORTER_PARTS)), "protected": True}


def checked_reporter(reporter: Reporter) -> Reporter:
    """The reporter as the file keeps it: names on one line, an address
    that is one, a phone number that can be dialled."""
    return Reporter(name=clean_line(reporter.name, "the reporter's name"),
                    email=email_address(reporter.email, "the reporter's address")
                    if reporter.email is not None else None,
                    phone=clean_phone(reporter.phone),
                    org=clean_line(reporter.org, "the reporter's organisation"))


def _fresh_case_id(session: Session) -> str:
    moment = session.now()
    for _ in range(100):
        case_id = ids.new_case_id(moment)
        if not (session.root / store.case_relpath(case_id)).exists():
            return case_id
    raise RuleViolation("unique-case-id", "could not find a free case id", "try again")


def assign(session: Session, case_id: str, to: str | None, team: str | None,
           note: str | None, answers: triage.Answers = triage.NO_ANSWERS) -> Case:
    config = session.config
    if not to and not team:
        raise UsageError("say who gets the case", "use --to AGENT and/or --team TEAM")
    agent = config.assignable_agent(to) if to else None
    team_id = config.check_team(team) if team else None
    text = clean_text(note, "the note")

    def decide(case: Case) -> list[workflow.Step]:
        target_team = team_id
        if target_team is None and agent is not None:
            # An agent from another team brings the case into their team.
            moved = config.team_for(agent, case["team"])
            target_team = moved if moved != case["team"] else None
        steps = workflow.assign(case, agent, target_team, text)
        # The triage questions of the team it moves to, answered first [seed 004].
        return triage.routing_steps(config, case, target_team, answers,
                                    how=f"casectl assign {case['id']} ...") + steps
    return change_case(session, case_id, "assign", decide)


def take(session: Session, case_id: str, note: str | None) -> Case:
    actor, _ = session.actor()
    text = clean_text(note, "the note")
    config = session.config
    return change_case(session, case_id, "take", lambda case: workflow.take(
        case, actor, config.team_for(actor, case["team"]), text))


def handover(session: Session, case_id: str, to: str, note: str | None,
             answers: triage.Answers = triage.NO_ANSWERS) -> Case:
    config = session.config
    kind, to = config.receiver(to)
    text = clean_text(note, "the handover note")
    if kind == "agent":
        def handed(case: Case) -> list[workflow.Step]:
            return workflow.handover(case, agent=to, team=None, note=text,
                                     agent_team=config.team_for(to, case["team"]))
    else:
        def handed(case: Case) -> list[workflow.Step]:
            return workflow.handover(case, agent=None, team=to, note=text,
                                     receivers=config.team_members(to))

    def decide(case: Case) -> list[workflow.Step]:
        steps = handed(case)
        # The team it lands in (named, or the receiving agent's), its triage
        # questions answered first [seed 004].
        landing = next((data.get("team") for _, data in steps if "team" in data), None)
        return triage.routing_steps(config, case, landing, answers,
                                    how=f"casectl handover {case['id']} --to {to} --note ...") \
            + steps
    return change_case(session, case_id, "handover", decide)


def triage_case(session: Session, case_id: str, team: str | None,
                answers: triage.Answers) -> Case:
    """`casectl triage ID --answer KEY=VALUE`: answers recorded before the
    case is routed (to ``team``, whose questions they must be, when named)."""
    if not answers:
        raise UsageError("no answers given", f"casectl triage {case_id} --answer KEY=VALUE")
    from . import protected_views

    config = session.config
    team_id = config.check_team(team) if team else None
    viewer = protected_views.viewer(session)

    def decide(case: Case) -> list[workflow.Step]:
        # As edit: triaging a protected person's case by one who may not see
        # it would say whether a guessed answer was right ("has these
        # answers already"), and overwrite answers they cannot read.
        protected_views.require_sight(session, viewer, case, "triage")
        return triage.triage_case(config, case, team_id, answers)
    return change_case(session, case_id, "triage", decide)


def log(session: Session, case_id: str, text: str | None, *, internal: bool = False,
        email: bool = False, from_reporter: bool = False) -> Case:
    given = [flag for flag, on in (("--internal", internal), ("--email", email),
                                   ("--from-reporter", from_reporter)) if on]
    if len(given) > 1:
        raise UsageError(" and ".join(given) + " exclude each other",
                         "an e-mail goes to the reporter; an internal note never does; "
                         "--from-reporter records what the reporter said")
    body = clean_text(text, "the log text", required=True)
    action = "email" if email else "note" if internal else "reply" if from_reporter else "log"
    case = change_case(session, case_id, action,
                       lambda case: workflow.log_entry(case, body or "", internal=internal,
                                                       email=email,
                                                       from_reporter=from_reporter),
                       mail=_mailing(session, "email") if email else None)
    if from_reporter:  # who typed the reply in has read it; its owner has not, unless that is them
        from .. import readmarks  # sqlite3 (~5 ms): only this action needs it

        readmarks.mark(session.root, session.actor()[0], case["id"],
                       model.last_reply(case["log"]) or 0)
    return case


def set_priority(session: Session, case_id: str, level: model.Priority | None,
                 reason: str | None, *, impact: str | None = None,
                 urgency: str | None = None) -> Case:
    """A level, or impact and urgency for the desk's priority matrix to decide."""
    text = clean_text(reason, "the reason")
    assessed = triage.assessment(session.config, impact, urgency,
                                 level.value if level else None)
    if assessed is not None:
        return change_case(session, case_id, "priority",
                           lambda case: triage.assessed_priority(case, assessed, text))
    if level is None:
        raise UsageError("say which priority", "give a LEVEL (critical, high, medium, low), or "
                         "--impact and --urgency to derive it")
    return change_case(session, case_id, "priority",
                       lambda case: workflow.set_priority(case, level.value, text))


def change_status(session: Session, case_id: str, action: str, reason: str | None) -> Case:
    """start or wait."""
    text = clean_text(reason, "the reason")
    return change_case(session, case_id, action,
                       lambda case: workflow.change_status(case, action, text))


def close(session: Session, case_id: str, solution: str | None, confirmed: bool) -> Case:
    text = clean_text(solution, "the solution")
    action = "close" if confirmed else "solve"
    # The solution goes to the reporter with the event that records it
    # [seed 000: "Velg E-post ... Huk av «Løsning»"]; a confirmation alone
    # sends nothing more.
    return change_case(session, case_id, action,
                       lambda case: workflow.close(case, text, confirmed),
                       mail=_mailing(session, "solution"))


def reject(session: Session, case_id: str, reason: str | None) -> Case:
    text = clean_text(reason, "the reason")
    return change_case(session, case_id, "reject", lambda case: workflow.reject(case, text))


def reopen(session: Session, case_id: str, reason: str | None) -> Case:
    text = clean_text(reason, "the reason")
    return change_case(session, case_id, "reopen", lambda case: workflow.reopen(case, text))


def _mailing(session: Session, kind: str) -> MailOut:
    """The mail of one action (app/outbox.py, imported only by actions that
    mail: the email package costs ~15 ms)."""
    from . import outbox

    return outbox.mailing(session, kind)

"""Mail intake (issue 8, first part): one message becomes a new case or a
reply on the case it belongs to, acting as the desk's service identity.

The privacy rule of threading: a message joins an existing case only when
its subject carries that case's tag AND either its In-Reply-To/References
name a Message-ID the case recorded, or its sender is the case's reporter
or an agent. A tag alone from anyone else opens a new case that mentions
the tag, so a guessed or forwarded case number never shows one person's
case to another. The new case says the same whether the tagged case exists
or not, so intake does not tell a stranger which numbers are real.

Idempotent by Message-ID: the id is recorded in the case (the created
event's ``fields["message-id"]``, a reply's ``message_id``) and a message
whose id is recorded anywhere is not taken again. The look-up asks the
query index (index.message_case), kept open for a whole sweep; auto-replies
and the desk's own mail are recognised before it, as they are never
recorded.

Settings come from casectl.yaml's ``mail:`` (mailconfig.settings): the tag
prefix, the desk's own address, the identity intake acts as, and the
routes that give a new case its type, category, team and priority.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import sqlite3
import unicodedata
from dataclasses import dataclass, field, fields
from datetime import timedelta
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

from .. import index, journal, mailconfig, mailparse, model, roles, store, workflow, yamlio
from ..errors import CasectlError, InvalidData, NotARepository, NotFound, OperationFailed, \
    RuleViolation, UsageError
from ..model import Case, Reporter
from ..mailparse import Mail
from . import actions, mailfiles
from .inputs import MAX_SUBJECT, MAX_TEXT
from .session import Session

MESSAGE_ID_FIELD = model.MESSAGE_ID_FIELD
NO_SUBJECT = "(no subject)"
NO_TEXT = "(the message had no text)"
MAX_MESSAGE_ID = 998  # RFC 5322's line limit, and the case schema's
# At most this many cases opened by one address in an hour are acknowledged.
ACKNOWLEDGED_PER_HOUR = 5


@dataclass(frozen=True)
class Outcome:
    """What intake did with one message: ``action`` is "new", "reply",
    "note" (an agent's mail on a case), "duplicate" or "ignored" (or
    "quarantined", said by app/mailboxes.py); ``case_id`` the case it went
    to (None when ignored); ``note`` the line for standard error, if any."""

    action: str
    case_id: str | None
    note: str | None = None


# Refusals that concern the desk, not the one message: taking the next
# message would meet them too, so a sweep stops and a mail server is told
# to try again later, rather than the message being put aside.
DESK_RULES = frozenset({
    "intake-identity", "role", "known-agent", "act-as", "active-agent", "committed-agents",
    "desk-schemas-current", "repository-state", "unique-case-id"})


def concerns_desk(error: CasectlError) -> bool:
    """Whether ``error`` is about the desk (not a case repository, read-only,
    git failing, who acts, older schemas, a merge in progress) rather than
    about the message (unreadable, or a value no case may hold)."""
    if isinstance(error, RuleViolation):
        return error.rule in DESK_RULES
    return isinstance(error, (OperationFailed, NotARepository)) or \
        not isinstance(error, (UsageError, NotFound, InvalidData))


class Intake:
    """Mail intake on one desk, for one message or a sweep of many: the
    settings, the acting identity and the query index settled once.

    ``tag_prefix``: the case tag's prefix, else casectl.yaml's
    mail.tag_prefix. Acts as mail.intake.agent unless --as or
    CASECTL_AGENT names someone; refused (rule intake-identity) when that
    identity may not take mail in. Use it as a context manager, so the
    index connection is closed."""

    def __init__(self, session: Session, tag_prefix: str | None = None) -> None:
        settings = mailconfig.settings(session.config.data)
        prefix = tag_prefix or settings.tag_prefix
        if not prefix or any(c.isspace() or c in "[]" for c in prefix):
            raise UsageError(f"the tag prefix {prefix!r} cannot be used",
                             "give one or more characters without spaces or brackets, like #")
        if settings.intake_agent:
            session = session.acting_by_default(settings.intake_agent)
        session = _Recording(**{f.name: getattr(session, f.name) for f in fields(Session)})
        self.session = session
        self.settings = settings
        self.tag_prefix = prefix
        self.actor = _require_intake_identity(session)
        # Read-only (an in-memory index would be built from every file,
        # and the action is refused anyway): the file scan answers instead.
        self._index = index.Kept(session.root) \
            if store.writable_state_dir(session.root) is not None else None
        # What the index answers for: the commit it was brought up to (by
        # the index itself), then each commit of this intake that built on
        # it, whose Message-IDs are in ``_recorded``. A sweep then asks the
        # index as it stands instead of reading its own commits back into
        # it (~40 ms a message at 10,000 cases); any other commit (an
        # agent's action, a pull) and the index is brought up to HEAD.
        self._answers_for: str | None = None
        self._recorded: dict[str, str] = {}

    def __enter__(self) -> Intake:
        return self

    def __exit__(self, *_: object) -> None:
        if self._index is not None:
            self._index.close()

    def take(self, raw: bytes) -> Outcome:
        """Take one message (its bytes as the mail server delivered them).
        A message that cannot be read raises UsageError; see concerns_desk
        for what a refusal is about."""
        try:
            mail = mailparse.parse(raw, self.tag_prefix)
        except mailparse.MalformedMail as exc:
            raise UsageError(f"the message cannot be taken in: {exc.reason}",
                             "keep the message and look at it by hand; nothing was recorded")
        message_id = mail.message_id
        if message_id is None or len(message_id) > MAX_MESSAGE_ID:
            message_id = _made_up_id(raw)
        ignored = _ignored(self.session.config.data, mail)
        if ignored is not None:
            return ignored
        with _one_intake_at_a_time(self.session.root):
            taken = self._taken_in(message_id)
            if taken:
                return Outcome("duplicate", taken, f"{message_id} was already taken in "
                               f"{taken}; nothing changed")
            made = len(self.session.made)
            outcome = _take(self.session, mail, message_id, self.actor, self.tag_prefix,
                            self.settings, raw, self._flooded)
            for base, commit in self.session.made[made:]:
                if base is not None and base == self._answers_for and outcome.case_id:
                    self._answers_for = commit
                    self._recorded[message_id] = outcome.case_id
            return outcome

    def _flooded(self, address: str) -> bool:
        """Whether ``address`` opened ACKNOWLEDGED_PER_HOUR cases or more in
        the last hour: a mail loop with a system that answers every mail
        without marking its answers automatic (RFC 3834), which the
        acknowledgements must not feed."""
        if self._index is None:
            return False
        since = self.session.now() - timedelta(hours=1)
        try:
            return self._index.ask(lambda conn: index.cases_reported_since(
                conn, address, since)) >= ACKNOWLEDGED_PER_HOUR
        except sqlite3.Error:
            return False

    def _taken_in(self, message_id: str) -> str | None:
        """The case that recorded ``message_id``: from the query index, else
        (read-only, or an index SQLite cannot use) from the case files."""
        if self._index is not None:
            try:
                if self._answers_for is not None and \
                        journal.head(self.session.root) == self._answers_for:
                    return self._recorded.get(message_id) or self._index.ask_as_is(
                        lambda conn: index.message_case(conn, message_id))
                found, self._answers_for = self._index.ask(lambda conn: (
                    index.message_case(conn, message_id), index.indexed_commit(conn)))
                self._recorded.clear()
                return found
            except sqlite3.Error:
                self._index = None
        return _taken_in(self.session.root, message_id)


@dataclass
class _Recording(Session):
    """The session intake acts in: it remembers each commit it makes and
    the commit that one built on (``made``), which the Message-ID look-up
    needs to know what the index does not hold yet. The base is what the
    commit was checked against (``_require_committed_agents`` is the hook
    every action's commit calls with it); the branch moved only if it
    still named that base, so it is the new commit's parent."""

    made: list[tuple[str | None, str]] = field(default_factory=list)
    _base: str | None = field(default=None, repr=False)

    def _require_committed_agents(self, base: journal.Base) -> None:
        super()._require_committed_agents(base)
        self._base = base.commit

    def commit_files(self, files: Any, message: str, when: Any = None, **options: Any) -> str:
        self._base = None
        sha = super().commit_files(files, message, when, **options)
        self.made.append((self._base, sha))
        return sha


def take(session: Session, raw: bytes, tag_prefix: str | None = None) -> Outcome:
    """Take one message (its bytes as the mail server delivered them)."""
    with Intake(session, tag_prefix) as intake:
        return intake.take(raw)


def _ignored(config: dict[str, Any], mail: Mail) -> Outcome | None:
    """Mail that never opens or joins a case, decided from the message
    alone (before the Message-ID look-up: such mail is never recorded)."""
    if mail.automatic:
        return Outcome("ignored", None, f"an automatic message ({mail.automatic}) from "
                       f"{mail.sender_address}: no case opened")
    if mail.sender_address in _desk_addresses(config):
        return Outcome("ignored", None, f"a message from the desk's own address "
                       f"{mail.sender_address}: no case opened")
    return None


@contextlib.contextmanager
def _one_intake_at_a_time(root: Path) -> Iterator[None]:
    """Intake processes run one after another: a mail server that delivers
    the same message twice at once (a retry racing the first attempt) must
    not open two cases. The repository's own lock is taken inside, per
    action, so this is a lock of intake's own, released by the kernel when
    the process dies."""
    try:
        handle = open(store.state_dir(root) / "intake.lock", "a+")
    except OSError:  # a read-only repository: the action's own lock says so
        yield
        return
    with store.held(handle):
        yield


def _take(session: Session, mail: Mail, message_id: str, actor: str, tag_prefix: str,
          settings: mailconfig.MailSettings, raw: bytes,
          flooded: Callable[[str], bool] = lambda address: False) -> Outcome:
    config = session.config.data
    agent = _agent_by_address(config, mail.sender_address)
    for case_id in mail.tags:
        case = _case(session, case_id)
        if case is None or not _may_join(case, mail, agent):
            continue
        if case["status"] in model.FINISHED_STATUSES:
            if agent:
                break
            return _new_case(session, mail, message_id, actor, settings,
                             preface=f"Follow-up by mail to {case['status']} case "
                             f"[{tag_prefix}{case['id']}].", raw=raw, flooded=flooded)
        # An agent who reported the case themselves answers as its reporter.
        return _join(session, case["id"], mail, message_id,
                     None if _from_reporter(case, mail) else agent, actor, raw)
    if agent and _original_sender(config, mail) is None:
        # An agent's mail opens no case (the desk's own addresses never do):
        # it joins a case or is set aside in the quarantine for them to
        # register by hand, never dropped (a mail server told "done" throws
        # it away); a reporter's mail an agent forwards is registered.
        raise RuleViolation(
            "agent-mail", f"a message from agent {agent} joins no case (no tag of an open "
            "case it may join), and an agent's own mail opens none",
            "register it by hand (casectl new ...), or answer with the case's tag [#ID] "
            "in the subject")
    preface = None
    if mail.tags:
        shown = ", ".join(f"[{tag_prefix}{tag}]" for tag in mail.tags)
        preface = (f"The subject carries the case tag {shown}, but this sender is not that "
                   "case's reporter and the message does not answer the case's mail, so it "
                   "was registered as a new case.")
    return _new_case(session, mail, message_id, actor, settings, preface=preface, raw=raw,
                     flooded=flooded)


def _require_intake_identity(session: Session) -> str:
    """Intake acts as a service identity (or an admin running it by hand);
    on a desk with no agents, whoever runs it."""
    actor, _ = session.actor()
    config = session.config.data
    if session.config.agents and not (roles.is_service(config, actor)
                                      or roles.CONFIG_ROLE in roles.roles_of(config, actor)):
        raise RuleViolation(
            "intake-identity", f"agent {actor} is not a service identity, so may not take in "
            "mail", "add one and run intake as it: casectl agent add intake --service --name "
            "\"Mail intake\" --email intake@example.org --role receiver, then casectl --as "
            "intake intake FILE")
    return actor


def _made_up_id(raw: bytes) -> str:
    """A message without a Message-ID (or with one longer than any line
    may be) gets one from its bytes, so the same message delivered twice
    is still taken once."""
    return f"<{hashlib.sha256(raw).hexdigest()[:40]}@intake.casectl.invalid>"


def _desk_addresses(config: dict[str, Any]) -> set[str]:
    """Addresses whose mail never opens or joins a case: mail.address, the
    teams' shared addresses and the service identities' (the desk's own
    sending addresses), so a notification that comes back does not loop."""
    own = mailconfig.settings(config).address
    found = {own} if own else set()
    found |= {str(team.get("email")).strip().lower()
             for team in (config.get("teams") or {}).values()
             if isinstance(team, dict) and team.get("email")}
    found |= {str(agent.get("email")).strip().lower()
              for ident, agent in roles.agents_of(config).items()
              if roles.is_service(config, ident) and agent.get("email")}
    return found


def _agent_by_address(config: dict[str, Any], address: str) -> str | None:
    """The agent (not a service identity) who sent the mail."""
    agent = roles.agent_by_email(config, address)
    return None if agent is None or roles.is_service(config, agent) else agent


def _case(session: Session, case_id: str) -> Case | None:
    """The case whose id is exactly ``case_id`` (never a prefix of a longer
    one), or None."""
    if not (session.root / store.case_relpath(case_id)).is_file():
        return None
    return actions.load_case(session, case_id)[1]


def _may_join(case: Case, mail: Mail, agent: str | None) -> bool:
    """The privacy rule: the tag is there (the caller looked the case up by
    it); the message answers the case's mail, or comes from its reporter or
    an agent."""
    if set(mail.references).intersection(model.message_ids(case)):
        return True
    return _from_reporter(case, mail) or agent is not None


def _from_reporter(case: Case, mail: Mail) -> bool:
    reporter = (case.get("reporter") or {}).get("email")
    return isinstance(reporter, str) and reporter.strip().lower() == mail.sender_address


def _join(session: Session, case_id: str, mail: Mail, message_id: str, agent: str | None,
          actor: str, raw: bytes) -> Outcome:
    # Without the quoted history and signature (the case holds the history
    # already); a forward keeps what it forwards.
    text = _text(mail.reply_text if mail.reply_text is not None else mail.body) or NO_TEXT
    kept = mailfiles.kept(session, mail, raw)  # attachments and the original, whole
    if agent:
        # An agent's own mail on the case: an internal note saying whose it
        # is (the acting identity is intake), not the reporter's reply.
        note = f"Mail from agent {agent}: {mail.subject or NO_SUBJECT}\n\n{text}"
        actions.change_case(session, case_id, "note", lambda case: kept.amend([
            ("note", {"text": note[:MAX_TEXT], "message_id": message_id})]), files=kept.files)
        return Outcome("note", case_id)

    def decide(case: Case) -> list[workflow.Step]:
        steps = workflow.log_entry(case, text, internal=False, email=False, from_reporter=True)
        return [(kind, {**data, "message_id": message_id}) for kind, data in steps]
    case = actions.change_case(session, case_id, "reply", lambda case: kept.amend(decide(case)),
                               files=kept.files)
    from .. import readmarks  # as `log --from-reporter`: unread for all but who took it in

    readmarks.mark(session.root, actor, case["id"], model.last_reply(case["log"]) or 0)
    return Outcome("reply", case_id)


def _new_case(session: Session, mail: Mail, message_id: str, actor: str,
              settings: mailconfig.MailSettings, *, preface: str | None, raw: bytes,
              flooded: Callable[[str], bool]) -> Outcome:
    subject = _line(mail.subject)[:MAX_SUBJECT] or NO_SUBJECT
    # A new case's description is the whole message, untrimmed: what is
    # quoted or signed under a first message is context the desk needs.
    body = _text(mail.body)
    name, address = mail.sender_name, mail.sender_address
    original = _original_sender(session.config.data, mail)
    if original is not None:
        # Seed 000: the forwarder is not the reporter, the original sender is.
        preface = "\n\n".join(part for part in (
            f"Forwarded by {_person(mail.sender_name, mail.sender_address)}.", preface) if part)
        name, address = original
    description = "\n\n".join(part for part in (preface, body) if part) or None
    reporter = Reporter(name=_line(name or "")[:200] or None, email=address)
    try:
        actions.checked_reporter(reporter)
    except UsageError:
        # An address the desk's own check refuses (odd characters): kept
        # in the description rather than losing the message.
        description = f"From: {address}\n\n{description or ''}".strip()
        reporter = Reporter(name=reporter.name)
    kept = mailfiles.kept(session, mail, raw)  # attachments and the original
    # Not for a forward: its reporter is named by a line anyone can write
    # into a body, and the notification quotes the forwarder's text (a
    # cover note, or a stranger's spam), so the desk would be mailing one
    # person's words to another. An agent answers the case by hand.
    notify = original is None and _acknowledged(settings, reporter, kept.schemas_current)
    quiet = None
    if notify and reporter.email and flooded(reporter.email):
        notify = False
        quiet = (f"{reporter.email} opened {ACKNOWLEDGED_PER_HOUR} or more cases in the last "
                 "hour: this one is registered without a notification, so a mail loop with a "
                 "system that answers every mail is not fed")

    def register(**routing: Any) -> Case:
        return actions.new_case(session, subject=subject,
                                description=description[:MAX_TEXT] if description else None,
                                reporter=reporter, fields={MESSAGE_ID_FIELD: message_id},
                                queued=True, files=kept.files, amend=kept.amend,
                                notify=notify, **routing)
    # Routed by what the mail says: the reporter's address (the original
    # sender's, for a forward), the recipients, the subject, the text.
    number, route = _route(settings, {"from": address, "to": "\n".join(mail.recipients),
                                      "subject": mail.subject, "body": mail.body})
    case, note = _routed(register, number, route)
    return Outcome("new", case["id"], "; ".join(part for part in (note, quiet) if part) or None)


def _acknowledged(settings: mailconfig.MailSettings, reporter: Reporter,
                  schemas_current: bool) -> bool:
    """Whether a case opened by mail tells its reporter it is registered
    (the notify mail, with the case tag to answer under): when the desk
    sends mail (mail.address), the reporter has an address somebody reads,
    and the desk's schemas let the case record the notification's
    Message-ID (an older desk takes the mail in without it until upgraded).
    The notification is marked Auto-Submitted, so a vacation responder
    does not answer it, and an answer that does come is a reply, never a
    new case: no loop."""
    return bool(settings.address and reporter.email
                and not mailparse.is_nobody(reporter.email)
                and schemas_current)


_ROUTE_PARTS = (("type", "type_"), ("category", "category"), ("team", "team"),
                ("priority", "priority"))


def _route(settings: mailconfig.MailSettings, texts: dict[str, str]
           ) -> tuple[int, mailconfig.Route | None]:
    """The first route of mail.intake.routes that matches, and its place
    in the list (from 0, as `casectl validate` names them)."""
    route = settings.route(texts)
    return (settings.routes.index(route) if route else -1), route


def _routed(register: Callable[..., Case], number: int, route: mailconfig.Route | None
            ) -> tuple[Case, str | None]:
    """A new case registered with what ``route`` sets. A part the desk's
    rules refuse (a critical priority without the contact's phone, a team
    whose triage questions must be answered first, a team or category no
    longer listed) is left out, so the message is not lost for it: each part
    left out in turn, then all of them; the note says what was left out and
    why."""
    parts: dict[str, Any] = {}
    for name, keyword in _ROUTE_PARTS:
        value = getattr(route, name) if route else None
        if value is not None:
            parts[keyword] = model.CaseType(value) if name == "type" else \
                model.Priority(value) if name == "priority" else value
    try:
        return register(**parts), None
    except CasectlError as refused:
        if not parts or concerns_desk(refused):
            raise
        first = refused
    shown = {keyword: f"{name} {getattr(route, name)}" for name, keyword in _ROUTE_PARTS
             if keyword in parts}
    for keyword in parts:
        try:
            case = register(**{k: v for k, v in parts.items() if k != keyword})
        except CasectlError as refused:
            if concerns_desk(refused):
                raise
            continue
        return case, _route_note(number, [shown[keyword]], first)
    return register(), _route_note(number, list(shown.values()), first)


def _route_note(number: int, left_out: list[str], refused: CasectlError) -> str:
    return (f"mail.intake.routes[{number}] set {', '.join(left_out)}, "
            f"which this desk refuses for this case ({refused.message}); the case was "
            "registered without " + ("it" if len(left_out) == 1 else "them"))


def _original_sender(config: dict[str, Any], mail: Mail) -> tuple[str | None, str] | None:
    """The sender of the message ``mail`` forwards, when that is whom the
    case is about: not the forwarder themself, not the desk's own address
    (a notification forwarded back), not an address nobody answers
    (noreply@: whoever forwarded an automatic mail reports it). Only ever
    used for a new case's reporter: joining a case goes by the actual
    sender, as anyone can write any "From:" line into a body."""
    if mail.forwarded_from is None:
        return None
    address = mail.forwarded_from[1]
    if address == mail.sender_address or address in _desk_addresses(config) \
            or mailparse.is_nobody(address):
        return None
    return mail.forwarded_from


def _person(name: str | None, address: str) -> str:
    shown = _line(name or "")
    return f"{shown} <{address}>" if shown else address


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _text(text: str) -> str:
    """Mail text as the case file keeps it: no control characters but line
    breaks and tabs, within the length limit."""
    return _CONTROL.sub("", unicodedata.normalize("NFC", text)).strip()[:MAX_TEXT]


def _line(text: str) -> str:
    return " ".join(_text(text).split())


def _taken_in(root: Path, message_id: str) -> str | None:
    """The case that recorded ``message_id`` already, or None, from the
    case files (where the query index cannot be used). The id is
    searched for in the case files' bytes first (a Message-ID has no space,
    so the YAML writer never folds it), and only the files holding it are
    read, to confirm it is recorded as a Message-ID and not quoted in a text."""
    needle = message_id.encode("utf-8")
    for path in _case_files(root):
        try:
            if needle not in path.read_bytes():
                continue
            doc = yamlio.read_mapping(path, path.relative_to(root).as_posix())
        except (OSError, InvalidData):  # an unreadable file is validate's business here
            continue
        if message_id in model.message_ids(doc):
            return path.stem
    return None


def _case_files(root: Path) -> Iterable[Path]:
    return sorted((root / store.CASES_DIR).glob("*/*/*.yaml"), reverse=True)

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
whose id is recorded anywhere is not taken again.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator

from .. import mailparse, model, roles, store, workflow, yamlio
from ..errors import InvalidData, RuleViolation, UsageError
from ..model import Case, Reporter
from ..mailparse import Mail
from . import actions
from .inputs import MAX_SUBJECT, MAX_TEXT
from .session import Session

MESSAGE_ID_FIELD = "message-id"
NO_SUBJECT = "(no subject)"
NO_TEXT = "(the message had no text)"
MAX_MESSAGE_ID = 998  # RFC 5322's line limit, and the case schema's


@dataclass(frozen=True)
class Outcome:
    """What intake did with one message: ``action`` is "new", "reply",
    "note" (an agent's mail on a case), "duplicate" or "ignored";
    ``case_id`` the case it went to (None when ignored); ``note`` the line
    for standard error, if any."""

    action: str
    case_id: str | None
    note: str | None = None


def take(session: Session, raw: bytes, tag_prefix: str = mailparse.DEFAULT_TAG_PREFIX
         ) -> Outcome:
    """Take one message (its bytes as the mail server delivered them)."""
    if not tag_prefix or any(c.isspace() or c in "[]" for c in tag_prefix):
        raise UsageError(f"the tag prefix {tag_prefix!r} cannot be used",
                         "give one or more characters without spaces or brackets, like #")
    actor = _require_intake_identity(session)
    try:
        mail = mailparse.parse(raw, tag_prefix)
    except mailparse.MalformedMail as exc:
        raise UsageError(f"the message cannot be taken in: {exc.reason}",
                         "keep the message and look at it by hand; nothing was recorded")
    message_id = mail.message_id
    if message_id is None or len(message_id) > MAX_MESSAGE_ID:
        message_id = _made_up_id(raw)
    with _one_intake_at_a_time(session.root):
        return _take(session, mail, message_id, actor, tag_prefix)


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


def _take(session: Session, mail: Mail, message_id: str, actor: str, tag_prefix: str
          ) -> Outcome:
    taken = _taken_in(session.root, message_id)
    if taken:
        return Outcome("duplicate", taken, f"{message_id} was already taken in {taken}; "
                       "nothing changed")
    if mail.automatic:
        return Outcome("ignored", None, f"an automatic message ({mail.automatic}) from "
                       f"{mail.sender_address}: no case opened")
    config = session.config.data
    if mail.sender_address in _desk_addresses(config):
        return Outcome("ignored", None, f"a message from the desk's own address "
                       f"{mail.sender_address}: no case opened")
    agent = _agent_by_address(config, mail.sender_address)
    for case_id in mail.tags:
        case = _case(session, case_id)
        if case is None or not _may_join(case, mail, agent):
            continue
        if case["status"] in model.FINISHED_STATUSES:
            if agent:
                break
            return _new_case(session, mail, message_id, actor,
                             preface=f"Follow-up by mail to {case['status']} case "
                             f"[{tag_prefix}{case['id']}].")
        # An agent who reported the case themselves answers as its reporter.
        return _join(session, case["id"], mail, message_id,
                     None if _from_reporter(case, mail) else agent, actor)
    if agent and _original_sender(config, mail) is None:
        # An agent's mail opens no case (the desk's own addresses never do):
        # it joins a case or is left for them to register by hand; a
        # reporter's mail an agent forwards to the desk is registered.
        return Outcome("ignored", None, f"a message from agent {agent} that joins no case "
                       "(no tag of a case it may join): no case opened")
    preface = None
    if mail.tags:
        shown = ", ".join(f"[{tag_prefix}{tag}]" for tag in mail.tags)
        preface = (f"The subject carries the case tag {shown}, but this sender is not that "
                   "case's reporter and the message does not answer the case's mail, so it "
                   "was registered as a new case.")
    return _new_case(session, mail, message_id, actor, preface=preface)


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
    """Addresses whose mail never opens or joins a case: the teams' shared
    addresses and the service identities' (the desk's own sending
    addresses), so a notification that comes back does not loop."""
    found = {str(team.get("email")).strip().lower()
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


def _recorded_ids(case: Case) -> set[str]:
    """The Message-IDs a case recorded: of the mail that opened it, and of
    every message that joined it."""
    found = set()
    for event in case.get("log", []):
        data = event.get("data") or {}
        # Any event's message_id: of the mail that joined it, or of the mail
        # it sent (the outbox: new --notify records it in the created event).
        values = [data.get("message_id")]
        if event.get("kind") == "created":
            values.append((data.get("fields") or {}).get(MESSAGE_ID_FIELD))
        found.update(value for value in values if isinstance(value, str))
    return found


def _may_join(case: Case, mail: Mail, agent: str | None) -> bool:
    """The privacy rule: the tag is there (the caller looked the case up by
    it); the message answers the case's mail, or comes from its reporter or
    an agent."""
    if set(mail.references) & _recorded_ids(case):
        return True
    return _from_reporter(case, mail) or agent is not None


def _from_reporter(case: Case, mail: Mail) -> bool:
    reporter = (case.get("reporter") or {}).get("email")
    return isinstance(reporter, str) and reporter.strip().lower() == mail.sender_address


def _join(session: Session, case_id: str, mail: Mail, message_id: str, agent: str | None,
          actor: str) -> Outcome:
    # Without the quoted history and signature (the case holds the history
    # already); a forward keeps what it forwards.
    text = _text(mail.reply_text if mail.reply_text is not None else mail.body) or NO_TEXT
    if agent:
        # An agent's own mail on the case: an internal note saying whose it
        # is (the acting identity is intake), not the reporter's reply.
        note = f"Mail from agent {agent}: {mail.subject or NO_SUBJECT}\n\n{text}"
        actions.change_case(session, case_id, "note", lambda case: [
            ("note", {"text": note[:MAX_TEXT], "message_id": message_id})])
        return Outcome("note", case_id)

    def decide(case: Case) -> list[workflow.Step]:
        steps = workflow.log_entry(case, text, internal=False, email=False, from_reporter=True)
        return [(kind, {**data, "message_id": message_id}) for kind, data in steps]
    case = actions.change_case(session, case_id, "reply", decide)
    from .. import readmarks  # as `log --from-reporter`: unread for all but who took it in

    readmarks.mark(session.root, actor, case["id"], model.last_reply(case["log"]) or 0)
    return Outcome("reply", case_id)


def _new_case(session: Session, mail: Mail, message_id: str, actor: str, *,
              preface: str | None) -> Outcome:
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
    case = actions.new_case(session, subject=subject,
                            description=description[:MAX_TEXT] if description else None,
                            reporter=reporter, fields={MESSAGE_ID_FIELD: message_id},
                            queued=True)
    return Outcome("new", case["id"])


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
    """The case that recorded ``message_id`` already, or None. The id is
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
        if message_id in _recorded_ids(doc):
            return path.stem
    return None


def _case_files(root: Path) -> Iterable[Path]:
    return sorted((root / store.CASES_DIR).glob("*/*/*.yaml"), reverse=True)

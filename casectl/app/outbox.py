"""Mail out (issue 8, point 3): actions queue their mail in the outbox;
`casectl outbox send` delivers it over SMTP; `outbox list` and `outbox
retry` show and nudge what waits.

Sending is never inside an action's lock. An action that mails is given a
``Mailing`` (actions.new_case / change_case ``mail=``), which

1. ``mark``: before the events are stamped, chooses the Message-ID and
   records it in the event's data (``message_id``), so replies thread
   back to the case (intake looks for it);
2. ``stage``: once the case is built, writes the whole message to the
   outbox's tmp/, before the commit;
3. after the commit the action moves it to new/ (``Staged.deliver``), or
   drops it when the commit fails (``Staged.discard``).

A process killed between 2 and 3 leaves a message in tmp/; the next
`outbox send` or `outbox list` reconciles it, under the repository's lock:
the case recorded its Message-ID (the commit was made) -> queued; not ->
dropped. So a queued mail always belongs to a committed event, and a
committed event's mail is never lost.
"""

from __future__ import annotations

import contextlib
import email
import os
import smtplib
import socket
import ssl
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from pathlib import Path
from typing import Any, Mapping, Sequence

from .. import journal, mailconfig, mailout, mailtemplates, model, outbox, protection, store, \
    transaction, workflow, yamlio
from ..errors import InvalidData, NotFound, Offline, OperationFailed, ReadOnlyRepository, \
    UsageError
from ..model import Case
from ..outbox import Entry, Outbox
from .session import Session

# Which event of an action carries which mail.
_EVENTS = {"notify": ("created",), "email": ("email",), "solution": ("solved", "closed"),
           "task": ("task_added",), "contact": ("contact",)}
SMTP_EXAMPLE = """mail:
  address: servicedesk@example.org
  smtp:
    host: smtp.example.org
    port: 587
    security: starttls
    user: servicedesk@example.org
    password_env: CASECTL_SMTP_PASSWORD"""


class Mailing:
    """The mail one action sends (see the module's docstring): ``kind`` is
    notify, email, solution, task or contact."""

    def __init__(self, session: Session, kind: str) -> None:
        self.session = session
        self.kind = kind
        self.settings = mailconfig.settings(session.config.data)
        self.message_id: str | None = None
        self.to: list[str] = []
        self.step = -1

    def mark(self, before: Case | None, case_id: str,
             steps: list[workflow.Step]) -> list[workflow.Step]:
        """``steps`` with the Message-ID recorded in the step that mails
        (unchanged when nothing is to be sent)."""
        found = next((number for number, (kind, data) in enumerate(steps)
                      if kind in _EVENTS[self.kind] and self._mails(data)), None)
        if found is None:
            return steps
        if not self.settings.address:
            journal.notice("mail is not set up (casectl.yaml has no mail.address), so no "
                           f"{self.kind} mail was queued; add mail.address (and mail.smtp) "
                           "to send it")
            return steps
        self.to = self._recipients(before, steps[found][1])
        if not self.to:
            journal.notice(f"no e-mail address to send the {self.kind} mail to; none was "
                           "queued")
            return steps
        self.message_id = mailout.new_message_id(case_id, self.settings.address)
        self.step = found
        kind, data = steps[found]
        marked = list(steps)
        marked[found] = (kind, {**data, "message_id": self.message_id})
        return marked

    def _mails(self, data: Mapping[str, Any]) -> bool:
        if self.kind == "notify":
            return bool(data.get("notify"))
        if self.kind == "solution":
            return bool(data.get("solution"))
        if self.kind == "contact":  # an attempt by mail; --reached records an answer
            return data.get("via") == "email" and not data.get("reached")
        return True

    def _recipients(self, before: Case | None, data: Mapping[str, Any]) -> list[str]:
        config = self.session.config
        if self.kind == "email":
            return [str(data["to"])]
        if self.kind == "task":
            if data["to_kind"] == "agent":
                address = (config.agents.get(data["to"]) or {}).get("email")
                return [address] if address else []
            team = config.teams.get(data["to"]) or {}
            if team.get("email"):
                return [team["email"]]
            # A team without a shared address: its members, each told.
            return sorted({config.agents[ident]["email"] for ident, _
                           in config.team_members(data["to"])
                           if config.agents[ident].get("email")})
        reporter = (before or {}).get("reporter") if before is not None \
            else data.get("reporter")
        address = (reporter or {}).get("email")
        return [address] if address else []

    def stage(self, case: Case, events: Sequence[model.Event]) -> outbox.Staged | None:
        """Write the message for ``case`` (as it will be committed) to the
        outbox's tmp/; None when nothing is to be sent."""
        if self.message_id is None:
            return None
        event = events[self.step]
        moment = datetime.fromisoformat(event["at"])
        subject, body = mailtemplates.render(self.settings.language, self.kind,
                                             self._values(case, event),
                                             self.settings.templates)
        earlier = [known for known in mailout.recorded_ids(case["log"])
                   if known != self.message_id]
        raw = mailout.compose(sender_name=self.settings.name, sender=str(self.settings.address),
                              to=self.to, subject=subject, body=body,
                              message_id=self.message_id, references=earlier, date=moment,
                              case_id=case["id"], kind=self.kind)
        return Outbox.of(self.session.root).stage(raw, {
            "case": case["id"], "kind": self.kind, "message_id": self.message_id,
            "event": event["id"], "to": self.to, "subject": subject,
            "queued": event["at"], "attempts": 0, "next_try": event["at"]})

    def _values(self, case: Case, event: model.Event) -> dict[str, str]:
        settings = self.session.config
        actor, author = self.session.actor()
        agent = settings.agents.get(actor) or {}
        data = event["data"]
        reporter = case.get("reporter") or {}
        values = {
            "case_id": case["id"], "tag": f"[{self.settings.tag_prefix}{case['id']}]",
            "subject": case["subject"], "reporter": reporter.get("name") or
            reporter.get("email") or "", "agent": author.name,
            "signature": agent.get("signature") or f"{author.name}\n{self.settings.name}",
            "desk": self.settings.name, "status": case["status"],
            "text": {"notify": case.get("description"), "email": data.get("text"),
                     "solution": data.get("solution"), "task": data.get("need"),
                     "contact": data.get("note")}[self.kind] or "",
        }
        if self.kind == "task":
            task = next(task for task in case["tasks"] if task["event"] == event["id"])
            target = settings.agents.get(data["to"]) if data["to_kind"] == "agent" \
                else settings.teams.get(data["to"])
            values.update(task_id=task["id"], task_subject=task["subject"],
                          assignee=(target or {}).get("name") or data["to"])
            if protection.is_protected(case):
                # The person's words stay in the case: whoever gets the task
                # opens it, where casectl decides what they may see.
                values.update(subject=protection.MARK, task_subject=protection.MARK,
                              text="")
        return values


def mailing(session: Session, kind: str) -> Mailing:
    return Mailing(session, kind)


# ---------------------------------------------------------------- reconciling

def reconcile(session: Session) -> list[tuple[str, str]]:
    """Settle messages a killed action left in tmp/: (name, "queued" or
    "dropped") for each. Under the repository's lock (an action in
    progress holds it while its message is in tmp/), after finishing any
    interrupted action."""
    box = Outbox.of(session.root)
    if not box.leftovers():
        return []
    done = []
    try:
        with store.locked(session.root):
            transaction.recover(session.root)
            for name, _ in box.leftovers():
                staged = outbox.Staged(box, name)
                if _committed(session.root, box.root / "tmp" / name):
                    staged.deliver()
                    done.append((name, "queued"))
                else:
                    staged.discard()
                    done.append((name, "dropped"))
    except ReadOnlyRepository:
        return []
    return done


def _committed(root: Path, path: Path) -> bool:
    """Whether the case the message in ``path`` belongs to recorded its
    Message-ID (read from the message itself, which is all a killed
    process surely left)."""
    try:
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        case_id = str(message.get(mailout.CASE_HEADER) or "").strip()
        message_id = str(message.get("Message-ID") or "").strip()
        case_path = root / store.case_relpath(store.parse_case_id(case_id))
        doc = yamlio.read_mapping(case_path, case_path.name)
    except (OSError, ValueError, InvalidData, UsageError, NotFound):
        return False
    return bool(message_id) and message_id in mailout.recorded_ids(doc.get("log") or [])


# ---------------------------------------------------------------- listing

LIST_FIELDS = ("id", "case", "kind", "status", "to", "subject", "queued", "attempts",
               "next_try", "error", "message_id", "sent")
TABLE_FIELDS = ("id", "case", "kind", "status", "to", "next_try", "error")


def short_id(name: str) -> str:
    """The id `outbox list` shows: the random part of the Maildir name."""
    parts = name.split(".")
    return parts[1] if len(parts) == 3 else name


def listing(session: Session, include_sent: bool = False) -> list[dict[str, Any]]:
    reconcile(session)
    rows = []
    for entry in Outbox.of(session.root).entries():
        if entry.status == outbox.SENT and not include_sent:
            continue
        state = entry.state
        rows.append({"id": short_id(entry.name), "case": state.get("case"),
                     "kind": state.get("kind"), "status": entry.status,
                     "to": ", ".join(state.get("to") or []), "subject": state.get("subject"),
                     "queued": state.get("queued"), "attempts": state.get("attempts", 0),
                     "next_try": state.get("next_try") if entry.status == outbox.WAITING
                     else None, "error": state.get("error"),
                     "message_id": state.get("message_id"), "sent": state.get("sent")})
    return rows


def retry(session: Session, typed: str) -> dict[str, Any]:
    """Make a waiting or failed message due now."""
    reconcile(session)
    box = Outbox.of(session.root)
    if not box.exists():
        raise NotFound(f"no message {typed!r} in the outbox", "the outbox is empty")
    with _sending(box):  # not while `outbox send` is trying it
        return _retry(session, box, typed)


def _retry(session: Session, box: Outbox, typed: str) -> dict[str, Any]:
    entry = _find(box, typed)
    if entry.status == outbox.SENT:
        raise OperationFailed(f"message {short_id(entry.name)} was sent already "
                              f"({entry.state.get('sent')})",
                              "nothing to retry; 'casectl outbox list --all' shows it")
    now = session.now()
    changes: dict[str, Any] = {"next_try": now.isoformat(timespec="seconds")}
    if entry.status == outbox.FAILED:
        # A fresh start: five more days of retries from now.
        changes.update(queued=changes["next_try"], attempts=0)
    box.requeue(entry, **changes)
    return {"id": short_id(entry.name), "case": entry.state.get("case"),
            "next_try": changes["next_try"]}


def _find(box: Outbox, typed: str) -> Entry:
    wanted = typed.strip()
    entries = list(box.entries())
    found = [entry for entry in entries if wanted in (entry.name, entry.state.get("message_id"))
             or short_id(entry.name).startswith(wanted.lower())]
    if not wanted or not found:
        raise NotFound(f"no message {typed!r} in the outbox",
                       "'casectl outbox list' shows the ids of what waits or failed")
    if len(found) > 1:
        raise UsageError(f"{typed!r} names {len(found)} messages in the outbox",
                         "give more characters of the id")
    return found[0]


# ---------------------------------------------------------------- sending

@dataclass
class SendReport:
    sent: list[dict[str, Any]] = field(default_factory=list)
    deferred: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)
    offline: str | None = None
    waiting: int = 0  # not due yet

    def to_dict(self) -> dict[str, Any]:
        return {"sent": self.sent, "deferred": self.deferred, "failed": self.failed,
                "offline": self.offline, "not_due": self.waiting}


class _Temporary(Exception):
    """The server could not take the message now (4xx, a dropped line)."""


class _Permanent(Exception):
    """The server refused the message for good (5xx)."""


def send(session: Session, max_count: int | None = None) -> SendReport:
    """Deliver what is due, oldest first (at most ``max_count``)."""
    settings = mailconfig.settings(session.config.data)
    smtp = settings.smtp
    reconcile(session)
    box = Outbox.of(session.root)
    if smtp is None or not settings.address:
        waiting = sum(1 for entry in box.entries() if entry.status == outbox.WAITING)
        raise OperationFailed(
            f"mail cannot be sent: casectl.yaml has no mail.{'smtp' if settings.address else 'address'} "
            f"section ({waiting} message{'s' if waiting != 1 else ''} wait in the outbox)",
            "point it at your mail server, for example:\n" + SMTP_EXAMPLE
            + "\nthen export the password variable and run casectl outbox send again")
    if not box.exists():
        return SendReport()
    with _sending(box):
        return _send(session, settings, smtp, box, max_count)


def _sending(box: Outbox) -> contextlib.AbstractContextManager[None]:
    """The outbox's own lock: one sender at a time (two cron runs must not
    send a message twice), and no retry while a send tries it. Not the
    repository's lock: actions go on while mail is sent."""
    return store.held(open(box.lock_path, "a+"))


def _send(session: Session, settings: mailconfig.MailSettings, smtp: mailconfig.Smtp,
          box: Outbox, max_count: int | None) -> SendReport:
    now = session.now()
    report = SendReport()
    due: list[Entry] = []
    for entry in box.entries():
        if entry.status != outbox.WAITING:
            continue
        next_try = entry.state.get("next_try")
        if next_try and datetime.fromisoformat(next_try) > now:
            report.waiting += 1
        elif max_count is None or len(due) < max_count:
            due.append(entry)
    if not due:
        return report
    password = _password(smtp)
    try:
        client = _connect(session.root, smtp)
    except ssl.SSLError as exc:
        raise OperationFailed(
            f"the TLS connection to {smtp.host}:{smtp.port} failed: {exc.reason or exc}; "
            "nothing was sent", "check mail.smtp.security and port (starttls: 587, tls: "
            "465), and for a server certificate of a private CA set mail.smtp.ca_file") \
            from None
    except (OSError, smtplib.SMTPException) as exc:
        report.offline = f"cannot reach {smtp.host}:{smtp.port}: {_reason(exc)}"
        for entry in due:
            _defer(box, entry, now, report.offline, report)
        return report
    try:
        _login(client, smtp, password)
        for number, entry in enumerate(due):
            try:
                _deliver(client, settings, entry)
            except _Temporary as exc:
                _defer(box, entry, now, str(exc), report)
            except _Permanent as exc:
                box.finish(entry, outbox.FAILED, error=str(exc), failed=_iso(now),
                           attempts=int(entry.state.get("attempts", 0)) + 1)
                report.failed.append(_row(entry, str(exc)))
            except (OSError, smtplib.SMTPServerDisconnected) as exc:
                report.offline = f"the connection to {smtp.host} was lost: {_reason(exc)}"
                for left in due[number:]:
                    _defer(box, left, now, report.offline, report)
                break
            else:
                box.finish(entry, outbox.SENT, sent=_iso(now), error=None,
                           attempts=int(entry.state.get("attempts", 0)) + 1)
                report.sent.append(_row(entry))
    finally:
        with contextlib.suppress(OSError, smtplib.SMTPException):
            client.quit()
    return report


def _password(smtp: mailconfig.Smtp) -> str | None:
    """The password from the environment variable casectl.yaml names."""
    if not smtp.user:
        return None
    if not smtp.password_env:
        raise UsageError("mail.smtp.user is set but mail.smtp.password_env is not",
                         "name the environment variable that holds the password: "
                         "password_env: CASECTL_SMTP_PASSWORD (never the password itself)")
    password = os.environ.get(smtp.password_env)
    if not password:
        raise OperationFailed(
            f"the SMTP password is not set: the environment variable {smtp.password_env} "
            "(mail.smtp.password_env) is empty or unset; nothing was sent",
            f"export {smtp.password_env}=... in the environment casectl outbox send runs in "
            "(a cron job's too)")
    return password


def _context(root: Path, smtp: mailconfig.Smtp) -> ssl.SSLContext:
    """Certificates are verified, always: the system's CAs, or the private
    CA of mail.smtp.ca_file."""
    cafile = None
    if smtp.ca_file:
        path = Path(smtp.ca_file).expanduser()
        cafile = str(path if path.is_absolute() else root / path)
        if not Path(cafile).is_file():
            raise OperationFailed(f"mail.smtp.ca_file {smtp.ca_file} is not a file",
                                  "give the path of a PEM file of CA certificates")
    return ssl.create_default_context(cafile=cafile)


def _connect(root: Path, smtp: mailconfig.Smtp) -> smtplib.SMTP:
    # The host's own name for EHLO: getfqdn would ask DNS, which may hang
    # for the whole timeout on a machine cut off from it.
    local = socket.gethostname() or "localhost"
    if smtp.security == "tls":
        return smtplib.SMTP_SSL(smtp.host, smtp.port, timeout=smtp.timeout,
                                local_hostname=local, context=_context(root, smtp))
    client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout, local_hostname=local)
    if smtp.security == "starttls":
        client.ehlo()
        if not client.has_extn("starttls"):
            client.close()
            raise OperationFailed(f"{smtp.host}:{smtp.port} does not offer STARTTLS; nothing "
                                  "was sent", "use security: tls (port 465) if it speaks "
                                  "implicit TLS, or ask the mail server's admin")
        client.starttls(context=_context(root, smtp))
        client.ehlo()
    return client


def _login(client: smtplib.SMTP, smtp: mailconfig.Smtp, password: str | None) -> None:
    if not smtp.user:
        return
    try:
        _authenticate(client, smtp.user, password or "")
    except smtplib.SMTPAuthenticationError as exc:
        raise OperationFailed(f"{smtp.host} refused the login of {smtp.user} "
                              f"({exc.smtp_code}); nothing was sent",
                              f"check mail.smtp.user and the password in ${smtp.password_env}"
                              ) from None
    except smtplib.SMTPNotSupportedError:
        raise OperationFailed(f"{smtp.host} offers no login (AUTH) here; nothing was sent",
                              "drop mail.smtp.user for a server that needs none, or use "
                              "security: starttls or tls (servers offer AUTH only over TLS)"
                              ) from None


def _authenticate(client: smtplib.SMTP, user: str, password: str) -> None:
    """smtplib's login, which encodes the credentials as ASCII; a password
    with æ, ø or å goes as AUTH PLAIN in UTF-8 (RFC 4616), as mail servers
    (Dovecot, Postfix with SASL) expect it."""
    if (user + password).isascii():
        client.login(user, password)
        return
    client.ehlo_or_helo_if_needed()
    if not client.has_extn("auth"):
        raise smtplib.SMTPNotSupportedError("AUTH")
    if "PLAIN" not in client.esmtp_features["auth"].upper().split():
        raise smtplib.SMTPAuthenticationError(
            504, b"the server offers no AUTH PLAIN, which a non-ASCII password needs")
    import base64

    token = base64.b64encode(b"\0" + user.encode("utf-8") + b"\0" + password.encode("utf-8"))
    code, answer = client.docmd("AUTH", "PLAIN " + token.decode("ascii"))
    if code != 235:
        raise smtplib.SMTPAuthenticationError(code, answer)


def _deliver(client: smtplib.SMTP, settings: mailconfig.MailSettings, entry: Entry) -> None:
    raw = entry.raw()
    to = list(entry.state.get("to") or [])
    if not to:  # a message put in new/ by hand: its own To header
        parsed = email.message_from_bytes(raw, policy=policy.default)
        to = [address.addr_spec for address in parsed["To"].addresses] if parsed["To"] else []
    try:
        refused = client.sendmail(str(settings.address), to, mailout.for_the_wire(raw))
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        text = "; ".join(f"{who}: {code} {_text(message)}"
                         for who, (code, message) in exc.recipients.items())
        if all(code >= 500 for code in codes):
            raise _Permanent(f"refused: {text}") from None
        raise _Temporary(f"not now: {text}") from None
    except smtplib.SMTPResponseException as exc:
        text = f"{exc.smtp_code} {_text(exc.smtp_error)}"
        if exc.smtp_code >= 500:
            raise _Permanent(f"refused: {text}") from None
        if exc.smtp_code == -1:  # smtplib's own "connection unexpectedly closed"
            raise smtplib.SMTPServerDisconnected(text) from None
        raise _Temporary(f"not now: {text}") from None
    if refused:
        entry.state["refused"] = {who: f"{code} {_text(message)}"
                                  for who, (code, message) in refused.items()}


def _defer(box: Outbox, entry: Entry, now: datetime, reason: str, report: SendReport) -> None:
    attempts = int(entry.state.get("attempts", 0)) + 1
    queued = entry.state.get("queued")
    if queued and mailout.given_up(datetime.fromisoformat(queued), now):
        error = f"given up after {mailout.GIVE_UP_AFTER.days} days; last: {reason}"
        box.finish(entry, outbox.FAILED, error=error, failed=_iso(now), attempts=attempts)
        report.failed.append(_row(entry, error))
        return
    next_try = now + mailout.retry_after(attempts)
    box.save(entry, attempts=attempts, error=reason, next_try=_iso(next_try))
    report.deferred.append(_row(entry, reason))


def _row(entry: Entry, error: str | None = None) -> dict[str, Any]:
    return {"id": short_id(entry.name), "case": entry.state.get("case"),
            "kind": entry.state.get("kind"), "to": entry.state.get("to"),
            "message_id": entry.state.get("message_id"), "error": error,
            "next_try": entry.state.get("next_try") if error and entry.status ==
            outbox.WAITING else None}


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _text(value: bytes | str) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return " ".join(value.split())


def _reason(exc: BaseException) -> str:
    if isinstance(exc, socket.timeout):
        return "timed out"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{exc.smtp_code} {_text(exc.smtp_error)}"
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__

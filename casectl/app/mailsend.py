"""`casectl outbox send`: the outbox's due mail over SMTP (issue 8, point
3), as casectl.yaml's mail.smtp says: STARTTLS or implicit TLS, always
verified; AUTH with the password from the environment; backoff on
temporary failures. Queueing, listing and retrying are app/outbox.py."""

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
from typing import Any

from .. import mailconfig, mailout, outbox
from ..errors import OperationFailed, UsageError
from ..outbox import Entry, Outbox
from .outbox import reconcile, sending, short_id
from .session import Session

SMTP_EXAMPLE = """mail:
  address: servicedesk@example.org
  smtp:
    host: smtp.example.org
    port: 587
    security: starttls
    user: servicedesk@example.org
    password_env: CASECTL_SMTP_PASSWORD"""

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
            "point it at your mail server in casectl.yaml, for example:\n"
            + "\n".join("      " + line for line in SMTP_EXAMPLE.splitlines())
            + "\n    then export the password variable and run casectl outbox send again")
    if not box.exists():
        return SendReport()
    with sending(box):
        return _send(session, settings, smtp, box, max_count)


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


def _utf8_options(client: smtplib.SMTP, to: list[str]) -> list[str]:
    """SMTPUTF8 (RFC 6531) for an envelope address beyond ASCII, when the
    server offers it; smtplib refuses such an address otherwise."""
    if all(address.isascii() for address in to):
        return []
    client.ehlo_or_helo_if_needed()
    return ["SMTPUTF8"] if client.has_extn("smtputf8") else []


def _deliver(client: smtplib.SMTP, settings: mailconfig.MailSettings, entry: Entry) -> None:
    raw = entry.raw()
    to = list(entry.state.get("to") or [])
    if not to:  # a message put in new/ by hand: its own To header
        parsed = email.message_from_bytes(raw, policy=policy.default)
        to = [address.addr_spec for address in parsed["To"].addresses] if parsed["To"] else []
    try:
        refused = client.sendmail(str(settings.address), to, mailout.for_the_wire(raw),
                                  _utf8_options(client, to))
    except (UnicodeEncodeError, smtplib.SMTPNotSupportedError):
        # An address with letters beyond ASCII (bjørn@..., an IDN domain)
        # to a server that does not take SMTPUTF8: this message can never
        # go this way, the others in the queue still can (smtplib stopped
        # after MAIL FROM: the transaction is reset for the next one).
        with contextlib.suppress(smtplib.SMTPException, OSError):
            client.rset()
        raise _Permanent(f"the address {', '.join(to)} has letters beyond ASCII and "
                         f"the server does not take them (no SMTPUTF8); correct the "
                         "reporter's address") from None
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

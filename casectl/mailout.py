"""Mail going out (issue 8, point 3), pure: the Message-ID a mail gets, the
RFC 5322 message itself, the Message-IDs a case has recorded (for
In-Reply-To and References), and when a failed delivery is tried again.
Time is passed in."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Sequence

# The Maildir keeps messages with plain line ends (as mail tools write
# them); delivery turns them into CRLF.
STORED = policy.default.clone(linesep="\n", max_line_length=78)
CASE_HEADER = "X-Casectl-Case"
KIND_HEADER = "X-Casectl-Mail"

# Backoff after a temporary failure: 5 minutes, doubling, at most 6 hours;
# given up 5 days after the mail was queued (what mail servers do with
# their own queues, RFC 5321 section 4.5.4.1 suggests 4-5 days).
FIRST_RETRY = timedelta(minutes=5)
LONGEST_RETRY = timedelta(hours=6)
GIVE_UP_AFTER = timedelta(days=5)


def new_message_id(case_id: str, address: str) -> str:
    """A Message-ID casectl makes for a mail of ``case_id``: unique (random),
    under the desk's own domain, and telling which case it belongs to to a
    person reading headers."""
    domain = address.rpartition("@")[2] or "casectl.invalid"
    return f"<casectl.{case_id}.{secrets.token_hex(8)}@{domain}>"


def is_ours(message_id: str, case_id: str) -> bool:
    """Whether ``message_id`` is one casectl made for a mail of ``case_id``."""
    return message_id.startswith(f"<casectl.{case_id}.")


def compose(*, sender_name: str, sender: str, to: Sequence[str], subject: str, body: str,
            message_id: str, references: Sequence[str], date: datetime, case_id: str,
            kind: str) -> bytes:
    """The whole message as stored in the outbox: UTF-8 text, quoted-
    printable (readable, and safe through servers without 8BITMIME)."""
    message = EmailMessage(policy=STORED)
    message["From"] = Address(display_name=sender_name, addr_spec=sender)
    message["To"] = ", ".join(to)
    message["Subject"] = subject
    message["Date"] = format_datetime(date)
    message["Message-ID"] = message_id
    if references:
        message["In-Reply-To"] = references[-1]
        # RFC 5322 3.6.4: the parent's references and the parent; long
        # threads keep the first and the latest (as mail clients trim).
        kept = list(references) if len(references) <= 20 else \
            [references[0], *references[-19:]]
        message["References"] = " ".join(kept)
    if kind == "notify":
        # RFC 3834: an automatic notice; vacation responders stay quiet.
        message["Auto-Submitted"] = "auto-generated"
    message[CASE_HEADER] = case_id
    message[KIND_HEADER] = kind
    message.set_content(body, charset="utf-8", cte="quoted-printable")
    return message.as_bytes()


def retry_after(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failed try (1, 2, ...)."""
    return min(FIRST_RETRY * (2 ** max(attempts - 1, 0)), LONGEST_RETRY)


def given_up(queued: datetime, now: datetime) -> bool:
    return now - queued >= GIVE_UP_AFTER


def for_the_wire(raw: bytes) -> bytes:
    """The stored message with CRLF line ends, as SMTP carries it."""
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")

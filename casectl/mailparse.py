"""One RFC 5322 message read into what intake needs (issue 8, first part).

Pure: bytes in, a ``Mail`` out, no I/O. Python's ``email`` package with
``email.policy.default`` decodes encoded-word subjects and the transfer
encodings (quoted-printable, base64); what it leaves is done here: a body
whose declared charset is wrong falls back to Windows-1252 (a superset of
ISO-8859-1 for every byte a mail client writes as text), HTML-only mail is
turned into readable text with the standard library's html.parser, and
auto-replies and bulk mail are recognised so they never open cases or loop.

A message that cannot be read as mail raises ``MalformedMail`` with the
reason, never another exception.
"""

from __future__ import annotations

import email
import email.header
import email.policy
import email.utils
import re
from dataclasses import dataclass, field
from email.message import EmailMessage
from html.parser import HTMLParser

from . import ids

DEFAULT_TAG_PREFIX = "#"

# Subjects of out-of-office and automatic answers, as the common clients of
# nb, sv, da and en desks write them (Outlook, Gmail, Apple Mail, Exchange).
_AUTO_SUBJECTS = re.compile(
    r"^\s*(?:"
    r"automatisk svar|autosvar|fraværende|fravær|ikke til stede|ute av kontoret|"   # nb
    r"frånvarande|frånvaro|ej på plats|inte på kontoret|automatiskt svar|"           # sv
    r"fraværende|ikke på kontoret|automatisk besked|automatisk svar|"              # da
    r"out of office|out of the office|automatic reply|auto-reply|autoreply|"
    r"auto reply|away from the office|on vacation|vacation reply"                   # en
    r")\s*(?::|$)", re.IGNORECASE)  # the phrase alone or before a colon: "Fravær av lyd" is a case


@dataclass(frozen=True)
class Attachment:
    """One attached file: its name as the sender gave it (decoded; None
    when it had none), its MIME type and its decoded bytes."""

    filename: str | None
    content_type: str
    data: bytes


class MalformedMail(ValueError):
    """The bytes are not a message intake can read; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Mail:
    """What intake reads from one message."""

    message_id: str | None              # "<id@host>", as the sender wrote it
    references: tuple[str, ...]          # In-Reply-To and References, oldest first
    sender_name: str | None
    sender_address: str                  # lower-cased: addresses are compared by it
    subject: str                         # decoded, on one line ("" when absent)
    body: str                            # text: text/plain preferred, else HTML as text
    automatic: str | None                # why it is an auto-reply or bulk, else None
    tags: tuple[str, ...] = field(default=())  # case ids of [#ID] tags in the subject
    # Filled in by issue 8's second part (each has a default so parts land apart):
    recipients: tuple[str, ...] = field(default=())   # To and Cc addresses, lower-cased
    # A forwarded message's original sender (name, address): the reporter.
    forwarded_from: tuple[str | None, str] | None = None
    # The body without quoted history and signature (what a reply event
    # keeps); None: the same as body.
    reply_text: str | None = None
    attachments: tuple["Attachment", ...] = field(default=())

    def tag(self) -> str | None:
        """The first case tag of the subject, or None."""
        return self.tags[0] if self.tags else None


def parse(raw: bytes, tag_prefix: str = DEFAULT_TAG_PREFIX) -> Mail:
    """The message of ``raw``; ``MalformedMail`` when it cannot be one."""
    if not raw.strip():
        raise MalformedMail("the message is empty")
    try:
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        if not message.keys():
            raise MalformedMail("the message has no header")
        name, address = _sender(message)
        subject = " ".join(_subject(message).split())
        return Mail(
            message_id=_one_id(_header(message, "Message-ID")),
            references=_ids(_header(message, "References")) + tuple(
                i for i in _ids(_header(message, "In-Reply-To"))
                if i not in _ids(_header(message, "References"))),
            sender_name=name, sender_address=address, subject=subject,
            body=_body(message),
            automatic=_automatic(message, subject),
            tags=case_tags(subject, tag_prefix),
        )
    except MalformedMail:
        raise
    except Exception as exc:  # the email package's many ways of failing on bad input
        raise MalformedMail(f"the message cannot be read ({type(exc).__name__}: {exc})") \
            from exc


def case_tags(subject: str, prefix: str = DEFAULT_TAG_PREFIX) -> tuple[str, ...]:
    """The case ids of the ``[<prefix>ID]`` tags in ``subject``, canonical
    (upper case, I/L read as 1, O as 0), in order, without repeats."""
    pattern = re.compile(r"\[\s*" + re.escape(prefix) + r"\s*([0-9A-Za-z]{10,11})\s*\]")
    found: list[str] = []
    for match in pattern.finditer(subject):
        case_id = ids.normalize_case_id(match.group(1))
        if case_id and case_id not in found:
            found.append(case_id)
    return tuple(found)


def _header(message: EmailMessage, name: str) -> str:
    """A header's decoded text; a header the parser cannot decode (a broken
    encoded word) is read from its raw bytes instead."""
    try:
        value = message.get(name)
    except Exception:  # a defective header: take its raw form
        value = None
        for key, raw in message.raw_items():
            if key.lower() == name.lower():
                value = str(raw)
                break
    return str(value) if value is not None else ""


def _subject(message: EmailMessage) -> str:
    """The decoded subject. Done here rather than by the email package,
    which puts U+FFFD where an encoded word's declared charset is wrong."""
    return _encoded_words(_raw(message, "Subject"))


def _raw(message: EmailMessage, name: str) -> str:
    """A header as it came, unfolded; raw 8-bit bytes (not allowed, but
    sent) read as UTF-8, else Windows-1252."""
    raw = next((str(value) for key, value in message.raw_items()
                if key.lower() == name.lower()), "")
    raw = _decoded_bytes(raw.encode("ascii", "surrogateescape"), None)
    return raw.replace("\r", "").replace("\n", "")


def _encoded_words(text: str) -> str:
    """Text with its encoded words decoded, each with its charset, else
    UTF-8, else Windows-1252."""
    words = []
    for chunk, charset in email.header.decode_header(text):
        words.append(_decoded_bytes(chunk, charset) if isinstance(chunk, bytes) else chunk)
    return "".join(words)


def _decoded_bytes(data: bytes | str, charset: str | None) -> str:
    if isinstance(data, str):
        return data
    for candidate in (charset, "utf-8", "cp1252"):
        if not candidate:
            continue
        try:
            return data.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("latin-1")


_ID = re.compile(r"<[^<>\s]+>")


def _ids(text: str) -> tuple[str, ...]:
    return tuple(_ID.findall(text))


def _one_id(text: str) -> str | None:
    found = _ids(text)
    return found[0] if found else None


def _sender(message: EmailMessage) -> tuple[str | None, str]:
    """(name, address) of From (Sender when From has no address)."""
    for header in ("From", "Sender", "Return-Path"):
        # The address from the header as it came; the name decoded here, as
        # the subject is (a wrong charset in it falls back the same way).
        name, address = email.utils.parseaddr(_raw(message, header))
        if "@" in address:
            return (" ".join(_encoded_words(name).split()) or None), address.strip().lower()
    raise MalformedMail("the message has no sender address (From)")


def _automatic(message: EmailMessage, subject: str) -> str | None:
    """Why the message is an automatic answer or bulk mail, or None."""
    auto = _header(message, "Auto-Submitted").strip().lower()
    if auto and not auto.startswith("no"):
        return f"Auto-Submitted: {auto}"
    precedence = _header(message, "Precedence").strip().lower()
    if precedence in ("bulk", "junk", "list", "auto_reply"):
        return f"Precedence: {precedence}"
    for header in ("X-Autoreply", "X-Autorespond"):
        value = _header(message, header).strip()
        if value:
            return f"{header}: {value}"
    if _AUTO_SUBJECTS.match(subject):
        return f"an out-of-office subject ({subject})"
    return None


def _body(message: EmailMessage) -> str:
    """The text of the message: its text/plain part, else its text/html
    part as text, else ""."""
    plain = html = None
    for part in message.walk():
        if part.is_multipart() or part.get_content_disposition() == "attachment":
            continue
        kind = part.get_content_type()
        if kind == "text/plain" and plain is None:
            plain = _text(part)
        elif kind == "text/html" and html is None:
            html = _text(part)
    if plain is not None and plain.strip():
        return _tidy(plain)
    if html is not None:
        return _tidy(html_to_text(html))
    return ""


def _text(part: EmailMessage) -> str:
    """A text part's content. A charset Python does not know, or bytes that
    are not in the declared one, fall back to Windows-1252, which maps every
    byte a mail client writes as text."""
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return str(part.get_payload())
    charset = part.get_content_charset() or "us-ascii"
    for candidate in (charset, "utf-8", "cp1252"):
        try:
            return payload.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    return payload.decode("latin-1")  # every byte is a character: cannot fail


def _tidy(text: str) -> str:
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


class _TextOfHtml(HTMLParser):
    """Readable text from HTML: block elements become line breaks, list
    items get a dash, links keep their address, scripts and styles go."""

    BLOCKS = {"p", "div", "br", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "li", "ul", "ol",
              "table", "blockquote", "pre", "hr", "section", "article", "header", "footer"}
    SKIPPED = {"script", "style", "head", "title"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0
        self.href: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIPPED:
            self.skipping += 1
        elif tag in self.BLOCKS:
            self.parts.append("\n")
            if tag == "li":
                self.parts.append("- ")
        elif tag == "a":
            self.href = dict(attrs).get("href")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIPPED:
            self.skipping = max(0, self.skipping - 1)
        elif tag in self.BLOCKS and tag != "li":  # the next item's dash starts a line
            self.parts.append("\n")
        elif tag == "a" and self.href:
            if self.href.startswith(("http:", "https:")):
                self.parts.append(f" ({self.href})")
            self.href = None

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(re.sub(r"\s+", " ", data))


def html_to_text(html: str) -> str:
    """HTML as readable plain text."""
    parser = _TextOfHtml()
    parser.feed(html)
    parser.close()
    text = "".join(parser.parts)
    return "\n".join(line.strip() for line in text.split("\n"))

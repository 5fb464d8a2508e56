"""One RFC 5322 message read into what intake needs (issue 8, first part).

Pure: bytes in, a ``Mail`` out, no I/O. Python's ``email`` package with
``email.policy.default`` decodes encoded-word subjects and the transfer
encodings (quoted-printable, base64); what it leaves is done here: a body
whose declared charset is wrong falls back to Windows-1252 (a superset of
ISO-8859-1 for every byte a mail client writes as text), HTML-only mail is
turned into readable text with the standard library's html.parser, and
auto-replies and bulk mail are recognised so they never open cases or loop.
A forward's original sender is read from the message it attaches or the
block its client wrote into the text, and a reply's text is given without
its quoted history and signature (``trimmed``), both as the Outlook, Gmail,
Apple Mail and Thunderbird of nb, sv, da and en desks write them.

A message that cannot be read as mail raises ``MalformedMail`` with the
reason, never another exception.
"""

from __future__ import annotations

import contextlib
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
    # keeps; parse fills it, the body itself when there is nothing to trim
    # or the message is a forward); None: the same as body.
    reply_text: str | None = None
    attachments: tuple["Attachment", ...] = field(default=())

    def tag(self) -> str | None:
        """The first case tag of the subject, or None."""
        return self.tags[0] if self.tags else None


def parse(raw: bytes, tag_prefix: str = DEFAULT_TAG_PREFIX) -> Mail:
    """The message of ``raw``; ``MalformedMail`` when it cannot be one."""
    from . import mailparts  # it builds on this module's Attachment and decoders

    if not raw.strip():
        raise MalformedMail("the message is empty")
    try:
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        if not message.keys():
            raise MalformedMail("the message has no header")
        name, address = _sender(message)
        subject = " ".join(_subject(message).split())
        announced = is_forward_subject(subject) or bool(_header(message, "X-Forwarded-Message-Id"))
        attached = _attached_forward(message, subject, announced)
        body = _body(message, skip=attached)
        forwarded_from = None
        if attached is not None:
            body = "\n\n".join(part for part in (body, _forward_block(attached)) if part)
            with contextlib.suppress(MalformedMail):  # an attached message with no sender
                forwarded_from = _sender(attached)
        else:
            forwarded_from = inline_forward(body, announced)
        forward = announced or forwarded_from is not None
        return Mail(
            message_id=_one_id(_header(message, "Message-ID")),
            references=_ids(_header(message, "References")) + tuple(
                i for i in _ids(_header(message, "In-Reply-To"))
                if i not in _ids(_header(message, "References"))),
            sender_name=name, sender_address=address, subject=subject,
            body=body,
            automatic=_automatic(message, subject),
            tags=case_tags(subject, tag_prefix),
            recipients=_recipients(message),
            forwarded_from=forwarded_from,
            # A forward's content is the point of it: nothing is trimmed.
            reply_text=body if forward else trimmed(body),
            attachments=mailparts.attachments(message, attached),
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


def _recipients(message: EmailMessage) -> tuple[str, ...]:
    """The addresses of To and Cc (every such header), lower-cased, in
    order, without repeats. Only routing reads them: a header too broken to
    read gives none rather than making the message unreadable."""
    try:
        values = [_decoded_bytes(str(value).encode("ascii", "surrogateescape"), None)
                  for key, value in message.raw_items() if key.lower() in ("to", "cc")]
        found: list[str] = []
        for _, address in email.utils.getaddresses(values):
            address = address.strip().lower()
            if "@" in address and address not in found:
                found.append(address)
        return tuple(found)
    except Exception:  # noqa: BLE001 - the email package's ways of failing on bad input
        return ()


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
    if message.get_content_type() == "multipart/report":
        # RFC 6522: a bounce or read receipt (a delivery status or
        # disposition notification), which a server or client sends
        # without anyone writing it; it must not open a case or answer one.
        report = message.get_param("report-type") or "unknown"
        return f"a delivery or read report ({report})"
    return None


def _body(message: EmailMessage, skip: EmailMessage | None = None) -> str:
    """The text of the message: its text/plain part, else its text/html
    part as text, else "". The parts of ``skip`` (a forwarded message
    attached whole, rendered apart) are not looked at."""
    plain = html = None
    skipped = {id(part) for part in skip.walk()} if skip is not None else set()
    for part in message.walk():
        if id(part) in skipped:
            continue
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
    candidates = [charset, "utf-8", "cp1252"]
    if _SINGLE_BYTE.fullmatch(charset) and not payload.isascii():
        # Declared Latin-1 or Windows-1252 (or nothing) but sent as UTF-8,
        # as webmail and forwarding clients do: Latin text with æøå is
        # almost never valid UTF-8 by chance, so valid UTF-8 is read as such.
        candidates.insert(0, "utf-8")
    for candidate in candidates:
        try:
            return payload.decode(candidate)
        except (LookupError, UnicodeDecodeError):
            continue
    return payload.decode("latin-1")  # every byte is a character: cannot fail


_SINGLE_BYTE = re.compile(r"(?:us-)?ascii|iso[-_]?8859[-_]?(?:1|15)|latin[-_]?1|"
                          r"(?:windows|cp)[-_]?1252", re.I)


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
        elif tag == "blockquote":  # quoted history: its lines get "> " as in plain text
            self.parts.append(f"\n{_QUOTE_IN}\n")
        elif tag in self.BLOCKS:
            self.parts.append("\n")
            if tag == "li":
                self.parts.append("- ")
        elif tag == "a":
            self.href = dict(attrs).get("href")

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIPPED:
            self.skipping = max(0, self.skipping - 1)
        elif tag == "blockquote":
            self.parts.append(f"\n{_QUOTE_OUT}\n")
        elif tag in self.BLOCKS and tag != "li":  # the next item's dash starts a line
            self.parts.append("\n")
        elif tag == "a" and self.href:
            if self.href.startswith(("http:", "https:")):
                self.parts.append(f" ({self.href})")
            self.href = None

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            data = data.replace(_QUOTE_IN, "").replace(_QUOTE_OUT, "")
            self.parts.append(re.sub(r"\s+", " ", data))


def html_to_text(html: str) -> str:
    """HTML as readable plain text."""
    parser = _TextOfHtml()
    parser.feed(html)
    parser.close()
    text = "".join(parser.parts)
    lines: list[str] = []
    depth = 0
    for line in text.split("\n"):
        depth = max(0, depth + line.count(_QUOTE_IN) - line.count(_QUOTE_OUT))
        line = line.replace(_QUOTE_IN, "").replace(_QUOTE_OUT, "").strip()
        lines.append("> " * depth + line if line and depth else line)
    return "\n".join(lines)


# Where a blockquote starts and ends in the text being built: two control
# characters no mail text needs, dropped from the HTML's own text.
_QUOTE_IN, _QUOTE_OUT = "\x0e", "\x0f"


# ---------------------------------------------------------------- forwards and quoted history
#
# Hard mail made boring (issue 8, second part). Written from what the
# clients of nb, sv, da and en desks put in a message: Outlook (desktop and
# web), Gmail, Apple Mail, Thunderbird; German forms cost one word each and
# turn up at Nordic hospitals' suppliers.

# A subject's forward prefix: Fwd/Fw (en, Gmail, Apple Mail), VS (nb and da
# Outlook: "videresend"), VB (sv Outlook: "vidarebefordra"), WG (de). Only
# the first prefix counts: "SV: VS: x" is a reply to a forward, not a forward.
_FORWARD_PREFIX = re.compile(r"(?:fwd?|vs|vb|wg|videresend|vidarebefordrat?)\s*:", re.I)
_ANY_PREFIX = re.compile(r"(?:re|sv|aw|antw|fwd?|vs|vb|wg)\s*:\s*", re.I)
_BRACKETS = re.compile(r"\[[^\]]*\]\s*")

# The line a client writes above a forwarded message: Gmail's dashes (and
# Thunderbird's, with eight), Apple Mail's sentence with a colon.
_FORWARD_MARKER = re.compile(
    r"-{2,}\s*(?:forwarded message|videresendt melding|vidarebefordrat meddelande|"
    r"videresendt meddelelse|weitergeleitete nachricht)\s*-{2,}"
    r"|(?:begin forwarded message|start på videresendt melding|"
    r"början av vidarebefordrat meddelande|start på videresendt besked|"
    r"anfang der weitergeleiteten nachricht)\s*:", re.I)
# Outlook's line above the message it answers or forwards (older Outlook
# and Outlook for Mac; newer ones write only the header block, often below
# a line of underscores).
_ORIGINAL_MARKER = re.compile(
    r"-{2,}\s*(?:original message|opprinnelig melding|ursprungligt meddelande|"
    r"oprindelig meddelelse|ursprüngliche nachricht)\s*-{2,}", re.I)
_UNDERSCORES = re.compile(r"_{10,}")

# The labels of a quoted header block ("Fra: ... / Sendt: ... / Til: ... /
# Emne: ..."), by what they name.
_LABELS = {
    "from": ("from", "fra", "från", "von", "afsender", "avsändare", "avsender"),
    "date": ("sent", "sendt", "skickat", "gesendet", "date", "dato", "datum"),
    "to": ("to", "til", "till", "an", "cc", "kopi", "kopia", "kopi til"),
    "subject": ("subject", "emne", "ämne", "betreff", "titel"),
}
_LABEL_KIND = {label: kind for kind, labels in _LABELS.items() for label in labels}
_LABEL_LINE = re.compile(r"\*?([^\W\d_]+(?: [^\W\d_]+)?)\*?\s*:\*?(?:\s+(.*)|$)")

# "On <date>, <name> wrote:" and its kin: Gmail, Apple Mail, Outlook for
# iOS and Android, Thunderbird, in en, nb, sv ("skrev följande:") and da.
# Only counts when quoted lines follow it, so a sentence that happens to
# end "... skrev:" is never taken for one.
_ATTRIBUTION = re.compile(
    r".{0,300}\b(?:wrote|skrev|schrieb)(?:\b[^:]{0,200})?:", re.I)

# The lines a phone or a mail program adds under what was typed.
_SENT_FROM = re.compile(
    r"(?:sent|sendt|skickat|skickad|gesendet)\s+(?:from|fra|från|von)\s+"
    r"(?:my|min|mitt|mi|meinem|mein)?\s*(?:iphone|ipad|android|samsung|galaxy|mobil|mobile|"
    r"smartphone|telefon|phone|outlook|mail|blackberry|huawei|pixel|windows)\b.{0,60}"
    r"|(?:get|hent|skaffa|få)\s+outlook\s+(?:for|för|til|für)\s+(?:ios|android)", re.I)

_ADDRESS = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")

# The local parts of addresses nobody answers: an automatic mail forwarded
# to the desk is reported by whoever forwarded it.
_NOBODY = re.compile(r"(?:no-?reply|do-?not-?reply|donotreply|ikke-?svar|mailer-daemon|"
                     r"postmaster|bounces?)(?:[+.-].*)?", re.I)


def is_forward_subject(subject: str) -> bool:
    """Whether a subject says its message is a forward: the first prefix,
    after any bracketed tags ("[EKSTERN]", "[#ID]"), is a forward prefix,
    or it is Thunderbird's "[Fwd: ...]"."""
    text = subject.strip()
    while True:
        if re.match(r"\[\s*fwd?\s*:", text, re.I):
            return True
        bracket = _BRACKETS.match(text)
        if not bracket:
            break
        text = text[bracket.end():]
    return bool(_FORWARD_PREFIX.match(text))


def is_nobody(address: str) -> bool:
    """Whether an address is one nobody answers (noreply@, mailer-daemon@)."""
    return bool(_NOBODY.fullmatch(address.partition("@")[0]))


def _bare_subject(subject: str) -> str:
    """A subject without tags and reply or forward prefixes, folded."""
    text = subject.strip()
    while True:
        match = _BRACKETS.match(text) or _ANY_PREFIX.match(text)
        if not match:
            return " ".join(text.split()).casefold()
        text = text[match.end():]


def _attached_forward(message: EmailMessage, subject: str, announced: bool
                      ) -> EmailMessage | None:
    """The message forwarded as an attachment (Outlook's and Gmail's
    "forward as attachment"): the first message/rfc822 part, when the
    subject says it is a forward or is the attached message's own. An old
    mail attached as evidence to a message of one's own is not a forward,
    and a delivery report's returned message never is."""
    if message.get_content_type() == "multipart/report":
        return None
    for part in message.walk():
        if part.get_content_type() != "message/rfc822":
            continue
        payload = part.get_payload()
        inner = payload[0] if isinstance(payload, list) and payload else None
        if not isinstance(inner, EmailMessage):
            return None
        if announced or _bare_subject(_subject(inner)) == _bare_subject(subject):
            return inner
        return None
    return None


def _forward_block(inner: EmailMessage) -> str:
    """An attached forwarded message as the text Gmail writes for an inline
    forward, so the case's description holds the forwarded content."""
    lines = ["---------- Forwarded message ---------"]
    for label, header in (("From", "From"), ("Date", "Date"), ("Subject", "Subject"),
                          ("To", "To")):
        value = " ".join(_encoded_words(_raw(inner, header)).split())
        if value:
            lines.append(f"{label}: {value}")
    return "\n".join(lines) + "\n\n" + _body(inner)


def _unquoted(line: str) -> str:
    return re.sub(r"^(?:\s*>)+ ?", "", line).strip()


def _label(line: str) -> tuple[str, str] | None:
    """(kind, value) of a header-block line such as "Fra: Ola <ola@x.no>"."""
    match = _LABEL_LINE.fullmatch(line.strip())
    if not match:
        return None
    kind = _LABEL_KIND.get(match.group(1).casefold())
    return (kind, (match.group(2) or "").strip()) if kind else None


def _header_block(lines: list[str], start: int) -> dict[str, str] | None:
    """The quoted header block starting at ``lines[start]``: its values by
    kind, when it has a sender, a date and a recipient or subject (three
    lines at least, so a sentence starting "Fra:" is not one)."""
    found: dict[str, str] = {}
    last = None
    for line in lines[start:start + 12]:
        if not line.strip():
            break
        labelled = _label(line)
        if labelled is None:
            if last is None:
                return None
            found[last] += " " + line.strip()  # a long value Outlook wrapped
            continue
        last = labelled[0]
        found.setdefault(last, labelled[1])
    if "from" in found and "date" in found and ("to" in found or "subject" in found):
        return found
    return None


def _person(value: str) -> tuple[str | None, str] | None:
    """(name, address) from a quoted header's sender: "Ola Nordmann
    <ola@x.no>", "Ola Nordmann [mailto:ola@x.no]", "Ola <ola@x.no<mailto:
    ola@x.no>>", "\"Nordmann, Ola\" <ola@x.no>", or the bare address."""
    value = _encoded_words(value)
    match = _ADDRESS.search(value)
    if not match:
        return None  # Outlook writes a colleague's name alone: no address, no reporter
    name = re.split(r"[<\[(]|mailto:", value[:match.start()])[0]
    name = " ".join(name.strip().strip("\"'*").split()).strip(" ,\"'")
    return (name if name and "@" not in name else None), match.group(0).lower()


def inline_forward(body: str, announced: bool) -> tuple[str | None, str] | None:
    """The original sender of a message forwarded inline, from the header
    block its client wrote into the text: below a forward or original-
    message marker or a line of underscores, or a header block alone
    (Outlook). Looked for anywhere when the subject announced a forward,
    else only at the top of the text; the first block is the forwarded
    message (a forward of a forward names whoever sent the first one on).
    None when there is no such block or it names no address."""
    lines = [_unquoted(line) for line in body.split("\n")]
    filled = [i for i, line in enumerate(lines) if line]
    for i in (filled if announced else filled[:1]):
        line = lines[i]
        if _FORWARD_MARKER.fullmatch(line) or _ORIGINAL_MARKER.fullmatch(line) \
                or _UNDERSCORES.fullmatch(line):
            after = next((j for j in filled if j > i), None)
            block = _header_block(lines, after) if after is not None else None
        else:
            block = _header_block(lines, i)
        if block is not None:
            return _person(block["from"])
    return None


def trimmed(text: str) -> str:
    """``text`` without its quoted history and signature: what a reply
    event keeps. Trimmed: everything from Outlook's quoted header block
    ("-----Original Message-----" and its nb/sv/da forms, or a "From:/Sent:
    /To:" block, also below a line of underscores); every quoted ("> ")
    line with the "On ... wrote:" / "... skrev ...:" line above it; a
    signature below a "-- " line (within 20 lines of the end); the "Sent
    from my iPhone" lines at the end. Never trims to nothing: a text that
    would be left empty is returned whole."""
    lines = text.split("\n")
    kept = lines[:_history_starts(lines)]
    kept = _without_quotes(kept)
    while kept and not kept[-1].strip():
        kept.pop()
    delimiters = [i for i, line in enumerate(kept) if line.rstrip() == "--"]
    if delimiters and len(kept) - delimiters[-1] <= 21:
        kept = kept[:delimiters[-1]]
    while kept and (not kept[-1].strip() or _SENT_FROM.fullmatch(kept[-1].strip())):
        kept.pop()
    if kept == lines:
        return text
    result = re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip()
    return result or text


def _history_starts(lines: list[str]) -> int:
    """Where Outlook's quoted message starts (its marker, the underscores
    above its header block, or the block), else len(lines)."""
    for i, line in enumerate(lines):
        stripped = line.strip()
        if _ORIGINAL_MARKER.fullmatch(stripped):
            return i
        block = _label(stripped)
        if block and block[0] == "from" and _header_block(lines, i) is not None:
            above = [j for j in range(i) if lines[j].strip()]
            if above and _UNDERSCORES.fullmatch(lines[above[-1]].strip()):
                return above[-1]
            return i
    return len(lines)


def _without_quotes(lines: list[str]) -> list[str]:
    """The lines without quoted ones, and without the attribution line
    that introduces a quote (one line, or two when the client wrapped it:
    Gmail breaks "On ..., Name <" / "addr> wrote:")."""
    quoted = [line.lstrip().startswith(">") for line in lines]
    dropped = {i for i, is_quoted in enumerate(quoted) if is_quoted}
    for j, line in enumerate(lines):
        if quoted[j] or not line.strip():
            continue
        nxt = next((k for k in range(j + 1, len(lines)) if lines[k].strip()), None)
        if nxt is None or not quoted[nxt]:
            continue
        here = line.strip()
        above = lines[j - 1].strip() if j > 0 and not quoted[j - 1] else ""
        wrapped = bool(above) and bool(_OPENER.match(above)) and not _VERB.search(above) \
            and not _OPENER.match(here) and bool(_ATTRIBUTION.fullmatch(f"{above} {here}"))
        if wrapped:
            dropped.update((j - 1, j))
        elif _ATTRIBUTION.fullmatch(here):
            dropped.add(j)
    return [line for i, line in enumerate(lines) if i not in dropped]


# How an attribution line starts: "On", "Den", a date, or a weekday before
# one ("tir. 1. des. 2026", "tis 1 dec."); and the verb that ends it.
_OPENER = re.compile(r"(?:on|den|am|\d|[^\W\d_]{2,4}\.?,?\s+\d)", re.I)
_VERB = re.compile(r"\b(?:wrote|skrev|schrieb)\b", re.I)

"""The attached files of one parsed message (issue 8: attachments).

Pure: an ``EmailMessage`` in, ``Attachment`` values out, no I/O. Called by
``mailparse.parse``, which keeps the text body; what is a file here is what
a mail client shows as one: a part sent as an attachment (Content-
Disposition: attachment), an inline part that is not text (a pasted
screenshot, a signature's logo), a leaf of multipart/mixed that is not the
body, and a mail attached whole (message/rfc822) as its .eml. A forward
attached whole is the message the case is about: its text is the case's
description (mailparse) and the files it carries are taken from inside it.

Nothing here raises on bad input: a part whose transfer encoding is broken
(base64 cut short or with stray characters) is kept as the email package
decodes it best, else as the bytes that came; a filename that cannot be
decoded is read as UTF-8, else Windows-1252, as subjects are.
"""

from __future__ import annotations

import re
import urllib.parse
from email.message import EmailMessage, Message
from typing import Iterator

from .mailparse import Attachment

# The name an attachment gets when the sender gave none: its kind, so a
# pasted screenshot is "image.png" rather than nameless.
_EXTENSIONS = {"image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif",
               "application/pdf": ".pdf", "message/rfc822": ".eml", "text/plain": ".txt",
               "text/html": ".html", "text/calendar": ".ics"}
_UNSAFE = re.compile(r"[\x00-\x1f\x7f/\\]")
MAX_NAME = 255  # what a file system allows for one name, and plenty for a label


def attachments(message: EmailMessage, forward: EmailMessage | None = None
                ) -> tuple[Attachment, ...]:
    """Every attached file of ``message``, in the order the message gives
    them. ``forward``: the forwarded message mailparse took the text of
    (attached whole): its own files are taken, it is not kept as a file."""
    body_seen: set[str] = set()  # the first text/plain and text/html: the body
    return tuple(_attachment(part)
                 for part in _walk(message, forward, body_seen, alternative=False))


def _walk(part: Message, forward: Message | None, body_seen: set[str],
          alternative: bool) -> Iterator[Message]:
    kind = part.get_content_type()
    if kind == "message/rfc822" or (part.get_content_maintype() == "message"
                                    and _disposition(part) == "attachment"):
        inner = part.get_payload()
        inner_message = inner[0] if isinstance(inner, list) and inner else None
        if forward is not None and inner_message is forward:
            yield from _walk(forward, None, set(), alternative=False)
        else:
            yield part  # a mail attached as evidence: kept whole, as its .eml
        return
    if part.is_multipart():
        payload = part.get_payload()
        inside_alternative = kind == "multipart/alternative"
        for child in payload if isinstance(payload, list) else ():
            if isinstance(child, Message):
                yield from _walk(child, forward, body_seen, inside_alternative)
        return
    if _is_file(part, body_seen, alternative):
        yield part


def _is_file(part: Message, body_seen: set[str], alternative: bool) -> bool:
    disposition = _disposition(part)
    if disposition == "attachment":
        return True
    if part.get_content_maintype() != "text":
        # Inline or undisposed but not text: an image, a PDF, a calendar
        # invitation's binary sibling. Delivery reports' own parts
        # (message/delivery-status) are text to a person: not files.
        return part.get_content_type() not in ("message/delivery-status",)
    kind = part.get_content_type()
    if alternative:
        body_seen.add(kind)
        return False  # the text and HTML forms of the body
    if kind in ("text/plain", "text/html") and kind not in body_seen:
        body_seen.add(kind)  # the body (mailparse reads it), not a file
        return False
    # A further text part: a text file sent inline (Apple Mail writes its
    # attachments so), kept when it is named; an unnamed one is more body
    # (some clients split the text around an inline image).
    return _filename(part) is not None


def _disposition(part: Message) -> str | None:
    try:
        return part.get_content_disposition()
    except Exception:  # noqa: BLE001 - a header the parser chokes on: no disposition
        return None


def _attachment(part: Message) -> Attachment:
    kind = part.get_content_type()
    name = _safe_filename(part) or "attachment" + _EXTENSIONS.get(kind, ".bin")
    return Attachment(filename=name, content_type=kind, data=_data(part))


def _data(part: Message) -> bytes:
    """The part's content as bytes: decoded from its transfer encoding
    (the email package repairs what base64 padding it can and records a
    defect rather than raising), a mail attached whole as it came."""
    if part.get_content_maintype() == "message":
        payload = part.get_payload()
        inner = payload[0] if isinstance(payload, list) and payload else None
        if isinstance(inner, Message):
            try:
                return inner.as_bytes()
            except Exception:  # noqa: BLE001 - an attached message that cannot be redone
                return str(inner).encode("utf-8", "surrogateescape")
    try:
        data = part.get_payload(decode=True)
    except Exception:  # noqa: BLE001 - the encoding cannot be undone: keep what came
        data = None
    if isinstance(data, bytes):
        return data
    raw = part.get_payload()
    return raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else b""


def _safe_filename(part: Message) -> str | None:
    """The part's filename (RFC 2231 or encoded words, Nordic letters
    right), without path separators or control characters; None when it
    has none."""
    name = _filename(part)
    if name is None:
        return None
    name = _UNSAFE.sub("_", " ".join(name.split())).strip(" .")
    return name[:MAX_NAME] or None


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except Exception:  # noqa: BLE001 - a malformed parameter: read it by hand below
        name = None
    if isinstance(name, str) and "\ufffd" not in name and "=?" not in name:
        return name
    # By hand: the email package gives up (U+FFFD) on an RFC 2231 value or
    # encoded word whose charset is wrong, and leaves encoded words inside
    # a quoted RFC 2231 value as they are.
    for header, parameter in (("Content-Disposition", "filename"), ("Content-Type", "name")):
        value = _raw_parameter(part, header, parameter)
        if value:
            return value
    return name if isinstance(name, str) else None


_PARAMETER = re.compile(r';\s*([A-Za-z0-9_.-]+)(?:\*(\d+))?(\*)?\s*=\s*'
                        r'("(?:[^"\\]|\\.)*"|[^;\s]*)')


def _raw_parameter(part: Message, header: str, parameter: str) -> str | None:
    """A header parameter read from the bytes that came: plain, quoted,
    RFC 2231 (``name*=charset''%XX``, and ``name*0*=`` continuations), or
    with encoded words or raw 8-bit bytes in it, which mail clients send
    although no standard allows them."""
    from .mailparse import _decoded_bytes, _encoded_words

    raw = next((str(value) for key, value in part.raw_items() if key.lower() == header.lower()),
               None)
    if raw is None:
        return None
    sections: dict[int, tuple[bool, str]] = {}
    unfolded = raw.replace("\r", "").replace("\n", "")
    for name, number, extended, value in _PARAMETER.findall(unfolded):
        if name.lower() == parameter:
            if value.startswith('"'):
                value = re.sub(r"\\(.)", r"\1", value[1:-1])
            sections.setdefault(int(number or 0), (bool(extended), value))
    if not sections:
        return None
    charset = None
    data = b""
    for position, (extended, value) in sorted(sections.items()):
        if extended:
            if position == 0 and value.count("'") >= 2:
                charset, _, value = value.split("'", 2)
            data += urllib.parse.unquote_to_bytes(value.encode("ascii", "surrogateescape"))
        else:
            data += value.encode("ascii", "surrogateescape")
    text = _decoded_bytes(data, charset or None)
    return _encoded_words(text) if "=?" in text else text

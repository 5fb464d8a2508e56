"""Checks of the text users give, the same for every command: the same
mistake gets the same message and exit code wherever it is made.

Every check here raises UsageError (exit 2): what is refused is the value
as typed, whatever the case it is meant for. Rules that depend on a case's
state (a solution is needed to close a case that is not solved yet) stay in
workflow.py and exit 1.
"""

from __future__ import annotations

import re
import unicodedata

from ..errors import UsageError

MAX_TEXT = 100_000
MAX_SUBJECT = 300
MAX_NAME = 200
MIN_PHONE_DIGITS = 8

# Letters NFKD does not take apart into a base letter and a mark.
_FOLD = str.maketrans({"æ": "ae", "Æ": "AE", "ø": "o", "Ø": "O", "œ": "oe", "Œ": "OE",
                       "ß": "ss", "þ": "th", "Þ": "TH", "ð": "d", "Ð": "D", "đ": "d",
                       "Đ": "D", "ł": "l", "Ł": "L", "ı": "i"})
_DOMAIN_LABEL = re.compile(r"^(?!-)[\w-]{1,63}(?<!-)$")
_PHONE = re.compile(r"^[0-9 +()\-]+$")


def clean_text(value: str | None, what: str, *, required: bool = False,
               limit: int = MAX_TEXT) -> str | None:
    """Text from the command line or stdin, normalised for the file: line
    endings unified, outer blank lines dropped; huge is refused, and so is
    empty whenever it is given at all: `--note ""` is a slip of the
    keyboard or a script whose variable came out empty, never a choice."""
    if value is None:
        if required:
            raise UsageError(f"{what} is required")
        return None
    text = value.replace("\r\n", "\n").replace("\r", "\n").strip("\n")
    if not text.strip():
        raise UsageError(f"{what} is empty", "write it in a few words, or leave the option out "
                         "where it is optional")
    if len(text) > limit:
        raise UsageError(f"{what} is {len(text):,} characters; the limit is {limit:,}",
                         "shorten it, or attach long logs to the case elsewhere and refer to them")
    if "\x00" in text:
        raise UsageError(f"{what} contains a NUL character", "send plain text")
    return text


def clean_line(value: str | None, what: str, *, required: bool = False,
               limit: int = MAX_SUBJECT) -> str | None:
    """One line of text (a subject, a name): inner whitespace collapsed,
    as it becomes a commit subject or a table cell."""
    text = clean_text(value, what, required=required, limit=limit)
    return None if text is None else " ".join(text.split())


def clean_subject(value: str | None) -> str:
    text = clean_line(value, "the subject", required=True)
    assert text is not None
    return text


def clean_name(value: str | None, what: str) -> str | None:
    return clean_line(value, what, limit=MAX_NAME)


def email_address(value: str, what: str = "the e-mail address") -> str:
    """A bare address, local@domain: parsed by the standard library's
    address parser (which must read all of it as one address), then a sane
    look at each half, so "ola@", "ola@@x.no" and "ola @x.no" are refused."""
    address = value.strip()
    from email.utils import parseaddr  # ~6 ms of imports, paid only when an address is given

    name, parsed = parseaddr(address)
    local, at, domain = address.rpartition("@")
    labels = domain.split(".")
    if (name or parsed != address or not at or not local or "@" in local
            or any(c.isspace() or c in "<>,;\"" for c in local)
            or len(labels) < 2 or not all(_DOMAIN_LABEL.match(label) for label in labels)):
        raise UsageError(f"{what} {value!r} is not an e-mail address",
                         "write it as name@example.org")
    return address


def clean_phone(value: str | None) -> str | None:
    """A phone number as typed (spaces, +, - and parentheses allowed, for
    display), with at least 8 digits so it can be dialled; search finds it
    by its digits alone (see index.py)."""
    if value is None:
        return None
    text = " ".join(value.split())
    if not text:
        raise UsageError("the phone number is empty", "leave --phone out if it is not known")
    digits = phone_digits(text)
    if not _PHONE.match(text) or len(digits) < MIN_PHONE_DIGITS:
        raise UsageError(f"{value!r} is not a phone number",
                         f"give at least {MIN_PHONE_DIGITS} digits; spaces, +, - and "
                         "parentheses may separate them, e.g. +47 917 22 418")
    return text


def phone_digits(text: str) -> str:
    return "".join(c for c in text if c.isascii() and c.isdigit())


def fold(text: str) -> str:
    """Text with its letters folded to ASCII as Nordic and German readers
    would spell them without the marks: Åse Øvrebø -> Ase Ovrebo."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_FOLD))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def slugify(text: str, default: str) -> str:
    """A readable lower-case id made from a name."""
    slug = re.sub(r"[^a-z0-9._-]+", "-", fold(text).strip().lower()).strip("-._")
    return slug[:64].rstrip("-._") or default

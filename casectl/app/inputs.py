"""Checks of the text users give, the same for every command: the same
mistake gets the same message and exit code wherever it is made."""

from __future__ import annotations

from ..errors import UsageError

MAX_TEXT = 100_000
MAX_SUBJECT = 300


def clean_text(value: str | None, what: str, *, required: bool = False,
               limit: int = MAX_TEXT) -> str | None:
    """Text from the command line or stdin, normalised for the file: line
    endings unified, outer blank lines dropped; empty and huge are refused."""
    if value is None:
        if required:
            raise UsageError(f"{what} is required")
        return None
    text = value.replace("\r\n", "\n").replace("\r", "\n").strip("\n")
    if not text.strip():
        if required:
            raise UsageError(f"{what} is empty", "write what happened in a few words")
        return None
    if len(text) > limit:
        raise UsageError(f"{what} is {len(text):,} characters; the limit is {limit:,}",
                         "shorten it, or attach long logs to the case elsewhere and refer to them")
    if "\x00" in text:
        raise UsageError(f"{what} contains a NUL character", "send plain text")
    return text


def clean_subject(value: str | None) -> str:
    text = clean_text(value, "the subject", required=True, limit=MAX_SUBJECT)
    assert text is not None
    return " ".join(text.split())  # one line: it becomes a commit subject

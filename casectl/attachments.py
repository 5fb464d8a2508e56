"""Files kept beside the cases (issue 8: a mail's attachments and the
message itself): where they live and how an event lists them. Pure; used
by intake (app/mailfiles.py), validate, audit and the timelines.

A file is stored at ``attachments/<first two hex digits>/<sha256>`` at the
top of the repository: its name says what it must hold. An event lists
what it brought in its data: ``attachments: [{name, type, size, sha256}]``
and ``original: {sha256, size}`` (the whole message as it came).
"""

from __future__ import annotations

import re
from typing import Any, Mapping, NamedTuple

ATTACHMENTS_DIR = "attachments"
_SHA256 = re.compile(r"[0-9a-f]{64}")


class Listed(NamedTuple):
    """One file an event lists: its name (``None`` for the original
    message), MIME type (None for the original), size in bytes and sha256."""

    name: str | None
    type: str | None
    size: int
    sha256: str

    @property
    def path(self) -> str:
        return path_of(self.sha256)


def path_of(sha256: str) -> str:
    """The repository-relative path of the file whose sha256 is ``sha256``."""
    return f"{ATTACHMENTS_DIR}/{sha256[:2]}/{sha256}"


def sha256_of_path(path: str) -> str | None:
    """The sha256 a path under attachments/ names, or None when the path
    is not one casectl writes there."""
    parts = path.split("/")
    if len(parts) == 3 and parts[0] == ATTACHMENTS_DIR and _SHA256.fullmatch(parts[2]) \
            and parts[1] == parts[2][:2]:
        return parts[2]
    return None


def is_attachment_path(path: str) -> bool:
    return path.startswith(ATTACHMENTS_DIR + "/")


def size_text(size: int) -> str:
    """A size as people read it, in units of 1024 as the limit is written
    (mailconfig.parse_size): 512 B, 12 KiB, 1.5 MiB."""
    if size < 1024:
        return f"{size} B"
    value = float(size)
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        value /= 1024
        if value < 1024 or unit == "TiB":
            break
    shown = f"{value:.1f}".removesuffix(".0")
    return f"{shown} {unit}"


def listed(event: Mapping[str, Any]) -> list[Listed]:
    """The files an event's data lists as kept: its attachments, then its
    original message. Entries of another shape (a hand edit, which the
    schema reports; a masked protected case) are left out."""
    data = event.get("data") if isinstance(event, Mapping) else None
    if not isinstance(data, Mapping):
        return []
    found = []
    entries = data.get("attachments")
    for entry in entries if isinstance(entries, list) else ():
        if _well_formed(entry):
            found.append(Listed(str(entry.get("name")), str(entry.get("type")), entry["size"],
                                entry["sha256"]))
    original = data.get("original")
    if _well_formed(original):
        found.append(Listed(None, None, original["size"], original["sha256"]))
    return found


def _well_formed(entry: Any) -> bool:
    return isinstance(entry, Mapping) and isinstance(entry.get("sha256"), str) \
        and bool(_SHA256.fullmatch(entry["sha256"])) and isinstance(entry.get("size"), int) \
        and not isinstance(entry.get("size"), bool)


def lines(event: Mapping[str, Any]) -> list[str]:
    """The timeline's line for each file an event lists:
    ``attached: NAME (SIZE) attachments/ab/abcdef0123…`` (ten hex digits,
    as the commit ids beside them)."""
    return [f"attached: {entry.name or 'the original message'} ({size_text(entry.size)}) "
            f"{path_of(entry.sha256)[:len(ATTACHMENTS_DIR) + 14]}…" for entry in listed(event)]

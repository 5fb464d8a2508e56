"""The quarantine of mail intake (issue 8): a message intake could not take
(unreadable, or refused for a reason of its own) is kept, never dropped.

The quarantine is a Maildir (tmp/, new/, cur/), by default
``.git/casectl/quarantine`` (never committed: a message that could not be
read may hold anything), so a mail client can open it and `casectl intake
--maildir` can take its messages again once the reason is fixed. Each
message is named by the sha256 of its bytes, so the same message kept
twice is kept once; the reason, when and where from are beside it in
``reasons/<name>.json`` (outside new/ and cur/, where a mail client would
take them for messages).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from .. import clock, store
from ..errors import OperationFailed

DIRECTORY = "quarantine"
REASONS = "reasons"
FIELDS = ("name", "when", "reason", "source", "path")


@dataclass(frozen=True)
class Kept:
    """One message in quarantine: its name (sha256 of its bytes), when it
    was first kept, why, where it came from, and its file."""

    name: str
    when: str | None
    reason: str | None
    source: str | None
    path: Path

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "when": self.when, "reason": self.reason,
                "source": self.source, "path": str(self.path)}


def default_directory(root: Path) -> Path:
    return store.state_dir(root) / DIRECTORY


def keep(directory: Path, raw: bytes, reason: str, source: str, now: datetime) -> Path:
    """Keep ``raw`` in the quarantine ``directory`` with its reason; the path
    of its file. A message kept already stays as it was (its first reason
    and time). Written as a Maildir delivery is: to tmp/, synced, then
    renamed into new/."""
    name = hashlib.sha256(raw).hexdigest()
    try:
        for sub in ("tmp", "new", "cur", REASONS):
            (directory / sub).mkdir(parents=True, exist_ok=True)
        found = _file_of(directory, name)
        if found is not None:
            return found
        note = {"when": clock.isoformat(now), "reason": reason, "source": source}
        store.write_atomic(directory / REASONS / f"{name}.json",
                           json.dumps(note, ensure_ascii=False, indent=2) + "\n")
        temp = directory / "tmp" / f"{name}.{os.getpid()}"
        with open(temp, "wb") as handle:
            handle.write(raw)
            handle.flush()
            os.fsync(handle.fileno())
        target = directory / "new" / name
        os.replace(temp, target)
        _sync_directory(target.parent)
        return target
    except OSError as exc:
        raise OperationFailed(
            f"could not keep the message in the quarantine {directory} "
            f"({exc.strerror or exc}); it was not taken in (the reason: {reason})",
            "make the quarantine writable or choose another with --quarantine DIR, then "
            "take the message in again") from None


def listing(directory: Path) -> list[Kept]:
    """What the quarantine holds, oldest first."""
    found = []
    for sub in ("new", "cur"):
        with contextlib.suppress(FileNotFoundError, NotADirectoryError):
            for path in (directory / sub).iterdir():
                if path.name.startswith(".") or not path.is_file():
                    continue
                name = path.name.split(":", 1)[0]
                note = _note(directory / REASONS / f"{name}.json")
                found.append(Kept(name, note.get("when") or _mtime(path), note.get("reason"),
                                  note.get("source"), path))
    return sorted(found, key=lambda kept: (kept.when or "", kept.name))


def _file_of(directory: Path, name: str) -> Path | None:
    """The file of message ``name`` in new/ or cur/ (where a mail client or
    a sweep moved it, with flags after a colon)."""
    if (directory / "new" / name).is_file():
        return directory / "new" / name
    for path in (directory / "cur").glob(f"{name}*"):
        if path.name.split(":", 1)[0] == name:
            return path
    return None


def _note(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _mtime(path: Path) -> str | None:
    try:
        return clock.isoformat(datetime.fromtimestamp(path.stat().st_mtime).astimezone())
    except OSError:
        return None


def _sync_directory(path: Path) -> None:
    with contextlib.suppress(OSError):  # the rename is durable once the directory is
        handle = os.open(path, os.O_RDONLY)
        try:
            os.fsync(handle)
        finally:
            os.close(handle)

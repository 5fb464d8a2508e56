"""Where mail intake takes its messages from (issue 8): one message (a mail
server's delivery pipe, or a file), a sweep of a Maildir, or of an mbox.

Every message ends one of three ways: taken (a new case, a reply, a note,
a duplicate, or ignored), kept in quarantine (app/quarantine.py) when it
cannot be taken for a reason of its own, or left where it is when the
refusal concerns the desk (intake.concerns_desk): a sweep stops there, so
the messages not taken yet wait for the next run.

A Maildir sweep takes every message of new/ and every one of cur/ not
flagged seen (S) or trashed (T), oldest first, and moves each to cur/ with
the flag S once it is committed (or ignored, a duplicate, quarantined): a
second run takes nothing twice and a mail client shows it read. A crash
between the commit and the move leaves a message that the next run finds
already taken (by its Message-ID), so it is recorded once.

An mbox is read whole under its lock (the mailbox module's: fcntl and a
dot-lock where the directory allows one), then the lock is let go and the
file is never written: the Message-ID makes a second sweep harmless.
"""

from __future__ import annotations

import contextlib
import errno
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

from ..errors import CasectlError, NotFound, OperationFailed, UsageError
from . import quarantine as quarantines
from .intake import Intake, concerns_desk

# The outcomes, in the order the summary counts them.
ACTIONS = ("new", "reply", "note", "duplicate", "ignored", "quarantined")
# How long an mbox locked by another program (a delivery, a mail client)
# is waited for before giving up.
MBOX_LOCK_WAIT = 10.0


@dataclass(frozen=True)
class Taken:
    """What became of one message: where it came from (a file, ``-``, a
    Maildir file, ``MBOX#N``), the action, the case, and the note for
    standard error."""

    source: str
    action: str
    case: str | None
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "action": self.action, "case": self.case,
                "note": self.note}


@dataclass(frozen=True)
class Message:
    """A message of a sweep: its source, how to read it (None: it is gone,
    another sweep took it) and what to do once it is dealt with."""

    source: str
    read: Callable[[], bytes | None]
    done: Callable[[], None]


def take_one(intake: Intake, raw: bytes, source: str, quarantine: Path) -> Taken:
    """One message taken in, or kept in ``quarantine`` when it is refused
    for a reason of its own. A refusal that concerns the desk is raised,
    and the message is not kept."""
    try:
        outcome = intake.take(raw)
    except CasectlError as refused:
        if concerns_desk(refused):
            raise
        kept = quarantines.keep(quarantine, raw, refused.message, source, intake.session.now())
        return Taken(source, "quarantined", None,
                     f"{refused.message}; kept in quarantine as {kept}")
    return Taken(source, outcome.action, outcome.case_id, outcome.note)


def sweep(intake: Intake, messages: Iterable[Message], quarantine: Path,
          report: Callable[[Taken], None]) -> None:
    """Take ``messages`` one after another, ``report`` told of each as it
    is done. Stops with the error at the first refusal that concerns the
    desk, leaving that message and the rest where they are."""
    for message in messages:
        raw = message.read()
        if raw is None:
            continue
        taken = take_one(intake, raw, message.source, quarantine)
        message.done()
        report(taken)


# ---------------------------------------------------------------- Maildir

def maildir(directory: Path) -> list[Message]:
    """The messages a sweep of the Maildir ``directory`` takes, oldest first."""
    if not (directory / "new").is_dir() or not (directory / "cur").is_dir():
        if not directory.exists():
            raise NotFound(f"no such Maildir: {directory}", "give the directory that holds "
                           "new/ and cur/ (the mail server's delivery folder)")
        raise UsageError(f"{directory} is not a Maildir (it has no new/ and cur/)",
                         "give the directory that holds new/ and cur/, e.g. ~/Maildir")
    found = []
    for sub in ("new", "cur"):
        try:
            entries = list(os.scandir(directory / sub))
        except OSError as exc:
            raise OperationFailed(f"cannot read {directory / sub}: {exc.strerror}",
                                  "run intake as a user who may read and write the Maildir")
        for entry in entries:
            if entry.name.startswith(".") or (sub == "cur" and _flags(entry.name) & {"S", "T"}):
                continue
            with contextlib.suppress(FileNotFoundError):  # taken by a sweep beside this one
                if entry.is_file():
                    found.append((entry.stat().st_mtime_ns, entry.name, Path(entry.path)))
    return [Message(str(path), _reader(path), _seen(path)) for _, _, path in sorted(found)]


def _flags(name: str) -> set[str]:
    """A Maildir file's flags: the letters after ":2," in its name."""
    _, colon, info = name.rpartition(":")
    return set(info[2:]) if colon and info.startswith("2,") else set()


def _reader(path: Path) -> Callable[[], bytes | None]:
    def read() -> bytes | None:
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise OperationFailed(f"cannot read {path}: {exc.strerror}",
                                  "run intake as a user who may read and write the Maildir")
    return read


def _seen(path: Path) -> Callable[[], None]:
    """Moving the message to cur/ with the flag S (Maildir's "seen")."""
    def done() -> None:
        unique, colon, info = path.name.rpartition(":")
        if not (colon and info.startswith("2,")):
            unique, info = path.name, "2,"
        flags = "".join(sorted(set(info[2:]) | {"S"}))
        target = path.parent.parent / "cur" / f"{unique}:2,{flags}"
        try:
            os.rename(path, target)
        except FileNotFoundError:
            pass  # a sweep beside this one moved it; the Message-ID kept it taken once
        except OSError as exc:
            raise OperationFailed(
                f"{path} was taken in but could not be moved to {target} ({exc.strerror}); "
                "a later sweep finds it taken already", "run intake as a user who may write "
                "the Maildir") from None
    return done


# ---------------------------------------------------------------- mbox

def mbox(path: Path) -> list[Message]:
    """The messages of the mbox ``path``, read whole under its lock; the
    file is left as it was."""
    import mailbox

    if not path.is_file():
        if path.is_dir():
            raise UsageError(f"{path} is a directory, not an mbox file",
                             "give an mbox file, or a Maildir with --maildir")
        raise NotFound(f"no such mbox: {path}", "give the path of an mbox file")
    try:
        box = mailbox.mbox(str(path), create=False)
    except OSError as exc:
        raise OperationFailed(f"cannot read {path}: {exc.strerror}",
                              "run intake as a user who may read the mbox") from None
    try:
        _lock(box, path)
        try:
            raws = [box.get_bytes(key) for key in box.iterkeys()]
        finally:
            box.unlock()
    finally:
        box.close()
    return [Message(f"{path}#{number}", lambda raw=raw: raw, lambda: None)
            for number, raw in enumerate(raws, 1)]


def _lock(box: Any, path: Path) -> None:
    import mailbox

    waited = 0.0
    while True:
        try:
            box.lock()
            return
        except mailbox.ExternalClashError:
            if waited >= MBOX_LOCK_WAIT:
                raise OperationFailed(
                    f"the mbox {path} stayed locked by another program for "
                    f"{MBOX_LOCK_WAIT:.0f} s; nothing was taken in",
                    "try again later (a delivery or a mail client holds it)") from None
        except OSError as exc:
            if exc.errno not in (errno.EBADF, errno.EACCES, errno.EPERM, errno.EROFS):
                raise
            raise OperationFailed(
                f"cannot lock the mbox {path} ({exc.strerror}); nothing was taken in",
                "run intake as a user who may write the mbox (its lock needs that), or "
                "copy it somewhere writable first") from None
        time.sleep(0.2)
        waited += 0.2

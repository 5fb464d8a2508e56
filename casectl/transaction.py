"""Write files and commit them so that a crash at any point leaves the
repository as it was or fully changed.

Before touching a file, the intent (which files, the hash of their new
contents, the commit to make) is written to .git/casectl/pending.json. The
next command to take the lock finds it and finishes the job: every file
written means the commit is made; otherwise the files written so far are
put back. The lock itself is an flock, which dies with its process.
"""

from __future__ import annotations

import json
import os
import zlib
from datetime import datetime
from pathlib import Path
from typing import Mapping

from . import journal, store
from .errors import RuleViolation

PENDING = "pending.json"


def _digest(text: str | bytes) -> str:
    """Enough to tell a file's new contents from its old ones, which differ
    in length anyway (events are only ever appended). zlib rather than
    hashlib: hashlib's OpenSSL start-up costs more than the whole check."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    return f"{len(data)}:{zlib.crc32(data):08x}"


def _file_digest(path: Path) -> str | None:
    try:
        return _digest(path.read_bytes())
    except FileNotFoundError:
        return None


def commit_files(root: Path, files: Mapping[str, str], message: str, author: journal.Author,
                 when: datetime, *, require_committed: bool = True) -> str:
    """Write ``files`` (repository-relative path -> text) and commit them.

    With ``require_committed`` (all but init) each file must be as HEAD has
    it: an uncommitted hand edit would otherwise ride along in this
    action's commit, rewriting events that were already committed. On any
    failure the files are put back as they were. The caller holds the
    repository lock.
    """
    if require_committed:
        _require_committed(root, list(files))
    before = {path: _read(root / path) for path in files}
    pending = store.state_dir(root) / PENDING
    intent = {"files": {path: _digest(text) for path, text in files.items()},
              "message": message, "author": [author.name, author.email],
              "when": when.isoformat()}
    store.write_atomic(pending, json.dumps(intent, ensure_ascii=False))
    crash_point("intent-written")
    try:
        for path, text in files.items():
            store.write_atomic(root / path, text)
            crash_point("file-written")
        sha = journal.commit(root, list(files), message, author, when, step=crash_point)
    except journal.ForeignChanges as exc:
        _restore(root, before)
        pending.unlink()
        shown = ", ".join(exc.paths[:5]) + (" ..." if len(exc.paths) > 5 else "")
        raise RuleViolation(
            "one-action-one-commit", f"git's index has staged changes to other files ({shown}), "
            "which would end up in this action's commit; nothing was changed",
            "commit them (git commit) or unstage them (git restore --staged PATH), then run "
            "the command again") from None
    except Exception:
        # "Nothing was committed" must stay true: left in place, the next
        # command's recovery would commit what the user was told failed.
        _restore(root, before)
        pending.unlink()
        raise
    crash_point("committed")
    pending.unlink()
    return sha


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _committed(root: Path, paths: list[str]) -> dict[str, bytes]:
    """The contents HEAD has for ``paths`` (those it has), in one git call."""
    return dict(journal.read_blobs(root, "HEAD", paths)) if journal.head(root) else {}


def _require_committed(root: Path, paths: list[str]) -> None:
    committed = _committed(root, paths)
    changed = [path for path in paths if _read(root / path) != committed.get(path)]
    if changed:
        raise RuleViolation(
            "only-committed-state", f"{', '.join(changed)} has changes that are not committed "
            "(a hand edit?); casectl builds only on what git has recorded, so nothing was changed",
            "see them with 'git diff'; commit them (git commit) or discard them "
            "(git checkout -- FILE), then run the command again")


def _restore(root: Path, before: Mapping[str, bytes | None]) -> None:
    """Files as they were before this action, and the index in step (best
    effort: if another git process holds the index, it is resynced by the
    next action's update-index of the same paths)."""
    for path, content in before.items():
        if content is None:
            (root / path).unlink(missing_ok=True)
        else:
            store.write_atomic(root / path, content.decode("utf-8"))
    journal.git(root, "update-index", "--add", "--remove", "--", *before, check=False)


def crash_point(name: str) -> None:
    """Fault injection for the crash tests: CASECTL_CRASH_AT=<name> kills
    the process with SIGKILL right there, as a power cut or `kill -9` would.
    Stages: intent-written, file-written, index-updated, commit-written,
    committed."""
    if os.environ.get("CASECTL_CRASH_AT") == name:
        import signal

        os.kill(os.getpid(), signal.SIGKILL)


def settle(root: Path) -> None:
    """Before any command reads: finish what a killed process left half
    done. A stat when there is nothing to do; the lock only when there is."""
    if (store.state_dir(root) / PENDING).exists():
        with store.locked(root):
            recover(root)


def recover(root: Path) -> str | None:
    """Finish or undo an action a killed process left half done.

    Returns what was done ("completed" or "rolled back"), or None when there
    was nothing to do. The caller holds the repository lock.
    """
    pending = store.state_dir(root) / PENDING
    try:
        intent = json.loads(pending.read_text(encoding="utf-8"))
        files: dict[str, str] = intent["files"]
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError):
        # The intent itself was cut short, so no case file was touched yet.
        pending.unlink()
        return "rolled back"
    _remove_stale_git_locks(root)
    written = [path for path, digest in files.items() if _file_digest(root / path) == digest]
    committed = _committed(root, list(files))
    if len(written) == len(files):
        if any(_read(root / path) != committed.get(path) for path in files):
            name, email = intent["author"]
            journal.commit(root, list(files), intent["message"], journal.Author(name, email),
                           datetime.fromisoformat(intent["when"]))
        outcome = "completed"
    else:
        # Before writing, every file was as HEAD has it (_require_committed).
        _restore(root, {path: committed.get(path) for path in written})
        outcome = "rolled back"
    for path in files:
        for leftover in (root / path).parent.glob(f".{Path(path).name}.*.tmp"):
            leftover.unlink(missing_ok=True)
    pending.unlink()
    return outcome


def _remove_stale_git_locks(root: Path) -> None:
    """git's own lock files, left by a git process killed with us.

    Only called while recovering, under casectl's lock, when a casectl
    action was interrupted, and only when no git process is running in
    this repository: a live one (a technician's commit, a gc) owns its lock.
    """
    if _git_running_in(root):
        return
    git_dir = store.git_dir(root)
    candidates = [git_dir / "index.lock", git_dir / "HEAD.lock"]
    refs = git_dir / "refs" / "heads"
    if refs.is_dir():
        candidates.extend(refs.rglob("*.lock"))
    for lock in candidates:
        try:
            os.unlink(lock)
        except FileNotFoundError:
            pass


def _git_running_in(root: Path) -> bool:
    """Whether any git process has ``root`` as its working directory (Linux
    /proc; elsewhere assume one is, and leave the locks to git's advice)."""
    proc = Path("/proc")
    if not (proc / "self" / "cwd").exists():
        return True
    target = root.resolve()
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip().startswith("git") and \
                    Path(os.readlink(entry / "cwd")).resolve() == target:
                return True
        except OSError:
            continue
    return False

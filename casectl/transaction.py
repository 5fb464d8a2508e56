"""Write files and commit them so that a crash at any point leaves the
repository as it was or fully changed.

The order of one action: casectl's own lock (an flock, held by the caller
from read to commit), then git's index.lock (so no hand git command can
commit or stage while casectl writes), then the intent (which files, the
hash of their new contents, the commit to make) in
.git/casectl/pending.json, then the files, the commit, the branch and the
user's index. The next command to take casectl's lock finds a left intent
and finishes the job: every file written means the commit is made;
otherwise the files written so far are put back. The flock dies with its
process; an index.lock a killed casectl left is known by its mark and
removed by the next casectl (journal.IndexLock).
"""

from __future__ import annotations

import json
import os
import zlib
from datetime import datetime
from pathlib import Path
from typing import Callable, Mapping

from . import journal, store
from .errors import ReadOnlyRepository, RuleViolation

PENDING = "pending.json"


def _digest(text: str | bytes) -> str:
    """Enough to tell a file's new contents from its old ones, which differ
    in length anyway (events are only ever appended). zlib rather than
    hashlib: hashlib's OpenSSL start-up costs more than the whole check."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    return f"{len(data)}:{zlib.crc32(data):08x}"


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def commit_files(root: Path, files: Mapping[str, str | bytes | None], message: str,
                 author: journal.Author,
                 when: datetime, *, require_committed: bool = True,
                 pinned: tuple[str, bytes] | None = None,
                 committer: journal.Author | None = None, sign: bool = False,
                 check_base: Callable[[journal.Base], None] | None = None) -> str:
    """Write ``files`` (repository-relative path -> text, or bytes written
    as they are (a mail's attachment); None removes the file, as a
    renumbered case leaves its old path) and commit them.

    With ``require_committed`` (all but init) each file must be as HEAD has
    it: an uncommitted hand edit would otherwise ride along in this
    action's commit, rewriting events that were already committed. On any
    failure the files are put back as they were. The caller holds the
    repository lock.

    ``pinned`` (a file at the top of the repository, and its content) is
    one the files name by blob id (the casectl.yaml a new case is judged
    under): it is put in the object store unless HEAD holds it as it is,
    the usual case, which then costs no git process.

    ``committer`` and ``sign``: see journal.commit. ``check_base`` is
    called with what the commit builds on before anything is written; it
    refuses by raising.
    """
    paths = list(files)
    journal.require_on_branch(root)
    with journal.IndexLock(root) as lock:
        base = journal.read_base(root, paths)
        if check_base is not None:
            check_base(base)
        if pinned is not None and base.blob(pinned[0]) != journal.blob_id(pinned[1]):
            journal.store_blob(root, pinned[1])
        before = {path: _read(root / path) for path in paths}
        if require_committed:
            _require_committed(before, base)
        pending = store.state_dir(root) / PENDING
        intent = {"files": {path: None if text is None else _digest(text)
                            for path, text in files.items()},
                  "message": message, "author": [author.name, author.email],
                  "committer": [(committer or author).name, (committer or author).email],
                  "sign": sign, "when": when.isoformat()}
        store.write_atomic(pending, json.dumps(intent, ensure_ascii=False))
        crash_point("intent-written")
        try:
            for path, text in files.items():
                if text is None:
                    (root / path).unlink(missing_ok=True)
                else:
                    store.write_atomic(root / path, text)
                crash_point("file-written")
            sha = journal.commit(root, base, paths, message, author, when, lock,
                                 step=crash_point, committer=committer, sign=sign)
        except BaseException:
            # "Nothing was committed" must stay true: left in place, the next
            # command's recovery would commit what the user was told failed.
            # The user's index was not touched (it is installed last).
            _put_back(root, before)
            pending.unlink(missing_ok=True)
            raise
        crash_point("committed")
        pending.unlink()
    return sha


def _digest_of(content: bytes | None) -> str | None:
    """A file's digest as the intent records it; None for a removed file."""
    return None if content is None else _digest(content)


def _require_committed(before: Mapping[str, bytes | None], base: journal.Base) -> None:
    changed = [path for path, content in before.items() if content != base.contents.get(path)]
    if changed:
        raise RuleViolation(
            "only-committed-state", f"{', '.join(changed)} has changes that are not committed "
            "(a hand edit?); casectl builds only on what git has recorded, so nothing was changed",
            "see them with 'git diff'; commit them (git commit) or discard them "
            "(git checkout -- FILE), then run the command again")


def _put_back(root: Path, before: Mapping[str, bytes | None]) -> None:
    for path, content in before.items():
        if content is None:
            (root / path).unlink(missing_ok=True)
        elif _read(root / path) != content:
            store.write_atomic(root / path, content)


def crash_point(name: str) -> None:
    """Fault injection for the crash tests: CASECTL_CRASH_AT=<name> kills
    the process with SIGKILL right there, as a power cut or `kill -9` would.
    Stages: intent-written, file-written, commit-written, index-updated,
    committed."""
    if os.environ.get("CASECTL_CRASH_AT") == name:
        import signal

        os.kill(os.getpid(), signal.SIGKILL)


def settle(root: Path) -> None:
    """Before any command reads: finish what a killed process left half
    done. A stat when there is nothing to do; the lock only when there is.
    In a read-only repository nothing can be finished: reading goes on (an
    action would be refused anyway)."""
    if (store.state_dir(root) / PENDING).exists():
        try:
            with store.locked(root):
                recover(root)
        except ReadOnlyRepository:
            journal.notice("warning: an interrupted action is waiting to be finished, which "
                           "this read-only repository does not allow; showing what is there")


def recover(root: Path) -> str | None:
    """Finish or undo an action a killed process left half done.

    Returns what was done ("completed" or "rolled back"), or None when there
    was nothing to do. The caller holds the repository lock.
    """
    pending = store.state_dir(root) / PENDING
    try:
        intent = json.loads(pending.read_text(encoding="utf-8"))
        files: dict[str, str | None] = intent["files"]
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError):
        # The intent itself was cut short, so no case file was touched yet.
        pending.unlink()
        return "rolled back"
    # A git process of the killed action (update-ref, say) may have died
    # holding a lock of its own; casectl's own index.lock goes by itself.
    journal.remove_stale_locks(root)
    paths = list(files)
    with journal.IndexLock(root) as lock:
        base = journal.read_base(root, paths)
        written = [path for path, digest in files.items()
                   if _digest_of(_read(root / path)) == digest]
        if len(written) == len(files):
            if any(_read(root / path) != base.contents.get(path) for path in paths):
                author = journal.Author(*intent["author"])
                # Intents written before 0.4 name no committer: the author was both.
                committer = journal.Author(*intent.get("committer", intent["author"]))
                journal.commit(root, base, paths, intent["message"], author,
                               datetime.fromisoformat(intent["when"]), lock,
                               committer=committer, sign=bool(intent.get("sign")))
            else:
                # Committed, but killed before the user's index was brought
                # up to date: do that now, or the next hand commit would
                # record the old file and take the event back out.
                lock.stage(paths, base.commit)
                lock.install()
                lock.keep()
            outcome = "completed"
        else:
            # Before writing, every file was as HEAD has it (_require_committed).
            _put_back(root, {path: base.contents.get(path) for path in written})
            outcome = "rolled back"
    for path in paths:
        for leftover in (root / path).parent.glob(f".{Path(path).name}.*.tmp"):
            leftover.unlink(missing_ok=True)
    for leftover in store.state_dir(root).glob("index-lock.*.tmp"):
        leftover.unlink(missing_ok=True)
    pending.unlink()
    return outcome

"""Every git process casectl starts, and everything it knows about git.

The bottom layer: it imports nothing from casectl but errors. One function,
``_spawn``, starts every git process, always in the repository's work tree
and with git's repository variables cleared (``clean_environment``): git
sets GIT_DIR, GIT_INDEX_FILE, GIT_WORK_TREE and friends for hooks, aliases
and ``rebase --exec``, and a casectl run from one of them must still act
on its own repository, not on whatever those variables name.

Commits are built without git's shared index. The tree is HEAD's tree with
the changed files swapped in (``mktree`` on the few directories on their
path, whatever the size of the repository), the commit is made with
``commit-tree``, and the branch moves by compare-and-swap (``update-ref NEW
OLD``). Only then, while casectl holds git's own ``index.lock``, is the
user's index brought up to date for those files. So a technician's own
``git add``/``git commit`` running at the same moment can neither sweep
casectl's change into their commit nor record a stale copy of the file:
while casectl commits, their command waits or fails as git does when
another git process is running, and files they staged stay staged.

GitPython is not used: its index code rewrites the index in pure Python
(about a second per commit at 10,000 files), its import costs 120-200 ms,
and it starts git processes of its own, outside the environment cleaning
above.
"""

from __future__ import annotations

import errno
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Callable, Iterator, Mapping, Sequence

from .errors import OperationFailed, RuleViolation

# Applied to every call: keep the index split (a commit then rewrites a
# small file, not a 10 MB one at 100,000 cases) and print paths as they
# are, æøå included.
_GIT_CONFIG = ("-c", "core.splitIndex=true", "-c", "core.quotePath=false")
LOCK_WAIT = 10.0  # seconds to wait for another git process's index.lock or ref lock
NOTICE_AFTER = 1.0  # seconds of waiting before saying so on stderr
CAS_ATTEMPTS = 5  # commits retried when the branch moved under casectl

# Variables git sets for the processes it starts (hooks, aliases, rebase
# --exec) that point git at another repository, index or work tree. Kept:
# what says how to reach remotes and which configuration files to read,
# as pre-commit's no_git_env keeps them.
_KEPT_GIT_VARIABLES = frozenset({
    "GIT_EXEC_PATH", "GIT_SSH", "GIT_SSH_COMMAND", "GIT_SSH_VARIANT", "GIT_SSL_CAINFO",
    "GIT_SSL_NO_VERIFY", "GIT_ASKPASS", "GIT_ALLOW_PROTOCOL", "GIT_HTTP_PROXY_AUTHMETHOD",
    "GIT_CONFIG_GLOBAL", "GIT_CONFIG_SYSTEM", "GIT_CONFIG_NOSYSTEM", "GIT_CONFIG_COUNT",
    "GIT_EDITOR",
})
_KEPT_GIT_PREFIXES = ("GIT_CONFIG_KEY_", "GIT_CONFIG_VALUE_", "GIT_TRACE")


# What a pre-receive hook must keep: the pushed objects wait in a
# quarantine directory that only these variables name, so a hook that
# cleared them would not find the very commits it has to judge. Kept only
# after ``keep_quarantine`` (the hook calls it), never by default.
QUARANTINE_VARIABLES = ("GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES",
                        "GIT_QUARANTINE_PATH")
_PASSED_THROUGH: dict[str, str] = {}


def keep_quarantine() -> dict[str, str]:
    """Pass the pre-receive quarantine's variables (as set now) to every git
    process started from here on; what was kept."""
    _PASSED_THROUGH.clear()
    _PASSED_THROUGH.update({name: os.environ[name] for name in QUARANTINE_VARIABLES
                            if os.environ.get(name)})
    return dict(_PASSED_THROUGH)


def clean_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment for a git process: the caller's, without git's
    repository variables (but those ``keep_quarantine`` chose to keep),
    plus ``extra``."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("GIT_") or key in _KEPT_GIT_VARIABLES
           or key.startswith(_KEPT_GIT_PREFIXES)}
    env.update(_PASSED_THROUGH)
    env["GIT_TERMINAL_PROMPT"] = "0"  # never a password prompt in a script
    if extra:
        env.update(extra)
    return env


def _spawn(root: Path, args: Sequence[str], env: Mapping[str, str] | None = None,
           **popen: object) -> subprocess.Popen[bytes]:
    """The one place a git process is started."""
    try:
        return subprocess.Popen(["git", *_GIT_CONFIG, *args], cwd=root,
                                env=clean_environment(env), **popen)  # type: ignore[call-overload]
    except (FileNotFoundError, NotADirectoryError) as exc:
        if not root.is_dir():
            raise OperationFailed(f"{root} is not a directory") from None
        raise OperationFailed(f"git is not installed or not on PATH ({exc.strerror})",
                              "install git (2.30 or newer)") from None


def notice(text: str) -> None:
    """One line on stderr while a command goes on (waiting for a lock)."""
    try:
        print(f"casectl: {text}", file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


_LOCK_HELD = re.compile(rb"Unable to create '([^']+\.lock)': File exists")


def run(root: Path, *args: str, input: str | bytes | None = None,
        env: Mapping[str, str] | None = None, check: bool = True
        ) -> subprocess.CompletedProcess[bytes]:
    """Run git in ``root`` to completion.

    Another git process (a technician's own command, a background gc)
    holding the index or a ref makes git fail at once; casectl waits for
    it instead, as its own lock waits, says so after a second, and gives
    up after LOCK_WAIT seconds saying which lock file to check.
    """
    data = input.encode("utf-8") if isinstance(input, str) else input
    started = time.monotonic()
    told = False
    while True:
        process = _spawn(root, args, env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
        out, err = process.communicate(data)
        done = subprocess.CompletedProcess(process.args, process.returncode, out, err)
        held = _LOCK_HELD.search(err) if done.returncode else None
        if held is None:
            break
        lock = held[1].decode("utf-8", "replace")
        waited = time.monotonic() - started
        if waited >= LOCK_WAIT:
            raise stale_lock(lock, waited)
        if waited >= NOTICE_AFTER and not told:
            notice(f"waiting for {lock}: another git process is using the repository")
            told = True
        time.sleep(0.05)
    if check and done.returncode != 0:
        message = err.decode("utf-8", "replace").strip() or f"exit {done.returncode}"
        raise OperationFailed(f"git {args[0]} failed: {message}",
                              "check the repository with 'git status'; nothing was committed")
    return done


def git(root: Path, *args: str, input: str | bytes | None = None,
        env: Mapping[str, str] | None = None, check: bool = True) -> str:
    """Run git in ``root`` and return its standard output as text."""
    return run(root, *args, input=input, env=env, check=check).stdout.decode("utf-8", "replace")


def stale_lock(path: str, waited: float) -> OperationFailed:
    return OperationFailed(
        f"gave up after {round(waited, 1):g} s waiting for {path}, which another git process "
        "holds; nothing was committed",
        "if no git command is running in this repository (check with 'ps -ef | grep git'), "
        f"a crashed git left it behind: remove it with 'rm {path}' and run the command again")


# ---------------------------------------------------------------- where things are

_DIRS: dict[Path, tuple[Path, Path]] = {}


def _dirs(root: Path) -> tuple[Path, Path]:
    """(git directory, common directory) of the work tree at ``root``.

    A ``.git`` directory is both (git's own first rule, and a process saved
    on every command); for a ``.git`` file (a linked worktree, a submodule)
    git itself is asked.
    """
    found = _DIRS.get(root)
    if found is None:
        dot_git = root / ".git"
        if dot_git.is_dir() and not (dot_git / "commondir").exists():
            found = (dot_git, dot_git)
        else:
            out = git(root, "rev-parse", "--absolute-git-dir", "--git-common-dir").splitlines()
            git_directory = Path(out[0])
            found = (git_directory, (root / out[1]).resolve())
        _DIRS[root] = found
    return found


def git_dir(root: Path) -> Path:
    """Where this work tree's HEAD and index live."""
    return _dirs(root)[0]


def common_dir(root: Path) -> Path:
    """Where the branches and objects live (the same as git_dir but in a
    linked worktree)."""
    return _dirs(root)[1]


def toplevel(path: Path) -> Path | None:
    """The top of the git work tree holding ``path``, or None."""
    done = run(path, "rev-parse", "--show-toplevel", check=False)
    if done.returncode != 0:
        return None
    return Path(done.stdout.decode("utf-8", "replace").strip()).resolve()


def is_work_tree(path: Path) -> bool:
    """Whether ``path`` is the top of a git work tree."""
    return toplevel(path) == path.resolve()


def init(path: Path) -> None:
    git(path, "init", "--quiet", "--initial-branch=main")
    git(path, "config", "core.splitIndex", "true")


_SHA = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")


def head(root: Path) -> str | None:
    """The commit HEAD points at, or None before the first commit.

    Read from the files when HEAD names a branch stored loose (a git
    process per command saved); anything else is left to git itself.
    """
    try:
        ref = (git_dir(root) / "HEAD").read_text(encoding="utf-8").strip()
        if ref.startswith("ref: refs/heads/") and ".." not in ref:
            loose = common_dir(root) / ref[5:]
            if loose.is_file():
                sha = loose.read_text(encoding="utf-8").strip()
                if _SHA.match(sha):
                    return sha
    except OSError:
        pass
    out = git(root, "rev-parse", "--quiet", "--verify", "HEAD^{commit}", check=False).strip()
    return out or None


def branch(root: Path) -> str | None:
    """The branch HEAD names (born or not), or None when HEAD is detached."""
    try:
        ref = (git_dir(root) / "HEAD").read_text(encoding="utf-8").strip()
    except OSError:
        ref = git(root, "symbolic-ref", "--quiet", "HEAD", check=False).strip()
        ref = f"ref: {ref}" if ref else ""
    if ref.startswith("ref: refs/heads/"):
        return ref[len("ref: refs/heads/"):]
    return None


# ---------------------------------------------------------------- repository state

# What git leaves in its directory while an operation waits for the user,
# and how to finish or abandon it.
_OPERATIONS = (
    ("rebase-merge", "a rebase", "finish it with 'git rebase --continue' or abandon it with "
     "'git rebase --abort'"),
    ("rebase-apply/applying", "a 'git am'", "finish it with 'git am --continue' or abandon it "
     "with 'git am --abort'"),
    ("rebase-apply", "a rebase", "finish it with 'git rebase --continue' or abandon it with "
     "'git rebase --abort'"),
    ("MERGE_HEAD", "a merge", "resolve the conflicts, 'git add' the files and 'git commit', or "
     "abandon it with 'git merge --abort'"),
    ("CHERRY_PICK_HEAD", "a cherry-pick", "finish it with 'git cherry-pick --continue' or "
     "abandon it with 'git cherry-pick --abort'"),
    ("REVERT_HEAD", "a revert", "finish it with 'git revert --continue' or abandon it with "
     "'git revert --abort'"),
    ("BISECT_LOG", "a bisect", "end it with 'git bisect reset'"),
)


@dataclass(frozen=True)
class Operation:
    """A git operation in progress, waiting for the user."""

    name: str
    how_to_finish: str


def operation_in_progress(root: Path) -> Operation | None:
    """The merge, rebase, cherry-pick, revert or bisect under way, if any
    (a few stat calls)."""
    directory = git_dir(root)
    for marker, name, how in _OPERATIONS:
        if (directory / marker).exists():
            return Operation(name, how)
    return None


def unmerged_paths(root: Path, under: str = ".") -> list[str]:
    """Files with unresolved conflicts in git's index."""
    out = git(root, "ls-files", "--unmerged", "-z", "--", under, check=False)
    paths = []
    for record in filter(None, out.split("\0")):
        path = record.split("\t", 1)[-1]
        if path not in paths:
            paths.append(path)
    return paths


def require_on_branch(root: Path) -> None:
    """Refuse to commit where a commit would be lost or misfiled: a detached
    HEAD, or an operation waiting for the user."""
    operation = operation_in_progress(root)
    if operation is not None:
        raise RuleViolation(
            "repository-state", f"{operation.name} is in progress in this repository, and "
            "casectl records actions only on a branch at rest; nothing was changed",
            operation.how_to_finish + "; then run the command again (reading commands work "
            "meanwhile)")
    if branch(root) is None:
        raise RuleViolation(
            "repository-state", "HEAD is detached (not on a branch), so a commit would belong "
            "to no branch; nothing was changed",
            "get back on the desk's branch with 'git switch main' (or the branch you use; "
            "'git branch' lists them), then run the command again")


# ---------------------------------------------------------------- commits

@dataclass(frozen=True)
class Author:
    name: str
    email: str

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"


def identity(root: Path) -> tuple[str | None, str | None]:
    """The git user.name and user.email, either possibly unset."""
    out = git(root, "config", "--get-regexp", r"^user\.(name|email)$", check=False)
    values: dict[str, str] = {}
    for line in out.splitlines():
        key, _, value = line.partition(" ")
        values[key] = value.strip()
    return values.get("user.name") or None, values.get("user.email") or None


def message(subject: str, trailers: Sequence[tuple[str, str]], body: str = "") -> str:
    parts = [subject.strip()]
    if body.strip():
        parts.append(body.strip())
    parts.append("\n".join(f"{key}: {value}" for key, value in trailers))
    return "\n\n".join(parts) + "\n"


def git_date(when: datetime) -> str:
    """``when`` in git's internal date form, "@<unix seconds> <+hhmm>": git
    reads ISO 8601 only for the years 1970-2099, and a desk's cases are
    dated up to 2999 (see ids.py)."""
    offset = int(when.utcoffset().total_seconds()) // 60  # type: ignore[union-attr]
    sign = "-" if offset < 0 else "+"
    hours, minutes = divmod(abs(offset), 60)
    return f"@{int(when.timestamp())} {sign}{hours:02d}{minutes:02d}"


@dataclass
class _Entry:
    mode: str
    kind: str
    sha: str


@dataclass
class Base:
    """What a commit builds on: the commit HEAD named when it was read, the
    listings of the directories on the changed files' paths, and what those
    files held there (absent: not in that commit)."""

    commit: str | None
    listings: dict[str, dict[str, _Entry]] = field(default_factory=dict)
    contents: dict[str, bytes] = field(default_factory=dict)

    def blob(self, path: str) -> str | None:
        directory, _, name = path.rpartition("/")
        entry = self.listings.get(directory, {}).get(name)
        return entry.sha if entry is not None and entry.kind == "blob" else None


def _parents(path: str) -> list[str]:
    """The directories on ``path``'s way, the top one ("") first."""
    parts = path.split("/")[:-1]
    return [""] + ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]


def _parse_tree(data: bytes) -> dict[str, _Entry]:
    entries: dict[str, _Entry] = {}
    offset = 0
    while offset < len(data):
        space = data.index(b" ", offset)
        nul = data.index(b"\0", space)
        mode = data[offset:space].decode()
        name = data[space + 1:nul].decode("utf-8", "surrogateescape")
        sha = data[nul + 1:nul + 21].hex()
        offset = nul + 21
        kind = "tree" if mode == "40000" else "commit" if mode == "160000" else "blob"
        entries[name] = _Entry(mode.rjust(6, "0") if kind == "tree" else mode, kind, sha)
    return entries


def read_base(root: Path, paths: Sequence[str]) -> Base:
    """HEAD, the directories on the way to ``paths`` and the files' contents
    there, in one ``cat-file`` process."""
    commit = head(root)
    base = Base(commit)
    if commit is None:
        return base
    directories = sorted({d for path in paths for d in _parents(path)}, key=len)
    requests = [f"{commit}:{d}" for d in directories] + [f"{commit}:{p}" for p in paths]
    for request, kind, data in _batch(root, requests):
        name = request.split(":", 1)[1]
        if kind == "tree" and name in directories:
            base.listings[name] = _parse_tree(data)
        elif kind == "blob" and name in paths:
            base.contents[name] = data
    return base


def _batch(root: Path, requests: Sequence[str]) -> Iterator[tuple[str, str, bytes]]:
    """(request, object type or "missing", content) for each ``rev:path``."""
    if not requests:
        return
    done = run(root, "cat-file", "--batch", input="".join(f"{r}\n" for r in requests))
    data = done.stdout
    offset = 0
    for request in requests:
        newline = data.index(b"\n", offset)
        header = data[offset:newline].split()
        offset = newline + 1
        if len(header) < 3 or header[-1] == b"missing":
            yield request, "missing", b""
            continue
        size = int(header[2])
        yield request, header[1].decode(), data[offset:offset + size]
        offset += size + 1


def _make_tree(root: Path, base: Base, blobs: Mapping[str, str | None]) -> str:
    """The root tree of ``base`` with ``blobs`` (path -> blob id, None to
    delete) swapped in: only the directories on their paths are rebuilt."""
    listings = {d: dict(entries) for d, entries in base.listings.items()}
    changed: set[str] = set()
    for path, sha in blobs.items():
        directory, _, name = path.rpartition("/")
        entries = listings.setdefault(directory, {})
        if sha is None:
            entries.pop(name, None)
        else:
            old = entries.get(name)
            mode = old.mode if old is not None and old.kind == "blob" else "100644"
            entries[name] = _Entry(mode, "blob", sha)
        changed.update(_parents(path))
    process = _spawn(root, ["mktree", "--batch"], stdin=subprocess.PIPE,
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdin is not None and process.stdout is not None
    made: dict[str, str | None] = {}
    try:
        # Deepest first: a parent lists the ids of the subtrees made before it.
        for directory in sorted(changed, key=lambda d: -d.count("/") - bool(d)):
            entries = listings.get(directory, {})
            for child, sha in made.items():
                parent, _, name = child.rpartition("/")
                if parent == directory:
                    if sha is None:
                        entries.pop(name, None)
                    else:
                        entries[name] = _Entry("040000", "tree", sha)
            if not entries and directory:
                made[directory] = None  # an emptied directory leaves its parent
                continue
            lines = "".join(f"{e.mode} {e.kind} {e.sha}\t{name}\n"
                            for name, e in sorted(entries.items()))
            process.stdin.write(lines.encode("utf-8", "surrogateescape") + b"\n")
            process.stdin.flush()
            made[directory] = process.stdout.readline().decode().strip()
    finally:
        process.stdin.close()
        error = process.stderr.read() if process.stderr else b""
        process.wait()
    top = made.get("")
    if process.returncode != 0 or not top:
        raise OperationFailed("git mktree failed: " + error.decode("utf-8", "replace").strip(),
                              "check the repository with 'git fsck'; nothing was committed")
    return top


_LOCK_MARK = b"casectl index lock, pid "


def _read_only(exc: OSError) -> OperationFailed:
    return OperationFailed(
        f"cannot write to the repository's git directory ({exc.strerror})",
        "the repository is read-only here: act from a clone you can write to; reading "
        "commands work as they are")


class IndexLock:
    """git's own ``index.lock``, held while casectl commits.

    While it is held no other git process can write the index, so none can
    commit what casectl is in the middle of writing; git commands that need
    it fail as they do whenever another git process is running. casectl
    waits for a lock that another process holds, says so after a second,
    and gives up after LOCK_WAIT seconds saying what to check.

    The caller holds casectl's repository lock (store.locked).

    ``stage`` prepares the user's index with the committed files brought up
    to date (everything else in it, staged changes included, as it was);
    ``install`` puts it in place and ``keep`` keeps it there. Leaving
    without keeping leaves the index as it was.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.path = git_dir(root) / "index.lock"
        self.index = git_dir(root) / "index"
        self.next = git_dir(root) / "casectl" / "index.next"
        self.inode: int | None = None
        self.mark = b""
        self._original: bytes | None = None
        self._staged = False
        self._installed = False

    def __enter__(self) -> IndexLock:
        # The lock file is made with its mark already in it (written beside
        # it, then hard-linked into place, which fails if it exists): a
        # casectl killed at any moment leaves either no lock or a marked one.
        self.mark = _LOCK_MARK + str(os.getpid()).encode() + b"\n"
        self.next.parent.mkdir(parents=True, exist_ok=True)
        marked = self.next.with_name(f"index-lock.{os.getpid()}.tmp")
        try:
            marked.write_bytes(self.mark)
        except OSError as exc:
            if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
                raise _read_only(exc) from None
            raise
        started = time.monotonic()
        told = False
        try:
            while True:
                try:
                    os.link(marked, self.path)
                    break
                except FileExistsError:
                    if self._left_by_casectl():
                        continue
                    waited = time.monotonic() - started
                    if waited >= LOCK_WAIT:
                        raise stale_lock(str(self.path), waited) from None
                    if waited >= NOTICE_AFTER and not told:
                        notice(f"waiting for {self.path}: another git process is using the "
                               "repository")
                        told = True
                    time.sleep(0.02)
                except OSError as exc:
                    if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
                        raise _read_only(exc) from None
                    raise
            self.inode = os.stat(self.path).st_ino
        finally:
            marked.unlink(missing_ok=True)
        return self

    def _left_by_casectl(self) -> bool:
        """Remove an index.lock that a killed casectl left. Every casectl
        that takes index.lock holds casectl's repository lock, as the
        caller does now: a casectl-marked index.lock found now is left over."""
        try:
            with open(self.path, "rb") as handle:
                if handle.read(len(_LOCK_MARK)) != _LOCK_MARK:
                    return False
            os.unlink(self.path)
        except FileNotFoundError:
            pass
        return True

    def __exit__(self, *exc_info: object) -> None:
        if self._installed:  # installed, but the branch did not move: as it was
            self.restore()
        self.next.unlink(missing_ok=True)
        self.release()

    def release(self) -> None:
        """Remove index.lock if it is still the one taken: the same inode
        and still this process's mark (if someone removed it and git made
        its own, the file system may well have given git the same inode)."""
        try:
            if self.inode is not None and os.stat(self.path).st_ino == self.inode:
                with open(self.path, "rb") as handle:
                    still_ours = handle.read(len(self.mark) + 1) == self.mark
                if still_ours:
                    os.unlink(self.path)
        except FileNotFoundError:
            pass
        self.inode = None

    def stage(self, paths: Sequence[str], commit: str | None) -> None:
        """The user's index with ``paths`` as the work tree has them; when
        there was no index at all, the index of ``commit``."""
        env = {"GIT_INDEX_FILE": str(self.next)}
        try:
            self._original = self.index.read_bytes()
            self.next.write_bytes(self._original)
        except FileNotFoundError:
            self._original = None
            self.next.unlink(missing_ok=True)
            if commit is not None:
                # Without an index, adding the files alone would leave an
                # index holding nothing else: every other file would look
                # deleted and staged.
                run(self.root, "read-tree", commit, env=env)
                self._staged = True
                return
        run(self.root, "update-index", "--add", "--remove", "--", *paths, env=env)
        self._staged = True

    def install(self) -> None:
        """Put the staged index in place; it stays only once ``keep`` is
        called (the branch moved), else leaving puts the old one back."""
        if self._staged:
            os.replace(self.next, self.index)
            self._staged = False
            self._installed = True

    def keep(self) -> None:
        self._installed = False

    def restore(self) -> None:
        """The index as it was before ``install`` (the lock is still held,
        so nobody else has written it since)."""
        if self._original is None:
            self.index.unlink(missing_ok=True)
        else:
            self.next.write_bytes(self._original)
            os.replace(self.next, self.index)
        self._installed = False


_MOVED = re.compile(r"but expected|is at [0-9a-f]+ but|reference already exists")


def commit(root: Path, base: Base, paths: Sequence[str], text: str, author: Author,
           when: datetime, lock: IndexLock,
           step: Callable[[str], None] = lambda name: None) -> str:
    """Commit the work-tree state of ``paths`` on top of ``base`` as one
    commit by ``author``, move the branch, and bring the user's index up to
    date for those files. The caller holds ``lock``.

    The branch moves only if it still names ``base.commit``; if something
    else moved it (a hand ``git reset --soft``, a script's update-ref) and
    left these files as they were, the commit is rebuilt on the new tip;
    if it changed them, nothing is committed. The committer is the author
    too, so a machine with no git identity configured commits all the same.
    ``step`` is told each stage reached (crash tests).
    """
    present = [path for path in paths if (root / path).exists()]
    shas = git(root, "hash-object", "-w", "--", *present).split() if present else []
    blobs: dict[str, str | None] = {path: None for path in paths}
    blobs.update(zip(present, shas))
    stamp = git_date(when)
    env = {"GIT_AUTHOR_NAME": author.name, "GIT_AUTHOR_EMAIL": author.email,
           "GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_NAME": author.name,
           "GIT_COMMITTER_EMAIL": author.email, "GIT_COMMITTER_DATE": stamp}
    for _ in range(CAS_ATTEMPTS):
        tree = _make_tree(root, base, blobs)
        parents = ["-p", base.commit] if base.commit else []
        sha = git(root, "commit-tree", tree, *parents, "-F", "-", input=text, env=env).strip()
        step("commit-written")
        # The user's index first, the branch after. A hand `git commit`
        # reads HEAD, then the index, then takes index.lock (failing while
        # casectl holds it). Installed this way round, one that read the
        # new HEAD also read the new index; one that read the old HEAD
        # fails its own compare-and-swap. The other way round, one could
        # read the new HEAD with the old index and take the event back out.
        lock.stage(paths, sha)
        lock.install()
        step("index-updated")
        # The old value makes this a compare-and-swap: it fails rather than
        # lose a commit made behind casectl's back since HEAD was read.
        moved = run(root, "update-ref", "-m", "commit: " + text.splitlines()[0], "HEAD", sha,
                    base.commit or "0" * 40, check=False)
        if moved.returncode == 0:
            lock.keep()
            return sha
        lock.restore()
        error = moved.stderr.decode("utf-8", "replace").strip()
        if not _MOVED.search(error):
            raise OperationFailed(f"git update-ref failed: {error}",
                                  "check the repository with 'git status'; nothing was "
                                  "committed")
        newer = read_base(root, paths)
        if any(newer.blob(path) != base.blob(path) for path in paths):
            raise OperationFailed(
                "the branch moved while casectl was committing, and the new tip changed "
                f"{', '.join(paths)}; nothing was committed",
                "look at 'git log -3' to see what moved it, then run the command again")
        base = newer
    raise OperationFailed("the branch kept moving while casectl was committing; nothing was "
                          "committed", "run the command again when the repository is quiet")


# ---------------------------------------------------------------- reading history

_TRAILER = re.compile(r"^([A-Za-z][A-Za-z0-9-]*): (.*)$")


def parse_trailers(text: str) -> dict[str, list[str]]:
    """The trailers of a commit message: its last paragraph, when every line
    of it is "Key: value" and it is not the subject paragraph (a hand
    commit "Fix: typo" has no trailers, as git reads it). Parsed here rather
    than by git interpret-trailers, which stops at a "---" line that a
    logged text may well contain."""
    paragraphs = [p for p in text.strip().split("\n\n") if p.strip()]
    found: dict[str, list[str]] = {}
    if len(paragraphs) < 2:
        return found
    lines = paragraphs[-1].splitlines()
    matches = [_TRAILER.match(line) for line in lines]
    if all(matches):
        for match in matches:
            assert match is not None
            found.setdefault(match[1], []).append(match[2])
    return found


def changed_paths(root: Path, old: str, new: str, under: str) -> list[tuple[str, str]]:
    """(status letter, path) of files under ``under`` that differ between two commits."""
    out = git(root, "diff-tree", "-r", "--no-renames", "--name-status", "-z", old, new,
              "--", under)
    fields = out.split("\0")
    return [(fields[i], fields[i + 1]) for i in range(0, len(fields) - 1, 2)]


def files_at(root: Path, rev: str, under: str) -> list[str]:
    out = git(root, "ls-tree", "-r", "--name-only", "-z", rev, "--", under)
    return [path for path in out.split("\0") if path]


def read_blobs(root: Path, rev: str, paths: Sequence[str]) -> Iterator[tuple[str, bytes]]:
    """The contents of many files at one commit, through one cat-file process."""
    for request, kind, data in _batch(root, [f"{rev}:{path}" for path in paths]):
        if kind == "blob":
            yield request.split(":", 1)[1], data


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    author: str
    email: str
    when: datetime
    subject: str
    trailers: dict[str, list[str]]
    content: bytes | None  # the file as this commit left it; None when deleted


def file_history(root: Path, path: str) -> list[CommitInfo]:
    """Every commit that touched ``path``, oldest first, with the file as
    each left it: the raw material of a case's timeline."""
    if head(root) is None:
        return []
    out = git(root, "log", "-z", "--format=%H%x00%an%x00%ae%x00%aI%x00%B", "HEAD", "--",
              path)
    fields = out.split("\0")
    records = [fields[i:i + 5] for i in range(0, len(fields) - 4, 5)]
    contents = {request.split(":", 1)[0]: data if kind == "blob" else None
                for request, kind, data in _batch(root, [f"{r[0].strip()}:{path}"
                                                         for r in records])}
    found = []
    for sha, name, email, date, body in records:
        sha = sha.strip()
        found.append(CommitInfo(sha=sha, author=name, email=email,
                                when=datetime.fromisoformat(date), subject=body.split("\n", 1)[0],
                                trailers=parse_trailers(body), content=contents.get(sha)))
    found.reverse()
    return found


# ---------------------------------------------------------------- locks left behind

def remove_stale_locks(root: Path) -> None:
    """git's own lock files, left by a git process killed with casectl.

    Called only while recovering an interrupted casectl action, under
    casectl's lock, and only when no git process is running in this
    repository: a live one (a technician's commit, a gc) owns its lock.
    """
    if _git_running_in(root):
        return
    candidates = [git_dir(root) / "index.lock", git_dir(root) / "HEAD.lock"]
    refs = common_dir(root) / "refs" / "heads"
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


def blob_id(data: bytes) -> str:
    """The id git gives ``data`` as a blob (in a SHA-1 repository), computed
    here rather than by a git process."""
    try:
        from _sha1 import sha1  # CPython's own; importing hashlib costs ~6 ms
    except ImportError:  # pragma: no cover - a Python built without it
        from hashlib import sha1
    return sha1(b"blob %d\0" % len(data) + data).hexdigest()


def store_blob(root: Path, data: bytes) -> str:
    """Put ``data`` in the object store as a blob; its id (sha1 or sha256,
    whichever the repository uses). A blob already there is not rewritten."""
    return git(root, "hash-object", "-w", "--stdin", input=data).strip()


def read_blobs_by_id(root: Path, oids: Sequence[str]) -> dict[str, bytes]:
    """Blobs by their ids, through one cat-file process; an id the object
    store lacks (a clone that never had it, say) is left out."""
    return {oid: data for oid, kind, data in _batch(root, list(oids)) if kind == "blob"}


def run_editor(root: Path, path: Path) -> None:
    """Open ``path`` in the editor `git commit` would open (GIT_EDITOR,
    core.editor, VISUAL, EDITOR, else vi: `git var GIT_EDITOR`), through the
    shell as git runs it, so EDITOR="code --wait" works; wait for it."""
    found = run(root, "var", "GIT_EDITOR", check=False)
    editor = found.stdout.decode("utf-8", "replace").strip()
    if found.returncode != 0 or not editor:
        # git refuses vi on a dumb terminal with nothing set, as it would hang or garble it
        raise OperationFailed("the terminal is dumb, but no editor is set (GIT_EDITOR, "
                              "core.editor, VISUAL, EDITOR)",
                              "set EDITOR, or give the changes as options (casectl edit --help)")
    try:
        done = subprocess.run(["sh", "-c", f'{editor} "$@"', editor, str(path)], cwd=root,
                              env=clean_environment())
    except OSError as exc:
        raise OperationFailed(f"could not start the editor {editor!r}: {exc.strerror}",
                              "set EDITOR to an editor that waits until you close the "
                              "file") from None
    if done.returncode != 0:
        raise OperationFailed(f"there was a problem with the editor {editor!r} (it exited "
                              f"{done.returncode}); nothing was changed",
                              "set EDITOR to an editor that waits until you close the file")


MERGE_DRIVER = "casectl merge-driver %O %A %B %P"


def ensure_merge_driver(root: Path) -> None:
    """Register casectl's merge driver for case files in the repository's
    config when it is missing (`init` does it; a fresh `git clone` does not
    copy .git/config): one read of the config file when it is there. A
    repository whose config cannot be written is left as it is."""
    try:
        config = (common_dir(root) / "config").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return
    if '[merge "casectl"]' in config:
        return
    try:
        git(root, "config", "merge.casectl.name", "casectl: the union of both sides' events")
        git(root, "config", "merge.casectl.driver", MERGE_DRIVER)
    except OperationFailed:
        pass


# ---------------------------------------------------------------- walking history (audit)

def is_bare(path: Path) -> bool:
    """Whether ``path`` is (inside) a bare repository."""
    done = run(path, "rev-parse", "--is-bare-repository", check=False)
    return done.returncode == 0 and done.stdout.strip() == b"true"


def rev_parse(root: Path, rev: str) -> str | None:
    """The commit ``rev`` names, or None when it names none."""
    done = run(root, "rev-parse", "--quiet", "--verify", "--end-of-options", f"{rev}^{{commit}}",
               check=False)
    if done.returncode != 0:
        return None
    return done.stdout.decode().strip() or None


def walk(root: Path, include: Sequence[str], exclude: Sequence[str] = (),
         exclude_all_refs: bool = False) -> list[tuple[str, tuple[str, ...]]]:
    """(commit, parents) of every commit reachable from ``include`` and not
    from ``exclude`` (nor, with ``exclude_all_refs``, from any ref: a new
    branch's commits in a pre-receive hook), oldest first, parents before
    children. One rev-list process."""
    args = ["rev-list", "--topo-order", "--reverse", "--parents", *include,
            *(f"^{rev}" for rev in exclude)]
    if exclude_all_refs:
        args += ["--not", "--all"]
    found = []
    for line in git(root, *args, "--").splitlines():
        shas = line.split()
        if shas:
            found.append((shas[0], tuple(shas[1:])))
    return found


@dataclass(frozen=True)
class Change:
    """One file a commit changed against one parent (``old``/``new``: blob
    ids, None where the file is absent)."""

    path: str
    status: str
    old: str | None
    new: str | None


def tree_changes(root: Path, commits: Sequence[tuple[str, Sequence[str]]],
                 paths: Sequence[str]) -> dict[str, list[list[Change]]]:
    """For each of ``commits`` (commit, parents), the files under ``paths``
    it changed against each of its parents in order (a root commit: against
    nothing), from one ``diff-tree --stdin`` process however many commits
    there are."""
    if not commits:
        return {}
    # One "COMMIT PARENT" line per parent, and --always: a header for every
    # line even when nothing changed against that parent, so a merge's
    # blocks are told apart by their order (`-m` leaves out empty ones).
    lines = "".join(f"{sha} {parent}\n" if parents else f"{sha}\n"
                    for sha, parents in commits for parent in (parents or [""]))
    out = run(root, "diff-tree", "--stdin", "-r", "--raw", "-z", "--no-renames", "--root",
              "--always", "--", *paths, input=lines).stdout
    found: dict[str, list[list[Change]]] = {}
    tokens = out.split(b"\0")
    position = 0
    current: list[Change] | None = None
    while position < len(tokens):
        token = tokens[position]
        position += 1
        if not token or token == b"\n":
            continue
        if token.startswith(b":"):
            fields = token[1:].split()
            path = tokens[position].decode("utf-8", "surrogateescape")
            position += 1
            old, new = fields[2].decode(), fields[3].decode()
            if current is not None:
                current.append(Change(path, fields[4].decode()[:1],
                                      None if set(old) == {"0"} else old,
                                      None if set(new) == {"0"} else new))
            continue
        sha = token.decode().strip()
        current = []
        found.setdefault(sha, []).append(current)
    return found


def object_ids(root: Path, specs: Sequence[str]) -> dict[str, str | None]:
    """The object id each ``rev:path`` names (None: no such file there),
    from one ``cat-file --batch-check`` process."""
    if not specs:
        return {}
    out = git(root, "cat-file", "--batch-check", input="".join(f"{s}\n" for s in specs))
    found: dict[str, str | None] = {}
    for spec, line in zip(specs, out.splitlines()):
        parts = line.split()
        found[spec] = parts[0] if len(parts) == 3 and parts[1] != "missing" else None
    return found


class ObjectReader:
    """One ``git cat-file --batch`` process that reads objects one at a time
    as they are asked for, however many: an audit reads each blob once, in
    the order it needs them, without holding them all in memory."""

    def __init__(self, root: Path) -> None:
        self.process = _spawn(root, ["cat-file", "--batch"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)

    def read(self, name: str) -> tuple[str, bytes] | None:
        """(type, content) of the object ``name`` (an id or rev:path), or None."""
        stdin, stdout = self.process.stdin, self.process.stdout
        assert stdin is not None and stdout is not None
        stdin.write(name.encode("utf-8", "surrogateescape") + b"\n")
        stdin.flush()
        header = stdout.readline().split()
        if len(header) != 3:
            if not header:
                raise OperationFailed("git cat-file stopped answering",
                                      "check the repository with 'git fsck'")
            return None
        size = int(header[2])
        data = stdout.read(size + 1)[:size]
        return header[1].decode(), data

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait()

    def __enter__(self) -> ObjectReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


@dataclass(frozen=True)
class RawCommit:
    """What a commit object says: parents, author, committer, whether it
    carries a signature (gpg or ssh: a ``gpgsig`` header; whether the key
    is trusted is git's to verify, `git log --show-signature`), message."""

    parents: tuple[str, ...]
    author_name: str
    author_email: str
    committer_name: str
    committer_email: str
    signed: bool
    message: str

    @property
    def trailers(self) -> dict[str, list[str]]:
        return parse_trailers(self.message)


_PERSON = re.compile(r"^(.*?) <([^>]*)> ")


def parse_commit(data: bytes) -> RawCommit:
    """A commit object as ``cat-file`` gives it."""
    head_part, _, body = data.partition(b"\n\n")
    parents: list[str] = []
    people: dict[str, tuple[str, str]] = {}
    signed = False
    for line in head_part.decode("utf-8", "replace").split("\n"):
        key, _, value = line.partition(" ")
        if key == "parent":
            parents.append(value.strip())
        elif key in ("author", "committer"):
            match = _PERSON.match(value)
            people[key] = (match[1], match[2]) if match else (value, "")
        elif key in ("gpgsig", "gpgsig-sha256"):
            signed = True
    author = people.get("author", ("", ""))
    committer = people.get("committer", ("", ""))
    return RawCommit(tuple(parents), author[0], author[1], committer[0], committer[1], signed,
                     body.decode("utf-8", "replace"))

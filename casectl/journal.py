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


@dataclass(frozen=True)
class GitUser:
    """Who runs casectl, as git knows them: user.name and user.email (either
    possibly unset), and whether they sign their commits (commit.gpgsign;
    git's gpg.format and user.signingkey then say how)."""

    name: str | None
    email: str | None
    sign: bool = False

    @property
    def author(self) -> Author | None:
        return Author(self.name, self.email) if self.name and self.email else None


_TRUE = ("true", "yes", "on", "1")


def git_user(root: Path) -> GitUser:
    out = git(root, "config", "--get-regexp", r"^(user\.(name|email)|commit\.gpgsign)$",
              check=False)
    values: dict[str, str] = {}
    for line in out.splitlines():
        key, _, value = line.partition(" ")
        values[key.lower()] = value.strip()
    # A bare "[commit] gpgsign" line (no value) is true, as git reads it.
    sign = "commit.gpgsign" in values and (values["commit.gpgsign"] or "true").lower() in _TRUE
    return GitUser(values.get("user.name") or None, values.get("user.email") or None, sign)


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


def _commit_tree(root: Path, tree: str, parents: Sequence[str], text: str,
                 env: Mapping[str, str], sign: bool) -> str:
    if not sign:
        return git(root, "commit-tree", tree, *parents, "-F", "-", input=text, env=env).strip()
    done = run(root, "commit-tree", "-S", tree, *parents, "-F", "-", input=text, env=env,
               check=False)
    if done.returncode != 0:
        reason = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise OperationFailed(
            "signing the commit failed" + (f": {reason[-1]}" if reason else "")
            + "; nothing was committed",
            "your git config says commit.gpgsign: check that 'git commit -S' works here "
            "(gpg.format, user.signingkey, the key's agent), or stop signing with "
            "'git config commit.gpgsign false'")
    return done.stdout.decode().strip()


def commit(root: Path, base: Base, paths: Sequence[str], text: str, author: Author,
           when: datetime, lock: IndexLock,
           step: Callable[[str], None] = lambda name: None, *,
           committer: Author | None = None, sign: bool = False) -> str:
    """Commit the work-tree state of ``paths`` on top of ``base`` as one
    commit by ``author``, move the branch, and bring the user's index up to
    date for those files. The caller holds ``lock``.

    The branch moves only if it still names ``base.commit``; if something
    else moved it (a hand ``git reset --soft``, a script's update-ref) and
    left these files as they were, the commit is rebuilt on the new tip;
    if it changed them, nothing is committed. The author is the acting
    agent, the committer the person who ran casectl (``committer``; the
    author when None, so a machine with no git identity configured commits
    all the same). ``sign``: sign the commit as ``git commit -S`` would
    (commit-tree does not read commit.gpgsign itself).
    ``step`` is told each stage reached (crash tests).
    """
    present = [path for path in paths if (root / path).exists()]
    shas = git(root, "hash-object", "-w", "--", *present).split() if present else []
    blobs: dict[str, str | None] = {path: None for path in paths}
    blobs.update(zip(present, shas))
    stamp = git_date(when)
    env = {"GIT_AUTHOR_NAME": author.name, "GIT_AUTHOR_EMAIL": author.email,
           "GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_NAME": (committer or author).name,
           "GIT_COMMITTER_EMAIL": (committer or author).email, "GIT_COMMITTER_DATE": stamp}
    for _ in range(CAS_ATTEMPTS):
        tree = _make_tree(root, base, blobs)
        parents = ["-p", base.commit] if base.commit else []
        sha = _commit_tree(root, tree, parents, text, env, sign)
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


@dataclass(frozen=True)
class PathsCommit:
    """A commit that touched some of the paths asked about (``paths_history``)."""

    sha: str
    author: str
    email: str
    when: datetime
    committer: str
    committer_email: str
    subject: str
    trailers: dict[str, list[str]]
    paths: tuple[str, ...]


PATHS_PER_CALL = 300  # paths per `git log`: well inside any command-line limit


def paths_history(root: Path, paths: Sequence[str]) -> list[PathsCommit]:
    """Every commit (merges left out: they record no action of their own)
    that touched any of ``paths``, oldest first, with its author, committer,
    trailers and which of the paths it touched: one `git log` per
    PATHS_PER_CALL paths, not one per file. ``--full-history``: a commit on
    a merged side branch counts even when the merge kept the other side's
    file."""
    if head(root) is None or not paths:
        return []
    found: dict[str, PathsCommit] = {}
    for start in range(0, len(paths), PATHS_PER_CALL):
        out = git(root, "log", "-z", "--no-merges", "--full-history", "--name-only",
                  "--format=%x1e%H%x1f%an%x1f%ae%x1f%aI%x1f%cn%x1f%ce%x1f%B%x1f", "HEAD",
                  "--", *paths[start:start + PATHS_PER_CALL])
        for record in reversed(out.split("\x1e")[1:]):  # git's order, oldest first
            fields = record.split("\x1f")
            if len(fields) < 8:
                continue
            sha, name, email, date, cname, cemail, body, names = fields[:8]
            touched = tuple(n.strip("\n") for n in names.split("\0") if n.strip("\n"))
            before = found.get(sha)
            if before is not None:
                touched = tuple(sorted(set(before.paths) | set(touched)))
            found[sha] = PathsCommit(sha=sha, author=name, email=email,
                                     when=datetime.fromisoformat(date), committer=cname,
                                     committer_email=cemail,
                                     subject=body.split("\n", 1)[0],
                                     trailers=parse_trailers(body), paths=touched)
    # Stable: commits of the same second stay in git's order (a parent first).
    return sorted(found.values(), key=lambda commit: commit.when)


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
# The driver's name in .git/config doubles as the mark of what this clone
# has registered: a clone registered before casectl.yaml was merged by the
# driver has the older name, and gets the attribute below on its next command.
MERGE_DRIVER_NAME = "casectl: the union of both sides' events and settings"
# Per clone, never committed: routes casectl.yaml to the driver in desks
# whose committed .gitattributes predates it (`casectl upgrade` commits it).
CONFIG_ATTRIBUTE = "/casectl.yaml merge=casectl"


def ensure_merge_driver(root: Path) -> None:
    """Register casectl's merge driver in the repository's config, and route
    casectl.yaml to it in .git/info/attributes, when missing (`init` does
    it; a fresh `git clone` does not copy .git/config): one read of the
    config file when it is there. A repository whose config cannot be
    written is left as it is."""
    try:
        config = (common_dir(root) / "config").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return
    if MERGE_DRIVER_NAME in config:
        return
    try:
        info = common_dir(root) / "info"
        attributes = info / "attributes"
        try:
            present = attributes.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            present = ""
        if CONFIG_ATTRIBUTE not in present.splitlines():
            info.mkdir(exist_ok=True)
            with open(attributes, "a", encoding="utf-8") as out:
                out.write(("\n" if present and not present.endswith("\n") else "")
                          + CONFIG_ATTRIBUTE + "\n")
        git(root, "config", "merge.casectl.name", MERGE_DRIVER_NAME)
        git(root, "config", "merge.casectl.driver", MERGE_DRIVER)
    except (OperationFailed, OSError):
        pass


# ---------------------------------------------------------------- ranges (validate --changed-since)

def resolve_commit(root: Path, rev: str) -> str | None:
    """The commit ``rev`` names (a sha, a branch, HEAD~3, origin/main), or
    None when it names none here: unknown, not a commit, or absent from a
    shallow clone. ``--end-of-options`` keeps a rev that starts with '-'
    from being read as an option."""
    out = git(root, "rev-parse", "--quiet", "--verify", "--end-of-options", f"{rev}^{{commit}}",
              check=False).strip()
    return out if _SHA.match(out) else None


def changed_files(root: Path, old: str, new: str) -> list[str]:
    """Files added, modified or renamed (their new names) from commit
    ``old`` to commit ``new``: what a push or a merge request brought in.
    Deleted files are left out; copies are not looked for."""
    out = git(root, "diff", "--name-only", "-z", "--no-ext-diff", "--no-textconv",
              "--diff-filter=AMR", old, new, "--")
    return [path for path in out.split("\0") if path]
# ---------------------------------------------------------------- remotes (casectl sync)

# What git says when it cannot reach a remote at all, as opposed to a remote
# that answered and refused (a wrong password, a hook). Lower case.
_UNREACHABLE = (
    "could not resolve host", "could not resolve hostname", "name or service not known",
    "temporary failure in name resolution", "no address associated with hostname",
    "connection refused", "connection timed out", "operation timed out", "timed out",
    "network is unreachable", "no route to host", "connection reset", "connection closed",
    "failed to connect", "could not connect to server", "unable to connect",
    "the remote end hung up unexpectedly",
)
_REFUSED_ACCESS = ("permission denied", "authentication failed", "access denied",
                   "returned error: 401", "returned error: 403", "not authorized",
                   "host key verification failed")


class Unreachable(Exception):
    """The remote could not be reached; ``reason`` is git's own words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def remote_names(root: Path) -> list[str]:
    return git(root, "remote").split()


def upstream(root: Path, branch_name: str) -> tuple[str | None, str | None]:
    """The remote and the remote branch (without refs/heads/) the branch
    tracks, each None when not configured."""
    out = git(root, "config", "--get-regexp",
              rf"^branch\.{re.escape(branch_name)}\.(remote|merge)$", check=False)
    values: dict[str, str] = {}
    for line in out.splitlines():
        key, _, value = line.partition(" ")
        values[key.rsplit(".", 1)[-1]] = value.strip()
    merge = values.get("merge")
    if merge and merge.startswith("refs/heads/"):
        merge = merge[len("refs/heads/"):]
    return values.get("remote") or None, merge or None


def remote_url(root: Path, name: str) -> str:
    return git(root, "remote", "get-url", name, check=False).strip()


def _is_local_path(url: str) -> bool:
    """A remote given as a path (or file:// URL) rather than a host."""
    if url.startswith("file://"):
        return True
    if "://" in url:
        return False
    # scp-like "host:path" has a colon before any slash
    head_part = url.split("/", 1)[0]
    return ":" not in head_part


def _failure(root: Path, remote: str, err: bytes) -> Exception:
    """Unreachable, or OperationFailed with git's message, for a failed
    fetch or push."""
    text = err.decode("utf-8", "replace").strip()
    low = text.lower()
    url = remote_url(root, remote)
    if _is_local_path(url):
        path = Path(url[len("file://"):] if url.startswith("file://") else url).expanduser()
        if not path.is_absolute():
            path = root / path
        if not path.exists():
            return Unreachable(f"{url} is not there (a drive not mounted, a path moved?)")
    if not any(word in low for word in _REFUSED_ACCESS) and \
            any(word in low for word in _UNREACHABLE):
        return Unreachable(_last_line(text))
    return OperationFailed(f"git could not talk to the remote {remote} ({url}): "
                           f"{_last_line(text)}",
                           f"check the remote's address ('git remote -v') and your access to "
                           f"it ('git fetch {remote}'); nothing was changed here")


def _last_line(text: str) -> str:
    lines = [line.removeprefix("fatal: ").strip() for line in text.splitlines() if line.strip()]
    return "; ".join(lines[-2:]) if lines else "no message"


def fetch(root: Path, remote: str, remote_branch: str, into: str) -> bool:
    """Fetch the remote's branch into the ref ``into`` (a remote-tracking
    ref, which a fetch may move any way: that is what such refs are for).
    False when the remote has no such branch yet (a new, empty remote);
    Unreachable when it cannot be reached."""
    done = run(root, "fetch", "--quiet", "--no-tags", "--no-write-fetch-head", remote,
               f"+refs/heads/{remote_branch}:{into}", check=False)
    if done.returncode == 0:
        return True
    if b"couldn't find remote ref" in done.stderr.lower():
        return False
    raise _failure(root, remote, done.stderr)


def remote_branches(root: Path, remote: str) -> list[str]:
    """The branches the remote has (without refs/heads/); Unreachable or
    OperationFailed as for a fetch."""
    done = run(root, "ls-remote", "--heads", remote, check=False)
    if done.returncode != 0:
        raise _failure(root, remote, done.stderr)
    names = []
    for line in done.stdout.decode("utf-8", "replace").splitlines():
        ref = line.partition("\t")[2].strip()
        if ref.startswith("refs/heads/"):
            names.append(ref[len("refs/heads/"):])
    return names


def push(root: Path, remote: str, commit: str, remote_branch: str) -> bool:
    """Push ``commit`` to the remote's branch, never forced. False when the
    remote refused because its branch moved on (another clone pushed first:
    fetch, merge and push again); Unreachable, or OperationFailed for any
    other refusal (a server hook's, with its message)."""
    done = run(root, "push", "--porcelain", remote, f"{commit}:refs/heads/{remote_branch}",
               check=False)
    if done.returncode == 0:
        return True
    out = (done.stdout + b"\n" + done.stderr).decode("utf-8", "replace")
    if re.search(r"\[rejected\].*\((fetch first|non-fast-forward)\)", out) or \
            any(said in out for said in ("failed to update ref", "cannot lock ref",
                                         "failed to lock")):
        # The last three: the remote's branch moved between its answer to
        # this push and the update (another push landed in between).
        return False
    if "[remote rejected]" in out:
        said = [line[len("remote: "):].rstrip() for line in out.splitlines()
                if line.startswith("remote: ") and line[len("remote: "):].strip()]
        reason = re.search(r"\[remote rejected\][^\n]*\(([^)]*)\)", out)
        raise OperationFailed(
            f"the remote {remote} refused the push ({reason[1] if reason else 'rejected'})"
            + (":\n  " + "\n  ".join(said) if said else ""),
            "your commits are kept here; fix what the remote names, then run 'casectl sync' "
            "again")
    raise _failure(root, remote, done.stderr)


def merge_base(root: Path, one: str, other: str) -> str | None:
    out = git(root, "merge-base", one, other, check=False).strip()
    return out or None


def is_ancestor(root: Path, ancestor: str, descendant: str) -> bool:
    return run(root, "merge-base", "--is-ancestor", ancestor, descendant,
               check=False).returncode == 0


def count_commits(root: Path, exclude: str | None, include: str) -> int:
    spec = [include] if exclude is None else [f"{exclude}..{include}"]
    return int(git(root, "rev-list", "--count", *spec).strip() or 0)


def added_paths(root: Path, old: str, new: str, under: str) -> list[str]:
    """Files under ``under`` that ``new`` has and ``old`` had not."""
    return [path for status, path in changed_paths(root, old, new, under) if status == "A"]


def adding_commit(root: Path, since: str, path: str) -> str | None:
    """The commit on HEAD's side (after ``since``) that added ``path``."""
    out = git(root, "log", "--diff-filter=A", "--format=%H", f"{since}..HEAD", "--",
              path).split()
    return out[-1] if out else None


def remote_refs_containing(root: Path, commit: str) -> list[str]:
    """Remote-tracking refs (what this clone knows was pushed) that hold ``commit``."""
    return git(root, "for-each-ref", "--contains", commit, "--format=%(refname:short)",
               "refs/remotes").split()


@dataclass(frozen=True)
class MergeOutcome:
    """What `git merge` did: ``ok``, else whether it stopped half way
    (``in_progress``: a conflict waits in the index) and what it said."""

    ok: bool
    in_progress: bool
    unmerged: list[str]
    said: str


def merge(root: Path, rev: str, driver: str, env: Mapping[str, str]) -> MergeOutcome:
    """`git merge` of ``rev`` into the branch, with casectl's driver given
    on the command line (``driver``: the very casectl running, whether or
    not one is on PATH), git's own machinery and the user's index as they
    are. Never a rebase, never an editor."""
    done = run(root, "-c", f"merge.casectl.driver={driver}", "-c",
               f"merge.casectl.name={MERGE_DRIVER_NAME}", "merge", "--no-edit", "--ff",
               "--no-stat", "--quiet", rev, env=env, check=False)
    said = (done.stdout + done.stderr).decode("utf-8", "replace").strip()
    if done.returncode == 0:
        return MergeOutcome(True, False, [], said)
    in_progress = (git_dir(root) / "MERGE_HEAD").exists()
    return MergeOutcome(False, in_progress, unmerged_paths(root) if in_progress else [], said)


def merge_abort(root: Path) -> None:
    git(root, "merge", "--abort")
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

"""Every git call casectl makes lives here.

The write path calls git's plumbing directly (update-index, write-tree,
commit-tree, update-ref) rather than through GitPython: GitPython's own
index code rewrites the index in pure Python (about a second per commit at
10,000 files) and its import alone costs 120-200 ms, more than a whole
commit. The split index keeps each commit from rewriting the whole index
file. Reading history (commits, trailers, old versions of a file) goes
through GitPython, which is what it does well.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from .errors import OperationFailed

# Applied to every call: keep the index split (see the module docstring) and
# print paths as they are, æøå included.
_GIT_CONFIG = ("-c", "core.splitIndex=true", "-c", "core.quotePath=false")
LOCK_WAIT = 10.0  # seconds to wait for another git process's index.lock or ref lock


class ForeignChanges(Exception):
    """The index holds staged changes to files this commit is not about."""

    def __init__(self, paths: Sequence[str]) -> None:
        super().__init__(", ".join(paths))
        self.paths = list(paths)


@dataclass(frozen=True)
class Author:
    name: str
    email: str

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"


def git(root: Path, *args: str, input: str | bytes | None = None,
        env: dict[str, str] | None = None, check: bool = True) -> str:
    """Run git in ``root`` and return its standard output."""
    run_env = dict(os.environ, GIT_TERMINAL_PROMPT="0")
    if env:
        run_env.update(env)
    binary_input = input.encode("utf-8") if isinstance(input, str) else input
    waited = 0.0
    while True:
        try:
            done = subprocess.run(["git", *_GIT_CONFIG, *args], cwd=root, input=binary_input,
                                  capture_output=True, env=run_env)
        except FileNotFoundError:
            raise OperationFailed("git is not installed or not on PATH",
                                  "install git (2.30 or newer)") from None
        # Another git process (a technician's own command, a background gc)
        # holds the index or a ref: wait for it as casectl's own lock waits,
        # rather than fail. A lock left by a crashed git still fails, with
        # git's own advice, after LOCK_WAIT seconds.
        if done.returncode == 0 or b".lock': File exists" not in done.stderr \
                or waited >= LOCK_WAIT:
            break
        time.sleep(0.05)
        waited += 0.05
    if check and done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip() or f"exit {done.returncode}"
        raise OperationFailed(f"git {args[0]} failed: {message}",
                              "check the repository with 'git status'; nothing was committed")
    return done.stdout.decode("utf-8", "replace")


def is_work_tree(path: Path) -> bool:
    done = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=path,
                          capture_output=True)
    return done.returncode == 0 and Path(done.stdout.decode().strip()).resolve() == path.resolve()


def init(path: Path) -> None:
    git(path, "init", "--quiet", "--initial-branch=main")
    git(path, "config", "core.splitIndex", "true")


def head(root: Path) -> str | None:
    """The commit HEAD points at, or None before the first commit.

    Read from the files when HEAD is a plain branch (a git process per
    action saved); anything unusual is left to git itself.
    """
    from .store import git_dir

    directory = git_dir(root)
    try:
        ref = (directory / "HEAD").read_text(encoding="utf-8").strip()
        if ref.startswith("ref: refs/heads/") and ".." not in ref:
            loose = directory / ref[5:]
            if loose.is_file():
                sha = loose.read_text(encoding="utf-8").strip()
                if _SHA.match(sha):
                    return sha
    except OSError:
        pass
    out = git(root, "rev-parse", "--quiet", "--verify", "HEAD^{commit}", check=False).strip()
    return out or None


_SHA = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")


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


def commit(root: Path, paths: Sequence[str], text: str, author: Author,
           when: datetime, step: Callable[[str], None] = lambda name: None) -> str:
    """Commit the working-tree state of ``paths`` as one commit by ``author``.

    The committer is the author too, so a machine with no git identity
    configured commits all the same. ``step`` is told each stage reached.
    """
    parent = head(root)
    untouched = parent is not None and _index_mark(root) == f"{parent} {_index_stamp(root)}"
    git(root, "update-index", "--add", "--remove", "--", *paths)
    step("index-updated")
    tree = git(root, "write-tree").strip()
    if parent and not untouched:
        # One action, one commit: whatever someone staged by hand must not
        # ride along. Comparing two trees only descends into what changed.
        # Skipped when neither the index nor HEAD has changed since
        # casectl's last commit left them equal: one git process less.
        changed = git(root, "diff-tree", "-r", "--name-only", "-z", parent, tree).split("\0")
        foreign = sorted(set(filter(None, changed)) - set(paths))
        if foreign:
            raise ForeignChanges(foreign)
    stamp = git_date(when)
    env = {"GIT_AUTHOR_NAME": author.name, "GIT_AUTHOR_EMAIL": author.email,
           "GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_NAME": author.name,
           "GIT_COMMITTER_EMAIL": author.email, "GIT_COMMITTER_DATE": stamp}
    parents = ["-p", parent] if parent else []
    sha = git(root, "commit-tree", tree, *parents, "-F", "-", input=text, env=env).strip()
    step("commit-written")
    # The old value makes the update fail rather than lose a commit made
    # behind casectl's back since we read HEAD.
    git(root, "update-ref", "-m", "commit: " + text.splitlines()[0], "HEAD", sha, parent or "")
    _set_index_mark(root, f"{sha} {_index_stamp(root)}")
    return sha


def _index_stamp(root: Path) -> str:
    """Identifies one write of the index file: git replaces it by renaming a
    new file over it, so inode, size and nanosecond mtime change each time."""
    from .store import git_dir

    try:
        info = os.stat(git_dir(root) / "index")
    except OSError:
        return "none"
    return f"{info.st_ino}:{info.st_size}:{info.st_mtime_ns}"


def _index_mark(root: Path) -> str | None:
    from .store import state_dir

    try:
        return (state_dir(root) / "index-mark").read_text(encoding="utf-8")
    except OSError:
        return None


def _set_index_mark(root: Path, mark: str) -> None:
    """HEAD and the index as casectl's last commit left them: equal."""
    from .store import state_dir

    try:
        (state_dir(root) / "index-mark").write_text(mark, encoding="utf-8")
    except OSError:
        pass  # without the mark the next commit only checks more


_TRAILER = re.compile(r"^([A-Za-z][A-Za-z0-9-]*): (.*)$")


def parse_trailers(text: str) -> dict[str, list[str]]:
    """The trailers of a commit message: its last paragraph, when every line
    of it is "Key: value". Parsed here rather than by git interpret-trailers
    (as GitPython does), which stops at a "---" line that a logged text may
    well contain."""
    paragraphs = [p for p in text.strip().split("\n\n") if p.strip()]
    found: dict[str, list[str]] = {}
    if not paragraphs:
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
    if not paths:
        return
    request = "".join(f"{rev}:{path}\n" for path in paths).encode("utf-8")
    done = subprocess.run(["git", "cat-file", "--batch"], cwd=root, input=request,
                          capture_output=True)
    if done.returncode != 0:
        raise OperationFailed("git cat-file failed: " + done.stderr.decode("utf-8", "replace"))
    data = done.stdout
    offset = 0
    for path in paths:
        newline = data.index(b"\n", offset)
        header = data[offset:newline].split()
        offset = newline + 1
        if len(header) < 3 or header[1] == b"missing":
            continue
        size = int(header[2])
        yield path, data[offset:offset + size]
        offset += size + 1


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    author: str
    email: str
    when: datetime
    subject: str
    trailers: dict[str, Any]
    content: bytes | None  # the file as this commit left it; None when deleted


def file_history(root: Path, path: str) -> list[CommitInfo]:
    """Every commit that touched ``path``, oldest first, with the file as
    each left it: the raw material of a case's timeline."""
    import git as gitpython

    repo = gitpython.Repo(root)
    if head(root) is None:
        return []
    found = []
    for item in repo.iter_commits("HEAD", paths=path):
        try:
            content = (item.tree / path).data_stream.read()
        except KeyError:
            content = None
        found.append(CommitInfo(
            sha=item.hexsha, author=item.author.name or "", email=item.author.email or "",
            when=item.authored_datetime, subject=item.summary if isinstance(item.summary, str)
            else item.summary.decode("utf-8", "replace"),
            trailers=parse_trailers(item.message if isinstance(item.message, str)
                                    else item.message.decode("utf-8", "replace")),
            content=content))
    repo.close()
    found.reverse()
    return found

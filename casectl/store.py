"""Where things live on disk: finding the repository, case paths, safe
loading of case files, atomic writes and the repository lock."""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from typing import Any, Iterator

from . import ids, journal
from .config import CONFIG_FILE
from .errors import CaseNotFound, NotARepository, NotFound, UsageError

CASES_DIR = "cases"


def find_root(explicit: str | None, start: Path | None = None) -> Path:
    """The case repository: --repo, else CASECTL_REPO, else the nearest
    parent of the working directory holding casectl.yaml (as git finds .git)."""
    given = explicit or os.environ.get("CASECTL_REPO")
    if given:
        root = Path(given).expanduser().resolve()
        if not (root / CONFIG_FILE).is_file():
            raise NotARepository(str(root))
        return _checked_git(root)
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / CONFIG_FILE).is_file():
            return _checked_git(candidate)
    raise NotARepository(str(here))


def _checked_git(root: Path) -> Path:
    """A case repository is a git repository of its own: otherwise commits
    would land in whatever repository encloses it, or nowhere."""
    if not (root / ".git").exists():
        raise NotFound(f"{root} has {CONFIG_FILE} but is not a git repository of its own",
                       "make one with 'casectl init' in a new directory, or 'git init' there")
    return root


def git_dir(root: Path) -> Path:
    return journal.git_dir(root)


def state_dir(root: Path) -> Path:
    """Derived data and locks: under .git, so never committed."""
    path = git_dir(root) / "casectl"
    path.mkdir(parents=True, exist_ok=True)
    return path


def parse_case_id(text: str) -> str:
    """A typed case id in canonical form; anything else (a path, say) is a
    usage error before it gets near the file system."""
    case_id = ids.normalize_case_id(text)
    if case_id is None:
        raise UsageError(f"{text!r} is not a case id",
                         f"a case id is {ids.CASE_ID_LENGTH} letters and digits, like 12P864R5J5S, "
                         f"or {ids.LEGACY_CASE_ID_LENGTH} in older cases, like 5NM5VM6NV5 "
                         "('casectl list' shows them)")
    return case_id


def case_relpath(case_id: str) -> str:
    created = ids.case_id_time(case_id)
    return f"{CASES_DIR}/{created.year:04d}/{created.month:02d}/{case_id}.yaml"


def all_case_files(root: Path) -> list[Path]:
    return sorted((root / CASES_DIR).glob("*/*/*.yaml"))


def find_case_file(root: Path, case_id: str) -> Path:
    path = root / case_relpath(case_id)
    if not path.is_file():
        import difflib

        known = [p.stem for p in all_case_files(root)]
        raise CaseNotFound(case_id, difflib.get_close_matches(case_id, known, n=3, cutoff=0.6))
    return path


def write_atomic(path: Path, text: str) -> None:
    """Temp file, fsync, rename: a reader or a crash sees the old file or
    the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(temp, "w", encoding="utf-8", newline="\n") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, path)
    with contextlib.suppress(OSError):  # the rename is durable once the directory is
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)


@contextlib.contextmanager
def locked(root: Path) -> Iterator[None]:
    """Hold the repository's lock from read to commit.

    flock is released by the kernel when the process dies, so a killed
    command never leaves a stale lock behind; others wait their turn.
    """
    lock_path = state_dir(root) / "lock"
    handle = open(lock_path, "a+")
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        handle.close()

"""Where things live on disk: finding the repository, case paths, safe
loading of case files, atomic writes and the repository lock."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
from pathlib import Path
from typing import IO, Iterator

from . import ids, journal
from .config import CONFIG_FILE
from .errors import (AmbiguousCaseId, CaseNotFound, NotARepository, NotFound, ReadOnlyRepository,
                     UsageError)

CASES_DIR = "cases"


def find_root(explicit: str | None, start: Path | None = None) -> Path:
    """The case repository: --repo, else CASECTL_REPO, else the working
    directory; from there the nearest parent holding casectl.yaml, as git
    finds .git (so --repo desk/cases/2026 is the desk)."""
    given, source = (explicit, "--repo") if explicit else (os.environ.get("CASECTL_REPO"),
                                                           "CASECTL_REPO")
    if given:
        here = Path(given).expanduser().resolve()
        if not here.exists():
            raise NotFound(f"{source} {given}: no such file or directory",
                           f"check the path; 'casectl init {given}' makes a new case "
                           "repository there")
        if not here.is_dir():
            here = here.parent  # --repo desk/casectl.yaml, say
    else:
        here = (start or Path.cwd()).resolve()
    found = enclosing_root(here)
    if found is None:
        if journal.is_bare(here):
            # A server's copy (the desk's remote, a CI mirror): no work tree,
            # so no files to act on; 'casectl init' there would be wrong advice.
            raise NotFound(
                f"{here} is a bare git repository (a remote's copy, with no files to work "
                "on), not a case repository",
                f"work in a clone of it (git clone {here} DIR, then casectl --repo DIR ...; "
                "'casectl audit' there checks the whole history); on the server itself, "
                f"'casectl hook install --bare {here}' checks every push")
        _refuse_empty_clone(here)
        raise NotARepository(str(here))
    return _checked_git(found)


def _refuse_empty_clone(here: Path) -> None:
    """A `git clone` of a bare remote whose HEAD names a branch it lacks
    (made by `git init --bare` without -b main) checks out nothing: the desk
    is one `git switch` away, and 'casectl init' would start another one."""
    top = journal.toplevel(here)
    if top is None or journal.head(top) is not None:
        return
    branches = [name for name in journal.git(
        top, "for-each-ref", "--format=%(refname:lstrip=3)", "refs/remotes", check=False).split()
        if name != "HEAD"]
    if not branches:
        return
    wanted = "main" if "main" in branches else branches[0]
    raise NotFound(
        f"{top} is a git clone with nothing checked out: its remote's default branch "
        "is missing, so git checked out no branch (the remote has: "
        f"{', '.join(sorted(set(branches))[:5])})",
        f"check out the desk's branch: git switch {wanted} (the remote's owner can fix it for "
        f"everyone: git symbolic-ref HEAD refs/heads/{wanted} in the bare repository)")


def enclosing_root(path: Path) -> Path | None:
    """The nearest of ``path`` and its parents holding casectl.yaml."""
    for candidate in (path, *path.parents):
        if (candidate / CONFIG_FILE).is_file():
            return candidate
    return None


def _checked_git(root: Path) -> Path:
    """A case repository is a git repository of its own: otherwise commits
    would land in whatever repository encloses it, or nowhere."""
    if not (root / ".git").exists():
        raise NotFound(f"{root} has {CONFIG_FILE} but is not a git repository of its own",
                       "make one with 'casectl init' in a new directory, or 'git init' there")
    return root


def git_dir(root: Path) -> Path:
    return journal.git_dir(root)


# What writing to a read-only mount or without permission fails with.
READ_ONLY_ERRNOS = frozenset({errno.EROFS, errno.EACCES, errno.EPERM})


def state_dir(root: Path) -> Path:
    """Derived data and locks: under .git, so never committed.

    Made when it can be; on a read-only repository it may not exist, which
    readers take as "nothing cached, nothing pending" and writers find out
    about when they take the lock (``locked``)."""
    path = git_dir(root) / "casectl"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        if exc.errno not in READ_ONLY_ERRNOS:
            raise
    return path


def writable_state_dir(root: Path) -> Path | None:
    """The state directory if casectl may write there, else None.

    os.access answers for a read-only mount even for root (who ignores
    permission bits, and rightly can write then)."""
    path = state_dir(root)
    return path if path.is_dir() and os.access(path, os.W_OK | os.X_OK) else None


def _read_only_reason(root: Path) -> str | None:
    """Why an action could not write here, or None. Checked before anything
    is written, so a refused action leaves no half-done work: the places a
    commit writes are the work tree, the objects, the branch refs and the
    state directory."""
    directory, common = journal.git_dir(root), journal.common_dir(root)
    for path in (root, root / CASES_DIR, directory, common / "objects",
                 common / "refs" / "heads", directory / "casectl"):
        if path.is_dir() and not os.access(path, os.W_OK | os.X_OK):
            if _on_read_only_mount(path):
                return f"{path} is on a read-only file system"
            return f"no permission to write in {path}"
    return None


def _on_read_only_mount(path: Path) -> bool:
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return False


MIN_PREFIX = 4  # like git's abbreviated hashes: shorter picks too many to be useful
_ID_CHARS = frozenset(ids.ALPHABET)


def parse_case_id(text: str) -> str:
    """A typed case id, or a prefix of one, in canonical form. Anything else
    (a path, say) is a usage error before it gets near the file system;
    only letters of the id alphabet reach a glob pattern."""
    typed = ids.canonical(text)
    if not typed or not set(typed) <= _ID_CHARS:
        raise UsageError(f"{text!r} is not a case id",
                         "a case id is letters and digits, like 6FDETW3NPS; its first "
                         f"{MIN_PREFIX} or more characters will do ('casectl list' shows them)")
    if len(typed) < MIN_PREFIX:
        raise UsageError(f"{text!r} is too short to pick a case",
                         f"give at least {MIN_PREFIX} characters of the id")
    return typed


def resolve_case_id(root: Path, text: str) -> str:
    """The full id of the one case whose id is or starts with ``text``.

    A full id goes straight to its file (the path comes from the id's time
    part), so the everyday case costs one stat. Anything else, including a
    full-length id whose file is missing (it may be the prefix of a longer
    id), is looked up by globbing every month folder, as git resolves an
    abbreviated hash; ambiguity is refused with the candidates.
    """
    typed = parse_case_id(text)
    if ids.is_case_id(typed) and (root / case_relpath(typed)).is_file():
        return typed
    found = sorted({p.stem for p in (root / CASES_DIR).glob(f"*/*/{typed}*.yaml")
                    if ids.is_case_id(p.stem)})
    if len(found) == 1:
        return found[0]
    if found:
        raise AmbiguousCaseId(typed, found)
    raise CaseNotFound(typed, _close_ids(root, typed))


def _close_ids(root: Path, typed: str) -> list[str]:
    """Ids whose first len(typed) characters nearly match what was typed."""
    import difflib

    by_start: dict[str, list[str]] = {}
    for path in all_case_files(root):
        by_start.setdefault(path.stem[:len(typed)], []).append(path.stem)
    near = difflib.get_close_matches(typed, list(by_start), n=3, cutoff=0.6)
    return [case_id for start in near for case_id in by_start[start]][:3]


def case_relpath(case_id: str) -> str:
    created = ids.case_id_time(case_id)
    return f"{CASES_DIR}/{created.year:04d}/{created.month:02d}/{case_id}.yaml"


def all_case_files(root: Path) -> list[Path]:
    return sorted((root / CASES_DIR).glob("*/*/*.yaml"))


def find_case_file(root: Path, typed: str) -> Path:
    """The file of the case ``typed`` names: a full id or a unique prefix."""
    return root / case_relpath(resolve_case_id(root, typed))


def write_atomic(path: Path, text: str | bytes) -> None:
    """Temp file, fsync, rename: a reader or a crash sees the old file or
    the new one, never half of one. Text is written as UTF-8 with \\n line
    ends; bytes (a mail's attachment) as they are."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with (open(temp, "wb") if isinstance(text, bytes)
          else open(temp, "w", encoding="utf-8", newline="\n")) as handle:
        handle.write(text)  # type: ignore[arg-type]
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
def held(handle: IO[str]) -> Iterator[None]:
    """An exclusive flock on an open file, waited for, then released and
    the file closed; the kernel releases it if the process dies."""
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        handle.close()


@contextlib.contextmanager
def locked(root: Path) -> Iterator[None]:
    """Hold the repository's lock from read to commit.

    flock is released by the kernel when the process dies, so a killed
    command never leaves a stale lock behind; others wait their turn.
    Whoever takes the lock means to write, so a read-only repository is
    refused here, before anything is touched.
    """
    reason = _read_only_reason(root)
    if reason is not None:
        raise ReadOnlyRepository(str(root), reason)
    lock_path = state_dir(root) / "lock"
    try:
        handle = open(lock_path, "a+")
    except OSError as exc:
        if exc.errno in READ_ONLY_ERRNOS or not lock_path.parent.is_dir():
            raise ReadOnlyRepository(str(root), f"{lock_path}: {exc.strerror}") from None
        raise
    with held(handle):
        yield

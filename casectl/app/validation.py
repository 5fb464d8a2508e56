"""Checking case files and casectl.yaml against the schemas and the rules:
what `casectl validate` and CI run."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from .. import attachments, config as configmod, journal, roles, schema, store, yamlio
from ..errors import InvalidData, NotARepository, NotFound, UsageError


@dataclass
class ValidationReport:
    checked: int = 0
    problems: list[schema.Problem] = field(default_factory=list)
    # The files checked, as the problems name them (for a JUnit report's
    # test cases); not in to_dict, which stays the size of the problems.
    files: list[str] = field(default_factory=list)
    # Said to the user beside the report (what --changed-since chose to check).
    notes: list[str] = field(default_factory=list)
    root: Path | None = None  # the case repository the labels are relative to, if any

    @property
    def valid(self) -> bool:
        return not self.problems

    @property
    def invalid_files(self) -> int:
        return len({problem.file for problem in self.problems})

    def to_dict(self) -> dict[str, Any]:
        return {"valid": self.valid, "checked": self.checked,
                "invalid_files": self.invalid_files,
                "problems": [problem.to_dict() for problem in self.problems]}


PARALLEL_FROM = 2000  # below this, starting worker processes costs more than it saves
BATCH = 500


def validate(repo: str | None, paths: Sequence[str],
             progress: Callable[[int, int], None] | None = None,
             changed_since: str | None = None) -> ValidationReport:
    """Check case files against the schema and the rules: header ==
    replay(log), file named by id, ids unique, closed cases solved, rejected
    ones reasoned. Without PATHs, the whole repository and its casectl.yaml;
    with ``changed_since`` (a commit), casectl.yaml and the case files added
    or changed from that commit to HEAD (see ``changed_case_files``).

    ``progress(done, total)`` is called as files are checked.
    """
    from concurrent.futures import ProcessPoolExecutor  # only validate pays for it

    if changed_since is not None and paths:
        raise UsageError("give PATHs or --changed-since, not both",
                         "--changed-since REV picks the files itself: the case files changed "
                         "from REV to HEAD, and casectl.yaml")
    root: Path | None
    try:
        root = store.find_root(repo)
    except NotARepository:
        if not paths:
            raise
        root = None
    report = ValidationReport(root=root)
    targets: list[Path] = []
    if not paths:
        assert root is not None
        if changed_since is None:
            targets = store.all_case_files(root)
        else:
            targets = changed_case_files(root, changed_since, report.notes)
        report.checked += 1
        report.files.append(configmod.CONFIG_FILE)
        report.problems.extend(_config_problems(root / configmod.CONFIG_FILE,
                                                configmod.CONFIG_FILE, root, report.notes))
    for given in paths:
        path = Path(given)
        if path.is_file() and path.name == configmod.CONFIG_FILE:
            # The desk configuration, named on its own: check it as one, not
            # as a case file (which it would fail in every field).
            report.checked += 1
            report.files.append(_label(path, root))
            report.problems.extend(_config_problems(path, _label(path, root), root,
                                                    report.notes))
        elif path.is_dir():
            targets.extend(sorted(p for p in path.rglob("*.yaml") if p.name != "casectl.yaml"))
        elif path.is_file():
            targets.append(path)
        else:
            raise NotFound(f"no such file or directory: {given}")
    schema_dir = _schema_dir_for(root, targets)
    cache_dir = store.state_dir(root) if root else None
    items = [(str(p), _label(p, root)) for p in targets]
    batches = [items[i:i + BATCH] for i in range(0, len(items), BATCH)]
    args = (str(schema_dir) if schema_dir else None, str(cache_dir) if cache_dir else None)
    if len(items) >= PARALLEL_FROM and (os.cpu_count() or 1) > 1:
        with ProcessPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
            results = pool.map(schema.check_batch, *zip(*[(*args, b) for b in batches]))
            report = _collect(report, results, len(items), progress)
    else:
        report = _collect(report, (schema.check_batch(*args, b) for b in batches),
                          len(items), progress)
    if root is not None:
        report.problems.extend(attachment_problems(root, items))
    return report


def attachment_problems(root: Path, items: Sequence[tuple[str, str]]) -> list[schema.Problem]:
    """Each file an event lists (a mail's attachments, the original
    message) that is missing under attachments/ or whose bytes are not the
    ones listed. Only case files that mention a sha256 are read again, and
    each stored file is hashed once however many events list it."""
    found: list[schema.Problem] = []
    hashed: dict[str, tuple[str, int] | None] = {}
    for path_text, label in items:
        path = Path(path_text)
        try:
            if b"sha256:" not in path.read_bytes():
                continue
            doc = yamlio.read_mapping(path, label)
        except (OSError, InvalidData):
            continue  # the schema check has said what is wrong with the file
        log = doc.get("log")
        for position, event in enumerate(log if isinstance(log, list) else ()):
            for entry in attachments.listed(event):
                problem = _stored_problem(root, entry, hashed)
                if problem is not None:
                    where = "original" if entry.name is None else "attachments"
                    found.append(schema.Problem(label, f"log[{position}].data.{where}", problem))
    return found


def _stored_problem(root: Path, entry: attachments.Listed,
                    hashed: dict[str, tuple[str, int] | None]) -> str | None:
    rel = entry.path
    if rel not in hashed:
        hashed[rel] = _digest(root / rel)
    what = "the original message" if entry.name is None else entry.name
    got = hashed[rel]
    restore = (f"restore it from git with 'git checkout HEAD -- {rel}' (or from the commit "
               f"that added it: git log --diff-filter=A -- {rel}); files under attachments/ "
               "are never changed by hand")
    if got is None:
        return f"{what} is listed as {rel}, which is missing; {restore}"
    digest, size = got
    if digest != entry.sha256 or size != entry.size:
        return (f"{what} is listed as {rel} ({entry.size} bytes), but that file holds "
                f"{size} bytes with sha256 {digest}; {restore}")
    return None


def _digest(path: Path) -> tuple[str, int] | None:
    """sha256 and size of a file, read in blocks (an attachment can be
    large); None when it is not there."""
    import hashlib

    digest = hashlib.sha256()
    size = 0
    try:
        with open(path, "rb") as handle:
            while block := handle.read(1 << 20):
                digest.update(block)
                size += len(block)
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None
    return digest.hexdigest(), size


def changed_case_files(root: Path, rev: str, notes: list[str]) -> list[Path]:
    """The case files added, changed or renamed from commit ``rev`` to HEAD
    that the work tree holds: what a push brought in, found by git alone,
    so that no other file is read (a push to a desk of 10,000 cases checks
    its few). A deleted case file is audit's to report, not validate's.

    When the desk's schemas/ changed in the range, any file may have become
    invalid: every case file is checked, and ``notes`` says why. Unchanged
    files need no check of their id against the changed ones: a file is
    named by its id and sits in the folder of its id's month, both checked,
    so two files with one id cannot both be valid."""
    head = journal.head(root)
    if head is None:
        raise UsageError(f"--changed-since {rev}: the repository has no commits yet",
                         "run 'casectl validate' without --changed-since")
    old = journal.resolve_commit(root, rev)
    if old is None:
        if rev.strip("0") == "" and len(rev) in (40, 64):
            hint = ("an all-zero sha is what CI gives for a new branch's first push: there is "
                    "no commit before it, so validate everything with 'casectl validate'")
        else:
            hint = ("give a commit sha, branch or tag this clone has ('git log' lists them); "
                    "in CI, fetch the whole history (actions/checkout with fetch-depth: 0, "
                    "GIT_DEPTH: 0 on GitLab)")
        raise UsageError(f"--changed-since {rev}: no such commit in this repository", hint)
    changed = journal.changed_files(root, old, head)
    if any(path.startswith("schemas/") for path in changed):
        notes.append(f"the schemas changed since {rev}: every case file is checked")
        return store.all_case_files(root)
    return [root / path for path in changed if _is_case_path(path) and (root / path).is_file()]


def _is_case_path(path: str) -> bool:
    """A path as store.all_case_files finds them: cases/YYYY/MM/<name>.yaml."""
    parts = path.split("/")
    return len(parts) == 4 and parts[0] == store.CASES_DIR and parts[3].endswith(".yaml")


def located(report: ValidationReport) -> list[schema.Problem]:
    """The report's problems, each with the line of its field where the
    file says it (for annotations in CI that point at the line); the
    files are read again, only the invalid ones."""
    root = report.root
    texts: dict[str, str | None] = {}
    found = []
    for problem in report.problems:
        if problem.line is None and problem.field != "(file)":
            if problem.file not in texts:
                path = Path(problem.file)
                if root is not None and not path.is_absolute():
                    path = root / path if (root / path).is_file() else path
                try:
                    texts[problem.file] = path.read_text(encoding="utf-8")
                except (OSError, UnicodeDecodeError):
                    texts[problem.file] = None
            text = texts[problem.file]
            line = yamlio.line_of(text, problem.field) if text is not None else None
            if line is not None:
                problem = schema.Problem(problem.file, problem.field, problem.message, line)
        found.append(problem)
    return found


def _config_problems(path: Path, label: str, root: Path | None,
                     notes: list[str]) -> list[schema.Problem]:
    """What is wrong with a casectl.yaml, each problem once prefixed
    (``casectl.yaml: field: message``), against the schemas beside it;
    what is allowed but unwise is added to ``notes`` as a warning."""
    try:
        data = yamlio.load(path.read_text(encoding="utf-8"), label)
    except InvalidData as exc:
        return [schema.Problem(label, exc.field or "(file)", exc.detail, exc.line)]
    except (OSError, UnicodeDecodeError) as exc:
        return [schema.Problem(label, "(file)", f"cannot read: {exc}")]
    cache = store.state_dir(root) if root is not None else None
    if isinstance(data, dict):
        notes.extend(f"warning: {label}: {text}" for text in roles.warnings(data))
    return [schema.Problem(label, field_name, message)
            for field_name, message in configmod.problems(data, path.resolve().parent, cache)]


def _collect(report: ValidationReport, results: Iterable[Any], total: int,
             progress: Callable[[int, int], None] | None) -> ValidationReport:
    first_file: dict[str, str] = {}
    done = 0
    for batch in results:
        for label, case_id, problems in batch:
            report.checked += 1
            report.files.append(label)
            report.problems.extend(problems)
            if case_id is not None:
                if case_id in first_file:
                    report.problems.append(schema.Problem(
                        label, "id", f"case id {case_id} is also used by {first_file[case_id]}"))
                first_file.setdefault(case_id, label)
        done += len(batch)
        if progress:
            progress(done, total)
    return report


def _schema_dir_for(root: Path | None, targets: Sequence[Path]) -> Path | None:
    """The schemas a tree of files answers to: the repository's, else a
    schemas/ folder beside the nearest cases/ folder, else the package's."""
    if root is not None:
        return root / "schemas"
    for target in targets[:1]:
        for parent in target.resolve().parents:
            if (parent / "schemas" / "case.schema.json").is_file():
                return parent / "schemas"
    return None


def _label(path: Path, root: Path | None) -> str:
    if root is not None:
        try:
            return path.resolve().relative_to(root).as_posix()
        except ValueError:
            pass
    return path.as_posix()

"""Checking case files and casectl.yaml against the schemas and the rules:
what `casectl validate` and CI run."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from .. import config as configmod, roles, schema, store, yamlio
from ..errors import InvalidData, NotARepository, NotFound

@dataclass
class ValidationReport:
    checked: int = 0
    problems: list[schema.Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.problems

    @property
    def invalid_files(self) -> int:
        return len({problem.file for problem in self.problems})

    def to_dict(self) -> dict[str, Any]:
        return {"valid": self.valid, "checked": self.checked,
                "invalid_files": self.invalid_files,
                "problems": [problem.to_dict() for problem in self.problems],
                "warnings": list(self.warnings)}


PARALLEL_FROM = 2000  # below this, starting worker processes costs more than it saves
BATCH = 500


def validate(repo: str | None, paths: Sequence[str],
             progress: Callable[[int, int], None] | None = None) -> ValidationReport:
    """Check case files against the schema and the rules: header ==
    replay(log), file named by id, ids unique, closed cases solved, rejected
    ones reasoned. Without PATHs, the whole repository and its casectl.yaml.

    ``progress(done, total)`` is called as files are checked.
    """
    from concurrent.futures import ProcessPoolExecutor  # only validate pays for it

    root: Path | None
    try:
        root = store.find_root(repo)
    except NotARepository:
        if not paths:
            raise
        root = None
    report = ValidationReport()
    targets: list[Path] = []
    if not paths:
        assert root is not None
        targets = store.all_case_files(root)
        report.checked += 1
        report.problems.extend(_config_problems(root / configmod.CONFIG_FILE,
                                                configmod.CONFIG_FILE, root, report.warnings))
    for given in paths:
        path = Path(given)
        if path.is_file() and path.name == configmod.CONFIG_FILE:
            # The desk configuration, named on its own: check it as one, not
            # as a case file (which it would fail in every field).
            report.checked += 1
            report.problems.extend(_config_problems(path, _label(path, root), root,
                                                    report.warnings))
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
    return report


def _config_problems(path: Path, label: str, root: Path | None,
                     warnings: list[str]) -> list[schema.Problem]:
    """What is wrong with a casectl.yaml, each problem once prefixed
    (``casectl.yaml: field: message``), against the schemas beside it;
    what is allowed but unwise is added to ``warnings``."""
    try:
        data = yamlio.load(path.read_text(encoding="utf-8"), label)
    except InvalidData as exc:
        return [schema.Problem(label, exc.field or "(file)", exc.detail, exc.line)]
    except (OSError, UnicodeDecodeError) as exc:
        return [schema.Problem(label, "(file)", f"cannot read: {exc}")]
    cache = store.state_dir(root) if root is not None else None
    if isinstance(data, dict):
        warnings.extend(f"{label}: {text}" for text in roles.warnings(data))
    return [schema.Problem(label, field_name, message)
            for field_name, message in configmod.problems(data, path.resolve().parent, cache)]


def _collect(report: ValidationReport, results: Iterable[Any], total: int,
             progress: Callable[[int, int], None] | None) -> ValidationReport:
    first_file: dict[str, str] = {}
    done = 0
    for batch in results:
        for label, case_id, problems in batch:
            report.checked += 1
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

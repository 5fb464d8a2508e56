"""`casectl audit`: every commit of the history judged by the rules of
casectl/auditing.py, read from git in bulk (one rev-list, one diff-tree
--stdin, one cat-file --batch), and the results cached by commit id under
.git/casectl so a second run checks only what is new.

The same reading serves the server hook (app/hook.py) on a pushed range.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

from .. import attachments, auditing, journal, store, yamlio
from ..auditing import CaseChange, CommitFacts, FileChange, Finding
from ..config import CONFIG_FILE
from ..errors import InvalidData, NotFound
from .ci import PROVIDERS

SCHEMAS_DIR = "schemas"
# The desk's configuration besides casectl.yaml and schemas/: how case files
# merge (what `init` and `upgrade` write) and the CI files that check every
# push (`casectl ci`). The client lets only admins change them; so does audit.
DESK_FILES = (".gitattributes", *PROVIDERS.values())
WATCHED = (CONFIG_FILE, store.CASES_DIR, SCHEMAS_DIR, *DESK_FILES, attachments.ATTACHMENTS_DIR)
_DOC_CACHE = 4096  # parsed documents kept (a file's next commit starts from its last version)


@dataclass
class AuditReport:
    commits: int = 0  # walked
    checked: int = 0  # judged in this run (the rest came from the cache)
    findings: list[Finding] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not self.findings

    def to_dict(self) -> dict[str, Any]:
        return {"clean": self.clean, "commits": self.commits, "checked": self.checked,
                "cached": self.commits - self.checked,
                "findings": [finding.to_dict() for finding in self.findings]}


class History:
    """Reads the facts of commits for the audit: what each changed in
    casectl.yaml and the case files, the documents before and after, its
    author, trailers and signature."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.reader = journal.ObjectReader(root)
        self._docs: OrderedDict[str, tuple[Any, str | None]] = OrderedDict()

    def close(self) -> None:
        self.reader.close()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def document(self, oid: str | None, label: str) -> tuple[Any, str | None]:
        """(the parsed YAML of blob ``oid``, None) or (None, why not); an
        absent file is (None, None)."""
        if oid is None:
            return None, None
        found = self._docs.get(oid)
        if found is not None:
            self._docs.move_to_end(oid)
            return found
        read = self.reader.read(oid)
        if read is None or read[0] != "blob":
            found = (None, f"object {oid} is missing")
        else:
            try:
                found = (yamlio.load(read[1].decode("utf-8"), label), None)
            except UnicodeDecodeError:
                found = (None, "not UTF-8 text")
            except InvalidData as exc:
                found = (None, exc.message)
        self._docs[oid] = found
        if len(self._docs) > _DOC_CACHE:
            self._docs.popitem(last=False)
        return found

    def facts(self, commits: Sequence[tuple[str, tuple[str, ...]]]
              ) -> Iterator[tuple[CommitFacts | None, journal.RawCommit | None]]:
        """For each commit (in the order given): its facts, or None when it
        touched neither casectl.yaml nor a case file; and its commit object."""
        changes = journal.tree_changes(self.root, commits, WATCHED)
        relevant = [(sha, parents) for sha, parents in commits
                    if any(block for block in changes.get(sha, ()))]
        config_ids = journal.object_ids(self.root, [f"{parents[0]}:{CONFIG_FILE}"
                                                    for _, parents in relevant if parents])
        wanted = {sha for sha, _ in relevant}
        for sha, parents in commits:
            if sha not in wanted:
                yield None, None
                continue
            blocks = changes.get(sha) or [[]]
            read = self.reader.read(sha)
            if read is None or read[0] != "commit":
                raise NotFound(f"commit {sha} is missing from the repository",
                               "check the repository with 'git fsck'")
            raw = journal.parse_commit(read[1])
            yield self._facts(sha, parents, raw, blocks, config_ids), raw

    def _facts(self, sha: str, parents: tuple[str, ...], raw: journal.RawCommit,
               blocks: list[list[journal.Change]], config_ids: Mapping[str, str | None]
               ) -> CommitFacts:
        per_parent: list[dict[str, journal.Change]] = [
            {change.path: change for change in block} for block in blocks]
        while len(per_parent) < max(len(parents), 1):
            per_parent.append({})
        first = per_parent[0]
        # casectl.yaml before (the first parent's), after, and each parent's.
        before_id = (first[CONFIG_FILE].old if CONFIG_FILE in first
                     else config_ids.get(f"{parents[0]}:{CONFIG_FILE}") if parents else None)
        changed_config = next((block[CONFIG_FILE] for block in per_parent
                               if CONFIG_FILE in block), None)
        after_id = changed_config.new if changed_config is not None else before_id
        config_before, _ = self.document(before_id, CONFIG_FILE)
        config_after, unreadable = self.document(after_id, CONFIG_FILE)
        config_parents = tuple(
            self.document(block[CONFIG_FILE].old if CONFIG_FILE in block else after_id,
                          CONFIG_FILE)[0] for block in per_parent) if len(parents) > 1 else ()
        paths = sorted({path for block in per_parent for path in block
                        if auditing.is_case_path(path)})
        cases = []
        for path in paths:
            change = next(block[path] for block in per_parent if path in block)
            after, problem = self.document(change.new, path)
            versions = []
            for block in per_parent:
                oid = block[path].old if path in block else change.new
                doc, old_problem = self.document(oid, path)
                versions.append(doc)
            before = versions[0]
            cases.append(CaseChange(path, before if isinstance(before, Mapping) else None,
                                    after if isinstance(after, Mapping) else None,
                                    tuple(versions) if len(parents) > 1 else (),
                                    problem if problem else
                                    (None if after is None or isinstance(after, Mapping)
                                     else "not a mapping")))
        kept = self._attachments(sha, per_parent, cases if len(parents) == 1 else [])
        return CommitFacts(
            sha=sha, parents=parents, author_name=raw.author_name,
            author_email=raw.author_email, signed=raw.signed, trailers=raw.trailers,
            config_before=config_before if isinstance(config_before, Mapping) else None,
            config_after=config_after if isinstance(config_after, Mapping) else None,
            config_changed=changed_config is not None,
            config_unreadable=unreadable or (None if config_after is None
                                             or isinstance(config_after, Mapping)
                                             else "not a mapping"),
            config_parents=tuple(c if isinstance(c, Mapping) else None for c in config_parents),
            cases=tuple(cases),
            desk_files_changed=tuple(sorted(path for path in first
                                            if path.startswith(SCHEMAS_DIR + "/")
                                            or path in DESK_FILES)),
            attachments_changed=kept[0], listed_missing=kept[1])

    def _attachments(self, sha: str, per_parent: list[dict[str, journal.Change]],
                     cases: Sequence[CaseChange]
                     ) -> tuple[tuple[FileChange, ...], tuple[str, ...]]:
        """The files under attachments/ the commit touched (a new file's
        bytes read to hash them), and the sha256 of each file the events it
        added list that its tree lacks."""
        changes = []
        paths = sorted({path for block in per_parent for path in block
                        if attachments.is_attachment_path(path)})
        for path in paths:
            change = next(block[path] for block in per_parent if path in block)
            before = tuple(block[path].old if path in block else change.new
                           for block in per_parent)
            digest = size = None
            if change.new is not None and change.new not in before:
                read = self.reader.read(change.new)
                if read is not None and read[0] == "blob":
                    digest, size = hashlib.sha256(read[1]).hexdigest(), len(read[1])
            changes.append(FileChange(path, change.new, before, digest, size))
        present = {attachments.sha256_of_path(c.path) for c in changes if c.after is not None}
        missing = []
        for digest in auditing.listed_by_added_events(cases):
            if digest in present:
                continue
            found = self.reader.read(f"{sha}:{attachments.path_of(digest)}")
            if found is None or found[0] != "blob":
                missing.append(digest)
        return tuple(changes), tuple(missing)


PARALLEL_FROM = 4000  # commits; below this, worker processes cost more than they save
CHUNK = 2000


def _check_chunk(root: str, commits: list[tuple[str, tuple[str, ...]]]
                 ) -> dict[str, list[Finding]]:
    """A worker process's share: ``check`` on a run of commits."""
    return check(Path(root), commits)


def check_all(root: Path, commits: Sequence[tuple[str, tuple[str, ...]]]
              ) -> Iterator[dict[str, list[Finding]]]:
    """``check`` on many commits, in runs of CHUNK spread over the cores
    (parsing YAML is most of the work), yielding each run's results in
    order as they are done, so an interrupted first run keeps what it did."""
    chunks = [list(commits[i:i + CHUNK]) for i in range(0, len(commits), CHUNK)]
    workers = min(4, os.cpu_count() or 1)
    if len(commits) < PARALLEL_FROM or workers < 2:
        for chunk in chunks:
            yield check(root, chunk)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=workers,
                             mp_context=multiprocessing.get_context("fork")) as pool:
        yield from pool.map(_check_chunk, [str(root)] * len(chunks), chunks)


def check(root: Path, commits: Sequence[tuple[str, tuple[str, ...]]],
          each: Callable[[CommitFacts, journal.RawCommit], list[Finding]] | None = None,
          ) -> dict[str, list[Finding]]:
    """The findings of each of ``commits`` (every one gets an entry);
    ``each`` may add findings of its own (the hook's pusher rule)."""
    results: dict[str, list[Finding]] = {}
    with History(root) as history:
        for (sha, _), (facts, raw) in zip(commits, history.facts(commits)):
            if facts is None or raw is None:
                results[sha] = []
                continue
            found = auditing.check_commit(facts)
            if each is not None:
                found += each(facts, raw)
            results[sha] = found
    return results


# ---------------------------------------------------------------- the cache

class Cache:
    """Results by commit id, for the rules of auditing.RULES_VERSION: one
    line per commit, its id, a tab and its findings as JSON ([] when clean). A commit's result depends only on the commit and
    its parents, which never change, so a result once found stands."""

    def __init__(self, root: Path) -> None:
        directory = store.writable_state_dir(root)
        self.path = (directory / f"audit-{auditing.RULES_VERSION}.log") if directory else None
        self.results: dict[str, list[Finding]] = {}

    def load(self) -> Cache:
        if self.path is None or not self.path.exists():
            return self
        lines = 0
        with open(self.path, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                lines += 1
                if not line.endswith("\n"):
                    break  # a run killed while writing: the rest is checked again
                sha, _, found = line.rstrip("\n").partition("\t")
                try:
                    self.results[sha] = [Finding(sha, case, rule, message) for case, rule, message
                                         in json.loads(found)]
                except (ValueError, TypeError):
                    continue
        if lines > 2 * len(self.results) + 1000:  # --no-cache runs append again: compact
            self._rewrite()
        return self

    def _rewrite(self) -> None:
        assert self.path is not None
        temp = self.path.with_suffix(f".{os.getpid()}.tmp")
        try:
            temp.unlink(missing_ok=True)
            saved, self.path = self.path, temp
            self.add(dict(self.results))
            self.path = saved
            os.replace(temp, saved)
        except OSError:
            temp.unlink(missing_ok=True)

    def add(self, results: Mapping[str, list[Finding]]) -> None:
        self.results.update(results)
        if self.path is None or not results:
            return
        lines = []
        for sha, found in results.items():
            # "[]" written out for a clean commit too: a line cut short
            # anywhere (a full disk) no longer parses, and is checked again.
            lines.append(sha + "\t" + json.dumps([[f.case, f.rule, f.message] for f in found],
                                                 ensure_ascii=False))
        data = ("\n".join(lines) + "\n").encode("utf-8")
        try:
            # One write on an O_APPEND descriptor: two audits running at once
            # append whole runs, never lines torn into each other.
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                written = os.write(fd, data)
                if written != len(data):  # a full disk: what is torn is read as unknown
                    os.write(fd, b"\n")
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError:
            pass  # no cache is only slower


def audit(repo: str | None, since: str | None = None, use_cache: bool = True) -> AuditReport:
    """Judge every commit reachable from HEAD (or only those after
    ``since``): what `casectl audit` runs."""
    root = store.find_root(repo)
    report = AuditReport()
    if journal.head(root) is None:
        return report
    exclude = []
    if since:
        found = journal.rev_parse(root, since)
        if found is None:
            raise NotFound(f"--since {since}: no such commit in this repository",
                           "give a commit id, a branch or a tag ('git log --oneline' lists "
                           "commits)")
        exclude.append(found)
    commits = journal.walk(root, ["HEAD"], exclude)
    cache = Cache(root).load() if use_cache else Cache(root)
    todo = [(sha, parents) for sha, parents in commits if sha not in cache.results]
    for results in check_all(root, todo):
        cache.add(results)
    report.commits = len(commits)
    report.checked = len(todo)
    for sha, _ in commits:
        report.findings.extend(cache.results.get(sha, ()))
    return report

"""`casectl sync`: fetch, merge with casectl's driver, push; again when
another clone pushed first; offline, say so and keep everything.

The merge is git's own (`git merge`, with casectl's merge driver given on
its command line), so the user's index, hooks, signing and every safety
git has hold as for a hand `git pull`. Before merging, case ids minted by
both sides for different cases are found and the local, unpushed case is
renumbered in a commit of its own: two different cases never end up merged
into one file (design.md: "A collision found when syncing must never merge
two different cases into one file").

Nothing is ever forced: a push the remote refuses because it moved on is
followed by another fetch and merge, a few times with a growing pause, and
then a refusal that says to try again; local commits stay where they are.
"""

from __future__ import annotations

import random
import shlex
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import ids, index, journal, model, protection, roles, store, transaction, yamlio
from ..errors import InvalidData, NotFound, Offline, OperationFailed, RuleViolation
from .session import Session

ATTEMPTS = 5  # fetch-merge-push rounds before giving up on a busy remote
BACKOFF = 0.1  # seconds before the second round, doubled for each further one
RENUMBER = "renumber"
RENUMBERED_FROM = "Renumbered-From"


@dataclass
class SyncReport:
    """What one sync did."""

    remote: str
    branch: str
    remote_branch: str
    received: int = 0  # commits merged in from the remote
    sent: int = 0  # commits the push gave the remote
    merged: bool = False  # a merge commit was made (both sides had new commits)
    attempts: int = 0
    renumbered: list[tuple[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"remote": self.remote, "branch": self.branch,
                "remote_branch": self.remote_branch, "received": self.received,
                "sent": self.sent, "merged": self.merged, "attempts": self.attempts,
                "renumbered": [{"from": old, "to": new} for old, new in self.renumbered]}


def sync(session: Session, remote: str | None = None) -> SyncReport:
    """Bring this clone and its remote to the same history: fetch, renumber
    colliding local cases, merge, push; again when the push is beaten.

    Raises Offline (exit 5) when the remote cannot be reached,
    RuleViolation (exit 1) when the two sides cannot be merged by rule (the
    merge undone) or the repository is not at rest, OperationFailed (exit
    1) when git or the remote refuses otherwise; NotFound (exit 3) for an
    unknown ``remote``."""
    root = session.root
    _require_at_rest(root)
    branch = journal.branch(root)
    assert branch is not None  # _require_at_rest
    remote, remote_branch = choose_remote(root, branch, remote)
    report = SyncReport(remote, branch, remote_branch)
    tracking = f"refs/remotes/{remote}/{remote_branch}"
    for attempt in range(ATTEMPTS):
        report.attempts = attempt + 1
        try:
            there = journal.fetch(root, remote, remote_branch, tracking)
        except journal.Unreachable as exc:
            raise _offline(root, remote, tracking, exc.reason) from None
        if not there and attempt == 0:
            _require_empty_remote(root, remote, branch, remote_branch)
        if there:
            with store.locked(root):
                transaction.recover(root)
                _require_at_rest(root)
                report.renumbered += _renumber_collisions(session, tracking)
                _merge(session, remote, remote_branch, tracking, report)
        local = journal.head(root)
        if local is None or (there and journal.is_ancestor(root, local, tracking)):
            _refresh_index(root)
            return report  # the remote has everything this clone has
        ahead = journal.count_commits(root, tracking if there else None, local)
        _require_valid(root, tracking if there else None, remote, remote_branch)
        try:
            pushed = journal.push(root, remote, local, remote_branch)
        except journal.Unreachable as exc:
            raise _offline(root, remote, tracking, exc.reason) from None
        if pushed:
            report.sent += ahead
            # The tracking ref now names what the remote has, so the next
            # sync counts from there (a push moves it only when the remote's
            # fetch refspec maps this branch, which a plain `remote add` does).
            journal.git(root, "update-ref", tracking, local)
            _refresh_index(root)
            return report
        if attempt + 1 < ATTEMPTS:
            pause = BACKOFF * 2 ** attempt * (1 + random.random())
            journal.notice(f"{remote} moved on while syncing (another clone pushed first); "
                           f"merging again in {pause:.1f} s")
            time.sleep(pause)
    raise OperationFailed(
        f"the remote {remote} kept moving: {ATTEMPTS} pushes in a row were refused because "
        "other clones pushed first; everything merged so far is committed here, nothing was "
        "lost", "run 'casectl sync' again in a moment")


def choose_remote(root: Path, branch: str, wanted: str | None) -> tuple[str, str]:
    """The remote to sync with and its branch: ``wanted``, else the branch's
    upstream, else origin; the upstream's branch name, else the same name."""
    names = journal.remote_names(root)
    if not names:
        raise OperationFailed(
            "this clone has no remote to sync with",
            "add the desk's shared repository: git remote add origin URL (then 'casectl "
            "sync')")
    upstream_remote, upstream_branch = journal.upstream(root, branch)
    if upstream_remote not in names:  # none, or "." (a branch tracking a local one)
        upstream_remote = upstream_branch = None
    name = wanted or upstream_remote or "origin"
    if name not in names:
        if wanted:
            raise NotFound(f"no remote named {wanted!r} in this clone",
                           "its remotes: " + ", ".join(names) + " ('git remote -v' shows "
                           "where they point)")
        raise OperationFailed(
            "this branch tracks no remote and there is no remote named origin",
            "name one: casectl sync --remote NAME (remotes here: " + ", ".join(names) + ")")
    remote_branch = upstream_branch if upstream_branch and name == upstream_remote else branch
    return name, remote_branch


def _require_empty_remote(root: Path, remote: str, branch: str, remote_branch: str) -> None:
    """The remote has no ``remote_branch``: sync pushes it there only when
    the remote has no branch at all (the desk's first push). A remote with
    other branches is another project's repository, or this is a side
    branch: pushing would put the desk, or this branch, where nobody syncs
    with it while the technician believes they synced."""
    try:
        others = journal.remote_branches(root, remote)
    except journal.Unreachable as exc:
        raise _offline(root, remote, f"refs/remotes/{remote}/{remote_branch}",
                       exc.reason) from None
    if not others:
        return
    shown = ", ".join(sorted(others)[:5]) + (", ..." if len(others) > 5 else "")
    raise RuleViolation(
        "sync-remote", f"the remote {remote} has no branch {remote_branch} (it has: {shown}), "
        "so it is not where this branch is shared; nothing was synced",
        f"to sync with the desk's branch, get on it (e.g. git switch {sorted(others)[0]}) or "
        f"point this branch at it (git branch -u {remote}/BRANCH); if {remote} is the wrong "
        f"repository, check 'git remote -v'; to publish {branch} there as a new branch: "
        f"git push -u {remote} {branch}")


def _require_valid(root: Path, since: str | None, remote: str, remote_branch: str) -> None:
    """What this sync would push must be valid case files (and casectl.yaml):
    a hand commit (a text merge's conflict markers taken as they were, say)
    would otherwise reach every clone with the next sync. Only the files
    changed since ``since`` (what the remote has) are read."""
    from .validation import validate  # the one validator; loaded only when pushing

    found = validate(str(root), [], changed_since=since).problems
    if not found:
        return
    first = found[0]
    more = f" (and {len(found) - 1} more problem(s))" if len(found) > 1 else ""
    since_arg = f" --changed-since {remote}/{remote_branch}" if since else ""
    raise InvalidData(
        first.file, f"{first.field}: {first.message}{more}; this is in the commits sync would "
        f"push to {remote}, so nothing was pushed (your commits stay here)", line=first.line,
        hint=f"'casectl validate{since_arg}' lists the problems; fix the files (a text merge's "
        "conflict markers: keep the events of both sides once), commit, and run 'casectl "
        "sync' again")


def _require_at_rest(root: Path) -> None:
    """The states an action refuses (an operation under way, a detached
    HEAD), and unresolved conflicts left by anything else."""
    journal.require_on_branch(root)
    unmerged = journal.unmerged_paths(root)
    if unmerged:
        raise RuleViolation(
            "repository-state", f"{', '.join(unmerged[:5])} "
            f"{'has' if len(unmerged) == 1 else 'have'} unresolved conflicts; nothing was synced",
            "resolve them (keep the events of both sides), 'git add' them and commit, then "
            "run 'casectl sync' again")


def _offline(root: Path, remote: str, tracking: str, reason: str) -> Offline:
    local = journal.head(root)
    known = journal.run(root, "rev-parse", "--verify", "--quiet", tracking,
                        check=False).returncode == 0
    waiting = journal.count_commits(root, tracking if known else None, local) \
        if local else 0
    return Offline(
        f"cannot reach the remote {remote} ({reason}); nothing was lost: "
        f"{waiting} local commit{'s' if waiting != 1 else ''} wait here for the next sync",
        "keep working; run 'casectl sync' again when the remote can be reached")


def _refresh_index(root: Path) -> None:
    """The query index follows HEAD by itself; brought up to date now, the
    next command does not pay for what the merge changed."""
    try:
        index.refresh(root).close()
    except Exception:  # noqa: BLE001 - derived data: the next command rebuilds it
        pass


# ---------------------------------------------------------------- merging

def driver_command() -> str:
    """The merge driver as git runs it: this very casectl, so a sync works
    whether or not a `casectl` is on PATH, and always the same version."""
    return f"{shlex.quote(sys.executable)} -m casectl merge-driver %O %A %B %P"


def _merge(session: Session, remote: str, remote_branch: str, tracking: str,
           report: SyncReport) -> None:
    root = session.root
    before = journal.head(root)
    if before is None or journal.is_ancestor(root, tracking, before):
        return  # nothing new there
    incoming = journal.count_commits(root, before, tracking)
    outcome = journal.merge(root, tracking, driver_command(), _merge_env(session))
    if outcome.ok:
        report.received += incoming
        after = journal.head(root)
        report.merged = report.merged or (after is not None and not journal.is_ancestor(
            root, before, tracking))
        return
    if not outcome.in_progress:
        raise OperationFailed(
            f"git could not merge {remote}/{remote_branch}: {_said(outcome.said)}",
            "nothing was merged; 'git status' shows the files in the way: commit or discard "
            "your own changes to them, then run 'casectl sync' again")
    if not outcome.unmerged:
        # Every file merged, but git could not make the merge commit (its
        # signing failed, a pre-merge-commit or commit-msg hook refused).
        journal.merge_abort(root)
        raise OperationFailed(
            f"git merged {remote}/{remote_branch} without conflicts but could not commit the "
            f"merge: {_said(outcome.said)}. The merge was undone: this clone is as it was "
            "before the sync, and nothing was pushed",
            "if your git signs commits (commit.gpgsign), check that 'git commit -S' works "
            "here (gpg.format, user.signingkey) or stop signing with 'git config "
            "commit.gpgsign false'; a pre-merge-commit or commit-msg hook of yours may have "
            "refused it; then run 'casectl sync' again")
    reasons = _conflict_reasons(outcome.unmerged, outcome.said)
    journal.merge_abort(root)
    listed = "; ".join(f"{path}: {why}" for path, why in reasons.items())
    raise RuleViolation(
        "sync-merge", f"the changes from {remote}/{remote_branch} cannot be merged "
        f"automatically: {listed}. The merge was undone: this clone is as it was before the "
        "sync, and nothing was pushed",
        f"look at both sides ('git log -p HEAD...{remote}/{remote_branch} -- FILE'); to settle "
        f"it by hand: git merge {remote}/{remote_branch}, resolve, 'casectl validate', commit, "
        "then 'casectl sync'")


def _merge_env(session: Session) -> dict[str, str]:
    """Who makes the merge commit: the person's git identity; with none
    set, the acting agent, so a machine with no identity syncs all the
    same (as casectl's own commits do)."""
    user = session.user()
    name, email = user.name, user.email
    stamp = journal.git_date(session.now())
    env = {"GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp}
    if not (name and email):
        _, author = session.actor()
        env.update(GIT_AUTHOR_NAME=name or author.name, GIT_AUTHOR_EMAIL=email or author.email,
                   GIT_COMMITTER_NAME=name or author.name,
                   GIT_COMMITTER_EMAIL=email or author.email)
    return env


def _said(text: str) -> str:
    lines = [line.removeprefix("fatal: ").removeprefix("error: ").strip()
             for line in text.splitlines() if line.strip()]
    return " ".join(lines[:6]) or "no message"


def _conflict_reasons(paths: list[str], said: str) -> dict[str, str]:
    """Why each file did not merge: the driver's own words for case files
    and casectl.yaml, git's CONFLICT line for anything else."""
    reasons: dict[str, str] = {}
    lines = said.splitlines()
    for path in paths:
        why = None
        for line in lines:
            if f"{path}: cannot merge the two versions: " in line:
                why = line.split(f"{path}: cannot merge the two versions: ", 1)[1].strip()
                break
        if why is None:
            for line in lines:
                if line.startswith("CONFLICT") and path in line:
                    why = line.strip()
                    break
        reasons[path] = why or "git could not merge it"
    return reasons


# ---------------------------------------------------------------- id collisions

@dataclass(frozen=True)
class Collision:
    path: str
    case_id: str


def find_collisions(root: Path, tracking: str) -> list[Collision]:
    """Case files both sides added since they parted, under the same path
    (the same id), holding different cases (different created events)."""
    local = journal.head(root)
    if local is None:
        return []
    base = journal.merge_base(root, local, tracking)
    if base is None:
        raise OperationFailed(
            f"{tracking.removeprefix('refs/remotes/')} shares no history with this clone; "
            "nothing was synced", "check that the remote is this desk's repository "
            "('git remote -v')")
    ours = journal.added_paths(root, base, local, store.CASES_DIR)
    if not ours:
        return []
    theirs = set(journal.added_paths(root, base, tracking, store.CASES_DIR))
    both = [path for path in ours if path in theirs and path.endswith(".yaml")]
    if not both:
        return []
    mine = dict(journal.read_blobs(root, local, both))
    other = dict(journal.read_blobs(root, tracking, both))
    found = []
    for path in both:
        if mine.get(path) == other.get(path):
            continue
        a, b = _created(mine.get(path), path), _created(other.get(path), path)
        if a is None or b is None or a != b:
            found.append(Collision(path, Path(path).stem))
    return found


def _created(blob: bytes | None, path: str) -> dict[str, Any] | None:
    if blob is None:
        return None
    try:
        doc = yamlio.load(blob.decode("utf-8"), path)
    except (InvalidData, UnicodeDecodeError):
        return None
    log = doc.get("log") if isinstance(doc, dict) else None
    if not isinstance(log, list):
        return None
    return next((e for e in log if isinstance(e, dict) and e.get("kind") == "created"), None)


def _renumber_collisions(session: Session, tracking: str) -> list[tuple[str, str]]:
    done = []
    for collision in find_collisions(session.root, tracking):
        new_id = renumber(session, collision, tracking)
        journal.notice(f"case {collision.case_id} is now {new_id} (another clone had given "
                       f"{collision.case_id} to a different case)")
        done.append((collision.case_id, new_id))
    return done


def renumber(session: Session, collision: Collision, tracking: str) -> str:
    """Move the local case to a fresh id in a commit of its own: the file
    moves to the new id's path, the header's id changes, the log stays
    byte for byte as it was (no event names its case). The caller holds
    the repository lock."""
    root = session.root
    old_id, old_rel = collision.case_id, collision.path
    base = journal.merge_base(root, "HEAD", tracking)
    added = journal.adding_commit(root, base, old_rel) if base else None
    pushed = journal.remote_refs_containing(root, added) if added else []
    if added is None or pushed:
        raise RuleViolation(
            "renumber-unpushed", f"case id {old_id} names two different cases, here and on "
            f"{tracking.removeprefix('refs/remotes/')}, and this clone's has already been "
            f"pushed ({', '.join(pushed) or 'it is not a commit of this clone'}); only an "
            "unpushed case is renumbered, so nothing was synced",
            f"renumbering a pushed case breaks references others hold: settle which case "
            f"keeps {old_id} with the desk, move the other by hand, then sync")
    path = root / old_rel
    doc = yamlio.read_mapping(path, old_rel)
    log = doc["log"]
    agent, _ = session.actor()
    header = {key: doc.get(key) for key in model.HEADER_KEYS}
    refusal = roles.case_refusal(session.config.data, agent, RENUMBER, header)
    if refusal:
        raise RuleViolation(
            "role", f"case {old_id} must get a new id before syncing (another clone gave "
            f"{old_id} to a different case), but {refusal}",
            "sync as an agent who may act on the case (--as AGENT)")
    moment = ids.case_id_time(old_id)
    theirs = set(journal.files_at(root, tracking, str(Path(old_rel).parent)))
    for _ in range(100):
        # The same creation second: the same place in id order and the same shard.
        new_id = ids.new_case_id(moment)
        new_rel = store.case_relpath(new_id)
        if new_id != old_id and not (root / new_rel).exists() and new_rel not in theirs:
            break
    else:  # pragma: no cover - 2**20 random tails
        raise RuleViolation("unique-case-id", "could not find a free case id", "try again")
    renumbered = model.with_header(new_id, log)
    old_text = path.read_text(encoding="utf-8")
    at = old_text.find("\nlog:")
    if at >= 0 and list(renumbered)[-1] == "log":
        # The log's lines as they were, byte for byte, under the new header.
        del renumbered["log"]
        text = yamlio.dump(renumbered) + old_text[at + 1:]
    else:
        text = yamlio.dump(renumbered)
    message = journal.message(
        # A protected person's case: no subject, as for every action on it
        # (actions._commit_message).
        f"{new_id} {RENUMBER}: "
        f"{protection.MARK if protection.is_protected(doc) else doc.get('subject')}",
        [("Case", new_id), ("Action", RENUMBER), ("Agent", agent),
         (RENUMBERED_FROM, old_id)],
        f"Case {old_id} was renumbered {new_id}: another clone had given {old_id} to a "
        "different case.")
    session.commit_files({new_rel: text, old_rel: None}, message)
    return new_id

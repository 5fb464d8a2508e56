"""Trying to break the git layer (journal.py, transaction.py) from the
command line: git's own environment variables (hooks, aliases, rebase
--exec), hand git commands racing actions in one clone, repositories in the
middle of a merge or detached, locks left behind, linked worktrees and .git
files, second clones and merges, and the branch moving under an action."""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml
from helpers import (act, act_process, case_file, commits, fsck_problems, git, head, load_case,
                     new_case, run, run_process, snapshot)

import casectl.journal

HAND = ("-c", "user.name=Hand Technician", "-c", "user.email=hand@helse.example.no")
CASECTL = f"{shlex.quote(sys.executable)} -m casectl"


def hand_git(repo: Path, *args: str, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    """A technician's own git command, with an identity."""
    return subprocess.run(["git", *HAND, *args], cwd=repo, capture_output=True, text=True,
                          check=check, **kwargs)


def other_repository(where: Path) -> Path:
    """A plain git repository with one hand commit (a file staged on top)."""
    where.mkdir()
    git(where, "init", "--quiet", "--initial-branch=main")
    (where / "notes.txt").write_text("not a desk\n")
    git(where, "add", "notes.txt")
    hand_git(where, "commit", "--quiet", "-m", "notes")
    (where / "staged.txt").write_text("staged by hand\n")
    git(where, "add", "staged.txt")
    return where


def repository_state(repo: Path) -> tuple:
    """Everything a stray casectl could have changed in ``repo``'s git
    directory: refs, HEAD, the index's bytes, the set of objects."""
    dot_git = repo / ".git"
    objects = sorted(str(p.relative_to(dot_git)) for p in (dot_git / "objects").rglob("*")
                     if p.is_file())
    refs = git(repo, "for-each-ref", "--format=%(refname) %(objectname)")
    return ((dot_git / "HEAD").read_text(), refs, (dot_git / "index").read_bytes(), objects)


def head_files(repo: Path, rev: str = "HEAD") -> set[str]:
    return set(git(repo, "ls-tree", "-r", "--name-only", rev).split("\n")) - {""}


def assert_desk_whole(repo: Path, case_ids: list[str]) -> None:
    """HEAD keeps the configuration, the schemas and every case; the work
    tree is clean, nothing is staged, git finds nothing wrong."""
    files = head_files(repo)
    assert "casectl.yaml" in files and ".gitattributes" in files
    assert any(path.startswith("schemas/") for path in files)
    for case_id in case_ids:
        assert case_file(repo, case_id).relative_to(repo).as_posix() in files
    assert git(repo, "status", "--porcelain") == ""
    assert fsck_problems(repo) == []
    validated = run_process("--repo", str(repo), "validate")
    assert validated.returncode == 0, validated.stdout + validated.stderr


def texts(repo: Path, case_id: str) -> list[str]:
    return [e["data"].get("text") for e in load_case(repo, case_id)["log"] if e["kind"] == "worklog"]


# ---------------------------------------------------------------- 1. git's environment

@pytest.mark.parametrize("variable", ["GIT_INDEX_FILE", "GIT_DIR", "GIT_WORK_TREE",
                                      "GIT_OBJECT_DIRECTORY", "GIT_NAMESPACE"])
def test_git_variables_pointing_elsewhere_are_ignored(desk, tmp_path, variable):
    """casectl run with one of git's repository variables naming another
    repository, index, work tree or object store still acts on the desk,
    and leaves the other one alone."""
    other = other_repository(tmp_path / "other")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    value = {"GIT_INDEX_FILE": str(tmp_path / "other-index"), "GIT_DIR": str(other / ".git"),
             "GIT_WORK_TREE": str(elsewhere),
             "GIT_OBJECT_DIRECTORY": str(other / ".git" / "objects"),
             "GIT_NAMESPACE": "elsewhere"}[variable]
    first = new_case(desk, subject="Skriver på 3. etasje")
    before_other = repository_state(other)
    before = head(desk)

    made = act_process(desk, "new", "--subject", "VPN faller ut", env={variable: value})
    assert made.returncode == 0, made.stderr
    second = made.stdout.strip()
    logged = act_process(desk, "log", first, "Sjekket kø", env={variable: value})
    assert logged.returncode == 0, logged.stderr

    assert [c["trailers"].get("Action") for c in commits(desk, f"{before}..HEAD")] == \
        ["log", "new"]
    assert texts(desk, first) == ["Sjekket kø"]
    assert_desk_whole(desk, [first, second])
    assert git(desk, "diff", "--cached", "--name-only") == ""
    assert repository_state(other) == before_other
    assert not (tmp_path / "other-index").exists()
    assert list(elsewhere.iterdir()) == []


@pytest.mark.parametrize("hook", ["pre-commit", "post-commit"])
def test_casectl_in_a_hook_of_another_repository(desk, tmp_path, hook):
    """A hook of another repository runs casectl on the desk: git hands a
    pre-commit hook GIT_INDEX_FILE naming its own index.lock, and a commit
    made with --git-dir/--work-tree hands every hook GIT_DIR and
    GIT_WORK_TREE."""
    case_id = new_case(desk)
    other = other_repository(tmp_path / "other")
    script = other / ".git" / "hooks" / hook
    script.write_text(f"#!/bin/sh\nexec {CASECTL} --repo {shlex.quote(str(desk))} --as kari "
                      f"log {case_id} 'Fra en krok' >{shlex.quote(str(tmp_path / 'hook.out'))} "
                      f"2>&1\n")
    script.chmod(0o755)
    before = head(desk)
    (other / "notes.txt").write_text("changed by hand\n")
    where = ["--git-dir", str(other / ".git"), "--work-tree", str(other)] \
        if hook == "post-commit" else []
    (other / "sub").mkdir()
    done = hand_git(other / "sub", *where, "commit", "--quiet", "-a", "-m", "more", check=False)
    assert done.returncode == 0, done.stderr + (tmp_path / "hook.out").read_text()
    assert (tmp_path / "hook.out").read_text().strip() == case_id
    made = commits(desk, f"{before}..HEAD")
    assert len(made) == 1 and made[0]["trailers"] == {"Case": case_id, "Action": "log",
                                                       "Agent": "kari"}
    assert made[0]["author"] == "Kari Nordmann"
    assert texts(desk, case_id) == ["Fra en krok"]
    assert_desk_whole(desk, [case_id])
    # The other repository's commit holds its own files only.
    assert head_files(other) == {"notes.txt", "staged.txt"}
    assert git(other, "status", "--porcelain") == ""


def test_casectl_from_a_git_alias_of_another_repository(desk, tmp_path):
    case_id = new_case(desk)
    other = other_repository(tmp_path / "other")
    before_other = repository_state(other)
    before = head(desk)
    alias = (f"!{CASECTL} --repo {shlex.quote(str(desk))} --as kari log {case_id} "
             "'Fra et alias'")
    done = subprocess.run(["git", f"--git-dir={other / '.git'}", f"--work-tree={other}",
                           "-c", f"alias.cl={alias}", "cl"], cwd=other / ".git",
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    made = commits(desk, f"{before}..HEAD")
    assert len(made) == 1 and made[0]["trailers"]["Case"] == case_id
    assert texts(desk, case_id) == ["Fra et alias"]
    assert_desk_whole(desk, [case_id])
    assert repository_state(other) == before_other


def test_casectl_from_rebase_exec_of_another_repository(desk, tmp_path):
    case_id = new_case(desk)
    other = other_repository(tmp_path / "other")
    hand_git(other, "commit", "--quiet", "-m", "staged")
    before = head(desk)
    command = (f"{CASECTL} --repo {shlex.quote(str(desk))} --as kari log {case_id} "
               "'Fra rebase --exec'")
    # Started with --git-dir/--work-tree, as scripts do: git exports both.
    hand_git(other, "--git-dir", str(other / ".git"), "--work-tree", str(other), "rebase",
             "--quiet", "--exec", command, "HEAD~1")
    made = commits(desk, f"{before}..HEAD")
    assert len(made) == 1 and made[0]["trailers"]["Case"] == case_id
    assert texts(desk, case_id) == ["Fra rebase --exec"]
    assert_desk_whole(desk, [case_id])
    assert head_files(other) == {"notes.txt", "staged.txt"}
    assert git(other, "status", "--porcelain") == ""


# ---------------------------------------------------------------- 3. repository states

def test_a_detached_head_refuses_actions_and_answers_reads(desk):
    case_id = new_case(desk)
    git(desk, "checkout", "--quiet", "--detach")
    before = snapshot(desk)
    for args in (["log", case_id, "Ikke nå"], ["new", "--subject", "Ny sak"],
                 ["priority", case_id, "high", "--reason", "Mange rammet"]):
        result = act_process(desk, *args)
        assert result.returncode == 1, result.stdout + result.stderr
        assert "detached" in result.stderr and "git switch" in result.stderr
        assert "Traceback" not in result.stderr
    assert snapshot(desk) == before
    listed = act_process(desk, "list", "--all")
    assert listed.returncode == 0 and case_id in listed.stdout, listed.stderr
    shown = act_process(desk, "show", case_id)
    assert shown.returncode == 0 and "DIPS starter ikke" in shown.stdout, shown.stderr


def without_merge_driver(desk: Path) -> None:
    """As a clone where no casectl command has run yet (git clone does not
    copy .git/config): git merges case files as text, and two clones that
    both added an event conflict (tests/test_merge_driver.py has the
    driver that merges them)."""
    git(desk, "config", "--remove-section", "merge.casectl")


def diverge(desk: Path, case_id: str) -> None:
    """Branch 'other' and main both add an event to the case, merged by git
    alone (a conflict)."""
    git(desk, "branch", "other")
    assert act(desk, "log", case_id, "På main").exit_code == 0
    git(desk, "switch", "--quiet", "other")
    assert act(desk, "log", case_id, "På other").exit_code == 0
    git(desk, "switch", "--quiet", "main")
    without_merge_driver(desk)  # after the last casectl command, which registers it


OPERATIONS = {
    "merge": (["merge", "other"], "a merge", "git merge --abort"),
    "rebase": (["rebase", "main", "other"], "a rebase", "git rebase --abort"),
    "cherry-pick": (["cherry-pick", "other"], "a cherry-pick", "git cherry-pick --abort"),
}


@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_an_operation_stopped_on_a_conflicted_case(desk, operation):
    """A merge, rebase or cherry-pick stopped on a conflict in a case file:
    actions refuse naming the operation and how to abandon it; list and
    search still answer, with a warning naming the operation and the case;
    show of the conflicted case says so plainly."""
    case_id = new_case(desk)
    quiet = new_case(desk, subject="Skriver på 3. etasje")
    diverge(desk, case_id)
    args, name, abort = OPERATIONS[operation]
    stopped = hand_git(desk, *args, check=False)
    assert stopped.returncode != 0, stopped.stdout
    rel = case_file(desk, case_id).relative_to(desk).as_posix()
    assert rel in git(desk, "diff", "--name-only", "--diff-filter=U")
    before = snapshot(desk)

    for args in (["log", quiet, "Ikke nå"], ["log", case_id, "Ikke nå"],
                 ["new", "--subject", "Ny sak"]):
        result = act_process(desk, *args)
        assert result.returncode == 1, result.stdout + result.stderr
        assert name in result.stderr and abort in result.stderr, result.stderr
        assert "Traceback" not in result.stderr
    assert snapshot(desk) == before

    listed = act_process(desk, "list", "--all")
    assert listed.returncode == 0, listed.stderr
    assert quiet in listed.stdout
    assert name in listed.stderr and rel in listed.stderr, listed.stderr
    searched = act_process(desk, "search", "Skriver")
    assert searched.returncode == 0, searched.stderr
    assert quiet in searched.stdout
    assert name in searched.stderr and rel in searched.stderr, searched.stderr

    shown = act_process(desk, "show", case_id)
    assert shown.returncode == 1, shown.stdout + shown.stderr
    assert "conflict" in shown.stderr and rel in shown.stderr, shown.stderr
    assert "Traceback" not in shown.stderr and "<<<<<<<" not in shown.stderr
    assert "line" not in shown.stderr.split("hint:")[0], shown.stderr  # no YAML parse error
    other = act_process(desk, "show", quiet)
    assert other.returncode == 0, other.stderr
    assert snapshot(desk) == before


# ---------------------------------------------------------------- 4. locks left behind

@pytest.mark.parametrize("lock", ["index.lock", "refs/heads/main.lock"])
def test_a_lock_left_by_a_crashed_git_waits_then_gives_up(desk, monkeypatch, lock):
    case_id = new_case(desk)
    before = snapshot(desk)
    monkeypatch.setattr(casectl.journal, "LOCK_WAIT", 1.6)
    path = desk / ".git" / lock
    path.write_text("")
    started = time.monotonic()
    result = act(desk, "log", case_id, "Aldri")
    waited = time.monotonic() - started
    assert result.exit_code == 1, result.output
    assert 1.5 < waited < 8
    assert "waiting for" in result.stderr and str(path) in result.stderr
    assert f"rm {path}" in result.stderr and "Traceback" not in result.stderr
    assert path.exists()  # a lock of git's that casectl cannot know is dead stays
    path.unlink()
    assert snapshot(desk) == before
    assert not (desk / ".git" / "index.lock").exists()
    assert act(desk, "log", case_id, "Nå").exit_code == 0


def test_an_index_lock_left_by_a_killed_casectl_is_removed(desk):
    case_id = new_case(desk)
    lock = desk / ".git" / "index.lock"
    lock.write_bytes(casectl.journal._LOCK_MARK + b"999999\n")
    started = time.monotonic()
    result = act_process(desk, "log", case_id, "Etter et krasj")
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < casectl.journal.NOTICE_AFTER + 1
    assert "waiting" not in result.stderr
    assert texts(desk, case_id) == ["Etter et krasj"]
    assert_desk_whole(desk, [case_id])
    assert not lock.exists()


def test_an_action_waits_for_a_hand_git_commit_holding_the_index(desk, tmp_path):
    """A real `git commit -a` holds index.lock while its editor runs (1.5 s):
    the action waits, says so, and then commits on top of it."""
    case_id = new_case(desk)
    (desk / "other.txt").write_text("1\n")
    git(desk, "add", "other.txt")
    hand_git(desk, "commit", "--quiet", "-m", "other")
    (desk / "other.txt").write_text("2\n")
    editor = "f() { sleep 1.5; echo 'Hand commit' > \"$1\"; }; f"
    lock = desk / ".git" / "index.lock"
    hand = subprocess.Popen(["git", *HAND, "commit", "--quiet", "-a"], cwd=desk,
                            env={**os.environ, "GIT_EDITOR": editor},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 5
    while not lock.exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert lock.exists()
    result = act_process(desk, "log", case_id, "Etter hånden")
    assert hand.wait(timeout=10) == 0, hand.stderr.read()
    assert result.returncode == 0, result.stderr
    assert "waiting for" in result.stderr and "index.lock" in result.stderr
    made = commits(desk, "-2")
    assert [c["subject"] for c in made][1] == "Hand commit"
    assert made[0]["trailers"]["Case"] == case_id
    assert git(desk, "diff-tree", "--no-commit-id", "--name-only", "-r", made[1]["sha"]) == \
        "other.txt\n"
    assert texts(desk, case_id) == ["Etter hånden"]
    assert_desk_whole(desk, [case_id])


# ---------------------------------------------------------------- 7. the compare-and-swap

def move_once(monkeypatch, desk: Path, *commands: list[str]) -> list[bool]:
    """Run ``commands`` (git, by hand) once, the first time casectl builds
    a tree: between its reading HEAD and its update-ref."""
    done = [False]
    real = casectl.journal._make_tree

    def meddling(*args, **kwargs):
        if not done[0]:
            done[0] = True
            for command in commands:
                hand_git(desk, *command)
        return real(*args, **kwargs)

    monkeypatch.setattr(casectl.journal, "_make_tree", meddling)
    return done


@pytest.mark.parametrize("move", ["forward", "back"])
def test_the_branch_moved_but_the_case_file_did_not(desk, monkeypatch, move):
    case_id = new_case(desk)
    other = new_case(desk, subject="Skriver på 3. etasje")  # HEAD touched only this one
    if move == "forward":
        # `git commit --allow-empty` would wait for the index.lock casectl
        # holds; a script's commit-tree and update-ref do not.
        tip = head(desk)
        empty = hand_git(desk, "commit-tree", f"{tip}^{{tree}}", "-p", tip, "-m",
                         "Tom hånd").stdout.strip()
        moved = move_once(monkeypatch, desk, ["update-ref", "HEAD", empty, tip])
        expected_parent = empty
    else:
        moved = move_once(monkeypatch, desk, ["reset", "--soft", "HEAD~1"])
        expected_parent = head(desk) + "~1"
        expected_parent = git(desk, "rev-parse", expected_parent).strip()
    result = act(desk, "log", case_id, "Gjennom flyttingen")
    assert moved[0]
    assert result.exit_code == 0, result.output
    made = commits(desk, "-1")[0]
    assert made["parents"] == [expected_parent]
    assert made["trailers"]["Case"] == case_id
    assert texts(desk, case_id) == ["Gjennom flyttingen"]
    changed = git(desk, "diff-tree", "--no-commit-id", "--name-only", "-r", "HEAD")
    assert changed == case_file(desk, case_id).relative_to(desk).as_posix() + "\n"
    assert fsck_problems(desk) == []
    if move == "forward":
        assert git(desk, "status", "--porcelain") == ""
    else:
        # The reset took the other case's commit off the branch; its file stays
        # in the work tree and the index, as a soft reset leaves it.
        rel = case_file(desk, other).relative_to(desk).as_posix()
        assert git(desk, "status", "--porcelain") == f"A  {rel}\n"


def test_the_branch_moved_and_changed_the_case_file(desk, monkeypatch):
    case_id = new_case(desk)
    assert act(desk, "log", case_id, "Første").exit_code == 0
    rel = case_file(desk, case_id).relative_to(desk).as_posix()
    first_state = case_file(desk, case_id).read_bytes()
    tip = head(desk)
    moved = move_once(monkeypatch, desk, ["reset", "--soft", "HEAD~1"])
    result = act(desk, "log", case_id, "Andre")
    assert moved[0]
    assert result.exit_code == 1, result.output
    assert "the branch moved" in result.stderr and rel in result.stderr
    assert "Traceback" not in result.output
    assert head(desk) == git(desk, "rev-parse", f"{tip}~1").strip()
    # The file is put back as it was before the action, nothing is lost.
    assert case_file(desk, case_id).read_bytes() == first_state
    assert not (desk / ".git" / "index.lock").exists()
    assert not (desk / ".git" / "casectl" / "pending.json").exists()
    assert git(desk, "diff", "--cached", "--name-only") == rel + "\n"


# ---------------------------------------------------------------- 2. the race

def hand_side(desk: Path, name: str, mode: str, attempts: int = 400) -> None:
    """A technician committing ``name`` (an other*.txt) by hand while
    casectl acts: a command that finds index.lock held, or HEAD moved under
    its commit, is simply run again, as a person would."""
    path = desk / name
    if mode == "commit-a":
        path.write_text(path.read_text() + "en linje til\n")
    else:
        path.write_text(f"{name}\n")
    for _ in range(attempts):
        if mode == "commit-a":
            steps = [["commit", "--quiet", "-a", "-m", f"Hånd: {name}"]]
        else:
            steps = [["add", "-A" if mode == "add-A" else name],
                     ["commit", "--quiet", "-m", f"Hånd: {name}"]]
        for step in steps:
            done = hand_git(desk, *step, check=False)
            if done.returncode != 0:
                break
        # Done once HEAD holds the file as written (another technician's
        # commit may have taken it along).
        shown = subprocess.run(["git", "show", f"HEAD:{name}"], cwd=desk, capture_output=True,
                               text=True)
        if shown.returncode == 0 and shown.stdout == path.read_text():
            return
        time.sleep(0.02)
    raise AssertionError(f"{name} never got committed by hand")


def race(desk: Path, case_id: str, rounds: int, modes: list[str], width: int = 20
         ) -> list[str]:
    """``width`` `casectl log` processes and ``width`` hand committers at
    once, ``rounds`` times; gives the texts logged."""
    logged: list[str] = []
    for round_ in range(rounds):
        barrier = threading.Barrier(2 * width)
        failures: list[str] = []

        def casectl_side(i: int) -> None:
            text = f"Runde {round_} logg {i}"
            barrier.wait()
            result = act_process(desk, "log", case_id, text, timeout=120)
            if result.returncode != 0:
                failures.append(result.stderr)
            else:
                logged.append(text)

        def hand(i: int) -> None:
            mode = modes[i % len(modes)]
            name = f"other{i}.txt" if mode == "commit-a" else f"other{round_}_{i}.txt"
            barrier.wait()
            try:
                hand_side(desk, name, mode)
            except AssertionError as exc:
                failures.append(str(exc))

        threads = [threading.Thread(target=casectl_side, args=(i,)) for i in range(width)]
        threads += [threading.Thread(target=hand, args=(i,)) for i in range(width)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not any(thread.is_alive() for thread in threads)
        assert failures == []
    return logged


def assert_race_left_everything_in_place(desk: Path, case_id: str, start: str,
                                         logged: list[str]) -> None:
    rel = case_file(desk, case_id).relative_to(desk).as_posix()
    # Every event once, in the file and on HEAD.
    in_file = texts(desk, case_id)
    assert sorted(in_file) == sorted(logged) and len(set(in_file)) == len(in_file)
    committed = yaml.safe_load(git(desk, "show", f"HEAD:{rel}"))
    assert committed == load_case(desk, case_id)
    # Every casectl commit: its trailers, its agent, its case file alone, one
    # event more than its parent had and none of those changed.
    made = commits(desk, f"{start}..HEAD")
    ours = [c for c in made if c["trailers"]]
    assert len(ours) == len(logged)
    assert git(desk, "rev-list", "--merges", f"{start}..HEAD") == ""
    for commit in ours:
        assert commit["trailers"] == {"Case": case_id, "Action": "log", "Agent": "kari"}
        assert commit["author"] == "Kari Nordmann"
        changed = git(desk, "diff-tree", "--no-commit-id", "--name-only", "-r", commit["sha"])
        assert changed == rel + "\n", commit
        after = yaml.safe_load(git(desk, "show", f"{commit['sha']}:{rel}"))["log"]
        before = yaml.safe_load(git(desk, "show", f"{commit['sha']}~1:{rel}"))["log"]
        assert after[:-1] == before and after[-1]["kind"] == "worklog"
    assert [c["sha"] for c in ours] == \
        git(desk, "log", "--format=%H", f"{start}..HEAD", "--", rel).split()
    # Hand commits hold hand files only.
    for commit in made:
        if not commit["trailers"]:
            changed = git(desk, "diff-tree", "--no-commit-id", "--name-only", "-r",
                          commit["sha"]).split()
            assert changed and all(p.startswith("other") and p.endswith(".txt")
                                   for p in changed), commit
    # git's own `git commit` reads the index before it takes index.lock, so
    # racing hand commands can lose one another's `git add` (with or without
    # casectl; a hand commit may then delete a hand file): once quiet, the
    # technician adds what git dropped. casectl's files are never among them.
    assert all(line[3:].startswith("other") for line in
               git(desk, "status", "--porcelain", "--untracked-files=all").splitlines())
    git(desk, "add", "-A", "--", "other*.txt")
    if git(desk, "diff", "--cached", "--name-only"):
        hand_git(desk, "commit", "--quiet", "-m", "Hånd: det git mistet")
    assert git(desk, "status", "--porcelain", "--untracked-files=all") == ""
    assert git(desk, "diff", "--cached", "--name-only") == ""
    assert not (desk / ".git" / "index.lock").exists()
    assert_desk_whole(desk, [case_id])


def test_casectl_and_hand_commits_race_in_one_clone(desk):
    """"20 `casectl log` and 20 `git add other.txt && git commit` at the
    same time in one clone, repeated"."""
    case_id = new_case(desk)
    start = head(desk)
    started = time.monotonic()
    logged = race(desk, case_id, rounds=3, modes=["add"])
    assert_race_left_everything_in_place(desk, case_id, start, logged)
    assert time.monotonic() - started < 60


def test_casectl_races_git_add_all_and_commit_all(desk):
    case_id = new_case(desk)
    for i in range(20):
        (desk / f"other{i}.txt").write_text("første linje\n")
    git(desk, "add", "--", *[f"other{i}.txt" for i in range(20)])
    hand_git(desk, "commit", "--quiet", "-m", "Hånd: other*.txt")
    start = head(desk)
    logged = race(desk, case_id, rounds=2, modes=["add-A", "commit-a"])
    assert_race_left_everything_in_place(desk, case_id, start, logged)


# ---------------------------------------------------------------- 5. worktrees and .git files

def test_a_linked_worktree_commits_to_its_own_branch(desk, tmp_path):
    case_id = new_case(desk)
    main_before = head(desk)
    worktree = tmp_path / "side"
    git(desk, "worktree", "add", "--quiet", "-b", "side", str(worktree))
    made = act_process(worktree, "new", "--subject", "Fra sidegrenen")
    assert made.returncode == 0, made.stderr
    new_id = made.stdout.strip()
    logged = act_process(worktree, "log", case_id, "På sidegrenen")
    assert logged.returncode == 0, logged.stderr
    listed = act_process(worktree, "list", "--all")
    assert listed.returncode == 0 and new_id in listed.stdout and case_id in listed.stdout
    assert head(desk) == main_before
    assert git(desk, "rev-parse", "side").strip() == head(worktree)
    assert [c["trailers"]["Action"] for c in commits(worktree, f"{main_before}..side")] == \
        ["log", "new"]
    assert texts(worktree, case_id) == ["På sidegrenen"] and texts(desk, case_id) == []
    assert git(desk, "status", "--porcelain") == "" and git(worktree, "status", "--porcelain") == ""
    assert_desk_whole(worktree, [case_id, new_id])


def test_a_repository_whose_git_directory_is_elsewhere(tmp_path):
    root = tmp_path / "desk"
    root.mkdir()
    git(root, "init", "--quiet", "--initial-branch=main", "--separate-git-dir",
        str(tmp_path / "desk.git"))
    assert (root / ".git").is_file()
    initialised = run("init", str(root), "--desk", "Separat")
    assert initialised.exit_code == 0, initialised.output
    made = run_process("--repo", str(root), "new", "--subject", "Egen git-mappe")
    assert made.returncode == 0, made.stderr
    case_id = made.stdout.strip()
    logged = run_process("--repo", str(root), "log", case_id, "Logget")
    assert logged.returncode == 0, logged.stderr
    listed = run_process("--repo", str(root), "list")
    assert listed.returncode == 0 and case_id in listed.stdout, listed.stderr
    assert texts(root, case_id) == ["Logget"]
    assert (root / ".git").is_file() and not (root / ".git" / "casectl").exists()
    assert_desk_whole(root, [case_id])


# ---------------------------------------------------------------- 6. a second clone

def test_act_in_a_clone_and_pull_back(desk, tmp_path):
    case_id = new_case(desk)
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(desk), str(clone)], check=True)
    assert subprocess.run(["git", "config", "--get", "core.splitIndex"], cwd=clone,
                          capture_output=True).returncode == 1  # a plain clone: not configured
    logged = act_process(clone, "log", case_id, "Fra klonen")
    assert logged.returncode == 0, logged.stderr
    made = act_process(clone, "new", "--subject", "Ny i klonen")
    assert made.returncode == 0, made.stderr
    assert git(clone, "status", "--porcelain") == ""
    hand_git(desk, "pull", "--quiet", "--ff-only", str(clone), "main")
    assert texts(desk, case_id) == ["Fra klonen"]
    assert_desk_whole(desk, [case_id, made.stdout.strip()])
    listed = act_process(desk, "list", "--all")
    assert made.stdout.strip() in listed.stdout


def merge_outcome(desk: Path, tmp_path: Path, case_id: str, name: str) -> tuple:
    """Two clones each log to the case; the second pulls the first."""
    first, second = tmp_path / f"{name}-1", tmp_path / f"{name}-2"
    for clone in (first, second):
        subprocess.run(["git", "clone", "--quiet", str(desk), str(clone)], check=True)
    if name == "plain":
        # No attribute at all for case files: the highest-precedence file says so.
        (second / ".git" / "info").mkdir(exist_ok=True)
        (second / ".git" / "info" / "attributes").write_text("cases/**/*.yaml !merge\n")
    assert act_process(first, "log", case_id, "Fra første klone").returncode == 0
    assert act_process(second, "log", case_id, "Fra andre klone").returncode == 0
    if name == "attribute":  # as before any casectl command registered the driver
        without_merge_driver(second)
    merged = hand_git(second, "pull", "--no-rebase", "--no-edit", str(first), "main",
                      check=False)
    rel = case_file(second, case_id).relative_to(second).as_posix()
    content = (second / rel).read_text()
    # Event ids and times differ between the two runs; compare the shape.
    shape = [line[:7] if line.startswith(("<<<<<<<", "=======", ">>>>>>>")) else line
             for line in content.splitlines()
             if line.startswith(("<<<<<<<", "=======", ">>>>>>>")) or "text:" in line]
    return merged.returncode, git(second, "diff", "--name-only", "--diff-filter=U"), shape


def test_the_undefined_merge_driver_falls_back_to_git_text_merge(desk, tmp_path):
    assert (desk / ".gitattributes").read_text().splitlines()[0] == "cases/**/*.yaml merge=casectl"
    without_merge_driver(desk)
    assert subprocess.run(["git", "config", "--get-regexp", r"^merge\.casectl\."], cwd=desk,
                          capture_output=True).returncode == 1  # the driver is not defined
    case_id = new_case(desk)
    with_attribute = merge_outcome(desk, tmp_path, case_id, "attribute")
    without = merge_outcome(desk, tmp_path, case_id, "plain")
    assert with_attribute[0] != 0 and with_attribute[1]  # a conflict either way ...
    assert with_attribute == without  # ... and the very same one


# ---------------------------------------------------------------- a hand commit at every stage

STAGES = ["intent-written", "file-written", "commit-written", "index-updated"]


@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("hand", ["add-and-commit", "commit-all"])
def test_a_hand_commit_at_each_stage_of_an_action(desk, monkeypatch, stage, hand):
    """The race made deterministic: a technician's commit runs at each stage
    of casectl's action (in-process, at its crash points). Before the
    rewrite, casectl staged the case file in git's shared index before its
    own commit, so a hand commit there swept the event in under the
    technician's name. Now the hand commit either fails as git does when
    another git process holds the index, or commits only what the
    technician staged; the event lands once, in casectl's own commit."""
    case_id = new_case(desk)
    rel = case_file(desk, case_id).relative_to(desk).as_posix()
    (desk / "other.txt").write_text("mine\n", encoding="utf-8")
    hand_git(desk, "add", "other.txt")
    tried: list[subprocess.CompletedProcess] = []

    def hand_commit(name: str) -> None:
        if name == stage and not tried:
            args = ["commit", "-q", "-m", "hand"] if hand == "add-and-commit" else \
                ["commit", "-q", "-a", "-m", "hand"]
            tried.append(hand_git(desk, *args, check=False))
    monkeypatch.setattr("casectl.transaction.crash_point", hand_commit)
    before = head(desk)
    result = act(desk, "log", case_id, "Ringte brukaren")
    assert result.exit_code == 0, result.output
    assert tried, "the stage was reached"
    if tried[0].returncode != 0:  # git's own refusal while casectl holds the index
        assert "index.lock" in tried[0].stderr
    # Whatever happened, the technician commits what they meant (again if it failed).
    if git(desk, "diff", "--cached", "--name-only").strip():
        hand_git(desk, "commit", "-q", "-m", "hand, again")
    log = commits(desk, f"{before}..HEAD")
    mine = [c for c in log if c["trailers"].get("Case") == case_id]
    theirs = [c for c in log if c["author"] == "Hand Technician"]
    assert len(mine) == 1 and mine[0]["author"] == "Kari Nordmann"
    assert git(desk, "show", "--name-only", "--format=", mine[0]["sha"]).split() == [rel]
    assert len(theirs) == 1
    assert git(desk, "show", "--name-only", "--format=", theirs[0]["sha"]).split() == \
        ["other.txt"]
    assert texts(desk, case_id) == ["Ringte brukaren"]
    assert git(desk, "show", f"HEAD:{rel}") == case_file(desk, case_id).read_text("utf-8")
    assert_desk_whole(desk, [case_id])


def test_a_case_left_conflicted_by_stash_pop_is_named_as_such(desk):
    """Unmerged without any operation in progress: `git stash pop` can do it
    (in a clone without the merge driver, which would merge the events)."""
    case_id = new_case(desk)
    path = case_file(desk, case_id)
    original = path.read_text(encoding="utf-8")
    path.write_text(original.replace("updated: '", "updated: '1", 1), encoding="utf-8")
    hand_git(desk, "stash", "-q")
    assert act(desk, "log", case_id, "Ringte").exit_code == 0
    without_merge_driver(desk)
    popped = hand_git(desk, "stash", "pop", check=False)
    assert popped.returncode != 0 and "CONFLICT" in popped.stdout + popped.stderr
    for args in (("show", case_id), ("log", case_id, "Igjen")):
        result = act(desk, *args)
        assert result.exit_code == 1, result.output
        assert "unresolved merge conflicts" in result.stderr
        assert f"git add {path.relative_to(desk).as_posix()}" in result.stderr
    listed = act(desk, "list", "--json")
    assert listed.exit_code == 0 and case_id in listed.stdout

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

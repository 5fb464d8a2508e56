"""Unit tests of the git layer, casectl/journal.py, against real temporary
git repositories made with `git init` and hand git commands (not through
casectl's command line)."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from casectl import journal
from casectl.errors import OperationFailed, RuleViolation

AUTHOR = journal.Author("Kari Nordmann", "kari@helse.example.no")
WHEN = datetime(2026, 11, 3, 9, 30, tzinfo=ZoneInfo("Europe/Oslo"))


def g(repo: Path, *args: str, check: bool = True) -> str:
    """A hand git command, as a technician types it."""
    done = subprocess.run(["git", "-c", "user.name=x", "-c", "user.email=y@example.no", *args],
                          cwd=repo, capture_output=True, text=True)
    if check and done.returncode != 0:
        raise AssertionError(f"git {' '.join(args)}: {done.stderr}")
    return done.stdout


def write(repo: Path, path: str, text: str) -> None:
    file = repo / path
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text(text, encoding="utf-8")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    g(root, "init", "-q", "-b", "main")
    return root


@pytest.fixture
def committed(repo: Path) -> Path:
    """A repository with one hand commit: a config file and two case files."""
    write(repo, "casectl.yaml", "desk: {name: Test}\n")
    write(repo, "cases/2026/10/A.yaml", "id: A\n")
    write(repo, "cases/2026/10/B.yaml", "id: B\n")
    g(repo, "add", "-A")
    g(repo, "commit", "-q", "-m", "first")
    return repo


def casectl_commit(root: Path, paths: list[str], subject: str = "X1 new: test",
                   when: datetime = WHEN) -> str:
    """What an action does: read the base, commit the paths under the lock."""
    base = journal.read_base(root, paths)
    text = journal.message(subject, [("Case", "X1"), ("Action", "new"), ("Agent", "kari")])
    with journal.IndexLock(root) as lock:
        return journal.commit(root, base, paths, text, AUTHOR, when, lock)


def write_tree_of_copy(root: Path, tmp_path: Path) -> str:
    """The tree `git add -A && git write-tree` makes of the same work tree."""
    scratch = tmp_path / "scratch"
    shutil.rmtree(scratch, ignore_errors=True)
    shutil.copytree(root, scratch, symlinks=True)
    g(scratch, "add", "-A")
    return g(scratch, "write-tree").strip()


def tree_of(root: Path, rev: str = "HEAD") -> str:
    return g(root, "rev-parse", f"{rev}^{{tree}}").strip()


# ---------------------------------------------------------------- environment

REPOSITORY_VARIABLES = ("GIT_DIR", "GIT_INDEX_FILE", "GIT_WORK_TREE", "GIT_OBJECT_DIRECTORY",
                        "GIT_NAMESPACE", "GIT_CONFIG_PARAMETERS",
                        "GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_COMMON_DIR", "GIT_PREFIX")
KEPT_VARIABLES = ("GIT_CONFIG_GLOBAL", "GIT_CONFIG_NOSYSTEM", "GIT_SSH_COMMAND", "GIT_TRACE",
                  "GIT_TRACE_PACKET", "GIT_CONFIG_COUNT", "GIT_CONFIG_KEY_0",
                  "GIT_CONFIG_VALUE_0", "GIT_ASKPASS")


def test_clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in REPOSITORY_VARIABLES + KEPT_VARIABLES:
        monkeypatch.setenv(name, f"value of {name}")
    monkeypatch.setenv("LANG_TEST_OTHER", "kept")
    env = journal.clean_environment({"GIT_INDEX_FILE": "/tmp/next", "EXTRA": "1"})
    for name in REPOSITORY_VARIABLES:
        if name != "GIT_INDEX_FILE":
            assert name not in env
    for name in KEPT_VARIABLES:
        assert env[name] == f"value of {name}"
    assert env["LANG_TEST_OTHER"] == "kept"
    assert env["GIT_INDEX_FILE"] == "/tmp/next" and env["EXTRA"] == "1"  # extra wins
    assert env["GIT_TERMINAL_PROMPT"] == "0"


def test_git_acts_on_root_whatever_git_variables_say(committed: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "other"
    other.mkdir()
    g(other, "init", "-q", "-b", "main")
    monkeypatch.setenv("GIT_DIR", str(other / ".git"))
    monkeypatch.setenv("GIT_WORK_TREE", str(other))
    monkeypatch.setenv("GIT_INDEX_FILE", str(other / ".git" / "index"))
    assert Path(journal.git(committed, "rev-parse", "--show-toplevel").strip()) == committed
    assert journal.git(committed, "ls-files").split() == [
        "casectl.yaml", "cases/2026/10/A.yaml", "cases/2026/10/B.yaml"]


# ---------------------------------------------------------------- messages

def test_message() -> None:
    trailers = [("Case", "X1"), ("Action", "close"), ("Agent", "kari")]
    assert journal.message("  X1 close: DIPS \n", trailers) == \
        "X1 close: DIPS\n\nCase: X1\nAction: close\nAgent: kari\n"
    assert journal.message("X1 log: DIPS", trailers, body="\n called back \n") == \
        "X1 log: DIPS\n\ncalled back\n\nCase: X1\nAction: close\nAgent: kari\n"
    assert journal.message("X1 log: DIPS", trailers, body="  ") == \
        journal.message("X1 log: DIPS", trailers)


def test_parse_trailers_reads_what_message_writes() -> None:
    text = journal.message("X1 log: DIPS", [("Case", "X1"), ("Action", "log"),
                                            ("Agent", "kari")], body="a\n---\nb")
    assert journal.parse_trailers(text) == {"Case": ["X1"], "Action": ["log"],
                                            "Agent": ["kari"]}


def test_parse_trailers_past_a_dashes_line() -> None:
    text = "X1 log: x\n\nlogged:\n---\nfoo: bar\n---\n\nCase: X1\nAction: log\n"
    assert journal.parse_trailers(text) == {"Case": ["X1"], "Action": ["log"]}


def test_parse_trailers_values_with_colons_and_repeats() -> None:
    text = "s\n\nCase: X1\nNote: at 09:30: called\nNote: twice\n"
    assert journal.parse_trailers(text) == {"Case": ["X1"], "Note": ["at 09:30: called",
                                                                      "twice"]}


@pytest.mark.parametrize("text", [
    "",
    "Fix the config\n",
    "Fix the config\n\nsome words about it\n",
    "Fix the config\n\nCase: X1\nnot a trailer line\n",
    "Fix the config\n\nCase: X1\n\nmore text after\n",
    "Fix: typo in the config\n",  # a subject is never a trailer, as git reads them
    "Fix: typo\nCase: X1\n",
])
def test_parse_trailers_without_trailers(text: str) -> None:
    assert journal.parse_trailers(text) == {}


# ---------------------------------------------------------------- dates

@pytest.mark.parametrize("when,expected", [
    (datetime(1990, 1, 1, tzinfo=timezone.utc), "@631152000 +0000"),
    (datetime(2026, 1, 15, 12, 0, tzinfo=ZoneInfo("Europe/Oslo")), "@1768474800 +0100"),
    (datetime(2026, 7, 15, 12, 0, tzinfo=ZoneInfo("Europe/Oslo")), "@1784109600 +0200"),
    (datetime(2026, 7, 15, 12, 0, tzinfo=timezone(timedelta(hours=2))), "@1784109600 +0200"),
    (datetime(2150, 6, 1, tzinfo=timezone.utc), "@5693328000 +0000"),
    (datetime(2999, 12, 31, 23, 59, 59, tzinfo=timezone.utc), "@32503679999 +0000"),
    (datetime(2026, 3, 1, 8, 0, tzinfo=timezone(-timedelta(hours=5))), "@1772370000 -0500"),
    (datetime(2026, 3, 1, 8, 0, tzinfo=timezone(-timedelta(hours=3, minutes=30))),
     "@1772364600 -0330"),
    (datetime(2026, 3, 1, 8, 0, tzinfo=timezone(timedelta(hours=5, minutes=45))),
     "@1772331300 +0545"),
])
def test_git_date(when: datetime, expected: str) -> None:
    assert journal.git_date(when) == expected
    assert int(expected[1:].split()[0]) == int(when.timestamp())


@pytest.mark.parametrize("when", [
    datetime(1990, 1, 1, tzinfo=timezone.utc),
    datetime(2026, 1, 15, 12, 0, tzinfo=ZoneInfo("Europe/Oslo")),
    datetime(2026, 7, 15, 12, 0, tzinfo=ZoneInfo("Europe/Oslo")),
    datetime(2150, 6, 1, 10, 0, tzinfo=timezone(timedelta(hours=1))),
    datetime(2999, 12, 31, 23, 59, 59, tzinfo=timezone(-timedelta(hours=3, minutes=30))),
])
def test_git_records_the_date_given(committed: Path, when: datetime) -> None:
    write(committed, "cases/2026/11/X1.yaml", "id: X1\n")
    sha = casectl_commit(committed, ["cases/2026/11/X1.yaml"], when=when)
    raw = g(committed, "log", "-1", "--format=%ad%n%cd", "--date=raw", sha).split("\n")[:2]
    assert raw == [journal.git_date(when)[1:]] * 2


# ---------------------------------------------------------------- commits

def test_commit_a_nested_new_file(committed: Path, tmp_path: Path) -> None:
    first = journal.head(committed)
    path = "cases/2026/11/X1.yaml"
    write(committed, path, "id: X1\n")
    base = journal.read_base(committed, [path])
    assert base.commit == first and base.contents == {} and base.blob(path) is None
    assert set(base.listings) == {"", "cases", "cases/2026"}  # cases/2026/11 is not there yet
    sha = casectl_commit(committed, [path])
    assert journal.head(committed) == sha == g(committed, "rev-parse", "HEAD").strip()
    assert g(committed, "rev-parse", f"{sha}^").strip() == first
    assert g(committed, "show", f"{sha}:{path}") == "id: X1\n"
    assert g(committed, "ls-tree", "-r", "--name-only", sha).split() == [
        "casectl.yaml", "cases/2026/10/A.yaml", "cases/2026/10/B.yaml", "cases/2026/11/X1.yaml"]
    assert tree_of(committed) == write_tree_of_copy(committed, tmp_path)
    info = g(committed, "log", "-1", "--format=%an <%ae>|%cn <%ce>|%s|%(trailers:key=Case)")
    assert info.strip() == f"{AUTHOR}|{AUTHOR}|X1 new: test|Case: X1"
    assert g(committed, "status", "--porcelain") == ""  # the index knows the new file


def test_read_base_of_an_existing_file(committed: Path) -> None:
    base = journal.read_base(committed, ["cases/2026/10/A.yaml"])
    assert base.contents == {"cases/2026/10/A.yaml": b"id: A\n"}
    assert base.blob("cases/2026/10/A.yaml") == g(committed, "rev-parse",
                                                  "HEAD:cases/2026/10/A.yaml").strip()
    assert set(base.listings["cases/2026/10"]) == {"A.yaml", "B.yaml"}


def test_modify_keeps_the_mode(committed: Path, tmp_path: Path) -> None:
    write(committed, "tools/hook.sh", "#!/bin/sh\n")
    (committed / "tools/hook.sh").chmod(0o755)
    g(committed, "add", "-A")
    g(committed, "commit", "-q", "-m", "hook")
    write(committed, "tools/hook.sh", "#!/bin/sh\nexit 0\n")
    casectl_commit(committed, ["tools/hook.sh"])
    assert g(committed, "ls-tree", "HEAD", "tools/hook.sh").split()[0] == "100755"
    assert tree_of(committed) == write_tree_of_copy(committed, tmp_path)


def test_delete_a_file_and_its_emptied_directories(committed: Path, tmp_path: Path) -> None:
    path = "cases/2026/11/X1.yaml"
    write(committed, path, "id: X1\n")
    casectl_commit(committed, [path])
    (committed / path).unlink()
    (committed / path).parent.rmdir()
    casectl_commit(committed, [path], subject="X1 delete: test")
    assert g(committed, "ls-tree", "--name-only", "HEAD", "cases/2026/").split() == [
        "cases/2026/10"]
    assert tree_of(committed) == write_tree_of_copy(committed, tmp_path)
    # deleting both files of cases/2026/10 empties cases/ altogether
    for name in ("A", "B"):
        (committed / f"cases/2026/10/{name}.yaml").unlink()
    casectl_commit(committed, ["cases/2026/10/A.yaml", "cases/2026/10/B.yaml"])
    assert g(committed, "ls-tree", "--name-only", "HEAD").split() == ["casectl.yaml"]
    assert tree_of(committed) == write_tree_of_copy(committed, tmp_path)
    assert g(committed, "status", "--porcelain") == ""


def test_first_commit_without_head(repo: Path, tmp_path: Path) -> None:
    assert journal.head(repo) is None
    paths = ["casectl.yaml", "cases/2026/11/X1.yaml", "schemas/case.schema.json"]
    for path in paths:
        write(repo, path, f"{path}\n")
    base = journal.read_base(repo, paths)
    assert base.commit is None and base.listings == {} and base.contents == {}
    sha = casectl_commit(repo, paths)
    assert journal.head(repo) == sha
    assert g(repo, "rev-list", "--parents", "-1", sha).split() == [sha]  # no parent
    assert journal.branch(repo) == "main"
    assert tree_of(repo) == write_tree_of_copy(repo, tmp_path)
    assert g(repo, "status", "--porcelain") == ""


def test_several_paths_in_different_directories(committed: Path, tmp_path: Path) -> None:
    write(committed, "cases/2026/10/A.yaml", "id: A\nstatus: closed\n")
    write(committed, "cases/2026/11/C.yaml", "id: C\n")
    write(committed, "cases/2027/01/D.yaml", "id: D\n")
    write(committed, "casectl.yaml", "desk: {name: Other}\n")
    (committed / "cases/2026/10/B.yaml").unlink()
    paths = ["cases/2026/10/A.yaml", "cases/2026/11/C.yaml", "cases/2027/01/D.yaml",
             "casectl.yaml", "cases/2026/10/B.yaml"]
    sha = casectl_commit(committed, paths)
    assert tree_of(committed) == write_tree_of_copy(committed, tmp_path)
    changed = journal.changed_paths(committed, f"{sha}^", sha, ".")
    assert sorted(changed) == [("A", "cases/2026/11/C.yaml"), ("A", "cases/2027/01/D.yaml"),
                               ("D", "cases/2026/10/B.yaml"), ("M", "casectl.yaml"),
                               ("M", "cases/2026/10/A.yaml")]
    assert g(committed, "status", "--porcelain") == ""


def test_commit_takes_only_the_named_paths(committed: Path) -> None:
    write(committed, "cases/2026/11/X1.yaml", "id: X1\n")
    write(committed, "cases/2026/10/A.yaml", "id: A\nedited by hand\n")
    casectl_commit(committed, ["cases/2026/11/X1.yaml"])
    assert g(committed, "show", "HEAD:cases/2026/10/A.yaml") == "id: A\n"
    assert g(committed, "status", "--porcelain").splitlines() == [" M cases/2026/10/A.yaml"]


# ---------------------------------------------------------------- head and branch

def test_head_before_the_first_commit(repo: Path) -> None:
    assert journal.head(repo) is None
    assert journal.branch(repo) == "main"


def test_head_loose_and_packed(committed: Path) -> None:
    expected = g(committed, "rev-parse", "HEAD").strip()
    assert (committed / ".git/refs/heads/main").is_file()
    assert journal.head(committed) == expected
    g(committed, "pack-refs", "--all")
    assert not (committed / ".git/refs/heads/main").exists()
    assert journal.head(committed) == expected
    # and a commit on a packed branch moves it
    write(committed, "cases/2026/11/X1.yaml", "id: X1\n")
    sha = casectl_commit(committed, ["cases/2026/11/X1.yaml"])
    assert journal.head(committed) == sha == g(committed, "rev-parse", "main").strip()


def test_head_and_branch_detached(committed: Path) -> None:
    expected = g(committed, "rev-parse", "HEAD").strip()
    g(committed, "checkout", "-q", "--detach")
    assert journal.head(committed) == expected
    assert journal.branch(committed) is None
    with pytest.raises(RuleViolation, match="detached") as caught:
        journal.require_on_branch(committed)
    assert caught.value.rule == "repository-state"


def test_branch_unborn(repo: Path) -> None:
    g(repo, "symbolic-ref", "HEAD", "refs/heads/desk")
    assert journal.branch(repo) == "desk"
    assert journal.head(repo) is None
    journal.require_on_branch(repo)  # an unborn branch is a branch


# ---------------------------------------------------------------- repository state

@pytest.mark.parametrize("marker,name,directory", [
    ("MERGE_HEAD", "a merge", False),
    ("rebase-merge", "a rebase", True),
    ("rebase-apply", "a rebase", True),
    ("CHERRY_PICK_HEAD", "a cherry-pick", False),
    ("REVERT_HEAD", "a revert", False),
    ("BISECT_LOG", "a bisect", False),
])
def test_operation_in_progress(committed: Path, marker: str, name: str, directory: bool) -> None:
    assert journal.operation_in_progress(committed) is None
    journal.require_on_branch(committed)
    target = committed / ".git" / marker
    if directory:
        target.mkdir()
    else:
        target.write_text(g(committed, "rev-parse", "HEAD"))
    operation = journal.operation_in_progress(committed)
    assert operation is not None and operation.name == name
    with pytest.raises(RuleViolation) as caught:
        journal.require_on_branch(committed)
    assert caught.value.rule == "repository-state" and name in caught.value.message


def test_git_am_in_progress(committed: Path) -> None:
    (committed / ".git/rebase-apply").mkdir()
    (committed / ".git/rebase-apply/applying").write_text("")
    operation = journal.operation_in_progress(committed)
    assert operation is not None and operation.name == "a 'git am'"


def test_real_bisect_is_seen(committed: Path) -> None:
    g(committed, "bisect", "start")
    operation = journal.operation_in_progress(committed)
    assert operation is not None and operation.name == "a bisect"


def conflicted(repo: Path) -> None:
    """A real merge stopped on conflicts in A.yaml and casectl.yaml."""
    g(repo, "checkout", "-q", "-b", "other")
    write(repo, "cases/2026/10/A.yaml", "id: A\nother\n")
    write(repo, "casectl.yaml", "other\n")
    g(repo, "commit", "-q", "-am", "other")
    g(repo, "checkout", "-q", "main")
    write(repo, "cases/2026/10/A.yaml", "id: A\nmain\n")
    write(repo, "casectl.yaml", "main\n")
    g(repo, "commit", "-q", "-am", "main")
    g(repo, "merge", "-q", "other", check=False)


def test_unmerged_paths_in_a_real_conflicted_merge(committed: Path) -> None:
    assert journal.unmerged_paths(committed) == []
    conflicted(committed)
    operation = journal.operation_in_progress(committed)
    assert operation is not None and operation.name == "a merge"
    assert journal.unmerged_paths(committed) == ["casectl.yaml", "cases/2026/10/A.yaml"]
    assert journal.unmerged_paths(committed, "cases") == ["cases/2026/10/A.yaml"]
    g(committed, "add", "-A")
    assert journal.unmerged_paths(committed) == []


# ---------------------------------------------------------------- history

def test_file_history(committed: Path) -> None:
    assert journal.file_history(committed, "cases/2026/11/X1.yaml") == []
    path = "cases/2026/11/X1.yaml"
    shas = []
    for n, text in enumerate(["id: X1\n", "id: X1\nstatus: started\n"]):
        write(committed, path, text)
        shas.append(casectl_commit(committed, [path], subject=f"X1 step{n}: test",
                                   when=WHEN + timedelta(minutes=n)))
        write(committed, "cases/2026/10/A.yaml", f"id: A\n{n}\n")  # commits not about X1
        g(committed, "commit", "-q", "-am", f"A {n}")
    (committed / path).unlink()
    g(committed, "commit", "-q", "-am", "Removed X1\n\nby hand")
    shas.append(g(committed, "rev-parse", "HEAD").strip())
    history = journal.file_history(committed, path)
    assert [c.sha for c in history] == shas
    assert [c.content for c in history] == [b"id: X1\n", b"id: X1\nstatus: started\n", None]
    assert [c.subject for c in history] == ["X1 step0: test", "X1 step1: test", "Removed X1"]
    assert history[0].trailers == {"Case": ["X1"], "Action": ["new"], "Agent": ["kari"]}
    assert history[2].trailers == {}
    assert (history[0].author, history[0].email) == (AUTHOR.name, AUTHOR.email)
    assert history[0].when == WHEN and history[0].when.utcoffset() == timedelta(hours=1)
    assert (history[2].author, history[2].email) == ("x", "y@example.no")


def test_file_history_before_the_first_commit(repo: Path) -> None:
    assert journal.file_history(repo, "casectl.yaml") == []


# ---------------------------------------------------------------- the index lock

def lock_path(root: Path) -> Path:
    return root / ".git" / "index.lock"


def test_index_lock_takes_and_releases(committed: Path) -> None:
    with journal.IndexLock(committed):
        content = lock_path(committed).read_bytes()
        assert content == journal._LOCK_MARK + f"{os.getpid()}\n".encode()
        # git's own commands see the repository busy
        write(committed, "new.txt", "x")
        done = subprocess.run(["git", "add", "new.txt"], cwd=committed, capture_output=True)
        assert done.returncode != 0 and b"index.lock" in done.stderr
    assert not lock_path(committed).exists()
    assert not (committed / ".git/casectl/index.next").exists()


def test_index_lock_waits_for_another_holder(committed: Path) -> None:
    lock_path(committed).write_bytes(b"")  # as git leaves it while it works
    released = threading.Timer(0.4, lock_path(committed).unlink)
    released.start()
    started = time.monotonic()
    try:
        with journal.IndexLock(committed):
            assert time.monotonic() - started >= 0.35
            assert lock_path(committed).read_bytes().startswith(journal._LOCK_MARK)
    finally:
        released.join()
    assert not lock_path(committed).exists()


def test_index_lock_gives_up(committed: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(journal, "LOCK_WAIT", 0.3)
    lock_path(committed).write_bytes(b"someone else's")
    started = time.monotonic()
    with pytest.raises(OperationFailed) as caught:
        with journal.IndexLock(committed):
            pytest.fail("the lock was taken")
    assert 0.3 <= time.monotonic() - started < 5
    assert str(lock_path(committed)) in caught.value.message
    assert f"rm {lock_path(committed)}" in (caught.value.hint or "")
    assert lock_path(committed).read_bytes() == b"someone else's"  # not ours to remove


def test_index_lock_left_by_a_killed_casectl_is_removed(committed: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(journal, "LOCK_WAIT", 0.3)
    lock_path(committed).write_bytes(journal._LOCK_MARK + b"999999\n")
    with journal.IndexLock(committed):  # a wait would give up after LOCK_WAIT
        assert lock_path(committed).read_bytes() == \
            journal._LOCK_MARK + f"{os.getpid()}\n".encode()
    assert not lock_path(committed).exists()


def test_index_lock_release_leaves_a_lock_it_does_not_own(committed: Path) -> None:
    with journal.IndexLock(committed):
        lock_path(committed).unlink()
        lock_path(committed).write_bytes(b"another git")
    assert lock_path(committed).read_bytes() == b"another git"


def test_stage_and_install_touch_only_the_named_paths(committed: Path) -> None:
    write(committed, "cases/2026/10/B.yaml", "id: B\nstaged by hand\n")
    write(committed, "notes.txt", "staged new file\n")
    g(committed, "add", "cases/2026/10/B.yaml", "notes.txt")
    write(committed, "casectl.yaml", "changed, not staged\n")
    write(committed, "cases/2026/10/A.yaml", "id: A\nby casectl\n")
    before = (committed / ".git/index").read_bytes()
    with journal.IndexLock(committed) as lock:
        lock.stage(["cases/2026/10/A.yaml"], None)
        assert (committed / ".git/index").read_bytes() == before  # not yet
        lock.install()
        lock.keep()
    status = set(g(committed, "status", "--porcelain").splitlines())
    assert status == {"A  notes.txt", "M  cases/2026/10/A.yaml", "M  cases/2026/10/B.yaml",
                      " M casectl.yaml"}


def test_commit_keeps_what_the_user_staged(committed: Path) -> None:
    write(committed, "cases/2026/10/B.yaml", "id: B\nstaged by hand\n")
    g(committed, "add", "cases/2026/10/B.yaml")
    write(committed, "cases/2026/10/A.yaml", "id: A\nby casectl\n")
    casectl_commit(committed, ["cases/2026/10/A.yaml"])
    assert g(committed, "show", "HEAD:cases/2026/10/B.yaml") == "id: B\n"
    assert g(committed, "status", "--porcelain").splitlines() == ["M  cases/2026/10/B.yaml"]


def test_installed_but_not_kept_puts_the_index_back(committed: Path) -> None:
    """The branch did not move (an error before keep): the index is as it was."""
    before = (committed / ".git/index").read_bytes()
    write(committed, "cases/2026/10/A.yaml", "id: A\nby casectl\n")
    with pytest.raises(RuntimeError):
        with journal.IndexLock(committed) as lock:
            lock.stage(["cases/2026/10/A.yaml"], None)
            lock.install()
            assert (committed / ".git/index").read_bytes() != before
            raise RuntimeError("update-ref failed")
    assert (committed / ".git/index").read_bytes() == before
    assert not lock_path(committed).exists()


def test_leaving_without_install_leaves_the_index(committed: Path) -> None:
    before = (committed / ".git/index").read_bytes()
    write(committed, "cases/2026/10/A.yaml", "id: A\nby casectl\n")
    with journal.IndexLock(committed) as lock:
        lock.stage(["cases/2026/10/A.yaml"], None)
    assert (committed / ".git/index").read_bytes() == before
    assert not (committed / ".git/casectl/index.next").exists()
    assert not lock_path(committed).exists()


def test_install_without_an_index_builds_it_from_the_commit(committed: Path) -> None:
    (committed / ".git/index").unlink()
    path = "cases/2026/11/X1.yaml"
    write(committed, path, "id: X1\n")
    casectl_commit(committed, [path])
    assert (committed / ".git/index").exists()
    assert g(committed, "status", "--porcelain") == ""  # nothing looks deleted
    assert g(committed, "ls-files").split() == [
        "casectl.yaml", "cases/2026/10/A.yaml", "cases/2026/10/B.yaml", "cases/2026/11/X1.yaml"]


def test_first_commit_without_an_index(repo: Path) -> None:
    assert not (repo / ".git/index").exists()
    write(repo, "casectl.yaml", "x\n")
    casectl_commit(repo, ["casectl.yaml"])
    assert g(repo, "status", "--porcelain") == ""

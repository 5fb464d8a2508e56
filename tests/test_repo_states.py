"""Every state a repository can be in gets a clear answer: a read-only
repository still answers queries and refuses changes plainly; a damaged
query index is rebuilt; init refuses what would be a mistake; --repo and
CASECTL_REPO find the repository from inside it.

Read-only is tested for real, twice, because root (which runs these tests
here) ignores permission bits: once on a read-only bind mount in a private
mount namespace (`unshare -m`, EROFS), and once with `chmod -R a-w` with the
process's DAC capabilities dropped (`setpriv`), so permission bits bind
even root (EACCES). As a non-root user the second needs no setpriv.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import pytest

from helpers import act, git, head, init_desk, new_case, run, run_process, snapshot

INDEX = Path(".git") / "casectl" / "index.sqlite"
READ_ONLY_HINT = "reading works here"


def no_traceback(output: str) -> None:
    assert "Traceback" not in output
    assert "internal error" not in output


def listed(output: str) -> set[str]:
    """The case ids in the first column of a `list` or `search` table."""
    return {line.split()[0] for line in output.splitlines()[2:] if line.strip()}


# ---------------------------------------------------------------- read-only

def _works(command: list[str]) -> bool:
    try:
        return subprocess.run(command, capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def _mount_prefix(repo: Path) -> list[str]:
    """A command prefix that runs what follows with ``repo`` mounted
    read-only, in a mount namespace of its own (the rest of the machine
    never sees the mount)."""
    script = 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"'
    return ["unshare", "-m", "sh", "-c", script, str(repo)]


def _no_dac_prefix() -> list[str]:
    """A command prefix under which permission bits bind: for root, its
    capabilities to override them dropped; for anyone else, nothing."""
    if os.geteuid() != 0:
        return []
    caps = "-dac_override,-dac_read_search,-fowner"
    return ["setpriv", f"--bounding-set={caps}", f"--inh-caps={caps}"]


@pytest.fixture(params=["read-only mount", "no write permission"])
def read_only(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[list[str]]:
    """A command prefix that runs casectl against a read-only repository
    (tmp_path/desk, which the test fills first): EROFS or EACCES."""
    repo = tmp_path / "desk"
    if request.param == "read-only mount":
        probe = tmp_path / "probe"
        probe.mkdir()
        if not _works([*_mount_prefix(probe), "true"]):
            pytest.skip("no read-only bind mount here (unshare -m needs CAP_SYS_ADMIN); "
                        "the 'no write permission' variant covers read-only use")
        yield _mount_prefix(repo)
        return
    if shutil.which("setpriv") is None and os.geteuid() == 0:
        pytest.skip("running as root without setpriv: permission bits cannot bind")
    try:
        yield _no_dac_prefix()
    finally:
        for path in [repo, *repo.rglob("*")] if repo.exists() else []:  # for pytest's cleanup
            if not path.is_symlink():
                path.chmod(path.stat().st_mode | stat.S_IWUSR)


def _make_read_only(prefix: list[str], repo: Path) -> None:
    if prefix and prefix[0] == "unshare":
        return  # the mount does it
    for path in [repo, *repo.rglob("*")]:
        if not path.is_symlink():
            path.chmod(path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH))


def casectl(prefix: list[str], repo: Path, *args: str) -> subprocess.CompletedProcess:
    """casectl as a real process under ``prefix``, in ``repo``."""
    return subprocess.run([*prefix, sys.executable, "-m", "casectl", "--repo", str(repo),
                           "--as", "kari", *args], capture_output=True, text=True,
                          cwd=repo, timeout=60)


def _state_files(repo: Path) -> list[str]:
    state = repo / ".git" / "casectl"
    return sorted(p.name for p in state.iterdir()) if state.is_dir() else []


def test_a_read_only_clone_answers_queries(read_only, tmp_path):
    """A clone casectl never ran in (no .git/casectl): list, search, show
    and history work, from an index in memory; nothing is written."""
    repo = init_desk(tmp_path / "desk")
    printer = new_case(repo, subject="Skrivar i 3. etasje")
    dips = new_case(repo, subject="DIPS starter ikke")
    shutil.rmtree(repo / ".git" / "casectl")
    _make_read_only(read_only, repo)
    before = snapshot(repo)

    done = casectl(read_only, repo, "list")
    assert done.returncode == 0, done.stderr
    assert listed(done.stdout) == {printer, dips}
    assert done.stderr == ""
    done = casectl(read_only, repo, "search", "skrivar")
    assert done.returncode == 0, done.stderr
    assert listed(done.stdout) == {printer}
    done = casectl(read_only, repo, "show", dips, "--json")
    assert done.returncode == 0, done.stderr
    assert '"DIPS starter ikke"' in done.stdout
    done = casectl(read_only, repo, "history", dips)
    assert done.returncode == 0, done.stderr
    assert "created" in done.stdout

    assert snapshot(repo) == before
    assert not (repo / ".git" / "casectl").exists()


def test_a_read_only_repository_uses_its_index_and_catches_up_in_memory(read_only, tmp_path):
    """The index on disk lags HEAD by a case; read-only, the answer is still
    complete and the file on disk untouched."""
    repo = init_desk(tmp_path / "desk")
    first = new_case(repo, subject="Skrivar i 3. etasje")
    assert run("--repo", str(repo), "list").exit_code == 0  # the index, at HEAD
    second = new_case(repo, subject="Skrivar i 4. etasje")
    _make_read_only(read_only, repo)
    index_before = (repo / INDEX).read_bytes()

    done = casectl(read_only, repo, "list")
    assert done.returncode == 0, done.stderr
    assert listed(done.stdout) == {first, second}
    done = casectl(read_only, repo, "search", "skrivar")
    assert done.returncode == 0, done.stderr
    assert listed(done.stdout) == {first, second}
    assert done.stderr == ""
    assert (repo / INDEX).read_bytes() == index_before


@pytest.mark.parametrize("command", [
    ["new", "--subject", "Ny sak"],
    ["log", "{case}", "Ringte brukeren"],
    ["close", "{case}", "--solution", "Fiksa"],
    ["team", "add", "nettverk"],
    ["agent", "add", "per", "--name", "Per", "--email", "per@example.no"],
])
def test_a_read_only_repository_refuses_changes_plainly(read_only, tmp_path, command):
    repo = init_desk(tmp_path / "desk")
    case_id = new_case(repo)
    assert run("--repo", str(repo), "list").exit_code == 0
    _make_read_only(read_only, repo)
    before = snapshot(repo)
    state_before = _state_files(repo)

    done = casectl(read_only, repo, *[part.format(case=case_id) for part in command])
    assert done.returncode == 1, done.stdout + done.stderr
    no_traceback(done.stderr)
    assert "is read-only" in done.stderr
    assert "nothing was changed" in done.stderr
    assert READ_ONLY_HINT in done.stderr
    assert snapshot(repo) == before
    assert _state_files(repo) == state_before
    assert not list((repo / "cases").rglob("*.tmp"))


# ---------------------------------------------------------------- a damaged index

def _real_index_bytes(repo: Path) -> bytes:
    assert run("--repo", str(repo), "list").exit_code == 0
    return (repo / INDEX).read_bytes()


def _foreign(path: Path, ddl: list[str]) -> None:
    conn = sqlite3.connect(path)
    for statement in ddl:
        conn.execute(statement)
    conn.commit()
    conn.close()


DAMAGE = {
    "random bytes": lambda path, good: path.write_bytes(os.urandom(8192)),
    "cut short": lambda path, good: path.write_bytes(good[:len(good) // 2]),
    "another database with a view": lambda path, good: _foreign(path, [
        "CREATE TABLE inventory (pc TEXT)", "CREATE VIEW cases AS SELECT 1 AS x"]),
    "another database with tables of our names": lambda path, good: _foreign(path, [
        "CREATE TABLE meta (a, b, c)", "CREATE TABLE cases (x)",
        "INSERT INTO cases VALUES (1)"]),
}


@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_index_is_rebuilt_with_one_line_said(empty_repo, damage):
    repo = empty_repo
    printer = new_case(repo, subject="Skrivar i 3. etasje")
    dips = new_case(repo, subject="DIPS starter ikke")
    good = _real_index_bytes(repo)
    for leftover in (repo / INDEX).parent.glob("index.sqlite-*"):
        leftover.unlink()
    (repo / INDEX).unlink()
    DAMAGE[damage](repo / INDEX, good)

    done = run_process("--repo", str(repo), "list")
    assert done.returncode == 0, done.stderr
    no_traceback(done.stderr)
    assert listed(done.stdout) == {printer, dips}
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert "the query index was damaged (" in lines[0]
    assert lines[0].endswith("; rebuilt it")

    # Rebuilt once: from now on, nothing to say, and search agrees.
    done = run_process("--repo", str(repo), "search", "skrivar")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert listed(done.stdout) == {printer}
    conn = sqlite3.connect(repo / INDEX)
    try:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    finally:
        conn.close()
    assert "inventory" not in tables  # replaced, not added to


def test_an_empty_index_file_or_a_garbage_wal_needs_no_rebuild(empty_repo):
    """Regression guard (these already worked): a zero-length file is an
    empty database to SQLite, and a WAL whose header is garbage is ignored."""
    repo = empty_repo
    case_id = new_case(repo, subject="Skrivar i 3. etasje")
    _real_index_bytes(repo)
    (repo / INDEX).write_bytes(b"")
    done = run_process("--repo", str(repo), "list")
    assert done.returncode == 0, done.stderr
    assert listed(done.stdout) == {case_id}
    (repo / INDEX).with_name("index.sqlite-wal").write_bytes(os.urandom(8192))
    done = run_process("--repo", str(repo), "search", "skrivar")
    assert done.returncode == 0, done.stderr
    no_traceback(done.stderr)
    assert listed(done.stdout) == {case_id}


# ---------------------------------------------------------------- init

def test_init_in_an_existing_empty_directory_works(tmp_path):
    root = tmp_path / "desk"
    root.mkdir()
    result = run("init", str(root))
    assert result.exit_code == 0, result.output
    assert (root / "casectl.yaml").is_file()
    assert git(root, "rev-list", "--count", "HEAD").strip() == "1"


def test_init_in_an_empty_git_repository_works(tmp_path):
    root = tmp_path / "desk"
    root.mkdir()
    git(root, "init", "-q")
    result = run("init", str(root))
    assert result.exit_code == 0, result.output
    assert git(root, "rev-list", "--count", "HEAD").strip() == "1"


@pytest.mark.parametrize("where", ["under a file", "in a directory without write permission"])
def test_init_where_no_directory_can_be_made(tmp_path, where):
    if where == "under a file":
        (tmp_path / "notes.txt").write_text("x\n")
        target = tmp_path / "notes.txt" / "desk"
        prefix: list[str] = []
    else:
        if os.geteuid() == 0 and shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv: permission bits cannot bind")
        parent = tmp_path / "locked"
        parent.mkdir(mode=0o555)
        target = parent / "desk"
        prefix = _no_dac_prefix()
    try:
        done = subprocess.run([*prefix, sys.executable, "-m", "casectl", "init", str(target)],
                              capture_output=True, text=True, timeout=60)
    finally:
        if (tmp_path / "locked").exists():
            (tmp_path / "locked").chmod(0o755)  # for pytest's cleanup
    assert done.returncode == 1, done.stderr
    no_traceback(done.stderr)
    assert f"cannot make the directory {target}" in done.stderr
    assert "hint: " in done.stderr
    assert not target.exists()


def test_init_inside_a_case_repository_is_refused(empty_repo):
    before = snapshot(empty_repo)
    for inner in (empty_repo / "cases" / "2026", empty_repo / "sub"):
        result = run("init", str(inner))
        assert result.exit_code == 1, result.output
        no_traceback(result.output)
        assert f"is inside the case repository {empty_repo}" in result.stderr
        assert "choose a directory outside" in result.stderr
        assert not inner.exists()
    assert snapshot(empty_repo) == before


def test_init_in_a_directory_with_files_is_refused_unless_existing(tmp_path):
    root = tmp_path / "docs"
    root.mkdir()
    (root / "notes.txt").write_text("hei\n")
    result = run("init", str(root))
    assert result.exit_code == 1, result.output
    assert "is not empty (it holds notes.txt)" in result.stderr
    assert "--existing" in result.stderr
    assert not (root / "casectl.yaml").exists()
    assert not (root / ".git").exists()

    result = run("init", str(root), "--existing")
    assert result.exit_code == 0, result.output
    assert (root / "notes.txt").read_text() == "hei\n"
    assert "notes.txt" not in git(root, "ls-files").split()


def test_init_in_a_git_repository_with_commits_is_refused_unless_existing(tmp_path):
    root = tmp_path / "project"
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    git(root, "-c", "user.name=X", "-c", "user.email=x@example.no", "commit", "-q",
        "--allow-empty", "-m", "first")
    first = head(root)
    result = run("init", str(root))
    assert result.exit_code == 1, result.output
    no_traceback(result.output)
    assert "is a git repository with commits" in result.stderr
    assert "--existing" in result.stderr
    assert head(root) == first

    result = run("init", str(root), "--existing")
    assert result.exit_code == 0, result.output
    assert git(root, "rev-parse", "HEAD~1").strip() == first


# ---------------------------------------------------------------- finding the repository

@pytest.mark.parametrize("inside", ["cases", "cases/{year}", "cases/{year}/{month}",
                                    "casectl.yaml"])
def test_repo_inside_a_case_repository_finds_it(empty_repo, tmp_path, monkeypatch, inside):
    case_id = new_case(empty_repo)
    shard = next((empty_repo / "cases").glob("*/*"))
    where = empty_repo / inside.format(year=shard.parent.name, month=shard.name)
    monkeypatch.chdir(tmp_path)
    result = run("--repo", str(where), "list")
    assert result.exit_code == 0, result.output
    assert listed(result.stdout) == {case_id}
    result = run("list", env={"CASECTL_REPO": str(where)})
    assert result.exit_code == 0, result.output
    assert listed(result.stdout) == {case_id}
    result = act(where, "log", case_id, "Ringte brukeren")
    assert result.exit_code == 0, result.output
    assert "Ringte brukeren" in git(empty_repo, "log", "-1", "--format=%B")


@pytest.mark.parametrize("how", ["--repo", "CASECTL_REPO"])
def test_repo_that_does_not_exist(tmp_path, monkeypatch, how):
    monkeypatch.chdir(tmp_path)
    missing = str(tmp_path / "finnes-ikke")
    if how == "--repo":
        result = run("--repo", missing, "list")
    else:
        result = run("list", env={"CASECTL_REPO": missing})
    assert result.exit_code == 3, result.output
    no_traceback(result.output)
    assert f"{how} {missing}: no such file or directory" in result.stderr
    assert "hint: check the path" in result.stderr

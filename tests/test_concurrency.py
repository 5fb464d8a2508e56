"""Several real casectl processes acting on one case at the same time: they
wait their turn for the lock, every action becomes exactly one commit, and
nothing is lost."""

from __future__ import annotations

import json
import subprocess
import threading
from pathlib import Path

import pytest
import yaml
from helpers import (act, case_file, commit_count, fsck_problems, git, load_case, load_yaml,
                      new_case, run, run_process)

import casectl.journal
from casectl import model

AGENTS = {"kari": "Kari Nordmann", "per": "Per Hansen", "ingrid": "Ingrid Solberg",
          "mette": "Mette Jørgensen"}


@pytest.fixture
def desk(tmp_path: Path) -> tuple[Path, str]:
    """A desk of the four AGENTS (no teams) with one case, and its id."""
    root = tmp_path / "desk"
    assert run("init", str(root), "--desk", "Samtidig").exit_code == 0
    for n, (agent, name) in enumerate(AGENTS.items()):
        acting = ["--as", "kari"] if n else []
        added = run("--repo", str(root), *acting, "agent", "add", agent, "--name", name,
                    "--email", f"{agent}@helse.example.no")
        assert added.exit_code == 0, added.output
    return root, new_case(root, subject="Treg pålogging i hele bygg 3")


def run_all(jobs: list[list[str]], repo: Path) -> list[subprocess.CompletedProcess]:
    """Each job is a list of argument lists run one after the other in its
    own thread (so up to len(jobs) casectl processes run at once); all jobs
    start together."""
    barrier = threading.Barrier(len(jobs))
    results: list[list[subprocess.CompletedProcess]] = [[] for _ in jobs]

    def worker(index: int) -> None:
        barrier.wait()
        for args in jobs[index]:
            results[index].append(run_process("--repo", str(repo), *args, timeout=120))

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(jobs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=180)
    assert not any(thread.is_alive() for thread in threads)
    return [result for batch in results for result in batch]


def assert_repository_sound(repo: Path) -> None:
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""
    assert not (repo / ".git" / "index.lock").exists()
    assert not (repo / ".git" / "casectl" / "pending.json").exists()
    assert fsck_problems(repo) == []
    assert git(repo, "rev-list", "--merges", "HEAD") == ""
    validated = run_process("--repo", str(repo), "validate")
    assert validated.returncode == 0, validated.stdout + validated.stderr


def test_many_processes_on_one_case(desk):
    repo, case_id = desk
    before = commit_count(repo)
    agents = list(AGENTS)
    writers = 8
    per_writer = 3
    jobs = [[["--as", agents[w % len(agents)], "log", case_id, f"Arbeid {w}-{i}: æøå ÄÖ"]
             for i in range(per_writer)] for w in range(writers)]
    jobs.append([["--as", "per", "new", "--subject", "Skrivar på 4B skriv ikkje ut"]])
    jobs.append([["--as", "mette", "new", "--subject", "Borgeren kan ikke logge ind",
                  "--priority", "high"]])
    jobs.append([["--as", "ingrid", "priority", case_id, "high", "--reason",
                  "Heile bygget er ramma"]])
    results = run_all(jobs, repo)
    assert len(results) == writers * per_writer + 3
    for result in results:
        assert result.returncode == 0, (result.args, result.stderr)

    case = load_case(repo, case_id)
    texts = [e["data"]["text"] for e in case["log"] if e["kind"] == "worklog"]
    expected = {f"Arbeid {w}-{i}: æøå ÄÖ" for w in range(writers) for i in range(per_writer)}
    assert sorted(texts) == sorted(expected), "every entry once, none lost"
    for w in range(writers):  # each writer's entries in the order it made them
        own = [t for t in texts if t.startswith(f"Arbeid {w}-")]
        assert own == [f"Arbeid {w}-{i}: æøå ÄÖ" for i in range(per_writer)]
    assert case["priority"] == "high"
    assert [e["kind"] for e in case["log"]].count("priority_set") == 1
    assert len(case["log"]) == 1 + writers * per_writer + 1
    assert model.ordered(case["log"]) == case["log"], "file order is time order"
    assert len({e["id"] for e in case["log"]}) == len(case["log"])

    # One action, one commit: each commit of the case adds exactly one event.
    shas = git(repo, "log", "--reverse", "--format=%H", "--grep", f"Case: {case_id}").split()
    assert len(shas) == len(case["log"])
    path = case_file(repo, case_id).relative_to(repo).as_posix()
    for position, sha in enumerate(shas, start=1):
        at_commit = yaml.safe_load(git(repo, "show", f"{sha}:{path}"))
        assert [e["id"] for e in at_commit["log"]] == [e["id"] for e in case["log"][:position]]
        trailers = git(repo, "show", "-s", "--format=%(trailers:only,unfold)", sha)
        event = case["log"][position - 1]
        assert f"Case: {case_id}" in trailers
        assert f"Agent: {event['by']}" in trailers
        author = git(repo, "show", "-s", "--format=%an", sha).strip()
        assert author == AGENTS[event["by"]]
        changed = git(repo, "show", "--format=", "--name-only", sha).split()
        assert changed == [path]

    # The two new cases, one commit each.
    others = {p.stem: load_yaml(p) for p in (repo / "cases").glob("*/*/*.yaml")}
    others.pop(case_id)
    assert sorted(c["subject"] for c in others.values()) == [
        "Borgeren kan ikke logge ind", "Skrivar på 4B skriv ikkje ut"]
    for other_id in others:
        made = git(repo, "log", "--format=%H", "--grep", f"Case: {other_id}").split()
        assert len(made) == 1
    after = commit_count(repo)
    assert after == before + len(results)

    assert_repository_sound(repo)
    following = run_process("--repo", str(repo), "--as", "kari", "log", case_id, "Ferdig")
    assert following.returncode == 0, following.stderr
    assert load_case(repo, case_id)["log"][-1]["data"] == {"text": "Ferdig"}
    assert_repository_sound(repo)


def test_readers_alongside_writers(desk):
    """`list`, `show` and `search` while actions commit: they never fail and
    never see a half-written file."""
    repo, case_id = desk
    # The index exists already (its first build is test_many_readers_build_the_index_at_once).
    assert run_process("--repo", str(repo), "list").returncode == 0
    writers = [[["--as", "kari", "log", case_id, f"Skriv {w}-{i}"] for i in range(3)]
               for w in range(4)]
    writers.append([["--as", "per", "new", "--subject", f"Ny sak {i}"] for i in range(3)])
    readers = [[["list", "--all", "--json"]] * 4, [["show", case_id, "--json"]] * 4,
               [["search", "pålogging", "--json"]] * 3]
    results = run_all(writers + readers, repo)
    for result in results:
        assert result.returncode == 0, (result.args, result.stderr)
        if "show" in result.args:
            data = json.loads(result.stdout)
            assert data["id"] == case_id
            assert data["log"][0]["kind"] == "created"
            assert model.header_differences(data, model.replay(case_id, data["log"])) == []
        elif "list" in result.args:
            assert case_id in {row["id"] for row in json.loads(result.stdout)}
        elif "search" in result.args:
            assert [row["id"] for row in json.loads(result.stdout)] == [case_id]
    final = run_process("--repo", str(repo), "list", "--all", "--json")
    rows = json.loads(final.stdout)
    assert sorted(row["subject"] for row in rows) == [
        "Ny sak 0", "Ny sak 1", "Ny sak 2", "Treg pålogging i hele bygg 3"]
    case = load_case(repo, case_id)
    assert len([e for e in case["log"] if e["kind"] == "worklog"]) == 12
    assert_repository_sound(repo)


def test_many_readers_build_the_index_at_once(desk):
    """The query index does not exist yet (a fresh clone, or it was deleted):
    the first `list` commands, started together, all succeed."""
    repo, case_id = desk
    for _ in range(5):
        for stale in (repo / ".git" / "casectl").glob("index.sqlite*"):
            stale.unlink()
        results = run_all([[["list", "--all", "--json"]] for _ in range(8)], repo)
        for result in results:
            assert result.returncode == 0, result.stderr
            assert [row["id"] for row in json.loads(result.stdout)] == [case_id]


def test_an_action_waits_for_another_git_process_holding_the_index(desk, monkeypatch):
    """A technician's own git command (or a background gc) holding
    .git/index.lock makes casectl wait, not fail."""
    desk, case_id = desk
    lock = desk / ".git" / "index.lock"
    lock.write_text("")
    releaser = threading.Timer(0.5, lock.unlink)
    releaser.start()
    try:
        result = act(desk, "log", case_id, "Venta på git")
    finally:
        releaser.join()
    assert result.exit_code == 0, result.output
    assert load_case(desk, case_id)["log"][-1]["data"]["text"] == "Venta på git"


def test_a_lock_left_by_a_crashed_git_fails_with_git_advice(desk, monkeypatch):
    desk, case_id = desk
    before = git(desk, "rev-parse", "HEAD")
    monkeypatch.setattr(casectl.journal, "LOCK_WAIT", 0.3)
    (desk / ".git" / "index.lock").write_text("")
    result = act(desk, "log", case_id, "Aldri")
    assert result.exit_code == 1
    assert "index.lock" in result.stderr and "Traceback" not in result.output
    assert git(desk, "rev-parse", "HEAD") == before

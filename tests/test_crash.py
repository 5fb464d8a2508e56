"""A process killed in the middle of an action: the case is as it was or
fully changed, never half, and the next command finds a clean repository.

casectl's fault injection (CASECTL_CRASH_AT=<stage>) makes the process
SIGKILL itself at a stage of the write path; a `kill -9` from outside hits
wherever it hits; and the repository lock is an flock that dies with its
holder.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import (act, act_process, case_file, commits, copy_desk, fsck_problems, git, head,
                      isolated_env, load_case, load_yaml, new_case, run)

STAGES = ["intent-written", "file-written", "index-updated", "commit-written", "committed"]
NOW = "2026-11-22T09:30:00+01:00"


# ------------------------------------------------------------------ fixtures

@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A repository with one agent (kari) and one started case with a work
    log entry, and the case's id; built once, copied for each test."""
    with isolated_env(tmp_path_factory.mktemp("crash-home")):
        root = tmp_path_factory.mktemp("crash-template") / "desk"
        assert run("init", str(root), "--desk", "Krasjdesk").exit_code == 0
        assert run("--repo", str(root), "agent", "add", "kari", "--name", "Kari Nordmann",
                   "--email", "kari@helse.example.no").exit_code == 0
        case_id = new_case(root, "--start", subject="Skjermen er svart på legekontoret")
        assert act(root, "log", case_id, "Ringte brukar").exit_code == 0
    return root, case_id


@pytest.fixture
def desk(tmp_path: Path, template: tuple[Path, str]) -> tuple[Path, str]:
    """A copy of ``template``, and its case's id."""
    return copy_desk(template[0], tmp_path), template[1]


# ------------------------------------------------------------------ helpers

def assert_clean(repo: Path) -> None:
    """The repository after a command that followed a crash."""
    assert git(repo, "status", "--porcelain", "--untracked-files=all") == ""
    state = repo / ".git" / "casectl"
    assert not (state / "pending.json").exists(), "the interrupted action was left pending"
    assert not (repo / ".git" / "index.lock").exists()
    assert not list((repo / ".git").glob("refs/heads/*.lock"))
    assert fsck_problems(repo) == []
    validated = run("--repo", str(repo), "validate")
    assert validated.exit_code == 0, validated.output


ACTIONS = {
    "log": lambda case_id: ["log", case_id, "Krasjtest: byttet strømkabel"],
    "new": lambda case_id: ["new", "--subject", "Krasjtest: ny sak om DIPS"],
    "close": lambda case_id: ["close", case_id, "--solution", "Byttet kabel", "--confirmed"],
    "agent add": lambda case_id: ["agent", "add", "per", "--name", "Per Hansen", "--email",
                                  "per@helse.example.no", "--role", "handler"],
}
TRAILER_ACTION = {"log": "log", "new": "new", "close": "close", "agent add": "agent-add"}


def subjects(repo: Path) -> dict[str, str]:
    return {p.stem: load_yaml(p)["subject"] for p in (repo / "cases").glob("*/*/*.yaml")}


def _changed(repo: Path, action: str, case_id: str) -> bool:
    """Whether the crashed action's effect is in the working tree's files."""
    if action == "log":
        texts = [e["data"].get("text") for e in load_case(repo, case_id)["log"]]
        return "Krasjtest: byttet strømkabel" in texts
    if action == "close":
        return load_case(repo, case_id)["status"] == "closed"
    if action == "new":
        return "Krasjtest: ny sak om DIPS" in subjects(repo).values()
    return "per" in (load_yaml(repo / "casectl.yaml").get("agents") or {})


# ------------------------------------------------------------------ crash points

@pytest.mark.parametrize("stage", STAGES)
@pytest.mark.parametrize("action", list(ACTIONS))
def test_crash_leaves_the_case_as_it_was_or_fully_changed(desk, action, stage):
    repo, case_id = desk
    before_head = head(repo)
    before_count = len(commits(repo))
    path = case_file(repo, case_id)
    before_text = path.read_text(encoding="utf-8")
    before_config = (repo / "casectl.yaml").read_text(encoding="utf-8")
    before_cases = {p.stem for p in (repo / "cases").glob("*/*/*.yaml")}

    crashed = act_process(repo, *ACTIONS[action](case_id), env={"CASECTL_CRASH_AT": stage})
    assert crashed.returncode == -signal.SIGKILL, (crashed.returncode, crashed.stderr)

    # Right after the crash: HEAD is the old commit or one new, complete one.
    after_head = head(repo)
    if after_head == before_head:
        assert stage != "committed"
    else:
        newest = commits(repo, "-1")[0]
        assert newest["parents"] == [before_head]
        assert newest["trailers"]["Action"] == TRAILER_ACTION[action]
        assert newest["trailers"]["Agent"] == "kari"
        assert newest["author"] == "Kari Nordmann"
    if stage == "intent-written":
        assert after_head == before_head
        assert path.read_text(encoding="utf-8") == before_text
        assert (repo / "casectl.yaml").read_text(encoding="utf-8") == before_config
    if stage == "committed":
        assert after_head != before_head
    # Every file on disk is whole: the old version or the complete new one.
    on_disk = run("--repo", str(repo), "validate", *[str(p) for p in
                                                     (repo / "cases").glob("*/*/*.yaml")])
    assert on_disk.exit_code == 0, on_disk.output
    assert isinstance(load_yaml(repo / "casectl.yaml")["agents"], dict)

    # The next command finishes or undoes the interrupted action, then does its own.
    following = act_process(repo, "new", "--subject", "Neste kommando etter krasj")
    assert following.returncode == 0, following.stderr
    next_id = following.stdout.strip()
    assert subjects(repo)[next_id] == "Neste kommando etter krasj"
    assert_clean(repo)

    changed = _changed(repo, action, case_id)
    history = commits(repo)
    assert history[0]["trailers"] == {"Case": next_id, "Action": "new", "Agent": "kari"}
    assert history[0]["parents"] == [history[1]["sha"]]
    if changed:
        assert len(history) == before_count + 2
        crashed_commit = history[1]
        assert crashed_commit["trailers"]["Action"] == TRAILER_ACTION[action]
        assert crashed_commit["trailers"]["Agent"] == "kari"
        assert crashed_commit["author"] == "Kari Nordmann"
        assert crashed_commit["parents"] == [before_head]
        if action != "agent add":
            assert crashed_commit["subject"].split(" ")[1] == TRAILER_ACTION[action] + ":"
    else:
        assert stage != "committed", "a committed action must not be undone"
        assert len(history) == before_count + 1
        assert history[1]["sha"] == before_head
        assert path.read_text(encoding="utf-8") == before_text
        assert (repo / "casectl.yaml").read_text(encoding="utf-8") == before_config
        assert set(subjects(repo)) == before_cases | {next_id}
    if stage == "intent-written":
        assert not changed

    # Each event of a case is in exactly one commit of that case.
    for cid in subjects(repo):
        case = load_case(repo, cid)
        made = commits(repo, "--grep", f"Case: {cid}")
        events = len(case["log"]) - (1 if case["log"][1:2] and
                                     case["log"][1]["kind"] == "status_changed" else 0)
        assert len(made) == events, cid  # `new --start` makes two events in one commit
        assert made[-1]["trailers"]["Action"] == "new"
    if action == "new" and changed:
        new_ids = set(subjects(repo)) - before_cases - {next_id}
        assert len(new_ids) == 1
        made = commits(repo, "--grep", f"Case: {new_ids.pop()}")
        assert [c["trailers"]["Action"] for c in made] == ["new"]


@pytest.mark.parametrize("reader", [["list", "--all"], ["show", "{id}"]])
def test_a_reading_command_after_a_crash_also_cleans_up(desk, reader):
    repo, case_id = desk
    crashed = act_process(repo, "log", case_id, "Halvferdig",
                          env={"CASECTL_CRASH_AT": "file-written"})
    assert crashed.returncode == -signal.SIGKILL
    done = act_process(repo, *[arg.format(id=case_id) for arg in reader])
    assert done.returncode == 0, done.stderr
    assert_clean(repo)
    assert commits(repo, "-1")[0]["trailers"]["Action"] == "log"


def test_a_crashed_new_case_is_not_half_there(desk):
    """A new case cut off before its file was written leaves no trace."""
    repo, case_id = desk
    before = {p.stem for p in (repo / "cases").glob("*/*/*.yaml")}
    crashed = act_process(repo, "new", "--subject", "Forsvinner",
                          env={"CASECTL_CRASH_AT": "intent-written"})
    assert crashed.returncode == -signal.SIGKILL
    made = act_process(repo, "new", "--subject", "Blir", "--json")
    assert made.returncode == 0, made.stderr
    assert_clean(repo)
    after = {p.stem for p in (repo / "cases").glob("*/*/*.yaml")}
    assert len(after - before) == 1
    subjects = [load_case(repo, cid)["subject"] for cid in after - before]
    assert subjects == ["Blir"]


def test_repeated_crashes_then_recovery(desk):
    """Several interrupted actions in a row; each next one cleans up the last."""
    repo, case_id = desk
    for stage in STAGES:
        crashed = act_process(repo, "log", case_id, f"Krasj ved {stage}",
                              env={"CASECTL_CRASH_AT": stage})
        assert crashed.returncode == -signal.SIGKILL
    assert act_process(repo, "log", case_id, "Til slutt").returncode == 0
    assert_clean(repo)
    texts = [e["data"].get("text") for e in load_case(repo, case_id)["log"]]
    assert texts[-1] == "Til slutt"
    # The last crash (at "committed") is kept, the ones before were finished
    # or undone by the crash that followed them; none is there twice.
    assert "Krasj ved committed" in texts
    assert len(texts) == len(set(texts[2:])) + 2
    assert len(commits(repo, "--grep", f"Case: {case_id}")) == len(texts) - 1


# ------------------------------------------------------------------ kill -9 from outside

def test_kill_at_a_random_moment_during_a_loop_of_actions(desk):
    repo, case_id = desk
    seed = int(os.environ.get("CASECTL_TEST_SEED", time.time_ns() % 100_000))
    rng = random.Random(seed)
    script = ('for i in $(seq 1 20); do "$0" -m casectl --repo "$1" --as kari log "$2" '
              '"Løkke $3-$i" || exit 1; done')
    for round_ in range(3):
        delay = rng.uniform(0.2, 1.5)
        loop = subprocess.Popen(["sh", "-c", script, sys.executable, str(repo), case_id,
                                 str(round_)], start_new_session=True,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(delay)
        os.killpg(loop.pid, signal.SIGKILL)
        loop.wait(timeout=30)
        assert loop.returncode == -signal.SIGKILL, (seed, delay, loop.stderr.read())
        loop.stderr.close()

        following = act_process(repo, "log", case_id, f"Etter drap {round_}")
        assert following.returncode == 0, (seed, delay, following.stderr)
        assert_clean(repo)
        texts = [e["data"].get("text") for e in load_case(repo, case_id)["log"]
                 if e["kind"] == "worklog"]
        assert texts[-1] == f"Etter drap {round_}"
        done = [t for t in texts if t and t.startswith(f"Løkke {round_}-")]
        assert done == [f"Løkke {round_}-{i}" for i in range(1, len(done) + 1)], (seed, delay)
        case = load_case(repo, case_id)
        assert len(commits(repo, "--grep", f"Case: {case_id}")) == len(case["log"]) - 1, seed
        assert len(set(e["id"] for e in case["log"])) == len(case["log"])


# ------------------------------------------------------------------ the lock

HOLDER = """
import sys, time
from pathlib import Path
from casectl import store
with store.locked(Path(sys.argv[1])):
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def hold_lock(repo: Path, seconds: float) -> subprocess.Popen:
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(repo), str(seconds)],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None
    assert holder.stdout.readline().strip() == "held"
    return holder


def start_log(repo: Path, case_id: str, text: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "casectl", "--repo", str(repo), "--as",
                             "kari", "log", case_id, text], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_a_second_action_waits_for_the_lock_then_succeeds(desk):
    repo, case_id = desk
    holder = hold_lock(repo, 1.5)
    started = time.monotonic()
    waiting = start_log(repo, case_id, "Ventet på låsen")
    time.sleep(0.7)
    assert waiting.poll() is None, "the action must wait while another holds the lock"
    assert head(repo) == commits(repo, "-1")[0]["sha"]
    out, err = waiting.communicate(timeout=30)
    elapsed = time.monotonic() - started
    assert waiting.returncode == 0, err
    assert out.strip() == case_id
    assert elapsed >= 1.2, elapsed
    assert holder.wait(timeout=10) == 0
    holder.stdout.close()
    assert_clean(repo)
    assert load_case(repo, case_id)["log"][-1]["data"] == {"text": "Ventet på låsen"}


def test_a_killed_lock_holder_leaves_no_stale_lock(desk):
    repo, case_id = desk
    holder = hold_lock(repo, 120)
    waiting = start_log(repo, case_id, "Holderen ble drept")
    time.sleep(0.7)
    assert waiting.poll() is None
    holder.kill()
    holder.wait(timeout=10)
    holder.stdout.close()
    out, err = waiting.communicate(timeout=20)
    assert waiting.returncode == 0, err
    # Nobody waits for a dead holder afterwards either.
    started = time.monotonic()
    assert act_process(repo, "log", case_id, "Og neste", timeout=20).returncode == 0
    assert time.monotonic() - started < 10
    assert_clean(repo)
    texts = [e["data"].get("text") for e in load_case(repo, case_id)["log"]]
    assert texts[-2:] == ["Holderen ble drept", "Og neste"]

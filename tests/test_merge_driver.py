"""The merge driver for case files (issue 7, item 1, first part): two clones
that acted on one case merge on `git pull` by the union of their events;
a side that rewrote a past event is a conflict with a clear message; a
fresh clone registers the driver on its first casectl command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from casectl import model
from casectl.merge import MergeConflict, merge_case
from helpers import act, case_file, git, load_case, load_yaml, new_case, run

IDENTITY = ("-c", "user.name=Kari Nordmann", "-c", "user.email=kari@example.no")


@pytest.fixture
def clones(desk: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """The desk and a second clone of it, sharing a bare remote; git finds
    casectl (the merge driver) on PATH, as on a technician's machine."""
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    remote = tmp_path / "remote.git"
    git(tmp_path, "clone", "-q", "--bare", str(desk), str(remote))
    git(desk, "remote", "add", "origin", str(remote))
    git(desk, "fetch", "-q", "origin")
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(remote), str(other))
    return desk, other


def pull(repo: Path) -> subprocess.CompletedProcess[str]:
    branch = git(repo, "branch", "--show-current").strip()
    return subprocess.run(["git", *IDENTITY, "pull", "--no-rebase", "--no-edit", "origin",
                           branch], cwd=repo, capture_output=True, text=True)


def push(repo: Path) -> None:
    git(repo, "push", "-q", "origin", "HEAD")


def test_two_clones_acting_on_one_case_merge_without_conflict(clones, monkeypatch) -> None:
    desk, other = clones
    monkeypatch.setenv("CASECTL_NOW", "2026-11-24T09:00:00+01:00")
    case_id = new_case(desk)
    push(desk)
    assert pull(other).returncode == 0
    monkeypatch.setenv("CASECTL_NOW", "2026-11-24T09:10:00+01:00")
    assert act(other, "log", case_id, "Fra den andre klonen").exit_code == 0
    assert act(other, "priority", case_id, "high", "--reason", "Hele posten").exit_code == 0
    push(other)
    monkeypatch.setenv("CASECTL_NOW", "2026-11-24T09:05:00+01:00")
    assert act(desk, "log", case_id, "Fra skrivebordet", agent="ingrid").exit_code == 0
    done = pull(desk)
    assert done.returncode == 0, done.stdout + done.stderr
    case = load_case(desk, case_id)
    texts = [e["data"].get("text") for e in case["log"] if e["kind"] == "worklog"]
    assert texts == ["Fra skrivebordet", "Fra den andre klonen"]  # replay order: by time
    assert case["priority"] == "high"
    assert {k: case[k] for k in model.HEADER_KEYS} == model.replay(case_id, case["log"])
    assert git(desk, "status", "--porcelain") == ""
    assert act(desk, "validate").exit_code == 0
    # and the other clone gets the same file back
    push(desk)
    assert pull(other).returncode == 0
    assert case_file(other, case_id).read_text() == case_file(desk, case_id).read_text()


def test_a_rewritten_past_event_is_a_conflict_named_as_such(clones, monkeypatch) -> None:
    desk, other = clones
    case_id = new_case(desk)
    push(desk)
    assert pull(other).returncode == 0
    path = case_file(other, case_id)
    doc = load_yaml(path)
    doc["log"][0]["data"]["description"] = "skrevet om i ettertid"
    doc["description"] = "skrevet om i ettertid"
    from casectl import yamlio

    path.write_text(yamlio.dump(doc), encoding="utf-8")
    git(other, *IDENTITY, "commit", "-qam", "hand edit of history")
    push(other)
    assert act(desk, "log", case_id, "Ringte bruker").exit_code == 0
    done = pull(desk)
    assert done.returncode != 0
    assert "changed event" in done.stderr and "events are never edited" in done.stderr
    shown = act(desk, "show", case_id)
    assert shown.exit_code == 1 and "unresolved merge conflicts" in shown.stderr


def test_a_fresh_clone_registers_the_driver_on_its_first_command(clones) -> None:
    _, other = clones
    missing = subprocess.run(["git", "config", "merge.casectl.driver"], cwd=other,
                             capture_output=True, text=True)
    assert missing.stdout == ""  # git clone does not copy .git/config
    assert act(other, "list").exit_code == 0
    assert git(other, "config", "merge.casectl.driver").strip() == \
        "casectl merge-driver %O %A %B %P"


def event(event_id: str, at: str, kind: str = "worklog", **data: str) -> dict:
    return model.make_event(event_id, at, "kari", kind, data or {"text": event_id})


CREATED = event("E0000000000A", "2026-11-24T09:00:00+01:00", "created", subject="Skriver")


def case_with(*events: dict) -> dict:
    return model.with_header("K7X2M9QP4R", [CREATED, *events])


def test_merge_case_takes_the_union_of_events() -> None:
    a = event("E0000000000B", "2026-11-24T09:05:00+01:00")
    b = event("E0000000000C", "2026-11-24T09:03:00+01:00")
    merged = merge_case(case_with(), case_with(a), case_with(b))
    assert [e["id"] for e in merged["log"]] == ["E0000000000A", "E0000000000C", "E0000000000B"]
    assert merge_case(None, case_with(a), case_with(a, b)) == merge_case(None, case_with(b),
                                                                         case_with(a))


@pytest.mark.parametrize("ours, theirs, says", [
    (case_with(), {**case_with(), "log": []}, "theirs removed event E0000000000A"),
    (case_with(), case_with(), None),
    ({**case_with(), "id": "K7X2M9QP4S"}, case_with(), "two different cases"),
    (case_with(event("E0000000000B", "2026-11-24T09:05:00+01:00", text="a")),
     case_with(event("E0000000000B", "2026-11-24T09:05:00+01:00", text="b")),
     "names two different events"),
])
def test_merge_case_refusals(ours: dict, theirs: dict, says: str | None) -> None:
    if says is None:
        assert merge_case(case_with(), ours, theirs) == case_with()
        return
    with pytest.raises(MergeConflict, match=says):
        merge_case(case_with(), ours, theirs)


def test_the_driver_run_by_hand_on_missing_files_says_what_it_is(tmp_path) -> None:
    done = run("merge-driver", str(tmp_path / "a"), str(tmp_path / "b"), str(tmp_path / "c"),
               "cases/2026/11/X.yaml")
    assert done.exit_code == 3, done.output
    assert "no such file" in done.stderr and "not a command to run by hand" in done.stderr

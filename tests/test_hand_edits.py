"""What hand edits, stray git processes and odd bytes must not get past:
found in review, each test fails without its fix."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

import casectl.journal
from helpers import act, case_file, commit_count, git, head, load_case, new_case, run


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_an_action_refuses_to_build_on_an_uncommitted_hand_edit(desk):
    case_id = new_case(desk)
    assert act(desk, "log", case_id, "Passord nullstilt").exit_code == 0
    path = case_file(desk, case_id)
    edit(path, "Passord nullstilt", "Ingenting gjort")
    edited = path.read_bytes()
    before = head(desk)
    result = act(desk, "log", case_id, "Tredje")
    assert result.exit_code == 1
    assert "only-committed-state" in result.stderr and "git diff" in result.stderr
    assert head(desk) == before
    assert path.read_bytes() == edited  # the technician's edit is theirs to keep or drop
    git(desk, "checkout", "--", str(path.relative_to(desk)))
    assert act(desk, "log", case_id, "Tredje").exit_code == 0
    texts = [e["data"].get("text") for e in load_case(desk, case_id)["log"]]
    assert texts[-2:] == ["Passord nullstilt", "Tredje"]


def test_a_failed_commit_leaves_nothing_for_the_next_command_to_commit(desk, monkeypatch):
    case_id = new_case(desk)
    path = case_file(desk, case_id)
    original = path.read_bytes()
    monkeypatch.setattr(casectl.journal, "LOCK_WAIT", 0.2)
    lock = desk / ".git" / "index.lock"
    lock.write_text("")
    result = act(desk, "log", case_id, "Femte")
    assert result.exit_code == 1 and "nothing was committed" in result.stderr
    lock.unlink()
    assert path.read_bytes() == original
    assert not (desk / ".git" / "casectl" / "pending.json").exists()
    assert act(desk, "log", case_id, "Femte").exit_code == 0
    texts = [e["data"].get("text") for e in load_case(desk, case_id)["log"]]
    assert texts.count("Femte") == 1


@pytest.mark.parametrize("args, message", [
    (["team", "add", "t1", "--name", " "], "the team's name is empty"),
    (["agent", "add", "bob", "--name", "B" * 250, "--email", "b@x.no"], "the limit is 200"),
    (["agent", "add", "bob", "--name", "Bob", "--email", "@"], "is not an e-mail address"),
    # What the input checks let through, the schema still refuses before writing.
    (["team", "add", "t1", "--email", "t" * 300 + "@x.no"], "would not be valid"),
])
def test_desk_changes_that_would_break_casectl_yaml_are_refused(desk, args, message):
    before = head(desk)
    result = act(desk, *args, agent="admin")
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert head(desk) == before
    assert act(desk, "team", "list").exit_code == 0


def test_casectl_yaml_outside_its_own_git_repository_is_refused(desk, tmp_path):
    outer = tmp_path / "outer"
    (outer / "sub").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(outer)], check=True)
    (outer / "sub" / "casectl.yaml").write_bytes((desk / "casectl.yaml").read_bytes())
    result = run("--repo", str(outer / "sub"), "--as", "kari", "new", "--subject", "x")
    assert result.exit_code == 3
    assert "not a git repository" in result.stderr
    assert not (outer / "sub" / ".git").exists()
    assert not (outer / "sub" / "cases").exists()


@pytest.mark.parametrize("old, new, field", [
    ("kind: note\n  public: false", "kind: note\n  public: true", "log[1].public"),
    ("status: new\n", "status: new\nstatus: new\n", "(file)"),
    ("fields: {}", "fields:\n  123: abc", "(file)"),
    ("tasks: []", "tasks:\n- &a [1, 2]\n- *a", "(file)"),
])
def test_validate_refuses_what_yaml_or_the_schema_would_let_through(desk, old, new, field):
    case_id = new_case(desk)
    assert act(desk, "log", case_id, "Intern", "--internal").exit_code == 0
    edit(case_file(desk, case_id), old, new)
    result = run("--repo", str(desk), "validate", "--format", "json")
    assert result.exit_code == 4, result.output
    problems = json.loads(result.stdout)["problems"]
    assert [p["field"] for p in problems] == [field]
    shown = act(desk, "show", case_id)
    assert shown.exit_code == 4 and "Traceback" not in shown.output


def test_a_time_that_is_no_date_is_invalid_data_not_a_crash(desk):
    case_id = new_case(desk)
    path = case_file(desk, case_id)
    created = load_case(desk, case_id)["created"]
    path.write_text(path.read_text(encoding="utf-8").replace(
        created, "2026-02-30T10:00:00+01:00"), encoding="utf-8")
    result = run("--repo", str(desk), "validate")
    assert result.exit_code == 4, result.output
    assert "is not a valid time" in result.output
    for args in (["show", case_id], ["log", case_id, "x"]):
        done = act(desk, *args)
        assert done.exit_code == 4 and "internal error" not in done.output


@pytest.mark.parametrize("old, new, field", [
    ("agents:\n", "agents:\n  1234:\n    name: Nummer\n    email: n@x.no\n", "(file)"),
    ("timezone: Europe/Oslo", "timezone: Mars/Olympus", "desk.timezone"),
])
def test_hand_edits_to_casectl_yaml_are_reported_not_crashed_on(desk, old, new, field):
    edit(desk / "casectl.yaml", old, new)
    result = run("--repo", str(desk), "validate", "--format", "json")
    assert result.exit_code == 4, result.output
    assert [p["field"] for p in json.loads(result.stdout)["problems"]] == [field]
    listed = act(desk, "team", "list")
    assert listed.exit_code == 4 and "internal error" not in listed.output


def test_bytes_that_are_not_utf8_are_a_usage_error(desk):
    case_id = new_case(desk)
    before = commit_count(desk)
    assert act(desk, "log", case_id, "abc\udcff").exit_code == 2
    assert act(desk, "new", "--subject", "x\udcffy").exit_code == 2
    piped = run("--repo", str(desk), "--as", "kari", "log", case_id, "-",
                input=b"abc\xff")  # type: ignore[arg-type]
    assert piped.exit_code == 2 and "not valid UTF-8" in piped.stderr
    assert commit_count(desk) == before


def test_history_reads_trailers_after_a_logged_dashed_line(desk):
    """git interpret-trailers stops at a '---' line; a pasted log may have one."""
    case_id = new_case(desk)
    assert act(desk, "log", case_id, "Feilmelding:\n---\nException in thread main").exit_code == 0
    result = act(desk, "history", case_id, "--format", "json")
    assert result.exit_code == 0
    rows = json.loads(result.stdout)
    assert [row["action"] for row in rows] == ["new", "log"]

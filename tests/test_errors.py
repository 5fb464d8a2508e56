"""Issue 5, item 5: the README's exit codes, the same for the same mistake
whichever command makes it: an empty text is a usage error (2), an unknown
agent is not found (3) however it is named, agent and team ids are read in
any case, and a bug exits 70 with one line saying where its details are."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import (act, git, load_case, new_case, run,
                     run_process, snapshot)


def closed_case(repo: Path) -> str:
    case_id = new_case(repo)
    assert act(repo, "close", case_id, "--solution", "Løst", "--confirmed").exit_code == 0
    return case_id


def usage_error(repo: Path, *args: str, input: str | None = None) -> str:
    """Run a command that must be a usage error and change nothing; its stderr."""
    before = snapshot(repo)
    result = act(repo, *args, input=input)
    assert result.exit_code == 2, result.output
    assert result.stdout == "" and "Traceback" not in result.output
    assert snapshot(repo) == before
    return result.stderr


# ---------------------------------------------------------------- empty texts

# Every text option, given empty: one kind of mistake, one exit code, the
# one an empty log text and an empty --subject always had.
EMPTY_TEXTS = {
    "close --solution": ("close", "{id}", "--solution", ""),
    "close --confirmed --solution": ("close", "{id}", "--solution", " \n", "--confirmed"),
    "reject --reason": ("reject", "{id}", "--reason", "  "),
    "handover --note": ("handover", "{id}", "--to", "per", "--note", ""),
    "assign --note": ("assign", "{id}", "--to", "per", "--note", " "),
    "take --note": ("take", "{id}", "--note", ""),
    "priority --reason": ("priority", "{id}", "high", "--reason", ""),
    "wait --reason": ("wait", "{id}", "--reason", "\n\n"),
    "start --note": ("start", "{id}", "--note", " "),
    "new --description": ("new", "--subject", "Skrivar", "--description", " "),
}


@pytest.mark.parametrize("args", EMPTY_TEXTS.values(), ids=EMPTY_TEXTS.keys())
def test_an_empty_text_is_a_usage_error_in_every_command(desk, args):
    case_id = new_case(desk)
    stderr = usage_error(desk, *(a.format(id=case_id) for a in args))
    assert re.search(r"casectl: the [\w' ]+ is empty", stderr), stderr


def test_an_empty_reopen_reason_is_a_usage_error(desk):
    case_id = closed_case(desk)
    assert "the reason is empty" in usage_error(desk, "reopen", case_id, "--reason", "")


def test_an_empty_text_from_standard_input_is_the_same_usage_error(desk):
    case_id = new_case(desk)
    assert "the solution is empty" in usage_error(desk, "close", case_id, "--solution", "-",
                                                  input="\n")
    assert "the log text is empty" in usage_error(desk, "log", case_id, "-", input="")
    # Leaving --solution out is not an empty text: whether it is needed
    # depends on the case (a solved case closes on --confirmed alone).
    result = act(desk, "close", case_id)
    assert result.exit_code == 1 and "close-needs-solution" in result.stderr


# ---------------------------------------------------------------- unknown agents

def test_an_unknown_agent_is_not_found_whichever_option_names_it(desk):
    case_id = new_case(desk)
    before = snapshot(desk)
    by_as = act(desk, "log", case_id, "Hei", agent="nobody")
    by_env = run("--repo", str(desk), "log", case_id, "Hei", env={"CASECTL_AGENT": "nobody"})
    by_to = act(desk, "assign", case_id, "--to", "nobody")
    for result in (by_as, by_env, by_to):
        assert result.exit_code == 3, result.output
        assert "casectl: no agent 'nobody' in casectl.yaml" in result.stderr
        assert "known agents: admin, ingrid, kari, mette, per" in result.stderr
    assert snapshot(desk) == before


def test_agent_ids_are_read_in_any_case(desk):
    case_id = new_case(desk)
    assert act(desk, "log", case_id, "Hei", agent="KARI").exit_code == 0
    assert run("--repo", str(desk), "log", case_id, "Hei igjen",
               env={"CASECTL_AGENT": "Ingrid"}).exit_code == 0
    assert act(desk, "assign", case_id, "--to", "INGRID").exit_code == 0
    case = load_case(desk, case_id)
    assert [e["by"] for e in case["log"][-3:]] == ["kari", "ingrid", "kari"]
    assert case["assignee"] == "ingrid"
    assert git(desk, "log", "-3", "--format=%(trailers:key=Agent,valueonly)").split() == \
        ["kari", "ingrid", "kari"]


def test_team_ids_are_read_in_any_case(desk):
    case_id = new_case(desk, "--team", "Nettverk", "--assignee", "PER")
    case = load_case(desk, case_id)
    assert (case["team"], case["assignee"]) == ("nettverk", "per")
    handed = act(desk, "handover", case_id, "--to", "Klinisk-App", "--note",
                 "Overlevert til Mette")
    assert handed.exit_code == 0, handed.output
    assert load_case(desk, case_id)["team"] == "klinisk-app"


def test_list_filters_read_agents_and_teams_in_any_case(desk):
    case_id = new_case(desk)
    for args in (["--assignee", "KARI"], ["--team", "ServiceDesk"], ["--assignee", "ME"]):
        result = act(desk, "list", "--format", "csv", *args)
        assert result.exit_code == 0, result.output
        assert case_id in result.stdout, args


# ---------------------------------------------------------------- bugs

def test_a_bug_exits_70_with_one_line_saying_where_the_details_are(desk, monkeypatch):
    case_id = new_case(desk)

    def broken(*args, **kwargs):
        raise KeyError("status\nwith a second line")
    monkeypatch.setattr("casectl.app.queries.show", broken)
    result = act(desk, "show", case_id)
    assert result.exit_code == 70
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "bug" in lines[0] and "report it" in lines[0] and "Traceback" not in lines[0]
    report = Path(re.search(r"the details are in (\S+)$", lines[0])[1])
    details = report.read_text(encoding="utf-8")
    assert "Traceback" in details and "KeyError" in details and "broken" in details
    report.unlink()


BROKEN_PROCESS = """
import sys
import casectl.app.queries

def broken(*args, **kwargs):
    raise RuntimeError("boom")

casectl.app.queries.show = broken
sys.argv[0] = "casectl"
from casectl.cli.main import main
main()
"""


def broken_process(*args: str, env: dict[str, str] | None = None
                   ) -> subprocess.CompletedProcess:
    """casectl's real entry point in a process of its own, with a bug planted."""
    return subprocess.run([sys.executable, "-c", BROKEN_PROCESS, *args], capture_output=True,
                          text=True, env={**os.environ, **(env or {})}, timeout=60)


def test_a_bug_in_a_real_process_exits_70_without_a_traceback(desk):
    case_id = new_case(desk)
    done = broken_process("--repo", str(desk), "show", case_id)
    assert done.returncode == 70, done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.splitlines()) == 1
    report = Path(done.stderr.split("the details are in ")[1].strip())
    assert "RuntimeError: boom" in report.read_text(encoding="utf-8")
    report.unlink()
    # A refusal next to it keeps its own code: 70 is for bugs only.
    assert run_process("--repo", str(desk), "--as", "kari", "start", case_id,
                       "--note", "").returncode == 2


def test_a_bug_with_casectl_debug_shows_the_traceback_and_still_exits_70(desk):
    case_id = new_case(desk)
    done = broken_process("--repo", str(desk), "show", case_id, env={"CASECTL_DEBUG": "1"})
    assert done.returncode == 70, done.stderr
    assert "Traceback" in done.stderr and "RuntimeError: boom" in done.stderr

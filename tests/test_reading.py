"""Everyday reading, as a technician at a 100- or 200-column terminal
wants it: case id prefixes wherever an id is taken, a list and a history
that fit the terminal, ages and local times, "unassigned" in plain words,
and help that names what each option wants."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Iterator

import click
import pytest

from helpers import act, case_file, commits, git, head, new_case, run, snapshot
from casectl.cli import cli

T0 = "2026-11-22T08:40:12+01:00"  # a Sunday morning in Oslo
LONG_SUBJECT = ("DIPS Arena: får ikke åpnet pasientjournal etter oppgradering til versjon 23, "
                "gjelder hele kirurgisk post 3 og akuttmottaket")


def at(monkeypatch: pytest.MonkeyPatch, moment: str) -> None:
    """The session clock (CASECTL_NOW) reads ``moment`` from now on."""
    monkeypatch.setenv("CASECTL_NOW", moment)


def unique_prefix(case_id: str, others: list[str]) -> str:
    """The shortest prefix (4 characters at least) no other id starts with."""
    for length in range(4, len(case_id) + 1):
        if not any(other.startswith(case_id[:length]) for other in others):
            return case_id[:length]
    raise AssertionError(f"{case_id} is a prefix of another id")


@pytest.fixture
def twins(desk: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str, str]:
    """Two cases made in the same second (their ids share the time part)
    and one made a year later."""
    at(monkeypatch, T0)
    first = new_case(desk, subject="Skrivar på avdeling 5")
    second = new_case(desk, subject="Skjerm flimrer")
    at(monkeypatch, "2027-12-01T10:00:00+01:00")
    later = new_case(desk, subject="VPN nede")
    return first, second, later


# ---------------------------------------------------------------- id prefixes

def test_a_unique_prefix_is_accepted_wherever_an_id_is(desk, twins, monkeypatch):
    first, second, later = twins
    prefix = unique_prefix(first, [second, later])
    typed = prefix.lower()  # prefixes are read like whole ids: any case, O/I/L as 0/1
    shown = act(desk, "show", typed, "--json")
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.stdout)["id"] == first
    history = act(desk, "history", typed, "--json")
    assert history.exit_code == 0, history.output
    assert [row["kind"] for row in json.loads(history.stdout)] == ["created"]
    steps = [("start",), ("log", "Ringte brukeren"), ("priority", "high"),
             ("wait", "--reason", "Venter på svar"), ("assign", "--to", "ingrid"),
             ("take",), ("handover", "--to", "per", "--note", "Overlevert Per i telefonen"),
             ("close", "--solution", "Ny driver"), ("reopen", "--reason", "Kom tilbake"),
             ("reject", "--reason", "Hører under leverandøren")]
    agent = "kari"
    for command, *rest in steps:
        result = act(desk, command, typed, *rest, agent=agent)
        if command == "handover":
            agent = "per"  # his case to work from here
        assert result.exit_code == 0, (command, result.output)
        assert result.stdout.strip() == first
        assert commits(desk, "-1")[0]["trailers"]["Case"] == first
    assert case_file(desk, first).stem == first
    assert [c["trailers"].get("Action") for c in commits(desk, "-11")][::-1][1:] == \
        ["start", "log", "priority", "wait", "assign", "take", "handover", "solve",
         "reopen", "reject"]
    assert act(desk, "show", unique_prefix(later, [first, second]), "--json").exit_code == 0


def test_an_ambiguous_prefix_is_refused_listing_the_candidates(desk, twins):
    first, second, _ = twins
    shared = next(first[:n] for n in range(len(first), 3, -1) if second.startswith(first[:n]))
    before = snapshot(desk)
    for command in (("show", shared), ("history", shared), ("log", shared, "Hei")):
        result = act(desk, *command)
        assert result.exit_code == 2, result.output
        assert f"case id {shared} is ambiguous" in result.stderr
        assert first in result.stderr and second in result.stderr
        assert "Traceback" not in result.output and result.stdout == ""
    assert snapshot(desk) == before


def test_a_prefix_that_matches_nothing_is_not_found_with_close_matches(desk, twins):
    first, second, later = twins
    prefix = unique_prefix(later, [first, second])
    typo = prefix[:-1] + ("Z" if prefix[-1] != "Z" else "Y")
    result = act(desk, "log", typo, "Hei")
    assert result.exit_code == 3, result.output
    assert f"no case with id {typo}" in result.stderr
    assert f"did you mean {later}?" in result.stderr


def test_a_prefix_shorter_than_four_characters_is_a_usage_error(desk, twins):
    result = act(desk, "show", twins[0][:3])
    assert result.exit_code == 2, result.output
    assert "too short" in result.stderr and "at least 4" in result.stderr


# ---------------------------------------------------------------- list

def test_list_subject_uses_the_terminal_width(desk):
    case_id = new_case(desk, subject=LONG_SUBJECT)
    wide = run("--repo", str(desk), "list", env={"COLUMNS": "200"})
    assert wide.exit_code == 0, wide.output
    assert LONG_SUBJECT in wide.stdout
    assert max(len(line) for line in wide.stdout.splitlines()) <= 200
    narrow = run("--repo", str(desk), "list", env={"COLUMNS": "100"}).stdout.splitlines()
    assert max(len(line) for line in narrow) == 100
    assert narrow[2].startswith(case_id) and narrow[2].endswith("…")


def test_list_without_a_terminal_lays_out_for_100_columns(desk, monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    new_case(desk, subject=LONG_SUBJECT)
    lines = run("--repo", str(desk), "list").stdout.splitlines()  # stdout is no terminal here
    assert max(len(line) for line in lines) == 100


def test_list_shows_how_long_ago_each_case_changed(desk, monkeypatch):
    at(monkeypatch, T0)
    old = new_case(desk, subject="Skrivar")
    fresh = new_case(desk, subject="Skjerm")
    at(monkeypatch, "2026-11-24T08:00:00+01:00")
    assert act(desk, "log", fresh, "Ringte").exit_code == 0
    at(monkeypatch, "2026-11-24T11:10:00+01:00")
    table = act(desk, "list", "--sort", "id").stdout.splitlines()
    assert table[0].split() == ["id", "status", "priority", "type", "team", "assignee",
                                "updated", "due", "subject"]
    ages = {line.split()[0]: line.split()[6] for line in table[2:]}
    assert ages == {old: "2d", fresh: "3h"}
    # Machines get the stored time, not an age.
    rows = json.loads(act(desk, "list", "--json").stdout)
    assert {row["id"]: row["updated"] for row in rows}[old] == T0


def test_empty_list_says_how_to_see_closed_cases(desk):
    assert act(desk, "list").stdout.strip() == \
        "no open cases; 'casectl list --all' shows closed ones too"
    assert act(desk, "list", "--team", "nettverk").stdout.strip() == \
        "no open cases match these filters; 'casectl list --all' shows closed ones too"
    assert act(desk, "list", "--closed").stdout.strip() == "no closed or rejected cases"
    assert json.loads(act(desk, "list", "--json").stdout) == []
    assert act(desk, "list", "--format", "yaml").stdout.strip() == "[]"
    assert act(desk, "list", "--format", "csv").stdout.count("\n") == 1  # the header only


# ---------------------------------------------------------------- show

def test_show_gives_local_times_and_lifecycle_durations(desk, monkeypatch):
    at(monkeypatch, "2026-11-22T07:40:12Z")  # UTC in, the desk's Oslo time out
    case_id = new_case(desk)
    at(monkeypatch, "2026-11-22T08:42:30+01:00")
    assert act(desk, "start", case_id).exit_code == 0
    at(monkeypatch, "2026-11-22T16:31:00+01:00")
    assert act(desk, "close", case_id, "--solution", "Ny profil").exit_code == 0
    at(monkeypatch, "2026-11-23T09:00:00+01:00")
    assert act(desk, "close", case_id, "--confirmed").exit_code == 0
    at(monkeypatch, "2026-11-25T09:00:00+01:00")
    out = act(desk, "show", case_id).stdout
    lines = [line.strip() for line in out.splitlines()]
    assert "created  2026-11-22 08:40" in lines
    assert "started  2026-11-22 08:42  2m after creation" in lines
    assert "solved   2026-11-22 16:31  7h 48m after start" in lines
    assert "closed   2026-11-23 09:00  16h 29m after solved" in lines
    assert "updated  2026-11-23 09:00  2d ago" in lines
    assert "2026-11-22 08:42  kari" in lines  # the log too
    assert "+01:00" not in out and "T08:40" not in out


def test_show_an_open_case_says_how_long_it_has_been_open(desk, monkeypatch):
    at(monkeypatch, T0)
    case_id = new_case(desk)
    at(monkeypatch, "2026-11-22T11:45:00+01:00")
    lines = [line.strip() for line in act(desk, "show", case_id).stdout.splitlines()]
    assert "created  2026-11-22 08:40  open for 3h 4m" in lines


def test_show_and_the_log_say_unassigned(desk):
    case_id = new_case(desk)
    assert act(desk, "assign", case_id, "--team", "nettverk").exit_code == 0
    out = act(desk, "show", case_id).stdout
    assert "team nettverk  unassigned" in out
    assert "to team nettverk's queue, unassigned" in out
    assert "(none)" not in out and "assignee -" not in out
    texts = [row["text"] for row in json.loads(act(desk, "history", case_id, "--json").stdout)]
    assert texts[-1] == "to team nettverk's queue, unassigned"


# ---------------------------------------------------------------- history

def test_history_names_the_author_of_a_hand_edit(desk):
    case_id = new_case(desk)
    path = case_file(desk, case_id)
    path.write_text(path.read_text(encoding="utf-8") + "# sett av revisor\n", encoding="utf-8")
    git(desk, "-c", "user.name=Revisor Rask", "-c", "user.email=revisor@example.no",
        "commit", "-qam", "Hand edit")
    sha = head(desk)
    table = run("--repo", str(desk), "history", case_id, env={"COLUMNS": "200"}).stdout
    hand = next(line for line in table.splitlines() if sha[:10] in line)
    assert "hand edit by Revisor Rask <revisor@example.no>" in hand
    rows = json.loads(act(desk, "history", case_id, "--json").stdout)
    assert rows[-1]["author"] == "Revisor Rask" and rows[-1]["by"] is None


def test_history_fits_the_terminal(desk):
    case_id = new_case(desk)
    text = "Ringte brukeren: " + "profilen var låst etter flytting til ny avdeling " * 3
    assert act(desk, "log", case_id, text).exit_code == 0
    wide = run("--repo", str(desk), "history", case_id, env={"COLUMNS": "200"}).stdout
    assert max(len(line) for line in wide.splitlines()) == 200
    narrow = run("--repo", str(desk), "history", case_id, env={"COLUMNS": "100"}).stdout
    assert max(len(line) for line in narrow.splitlines()) == 100
    assert re.search(r"^\d{4}-\d\d-\d\d \d\d:\d\d  kari", narrow.splitlines()[2])


# ---------------------------------------------------------------- help

def _commands(group: click.Group, path: tuple[str, ...] = ()
              ) -> Iterator[tuple[tuple[str, ...], click.Command]]:
    ctx = click.Context(group)  # the top group loads its commands lazily
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if isinstance(command, click.Group):
            yield from _commands(command, (*path, name))
        else:
            yield (*path, name), command


# What an option or argument of this name holds, as help should say it.
WANTED = {"team": "TEAM", "teams": "TEAM", "to": "AGENT", "assignee": "AGENT",
          "as_agent": "AGENT", "case_id": "ID", "agent_id": "AGENT", "team_id": "TEAM",
          "category": "CATEGORY"}


def test_help_names_agent_team_and_id_in_every_command():
    checked = 0
    for path, command in _commands(cli):
        out = run(*path, "--help").stdout
        for param in command.params:
            wanted = WANTED.get(param.name or "")
            if wanted is None:
                continue
            checked += 1
            if isinstance(param, click.Argument):
                usage = out.splitlines()[0]
                assert re.search(rf"\b{wanted}\b", usage), (path, param.name, usage)
                continue
            shown = re.search(rf"^\s+(?:-\w, )?{re.escape(param.opts[0])}[ =](\S+)", out,
                              re.MULTILINE)
            assert shown and wanted in shown.group(1), (path, param.name, shown and
                                                        shown.group(1))
    assert checked >= 20

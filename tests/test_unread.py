"""Unread replies [seed 000]: `log --from-reporter` records what the reporter
said and marks the case unread for its agent until that agent shows it.
Read markers are per agent and local (.git/casectl), never committed."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

from helpers import act, commits, git, grant, load_case, new_case, snapshot


def reply(repo: Path, case_id: str, text: str, agent: str = "ingrid") -> None:
    result = act(repo, "log", case_id, text, "--from-reporter", agent=agent)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == case_id


def unread(repo: Path, agent: str, *args: str) -> list[str]:
    result = act(repo, "list", "--unread", "--json", *args, agent=agent)
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert all(row["unread"] for row in rows)
    return [row["id"] for row in rows]


def test_a_reply_is_the_reporters_words_visible_to_them(desk: Path) -> None:
    case_id = new_case(desk)
    reply(desk, case_id, "Det virker fortsatt ikke etter omstart")
    event = load_case(desk, case_id)["log"][-1]
    assert (event["kind"], event["public"], event["by"], event["data"]) == (
        "reply", True, "ingrid", {"text": "Det virker fortsatt ikke etter omstart",
                                  "from": "reporter"})
    latest = commits(desk)[0]
    assert latest["trailers"] == {"Case": case_id, "Action": "reply", "Agent": "ingrid"}
    history = json.loads(act(desk, "history", case_id, "--json").stdout)
    assert history[-1]["text"] == "the reporter said: Det virker fortsatt ikke etter omstart"


def test_unread_for_the_assignee_until_they_show_it(desk: Path) -> None:
    case_id = new_case(desk)
    other = new_case(desk, subject="Annen sak")
    assert unread(desk, "kari") == []
    reply(desk, case_id, "Skjermen er svart igjen")
    assert unread(desk, "kari") == [case_id]
    assert unread(desk, "ingrid") == []  # not her case; and she typed it in
    rows = json.loads(act(desk, "list", "--json").stdout)
    assert {row["id"]: row["unread"] for row in rows} == {case_id: True, other: False}
    # Showing it as someone else does not mark it read for kari.
    assert act(desk, "show", case_id, agent="per").exit_code == 0
    assert unread(desk, "kari") == [case_id]
    assert act(desk, "show", case_id.lower(), agent="kari").exit_code == 0
    assert unread(desk, "kari") == []
    reply(desk, case_id, "Nå virker det ikke igjen")
    assert unread(desk, "kari") == [case_id]
    assert act(desk, "show", case_id, "--json", agent="kari").exit_code == 0
    assert unread(desk, "kari") == []


def test_a_reply_the_assignee_types_in_is_read_already(desk: Path) -> None:
    case_id = new_case(desk)
    reply(desk, case_id, "Ringte og sa at det virker", agent="kari")
    assert unread(desk, "kari") == []


def test_a_case_handed_on_is_unread_for_its_new_agent(desk: Path) -> None:
    grant(desk, "per", "receiver")  # he answers the shared inbox, for any case
    case_id = new_case(desk)
    reply(desk, case_id, "Fortsatt feil", agent="per")
    assert act(desk, "show", case_id, agent="kari").exit_code == 0
    assert act(desk, "assign", case_id, "--to", "ingrid").exit_code == 0
    assert unread(desk, "ingrid") == [case_id]
    assert unread(desk, "kari") == []
    assert unread(desk, "kari", "--assignee", "ingrid") == []  # unread is for the one looking


def test_markers_are_local_and_never_committed(desk: Path) -> None:
    case_id = new_case(desk)
    reply(desk, case_id, "Hei")
    assert act(desk, "show", case_id, agent="kari").exit_code == 0
    assert git(desk, "status", "--porcelain") == ""
    assert not [p for p in git(desk, "log", "--all", "--name-only", "--format=").split()
                if "reads" in p]
    state = Path(git(desk, "rev-parse", "--git-dir").strip())
    state = (state if state.is_absolute() else desk / state) / "casectl"
    assert (state / "reads.sqlite").is_file()
    # The query index is derived and may be thrown away; the markers stay.
    for name in os.listdir(state):
        if name.startswith("index.sqlite"):
            (state / name).unlink()
    assert unread(desk, "kari") == []
    # A clone has no markers: unread there until shown there.
    clone = desk.parent / "clone"
    subprocess.run(["git", "clone", "-q", str(desk), str(clone)], check=True)
    assert unread(clone, "kari") == [case_id]


def test_limit_and_other_filters_apply_to_unread(desk: Path) -> None:
    ids = [new_case(desk, subject=f"Sak {n}") for n in range(3)]
    for case_id in ids:
        reply(desk, case_id, "Svar")
    assert sorted(unread(desk, "kari")) == sorted(ids)
    assert len(unread(desk, "kari", "--limit", "2")) == 2
    assert unread(desk, "kari", "--closed") == []
    assert act(desk, "list", "--unread", agent="kari").stdout.count("*") == 3


def test_plain_marker_when_not_a_terminal(desk: Path) -> None:
    case_id = new_case(desk)
    other = new_case(desk, subject="Annen sak")
    reply(desk, case_id, "Svar")
    lines = act(desk, "list", agent="kari").stdout.splitlines()
    assert [line.split()[0] for line in lines[2:]] == [f"*{case_id}", other]
    assert "\x1b[" not in act(desk, "list", agent="kari").stdout
    assert act(desk, "list", "--unread", agent="per").stdout.strip() == "no unread cases"


def on_a_terminal(repo: Path, *args: str, env: dict[str, str] | None = None) -> str:
    """casectl as a real process whose standard output is a terminal."""
    master, slave = pty.openpty()
    try:
        subprocess.run([sys.executable, "-m", "casectl", "--repo", str(repo), "--as", "kari",
                        *args], stdout=slave, stderr=subprocess.PIPE, timeout=60,
                       env={**os.environ, "COLUMNS": "100", **(env or {})}, check=True)
    finally:
        os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the terminal has no writer left
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    return b"".join(chunks).decode().replace("\r\n", "\n")


def test_bold_on_a_terminal_unless_no_color(desk: Path) -> None:
    case_id = new_case(desk)
    other = new_case(desk, subject="Annen sak")
    reply(desk, case_id, "Svar")
    shown = on_a_terminal(desk, "list")
    bold = [line for line in shown.splitlines() if line.startswith("\x1b[1m")]
    assert len(bold) == 1 and case_id in bold[0] and bold[0].endswith("\x1b[0m")
    assert f"*{case_id}" not in shown and other in shown
    plain = on_a_terminal(desk, "list", env={"NO_COLOR": "1"})
    assert "\x1b[" not in plain and f"*{case_id}" in plain


def test_from_reporter_excludes_internal_and_email(desk: Path) -> None:
    case_id = new_case(desk, "--reporter", "Ola <ola@example.no>")
    before = snapshot(desk)
    for flag in ("--internal", "--email"):
        result = act(desk, "log", case_id, "x", "--from-reporter", flag)
        assert result.exit_code == 2 and "exclude each other" in result.stderr
    assert snapshot(desk) == before
    assert act(desk, "close", case_id, "--solution", "Løst", "--confirmed").exit_code == 0
    result = act(desk, "log", case_id, "Takk", "--from-reporter")
    assert result.exit_code == 1 and "reopen" in result.stderr

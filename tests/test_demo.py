"""`make demo` is the project's main job: it must run from a fresh clone and
show a whole, valid case lifecycle."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

from helpers import git

PROJECT = Path(__file__).resolve().parent.parent


def test_demo_plays_a_whole_lifecycle(tmp_path: Path) -> None:
    desk = tmp_path / "demo-desk"
    env = {**os.environ, "CASECTL_DEMO_DIR": str(desk),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(["bash", str(PROJECT / "tools" / "demo.sh")], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr

    files = sorted(desk.glob("cases/*/*/*.yaml"))
    cases = [yaml.safe_load(f.read_text(encoding="utf-8")) for f in files]
    closed = next(c for c in cases if c["status"] == "closed")
    kinds = [event["kind"] for event in closed["log"]]
    assert kinds == ["created", "priority_set", "status_changed", "worklog", "note",
                     "task_added", "task_done", "taken", "handed_over", "taken", "email",
                     "closed"]
    assert closed["fields"] == {"epj": "EPJ-48213", "kommune": "Tromsø"}
    assert closed["solution"] and closed["team"] == "klinisk-app"
    # A task delegated to another team and done there; the owner stayed responsible.
    [task] = closed["tasks"]
    assert (task["to"], task["to_kind"], task["status"], task["done_by"]) == \
        ("tilgang", "team", "done", "ola")
    # Fixed dates on a working Tuesday: the same SLA clock every day the demo runs.
    assert closed["created"].startswith("2026-11-24T08:40:")
    config = yaml.safe_load((desk / "casectl.yaml").read_text(encoding="utf-8"))
    assert config["calendar"]["country"] == "NO"

    log = git(desk, "log", "--format=%an|%(trailers:key=Action,valueonly,separator=)",
              "--", str(files[cases.index(closed)].relative_to(desk)))
    assert log.splitlines()[::-1] == [
        "Kari Nordmann|new", "Kari Nordmann|priority", "Kari Nordmann|start",
        "Kari Nordmann|log", "Kari Nordmann|note", "Kari Nordmann|task-add",
        "Ola Berg|task-done", "Ingrid Solberg|take", "Ingrid Solberg|handover",
        "Mette Johansen|take", "Mette Johansen|email", "Mette Johansen|close"]
    # What the demo shows: the task, the SLA clock, the list with its due
    # column, the case, its history, git log, validation.
    for shown in ("$ casectl task add", "$ casectl task done", "$ casectl list",
                  "$ casectl show", "$ casectl history", "Action: close", "all valid"):
        assert shown in done.stdout
    clock = done.stdout.split(f"$ casectl sla {closed['id']}\n", 1)[1].split("\n\n", 1)[0]
    # Reaction: high since 08:41, 30 minutes from arrival at 08:40, met by
    # the start at 08:42:30. Resolution: 8 working hours from 08:40 (380
    # minutes on Tuesday, 100 on Wednesday), 1h 40m left at 15:25.
    assert clock.splitlines()[0].split() == [closed["id"], "level", "bronze", "priority",
                                             "high"]
    rows = {line.split()[0]: line.split()[1:] for line in clock.splitlines()[3:]}
    assert rows == {
        "reaction": ["30m", "2026-11-24", "09:10", "2026-11-24", "08:42", "met", "27m"],
        "resolution": ["8h", "2026-11-25", "10:10", "running", "1h", "40m", "0m"]}
    table = done.stdout.split("$ casectl list\n", 1)[1].split("$ casectl", 1)[0]
    header, _, *rows = table.strip().splitlines()
    assert len(rows) == 2  # the case by mail (medium) and the printer case (low)
    row = next(line for line in rows if line.split()[2] == "low")
    assert header.split()[6:8] == ["updated", "due"]
    # low: 5 working days from 16:45, due next Tuesday at 15:00 (6 days 22 hours)
    assert row.split()[2] == "low" and row.split()[7] == "6d"
    # Mail out: each mailing action queued its mail, its Message-ID in the case.
    queued = sorted((desk / ".git" / "casectl" / "outbox" / "new").iterdir())
    kinds = [next(line.split(": ")[1] for line in path.read_text().splitlines()
                  if line.startswith("X-Casectl-Mail: ")) for path in queued]
    assert kinds == ["notify", "task", "notify", "email", "solution"]
    # A case arrived by mail: registered by the intake identity, waiting in
    # the servicedesk queue, its reporter's notification in the outbox.
    by_mail = next(c for c in cases if c["log"][0]["by"] == "intake")
    assert by_mail["reporter"]["email"] == "per.hagensen@hammerfest.kommune.example.no"
    assert by_mail["subject"] == "Skriveren på legekontoret skriver bare blanke ark"
    assert by_mail["team"] == "servicedesk" and by_mail.get("assignee") is None
    notified = [path.read_text() for path in queued if "X-Casectl-Case: " + by_mail["id"]
                in path.read_text()]
    assert len(notified) == 1
    assert "In-Reply-To: <20261124110412.4711@hammerfest.kommune.example.no>" in notified[0]
    assert closed["log"][0]["data"]["message_id"].startswith(f"<casectl.{closed['id']}.")
    assert "$ casectl outbox list" in done.stdout and " notify " in done.stdout


def test_the_readme_tour_runs_as_written(tmp_path: Path) -> None:
    """The README's short tour is a script; keep it one that works."""
    readme = (PROJECT / "README.md").read_text(encoding="utf-8")
    tour = readme.split("## A short tour", 1)[1].split("\n## ", 1)[0]
    script = "\n".join(line[4:] for line in tour.splitlines() if line.startswith("    "))
    assert "casectl init" in script and "casectl validate" in script
    env = {**os.environ,
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    done = subprocess.run(["bash", "-e", "-c", script], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "all valid" in done.stdout
    closed = yaml.safe_load(next((tmp_path / "helse-nord").glob("cases/*/*/*.yaml")).read_text())
    assert closed["status"] == "closed" and closed["assignee"] == "mette"
    assert closed["team"] == "klinisk-app"

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
    assert kinds == ["created", "status_changed", "worklog", "note", "priority_set", "taken",
                     "handed_over", "taken", "email", "closed"]
    assert closed["fields"] == {"epj": "EPJ-48213", "kommune": "Tromsø"}
    assert closed["solution"] and closed["team"] == "klinisk-app"

    log = git(desk, "log", "--format=%an|%(trailers:key=Action,valueonly,separator=)",
              "--", str(files[cases.index(closed)].relative_to(desk)))
    assert log.splitlines()[::-1] == [
        "Kari Nordmann|new", "Kari Nordmann|start", "Kari Nordmann|log", "Kari Nordmann|note",
        "Kari Nordmann|priority", "Ingrid Solberg|take", "Ingrid Solberg|handover",
        "Mette Johansen|take", "Mette Johansen|email", "Mette Johansen|close"]
    # What the demo shows: the list, the case, its history, git log, validation.
    for shown in ("$ casectl list", "$ casectl show", "$ casectl history", "Action: close",
                  "all valid"):
        assert shown in done.stdout


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

"""The README's "Working as a team" set-up, command for command, on real
repositories: a bare remote with the hook, roles granted, two technicians'
clones syncing, and the hook refusing what the client would have refused."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from helpers import git, load_case, load_yaml

BIN = str(Path(sys.executable).parent)


def sh(cwd: Path, *args: str, ok: bool = True, **env: str) -> subprocess.CompletedProcess[str]:
    """A command as a technician types it, casectl from this virtualenv on PATH."""
    done = subprocess.run(list(args), cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, "PATH": BIN + os.pathsep + os.environ["PATH"],
                               "CASECTL_NOW": "2026-11-24T09:00:00+01:00", **env})
    if ok:
        assert done.returncode == 0, (args, done.stdout, done.stderr)
    return done


@pytest.fixture
def team(tmp_path: Path) -> tuple[Path, Path, Path]:
    """The README's steps: desk, bare remote with the hook, roles, two clones."""
    srv = tmp_path / "srv" / "helse-nord.git"
    srv.parent.mkdir()
    sh(tmp_path, "casectl", "init", "helse-nord", "--desk", "Helse Nord IKT")
    desk = tmp_path / "helse-nord"
    sh(desk, "casectl", "team", "add", "servicedesk")
    sh(desk, "casectl", "agent", "add", "ase", "--name", "Åse Lund", "--email",
       "ase@helse-nord.example.no")
    for agent, name in (("kari", "Kari Nordmann"), ("ingrid", "Ingrid Solberg")):
        sh(desk, "casectl", "--as", "ase", "agent", "add", agent, "--name", name, "--email",
           f"{agent}@helse-nord.example.no", "--team", "servicedesk", "--role", "handler",
           "--role", "receiver")
    sh(tmp_path, "git", "init", "-q", "--bare", "-b", "main", str(srv))
    sh(tmp_path, "casectl", "hook", "install", "--bare", str(srv))
    sh(desk, "git", "remote", "add", "origin", str(srv))
    sh(desk, "git", "push", "-q", "-u", "origin", "main")
    sh(desk, "casectl", "--as", "ase", "agent", "set", "ase", "--add-role", "admin",
       "--add-role", "permission-admin")
    sh(desk, "casectl", "--as", "ase", "sync")
    clones = []
    for agent in ("kari", "ingrid"):
        sh(tmp_path, "git", "clone", "-q", str(srv), agent)
        clone = tmp_path / agent
        sh(clone, "git", "config", "user.name", agent.title())
        sh(clone, "git", "config", "user.email", f"{agent}@helse-nord.example.no")
        sh(clone, "casectl", "list", "--assignee", "me")
        clones.append(clone)
    return srv, clones[0], clones[1]


def test_two_technicians_work_one_case_through_the_hook(team: tuple[Path, Path, Path]) -> None:
    srv, kari, ingrid = team
    assert "merge.casectl.driver" in git(kari, "config", "--list")
    case_id = sh(kari, "casectl", "new", "--subject", "Skriver på post 3").stdout.strip()
    sh(kari, "casectl", "sync")
    sh(ingrid, "casectl", "sync")
    sh(ingrid, "casectl", "log", case_id, "Toner byttet")
    sh(kari, "casectl", "log", case_id, "Ringte brukeren")
    sh(ingrid, "casectl", "sync")
    sh(kari, "casectl", "sync")  # the same case changed in both: merged by events
    sh(ingrid, "casectl", "sync")
    logs = [load_case(clone, case_id)["log"] for clone in (kari, ingrid)]
    assert logs[0] == logs[1] and len(logs[0]) == 3
    for clone in (kari, ingrid):
        assert sh(clone, "casectl", "audit").returncode == 0
        assert sh(clone, "casectl", "validate").returncode == 0
    # The committer is the technician; the author the agent.
    assert git(kari, "log", "-1", "--format=%an|%cn", "--grep", "Ringte").strip() == \
        "Kari Nordmann|Kari"


def test_the_hook_refuses_what_the_client_would_have_refused(team: tuple[Path, Path, Path]
                                                              ) -> None:
    srv, kari, _ = team
    # Kari, a handler, changes the desk by hand (the client refuses her): the
    # server refuses the push, and its reason reaches her terminal.
    refused = sh(kari, "casectl", "team", "add", "drift", ok=False)
    assert refused.returncode == 1 and "takes the role admin" in refused.stderr
    config = load_yaml(kari / "casectl.yaml")
    config["teams"]["drift"] = {"name": "Drift"}
    import yaml

    (kari / "casectl.yaml").write_text(yaml.safe_dump(config, allow_unicode=True))
    sh(kari, "git", "commit", "-qam", "casectl team-add: drift\n\nAction: team-add\nAgent: kari")
    pushed = sh(kari, "git", "push", "origin", "HEAD:main", ok=False, CASECTL_PUSHER="kari")
    assert pushed.returncode != 0
    assert "remote: casectl: push refused" in pushed.stderr
    assert "admin" in pushed.stderr
    assert "drift" not in git(srv, "show", "main:casectl.yaml")

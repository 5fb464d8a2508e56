"""Shared fixtures: every test runs against real temporary git repositories,
isolated from the machine (pinned git config, no $HOME, no identity unless a
test sets one)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

import pytest
from click.testing import CliRunner, Result

from casectl.cli import cli

AGENTS = {
    "kari": ("Kari Nordmann", "kari@helse.example.no", ["servicedesk"], ["receiver", "handler"]),
    "ingrid": ("Ingrid Solberg", "ingrid@helse.example.no", ["servicedesk"], ["handler"]),
    "per": ("Per Hansen", "per@helse.example.no", ["nettverk"], ["handler"]),
    "mette": ("Mette Jørgensen", "mette@region.example.dk", ["klinisk-app"], ["handler"]),
    "admin": ("Åse Admin", "ase@helse.example.no", [], ["admin", "permission-admin"]),
}
TEAMS = {"servicedesk": "Servicedesk", "nettverk": "Nettverk", "klinisk-app":
         "Kliniske applikasjoner"}


@pytest.fixture(autouse=True)
def isolated(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path_factory.mktemp("home")
    (home / ".gitconfig").write_text("")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("LC_ALL", "C.UTF-8")
    for name in list(os.environ):
        if name.startswith(("CASECTL_", "GIT_AUTHOR", "GIT_COMMITTER", "EMAIL")):
            monkeypatch.delenv(name)
    return home


def run(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
    """casectl in-process through Click's runner; stdout and stderr apart."""
    return CliRunner().invoke(cli, list(args), input=input, env=env, catch_exceptions=False)


def run_process(*args: str, input: str | None = None, env: dict[str, str] | None = None,
                cwd: Path | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    """casectl as a real process, as a technician's shell or script runs it."""
    return subprocess.run([sys.executable, "-m", "casectl", *args], input=input,
                          capture_output=True, text=True, env={**os.environ, **(env or {})},
                          cwd=cwd, timeout=timeout)


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True,
                          check=True).stdout


@pytest.fixture
def cli_run() -> Callable[..., Result]:
    return run


@pytest.fixture
def empty_repo(tmp_path: Path) -> Path:
    """`casectl init` with no teams or agents: one person working alone."""
    root = tmp_path / "desk"
    result = run("init", str(root), "--desk", "Testdesk")
    assert result.exit_code == 0, result.output
    return root


@pytest.fixture
def desk(empty_repo: Path) -> Path:
    """A case repository with teams and agents (see AGENTS and TEAMS)."""
    for team_id, name in TEAMS.items():
        result = run("--repo", str(empty_repo), "team", "add", team_id, "--name", name)
        assert result.exit_code == 0, result.output
    for agent_id, (name, email, teams, roles) in AGENTS.items():
        # The first agent is added while none is listed; from then on an agent acts.
        acting = [] if agent_id == "kari" else ["--as", "kari"]
        args = ["--repo", str(empty_repo), *acting, "agent", "add", agent_id, "--name", name,
                "--email", email]
        args += [f"--team={team}" for team in teams] + [f"--role={role}" for role in roles]
        result = run(*args)
        assert result.exit_code == 0, result.output
    return empty_repo


def new_case(repo: Path, *extra: str, agent: str = "kari", subject: str = "DIPS starter ikke"
             ) -> str:
    result = run("--repo", str(repo), "--as", agent, "new", "--subject", subject, *extra)
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


def act(repo: Path, *args: str, agent: str = "kari", input: str | None = None) -> Result:
    return run("--repo", str(repo), "--as", agent, *args, input=input)


def case_file(repo: Path, case_id: str) -> Path:
    matches = list((repo / "cases").glob(f"*/*/{case_id}.yaml"))
    assert len(matches) == 1, matches
    return matches[0]


def load_case(repo: Path, case_id: str) -> dict[str, Any]:
    import yaml

    return yaml.safe_load(case_file(repo, case_id).read_text(encoding="utf-8"))

"""Test helpers shared by every test module: running casectl (in-process
and as a real process), building case repositories, reading git and case
files. Imported as ``from helpers import ...``; conftest.py holds only the
pytest fixtures built from these."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml
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


# ---------------------------------------------------------------- isolation

@contextlib.contextmanager
def isolated_env(home: Path) -> Iterator[pytest.MonkeyPatch]:
    """The tests' isolation from the machine, undone on leaving: $HOME is
    ``home`` with an empty .gitconfig, no system git config, a UTF-8 locale,
    a 100-column terminal, and no CASECTL_*, GIT_AUTHOR*, GIT_COMMITTER* or
    EMAIL variables. Yields the MonkeyPatch, for more changes that are undone
    with these."""
    (home / ".gitconfig").write_text("")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HOME", str(home))
        mp.setenv("GIT_CONFIG_GLOBAL", str(home / ".gitconfig"))
        mp.setenv("GIT_CONFIG_NOSYSTEM", "1")
        mp.setenv("LC_ALL", "C.UTF-8")
        mp.setenv("COLUMNS", "100")  # tables fit the terminal: the same one for every run
        for name in list(os.environ):
            if name.startswith(("CASECTL_", "GIT_AUTHOR", "GIT_COMMITTER", "EMAIL")):
                mp.delenv(name)
        yield mp


# ---------------------------------------------------------------- running casectl

def run(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
    """casectl in-process through Click's runner; stdout and stderr apart."""
    return CliRunner().invoke(cli, list(args), input=input, env=env, catch_exceptions=False)


def run_process(*args: str, input: str | None = None, env: dict[str, str] | None = None,
                cwd: Path | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    """casectl as a real process, as a technician's shell or script runs it."""
    return subprocess.run([sys.executable, "-m", "casectl", *args], input=input,
                          capture_output=True, text=True, env={**os.environ, **(env or {})},
                          cwd=cwd, timeout=timeout)


def act(repo: Path, *args: str, agent: str = "kari", input: str | None = None) -> Result:
    """A command in ``repo`` by ``agent``, in-process."""
    return run("--repo", str(repo), "--as", agent, *args, input=input)


def act_process(repo: Path, *args: str, agent: str = "kari",
                **kwargs: Any) -> subprocess.CompletedProcess:
    """A command in ``repo`` by ``agent``, as a real process (``run_process``'s
    keywords pass through)."""
    return run_process("--repo", str(repo), "--as", agent, *args, **kwargs)


def grant(repo: Path, agent: str, *roles: str) -> None:
    """Give ``agent`` more roles, as the standard desk's permission-admin."""
    args = [f"--add-role={role}" for role in roles]
    result = run("--repo", str(repo), "--as", "admin", "agent", "set", agent, *args)
    assert result.exit_code == 0, result.output


def new_case(repo: Path, *extra: str, agent: str = "kari", subject: str = "DIPS starter ikke"
             ) -> str:
    """Registers a case (``casectl new``) and gives its id."""
    result = run("--repo", str(repo), "--as", agent, "new", "--subject", subject, *extra)
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


# ---------------------------------------------------------------- repositories

def init_desk(root: Path) -> Path:
    """`casectl init` at ``root`` with no teams or agents."""
    result = run("init", str(root), "--desk", "Testdesk")
    assert result.exit_code == 0, result.output
    return root


def build_desk(root: Path) -> Path:
    """A case repository at ``root`` with the teams and agents of TEAMS and
    AGENTS, added through the command line."""
    init_desk(root)
    for team_id, name in TEAMS.items():
        result = run("--repo", str(root), "team", "add", team_id, "--name", name)
        assert result.exit_code == 0, result.output
    for agent_id, (name, email, teams, roles) in AGENTS.items():
        # The first agent is added while none is listed; from then on an agent acts.
        acting = [] if agent_id == "kari" else ["--as", "kari"]
        args = ["--repo", str(root), *acting, "agent", "add", agent_id, "--name", name,
                "--email", email]
        args += [f"--team={team}" for team in teams] + [f"--role={role}" for role in roles]
        result = run(*args)
        assert result.exit_code == 0, result.output
    return root


def desk_template(factory: pytest.TempPathFactory, name: str) -> Path:
    """``build_desk`` once for a module (for a fixture of module scope, which
    outlives one test's isolation, so it builds in an isolation of its own);
    tests take copies with ``copy_desk``."""
    with isolated_env(factory.mktemp(f"{name}-home")):
        return build_desk(factory.mktemp(name) / "desk")


def copy_desk(template: Path, where: Path) -> Path:
    """A copy of the repository ``template`` (.git and all) at ``where``/desk."""
    root = where / "desk"
    shutil.copytree(template, root, symlinks=True)
    return root


# ---------------------------------------------------------------- git

def git(repo: Path, *args: str) -> str:
    """`git` in ``repo``; its stdout (it must succeed)."""
    return subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True,
                          check=True).stdout


def head(repo: Path) -> str:
    """The commit HEAD names."""
    return git(repo, "rev-parse", "HEAD").strip()


def commit_count(repo: Path) -> int:
    """How many commits HEAD has behind it, itself included."""
    return int(git(repo, "rev-list", "--count", "HEAD").strip())


def commits(repo: Path, *args: str) -> list[dict]:
    """Commits (newest first; ``args`` go to `git log`) with their sha,
    parents, author name, subject and Case/Action/Agent trailers."""
    out = git(repo, "log", "--format=%H%x00%P%x00%an%x00%B%x1e", *args)
    found = []
    for record in out.split("\x1e"):
        record = record.strip("\n")
        if not record:
            continue
        sha, parents, author, body = record.split("\x00")
        trailers = dict(re.findall(r"^(Case|Action|Agent): (.+)$", body, re.MULTILINE))
        found.append({"sha": sha, "parents": parents.split(), "author": author,
                      "subject": body.splitlines()[0], "trailers": trailers})
    return found


def fsck_problems(repo: Path) -> list[str]:
    """What `git fsck --strict` finds wrong (dangling objects are fine)."""
    done = subprocess.run(["git", "fsck", "--strict", "--no-progress"], cwd=repo,
                          capture_output=True, text=True)
    lines = (done.stdout + done.stderr).splitlines()
    bad = [line for line in lines if not line.startswith(("dangling ", "Checking"))]
    if done.returncode != 0 and not bad:
        bad = [f"git fsck exited {done.returncode}"]
    return bad


def snapshot(repo: Path) -> tuple[str, str, dict[str, bytes]]:
    """HEAD, `git status --porcelain` and the bytes of casectl.yaml and every
    case file: equal snapshots mean nothing changed."""
    files = {p.relative_to(repo).as_posix(): p.read_bytes()
             for p in [repo / "casectl.yaml", *sorted((repo / "cases").rglob("*.yaml"))]}
    return (head(repo), git(repo, "status", "--porcelain"), files)


# ---------------------------------------------------------------- case files

def case_file(repo: Path, case_id: str) -> Path:
    """The one file of case ``case_id`` (cases/YYYY/MM/<id>.yaml)."""
    matches = list((repo / "cases").glob(f"*/*/{case_id}.yaml"))
    assert len(matches) == 1, matches
    return matches[0]


def load_yaml(path: Path) -> Any:
    """A YAML file, read as UTF-8 and loaded safely."""
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def load_case(repo: Path, case_id: str) -> dict[str, Any]:
    """Case ``case_id``'s file, loaded."""
    return load_yaml(case_file(repo, case_id))

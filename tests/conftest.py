"""Shared fixtures and helpers: every test runs against real temporary git
repositories, isolated from the machine (pinned git config, no $HOME, no
identity unless a test sets one).

Fixtures (function scope unless said):
- ``isolated`` (autouse): the isolation above for every test; gives the
  temporary $HOME.
- ``cli_run``: the ``run`` helper of tests/helpers, as a fixture.
- ``empty_repo``: ``casectl init`` with no teams or agents.
- ``desk``: a case repository with the teams and agents of TEAMS and AGENTS.

Test modules that want a repository built once per module do it inside
``isolated_env`` (a fixture of module scope outlives one test's isolation)
with ``desk_template``, and give each test its own copy with ``copy_desk``
(as ``desk`` does with the session's ``standard_desk``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

import pytest
from click.testing import Result

from helpers import copy_desk, desk_template, init_desk, isolated_env, run


@pytest.fixture(autouse=True)
def isolated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Every test runs in ``isolated_env``; gives its temporary $HOME."""
    home = tmp_path_factory.mktemp("home")
    with isolated_env(home):
        yield home


@pytest.fixture
def cli_run() -> Callable[..., Result]:
    """The ``run`` helper: casectl in-process."""
    return run


@pytest.fixture
def empty_repo(tmp_path: Path) -> Path:
    """`casectl init` with no teams or agents: one person working alone."""
    return init_desk(tmp_path / "desk")


@pytest.fixture(scope="session")
def standard_desk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The desk of AGENTS and TEAMS, built once per run: tests take copies."""
    return desk_template(tmp_path_factory, "standard")


@pytest.fixture
def desk(tmp_path: Path, standard_desk: Path) -> Path:
    """A case repository with teams and agents (see AGENTS and TEAMS): a
    fresh copy of ``standard_desk``, .git and all."""
    return copy_desk(standard_desk, tmp_path)

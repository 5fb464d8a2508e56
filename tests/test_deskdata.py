"""tools/deskdata, the generator of Nordic desk data that the benchmark and the
example builder share: deterministic for a seed, and what it generates is
what casectl accepts (files that validate, drafts that `casectl new` takes)."""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from casectl import model

from helpers import load_case, run

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
from deskdata.cases import CaseGenerator, Draft  # noqa: E402
from deskdata.desk import ADMIN, setup_commands  # noqa: E402
from deskdata.files import case_file  # noqa: E402

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=ZoneInfo("Europe/Oslo"))


def made_desk(root: Path) -> Path:
    for args in setup_commands(str(root)):
        result = run(*args)
        assert result.exit_code == 0, result.output
    return root


def test_the_same_seed_gives_the_same_cases():
    first, again, other = (CaseGenerator(seed, NOW) for seed in (7, 7, 8))
    plans = [first.plan() for _ in range(30)]
    assert plans == [again.plan() for _ in range(30)]
    assert plans != [other.plan() for _ in range(30)]
    assert first.draft("sv") == again.draft("sv")


@pytest.mark.parametrize("status", model.STATUSES)
def test_a_plan_ends_in_the_status_asked_for(status):
    generator = CaseGenerator(1, NOW)
    for _ in range(20):
        plan = generator.plan(status)
        assert plan.status == status
        assert [step.at for step in plan.steps] == sorted(step.at for step in plan.steps)
        assert plan.steps[-1].at < NOW


def test_generated_case_files_validate(tmp_path):
    root = made_desk(tmp_path / "desk")
    generator = CaseGenerator(2026, NOW)
    plans = [generator.plan(status) for status in model.STATUSES for _ in range(3)]
    plans += [generator.plan() for _ in range(12)]
    for plan in plans:
        rel, text = case_file(plan)
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    result = run("--repo", str(root), "validate")
    assert result.exit_code == 0, result.output
    # Every case file and casectl.yaml.
    assert f"{len(plans) + 1} file(s) checked: all valid" in result.stdout


def test_drafts_are_what_casectl_new_takes(tmp_path):
    root = made_desk(tmp_path / "desk")
    generator = CaseGenerator(5, NOW)
    for lang in ("no", "sv", "da"):
        draft: Draft = generator.draft(lang)
        result = run("--repo", str(root), "--as", ADMIN, *draft.new_args())
        assert result.exit_code == 0, result.output
        case = load_case(root, result.stdout.strip())
        created = dict(draft.created_data(), assignee=draft.assignee or ADMIN)
        assert {key: case[key] for key in created} == created

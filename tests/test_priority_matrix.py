"""Priority from impact and urgency [seed 001]: `new` and `priority` take
--impact and --urgency, and casectl.yaml's priority_matrix (or the default
one) decides; the inputs and the reason are in the event and the commit."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
import yaml

from casectl import triage
from helpers import act, case_file, commits, git, load_case, new_case, snapshot

DEFAULT = {("hospital", "high"): "critical", ("hospital", "normal"): "high",
           ("departments", "high"): "high", ("departments", "normal"): "medium",
           ("user", "high"): "medium", ("user", "normal"): "low"}
CELLS = sorted(DEFAULT)
# A desk that rates everything one step lower than the default, except that
# a single user in a hurry is as urgent as a department (the desk's choice).
CUSTOM = {"hospital": {"high": "high", "normal": "medium"},
          "departments": {"high": "medium", "normal": "low"},
          "user": {"high": "medium", "normal": "low"}}
PHONE = ("--phone", "+47 917 22 418")  # a critical case needs a contact's phone


def edit_config(repo: Path, **changes: object) -> None:
    """Change casectl.yaml by hand, as an admin would, and commit it."""
    path = repo / "casectl.yaml"
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    config.update(changes)
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False),
                    encoding="utf-8")
    git(repo, "-c", "user.name=Åse Admin", "-c", "user.email=ase@helse.example.no",
        "commit", "-q", "-am", "Priority matrix")


def test_the_default_matrix_is_seed_001s() -> None:
    assert {(i, u): triage.DEFAULT_PRIORITY_MATRIX[i][u] for i, u in CELLS} == DEFAULT


@pytest.mark.parametrize("impact,urgency", CELLS)
def test_new_derives_every_default_cell(desk, impact: str, urgency: str) -> None:
    expected = DEFAULT[(impact, urgency)]
    case_id = new_case(desk, "--impact", impact, "--urgency", urgency, *PHONE)
    case = load_case(desk, case_id)
    assert case["priority"] == expected
    created = case["log"][0]
    assert created["kind"] == "created"
    reason = f"impact {impact}, urgency {urgency} -> {expected}"
    assert (created["data"]["priority"], created["data"]["impact"],
            created["data"]["urgency"], created["data"]["priority_reason"]) == \
        (expected, impact, urgency, reason)
    assert commits(desk, "-1")[0]["trailers"] == {"Case": case_id, "Action": "new",
                                                  "Agent": "kari"}
    shown = act(desk, "show", case_id)
    assert reason in shown.stdout
    assert act(desk, "validate").exit_code == 0


@pytest.mark.parametrize("impact,urgency", CELLS)
def test_priority_without_level_derives_every_default_cell(desk, impact: str,
                                                           urgency: str) -> None:
    expected = DEFAULT[(impact, urgency)]
    start = "high" if expected == "low" else "low"
    case_id = new_case(desk, "--priority", start)
    result = act(desk, "priority", case_id, "--impact", impact, "--urgency", urgency)
    assert result.exit_code == 0, result.output
    assert result.stdout == case_id + "\n"
    case = load_case(desk, case_id)
    assert case["priority"] == expected
    event = case["log"][-1]
    reason = f"impact {impact}, urgency {urgency} -> {expected}"
    assert event["kind"] == "priority_set"
    assert event["data"] == {"priority": expected, "previous": start, "reason": reason,
                             "impact": impact, "urgency": urgency}
    last = git(desk, "log", "-1", "--format=%B")
    assert last.startswith(f"{case_id} priority: ") and reason in last


def test_a_custom_matrix_decides_every_cell(desk) -> None:
    edit_config(desk, priority_matrix=CUSTOM)
    assert act(desk, "validate").exit_code == 0
    for impact, urgency in CELLS:
        expected = CUSTOM[impact][urgency]
        case_id = new_case(desk, "--impact", impact, "--urgency", urgency)
        case = load_case(desk, case_id)
        assert case["priority"] == expected, (impact, urgency)
        assert case["log"][0]["data"]["priority_reason"] == \
            f"impact {impact}, urgency {urgency} -> {expected}"
        # and `priority` reads the same matrix
        other = "critical" if expected != "critical" else "low"
        reassessed = new_case(desk, "--priority", other, *PHONE)
        assert act(desk, "priority", reassessed, "--impact", impact, "--urgency",
                   urgency).exit_code == 0
        assert load_case(desk, reassessed)["priority"] == expected


def test_the_users_reason_comes_first(desk) -> None:
    case_id = new_case(desk)
    result = act(desk, "priority", case_id, "--impact", "hospital", "--urgency", "normal",
                 "--reason", "Hele Haukeland uten utskrift")
    assert result.exit_code == 0, result.output
    event = load_case(desk, case_id)["log"][-1]
    assert event["data"]["reason"] == \
        "Hele Haukeland uten utskrift (impact hospital, urgency normal -> high)"


def test_impact_and_urgency_are_case_insensitive(desk) -> None:
    case_id = new_case(desk, "--impact", "Departments", "--urgency", "HIGH")
    data = load_case(desk, case_id)["log"][0]["data"]
    assert (data["priority"], data["impact"], data["urgency"]) == ("high", "departments", "high")


def test_the_json_output_carries_the_inputs(desk) -> None:
    result = act(desk, "new", "--subject", "Nett nede", "--impact", "user", "--urgency",
                 "normal", "--json")
    assert result.exit_code == 0, result.output
    case = json.loads(result.stdout)
    assert case["priority"] == "low"
    assert case["log"][0]["data"]["impact"] == "user"


@pytest.mark.parametrize("args,says", [
    (("--impact", "hospital"), "--urgency is missing"),
    (("--urgency", "high"), "--impact is missing"),
    (("--impact", "hospital", "--urgency", "high", "--priority", "low"), "exclude each other"),
    (("--impact", "everyone", "--urgency", "high"), "'everyone' is not one of"),
    (("--impact", "user", "--urgency", "soon"), "'soon' is not one of"),
])
def test_new_refuses_bad_assessments(desk, args: tuple[str, ...], says: str) -> None:
    before = snapshot(desk)
    result = act(desk, "new", "--subject", "x", *args)
    assert result.exit_code == 2, result.output
    assert says in result.stderr
    assert "Traceback" not in result.output
    assert snapshot(desk) == before


@pytest.mark.parametrize("args,says", [
    ((), "say which priority"),
    (("high", "--impact", "user", "--urgency", "high"), "exclude each other"),
    (("--impact", "user"), "--urgency is missing"),
    (("--urgency", "sometime", "--impact", "user"), "'sometime' is not one of"),
])
def test_priority_refuses_bad_assessments(desk, args: tuple[str, ...], says: str) -> None:
    case_id = new_case(desk)
    before = snapshot(desk)
    result = act(desk, "priority", case_id, *args)
    assert result.exit_code == 2, result.output
    assert says in result.stderr
    assert snapshot(desk) == before


def test_an_assessment_that_changes_nothing_is_refused(desk) -> None:
    case_id = new_case(desk)  # medium
    result = act(desk, "priority", case_id, "--impact", "departments", "--urgency", "normal")
    assert result.exit_code == 1
    assert "refused by rule 'priority-changes'" in result.stderr


def test_a_critical_assessment_at_registration_needs_a_phone(desk) -> None:
    result = act(desk, "new", "--subject", "Hele sykehuset uten nett", "--impact",
                 "hospital", "--urgency", "high")
    assert result.exit_code == 1
    assert "critical-needs-contact-phone" in result.stderr


@pytest.mark.parametrize("matrix,field", [
    ({**CUSTOM, "user": {"high": "urgent", "normal": "low"}}, "priority_matrix"),
    ({"hospital": CUSTOM["hospital"], "departments": CUSTOM["departments"]},
     "priority_matrix"),
    ({**CUSTOM, "user": {"high": "medium"}}, "priority_matrix"),
    ({**CUSTOM, "region": {"high": "high", "normal": "low"}}, "priority_matrix"),
])
def test_validate_checks_the_matrix(desk, matrix: dict, field: str) -> None:
    edit_config(desk, priority_matrix=matrix)
    result = act(desk, "validate")
    assert result.exit_code == 4, result.output
    assert field in result.output
    # and no command acts on a desk whose matrix is broken
    assert act(desk, "new", "--subject", "x").exit_code == 4


def test_validate_checks_the_events(desk) -> None:
    case_id = new_case(desk, "--impact", "user", "--urgency", "high")
    act(desk, "priority", case_id, "--impact", "hospital", "--urgency", "normal")
    assert act(desk, "validate").exit_code == 0
    path = case_file(desk, case_id)
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    doc["log"][1]["data"]["impact"] = "everyone"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    result = act(desk, "validate")
    assert result.exit_code == 4
    assert "log" in result.output


def test_one_source_for_impacts_urgencies_and_competences() -> None:
    """The schemas and the command line's choices agree with casectl/triage.py."""
    from casectl import model
    from casectl.cli import cli

    root = Path(__file__).resolve().parent.parent / "schemas"
    case = json.loads((root / "case.schema.json").read_text(encoding="utf-8"))["$defs"]
    config = json.loads((root / "config.schema.json").read_text(encoding="utf-8"))
    assert tuple(case["impact"]["enum"]) == triage.IMPACTS
    assert tuple(case["urgency"]["enum"]) == triage.URGENCIES
    assert tuple(case["urgent"]["properties"]["competence"]["enum"]) == triage.COMPETENCES
    matrix = config["properties"]["priority_matrix"]
    assert tuple(matrix["properties"]) == triage.IMPACTS
    for row in matrix["properties"].values():
        assert tuple(row["properties"]) == triage.URGENCIES
        assert all(tuple(cell["enum"]) == model.PRIORITIES
                   for cell in row["properties"].values())
    params = {(name, p.opts[0]): p for name in ("new", "priority")
              for p in cli.get_command(click.Context(cli), name).params if p.opts}
    for name in ("new", "priority"):
        assert tuple(params[(name, "--impact")].type.choices) == triage.IMPACTS
        assert tuple(params[(name, "--urgency")].type.choices) == triage.URGENCIES
    assert tuple(params[("new", "--competence")].type.choices) == triage.COMPETENCES

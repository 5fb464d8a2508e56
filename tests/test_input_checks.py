"""Issue 5, item 6: input checks that match what users type: addresses,
names, phone numbers, field keys, standard input, list scopes, login
names, casectl.yaml named to validate, hand-edit messages in words."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from helpers import (act, case_file, commits, git,
                     load_case, new_case, run, snapshot)


def fails(repo: Path, code: int, *args: str, input: str | None = None) -> str:
    """Run a command (as kari) that must fail with ``code`` and change nothing; its stderr."""
    before = snapshot(repo)
    result = act(repo, *args, input=input)
    assert result.exit_code == code, result.output
    assert result.stdout == "" and "Traceback" not in result.output
    assert snapshot(repo) == before
    return result.stderr


# ---------------------------------------------------------------- e-mail addresses

@pytest.mark.parametrize("address", ["anna@", "anna@@helse.no", "anna @helse.no",
                                     "anna@helse", "Anna <anna@helse.no>", "anna@helse..no"])
def test_an_agent_address_must_be_an_address(desk, address):
    stderr = fails(desk, 2, "agent", "add", "anna", "--name", "Anna", "--email", address)
    assert f"the agent's e-mail address {address!r} is not an e-mail address" in stderr


def test_a_team_address_must_be_an_address(desk):
    stderr = fails(desk, 2, "team", "add", "drift", "--email", "drift@")
    assert "the team's e-mail address 'drift@' is not an e-mail address" in stderr


@pytest.mark.parametrize("given", ["Ola <ola@bergen>", "Ola <ola@>", "ola@@bergen.no",
                                   "Ola <ola bergen.no>"])
def test_a_reporter_address_must_be_an_address(desk, given):
    stderr = fails(desk, 2, "new", "--subject", "x", "--reporter", given)
    assert "cannot read the reporter" in stderr and "not an e-mail address" in stderr
    # The name before the address keeps its comma, as mail programs write it.
    case_id = new_case(desk, "--reporter", "Nordmann, Ola <ola@bergen.kommune.no>")
    reporter = load_case(desk, case_id)["reporter"]
    assert (reporter["name"], reporter["email"]) == ("Nordmann, Ola", "ola@bergen.kommune.no")


def test_two_agents_with_one_address_are_refused(desk):
    before = snapshot(desk)
    result = act(desk, "agent", "add", "anna", "--name", "Anna Berg", "--email",
                 "KARI@helse.example.no")
    assert result.exit_code == 1, result.output
    assert "refused by rule 'unique-agent-email'" in result.stderr
    assert "kari" in result.stderr
    assert snapshot(desk) == before


def test_a_hand_edited_shared_address_is_invalid_data(desk):
    config = yaml.safe_load((desk / "casectl.yaml").read_text(encoding="utf-8"))
    config["agents"]["per"]["email"] = config["agents"]["kari"]["email"]
    (desk / "casectl.yaml").write_text(yaml.safe_dump(config, allow_unicode=True),
                                       encoding="utf-8")
    result = run("--repo", str(desk), "validate", str(desk / "casectl.yaml"))
    assert result.exit_code == 4
    assert "casectl.yaml: agents.per.email: agents kari and per have the same e-mail address" \
        in result.stdout


# ---------------------------------------------------------------- names

def test_empty_names_are_refused(desk):
    stderr = fails(desk, 2, "agent", "add", "anna", "--name", "", "--email", "anna@helse.no")
    assert "the agent's name is empty" in stderr
    assert "the team's name is empty" in fails(desk, 2, "team", "add", "drift", "--name", " ")


def test_a_login_name_becomes_a_readable_agent_id(empty_repo):
    """One person working alone, known by name only: Åse Øvrebø is ase-ovrebo."""
    git(empty_repo, "config", "user.name", "Åse Øvrebø")
    result = run("--repo", str(empty_repo), "new", "--subject", "Skrivar")
    assert result.exit_code == 0, result.output
    case = load_case(empty_repo, result.stdout.strip())
    assert case["assignee"] == "ase-ovrebo" and case["log"][0]["by"] == "ase-ovrebo"
    assert commits(empty_repo)[0]["trailers"]["Agent"] == "ase-ovrebo"


# ---------------------------------------------------------------- fields

def test_the_same_field_twice_is_a_usage_error(desk):
    stderr = fails(desk, 2, "new", "--subject", "x", "--field", "epj=1", "--field", "EPJ=2")
    assert "--field epj is given twice" in stderr


def test_a_field_key_outside_ascii_says_which_characters_are_allowed(desk):
    stderr = fails(desk, 2, "new", "--subject", "x", "--field", "område=Nord")
    assert "'område'" in stderr and "a-z" in stderr
    assert "--field omrade=Nord" in stderr  # the key it could be
    case_id = new_case(desk, "--field", "kommunenr=4601")
    assert load_case(desk, case_id)["fields"] == {"kommunenr": "4601"}


# ---------------------------------------------------------------- phone numbers

@pytest.mark.parametrize("phone", ["1234567", "+47 917 22 41x", "917.22.418", "ring meg"])
def test_a_phone_number_needs_eight_digits_and_nothing_else(desk, phone):
    stderr = fails(desk, 2, "new", "--subject", "x", "--phone", phone)
    assert "is not a phone number" in stderr and "8 digits" in stderr


def test_a_phone_number_is_kept_as_typed_and_found_by_its_digits(desk):
    case_id = new_case(desk, "--reporter", "Sigrid Bakken", "--phone", "+47 917 22 418")
    other = new_case(desk, "--phone", "(+46) 70-123 45 67", subject="Skrivar")
    assert load_case(desk, case_id)["reporter"]["phone"] == "+47 917 22 418"
    assert load_case(desk, other)["reporter"]["phone"] == "(+46) 70-123 45 67"
    for query, wanted in (("91722418", case_id), ("4791722418", case_id),
                          ("+47 917 22 418", case_id), ("701234567", other)):
        found = act(desk, "search", query, "--format", "json")
        assert found.exit_code == 0, found.output
        assert [row["id"] for row in json.loads(found.stdout)] == [wanted], query


# ---------------------------------------------------------------- standard input

def test_subject_dash_reads_standard_input(desk):
    result = act(desk, "new", "--subject", "-", input="Skrivar i 2. etasje\n")
    assert result.exit_code == 0, result.output
    assert load_case(desk, result.stdout.strip())["subject"] == "Skrivar i 2. etasje"


def test_two_dashes_in_one_command_are_a_usage_error(desk):
    stderr = fails(desk, 2, "new", "--subject", "-", "--description", "-", input="Skrivar\n")
    assert "only one option or argument can read standard input" in stderr


# ---------------------------------------------------------------- list scope

@pytest.mark.parametrize("flags", [("--open", "--closed"), ("--closed", "--all"),
                                   ("--all", "--open")])
def test_list_scopes_exclude_each_other(desk, flags):
    stderr = fails(desk, 2, "list", *flags)
    assert f"{flags[0]} and {flags[1]} exclude each other" in stderr \
        or f"{flags[1]} and {flags[0]} exclude each other" in stderr


# ---------------------------------------------------------------- assign

def test_assigning_to_the_current_team_is_refused_not_an_unassignment(desk):
    case_id = new_case(desk)  # kari's, in servicedesk
    before = snapshot(desk)
    result = act(desk, "assign", case_id, "--team", "servicedesk")
    assert result.exit_code == 1, result.output
    assert "refused by rule 'assignment-changes-something'" in result.stderr
    assert "already" in result.stderr
    assert snapshot(desk) == before
    assert load_case(desk, case_id)["assignee"] == "kari"


# ---------------------------------------------------------------- agent list

def test_agent_list_json_gives_teams_and_roles_as_arrays(desk):
    result = act(desk, "agent", "list", "--json")
    assert result.exit_code == 0, result.output
    kari = next(row for row in json.loads(result.stdout) if row["id"] == "kari")
    assert kari["teams"] == ["servicedesk"] and kari["roles"] == ["receiver", "handler"]
    table = act(desk, "agent", "list", "--format", "csv")
    assert "kari,Kari Nordmann,kari@helse.example.no,servicedesk,\"receiver,handler\"" \
        in table.stdout


# ---------------------------------------------------------------- validate

def validate(repo: Path, *paths: str):
    return run("--repo", str(repo), "validate", *paths)


def test_validate_casectl_yaml_checks_it_as_the_desk_configuration(desk):
    result = validate(desk, str(desk / "casectl.yaml"))
    assert result.exit_code == 0, result.output
    assert "1 file(s) checked: all valid" in result.output
    config = yaml.safe_load((desk / "casectl.yaml").read_text(encoding="utf-8"))
    del config["agents"]["per"]["email"]
    (desk / "casectl.yaml").write_text(yaml.safe_dump(config, allow_unicode=True),
                                       encoding="utf-8")
    for result in (validate(desk, str(desk / "casectl.yaml")), validate(desk)):
        assert result.exit_code == 4
        lines = result.stdout.splitlines()
        assert lines == ["casectl.yaml: agents.per: the field email is missing; add it"], lines


def hand_edit(repo: Path, case_id: str, old: str, new: str) -> None:
    path = case_file(repo, case_id)
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_hand_edit_messages_are_plain_words(desk):
    case_id = new_case(desk)
    created = load_case(desk, case_id)["created"]
    hand_edit(desk, case_id, f"created: '{created}'", f"created: {created}")
    hand_edit(desk, case_id, "status: new", "status: nyy")
    hand_edit(desk, case_id, "assignee: kari", "assignee: Kari")
    result = validate(desk)
    assert result.exit_code == 4
    out = result.stdout
    assert f"created: quote the timestamp: created: '{created}'" in out
    assert "status: field status must be one of new, started, waiting, solved, closed, " \
        "rejected, not 'nyy'" in out
    assert "assignee: field assignee must be a lower-case id: letters a-z" in out
    assert "datetime" not in out and "^[" not in out and "is not of type 'null'" not in out
    shown = act(desk, "show", case_id)
    assert shown.exit_code == 4 and "datetime" not in shown.stderr

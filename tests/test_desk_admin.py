"""Running the desk through the command line: `agent set`, `agent
deactivate`/`activate`, `category add/list`. Each change is one commit of
casectl.yaml; a deactivated agent cannot act or be given cases, and the
history keeps them."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from helpers import (act, commits, git, load_case, load_yaml, new_case, run, run_process,
                     snapshot)


def config(desk: Path) -> dict[str, Any]:
    return load_yaml(desk / "casectl.yaml")


def ok(desk: Path, *args: str, agent: str = "admin") -> Any:
    result = act(desk, *args, agent=agent)
    assert result.exit_code == 0, result.output
    return result


def fails(desk: Path, code: int, *args: str, agent: str = "admin") -> Any:
    before = snapshot(desk)
    result = act(desk, *args, agent=agent)
    assert result.exit_code == code, result.output
    assert snapshot(desk) == before  # refused: nothing written, nothing committed
    return result


def desk_commit(desk: Path, action: str, subject: str, agent: str = "admin") -> None:
    """The last commit is the desk change: one file, casectl.yaml."""
    last = commits(desk)[0]
    assert last["subject"] == f"casectl {action}: {subject}"
    assert last["trailers"] == {"Action": action, "Agent": agent}
    assert git(desk, "show", "--name-only", "--format=", "HEAD").split() == ["casectl.yaml"]


# ---------------------------------------------------------------- agent set

def test_agent_set_name_and_email(desk: Path) -> None:
    count = len(commits(desk))
    assert ok(desk, "agent", "set", "per", "--name", "Per Hansen-Berg", "--email",
              "per.berg@helse.example.no").stdout.strip() == "per"
    agent = config(desk)["agents"]["per"]
    assert (agent["name"], agent["email"]) == ("Per Hansen-Berg", "per.berg@helse.example.no")
    assert agent["teams"] == ["nettverk"] and agent["roles"] == ["handler"]  # untouched
    assert len(commits(desk)) == count + 1
    desk_commit(desk, "agent-set", "per")
    # the new address is how git's identity finds them
    git(desk, "config", "user.email", "per.berg@helse.example.no")
    result = run("--repo", str(desk), "new", "--subject", "Fra Pers nye adresse")
    assert result.exit_code == 0, result.output
    assert commits(desk)[0]["author"] == "Per Hansen-Berg"
    assert load_case(desk, result.stdout.strip())["assignee"] == "per"


def test_agent_set_keeps_addresses_unique(desk: Path) -> None:
    result = fails(desk, 1, "agent", "set", "per", "--email", "KARI@helse.example.no")
    assert "unique-agent-email" in result.stderr and "kari" in result.stderr
    ok(desk, "agent", "set", "per", "--email", "PER@helse.example.no")  # their own, recased


def test_agent_set_teams_replace_add_remove(desk: Path) -> None:
    ok(desk, "agent", "set", "per", "--team", "servicedesk", "--team", "nettverk")
    assert config(desk)["agents"]["per"]["teams"] == ["servicedesk", "nettverk"]
    # the first team is the home team: where their new cases land
    assert load_case(desk, new_case(desk, agent="per"))["team"] == "servicedesk"
    ok(desk, "agent", "set", "per", "--add-team", "klinisk-app", "--remove-team", "servicedesk")
    assert config(desk)["agents"]["per"]["teams"] == ["nettverk", "klinisk-app"]
    ok(desk, "agent", "set", "per", "--role", "receiver", "--role", "auditor")
    assert config(desk)["agents"]["per"]["roles"] == ["receiver", "auditor"]
    ok(desk, "agent", "set", "per", "--add-role", "handler", "--remove-role", "auditor")
    assert config(desk)["agents"]["per"]["roles"] == ["receiver", "handler"]
    assert ok(desk, "validate", str(desk / "casectl.yaml")).exit_code == 0


@pytest.mark.parametrize("args, code, message", [
    ((), 2, "say what to change"),
    (("--team", "nettverk", "--add-team", "servicedesk"), 2, "use one or the other"),
    (("--role", "admin", "--remove-role", "handler"), 2, "use one or the other"),
    (("--team", "drift"), 3, "no team 'drift'"),
    (("--add-team", "drift"), 3, "no team 'drift'"),
    (("--remove-team", "servicedesk"), 1, "agent per has no team servicedesk"),
    (("--remove-role", "admin"), 1, "agent per has no role admin"),
    (("--role", "boss"), 2, "Invalid value for '--role'"),
    (("--email", "per@"), 2, "is not an e-mail address"),
    (("--name", " "), 2, "the agent's name is empty"),
    (("--name", "Per Hansen", "--team", "nettverk"), 1, "agent-set-changes-something"),
], ids=["nothing", "team-and-add", "role-and-remove", "unknown-team", "unknown-add-team",
        "not-in-team", "no-such-role", "bad-role", "bad-email", "empty-name", "no-op"])
def test_agent_set_refusals(desk: Path, args: tuple[str, ...], code: int, message: str) -> None:
    result = fails(desk, code, "agent", "set", "per", *args)
    assert message in result.stderr


def test_agent_set_unknown_agent(desk: Path) -> None:
    assert "no agent 'ola'" in fails(desk, 3, "agent", "set", "ola", "--name", "Ola").stderr


# ---------------------------------------------------------------- deactivate / activate

def test_a_deactivated_agent_cannot_act_however_named(desk: Path) -> None:
    case_id = new_case(desk, agent="per")
    ok(desk, "log", case_id, "Per var her", agent="per")
    result = ok(desk, "agent", "deactivate", "per")
    assert result.stdout.strip() == "per"
    # their open cases are named, so they can be given to others
    assert f"per is still responsible for 1 open case(s): {case_id}" in result.stderr
    assert config(desk)["agents"]["per"]["active"] is False
    desk_commit(desk, "agent-deactivate", "per")

    # --as
    result = fails(desk, 1, "log", case_id, "igjen", agent="per")
    assert "agent per is deactivated and cannot act" in result.stderr
    assert "casectl agent activate per (run by an admin: admin)" in result.stderr
    # CASECTL_AGENT, as a real process
    done = run_process("--repo", str(desk), "log", case_id, "igjen",
                       env={"CASECTL_AGENT": "per"})
    assert done.returncode == 1 and "deactivated" in done.stderr
    # git identity
    git(desk, "config", "user.email", "per@helse.example.no")
    result = run("--repo", str(desk), "take", case_id)
    assert result.exit_code == 1 and "agent per is deactivated" in result.stderr
    result = run("--repo", str(desk), "new", "--subject", "x")
    assert result.exit_code == 1 and "agent per is deactivated" in result.stderr
    git(desk, "config", "--unset", "user.email")  # the rest is done by others, with --as

    # history keeps them: the case is valid and still shows them
    assert ok(desk, "validate").exit_code == 0
    case = load_case(desk, case_id)
    assert case["assignee"] == "per" and [e["by"] for e in case["log"]] == ["per", "per"]
    assert "assignee per" in ok(desk, "show", case_id).stdout
    listed = json.loads(ok(desk, "list", "--assignee", "per", "--json").stdout)
    assert [row["id"] for row in listed] == [case_id]
    agents = {row["id"]: row for row in json.loads(ok(desk, "agent", "list", "--json").stdout)}
    assert agents["per"]["active"] is False and agents["kari"]["active"] is True
    table = ok(desk, "agent", "list").stdout
    assert [line.split()[-1] for line in table.splitlines() if line.startswith("per ")] == ["no"]
    # another agent takes the case over (a receiver: it is not her team's)
    ok(desk, "take", case_id, agent="kari")


def test_a_deactivated_agent_cannot_be_given_cases(desk: Path) -> None:
    case_id = new_case(desk)
    ok(desk, "agent", "deactivate", "per")
    for args in (("assign", case_id, "--to", "per"),
                 ("handover", case_id, "--to", "per", "--note", "Til Per"),
                 ("new", "--subject", "Til Per", "--assignee", "per"),
                 ("task", "add", case_id, "--to", "per", "--subject", "Bytt switch")):
        result = fails(desk, 1, *args, agent="kari")
        assert "agent per is deactivated and cannot be given cases" in result.stderr, args
        assert "casectl agent activate per" in result.stderr
    # their team can still be given cases, and their tasks are still listed
    ok(desk, "assign", case_id, "--team", "nettverk", agent="kari")
    assert ok(desk, "task", "list", "--assignee", "per", agent="kari").exit_code == 0


def test_activate_brings_them_back(desk: Path) -> None:
    ok(desk, "agent", "deactivate", "per")
    assert "is deactivated already" in fails(desk, 1, "agent", "deactivate", "per").stderr
    assert ok(desk, "agent", "activate", "per").stdout.strip() == "per"
    assert "active" not in config(desk)["agents"]["per"]  # active is the default
    desk_commit(desk, "agent-activate", "per")
    assert "is active already" in fails(desk, 1, "agent", "activate", "per").stderr
    new_case(desk, agent="per")
    assert "no agent 'ola'" in fails(desk, 3, "agent", "deactivate", "ola").stderr


def test_the_last_active_agent_stays(desk: Path) -> None:
    for agent in ("kari", "ingrid", "per", "mette"):
        ok(desk, "agent", "deactivate", agent)
    result = fails(desk, 1, "agent", "deactivate", "admin")
    assert "one-active-agent" in result.stderr and "last active agent" in result.stderr
    # and with no admin left active, the hint says anyone active may reactivate
    ok(desk, "agent", "activate", "kari")
    ok(desk, "agent", "set", "admin", "--role", "auditor")
    result = fails(desk, 1, "log", new_case(desk, agent="admin"), "x", agent="per")
    assert "(run by any active agent)" in result.stderr


def test_an_older_desk_is_told_to_take_the_new_schemas(desk: Path) -> None:
    path = desk / "schemas" / "config.schema.json"
    schema = json.loads(path.read_text())
    del schema["properties"]["agents"]["additionalProperties"]["properties"]["active"]
    path.write_text(json.dumps(schema, indent=2))
    case_path = desk / "schemas" / "case.schema.json"
    case_schema = json.loads(case_path.read_text())
    case_schema["$defs"]["event"]["properties"]["kind"]["enum"].remove("edited")
    case_path.write_text(json.dumps(case_schema, indent=2))
    git(desk, "-c", "user.name=A", "-c", "user.email=a@example.no", "commit", "-qam", "old")
    result = fails(desk, 1, "agent", "deactivate", "per")
    assert "desk-schemas-current" in result.stderr and "casectl upgrade" in result.stderr
    result = fails(desk, 1, "edit", new_case(desk), "--subject", "Ny")
    assert "predates edited events" in result.stderr


# ---------------------------------------------------------------- categories

def test_category_add_and_enforcement(desk: Path) -> None:
    old = new_case(desk, "--category", "Gammel kategori")  # none listed yet: any goes
    result = ok(desk, "category", "add", "Nettverk", "Klinisk applikasjon")
    assert result.stdout.splitlines() == ["Nettverk", "Klinisk applikasjon"]
    assert config(desk)["categories"] == ["Nettverk", "Klinisk applikasjon"]
    desk_commit(desk, "category-add", "Nettverk, Klinisk applikasjon")
    ok(desk, "category", "add", "Tilgang")
    assert config(desk)["categories"] == ["Nettverk", "Klinisk applikasjon", "Tilgang"]

    # enforced by new and edit, in the listed spelling
    result = fails(desk, 2, "new", "--subject", "x", "--category", "Skriver", agent="kari")
    assert "unknown category 'Skriver'" in result.stderr
    assert 'casectl category add "Skriver"' in result.stderr
    case_id = new_case(desk, "--category", "nettverk")
    assert load_case(desk, case_id)["category"] == "Nettverk"
    fails(desk, 2, "edit", case_id, "--category", "Skriver", agent="kari")
    ok(desk, "edit", case_id, "--category", "TILGANG", agent="kari")
    assert load_case(desk, case_id)["category"] == "Tilgang"
    # a case filed under a category not listed keeps it, and can be edited otherwise
    ok(desk, "edit", old, "--subject", "Fortsatt gammel", agent="kari")
    assert load_case(desk, old)["category"] == "Gammel kategori"

    rows = json.loads(ok(desk, "category", "list", "--json").stdout)
    assert rows == [
        {"category": "Nettverk", "listed": True, "open": 0, "cases": 0},
        {"category": "Klinisk applikasjon", "listed": True, "open": 0, "cases": 0},
        {"category": "Tilgang", "listed": True, "open": 1, "cases": 1},
        {"category": "Gammel kategori", "listed": False, "open": 1, "cases": 1},
    ]
    ok(desk, "close", old, "--solution", "Løst", "--confirmed", agent="kari")
    rows = list(csv.DictReader(io.StringIO(ok(desk, "category", "list", "--format",
                                              "csv").stdout)))
    assert rows[-1] == {"category": "Gammel kategori", "listed": "no", "open": "0",
                        "cases": "1"}


@pytest.mark.parametrize("args, code, message", [
    (("nettverk",), 1, "already listed: nettverk"),
    (("Skriver", "skriver"), 2, "is given twice"),
    (("",), 2, "the category is empty"),
    (("x" * 101,), 2, "the limit is 100"),
], ids=["listed", "twice", "empty", "long"])
def test_category_add_refusals(desk: Path, args: tuple[str, ...], code: int, message: str
                               ) -> None:
    ok(desk, "category", "add", "Nettverk")
    assert message in fails(desk, code, "category", "add", *args).stderr


def test_category_list_when_none(desk: Path) -> None:
    assert "no categories" in ok(desk, "category", "list").stdout
    assert json.loads(ok(desk, "category", "list", "--json").stdout) == []
    assert act(desk, "category", "add").exit_code == 2


@pytest.mark.parametrize("command", [("agent", "set"), ("agent", "deactivate"),
                                     ("agent", "activate"), ("category", "add"),
                                     ("category", "list"), ("edit",)])
def test_help_has_an_example(command: tuple[str, ...]) -> None:
    result = run(*command, "--help")
    assert result.exit_code == 0 and "Example:\n    casectl " in result.stdout

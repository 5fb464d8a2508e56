"""Tasks [seed 000]: part of a case delegated to an agent or a team, through
the real command line on real repositories. The case's owner stays
responsible; a task given to someone else is visible to the reporter; the
task's agent sees the case in `list --assignee me`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from casectl import model
from helpers import act, case_file, commits, load_case, new_case, snapshot


def task_add(repo: Path, case_id: str, *args: str, agent: str = "kari") -> str:
    result = act(repo, "task", "add", case_id, *args, agent=agent)
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


def test_task_add_prints_short_ids_and_keeps_the_owner(desk: Path) -> None:
    case_id = new_case(desk)
    assert task_add(desk, case_id, "--to", "per", "--subject", "Sjekk switch i bygg 4",
                    "--need", "Portnummer og etasje") == "T1"
    assert task_add(desk, case_id, "--to", "NETTVERK", "--subject", "Bytt kabel") == "T2"
    case = load_case(desk, case_id)
    assert case["assignee"] == "kari" and case["team"] == "servicedesk"  # still responsible
    first, second = case["tasks"]
    assert first == {"id": "T1", "event": case["log"][1]["id"],
                     "subject": "Sjekk switch i bygg 4", "need": "Portnummer og etasje",
                     "to": "per", "to_kind": "agent", "public": True, "status": "open",
                     "created": case["log"][1]["at"], "by": "kari", "done": None,
                     "done_by": None, "note": None}
    assert (second["to"], second["to_kind"], second["need"]) == ("nettverk", "team", None)
    assert case["log"][1]["kind"] == "task_added"
    assert case["log"][1]["data"] == {"subject": "Sjekk switch i bygg 4", "to": "per",
                                      "to_kind": "agent", "owner": "kari",
                                      "need": "Portnummer og etasje"}
    latest = commits(desk)[:2]
    assert [c["trailers"] for c in latest] == [
        {"Case": case_id, "Action": "task-add", "Agent": "kari"}] * 2
    assert latest[1]["subject"] == f"{case_id} task-add: DIPS starter ikke"
    assert latest[0]["author"] == "Kari Nordmann"


def test_a_task_the_owner_keeps_is_internal_one_given_away_is_public(desk: Path) -> None:
    case_id = new_case(desk)
    task_add(desk, case_id, "--to", "kari", "--subject", "Ring leverandøren")
    task_add(desk, case_id, "--to", "ingrid", "--subject", "Sjekk AD-gruppen")
    task_add(desk, case_id, "--to", "servicedesk", "--subject", "Følg opp i morgen")
    case = load_case(desk, case_id)
    assert [t["public"] for t in case["tasks"]] == [False, True, True]
    assert [e["public"] for e in case["log"][1:]] == [False, True, True]
    # After a handover to ingrid, a task she gives herself is internal.
    assert act(desk, "assign", case_id, "--to", "ingrid").exit_code == 0
    task_add(desk, case_id, "--to", "ingrid", "--subject", "Test på ny PC", agent="ingrid")
    assert load_case(desk, case_id)["tasks"][-1]["public"] is False
    assert act(desk, "validate").exit_code == 0


def test_task_done_by_any_spelling_of_its_id(desk: Path) -> None:
    case_id = new_case(desk)
    for subject in ("A", "B", "C"):
        task_add(desk, case_id, "--to", "per", "--subject", subject)
    for typed in ("t1", "2", "T3"):
        result = act(desk, "task", "done", case_id, typed, "--note", f"ferdig {typed}",
                     agent="per")
        assert result.exit_code == 0, result.output
        assert result.stdout.strip() == case_id
    case = load_case(desk, case_id)
    assert [(t["status"], t["done_by"], t["note"]) for t in case["tasks"]] == [
        ("done", "per", "ferdig t1"), ("done", "per", "ferdig 2"), ("done", "per", "ferdig T3")]
    done = case["log"][4]
    assert done["kind"] == "task_done" and done["public"] is True
    assert done["data"] == {"task": case["log"][1]["id"], "to": "per", "to_kind": "agent",
                            "owner": "kari", "note": "ferdig t1"}
    assert case["tasks"][0]["done"] == done["at"]
    assert commits(desk)[0]["trailers"] == {"Case": case_id, "Action": "task-done",
                                            "Agent": "per"}


def test_task_done_twice_unknown_and_on_finished_cases_are_refused(desk: Path) -> None:
    case_id = new_case(desk)
    task_add(desk, case_id, "--to", "per", "--subject", "Sjekk switch")
    assert act(desk, "task", "done", case_id, "T1").exit_code == 0
    before = snapshot(desk)
    twice = act(desk, "task", "done", case_id, "T1")
    assert twice.exit_code == 1
    assert "refused by rule 'task-done-once'" in twice.stderr and "hint:" in twice.stderr
    for unknown in ("T2", "x1", "T0"):
        result = act(desk, "task", "done", case_id, unknown)
        assert result.exit_code == 3, result.output
        assert "T1" in result.stderr  # the hint lists the tasks there are
    assert snapshot(desk) == before
    other = new_case(desk)
    task_add(desk, other, "--to", "per", "--subject", "Sjekk switch")
    assert act(desk, "reject", other, "--reason", "Hører til leverandøren").exit_code == 0
    before = snapshot(desk)
    for args in (("task", "done", other, "T1"),
                 ("task", "add", other, "--to", "per", "--subject", "Mer")):
        result = act(desk, *args)
        assert result.exit_code == 1, result.output
        assert "finished-case-is-frozen" in result.stderr
        assert f"casectl reopen {other}" in result.stderr
    assert snapshot(desk) == before


def test_task_add_bad_input(desk: Path) -> None:
    case_id = new_case(desk)
    before = snapshot(desk)
    unknown = act(desk, "task", "add", case_id, "--to", "nobody", "--subject", "x")
    assert unknown.exit_code == 3 and "neither an agent nor a team" in unknown.stderr
    empty = act(desk, "task", "add", case_id, "--to", "per", "--subject", " ")
    assert empty.exit_code == 2
    missing = act(desk, "task", "add", case_id, "--to", "per")
    assert missing.exit_code == 2 and "--subject" in missing.stderr
    no_case = act(desk, "task", "add", "ZZZZZZZZZZ", "--to", "per", "--subject", "x")
    assert no_case.exit_code == 3
    assert snapshot(desk) == before
    for args in (("task", "--help"), ("task", "add", "--help"), ("task", "done", "--help"),
                 ("task", "list", "--help")):
        result = act(desk, *args)
        assert result.exit_code == 0 and "Example:" in result.stdout


def test_task_list_across_cases(desk: Path) -> None:
    first = new_case(desk, subject="Skriver i 3. etg")
    second = new_case(desk, subject="VPN feiler", agent="ingrid")
    task_add(desk, first, "--to", "per", "--subject", "Sjekk nettverkspunkt")
    task_add(desk, second, "--to", "nettverk", "--subject", "Sjekk brannmur", "--need", "IP",
             agent="ingrid")
    task_add(desk, second, "--to", "mette", "--subject", "Sjekk klient", agent="ingrid")
    assert act(desk, "task", "done", first, "T1", agent="per").exit_code == 0

    def listed(*args: str, agent: str = "kari") -> list[tuple[str, str, str]]:
        result = act(desk, "task", "list", *args, "--json", agent=agent)
        assert result.exit_code == 0, result.output
        return [(row["case"], row["task"], row["status"]) for row in json.loads(result.stdout)]

    assert listed() == [(first, "T1", "done"), (second, "T1", "open"), (second, "T2", "open")]
    assert listed("--open") == [(second, "T1", "open"), (second, "T2", "open")]
    assert listed("--assignee", "per") == [(first, "T1", "done")]
    assert listed("--assignee", "per", "--open") == []
    assert listed("--assignee", "nettverk") == [(second, "T1", "open")]
    # me: my tasks and my teams' tasks
    assert listed("--assignee", "me", agent="per") == [(first, "T1", "done"),
                                                       (second, "T1", "open")]
    assert listed("--assignee", "ME", agent="mette") == [(second, "T2", "open")]
    assert listed("--assignee", "me", agent="kari") == []
    row = json.loads(act(desk, "task", "list", "--assignee", "nettverk", "--json").stdout)[0]
    assert row == {"case": second, "task": "T1", "status": "open", "to": "nettverk",
                   "to_kind": "team", "subject": "Sjekk brannmur", "need": "IP",
                   "created": row["created"], "done": None, "public": True,
                   "case_status": "new", "case_assignee": "ingrid",
                   "case_subject": "VPN feiler"}
    table = act(desk, "task", "list", "--open").stdout
    assert "Sjekk brannmur" in table and "Sjekk nettverkspunkt" not in table
    csv = act(desk, "task", "list", "--format", "csv").stdout.splitlines()
    assert csv[0].startswith("case,task,status,to,") and len(csv) == 4
    assert act(desk, "task", "list", "--assignee", "nobody").exit_code == 3


def test_the_task_agent_sees_the_case_in_list_assignee_me(desk: Path) -> None:
    case_id = new_case(desk)
    untouched = new_case(desk, subject="Annen sak")

    def mine(agent: str) -> list[str]:
        result = act(desk, "list", "--assignee", "me", "--json", agent=agent)
        assert result.exit_code == 0, result.output
        return [row["id"] for row in json.loads(result.stdout)]

    assert mine("per") == []
    task_add(desk, case_id, "--to", "per", "--subject", "Sjekk switch")
    assert mine("per") == [case_id]
    assert sorted(mine("kari")) == sorted([case_id, untouched])  # the owner still has it
    assert [r["assignee"] for r in json.loads(
        act(desk, "list", "--assignee", "per", "--json").stdout)] == ["kari"]
    assert act(desk, "task", "done", case_id, "T1", agent="per").exit_code == 0
    assert mine("per") == []  # a done task no longer brings the case


def test_a_hand_edit_that_hides_or_shows_a_task_is_invalid(desk: Path) -> None:
    case_id = new_case(desk)
    task_add(desk, case_id, "--to", "kari", "--subject", "Intern oppgave")
    path = case_file(desk, case_id)
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("public: false", "public: true"), encoding="utf-8")
    result = act(desk, "validate")
    assert result.exit_code == 4
    assert "public must be false" in result.output and "tasks" in result.output


# ---------------------------------------------------------------- replay, directly

def event(n: int, kind: str, data: dict, by: str = "kari") -> model.Event:
    return model.make_event(f"E{n:011d}", f"2026-11-03T09:{n:02d}:00+01:00", by, kind, data)


def test_task_ids_stay_unique_when_two_clones_add_tasks() -> None:
    created = event(0, "created", {"subject": "x", "assignee": "kari"})
    ours = event(1, "task_added", {"subject": "ours", "to": "per", "to_kind": "agent",
                                   "owner": "kari"})
    theirs = event(2, "task_added", {"subject": "theirs", "to": "mette", "to_kind": "agent",
                                     "owner": "kari"})
    done = event(3, "task_done", {"task": theirs["id"], "to": "mette", "to_kind": "agent",
                                  "owner": "kari"})
    header = model.replay("K7X2M9QP4R", model.merge_logs([created, theirs, done],
                                                          [created, ours]))
    assert [(t["id"], t["subject"], t["status"]) for t in header["tasks"]] == [
        ("T1", "ours", "open"), ("T2", "theirs", "done")]


def test_replay_refuses_a_task_done_without_its_task() -> None:
    created = event(0, "created", {"subject": "x"})
    done = event(1, "task_done", {"task": "E00000000099", "to": "per", "to_kind": "agent",
                                  "owner": None})
    with pytest.raises(model.ReplayError, match="no task_added"):
        model.replay("K7X2M9QP4R", [created, done])


def test_the_schema_agrees_with_the_model() -> None:
    from casectl import contact, schema

    defs = schema.load_schema(None, schema.CASE_SCHEMA)["$defs"]
    assert tuple(defs["task"]["properties"]["status"]["enum"]) == model.TASK_STATUSES
    for where in (defs["task"], defs["data_task_added"], defs["data_task_done"]):
        assert tuple(where["properties"]["to_kind"]["enum"]) == model.TASK_TARGET_KINDS
    assert tuple(defs["data_contact"]["properties"]["via"]["enum"]) == contact.VIA
    assert set(defs["task"]["required"]) == set(defs["task"]["properties"])


def test_a_case_is_solved_or_closed_once_its_tasks_are_done(desk: Path) -> None:
    """A task left open on a closed case would stay in its agent's list with
    no way to finish it: solving and closing wait for the tasks."""
    case_id = new_case(desk)
    task_add(desk, case_id, "--to", "per", "--subject", "Sjekk switch")
    task_add(desk, case_id, "--to", "nettverk", "--subject", "Bytt port")
    before = snapshot(desk)
    for args in (("--solution", "Løst"), ("--solution", "Løst", "--confirmed")):
        result = act(desk, "close", case_id, *args)
        assert result.exit_code == 1, result.output
        assert "tasks-done-first" in result.stderr
        assert "T1 (to per: Sjekk switch), T2 (to nettverk: Bytt port)" in result.stderr
        assert f"casectl task done {case_id} T1" in result.stderr
    assert snapshot(desk) == before
    for task in ("T1", "T2"):
        assert act(desk, "task", "done", case_id, task, agent="per").exit_code == 0
    assert act(desk, "close", case_id, "--solution", "Løst").exit_code == 0
    assert load_case(desk, case_id)["status"] == "solved"


def test_open_tasks_of_a_rejected_case_leave_the_open_task_list(desk: Path) -> None:
    case_id = new_case(desk)
    task_add(desk, case_id, "--to", "per", "--subject", "Sjekk switch")
    listed = act(desk, "task", "list", "--open", "--json")
    assert [row["case"] for row in json.loads(listed.stdout)] == [case_id]
    assert act(desk, "reject", case_id, "--reason", "Feil kø").exit_code == 0
    assert json.loads(act(desk, "task", "list", "--open", "--json").stdout) == []
    assert len(json.loads(act(desk, "task", "list", "--json").stdout)) == 1
    assert act(desk, "reopen", case_id, "--reason", "Likevel vår").exit_code == 0
    assert len(json.loads(act(desk, "task", "list", "--open", "--json").stdout)) == 1

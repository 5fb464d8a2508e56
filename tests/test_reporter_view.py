"""The reporter's view: `show ID --reporter-view` prints exactly what the
reporter may see. Every internal entry carries a unique marker string, and
no marker may appear in any format; every public entry must."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from casectl import model, render
from helpers import act, load_case, new_case

INTERNAL = ("SECRET-NOTE", "SECRET-ASSIGN", "SECRET-TAKE", "SECRET-PRIORITY", "SECRET-TASK",
            "SECRET-NEED", "SECRET-TASKDONE", "SECRET-CONTACT", "SECRET-OWNTASK")
PUBLIC = ("PUBLIC-DESCRIPTION", "PUBLIC-WORK", "PUBLIC-REPLY", "PUBLIC-TASK", "PUBLIC-NEED",
          "PUBLIC-MAIL", "PUBLIC-SOLUTION")


def ok(repo: Path, *args: str, agent: str = "kari") -> str:
    result = act(repo, *args, agent=agent)
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


@pytest.fixture
def case_id(desk: Path) -> str:
    """A solved case with an internal and a public entry of every kind."""
    case_id = new_case(desk, "--description", "PUBLIC-DESCRIPTION: skriveren i 3. etg",
                       "--reporter", "Ola Nordmann <ola@bergen.kommune.no>")
    ok(desk, "start", case_id)
    ok(desk, "log", case_id, "SECRET-NOTE: sjekk om flere er rammet", "--internal")
    ok(desk, "log", case_id, "PUBLIC-WORK: driver installert på nytt")
    ok(desk, "log", case_id, "PUBLIC-MAIL: vi har bestilt toner", "--email")
    ok(desk, "log", case_id, "PUBLIC-REPLY: fortsatt stripete utskrift", "--from-reporter")
    ok(desk, "priority", case_id, "high", "--reason", "SECRET-PRIORITY: hele avdelingen")
    ok(desk, "assign", case_id, "--to", "ingrid", "--note", "SECRET-ASSIGN: hun kan HP")
    ok(desk, "take", case_id, "--note", "SECRET-TAKE: ny vakt", agent="kari")
    ok(desk, "task", "add", case_id, "--to", "kari", "--subject", "SECRET-TASK: ring HP",
       "--need", "SECRET-NEED: serienummer")
    ok(desk, "task", "add", case_id, "--to", "per", "--subject", "PUBLIC-TASK: sjekk nettpunkt",
       "--need", "PUBLIC-NEED: romnummer")
    ok(desk, "task", "done", case_id, "T1", "--note", "SECRET-TASKDONE: HP ringt")
    ok(desk, "task", "add", case_id, "--to", "kari", "--subject", "SECRET-OWNTASK: følg opp")
    ok(desk, "task", "done", case_id, "T2", agent="per")  # solved once its tasks are done
    ok(desk, "task", "done", case_id, "T3")
    ok(desk, "close", case_id, "--solution", "PUBLIC-SOLUTION: ny trommel")
    ok(desk, "contact", case_id, "--via", "phone", "--no-answer", "--note",
       "SECRET-CONTACT: svarer ikke, virket irritert")
    case = load_case(desk, case_id)
    text = yaml.safe_dump(case, allow_unicode=True)
    assert all(marker in text for marker in INTERNAL + PUBLIC)  # the test means something
    return case_id


@pytest.mark.parametrize("fmt", ["table", "json", "yaml", "csv"])
def test_no_internal_text_leaks_in_any_format(desk: Path, case_id: str, fmt: str) -> None:
    out = ok(desk, "show", case_id, "--reporter-view", "--format", fmt)
    leaked = [marker for marker in INTERNAL if marker in out]
    assert leaked == []
    assert "internal" not in out.lower()
    if fmt == "csv":  # one row of the header's plain fields
        assert "PUBLIC-DESCRIPTION" in out and "PUBLIC-SOLUTION" in out
        assert "priority" not in out.splitlines()[0].split(",")
    else:
        assert [marker for marker in PUBLIC if marker not in out] == []
    # the full show has them all, marked internal where they are
    full = ok(desk, "show", case_id, "--format", fmt)
    if fmt != "csv":
        assert all(marker in full for marker in INTERNAL)


def test_the_view_holds_no_assignment_internals(desk: Path, case_id: str) -> None:
    view = json.loads(ok(desk, "show", case_id, "--reporter-view", "--json"))
    case = load_case(desk, case_id)
    assert not {"assignee", "team", "priority"} & set(view)
    assert set(view) <= set(model.REPORTER_HEADER_KEYS) | {"log"}
    kinds = {event["kind"] for event in view["log"]}
    assert not kinds & {"note", "assigned", "taken", "priority_set", "contact"}
    assert kinds >= {"created", "worklog", "email", "reply", "task_added", "solved"}
    assert all("public" not in event for event in view["log"])
    assert all("owner" not in event["data"] for event in view["log"])
    created = view["log"][0]
    assert created["kind"] == "created"
    assert not {"assignee", "team", "priority"} & set(created["data"])
    assert created["data"]["description"].startswith("PUBLIC-DESCRIPTION")
    assert [task["id"] for task in view["tasks"]] == ["T2"]  # ids as the desk uses them
    assert all("public" not in task for task in view["tasks"])
    public = [event for event in case["log"] if event["public"]]
    assert view["updated"] == public[-1]["at"] != case["updated"]  # not the internal contact
    assert [event["id"] for event in view["log"]] == [event["id"] for event in public]


def test_the_reporter_view_marks_nothing_read(desk: Path, case_id: str) -> None:
    def unread(agent: str) -> list[str]:
        return [row["id"] for row in json.loads(ok(desk, "list", "--unread", "--json",
                                                   agent=agent))]

    ok(desk, "reopen", case_id, "--reason", "Feilen kom tilbake")
    ok(desk, "log", case_id, "Nå stripete igjen", "--from-reporter", agent="ingrid")
    assert unread("kari") == [case_id]
    ok(desk, "show", case_id, "--reporter-view")
    assert unread("kari") == [case_id]


def test_header_keys_and_entries_marked_internal_are_dropped_generically() -> None:
    """Keys other helpers add (triage answers, SLA) without editing the view:
    a key not listed as the reporter's is dropped; entries marked internal
    (internal: true or public: false) are dropped wherever they are."""
    log = [model.make_event("E00000000001", "2026-11-03T09:00:00+01:00", "kari", "created",
                            {"subject": "Nett nede"})]
    case: dict[str, Any] = {**model.with_header("K7X2M9QP4R", log),
                            "answers": {"location": {"question": "Hvor?", "answer": "Bygg 4",
                                                     "internal": False},
                                        "switch": {"question": "Hvilken switch?",
                                                   "answer": "SECRET-ANSWER",
                                                   "internal": True}},
                            "sla": {"level": "gold", "note": "SECRET-SLA"},
                            "fields": {"epj": "EPJ-1", "intern": {"value": "SECRET-FIELD",
                                                                   "public": False}}}
    view = model.reporter_view(case)
    assert view["answers"] == {"location": {"question": "Hvor?", "answer": "Bygg 4"}}
    assert view["fields"] == {"epj": "EPJ-1"}
    assert "sla" not in view and "SECRET" not in json.dumps(view)
    for fmt in render.FORMATS:
        shown = render.reporter_case(view, fmt)
        assert "SECRET" not in shown
        if fmt != "csv":
            assert "Bygg 4" in shown
    case["answers"] = [{"key": "location", "value": "Bygg 4"},
                       {"key": "switch", "value": "SECRET-ANSWER", "public": False}]
    assert model.reporter_view(case)["answers"] == [{"key": "location", "value": "Bygg 4"}]


def test_reporter_view_of_an_unknown_case_is_not_found(desk: Path) -> None:
    result = act(desk, "show", "ZZZZZZZZZZ", "--reporter-view")
    assert result.exit_code == 3

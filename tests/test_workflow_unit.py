"""Unit tests of the domain: workflow.py's rules and model.replay, called
directly (no command line, no git). The transition tests are generated from
workflow.TRANSITIONS and model.STATUSES, so a new action or status is tested
the moment it is added, and a test fails if the table and these disagree."""

from __future__ import annotations

import itertools
import random
from typing import Any, Callable

import pytest

from casectl import model, workflow
from casectl.errors import RuleViolation

CASE_ID = "K7X2M9QP4R"


# ---------------------------------------------------------------- building cases

class Log:
    """A case log built event by event, one minute apart."""

    def __init__(self, **created: Any) -> None:
        self.events: list[model.Event] = []
        data = {"subject": "DIPS starter ikke", "type": "incident", "priority": "medium",
                **created}
        self.add("created", data)

    def at(self, n: int) -> str:
        return f"2026-11-03T09:{n:02d}:00+01:00"

    def add(self, kind: str, data: dict[str, Any], by: str = "kari") -> model.Event:
        n = len(self.events)
        event = model.make_event(f"E{n:011d}", self.at(n), by, kind, data)
        self.events.append(event)
        return event

    def steps(self, steps: list[workflow.Step]) -> None:
        for kind, data in steps:
            self.add(kind, data)

    @property
    def header(self) -> model.Case:
        return model.replay(CASE_ID, self.events)


def log_in(status: str, **created: Any) -> Log:
    """A log whose replayed status is ``status``, reached the ordinary way."""
    log = Log(**created)
    if status in ("started", "waiting"):
        log.add("status_changed", {"status": status})
    elif status == "solved":
        log.add("solved", {"solution": "restarted the service"})
    elif status == "closed":
        log.add("closed", {"solution": "restarted the service", "confirmed": True})
    elif status == "rejected":
        log.add("rejected", {"reason": "duplicate"})
    assert log.header["status"] == status
    return log


def case_in(status: str, **header: Any) -> model.Case:
    case = log_in(status).header
    case.update(header)
    return case


def rule_of(call: Callable[[], object]) -> RuleViolation:
    with pytest.raises(RuleViolation) as caught:
        call()
    return caught.value


def test_every_status_can_be_reached_for_the_tests() -> None:
    for status in model.STATUSES:
        assert log_in(status).header["status"] == status


# ---------------------------------------------------------------- the transition table

# How each action of the table is taken, and the events it must give from a
# status it is allowed in (``target`` is the status it leads to).
PERFORM: dict[str, Callable[[model.Case], list[workflow.Step]]] = {
    "start": lambda case: workflow.change_status(case, "start", None),
    "wait": lambda case: workflow.change_status(case, "wait", None),
    "solve": lambda case: workflow.close(case, "restarted it", confirmed=False),
    "close": lambda case: workflow.close(case, "restarted it", confirmed=True),
    "reject": lambda case: workflow.reject(case, "duplicate of another case"),
    "reopen": lambda case: workflow.reopen(case, "it broke again"),
}
EXPECTED: dict[str, Callable[[str], list[workflow.Step]]] = {
    "start": lambda target: [("status_changed", {"status": target})],
    "wait": lambda target: [("status_changed", {"status": target})],
    "solve": lambda target: [("solved", {"solution": "restarted it"})],
    "close": lambda target: [("closed", {"solution": "restarted it", "confirmed": True})],
    "reject": lambda target: [("rejected", {"reason": "duplicate of another case"})],
    "reopen": lambda target: [("reopened", {"reason": "it broke again"})],
}
# What the hint of a refusal must point at, by the status the case is in.
HINT = {
    "new": "casectl start",
    "started": "being worked on",
    "waiting": "casectl start",
    "solved": "casectl reopen",
    "closed": "casectl reopen",
    "rejected": "casectl reopen",
}


def test_the_tests_know_every_action_and_status() -> None:
    assert set(PERFORM) == set(EXPECTED) == set(workflow.TRANSITIONS)
    assert set(HINT) == set(model.STATUSES)
    for allowed_from, target in workflow.TRANSITIONS.values():
        assert allowed_from <= set(model.STATUSES)
        assert target in model.STATUSES


TABLE = [(action, status) for action in workflow.TRANSITIONS for status in model.STATUSES]


@pytest.mark.parametrize("action,status", TABLE, ids=[f"{a}-from-{s}" for a, s in TABLE])
def test_transition_table(action: str, status: str) -> None:
    allowed_from, target = workflow.TRANSITIONS[action]
    log = log_in(status)
    case = log.header
    if status in allowed_from:
        assert workflow.transition(case, action) == target
        steps = PERFORM[action](case)
        assert steps == EXPECTED[action](target)
        log.steps(steps)
        assert log.header["status"] == target  # the event leads where the table says
    else:
        for call in (lambda: workflow.transition(case, action), lambda: PERFORM[action](case)):
            error = rule_of(call)
            assert error.rule == f"transition:{action}"
            assert f"is {status}" in error.message
            assert ", ".join(sorted(allowed_from)) in error.message
            assert error.hint is not None and HINT[status] in error.hint
            assert "{id}" not in error.hint


def test_start_and_wait_keep_a_reason() -> None:
    assert workflow.change_status(case_in("new"), "wait", "asked for a screenshot") == [
        ("status_changed", {"status": "waiting", "reason": "asked for a screenshot"})]


# ---------------------------------------------------------------- finished cases are frozen

NOT_STATUS_ACTIONS: dict[str, Callable[[model.Case], object]] = {
    "assign": lambda case: workflow.assign(case, "per", None, None),
    "take": lambda case: workflow.take(case, "per", None, None),
    "handover": lambda case: workflow.handover(case, agent="per", team=None,
                                               note="handed to Per"),
    "log": lambda case: workflow.log_entry(case, "called back", internal=False, email=False),
    "priority": lambda case: workflow.set_priority(case, "high", None),
}


@pytest.mark.parametrize("status", model.FINISHED_STATUSES)
@pytest.mark.parametrize("action", NOT_STATUS_ACTIONS)
def test_finished_case_is_frozen(action: str, status: str) -> None:
    error = rule_of(lambda: NOT_STATUS_ACTIONS[action](case_in(status)))
    assert error.rule == "finished-case-is-frozen"
    assert f"'{action}'" in error.message
    assert error.hint == f"reopen it first: casectl reopen {CASE_ID} --reason TEXT"


@pytest.mark.parametrize("status", model.OPEN_STATUSES)
@pytest.mark.parametrize("action", NOT_STATUS_ACTIONS)
def test_open_case_takes_other_actions(action: str, status: str) -> None:
    steps = NOT_STATUS_ACTIONS[action](case_in(status))
    assert isinstance(steps, list) and len(steps) == 1


# ---------------------------------------------------------------- assign and take

def test_assign_to_agent() -> None:
    case = case_in("new", team="servicedesk", assignee="kari")
    assert workflow.assign(case, "ingrid", None, "she knows DIPS") == [
        ("assigned", {"assignee": "ingrid", "note": "she knows DIPS"})]


def test_assign_to_team_leaves_the_case_in_its_queue() -> None:
    case = case_in("started", team="servicedesk", assignee="kari")
    assert workflow.assign(case, None, "nettverk", None) == [
        ("assigned", {"team": "nettverk", "assignee": None})]
    # to its own team: refused as a no-op rather than taking the agent off it
    error = rule_of(lambda: workflow.assign(case, None, "servicedesk", None))
    assert error.rule == "assignment-changes-something"


@pytest.mark.parametrize("assignee,team", [("kari", None), (None, "servicedesk"),
                                           ("kari", "servicedesk"), (None, None)])
def test_assign_that_changes_nothing_is_refused(assignee: str | None, team: str | None) -> None:
    case = case_in("new", team="servicedesk", assignee="kari" if assignee else None)
    error = rule_of(lambda: workflow.assign(case, assignee, team, "a note does not count"))
    assert error.rule == "assignment-changes-something"


@pytest.mark.parametrize("priority", ["critical", "high"])
def test_critical_and_high_change_team_only_by_handover(priority: str) -> None:
    case = case_in("started", team="servicedesk", assignee="kari", priority=priority)
    for call in (lambda: workflow.assign(case, None, "nettverk", None),
                 lambda: workflow.assign(case, "per", "nettverk", None),
                 lambda: workflow.take(case, "per", "nettverk", None)):
        error = rule_of(call)
        assert error.rule == "handover-for-critical-and-high"
        assert f"casectl handover {CASE_ID} --to nettverk" in (error.hint or "")
    # within the team, or naming no team: allowed
    assert workflow.assign(case, "ingrid", None, None)[0][0] == "assigned"
    assert workflow.assign(case, "ingrid", "servicedesk", None)[0][0] == "assigned"
    assert workflow.take(case, "ingrid", "servicedesk", None)[0][0] == "taken"
    # and a handover is the way
    steps = workflow.handover(case, agent=None, team="nettverk", note="handed to Per by phone")
    assert steps[0][1]["team"] == "nettverk"


@pytest.mark.parametrize("priority", ["medium", "low"])
def test_medium_and_low_change_team_by_assignment(priority: str) -> None:
    case = case_in("started", team="servicedesk", assignee="kari", priority=priority)
    assert workflow.assign(case, None, "nettverk", None)[0][0] == "assigned"


def test_take() -> None:
    case = case_in("new", team="servicedesk", assignee="kari")
    assert workflow.take(case, "ingrid", None, None) == [
        ("taken", {"assignee": "ingrid", "previous": "kari"})]
    assert workflow.take(case, "per", "nettverk", "on call") == [
        ("taken", {"assignee": "per", "previous": "kari", "team": "nettverk", "note": "on call"})]
    assert workflow.take(case, "ingrid", "servicedesk", None) == [  # same team: not repeated
        ("taken", {"assignee": "ingrid", "previous": "kari"})]
    unassigned = case_in("new", team="servicedesk")
    assert workflow.take(unassigned, "kari", None, None) == [
        ("taken", {"assignee": "kari", "previous": None})]


def test_take_what_you_have_is_refused() -> None:
    error = rule_of(lambda: workflow.take(case_in("new", assignee="kari"), "kari", None, None))
    assert error.rule == "take-changes-owner"


# ---------------------------------------------------------------- handover

RECEIVERS = [("per", "Per Hansen"), ("ola", "Ola Nordmann")]


@pytest.mark.parametrize("note", [None, "", "   \n"])
def test_handover_needs_a_note(note: str | None) -> None:
    error = rule_of(lambda: workflow.handover(case_in("new"), agent=None, team="nettverk",
                                              note=note))
    assert error.rule == "handover-needs-note"
    assert f"casectl handover {CASE_ID} --to nettverk" in (error.hint or "")


@pytest.mark.parametrize("note", [
    "Gitt til per på telefon",
    "handed to PER, who has the switch logs",
    "Per Hansen took it",
    "ringte Ola Nordmann (vakt)",
    "per.",
])
def test_handover_note_names_a_receiver(note: str) -> None:
    steps = workflow.handover(case_in("new", team="servicedesk"), agent=None, team="nettverk",
                              note=note, receivers=RECEIVERS)
    assert steps == [("handed_over", {"to": "nettverk", "note": note, "team": "nettverk",
                                      "assignee": None})]


@pytest.mark.parametrize("note", [
    "operasjon må flyttes",  # "per" inside a word is no one
    "sendt til superbruker",
    "Hansen er borte; Olav tok den",
    "handed over by phone",
])
def test_handover_note_must_name_a_receiver(note: str) -> None:
    error = rule_of(lambda: workflow.handover(case_in("new", team="servicedesk"), agent=None,
                                              team="nettverk", note=note, receivers=RECEIVERS))
    assert error.rule == "handover-names-receiver"
    assert "Per Hansen (per)" in (error.hint or "") and "Ola Nordmann (ola)" in (error.hint or "")


def test_handover_to_a_team_without_agents_needs_no_name() -> None:
    steps = workflow.handover(case_in("new", team="servicedesk"), agent=None, team="nettverk",
                              note="sent by phone", receivers=())
    assert steps[0][1]["team"] == "nettverk"


def test_handover_to_an_agent() -> None:
    case = case_in("started", team="servicedesk", assignee="kari")
    assert workflow.handover(case, agent="per", team=None, note="handed to Per",
                             agent_team="nettverk") == [
        ("handed_over", {"to": "per", "note": "handed to Per", "assignee": "per",
                         "team": "nettverk"})]
    assert workflow.handover(case, agent="ingrid", team=None, note="handed to Ingrid",
                             agent_team="servicedesk") == [
        ("handed_over", {"to": "ingrid", "note": "handed to Ingrid", "assignee": "ingrid"})]


def test_handover_that_changes_nothing_is_refused() -> None:
    queued = case_in("new", team="nettverk")
    error = rule_of(lambda: workflow.handover(queued, agent=None, team="nettverk",
                                              note="handed to Per", receivers=RECEIVERS))
    assert error.rule == "assignment-changes-something"
    held = case_in("new", team="nettverk", assignee="per")
    error = rule_of(lambda: workflow.handover(held, agent="per", team=None, note="to Per"))
    assert error.rule == "assignment-changes-something"
    # the team's own queue, from an agent of it: a change
    assert workflow.handover(held, agent=None, team="nettverk", note="back to Per's queue",
                             receivers=RECEIVERS)[0][1]["assignee"] is None


# ---------------------------------------------------------------- log and priority

def test_log_entry_kinds() -> None:
    case = case_in("started", reporter={"name": "Ola", "email": "ola@example.no",
                                        "phone": None, "org": None})
    assert workflow.log_entry(case, "called", internal=False, email=False) == [
        ("worklog", {"text": "called"})]
    assert workflow.log_entry(case, "between us", internal=True, email=False) == [
        ("note", {"text": "between us"})]
    assert workflow.log_entry(case, "please restart", internal=False, email=True) == [
        ("email", {"text": "please restart", "to": "ola@example.no"})]
    assert rule_of(lambda: workflow.log_entry(case, "  ", internal=False, email=False)
                   ).rule == "log-needs-text"
    assert rule_of(lambda: workflow.log_entry(case_in("started"), "hi", internal=False,
                                              email=True)).rule == "email-needs-reporter-address"


def test_set_priority() -> None:
    case = case_in("new")
    assert workflow.set_priority(case, "high", "ward is down") == [
        ("priority_set", {"priority": "high", "previous": "medium", "reason": "ward is down"})]
    assert workflow.set_priority(case, "low", None) == [
        ("priority_set", {"priority": "low", "previous": "medium"})]
    error = rule_of(lambda: workflow.set_priority(case, "medium", None))
    assert error.rule == "priority-changes"
    assert rule_of(lambda: workflow.set_priority(case, "urgent", None)).rule == "known-priority"


# ---------------------------------------------------------------- close, solve, confirm

def test_close_unconfirmed_solves() -> None:
    assert workflow.close(case_in("started"), "new cable", confirmed=False) == [
        ("solved", {"solution": "new cable"})]


def test_close_confirmed_closes() -> None:
    assert workflow.close(case_in("waiting"), "new cable", confirmed=True) == [
        ("closed", {"solution": "new cable", "confirmed": True})]


def test_confirming_a_solved_case_keeps_its_solution() -> None:
    log = log_in("solved")
    steps = workflow.close(log.header, None, confirmed=True)
    assert steps == [("closed", {"confirmed": True})]
    log.steps(steps)
    header = log.header
    assert header["status"] == "closed"
    assert header["solution"] == "restarted the service"
    assert header["solved"] == log.at(1) and header["closed"] == log.at(2)


def test_confirming_a_solved_case_with_a_new_solution() -> None:
    log = log_in("solved")
    log.steps(workflow.close(log.header, "replaced the disk", confirmed=True))
    assert log.header["solution"] == "replaced the disk"
    assert log.header["solved"] == log.at(1)


def test_a_solved_case_is_not_solved_again() -> None:
    assert rule_of(lambda: workflow.close(case_in("solved"), "again", confirmed=False)
                   ).rule == "transition:solve"


@pytest.mark.parametrize("status", ["new", "started", "waiting"])
@pytest.mark.parametrize("confirmed", [False, True])
@pytest.mark.parametrize("solution", [None, "", "  "])
def test_close_needs_a_solution_unless_confirming_a_solved_case(
        status: str, confirmed: bool, solution: str | None) -> None:
    error = rule_of(lambda: workflow.close(case_in(status), solution, confirmed=confirmed))
    assert error.rule == "close-needs-solution"


@pytest.mark.parametrize("status", model.FINISHED_STATUSES)
def test_close_a_finished_case_names_the_transition_first(status: str) -> None:
    assert rule_of(lambda: workflow.close(case_in(status), None, confirmed=True)
                   ).rule == "transition:close"


def test_reject_and_reopen_need_a_reason() -> None:
    assert rule_of(lambda: workflow.reject(case_in("new"), " ")).rule == "reject-needs-reason"
    assert rule_of(lambda: workflow.reopen(case_in("closed"), None)).rule == \
        "reopen-needs-reason"


# ---------------------------------------------------------------- create

def test_create() -> None:
    data = {"subject": "Skriver virker ikke", "priority": "low"}
    assert workflow.create(data, start=False) == [("created", data)]
    assert workflow.create(data, start=True) == [("created", data),
                                                 ("status_changed", {"status": "started"})]


@pytest.mark.parametrize("subject", [None, "", " \t"])
def test_create_needs_a_subject(subject: str | None) -> None:
    assert rule_of(lambda: workflow.create({"subject": subject}, start=False)).rule == \
        "subject-required"


@pytest.mark.parametrize("reporter", [None, {"name": "Ola", "email": "ola@example.no"},
                                      {"name": "Ola", "phone": None}, {"phone": ""}])
def test_critical_needs_a_contact_phone(reporter: dict[str, Any] | None) -> None:
    error = rule_of(lambda: workflow.create({"subject": "Akutten nede", "priority": "critical",
                                             "reporter": reporter}, start=True))
    assert error.rule == "critical-needs-contact-phone"
    assert "--phone" in (error.hint or "")


def test_critical_with_a_phone_and_others_without() -> None:
    workflow.create({"subject": "Akutten nede", "priority": "critical",
                     "reporter": {"name": "Ola", "phone": "+47 900 00 000"}}, start=False)
    for priority in ("high", "medium", "low", None):
        workflow.create({"subject": "x", "priority": priority}, start=False)


# ---------------------------------------------------------------- replay

def test_replay_created() -> None:
    log = Log(subject="Skriver", description="på 3. etg", category="print", team="servicedesk",
              assignee=None, notify=True, fields={"room": "301"})
    header = log.header
    assert header == {**model.empty_header(CASE_ID), "subject": "Skriver",
                      "description": "på 3. etg", "type": "incident", "category": "print",
                      "status": "new", "priority": "medium", "team": "servicedesk",
                      "notify": True, "fields": {"room": "301"}, "created": log.at(0),
                      "updated": log.at(0)}
    assert list(header) == list(model.HEADER_KEYS)


def test_replay_created_defaults() -> None:
    header = model.replay(CASE_ID, [model.make_event("E1", "2026-11-03T09:00:00+01:00", "kari",
                                                     "created", {"subject": "x"})])
    assert header["type"] == model.DEFAULT_TYPE and header["priority"] == model.DEFAULT_PRIORITY
    assert header["notify"] is False and header["fields"] == {} and header["tasks"] == []


@pytest.mark.parametrize("kind", ["assigned", "taken", "handed_over"])
def test_replay_assignment_changes_only_what_it_names(kind: str) -> None:
    log = Log(team="servicedesk", assignee="kari")
    log.add(kind, {"team": "nettverk", "to": "nettverk", "note": "x"} if kind == "handed_over"
            else {"team": "nettverk"})
    assert (log.header["team"], log.header["assignee"]) == ("nettverk", "kari")
    log.add(kind, {"assignee": "per", "to": "per", "note": "x"})
    assert (log.header["team"], log.header["assignee"]) == ("nettverk", "per")
    log.add(kind, {"assignee": None, "to": "nettverk", "note": "x"})
    assert (log.header["team"], log.header["assignee"]) == ("nettverk", None)


@pytest.mark.parametrize("kind", ["worklog", "note", "email"])
def test_replay_entries_change_only_updated(kind: str) -> None:
    log = log_in("started")
    before = log.header
    log.add(kind, {"text": "called", "to": "ola@example.no"})
    assert log.header == {**before, "updated": log.at(2)}


def test_replay_priority_set() -> None:
    log = Log()
    log.add("priority_set", {"priority": "critical", "previous": "medium"})
    assert log.header["priority"] == "critical"


def test_replay_triaged_keeps_the_latest_answer_per_question() -> None:
    log = Log()
    assert log.header["answers"] == {}
    log.add("triaged", {"answers": {"socket": {"question": "Socket?", "answer": "B4",
                                               "internal": False}}})
    log.add("triaged", {"team": "nettverk", "answers": {
        "socket": {"question": "Socket?", "answer": "B5", "internal": False},
        "ip": {"question": "IP?", "answer": "10.0.0.1", "internal": True}}})
    assert log.header["answers"] == {
        "socket": {"question": "Socket?", "answer": "B5", "internal": False},
        "ip": {"question": "IP?", "answer": "10.0.0.1", "internal": True}}


def test_replay_started_is_set_once() -> None:
    log = Log()
    log.add("status_changed", {"status": "waiting"})
    assert (log.header["status"], log.header["started"]) == ("waiting", None)
    log.add("status_changed", {"status": "started"})
    log.add("status_changed", {"status": "waiting"})
    log.add("status_changed", {"status": "started"})
    assert (log.header["status"], log.header["started"]) == ("started", log.at(2))
    log.add("reopened", {"reason": "x"})
    assert log.header["started"] == log.at(2)


@pytest.mark.parametrize("finish", ["solved", "closed", "rejected"])
def test_replay_reopen_clears_the_ending(finish: str) -> None:
    log = log_in(finish)
    header = log.header
    assert header["closed" if finish != "solved" else "solved"] == log.at(1)
    log.add("reopened", {"reason": "it broke again"})
    header = log.header
    assert header["status"] == "started"
    assert header["solution"] is header["rejection"] is None
    assert header["solved"] is header["closed"] is None
    assert header["started"] == log.at(2)  # never started before: the reopen starts it


def test_replay_endings() -> None:
    log = log_in("rejected")
    assert (log.header["rejection"], log.header["closed"], log.header["solved"]) == \
        ("duplicate", log.at(1), None)
    log = log_in("closed")  # closed at once: solved then too
    assert (log.header["solution"], log.header["solved"], log.header["closed"]) == \
        ("restarted the service", log.at(1), log.at(1))


def test_every_event_kind_has_a_replay_test() -> None:
    tested = {"created", "assigned", "taken", "handed_over", "worklog", "note", "email",
              "priority_set", "status_changed", "solved", "closed", "rejected", "reopened",
              "edited", "triaged",  # edited: tests/test_edit.py
              # tests/test_tasks.py, test_contact.py, test_unread.py
              "task_added", "task_done", "contact", "reply"}
    assert tested == set(model.EVENT_KINDS)


def test_make_event_public_follows_the_kind() -> None:
    for kind, public in model.EVENT_KINDS.items():
        if kind in model.PUBLIC_BY_DATA:  # tests/test_tasks.py
            continue
        assert model.make_event("E1", "2026-11-03T09:00:00+01:00", "kari", kind, {}
                                )["public"] is public


def long_log() -> Log:
    log = Log(team="servicedesk")
    log.add("assigned", {"assignee": "kari"})
    log.add("status_changed", {"status": "started"})
    log.add("worklog", {"text": "called"})
    log.add("priority_set", {"priority": "high", "previous": "medium"})
    log.add("handed_over", {"to": "nettverk", "note": "to Per", "team": "nettverk",
                            "assignee": None})
    log.add("taken", {"assignee": "per", "previous": None})
    log.add("status_changed", {"status": "waiting"})
    log.add("solved", {"solution": "new switch"})
    log.add("reopened", {"reason": "down again"})
    log.add("closed", {"solution": "new switch port", "confirmed": True})
    return log


def test_replay_does_not_depend_on_the_order_of_the_log() -> None:
    log = long_log()
    expected = log.header
    assert expected["status"] == "closed" and expected["assignee"] == "per"
    rng = random.Random(5)
    for _ in range(50):
        shuffled = list(log.events)
        rng.shuffle(shuffled)
        assert model.replay(CASE_ID, shuffled) == expected
    # a union of two clones' logs, with the shared events twice
    assert model.replay(CASE_ID, log.events[:8] + log.events[3:]) == expected
    assert model.merge_logs(log.events[:8], log.events[3:]) == log.events


def test_replay_orders_by_instant_across_zones_then_by_id() -> None:
    created = model.make_event("E0", "2026-11-03T09:00:00+01:00", "kari", "created",
                               {"subject": "x"})
    # 08:30Z is 09:30+01:00: after the 09:10+01:00 event, though it sorts first as text
    later = model.make_event("E1", "2026-11-03T08:30:00Z", "kari", "priority_set",
                             {"priority": "low"})
    earlier = model.make_event("E2", "2026-11-03T09:10:00+01:00", "kari", "priority_set",
                               {"priority": "high"})
    assert model.replay(CASE_ID, [created, later, earlier])["priority"] == "low"
    tie_a = model.make_event("EA", "2026-11-03T10:00:00+01:00", "kari", "priority_set",
                             {"priority": "critical"})
    tie_b = model.make_event("EB", "2026-11-03T10:00:00+01:00", "kari", "priority_set",
                             {"priority": "low"})
    for events in itertools.permutations([created, tie_a, tie_b]):
        assert model.replay(CASE_ID, list(events))["priority"] == "low"


@pytest.mark.parametrize("events,words", [
    ([], "empty"),
    ([("worklog", {"text": "x"})], "not 'created'"),
    ([("created", {"subject": "x"}), ("created", {"subject": "y"})], "more than one"),
])
def test_replay_refuses_a_log_without_one_created_first(events: list, words: str) -> None:
    log = [model.make_event(f"E{n}", f"2026-11-03T09:0{n}:00+01:00", "kari", kind, data)
           for n, (kind, data) in enumerate(events)]
    with pytest.raises(model.ReplayError, match=words):
        model.replay(CASE_ID, log)


def test_replay_refuses_an_impossible_date() -> None:
    event = model.make_event("E1", "2026-02-30T09:00:00+01:00", "kari", "created",
                             {"subject": "x"})
    with pytest.raises(model.ReplayError, match="not a valid time"):
        model.replay(CASE_ID, [event])

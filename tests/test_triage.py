"""Triage questions per team [seed 004]: a team's questions are answered
before a case is routed to it (new --team, assign, handover), in the same
command (--answer) or before (casectl triage); the desk's triage team asks
nothing. Through the real command line, on the case files and git log."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from helpers import (act, case_file, commit_count, commits, copy_desk, desk_template, git, grant,
                     isolated_env, load_case, load_yaml, new_case, snapshot)

SOCKET = "Kontaktnummer (uttak) der utstyret står?"
LOCATION = "Sykehus, bygg og etasje?"
HANDED = "Overdratt til Per Hansen på telefon"  # the note names the receiver in nettverk


@pytest.fixture(scope="module")
def triage_desk(tmp_path_factory) -> Path:
    """The standard desk, nettverk with two questions, ledelse the triage team."""
    root = desk_template(tmp_path_factory, "triage")
    with isolated_env(tmp_path_factory.mktemp("triage-home")):
        done = act(root, "team", "set", "nettverk", "--question", f"socket={SOCKET}",
                   "--question", f"location={LOCATION}", agent="admin")
        assert done.exit_code == 0, done.output
        done = act(root, "team", "add", "ledelse", "--name", "Trakta", "--triage",
                   agent="admin")
        assert done.exit_code == 0, done.output
    return root


@pytest.fixture
def desk(tmp_path, triage_desk) -> Path:
    return copy_desk(triage_desk, tmp_path)


def config(repo: Path) -> dict:
    return load_yaml(repo / "casectl.yaml")


def refused_for_questions(repo: Path, result, before, *missing: str) -> None:
    """Exit 1 by rule triage-questions, each missing question listed with its
    text, and how to answer; nothing changed."""
    assert result.exit_code == 1, result.output
    assert "refused by rule 'triage-questions'" in result.stderr
    assert result.stdout == ""
    texts = {"socket": SOCKET, "location": LOCATION}
    for key in missing:
        assert f"{key}: {texts[key]}" in result.stderr
        assert f"--answer {key}=" in result.stderr
    for key in set(texts) - set(missing):
        assert f"{key}: {texts[key]}" not in result.stderr
    assert "casectl triage" in result.stderr or "casectl new" in result.stderr
    assert snapshot(repo) == before


# ---------------------------------------------------------------- team add / team set

def test_team_add_with_questions_and_the_triage_team(desk) -> None:
    teams = config(desk)["teams"]
    assert teams["nettverk"]["questions"] == {"socket": SOCKET, "location": LOCATION}
    assert teams["ledelse"] == {"name": "Trakta", "email": None, "triage": True}
    before = commit_count(desk)
    result = act(desk, "team", "add", "backup", "--question", "path=Sti og filnavn?",
                 "--question", "overwrite=Kan gjeldende fil overskrives?", agent="admin")
    assert result.exit_code == 0, result.output
    assert result.stdout == "backup\n"
    assert config(desk)["teams"]["backup"]["questions"] == {
        "path": "Sti og filnavn?", "overwrite": "Kan gjeldende fil overskrives?"}
    assert commit_count(desk) == before + 1
    assert git(desk, "log", "-1", "--format=%s") == "casectl team-add: backup\n"
    listed = {row["id"]: row for row in yaml.safe_load(act(desk, "team", "list", "--format",
                                                             "yaml").stdout)}
    assert listed["backup"]["questions"]["path"] == "Sti og filnavn?"
    assert listed["ledelse"]["triage"] is True and listed["nettverk"]["triage"] is False
    assert act(desk, "validate").exit_code == 0


def test_team_set_changes_questions_name_email_and_triage(desk) -> None:
    result = act(desk, "team", "set", "nettverk", "--question", "socket=Uttaksnummer?",
                 "--question", "faulty=Hvilket utstyr er feil?", "--remove-question",
                 "location", "--name", "Nettverk og tele", "--email", "nett@helse.example.no",
                 agent="admin")
    assert result.exit_code == 0, result.output
    team = config(desk)["teams"]["nettverk"]
    assert team == {"name": "Nettverk og tele", "email": "nett@helse.example.no",
                    "questions": {"socket": "Uttaksnummer?", "faulty": "Hvilket utstyr er feil?"}}
    assert commits(desk, "-1")[0]["subject"] == "casectl team-set: nettverk"
    # the last question removed leaves no questions key
    assert act(desk, "team", "set", "nettverk", "--remove-question", "socket",
               "--remove-question", "faulty", agent="admin").exit_code == 0
    assert "questions" not in config(desk)["teams"]["nettverk"]
    # the triage flag moves only when the old triage team gives it up
    moved = act(desk, "team", "set", "servicedesk", "--triage", agent="admin")
    assert moved.exit_code == 1 and "one-triage-team" in moved.stderr
    assert "casectl team set ledelse --no-triage" in moved.stderr
    assert act(desk, "team", "set", "ledelse", "--no-triage", agent="admin").exit_code == 0
    assert act(desk, "team", "set", "servicedesk", "--triage", agent="admin").exit_code == 0
    teams = config(desk)["teams"]
    assert "triage" not in teams["ledelse"] and teams["servicedesk"]["triage"] is True
    assert act(desk, "validate").exit_code == 0


@pytest.mark.parametrize("args,code,says", [
    (("nettverk",), 2, "nothing to change"),
    (("nettverk", "--question", "socket"), 2, "is not KEY=TEXT"),
    (("nettverk", "--question", "=Hva?"), 2, "is not KEY=TEXT"),
    (("nettverk", "--question", "område=Hvor?"), 2, "characters a key cannot have"),
    (("nettverk", "--question", "socket="), 2, "is empty"),
    (("nettverk", "--question", "a=x", "--question", "a=y"), 2, "given twice"),
    (("nettverk", "--question", "a=x", "--remove-question", "a"), 2, "both set and removed"),
    (("nettverk", "--remove-question", "nope"), 1, "known question keys: location, socket"),
    (("nettverk", "--question", f"socket={SOCKET}"), 1, "team-set-changes-something"),
    (("ledelse", "--triage"), 1, "team-set-changes-something"),
    (("nosuch", "--name", "X"), 3, "no team 'nosuch'"),
])
def test_team_set_refuses(desk, args: tuple[str, ...], code: int, says: str) -> None:
    before = snapshot(desk)
    result = act(desk, "team", "set", *args, agent="admin")
    assert result.exit_code == code, result.output
    assert says in result.stderr
    assert "Traceback" not in result.output
    assert snapshot(desk) == before


def test_team_add_refuses_a_second_triage_team(desk) -> None:
    result = act(desk, "team", "add", "trakta2", "--triage", agent="admin")
    assert result.exit_code == 1 and "one-triage-team" in result.stderr
    assert "trakta2" not in config(desk)["teams"]


# ---------------------------------------------------------------- refusals

def test_assign_to_a_team_with_questions_is_refused_listing_them(desk) -> None:
    case_id = new_case(desk)
    before = snapshot(desk)
    result = act(desk, "assign", case_id, "--team", "nettverk")
    refused_for_questions(desk, result, before, "socket", "location")
    assert f"casectl triage {case_id} --team nettverk" in result.stderr


def test_assign_to_an_agent_of_such_a_team_is_refused_too(desk) -> None:
    case_id = new_case(desk)
    before = snapshot(desk)
    result = act(desk, "assign", case_id, "--to", "per")  # per's team is nettverk
    refused_for_questions(desk, result, before, "socket", "location")


def test_handover_to_a_team_with_questions_is_refused(desk) -> None:
    case_id = new_case(desk)
    before = snapshot(desk)
    result = act(desk, "handover", case_id, "--to", "nettverk", "--note", HANDED)
    refused_for_questions(desk, result, before, "socket", "location")


def test_handover_to_an_agent_of_such_a_team_is_refused(desk) -> None:
    case_id = new_case(desk)
    before = snapshot(desk)
    result = act(desk, "handover", case_id, "--to", "per", "--note", "Per tar den")
    refused_for_questions(desk, result, before, "socket", "location")


def test_new_into_a_team_with_questions_is_refused(desk) -> None:
    before = snapshot(desk)
    result = act(desk, "new", "--subject", "Ingen nett på pasientrom", "--team", "nettverk")
    refused_for_questions(desk, result, before, "socket", "location")
    result = act(desk, "new", "--subject", "Ingen nett", "--assignee", "per")
    refused_for_questions(desk, result, before, "socket", "location")


def test_a_partial_answer_is_refused_listing_what_is_left(desk) -> None:
    case_id = new_case(desk)
    before = snapshot(desk)
    result = act(desk, "assign", case_id, "--team", "nettverk", "--answer", "socket=B4-117")
    refused_for_questions(desk, result, before, "location")


# ---------------------------------------------------------------- answering

def test_answers_in_the_same_assign(desk) -> None:
    case_id = new_case(desk)
    before = commit_count(desk)
    result = act(desk, "assign", case_id, "--team", "nettverk", "--answer", "socket=B4-117",
                 "--answer", "location=Haukeland, bygg 4, 2. etg")
    assert result.exit_code == 0, result.output
    assert result.stdout == case_id + "\n"
    case = load_case(desk, case_id)
    assert case["team"] == "nettverk"
    assert case["answers"] == {
        "socket": {"question": SOCKET, "answer": "B4-117", "internal": False},
        "location": {"question": LOCATION, "answer": "Haukeland, bygg 4, 2. etg",
                     "internal": False}}
    triaged, assigned = case["log"][-2:]
    assert (triaged["kind"], assigned["kind"]) == ("triaged", "assigned")
    assert triaged["public"] is False
    assert triaged["data"] == {"team": "nettverk", "answers": case["answers"]}
    assert commit_count(desk) == before + 1  # one action, one commit
    last = commits(desk, "-1")[0]
    assert last["trailers"] == {"Case": case_id, "Action": "assign", "Agent": "kari"}
    assert "socket: B4-117" in git(desk, "log", "-1", "--format=%B")
    assert act(desk, "validate").exit_code == 0


def test_answers_in_the_same_handover_and_new(desk) -> None:
    case_id = new_case(desk)
    result = act(desk, "handover", case_id, "--to", "nettverk", "--note", HANDED,
                 "--answer", "socket=B4-117", "--internal-answer", "location=Bygg 4")
    assert result.exit_code == 0, result.output
    case = load_case(desk, case_id)
    assert case["team"] == "nettverk" and case["log"][-1]["kind"] == "handed_over"
    assert case["answers"]["location"]["internal"] is True
    assert case["answers"]["socket"]["internal"] is False

    result = act(desk, "new", "--subject", "Ingen nett", "--team", "nettverk",
                 "--answer", "socket=C2-001", "--answer", "location=Bygg 2")
    assert result.exit_code == 0, result.output
    new_id = result.stdout.strip()
    case = load_case(desk, new_id)
    assert [e["kind"] for e in case["log"]] == ["created", "triaged"]
    assert case["team"] == "nettverk"
    assert case["answers"]["socket"]["answer"] == "C2-001"
    assert commits(desk, "-1")[0]["trailers"]["Action"] == "new"
    assert act(desk, "validate").exit_code == 0


def test_answers_given_before_with_casectl_triage(desk) -> None:
    case_id = new_case(desk)
    result = act(desk, "triage", case_id, "--team", "nettverk", "--answer", "socket=B4-117")
    assert result.exit_code == 0, result.output
    assert result.stdout == case_id + "\n"
    assert commits(desk, "-1")[0]["trailers"] == {"Case": case_id, "Action": "triage",
                                                  "Agent": "kari"}
    # without --team, any team's question key is accepted
    assert act(desk, "triage", case_id, "--internal-answer",
               "location=Bak resepsjonen").exit_code == 0
    case = load_case(desk, case_id)
    assert case["team"] == "servicedesk"  # answering routes nothing
    assert set(case["answers"]) == {"socket", "location"}
    result = act(desk, "assign", case_id, "--team", "nettverk")
    assert result.exit_code == 0, result.output
    case = load_case(desk, case_id)
    assert case["team"] == "nettverk" and case["log"][-1]["kind"] == "assigned"
    shown = act(desk, "show", case_id).stdout
    assert "Triage answers:" in shown
    assert "socket: B4-117" in shown and SOCKET in shown
    assert "location: Bak resepsjonen  [internal]" in shown


def test_a_new_answer_replaces_the_old_and_the_same_one_is_refused(desk) -> None:
    case_id = new_case(desk)
    assert act(desk, "triage", case_id, "--answer", "socket=B4").exit_code == 0
    same = act(desk, "triage", case_id, "--answer", "socket=B4")
    assert same.exit_code == 1 and "triage-changes-something" in same.stderr
    assert act(desk, "triage", case_id, "--answer", "socket=B5").exit_code == 0
    assert load_case(desk, case_id)["answers"]["socket"]["answer"] == "B5"


def test_a_question_added_later_is_asked(desk) -> None:
    case_id = new_case(desk)
    act(desk, "triage", case_id, "--answer", "socket=B4", "--answer", "location=Bygg 4")
    assert act(desk, "team", "set", "nettverk", "--question", "faulty=Hvilket utstyr?",
               agent="admin").exit_code == 0
    before = snapshot(desk)
    result = act(desk, "assign", case_id, "--team", "nettverk")
    assert result.exit_code == 1 and "faulty: Hvilket utstyr?" in result.stderr
    assert "socket:" not in result.stderr.split("hint:")[0]
    assert snapshot(desk) == before


def test_the_triage_team_asks_nothing(desk) -> None:
    case_id = new_case(desk)
    result = act(desk, "assign", case_id, "--team", "ledelse", "--note", "Må avklares")
    assert result.exit_code == 0, result.output
    assert load_case(desk, case_id)["team"] == "ledelse"
    result = act(desk, "new", "--subject", "Uklart hva som trengs", "--team", "ledelse")
    assert result.exit_code == 0, result.output


def test_teams_without_questions_ask_nothing(desk) -> None:
    case_id = new_case(desk)
    assert act(desk, "assign", case_id, "--team", "klinisk-app").exit_code == 0


def test_taking_a_case_is_not_routing_it(desk) -> None:
    """A member of the team who takes the case gathers what they need
    themselves: take is not asked (README)."""
    grant(desk, "per", "receiver")  # a handler takes only the cases of their own team
    case_id = new_case(desk)
    result = act(desk, "take", case_id, agent="per")
    assert result.exit_code == 0, result.output
    assert load_case(desk, case_id)["team"] == "nettverk"


# ---------------------------------------------------------------- bad answers

@pytest.mark.parametrize("command", ["triage-team", "assign", "handover", "new"])
def test_an_unknown_question_key_is_refused_with_the_known_keys(desk, command: str) -> None:
    case_id = new_case(desk)
    before = snapshot(desk)
    args = {"triage-team": ("triage", case_id, "--team", "nettverk"),
            "assign": ("assign", case_id, "--team", "nettverk"),
            "handover": ("handover", case_id, "--to", "nettverk", "--note", HANDED),
            "new": ("new", "--subject", "x", "--team", "nettverk")}[command]
    result = act(desk, *args, "--answer", "socket=B4", "--answer", "colour=blå")
    assert result.exit_code == 1, result.output
    assert "refused by rule 'known-triage-question'" in result.stderr
    assert "team nettverk has no triage question 'colour'" in result.stderr
    assert "known question keys: location, socket" in result.stderr
    assert snapshot(desk) == before


def test_a_key_no_team_asks_is_refused(desk) -> None:
    case_id = new_case(desk)
    result = act(desk, "triage", case_id, "--answer", "colour=blå")
    assert result.exit_code == 1
    assert "no team has a triage question 'colour'" in result.stderr
    result = act(desk, "triage", case_id, "--team", "ledelse", "--answer", "socket=B4")
    assert result.exit_code == 1 and "team ledelse has no triage question" in result.stderr


@pytest.mark.parametrize("args,says", [
    (("--answer", "socket"), "is not KEY=TEXT"),
    (("--answer", "=B4"), "is not KEY=TEXT"),
    (("--answer", "socket="), "is empty"),
    (("--answer", "Uttak nr=B4"), "characters a key cannot have"),
    (("--answer", "socket=B4", "--answer", "socket=B5"), "given twice"),
    (("--answer", "socket=B4", "--internal-answer", "socket=B5"), "answered by both"),
    ((), "no answers given"),
])
def test_triage_refuses_bad_input(desk, args: tuple[str, ...], says: str) -> None:
    case_id = new_case(desk)
    before = snapshot(desk)
    result = act(desk, "triage", case_id, *args)
    assert result.exit_code == 2, result.output
    assert says in result.stderr
    assert snapshot(desk) == before


def test_answers_without_a_move_are_a_usage_error(desk) -> None:
    case_id = new_case(desk)
    result = act(desk, "assign", case_id, "--to", "ingrid", "--answer", "socket=B4")
    assert result.exit_code == 2 and "casectl triage" in result.stderr
    result = act(desk, "new", "--subject", "x", "--answer", "socket=B4")
    assert result.exit_code == 2 and "--team" in result.stderr


def test_triage_of_unknown_case_team_and_finished_case(desk) -> None:
    assert act(desk, "triage", "0000000000", "--answer", "socket=B4").exit_code == 3
    case_id = new_case(desk)
    assert act(desk, "triage", case_id, "--team", "nosuch",
               "--answer", "socket=B4").exit_code == 3
    act(desk, "reject", case_id, "--reason", "Dublett")
    result = act(desk, "triage", case_id, "--answer", "socket=B4")
    assert result.exit_code == 1 and "finished-case-is-frozen" in result.stderr


# ---------------------------------------------------------------- files

def test_validate_catches_answers_that_contradict_the_log(desk) -> None:
    case_id = new_case(desk)
    act(desk, "triage", case_id, "--answer", "socket=B4")
    path = case_file(desk, case_id)
    doc = load_yaml(path)
    doc["answers"]["socket"]["answer"] = "C9"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    result = act(desk, "validate")
    assert result.exit_code == 4 and "answers" in result.output


def test_a_case_file_from_before_answers_existed_stays_valid(desk) -> None:
    case_id = new_case(desk)
    path = case_file(desk, case_id)
    doc = load_yaml(path)
    del doc["answers"], doc["urgent"]
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    git(desk, "-c", "user.name=x", "-c", "user.email=x@example.no", "commit", "-qam", "old")
    assert act(desk, "validate").exit_code == 0
    assert act(desk, "triage", case_id, "--answer", "socket=B4").exit_code == 0
    assert load_case(desk, case_id)["answers"]["socket"]["answer"] == "B4"


def test_validate_refuses_two_triage_teams_by_hand(desk) -> None:
    path = desk / "casectl.yaml"
    data = load_yaml(path)
    data["teams"]["servicedesk"]["triage"] = True
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    result = act(desk, "validate")
    assert result.exit_code == 4
    assert "teams.servicedesk.triage" in result.output and "one triage team" in result.output


def test_team_list_marks_the_triage_team(desk) -> None:
    lines = act(desk, "team", "list").stdout.splitlines()
    assert lines[0].split() == ["id", "name", "email", "triage", "questions"]
    rows = {line.split()[0]: line.split() for line in lines[2:]}
    assert rows["ledelse"][2] == "yes"
    assert rows["nettverk"][-1] == "socket,location"


def test_the_reporter_may_see_only_answers_not_marked_internal(desk) -> None:
    from casectl import model, triage

    case_id = new_case(desk)
    assert act(desk, "assign", case_id, "--team", "nettverk", "--answer", "socket=B4-117",
               "--internal-answer", "location=Serverrom U1, kode 4711").exit_code == 0
    case = load_case(desk, case_id)
    visible = triage.reporter_answers(case["answers"])
    assert visible == {"socket": {"question": SOCKET, "answer": "B4-117", "internal": False}}
    # the events that carry answers are never public
    assert all(not e["public"] for e in case["log"] if e["kind"] == "triaged")
    assert model.EVENT_KINDS["triaged"] is False

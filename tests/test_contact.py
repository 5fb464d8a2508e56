"""Contact attempts before closing [seed 004], through the real command
line with a frozen clock: a solved case whose reporter cannot be reached
closes only after three unanswered attempts since it was solved, by phone
and e-mail, in two different ISO calendar weeks of the desk's zone
(Europe/Oslo here). Week 48 of 2026 is Monday 23 to Sunday 29 November."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import act, commits, load_case, new_case, run, snapshot

SOLVED_AT = "2026-11-23T09:00:00+01:00"  # Monday, week 48


def at(repo: Path, when: str, *args: str, agent: str = "kari"):
    return run("--repo", str(repo), "--as", agent, *args, env={"CASECTL_NOW": when})


def solved_case(repo: Path) -> str:
    result = at(repo, "2026-11-20T10:00:00+01:00", "new", "--subject", "Skriver virker ikke",
                "--reporter", "Ola Nordmann <ola@bergen.kommune.no>", "--phone", "+47 912 34 567")
    case_id = result.stdout.strip()
    assert at(repo, SOLVED_AT, "close", case_id, "--solution", "Ny driver").exit_code == 0
    return case_id


def attempt(repo: Path, case_id: str, when: str, via: str, outcome: str = "--no-answer",
            *extra: str) -> None:
    result = at(repo, when, "contact", case_id, "--via", via, outcome, *extra)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == case_id


def refusal(repo: Path, case_id: str, when: str) -> str:
    before = snapshot(repo)
    result = at(repo, when, "close", case_id, "--unreachable")
    assert result.exit_code == 1, result.output
    assert "refused by rule 'unreachable-needs-attempts'" in result.stderr
    assert "hint:" in result.stderr and result.stdout == ""
    assert snapshot(repo) == before
    return result.stderr


def test_contact_records_an_internal_attempt(desk: Path) -> None:
    case_id = solved_case(desk)
    attempt(desk, case_id, "2026-11-23T13:00:00+01:00", "phone", "--no-answer", "--note",
            "Lagt igjen beskjed på svarer")
    attempt(desk, case_id, "2026-11-24T13:00:00+01:00", "EMAIL", "--reached")
    case = load_case(desk, case_id)
    assert [(e["kind"], e["public"], e["data"]) for e in case["log"][-2:]] == [
        ("contact", False, {"via": "phone", "reached": False,
                            "note": "Lagt igjen beskjed på svarer"}),
        ("contact", False, {"via": "email", "reached": True})]
    assert case["status"] == "solved"  # an attempt changes nothing else
    assert commits(desk)[0]["trailers"] == {"Case": case_id, "Action": "contact",
                                            "Agent": "kari"}
    texts = [row["text"] for row in json.loads(act(desk, "history", case_id, "--json").stdout)]
    assert texts[-2:] == ["contact attempt by phone: no answer (Lagt igjen beskjed på svarer)",
                          "contact attempt by e-mail: reached the reporter"]


@pytest.mark.parametrize("args", [("--via", "phone"), ("--via", "phone", "--reached",
                                                        "--no-answer"),
                                  ("--via", "fax", "--reached"), ("--reached",)])
def test_contact_needs_a_way_and_an_outcome(desk: Path, args: tuple[str, ...]) -> None:
    case_id = solved_case(desk)
    before = snapshot(desk)
    result = act(desk, "contact", case_id, *args)
    assert result.exit_code == 2, result.output
    assert snapshot(desk) == before


def test_the_refusal_says_exactly_what_is_missing_until_the_rule_is_met(desk: Path) -> None:
    case_id = solved_case(desk)
    assert "0 of 3 attempts; no phone attempt yet; no e-mail attempt yet; none in any " \
        "calendar week yet" in refusal(desk, case_id, "2026-11-23T10:00:00+01:00")
    attempt(desk, case_id, "2026-11-23T14:00:00+01:00", "email")
    attempt(desk, case_id, "2026-11-25T09:00:00+01:00", "email")
    message = refusal(desk, case_id, "2026-11-25T10:00:00+01:00")
    assert "cannot be closed as unreachable yet: 2 of 3 attempts; no phone attempt yet; all " \
           "in week 48 (since it was solved)" in message
    attempt(desk, case_id, "2026-11-27T09:00:00+01:00", "phone")
    assert "yet: all in week 48 (" in refusal(desk, case_id, "2026-11-27T10:00:00+01:00")
    attempt(desk, case_id, "2026-12-01T09:00:00+01:00", "phone")  # Tuesday, week 49
    result = at(desk, "2026-12-01T10:00:00+01:00", "close", case_id, "--unreachable")
    assert result.exit_code == 0, result.output
    case = load_case(desk, case_id)
    assert (case["status"], case["solution"], case["closed"]) == \
        ("closed", "Ny driver", "2026-12-01T10:00:00+01:00")
    assert case["log"][-1]["data"] == {"unreachable": True, "attempts": 4}
    assert commits(desk)[0]["trailers"] == {"Case": case_id, "Action": "close-unreachable",
                                            "Agent": "kari"}
    assert json.loads(act(desk, "history", case_id, "--json").stdout)[-1]["text"] == \
        "closed: the reporter could not be reached (4 contact attempts)"
    assert act(desk, "validate").exit_code == 0


def test_three_attempts_by_both_ways_over_two_weeks_are_enough(desk: Path) -> None:
    case_id = solved_case(desk)
    attempt(desk, case_id, "2026-11-26T09:00:00+01:00", "phone")
    attempt(desk, case_id, "2026-11-27T09:00:00+01:00", "email")
    attempt(desk, case_id, "2026-11-30T09:00:00+01:00", "phone")
    result = at(desk, "2026-11-30T10:00:00+01:00", "close", case_id, "--unreachable",
                "--solution", "Ny driver installert; bruker ikke nådd")
    assert result.exit_code == 0, result.output
    case = load_case(desk, case_id)
    assert case["solution"] == "Ny driver installert; bruker ikke nådd"
    assert case["log"][-1]["data"]["attempts"] == 3


def test_weeks_are_counted_in_the_desks_time_zone(desk: Path) -> None:
    case_id = solved_case(desk)
    attempt(desk, case_id, "2026-11-24T09:00:00+01:00", "phone")
    attempt(desk, case_id, "2026-11-25T09:00:00+01:00", "email")
    # Sunday 22:30 UTC is Sunday 23:30 in Oslo: still week 48.
    attempt(desk, case_id, "2026-11-29T22:30:00+00:00", "phone")
    assert "all in week 48" in refusal(desk, case_id, "2026-11-29T23:00:00+00:00")
    # Sunday 23:30 UTC is Monday 00:30 in Oslo: week 49, though UTC says week 48.
    attempt(desk, case_id, "2026-11-29T23:30:00+00:00", "email")
    assert at(desk, "2026-11-29T23:40:00+00:00", "close", case_id,
              "--unreachable").exit_code == 0


def test_only_attempts_since_the_case_was_last_solved_count(desk: Path) -> None:
    case_id = solved_case(desk)
    for when, via in (("2026-11-24T09:00:00+01:00", "phone"),
                      ("2026-11-25T09:00:00+01:00", "email"),
                      ("2026-11-30T09:00:00+01:00", "phone")):
        attempt(desk, case_id, when, via)
    assert at(desk, "2026-11-30T10:00:00+01:00", "reopen", case_id, "--reason",
              "Feilen kom tilbake").exit_code == 0
    assert at(desk, "2026-12-01T10:00:00+01:00", "close", case_id, "--solution",
              "Byttet skriver").exit_code == 0
    assert "0 of 3 attempts" in refusal(desk, case_id, "2026-12-01T11:00:00+01:00")


def test_a_reached_attempt_starts_the_count_anew(desk: Path) -> None:
    case_id = solved_case(desk)
    for when, via in (("2026-11-24T09:00:00+01:00", "phone"),
                      ("2026-11-25T09:00:00+01:00", "email"),
                      ("2026-11-30T09:00:00+01:00", "phone")):
        attempt(desk, case_id, when, via)
    attempt(desk, case_id, "2026-11-30T12:00:00+01:00", "phone", "--reached", "--note",
            "Skal teste i morgen")
    message = refusal(desk, case_id, "2026-11-30T13:00:00+01:00")
    assert "0 of 3 attempts" in message
    assert "since the reporter was reached by phone on 2026-11-30 12:00" in message
    # They confirm: close it as confirmed, which needs no attempts.
    assert at(desk, "2026-12-01T09:00:00+01:00", "close", case_id,
              "--confirmed").exit_code == 0


def test_unreachable_applies_to_solved_cases_only(desk: Path) -> None:
    started = new_case(desk, "--start")
    before = snapshot(desk)
    result = act(desk, "close", started, "--unreachable")
    assert result.exit_code == 1 and "unreachable-after-solved" in result.stderr
    assert f"casectl close {started} --solution TEXT" in result.stderr
    assert snapshot(desk) == before
    closed = solved_case(desk)
    assert act(desk, "close", closed, "--confirmed").exit_code == 0
    before = snapshot(desk)
    result = act(desk, "close", closed, "--unreachable")
    assert result.exit_code == 1 and "transition:close" in result.stderr
    contact = act(desk, "contact", closed, "--via", "phone", "--no-answer")
    assert contact.exit_code == 1 and "finished-case-is-frozen" in contact.stderr
    assert snapshot(desk) == before


def test_unreachable_and_confirmed_exclude_each_other(desk: Path) -> None:
    case_id = solved_case(desk)
    before = snapshot(desk)
    result = act(desk, "close", case_id, "--unreachable", "--confirmed")
    assert result.exit_code == 2
    assert "--confirmed and --unreachable exclude each other" in result.stderr
    assert snapshot(desk) == before
    assert "Example:" in act(desk, "contact", "--help").stdout

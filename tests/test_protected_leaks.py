"""Leaks of a protected person's case (issue 7, item 7) found by looking
as an adversary: an agent who may not see the case, through refusals,
guesses, search ranking, validate's messages and the commit messages sync
writes. Each test here failed before its fix. Through the real command
line on real repositories; test_protected.py holds the feature's own tests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import act, case_file, commits, git, new_case, run
from test_protected import (EMAIL, NAME, SECRETS, SUBJECT, assert_no_secret, ok,
                            protected_case)


def test_a_refusal_quotes_no_task_subject_to_an_outsider(desk: Path) -> None:
    # ingrid, a handler of the case's team, may close it by role but may not
    # see the person: the refusal must not read the open task's subject out
    case_id = protected_case(desk)
    ok(act(desk, "task", "add", case_id, "--to", "nettverk", "--subject",
           "Sjekk Dosettappen for Anna", "--need", "Fjällgatan 9"))
    refused = act(desk, "close", case_id, "--solution", "Løst", agent="ingrid")
    assert refused.exit_code == 1 and "tasks-done-first" in refused.stderr, refused.output
    assert_no_secret(refused.output)
    assert "T1" in refused.stderr and "[protected]" in refused.stderr  # still says which task
    # the assignee is told in full
    mine = act(desk, "close", case_id, "--solution", "Løst")
    assert mine.exit_code == 1 and "Sjekk Dosettappen for Anna" in mine.stderr


def test_triage_is_no_oracle_for_guessing_an_answer(desk: Path) -> None:
    ok(act(desk, "team", "set", "nettverk", "--question", "socket=Uttak?", agent="admin"))
    case_id = protected_case(desk)
    ok(act(desk, "triage", case_id, "--team", "nettverk", "--answer", "socket=Storgatan-12"))
    ok(act(desk, "assign", case_id, "--team", "nettverk", "--to", "per"))
    # mette, a handler of nettverk, may not see the case: a right guess and a
    # wrong one must get the same answer (as edit does), and neither writes
    ok(act(desk, "agent", "set", "mette", "--team", "nettverk", agent="admin"))
    before = commits(desk)
    right = act(desk, "triage", case_id, "--team", "nettverk", "--answer",
                "socket=Storgatan-12", agent="mette")
    wrong = act(desk, "triage", case_id, "--team", "nettverk", "--answer",
                "socket=Storgatan-13", agent="mette")
    assert right.exit_code == wrong.exit_code == 1, (right.output, wrong.output)
    assert "protected-identity" in right.stderr
    assert right.stderr.replace("12", "1x") == wrong.stderr.replace("13", "1x")
    assert commits(desk) == before
    # per, its assignee, triages as before
    ok(act(desk, "triage", case_id, "--team", "nettverk", "--answer", "socket=B4",
           agent="per"))


def test_validate_quotes_no_protected_text(desk: Path) -> None:
    case_id = protected_case(desk)
    path = case_file(desk, case_id)
    text = path.read_text(encoding="utf-8")
    # a hand edit: the header no longer equals replay(log); validate names
    # the field, not the values
    text = text.replace(f"subject: {SUBJECT}\n", f"subject: {SUBJECT} igjen\n", 1)
    path.write_text(text, encoding="utf-8")
    for fmt in ("table", "json"):
        found = act(desk, "validate", "--format", fmt, agent="mette")
        assert found.exit_code == 4, found.output
        assert_no_secret(found.output)
        assert "subject" in found.output and "[protected]" in found.output
    problems = json.loads(act(desk, "validate", "--json").stdout)["problems"]
    assert {p["field"] for p in problems} >= {"subject"}


def test_search_ranking_does_not_count_words_in_hidden_cases(desk: Path) -> None:
    # Two open cases match both words; which comes first depends on how rare
    # each word is. Protected cases the reader may not see, full of one of
    # the words, must not change it (it would say the word is in them).
    for filler in ("Skriveren", "Nettet", "Telefonen"):
        new_case(desk, subject=f"{filler} virker ikke")
    first = new_case(desk, subject="alfa alfa beta")
    second = new_case(desk, subject="alfa beta beta")

    def order() -> list[str]:
        rows = json.loads(ok(act(desk, "search", "alfa beta", "--json", agent="mette")))
        return [row["id"] for row in rows]
    before = order()
    assert sorted(before) == sorted([first, second])
    for n in range(3):
        new_case(desk, "--protected", "--reporter", f"{NAME} <{EMAIL}>",
                 subject=f"beta hemmelig {n}")
    assert order() == before
    # the registrant finds her own protected cases, and the open ones still rank
    mine = json.loads(ok(act(desk, "search", "beta", "--json")))
    assert len(mine) == 5 and sum(row["protected"] for row in mine) == 3


def test_unprotecting_moves_a_case_back_into_everyones_search(desk: Path) -> None:
    case_id = protected_case(desk)
    assert case_id not in ok(act(desk, "search", "Svensson", agent="per"))
    ok(act(desk, "edit", case_id, "--unprotected"))
    assert case_id in ok(act(desk, "search", "Svensson", agent="per"))
    ok(act(desk, "edit", case_id, "--protected"))
    assert case_id not in ok(act(desk, "search", "Svensson", agent="per"))
    assert case_id in ok(act(desk, "search", "Svensson"))


@pytest.fixture
def pair(desk: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from test_sync import make_remote, clone, NOW

    monkeypatch.setenv("CASECTL_NOW", NOW)
    remote = make_remote(desk, tmp_path)
    return desk, clone(str(remote), tmp_path / "other")


def test_a_renumbered_protected_case_keeps_its_subject_out_of_the_commit(
        pair, monkeypatch: pytest.MonkeyPatch) -> None:
    from test_sync import same_random_part

    desk, other = pair
    with same_random_part(monkeypatch):
        first = new_case(desk, subject="Skriver på rom 12")
        second = new_case(other, "--protected", "--reporter", f"{NAME} <{EMAIL}>",
                          subject=SUBJECT)
    assert first == second
    assert act(desk, "sync").exit_code == 0
    done = act(other, "sync")
    assert done.exit_code == 0, done.output
    assert_no_secret(done.output)
    (renumber,) = [c for c in commits(other) if c["trailers"].get("Action") == "renumber"]
    body = git(other, "log", "-1", "--format=%B", renumber["sha"])
    for secret in SECRETS:
        assert secret not in body, body
    assert "[protected]" in body


def test_the_outsider_json_keeps_the_keys_and_exit_codes(desk: Path) -> None:
    case_id = protected_case(desk)
    plain = new_case(desk, "--reporter", "Ola <ola@example.no>", subject="Skrivaren")
    full = json.loads(ok(act(desk, "show", case_id, "--json")))
    masked = json.loads(ok(act(desk, "show", case_id, "--json", agent="per")))
    assert set(masked) == set(full) | {"protected", "masked"}
    assert set(masked["reporter"]) == set(full["reporter"])
    assert [set(e) for e in masked["log"]] == [set(e) for e in full["log"]]
    rows = json.loads(ok(act(desk, "list", "--json", agent="per")))
    assert {frozenset(row) for row in rows} == {frozenset(json.loads(ok(act(
        desk, "list", "--json")))[0])}
    assert {row["id"] for row in rows} == {case_id, plain}
    assert act(desk, "show", "0000000000", agent="per").exit_code == 3
    assert run("--repo", str(desk), "--as", "per", "validate").exit_code == 0


def test_the_activity_report_on_a_desk_without_roles_leaves_out_what_its_reader_may_not_see(
        empty_repo: Path) -> None:
    # agents listed, no admin: roles do not bind, so anyone may run the
    # report; but protection holds all the same, so it must not confirm to
    # per that this address is a protected case's reporter
    for agent, roles in (("kari", ("receiver", "handler")), ("per", ("handler",))):
        ok(run("--repo", str(empty_repo), *(("--as", "kari") if agent != "kari" else ()),
               "agent", "add", agent, "--name", agent.title(), "--email",
               f"{agent}@helse.example.no", *(f"--role={role}" for role in roles)))
    hidden = new_case(empty_repo, "--reporter", f"{NAME} <{EMAIL}>", "--protected",
                      subject=SUBJECT)
    plain = new_case(empty_repo, "--reporter", f"{NAME} <{EMAIL}>", subject="Skrivaren")
    seen = json.loads(ok(act(empty_repo, "report", "activity", "--reporter", EMAIL, "--json",
                             agent="per")))
    assert {row["case"] for row in seen} == {plain}
    mine = json.loads(ok(act(empty_repo, "report", "activity", "--reporter", EMAIL, "--json")))
    assert {row["case"] for row in mine} == {hidden, plain}

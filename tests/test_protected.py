"""Protected identity (issue 7, item 7; seed 002): a case whose reporter is
marked protected is seen in full by its assignee, an agent with an open
task on it, whoever registered it and auditors; everyone else sees the
person and the case's texts masked, in every command and format, and
cannot find it by them. `report activity` tells an auditor who acted on a
person's cases. Through the real command line on real repositories."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from helpers import act, act_process, git, new_case, run

NAME = "Anna Svensson"
EMAIL = "anna.svensson@hemlig.example.se"
PHONE = "+46 70 123 45 67"
SUBJECT = "Dosettappen kraschar"
DESCRIPTION = "Bor på Fjällgatan 9, port kod 4471"
FIELD = "Solna-88123"
WORKLOG = "Ringde tillbaka om medicinlistan"
NOTE = "Intern: skyddad adress bekräftad"
# Every piece of the person or the case's text that must not show; the
# phone's digits too, as the index keeps them for search.
SECRETS = ("Anna", "Svensson", "anna.svensson", "hemlig", "123 45 67", "701234567",
           "Dosettappen", "Fjällgatan", "4471", "Solna-88123", "medicinlistan", "bekräftad")
FORMATS = ("table", "json", "yaml", "csv")


def ok(result) -> str:
    assert result.exit_code == 0, result.output
    return result.stdout


def protected_case(desk: Path, *extra: str, agent: str = "kari") -> str:
    case_id = new_case(desk, "--reporter", f"{NAME} <{EMAIL}>", "--phone", PHONE,
                       "--description", DESCRIPTION, "--field", f"kommune={FIELD}",
                       "--protected", *extra, agent=agent, subject=SUBJECT)
    ok(act(desk, "log", case_id, WORKLOG, agent=agent))
    ok(act(desk, "log", case_id, NOTE, "--internal", agent=agent))
    return case_id


def assert_masked(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret!r} leaked:\n{text}"
    assert "[protected]" in text


def case_file(desk: Path, case_id: str) -> dict:
    (path,) = desk.glob(f"cases/*/*/{case_id}.yaml")
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def grant_auditor(desk: Path, agent: str) -> None:
    ok(act(desk, "agent", "set", agent, "--add-role", "auditor", agent="admin"))


def test_the_file_says_protected_and_stays_valid(desk: Path) -> None:
    case_id = protected_case(desk)
    assert case_file(desk, case_id)["reporter"] == {
        "name": NAME, "email": EMAIL, "phone": PHONE, "org": None, "protected": True}
    assert run("--repo", str(desk), "validate").exit_code == 0


def test_the_assignee_sees_it_all_in_every_format(desk: Path) -> None:
    case_id = protected_case(desk)
    for fmt in FORMATS:
        for command in (("show", case_id), ("list",), ("search", "Svensson"),
                        ("history", case_id)):
            out = ok(act(desk, *command, "--format", fmt))
            assert "[protected]" not in out, (command, fmt)
            assert SUBJECT in out, (command, fmt, out)
    shown = json.loads(ok(act(desk, "show", case_id, "--json")))
    assert shown["description"] == DESCRIPTION and "masked" not in shown
    assert "PROTECTED IDENTITY" in ok(act(desk, "show", case_id))


@pytest.mark.parametrize("outsider", ["ingrid", "per"])  # same team as the assignee, another
def test_another_handler_sees_the_mask_everywhere(desk: Path, outsider: str) -> None:
    case_id = protected_case(desk)
    # a task for a team is no sight of the person (need-to-know: by name only)
    ok(act(desk, "task", "add", case_id, "--to", "klinisk-app", "--subject",
           "Sjekk Dosettappen for Anna", "--need", "Fjällgatan 9"))
    plain = new_case(desk, "--reporter", "Ola Vanlig <ola@example.no>", subject="Skrivaren")
    for fmt in FORMATS:
        for command in (("show", case_id), ("show", case_id, "--reporter-view"),
                        ("list",), ("list", "--sort", "subject"), ("history", case_id),
                        ("task", "list")):
            out = ok(act(desk, *command, "--format", fmt, agent=outsider))
            for secret in SECRETS:
                assert secret not in out, (command, fmt, secret, out)
        for words in ("Svensson", EMAIL, "701234567", "Dosettappen", "Fjällgatan",
                      FIELD, "medicinlistan"):
            out = ok(act(desk, "search", words, "--format", fmt, agent=outsider))
            assert case_id not in out, (words, fmt, out)
            assert_no_secret(out)
    # ... and the marker is there for them to see
    assert_masked(ok(act(desk, "show", case_id, agent=outsider)))
    assert "PROTECTED IDENTITY" in ok(act(desk, "show", case_id, agent=outsider))
    shown = json.loads(ok(act(desk, "show", case_id, "--json", agent=outsider)))
    assert shown["protected"] is True and shown["masked"] is True
    assert shown["reporter"] == {"name": "[protected]", "email": "[protected]",
                                 "phone": "[protected]", "org": None, "protected": True}
    assert shown["assignee"] == "kari" and shown["status"] == "new"  # routing stays visible
    rows = {row["id"]: row for row in json.loads(ok(act(desk, "list", "--json",
                                                        agent=outsider)))}
    assert rows[case_id]["protected"] is True and rows[case_id]["subject"] == "[protected]"
    assert rows[plain]["protected"] is False and rows[plain]["subject"] == "Skrivaren"
    assert case_id in ok(act(desk, "list", agent=outsider))  # listed, masked, not hidden
    tasks = json.loads(ok(act(desk, "task", "list", "--json", agent=outsider)))
    assert [(t["case"], t["subject"], t["need"], t["case_subject"]) for t in tasks] == [
        (case_id, "[protected]", "[protected]", "[protected]")]
    # the search finds nothing: no row, no count, no id
    assert json.loads(ok(act(desk, "search", NAME, "--json", agent=outsider))) == []
    assert "Skrivaren" in ok(act(desk, "search", "Ola", agent=outsider))


def assert_no_secret(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret!r} leaked:\n{text}"


def test_a_real_process_sees_the_mask_too(desk: Path) -> None:
    case_id = protected_case(desk)
    outsider = act_process(desk, "show", case_id, "--format", "yaml", agent="per")
    assert outsider.returncode == 0, outsider.stderr
    assert_masked(outsider.stdout)
    inside = act_process(desk, "show", case_id, "--format", "yaml", agent="kari")
    assert EMAIL in inside.stdout


def test_who_may_see_it(desk: Path) -> None:
    # kari registers it for ingrid: both see it; per does not until he holds a task
    case_id = protected_case(desk, "--assignee", "ingrid")
    for agent in ("kari", "ingrid"):
        assert EMAIL in ok(act(desk, "show", case_id, "--json", agent=agent)), agent
    assert_masked(ok(act(desk, "show", case_id, agent="per")))
    ok(act(desk, "task", "add", case_id, "--to", "per", "--subject", "Sjekk nettet",
           agent="ingrid"))
    assert EMAIL in ok(act(desk, "show", case_id, "--json", agent="per"))
    assert case_id in ok(act(desk, "search", "Svensson", agent="per"))
    ok(act(desk, "task", "done", case_id, "T1", agent="per"))
    assert_masked(ok(act(desk, "show", case_id, agent="per")))  # the task is done: need-to-know
    assert case_id not in ok(act(desk, "search", "Svensson", agent="per"))
    # mette, in another team, sees it once she is an auditor
    assert_masked(ok(act(desk, "list", "--format", "csv", agent="mette")))
    grant_auditor(desk, "mette")
    assert NAME in ok(act(desk, "list", "--format", "csv", agent="mette"))
    assert case_id in ok(act(desk, "search", "Svensson", agent="mette"))


def test_the_change_output_is_masked_for_an_outsider(desk: Path) -> None:
    case_id = protected_case(desk)
    # kari, a receiver, passes it on to per's team: the --json she gets is hers to see
    assert EMAIL in ok(act(desk, "assign", case_id, "--team", "nettverk", "--json"))
    # per, in its team now but not its assignee, works it and gets the case masked back
    out = ok(act(desk, "log", case_id, "Nettet er sjekket", "--internal", "--json",
                 agent="per"))
    assert_masked(out)


def test_edit_marks_and_unmarks_and_an_outsider_may_not_edit(desk: Path) -> None:
    case_id = new_case(desk, "--reporter", f"{NAME} <{EMAIL}>", "--phone", PHONE,
                       "--description", DESCRIPTION, subject=SUBJECT)
    assert EMAIL in ok(act(desk, "show", case_id, agent="per"))  # not protected yet
    ok(act(desk, "edit", case_id, "--protected", "--reason", "Skyddad identitet"))
    assert case_file(desk, case_id)["reporter"]["protected"] is True
    assert_masked(ok(act(desk, "show", case_id, agent="per")))
    # ingrid may edit her team's cases, but not one whose person she may not see
    refused = act(desk, "edit", case_id, "--unprotected", agent="ingrid")
    assert refused.exit_code == 1 and "protected" in refused.stderr
    refused = act(desk, "edit", case_id, "--reporter", f"{NAME} <{EMAIL}>", agent="ingrid")
    assert refused.exit_code == 1 and "already" not in refused.stderr  # no oracle for guesses
    again = act(desk, "edit", case_id, "--protected")
    assert again.exit_code == 1 and "already" in again.stderr
    ok(act(desk, "edit", case_id, "--unprotected"))
    assert "protected" not in case_file(desk, case_id)["reporter"]
    assert EMAIL in ok(act(desk, "show", case_id, agent="per"))
    assert run("--repo", str(desk), "validate").exit_code == 0


def test_commit_messages_of_a_protected_case_carry_no_text(desk: Path) -> None:
    case_id = protected_case(desk)
    ok(act(desk, "edit", case_id, "--reporter", f"{NAME} <anna@ny.example.se>"))
    messages = git(desk, "log", "--format=%B", "--", "cases")
    assert case_id in messages and "Action: log" in messages
    assert_masked(messages)


def test_one_person_alone_sees_everything(empty_repo: Path) -> None:
    case_id = new_case(empty_repo, "--reporter", f"{NAME} <{EMAIL}>", "--protected",
                       agent="solo", subject=SUBJECT)
    out = ok(run("--repo", str(empty_repo), "show", case_id, "--json"))
    assert EMAIL in out and "masked" not in json.loads(out)
    assert case_id in ok(run("--repo", str(empty_repo), "search", "Svensson"))


def test_protected_needs_no_known_person_yet(desk: Path) -> None:
    case_id = new_case(desk, "--protected", "--description", DESCRIPTION, subject=SUBJECT)
    assert case_file(desk, case_id)["reporter"]["protected"] is True
    assert_masked(ok(act(desk, "show", case_id, agent="per")))


# ---------------------------------------------------------------- report activity

def test_the_activity_report_lists_who_acted_on_the_persons_cases(desk: Path) -> None:
    first = protected_case(desk)                                   # new, log, note by kari
    ok(act(desk, "assign", first, "--to", "ingrid"))               # assign by kari
    ok(act(desk, "start", first, agent="ingrid"))                  # start by ingrid
    # a second case of hers, given to someone else's address by an edit: still listed
    second = new_case(desk, "--reporter", f"{NAME} <{EMAIL.upper()}>", subject="Annat")
    ok(act(desk, "edit", second, "--reporter", "Bo <bo@example.se>"))
    other = new_case(desk, "--reporter", "Ola <ola@example.no>", subject="Skrivaren")
    ok(act(desk, "log", other, "Byttet toner"))
    grant_auditor(desk, "mette")
    rows = json.loads(ok(act(desk, "report", "activity", "--reporter", EMAIL, "--json",
                             agent="mette")))
    got = [(row["case"], row["action"], row["agent"]) for row in rows]
    assert got == [(first, "new", "kari"), (first, "log", "kari"), (first, "note", "kari"),
                   (first, "assign", "kari"), (first, "start", "ingrid"),
                   (second, "new", "kari"), (second, "edit", "kari")]
    assert all(row["committer"] and row["author"] and row["commit"] and row["at"]
               for row in rows)
    assert rows[4]["author"] == "Ingrid Solberg <ingrid@helse.example.no>"
    # each row is a real commit of that case
    for row in rows:
        body = git(desk, "show", "-s", "--format=%B", row["commit"])
        assert f"Case: {row['case']}" in body and f"Action: {row['action']}" in body
    table = ok(act(desk, "report", "activity", "--reporter", EMAIL, agent="mette"))
    assert first in table and second in table and other not in table
    csv = ok(act(desk, "report", "activity", "--reporter", EMAIL, "--format", "csv",
                 agent="mette"))
    assert csv.splitlines()[0] == "at,case,action,agent,author,committer,commit"
    assert len(csv.splitlines()) == 1 + len(rows)


def test_the_activity_report_since(desk: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CASECTL_NOW", "2026-11-02T09:00:00+01:00")
    case_id = protected_case(desk)
    monkeypatch.setenv("CASECTL_NOW", "2026-11-10T09:00:00+01:00")
    ok(act(desk, "start", case_id))
    grant_auditor(desk, "mette")
    rows = json.loads(ok(act(desk, "report", "activity", "--reporter", EMAIL, "--since",
                             "2026-11-05", "--json", agent="mette")))
    assert [(row["case"], row["action"]) for row in rows] == [(case_id, "start")]
    bad = act(desk, "report", "activity", "--reporter", EMAIL, "--since", "neste uke",
              agent="mette")
    assert bad.exit_code == 2 and "not a date" in bad.stderr


def test_the_activity_report_is_for_auditors(desk: Path) -> None:
    protected_case(desk)
    refused = act(desk, "report", "activity", "--reporter", EMAIL, agent="kari")
    assert refused.exit_code == 1
    assert "auditor" in refused.stderr and "Traceback" not in refused.output
    assert refused.stdout == ""
    bad = act(desk, "report", "activity", "--reporter", "anna", agent="kari")
    assert bad.exit_code in (1, 2)


def test_single_user_desk_runs_the_activity_report(empty_repo: Path) -> None:
    case_id = new_case(empty_repo, "--reporter", f"{NAME} <{EMAIL}>", agent="solo")
    rows = json.loads(ok(run("--repo", str(empty_repo), "report", "activity", "--reporter",
                             EMAIL, "--json")))
    assert [(row["case"], row["action"]) for row in rows] == [(case_id, "new")]


def test_a_task_added_by_an_outsider_prints_the_mask(desk: Path) -> None:
    case_id = protected_case(desk)
    ok(act(desk, "assign", case_id, "--team", "nettverk"))
    out = ok(act(desk, "task", "add", case_id, "--to", "nettverk", "--subject", "Sjekk",
                 "--json", agent="per"))
    assert_masked(out)


def test_a_desk_with_older_schemas_is_told_to_upgrade(desk: Path) -> None:
    schema_file = desk / "schemas" / "case.schema.json"
    older = json.loads(schema_file.read_text(encoding="utf-8"))
    del older["$defs"]["reporter"]["properties"]["protected"]
    del older["$defs"]["data_edited"]["properties"]["changes"]["patternProperties"][
        "^reporter\\.protected$"]
    schema_file.write_text(json.dumps(older, indent=2), encoding="utf-8")
    git(desk, "-c", "user.name=T", "-c", "user.email=t@example.no", "commit", "-qam",
        "older schemas")
    refused = act(desk, "new", "--subject", SUBJECT, "--protected")
    assert refused.exit_code == 1 and "casectl upgrade" in refused.stderr, refused.output
    plain = new_case(desk, subject="Skrivaren")
    refused = act(desk, "edit", plain, "--protected")
    assert refused.exit_code == 1 and "casectl upgrade" in refused.stderr, refused.output
    ok(act(desk, "upgrade", agent="admin"))
    ok(act(desk, "edit", plain, "--protected"))


# ---------------------------------------------------------------- the pure rules

def test_may_see_protected_by_role_and_assignment() -> None:
    from casectl import roles

    config = {"agents": {
        "kari": {"roles": ["receiver", "handler"], "teams": ["sd"]},
        "ingrid": {"roles": ["handler"], "teams": ["sd"]},
        "per": {"roles": ["handler"], "teams": ["net"]},
        "revisor": {"roles": ["auditor"], "teams": []},
        "admin": {"roles": ["admin"], "teams": []}}}
    case = {"assignee": "ingrid", "team": "sd", "tasks": [
        {"to": "per", "to_kind": "agent", "status": "done"},
        {"to": "net", "to_kind": "team", "status": "open"}]}
    seen = {agent: roles.may_see_protected(config, agent, case, registered_by="kari")
            for agent in (*config["agents"], None)}
    assert seen == {"kari": True, "ingrid": True, "per": False, "revisor": True,
                    "admin": False, None: False}
    case["tasks"][0]["status"] = "open"
    assert roles.may_see_protected(config, "per", case)
    assert roles.may_see_protected({}, None, case)  # one person alone sees everything
    assert roles.activity_report_refusal(config, "kari") is not None
    assert roles.activity_report_refusal(config, "revisor") is None
    unenforced = {"agents": {"kari": {"roles": ["handler"]}}}
    assert roles.activity_report_refusal(unenforced, "kari") is None


def test_masking_keeps_routing_and_hides_the_rest() -> None:
    from casectl import protection

    event = {"id": "E1", "at": "2026-11-02T09:00:00+01:00", "by": "kari", "kind": "email",
             "public": True, "data": {"text": "Hei Anna", "to": EMAIL, "later_key": "x"}}
    masked = protection.masked_event(event)
    assert masked["data"] == {"text": "[protected]", "to": "[protected]",
                              "later_key": "[protected]"}
    assert {k: masked[k] for k in ("id", "at", "by", "kind", "public")} == \
        {k: event[k] for k in ("id", "at", "by", "kind", "public")}
    moved = protection.masked_event({**event, "kind": "assigned",
                                     "data": {"team": "sd", "assignee": "kari", "note": "N"}})
    assert moved["data"] == {"team": "sd", "assignee": "kari", "note": "[protected]"}
    case = {"id": "X", "subject": "S", "description": None, "status": "new",
            "reporter": {"name": NAME, "email": EMAIL, "phone": None, "org": None,
                         "protected": True},
            "fields": {"epj": "1"}, "answers": {"q": {"answer": "a", "internal": True}},
            "tasks": [{"id": "T1", "subject": "t", "need": None, "to": "per"}], "log": []}
    shown = protection.masked_case(case)
    assert shown["subject"] == "[protected]" and shown["description"] is None
    assert shown["reporter"]["protected"] is True and shown["reporter"]["phone"] is None
    assert shown["fields"] == {"epj": "[protected]"}
    assert shown["answers"] == {"q": {"answer": "[protected]", "internal": True}}
    assert shown["tasks"] == [{"id": "T1", "subject": "[protected]", "need": None,
                               "to": "per"}]
    assert case["subject"] == "S"  # a copy: the case itself is untouched

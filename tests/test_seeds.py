"""The seeds' procedures played end to end through the command line, each
step at a frozen time (CASECTL_NOW), on a desk made with `casectl init`:
seed 000 (MoreService, Responssenteret) and seed 004 (the Danish handbook
for case handling). Seed 003, the urgent case, is in test_urgent.py.
Each test asserts on the case file (events and header), on `git log`
(authors, Action trailers) and ends with `casectl validate` clean."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import Result

from helpers import case_file, commits, load_case, load_yaml, run


def at(repo: Path, when: str, agent: str, *args: str) -> Result:
    """`casectl` in ``repo`` by ``agent`` with the desk's clock at ``when``."""
    return run("--repo", str(repo), "--as", agent, *args, env={"CASECTL_NOW": when})


def ok(result: Result) -> str:
    assert result.exit_code == 0, result.output
    return result.stdout


def setup(repo: Path, when: str, *commands: tuple[str, ...]) -> None:
    """Desk administration steps, each by the first agent (kari)."""
    for args in commands:
        ok(at(repo, when, "kari", *args))


def listed(repo: Path, when: str, agent: str, *args: str) -> list[dict[str, Any]]:
    return json.loads(ok(at(repo, when, agent, "list", "--json", *args)))


def case_log(repo: Path, case_id: str) -> list[tuple[str, str, bool]]:
    """The case's events as (kind, by, public)."""
    return [(e["kind"], e["by"], e["public"]) for e in load_case(repo, case_id)["log"]]


def actions(repo: Path, case_id: str) -> list[tuple[str, str]]:
    """The case's commits, oldest first, as (author, Action trailer)."""
    found = commits(repo, "--reverse", "--grep", f"Case: {case_id}")
    return [(c["author"], c["trailers"]["Action"]) for c in found]


# ---------------------------------------------------------------- seed 000

DAY = "2026-11-24"  # a Tuesday


def t(clock: str, day: str = DAY) -> str:
    return f"{day}T{clock}+01:00"


def moreservice_desk(tmp_path: Path) -> Path:
    """Responssenteret: the operators, and the teams a case can be handed to
    (K-IKT, E-helse), on a Norwegian desk."""
    repo = tmp_path / "responssenteret"
    ok(run("init", str(repo), "--desk", "Responssenteret", "--country", "NO",
           env={"CASECTL_NOW": t("07:30:00")}))
    setup(repo, t("07:31:00"),
          ("team", "add", "responssenteret", "--name", "Responssenteret",
           "--email", "post@responssenteret.example.no"),
          ("team", "add", "k-ikt", "--name", "K-IKT"),
          ("team", "add", "e-helse", "--name", "E-helse"),
          ("agent", "add", "kari", "--name", "Kari Nordmann",
           "--email", "kari@responssenteret.example.no", "--team", "responssenteret",
           "--role", "receiver", "--role", "handler", "--role", "admin",
           "--role", "permission-admin"),
          ("agent", "add", "ingrid", "--name", "Ingrid Solberg",
           "--email", "ingrid@responssenteret.example.no", "--team", "responssenteret",
           "--role", "handler"),
          ("agent", "add", "per", "--name", "Per Hansen", "--email", "per@k-ikt.example.no",
           "--team", "k-ikt", "--role", "handler"),
          ("category", "add", "Velferdsteknologi", "Fagsystem", "Tilgang"))
    return repo


def test_seed_000_moreservice_procedure(tmp_path: Path) -> None:
    """Seed 000: a case registered on behalf of a caller, taken over by the
    next shift, worked with a work log entry and an internal note, a task
    given to K-IKT, the reporter's answer unread until shown, closed with a
    solution e-mail; the closed case leaves the overview but is found."""
    repo = moreservice_desk(tmp_path)
    assert load_yaml(repo / "casectl.yaml")["calendar"]["country"] == "NO"

    # 1-11: register the case on behalf of the caller, with subject, EPJ
    # number and municipality; the reporting user; notify by e-mail; the
    # category; medium by default; the registering agent responsible; started.
    case_id = ok(at(repo, t("13:40:12"), "kari", "new",
                    "--subject", "Trygghetsalarm melder ikke inn til responssenteret",
                    "--field", "epj=EPJ-48213", "--field", "kommune=Ålesund",
                    "--reporter", "Sigrid Bakken <sigrid.bakken@alesund.kommune.example.no>",
                    "--phone", "+47 917 22 418", "--org", "Ålesund kommune", "--notify",
                    "--category", "velferdsteknologi",
                    "--description", "Alarmen hos bruker i Nørvevika sender ikke testalarm. "
                    "Hjemmetjenesten har byttet batteri uten at det hjalp.")).strip()
    ok(at(repo, t("13:41:00"), "kari", "start", case_id))
    case = load_case(repo, case_id)
    assert (case["status"], case["priority"], case["assignee"], case["team"]) == \
        ("started", "medium", "kari", "responssenteret")
    assert case["fields"] == {"epj": "EPJ-48213", "kommune": "Ålesund"}
    assert case["category"] == "Velferdsteknologi"  # in the listed spelling
    assert case["reporter"]["name"] == "Sigrid Bakken" and case["notify"] is True
    assert case["created"] == "2026-11-24T13:40:12+01:00"

    # The shift ends: the next shift's operator takes the case over.
    ok(at(repo, t("15:05:00"), "ingrid", "take", case_id, "--note", "Overtatt ved vaktskifte"))
    # 12: a work log entry (the reporter sees it, no e-mail); 13: an internal note.
    ok(at(repo, t("15:20:00"), "ingrid", "log", case_id,
          "Ringte hjemmetjenesten: alarmen har strøm, men får ikke kontakt med mottaket."))
    ok(at(repo, t("15:22:00"), "ingrid", "log", case_id, "--internal",
          "Mistenker at SIM-kortet er sperret etter operatørbyttet i november."))
    # 13.1-13.5: a task to another department (K-IKT), subject and need;
    # the owner stays responsible and K-IKT's agent sees the case.
    task = ok(at(repo, t("15:30:00"), "ingrid", "task", "add", case_id, "--to", "k-ikt",
                 "--subject", "Sjekk SIM-kortet i alarmen",
                 "--need", "Status på SIM-kortet hos operatøren, og ny aktivering om sperret"))
    assert task.strip() == "T1"
    case = load_case(repo, case_id)
    assert (case["assignee"], case["team"], case["status"]) == \
        ("ingrid", "responssenteret", "started")
    assert case["tasks"][0]["to"] == "k-ikt" and case["tasks"][0]["status"] == "open"
    assert case["tasks"][0]["public"] is True  # given away: the reporter sees it
    # K-IKT's agent finds it among the tasks of "me and my teams" (the
    # department's portal); `list --assignee me` is his own cases and the
    # tasks given to him by name, as the README says.
    mine = json.loads(ok(at(repo, t("15:40:00"), "per", "task", "list", "--assignee", "me",
                            "--open", "--json")))
    assert [(row["case"], row["task"], row["to"]) for row in mine] == [(case_id, "T1", "k-ikt")]
    assert json.loads(ok(at(repo, t("15:40:00"), "per", "show", case_id, "--json")))["id"] \
        == case_id
    seen = json.loads(ok(at(repo, t("15:41:00"), "ingrid", "show", case_id,
                            "--reporter-view", "--json")))
    texts = json.dumps(seen, ensure_ascii=False)
    assert "Sjekk SIM-kortet" in texts and "får ikke kontakt med mottaket" in texts
    assert "Mistenker" not in texts  # the internal note stays internal

    # The reporter answers: bold (here the plain marker) in the overview
    # for the case's agent until she opens it.
    ok(at(repo, t("16:02:00"), "kari", "log", case_id, "--from-reporter",
          "Alarmen fungerte i går kveld, men ikke i dag morges."))
    assert [row["id"] for row in listed(repo, t("16:10:00"), "ingrid", "--unread")] == [case_id]
    table = ok(at(repo, t("16:10:00"), "ingrid", "list"))
    assert f"*{case_id}" in table
    ok(at(repo, t("16:12:00"), "ingrid", "show", case_id))
    assert listed(repo, t("16:13:00"), "ingrid", "--unread") == []
    assert f"*{case_id}" not in ok(at(repo, t("16:13:00"), "ingrid", "list"))

    # K-IKT does its part.
    ok(at(repo, t("09:15:00", "2026-11-25"), "per", "task", "done", case_id, "T1",
          "--note", "SIM-kortet var sperret; aktivert på nytt hos operatøren"))
    assert load_case(repo, case_id)["tasks"][0]["status"] == "done"
    assert json.loads(ok(at(repo, t("09:16:00", "2026-11-25"), "per", "task", "list",
                            "--assignee", "me", "--open", "--json"))) == []
    assert [row["status"] for row in json.loads(ok(at(
        repo, t("09:16:00", "2026-11-25"), "per", "task", "list", "--assignee", "k-ikt",
        "--json")))] == ["done"]

    # Closing: an e-mail describing the solution, marked as the solution,
    # then save and close: the case is closed.
    solution = "SIM-kortet i alarmen er aktivert på nytt; testalarmen kommer fram."
    ok(at(repo, t("10:00:00", "2026-11-25"), "ingrid", "log", case_id, "--email",
          f"Hei Sigrid, {solution} Gi beskjed om noe fortsatt ikke virker."))
    ok(at(repo, t("10:01:00", "2026-11-25"), "ingrid", "close", case_id,
          "--solution", solution, "--confirmed"))

    case = load_case(repo, case_id)
    assert (case["status"], case["solution"], case["assignee"]) == ("closed", solution, "ingrid")
    assert case_log(repo, case_id) == [
        ("created", "kari", True), ("status_changed", "kari", True),
        ("taken", "ingrid", False), ("worklog", "ingrid", True), ("note", "ingrid", False),
        ("task_added", "ingrid", True), ("reply", "kari", True), ("task_done", "per", True),
        ("email", "ingrid", True), ("closed", "ingrid", True)]
    assert actions(repo, case_id) == [
        ("Kari Nordmann", "new"), ("Kari Nordmann", "start"), ("Ingrid Solberg", "take"),
        ("Ingrid Solberg", "log"), ("Ingrid Solberg", "note"), ("Ingrid Solberg", "task-add"),
        ("Kari Nordmann", "reply"), ("Per Hansen", "task-done"), ("Ingrid Solberg", "email"),
        ("Ingrid Solberg", "close")]
    # Gone from the overview, found by searching or filtering on status.
    after = t("10:05:00", "2026-11-25")
    assert listed(repo, after, "ingrid") == []
    for words in ("EPJ-48213", "trygghetsalarm", "Ålesund"):
        found = json.loads(ok(at(repo, after, "ingrid", "search", words, "--json")))
        assert [row["id"] for row in found] == [case_id], words
    assert [row["id"] for row in listed(repo, after, "ingrid", "--status", "closed")] \
        == [case_id]
    assert case_file(repo, case_id).parts[-3:-1] == ("2026", "11")
    ok(at(repo, t("10:06:00", "2026-11-25"), "ingrid", "validate"))


# ---------------------------------------------------------------- seed 004

NETWORK_QUESTIONS = {  # the handbook's second triage round, NETVÆRK
    "udstyr": "Er der tale om fejlbehæftet udstyr?",
    "symptom": "Er symptomet at en applikation ikke kan tilgås eller afvikles langsomt?",
    "lokation": "Hvilken lokation er der tale om: Hospital, Institution, Afsnit, Opgang, "
                "Bygning?",
    "stik": "Hvad er stiknummer (fx 60-143B)?",
    "opstaaet": "Hvordan er problemet opstået?",
}


def dk(clock: str, day: str) -> str:
    return f"{day}T{clock}+01:00"


def handbook_desk(tmp_path: Path) -> Path:
    """Koncern IT's operations department: the service desk and the network
    team with its triage questions, on a Danish desk (DK holidays, Monday to
    Friday 08:30-15:00, seed 004's SLA table)."""
    repo = tmp_path / "driftsafdelingen"
    ok(run("init", str(repo), "--desk", "Koncern IT Driftsafdelingen", "--country", "DK",
           "--timezone", "Europe/Copenhagen", env={"CASECTL_NOW": dk("08:00:00", "2026-11-23")}))
    questions = [f"--question={key}={text}" for key, text in NETWORK_QUESTIONS.items()]
    setup(repo, dk("08:01:00", "2026-11-23"),
          ("team", "add", "servicedesk", "--name", "Service desk"),
          ("team", "add", "netvaerk", "--name", "Netværk", *questions),
          ("agent", "add", "kari", "--name", "Kari Holm", "--email", "kari.holm@regionh.example.dk",
           "--team", "servicedesk", "--role", "receiver", "--role", "handler"),
          ("agent", "add", "mette", "--name", "Mette Jensen",
           "--email", "mette.jensen@regionh.example.dk", "--team", "netvaerk",
           "--role", "handler"))
    return repo


def sla_of(repo: Path, when: str, case_id: str) -> dict[str, Any]:
    return json.loads(ok(at(repo, when, "kari", "sla", case_id, "--json")))


def test_seed_004_handbook_flow(tmp_path: Path) -> None:
    """Seed 004: a high incident triaged with the network team's questions,
    hand-carried to that team naming the person, its SLA clocks (reaction
    met, resolution due in working hours, then breached), solved, and closed
    as unreachable only after three attempts by phone and e-mail over two
    calendar weeks."""
    repo = handbook_desk(tmp_path)
    assert load_yaml(repo / "casectl.yaml")["calendar"]["country"] == "DK"
    tue, wed, thu, fri, mon = (f"2026-11-{d}" for d in (24, 25, 26, 27, 30))  # weeks 48, 49

    # First triage round: what, how, which, who, when, in the description.
    case_id = ok(at(repo, dk("13:50:00", tue), "kari", "new",
                    "--subject", "Sengeafsnit 3 kan ikke tilgå Sundhedsplatformen",
                    "--description", "Hvad: ingen pc'er på afsnittet kan åbne SP; Wi-Fi virker. "
                    "Omfang: hele afsnittet (Anne Berg, Ole Dahl, Sofie Krag). "
                    "Opstået: i morges efter strømudfald.",
                    "--reporter", "Anne Berg <anne.berg@regionh.example.dk>",
                    "--phone", "+45 38 63 12 34", "--priority", "high")).strip()
    # The network team's questions must be answered before it gets the case.
    refused = at(repo, dk("13:55:00", tue), "kari", "handover", case_id, "--to", "netvaerk",
                 "--note", "Håndbåret telefonisk til Mette Jensen")
    assert refused.exit_code == 1, refused.output
    assert "triage-questions" in refused.stderr
    for key, text in NETWORK_QUESTIONS.items():
        assert f"{key}: {text}" in refused.stderr
    ok(at(repo, dk("13:58:00", tue), "kari", "triage", case_id, "--team", "netvaerk",
          "--answer", "udstyr=Nej, alle pc'er på afsnittet",
          "--answer", "symptom=Applikationen kan ikke tilgås",
          "--answer", "lokation=Rigshospitalet, afsnit 3, opgang 5, bygning 7",
          "--answer", "opstaaet=Efter strømudfald kl. 06"))
    # A high case changes team by hand only: not by assignment, and the
    # note names the person who received it.
    moved = at(repo, dk("14:00:00", tue), "kari", "assign", case_id, "--team", "netvaerk",
               "--answer", "stik=60-143B")
    assert moved.exit_code == 1 and "handover-for-critical-and-high" in moved.stderr
    unnamed = at(repo, dk("14:01:00", tue), "kari", "handover", case_id, "--to", "netvaerk",
                 "--note", "Sendt videre", "--answer", "stik=60-143B")
    assert unnamed.exit_code == 1, unnamed.output
    ok(at(repo, dk("14:02:00", tue), "kari", "handover", case_id, "--to", "netvaerk",
          "--note", "Håndbåret telefonisk til Mette Jensen (teamkoordinator): switch i "
          "bygning 7 mistænkt efter strømudfaldet", "--answer", "stik=60-143B"))
    case = load_case(repo, case_id)
    assert (case["team"], case["assignee"], case["priority"]) == ("netvaerk", None, "high")
    assert {key: a["answer"] for key, a in case["answers"].items()} == {
        "udstyr": "Nej, alle pc'er på afsnittet", "symptom": "Applikationen kan ikke tilgås",
        "lokation": "Rigshospitalet, afsnit 3, opgang 5, bygning 7",
        "opstaaet": "Efter strømudfald kl. 06", "stik": "60-143B"}
    assert case["answers"]["stik"]["question"] == NETWORK_QUESTIONS["stik"]

    # The network team takes it and starts within the 30 minutes.
    ok(at(repo, dk("14:10:00", tue), "mette", "take", case_id))
    ok(at(repo, dk("14:12:00", tue), "mette", "start", case_id))
    clock = sla_of(repo, dk("14:30:00", tue), case_id)
    assert (clock["level"], clock["priority"]) == ("bronze", "high")
    assert clock["reaction"] == {"target_minutes": 30, "due": "2026-11-24T14:20:00+01:00",
                                 "done": "2026-11-24T14:12:00+01:00", "breached": False,
                                 "remaining_minutes": 8}
    # 8 hours of working time from 13:50 on Tuesday: 70 minutes on
    # Tuesday, 390 on Wednesday, 20 on Thursday morning.
    assert clock["resolution"] == {"target_minutes": 480, "due": "2026-11-26T08:50:00+01:00",
                                   "done": None, "breached": False, "remaining_minutes": 440,
                                   "paused_minutes": 0}
    ok(at(repo, dk("14:40:00", tue), "mette", "log", case_id,
          "Switch i bygning 7 genstartet; porte på opgang 5 stadig nede. Fortsætter i morgen."))
    assert ok(at(repo, dk("15:30:00", tue), "kari", "sla", "--check")) == ""

    # Wednesday after closing time: 20 minutes left, at risk, not breached.
    assert sla_of(repo, dk("16:00:00", wed), case_id)["resolution"]["remaining_minutes"] == 20
    assert [r["id"] for r in listed(repo, dk("16:00:00", wed), "kari", "--at-risk")] == [case_id]
    assert listed(repo, dk("16:00:00", wed), "kari", "--breached") == []
    # Thursday 09:00 it is ten minutes late.
    late = sla_of(repo, dk("09:00:00", thu), case_id)["resolution"]
    assert (late["breached"], late["remaining_minutes"]) == (True, -10)
    assert [r["id"] for r in listed(repo, dk("09:00:00", thu), "kari", "--breached")] == [case_id]
    check = at(repo, dk("09:00:00", thu), "kari", "sla", "--check")
    assert check.exit_code == 1 and check.stdout == ""
    table = ok(at(repo, dk("09:00:00", thu), "kari", "list"))
    assert "-10m" in table  # the due column
    watch = ok(at(repo, dk("09:00:00", thu), "kari", "sla")).splitlines()
    assert [line.split()[:2] for line in watch[2:]] == [[case_id, "breached"]]

    # Solved; the work info says what was done.
    ok(at(repo, dk("09:20:00", thu), "mette", "log", case_id,
          "Modul i switch sw-b7-05 udskiftet; alle porte på opgang 5 oppe. Testet med Anne Berg."))
    ok(at(repo, dk("09:25:00", thu), "mette", "close", case_id, "--solution",
          "Defekt modul i switch sw-b7-05 udskiftet efter strømudfaldet"))
    solved = sla_of(repo, dk("09:30:00", thu), case_id)["resolution"]
    assert (solved["done"], solved["breached"], solved["remaining_minutes"]) == \
        ("2026-11-26T09:25:00+01:00", True, -35)

    # At least three attempts over two calendar weeks, by phone and e-mail,
    # before a case is closed without the customer's confirmation.
    def unreachable(when: str) -> Result:
        return at(repo, when, "mette", "close", case_id, "--unreachable")

    none = unreachable(dk("09:31:00", thu))
    assert none.exit_code == 1 and "0 of 3 attempts" in none.stderr, none.output
    ok(at(repo, dk("10:00:00", thu), "mette", "contact", case_id, "--via", "phone",
          "--no-answer", "--note", "Ingen svar på afsnittet"))
    first = unreachable(dk("10:01:00", thu))
    assert first.exit_code == 1
    assert "1 of 3 attempts; no e-mail attempt yet; all in week 48" in first.stderr
    ok(at(repo, dk("11:00:00", fri), "mette", "contact", case_id, "--via", "email",
          "--no-answer", "--note", "Mail: Er sagen løst?"))
    second = unreachable(dk("11:01:00", fri))
    assert second.exit_code == 1 and "2 of 3 attempts; all in week 48" in second.stderr
    ok(at(repo, dk("14:00:00", fri), "mette", "contact", case_id, "--via", "phone",
          "--no-answer"))
    third = unreachable(dk("14:01:00", fri))
    assert third.exit_code == 1 and "all in week 48" in third.stderr
    assert "of 3 attempts" not in third.stderr
    ok(at(repo, dk("09:00:00", mon), "mette", "contact", case_id, "--via", "email",
          "--no-answer", "--note", "Rykker: lukkes hvis vi ikke hører fra dig"))
    ok(unreachable(dk("09:05:00", mon)))

    case = load_case(repo, case_id)
    assert (case["status"], case["team"], case["assignee"]) == ("closed", "netvaerk", "mette")
    closed = case["log"][-1]
    assert closed["kind"] == "closed" and closed["data"]["unreachable"] is True
    assert case_log(repo, case_id) == [
        ("created", "kari", True), ("triaged", "kari", False), ("triaged", "kari", False),
        ("handed_over", "kari", True), ("taken", "mette", False),
        ("status_changed", "mette", True), ("worklog", "mette", True),
        ("worklog", "mette", True), ("solved", "mette", True)] + \
        [("contact", "mette", False)] * 4 + [("closed", "mette", True)]
    assert actions(repo, case_id) == [
        ("Kari Holm", "new"), ("Kari Holm", "triage"), ("Kari Holm", "handover"),
        ("Mette Jensen", "take"), ("Mette Jensen", "start"), ("Mette Jensen", "log"),
        ("Mette Jensen", "log"), ("Mette Jensen", "solve")] + \
        [("Mette Jensen", "contact")] * 4 + [("Mette Jensen", "close-unreachable")]
    done = sla_of(repo, dk("09:10:00", mon), case_id)
    assert done["resolution"]["done"] == "2026-11-26T09:25:00+01:00"
    assert at(repo, dk("09:10:00", mon), "kari", "sla", "--check").exit_code == 0
    ok(at(repo, dk("09:10:00", mon), "kari", "validate"))

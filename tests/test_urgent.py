"""Urgent cases [seed 003]: `new --urgent` with every piece the operations
coordinator needs registers a critical case whose subject names the
application; what is missing is named in one message; stdout stays the
bare id and stderr says to phone the desk (desk.phone) with the number."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from casectl import triage
from helpers import (act, act_process, case_file, commits, git, load_case, load_yaml, run,
                     snapshot)

DESK_PHONE = "+47 55 97 00 00"
PIECES = {"--application": "DIPS", "--department": "Akuttmottaket",
          "--users": "Alle sykepleiere i akuttmottaket", "--servers": "dips-app01, dips-db02",
          "--competence": "clinical-applications", "--contact": "Eva Berg",
          "--phone": "+47 917 22 418"}


def urgent_args(**leave_out: bool) -> list[str]:
    """--urgent and the pieces, without those named (by flag without --)."""
    args = ["--urgent"]
    for flag, value in PIECES.items():
        if not leave_out.get(flag[2:]):
            args += [flag, value]
    return args


def set_desk_phone(repo: Path, phone: str) -> None:
    path = repo / "casectl.yaml"
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    config["desk"]["phone"] = phone
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False),
                    encoding="utf-8")
    git(repo, "-c", "user.name=Åse Admin", "-c", "user.email=ase@helse.example.no",
        "commit", "-q", "-am", "Desk phone")


@pytest.fixture
def phoned(desk) -> Path:
    set_desk_phone(desk, DESK_PHONE)
    return desk


def test_an_urgent_case_is_critical_names_the_application_and_is_phoned_in(phoned) -> None:
    result = act(phoned, "new", *urgent_args())
    assert result.exit_code == 0, result.output
    case_id = result.stdout.strip()
    assert result.stdout == case_id + "\n"  # the bare id, for scripts
    assert DESK_PHONE in result.stderr and case_id in result.stderr
    assert "phone the desk" in result.stderr
    case = load_case(phoned, case_id)
    assert case["priority"] == "critical"
    assert case["subject"] == "URGENT: DIPS down"
    assert case["urgent"] == {"application": "DIPS", "department": "Akuttmottaket",
                              "users": "Alle sykepleiere i akuttmottaket",
                              "servers": "dips-app01, dips-db02",
                              "competence": "clinical-applications", "contact": "Eva Berg",
                              "phone": "+47 917 22 418"}
    assert case["log"][0]["data"]["urgent"] == case["urgent"]
    # the contact, with no other reporter named, is whom the desk calls back
    assert case["reporter"]["name"] == "Eva Berg"
    assert case["reporter"]["phone"] == "+47 917 22 418"
    lines = case["description"].splitlines()
    assert lines[0] == triage.URGENT_PREAMBLE  # the procedure's first sentence
    assert "Application: DIPS" in lines and "Servers: dips-app01, dips-db02" in lines
    last = commits(phoned, "-1")[0]
    assert last["subject"] == f"{case_id} new: URGENT: DIPS down"
    assert last["trailers"]["Action"] == "new"
    shown = act(phoned, "show", case_id).stdout
    assert "Urgent case:" in shown and "clinical-applications" in shown
    assert act(phoned, "search", "dips-db02").stdout.count(case_id) == 1
    assert act(phoned, "validate").exit_code == 0


def test_as_a_real_process_stdout_is_the_bare_id(phoned) -> None:
    done = act_process(phoned, "new", *urgent_args())
    assert done.returncode == 0, done.stderr
    case_id = done.stdout.strip()
    assert done.stdout == case_id + "\n" and len(case_id) == 10
    assert f"phone the desk at {DESK_PHONE}" in done.stderr
    assert f"case number {case_id}" in done.stderr


def test_without_a_desk_phone_it_says_so(desk) -> None:
    result = act(desk, "new", *urgent_args())
    assert result.exit_code == 0, result.output
    case_id = result.stdout.strip()
    assert case_id in result.stderr
    assert "no desk.phone" in result.stderr


def test_init_phone_sets_the_desk_phone(tmp_path) -> None:
    result = run("init", str(tmp_path / "d"), "--phone", DESK_PHONE)
    assert result.exit_code == 0, result.output
    assert load_yaml(tmp_path / "d" / "casectl.yaml")["desk"]["phone"] == DESK_PHONE
    assert run("--repo", str(tmp_path / "d"), "validate").exit_code == 0
    bad = run("init", str(tmp_path / "e"), "--phone", "ring meg")
    assert bad.exit_code == 2 and "not a phone number" in bad.stderr
    assert not (tmp_path / "e").exists()


def test_every_missing_piece_is_named_in_one_message(phoned) -> None:
    before = snapshot(phoned)
    result = act(phoned, "new", "--urgent", "--application", "DIPS", "--users", "alle")
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    message = result.stderr.split("hint:")[0]
    assert "refused by rule 'urgent-case-details'" in message
    for flag in ("--department", "--servers", "--competence", "--contact", "--phone"):
        assert flag in message, flag
    for flag in ("--application", "--users"):
        assert flag not in message, flag
    assert "missing 5 of its details" in message
    assert message.count("refused") == 1
    assert snapshot(phoned) == before


def test_all_pieces_missing(phoned) -> None:
    result = act(phoned, "new", "--urgent")
    assert result.exit_code == 1
    assert "missing 7 of its details" in result.stderr
    assert all(flag in result.stderr for flag in PIECES)


@pytest.mark.parametrize("piece", [flag[2:] for flag in PIECES])
def test_each_piece_alone_is_missed(phoned, piece: str) -> None:
    result = act(phoned, "new", *urgent_args(**{piece: True}))
    assert result.exit_code == 1, result.output
    message = result.stderr.split("hint:")[0]
    assert "missing 1 of its details" in message and f"--{piece}" in message


def test_a_given_subject_must_name_the_application(phoned) -> None:
    before = snapshot(phoned)
    result = act(phoned, "new", "--subject", "Lab nede", *urgent_args())
    assert result.exit_code == 1
    assert "urgent-subject-names-application" in result.stderr
    assert snapshot(phoned) == before
    result = act(phoned, "new", "--subject", "dips: ingen pålogging i akutten", *urgent_args())
    assert result.exit_code == 0, result.output
    assert load_case(phoned, result.stdout.strip())["subject"] == \
        "dips: ingen pålogging i akutten"


def test_a_named_reporter_stays_and_the_description_follows(phoned) -> None:
    result = act(phoned, "new", *urgent_args(), "--reporter", "Ola Lege <ola@helse.example.no>",
                 "--description", "Feilmelding: ORA-12541")
    assert result.exit_code == 0, result.output
    case = load_case(phoned, result.stdout.strip())
    assert case["reporter"]["name"] == "Ola Lege"
    assert case["urgent"]["contact"] == "Eva Berg"
    assert case["description"].endswith("\n\nFeilmelding: ORA-12541")


@pytest.mark.parametrize("extra,says", [
    (("--priority", "low"), "critical, not low"),
    (("--impact", "user", "--urgency", "normal"), "exclude each other"),
    (("--competence", "plumbing"), "'plumbing' is not one of"),
    (("--application", ""), "is empty"),
])
def test_urgent_bad_input(phoned, extra: tuple[str, ...], says: str) -> None:
    before = snapshot(phoned)
    result = act(phoned, "new", *urgent_args(), *extra)
    assert result.exit_code == 2, result.output
    assert says in result.stderr
    assert snapshot(phoned) == before


def test_urgent_pieces_without_urgent_are_a_usage_error(phoned) -> None:
    result = act(phoned, "new", "--subject", "DIPS nede", "--application", "DIPS",
                 "--contact", "Eva")
    assert result.exit_code == 2
    assert "--application, --contact belong to an urgent case" in result.stderr
    result = act(phoned, "new")
    assert result.exit_code == 2 and "subject is required" in result.stderr


def test_priority_critical_is_allowed(phoned) -> None:
    result = act(phoned, "new", *urgent_args(), "--priority", "critical")
    assert result.exit_code == 0, result.output


def test_validate_checks_the_urgent_record(phoned) -> None:
    case_id = act(phoned, "new", *urgent_args()).stdout.strip()
    path = case_file(phoned, case_id)
    doc = load_yaml(path)
    for event_or_header in (doc, doc["log"][0]["data"]):
        event_or_header["urgent"]["competence"] = "plumbing"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    result = act(phoned, "validate")
    assert result.exit_code == 4 and "competence" in result.output


def test_a_bad_desk_phone_in_the_config_is_caught(desk) -> None:
    set_desk_phone(desk, "")
    result = act(desk, "validate")
    assert result.exit_code == 4 and "desk.phone" in result.output


def test_a_desk_phone_that_cannot_be_dialled_is_caught(desk) -> None:
    set_desk_phone(desk, "ring sentralbordet")
    result = act(desk, "validate")
    assert result.exit_code == 4 and "desk.phone" in result.output


def test_show_csv_flattens_the_urgent_record_and_answers(phoned) -> None:
    import csv
    import io

    case_id = act(phoned, "new", *urgent_args()).stdout.strip()
    assert act(phoned, "triage", case_id, "--answer", "socket=B4").exit_code == 1  # no team asks
    act(phoned, "team", "set", "nettverk", "--question", "socket=Uttak?", agent="admin")
    assert act(phoned, "triage", case_id, "--answer", "socket=B4").exit_code == 0
    row = next(csv.DictReader(io.StringIO(act(phoned, "show", case_id, "--format",
                                              "csv").stdout)))
    assert row["urgent_application"] == "DIPS" and row["urgent_phone"] == "+47 917 22 418"
    assert row["answer_socket"] == "B4"
    assert "urgent" not in row and "answers" not in row


def test_seed_003_end_to_end(phoned) -> None:
    """Seed 003's procedure as a desk plays it: the urgent case registered
    with every piece, phoned in, handed by hand to the clinical applications
    team (a critical case changes team only so) after its triage question is
    answered, worked and closed; git log tells it in order."""
    assert act(phoned, "team", "set", "klinisk-app", "--question",
               "lvms=Gjelder det LVMS-integrasjonen?", agent="admin").exit_code == 0
    done = act_process(phoned, "new", *urgent_args(), "--description",
                       "Ingen får åpnet journal; feilmelding ORA-12541")
    assert done.returncode == 0, done.stderr
    case_id = done.stdout.strip()
    assert f"phone the desk at {DESK_PHONE}" in done.stderr
    moved = act(phoned, "assign", case_id, "--team", "klinisk-app", "--answer", "lvms=Nei")
    assert moved.exit_code == 1 and "handover-for-critical-and-high" in moved.stderr
    refused = act(phoned, "handover", case_id, "--to", "klinisk-app", "--note",
                  "Overdratt til Mette Jørgensen per telefon")
    assert refused.exit_code == 1 and "lvms: Gjelder det LVMS-integrasjonen?" in refused.stderr
    steps = [
        ("kari", ("handover", case_id, "--to", "klinisk-app", "--note",
                  "Overdratt til Mette Jørgensen per telefon", "--answer", "lvms=Nei")),
        ("mette", ("take", case_id)),
        ("mette", ("start", case_id)),
        ("mette", ("log", case_id, "Databaselytter på dips-db02 startet på nytt")),
        ("mette", ("close", case_id, "--solution", "Lytteren startet; DIPS oppe igjen",
                   "--confirmed")),
    ]
    for agent, args in steps:
        result = act(phoned, *args, agent=agent)
        assert result.exit_code == 0, (args, result.output)
    case = load_case(phoned, case_id)
    assert (case["status"], case["priority"], case["team"], case["assignee"]) == \
        ("closed", "critical", "klinisk-app", "mette")
    assert case["answers"]["lvms"]["answer"] == "Nei"
    assert [e["kind"] for e in case["log"]] == [
        "created", "triaged", "handed_over", "taken", "status_changed", "worklog", "closed"]
    actions = [c["trailers"]["Action"] for c in commits(phoned, "--grep", f"Case: {case_id}")]
    assert actions == ["close", "log", "start", "take", "handover", "new"]
    assert act(phoned, "validate").exit_code == 0

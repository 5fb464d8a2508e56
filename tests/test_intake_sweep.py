"""Mail intake beyond one message at a time (issue 8): casectl.yaml's mail
settings, routes for new cases, Maildir and mbox sweeps, the quarantine,
`--mda` for mail servers' delivery pipes, and the Message-ID look-up in
the query index. Through the real command line on real desks."""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
from email.message import EmailMessage
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from casectl import errors, index, model
from casectl.cli import cli
from helpers import case_file, commit_count, copy_desk, git, load_case, run, snapshot
# The intake desk (a service identity with the receiver role): test_intake's.
from test_intake import intake_desk  # noqa: F401

MAIL = Path(__file__).resolve().parent / "data" / "mail"
DESK = "support@helse.example.no"


@pytest.fixture(scope="module")
def sweep_desk(intake_desk: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """test_intake's desk (a service identity for mail intake), its mail
    section naming that identity, the desk's address and three routes."""
    from helpers import isolated_env

    with isolated_env(tmp_path_factory.mktemp("sweep-setup-home")):
        configure(intake_desk, {"address": DESK, "intake": {"agent": "intake", "routes": [
            {"match": {"to": r"^nett@helse\.example\.no$"}, "team": "nettverk",
             "type": "request", "priority": "high"},
            {"match": {"subject": "printer|skriver", "from": r"@kommune\.example\.dk$"},
             "team": "klinisk-app", "priority": "low"},
            {"match": {"subject": "kritisk"}, "priority": "critical", "type": "change"},
        ]}})
    return intake_desk


@pytest.fixture
def repo(tmp_path: Path, sweep_desk: Path) -> Path:
    return copy_desk(sweep_desk, tmp_path)


def configure(root: Path, mail: dict) -> None:
    """casectl.yaml's mail section set and committed, as an admin does."""
    path = root / "casectl.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["mail"] = mail
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    git(root, "-c", "user.name=Åse Admin", "-c", "user.email=ase@helse.example.no", "commit",
        "-qam", "mail settings")


def message(number: int, *, sender: str = "Ola Nordmann <ola@bergen.kommune.no>",
            to: str = f"Servicedesk <{DESK}>", subject: str | None = None,
            body: str = "Skriveren på 2. etasje skriver ikke ut.", **headers: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = to
    msg["Subject"] = subject if subject is not None else f"Sak nummer {number}"
    msg["Message-ID"] = f"<sweep-{number}@bergen.kommune.no>"
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(body)
    return msg.as_bytes()


def intake(repo: Path, *args: str, raw: bytes | None = None, agent: str | None = None,
           env: dict[str, str] | None = None) -> Result:
    """`casectl intake ...` in-process, acting as casectl.yaml says unless ``agent``."""
    acting = ["--as", agent] if agent else []
    return CliRunner().invoke(cli, ["--repo", str(repo), *acting, "intake", *args],
                              input=raw, env=env, catch_exceptions=False)


def intake_process(repo: Path, *args: str, raw: bytes = b"", agent: str | None = None
                   ) -> subprocess.CompletedProcess:
    """As a mail server's pipe runs it: a process, the message on standard input."""
    acting = ["--as", agent] if agent else []
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASECTL_")}
    return subprocess.run([sys.executable, "-m", "casectl", "--repo", str(repo), *acting,
                           "intake", *args], input=raw, capture_output=True, env=env,
                          timeout=60)


def doc(repo: Path, case_id: str) -> dict:
    return yaml.safe_load(case_file(repo, case_id).read_text(encoding="utf-8"))


def maildir(where: Path, messages: dict[str, bytes]) -> Path:
    """A Maildir holding ``messages`` by their file names under it (new/...,
    cur/...), delivered one second apart in the order given."""
    for sub in ("tmp", "new", "cur"):
        (where / sub).mkdir(parents=True, exist_ok=True)
    moment = time.time() - 1000
    for name, raw in messages.items():
        path = where / name
        path.write_bytes(raw)
        moment += 1
        os.utime(path, (moment, moment))
    return where


def case_count(repo: Path) -> int:
    return len(list((repo / "cases").rglob("*.yaml")))


# ---------------------------------------------------------------- settings

def test_intake_acts_as_the_configured_identity_unless_told(repo: Path) -> None:
    taken = intake(repo, "-", raw=message(1))
    assert taken.exit_code == 0, taken.output
    assert doc(repo, taken.stdout.strip())["log"][0]["by"] == "intake"
    # --as and CASECTL_AGENT name someone else; that someone must be fit.
    state = snapshot(repo)
    refused = intake(repo, "-", raw=message(2), agent="kari")
    assert refused.exit_code == 1 and "rule 'intake-identity'" in refused.stderr
    by_env = intake(repo, "-", raw=message(2), env={"CASECTL_AGENT": "kari"})
    assert by_env.exit_code == 1 and "rule 'intake-identity'" in by_env.stderr
    assert snapshot(repo) == state


def test_without_a_configured_identity_someone_must_be_named(repo: Path) -> None:
    configure(repo, {"address": DESK})
    refused = intake(repo, "-", raw=message(1), env={"GIT_AUTHOR_NAME": ""})
    assert refused.exit_code == 1 and "not an agent" in refused.stderr
    assert intake(repo, "-", raw=message(1), agent="intake").exit_code == 0


def test_the_configured_tag_prefix_and_the_option_over_it(repo: Path) -> None:
    configure(repo, {"tag_prefix": "HD-", "intake": {"agent": "intake"}})
    case_id = intake(repo, "-", raw=message(1)).stdout.strip()
    reply = message(2, subject=f"SV: [HD-{case_id}] Sak nummer 1",
                    In_Reply_To="<sweep-1@bergen.kommune.no>")
    assert intake(repo, "-", raw=reply).stdout.strip() == case_id
    assert doc(repo, case_id)["log"][-1]["kind"] == "reply"
    # --tag-prefix wins: with it, [HD-...] is no tag and a new case opens.
    other = message(3, subject=f"SV: [HD-{case_id}] Sak nummer 1")
    taken = intake(repo, "--tag-prefix", "#", "-", raw=other)
    assert taken.exit_code == 0 and taken.stdout.strip() != case_id


def test_mail_from_the_desks_own_address_opens_nothing(repo: Path) -> None:
    case_id = intake(repo, "-", raw=message(1)).stdout.strip()
    state = snapshot(repo)
    for sender in (f"Servicedesk <{DESK}>", "SUPPORT@helse.example.no"):
        for subject in ("Sak nummer 2", f"SV: [#{case_id}] Sak nummer 1"):  # nor joins
            taken = intake(repo, "-", raw=message(2, sender=sender, subject=subject,
                                                  In_Reply_To="<sweep-1@bergen.kommune.no>"))
            assert taken.exit_code == 0 and taken.stdout == ""
            assert f"the desk's own address {DESK}" in taken.stderr
    assert snapshot(repo) == state


# ---------------------------------------------------------------- routes

def test_a_route_sets_type_team_and_priority_and_queues_in_the_team(repo: Path) -> None:
    taken = intake(repo, "-", raw=message(1, to="Nettverk <NETT@helse.example.no>, "
                                             f"{DESK}"))
    assert taken.exit_code == 0, taken.output
    case = doc(repo, taken.stdout.strip())
    assert (case["team"], case["assignee"], case["type"], case["priority"]) == \
        ("nettverk", None, "request", "high")
    listed = run("--repo", str(repo), "--as", "per", "list", "--team", "nettverk",
                 "--format", "csv")
    assert case["id"] in listed.stdout
    assert run("--repo", str(repo), "validate").exit_code == 0


def test_the_first_matching_route_wins_and_all_its_conditions_count(repo: Path) -> None:
    # Subject and sender both match route 2 (the Danish municipality's printer).
    dk = "Søren Kjær <soren@kommune.example.dk>"
    routed = doc(repo, intake(repo, "-", raw=message(1, sender=dk,
                                                     subject="Printer virker ikke")).stdout.strip())
    assert (routed["team"], routed["priority"], routed["type"]) == \
        ("klinisk-app", "low", "incident")
    # Only one of its conditions: no route; the intake identity's team.
    plain = doc(repo, intake(repo, "-", raw=message(2, subject="Printer virker ikke")
                             ).stdout.strip())
    assert (plain["team"], plain["priority"]) == ("servicedesk", "medium")
    # To the network address AND about a printer: route 1 comes first.
    both = doc(repo, intake(repo, "-", raw=message(3, sender=dk, subject="Printer",
                                                   to="nett@helse.example.no")).stdout.strip())
    assert both["team"] == "nettverk"


def test_a_forward_is_routed_by_its_original_sender(repo: Path) -> None:
    forward = message(1, sender="Kari Nordmann <kari@helse.example.no>",
                      subject="VS: Printer står", body=(
                          "Se under.\n\n-----Original Message-----\n"
                          "From: Søren Kjær <soren@kommune.example.dk>\n"
                          "Sent: 1. desember 2026 09:00\nTo: Kari <kari@helse.example.no>\n"
                          "Subject: Printer står\n\nPrinteren står."))
    case = doc(repo, intake(repo, "-", raw=forward).stdout.strip())
    assert case["reporter"]["email"] == "soren@kommune.example.dk"
    assert case["team"] == "klinisk-app"


def test_a_route_part_the_desk_refuses_is_left_out_not_the_message(repo: Path) -> None:
    # Route 3 makes it critical, and a critical case needs the contact's
    # phone, which mail does not give: registered without the priority.
    before = commit_count(repo)
    taken = intake(repo, "-", raw=message(1, subject="Kritisk: journalen er nede"))
    assert taken.exit_code == 0, taken.output
    case = doc(repo, taken.stdout.strip())
    assert (case["priority"], case["type"]) == ("medium", "change")
    assert "mail.intake.routes[2] set priority critical" in taken.stderr
    assert "critical-needs-contact-phone" in taken.stderr
    assert "registered without it" in taken.stderr
    assert commit_count(repo) == before + 1


def test_a_team_with_questions_to_answer_first_is_left_out(repo: Path) -> None:
    path = repo / "casectl.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["teams"]["nettverk"]["questions"] = {"sted": "Hvor står utstyret?"}
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    git(repo, "-c", "user.name=A", "-c", "user.email=ase@helse.example.no", "commit", "-qam",
        "questions")
    taken = intake(repo, "-", raw=message(1, to="nett@helse.example.no"))
    assert taken.exit_code == 0, taken.output
    case = doc(repo, taken.stdout.strip())
    assert (case["team"], case["type"], case["priority"]) == ("servicedesk", "request", "high")
    assert "set team nettverk" in taken.stderr and "triage-questions" in taken.stderr


def test_a_reply_is_never_routed(repo: Path) -> None:
    case_id = intake(repo, "-", raw=message(1)).stdout.strip()
    before = doc(repo, case_id)
    reply = message(2, to="nett@helse.example.no", subject=f"SV: [#{case_id}] kritisk printer",
                    In_Reply_To="<sweep-1@bergen.kommune.no>")
    taken = intake(repo, "-", raw=reply)
    assert taken.stdout.strip() == case_id and taken.stderr == ""
    after = doc(repo, case_id)
    assert after["log"][-1]["kind"] == "reply"
    for key in ("team", "priority", "type", "category", "assignee"):
        assert after[key] == before[key]


# ---------------------------------------------------------------- Maildir sweeps

def test_a_maildir_sweep_takes_each_message_once_and_marks_it_seen(repo: Path,
                                                                  tmp_path: Path) -> None:
    box = maildir(tmp_path / "Maildir", {
        "cur/100.old:2,": message(1),                                   # delivered, unseen
        "cur/101.read:2,S": message(2),                                 # read: not taken
        "new/102.first": message(3, subject="Printeren"),
        "new/103.auto": message(4, Auto_Submitted="auto-replied"),
        "new/104.copy": message(3, subject="Printeren"),                # the same again
    })
    result = intake(repo, "--maildir", str(box))
    assert result.exit_code == 0, result.output
    lines = [line.split("\t") for line in result.stdout.splitlines()]
    assert [(action, Path(source).name) for _, action, source in lines] == [
        ("new", "100.old:2,"), ("new", "102.first"), ("ignored", "103.auto"),
        ("duplicate", "104.copy")]
    first, second, ignored, duplicate = (case for case, _, _ in lines)
    assert ignored == "-" and duplicate == second and first != second
    assert doc(repo, first)["subject"] == "Sak nummer 1"
    assert "4 message(s) from" in result.stderr
    assert "2 new, 1 duplicate, 1 ignored" in result.stderr
    assert sorted(p.name for p in (box / "cur").iterdir()) == [
        "100.old:2,S", "101.read:2,S", "102.first:2,S", "103.auto:2,S", "104.copy:2,S"]
    assert list((box / "new").iterdir()) == []
    # A second sweep takes nothing; a message delivered since, only it.
    state = snapshot(repo)
    again = intake(repo, "--maildir", str(box))
    assert again.exit_code == 0 and again.stdout == "" and "0 message(s)" in again.stderr
    assert snapshot(repo) == state
    (box / "new" / "105.late").write_bytes(message(5))
    late = intake(repo, "--maildir", str(box), "--json")
    assert late.exit_code == 0, late.output
    [item] = json.loads(late.stdout)
    assert set(item) == {"source", "action", "case", "note"}
    assert item["action"] == "new" and item["source"] == str(box / "new" / "105.late")
    assert case_count(repo) == 3


def test_a_sweep_threads_a_reply_to_a_case_opened_in_the_same_sweep(repo: Path,
                                                                   tmp_path: Path) -> None:
    box = maildir(tmp_path / "Maildir", {"new/1.a": message(1)})
    # The reply names the first message, as a reporter's second mail does.
    box_reply = message(2, subject="SV: Sak nummer 1", In_Reply_To="<sweep-1@bergen.kommune.no>")
    first = intake(repo, "--maildir", str(box)).stdout.split("\t")[0]
    tagged = box_reply.replace(b"Subject: SV: Sak", f"Subject: SV: [#{first}] Sak".encode())
    maildir(box, {"new/2.b": tagged})
    result = intake(repo, "--maildir", str(box))
    assert result.stdout.split("\t")[:2] == [first, "reply"]


def test_a_sweep_stops_at_a_refusal_of_the_desk_leaving_the_rest(repo: Path,
                                                                tmp_path: Path) -> None:
    box = maildir(tmp_path / "Maildir", {"new/1.a": message(1), "new/2.b": message(2)})
    state = snapshot(repo)
    refused = intake(repo, "--maildir", str(box), agent="kari")
    assert refused.exit_code == 1 and "rule 'intake-identity'" in refused.stderr
    assert snapshot(repo) == state
    assert sorted(p.name for p in (box / "new").iterdir()) == ["1.a", "2.b"]


def test_a_sweep_stops_on_older_schemas_after_what_it_took(repo: Path, tmp_path: Path) -> None:
    case_id = intake(repo, "-", raw=message(1)).stdout.strip()
    schema_path = repo / "schemas" / "case.schema.json"
    older = json.loads(schema_path.read_text(encoding="utf-8"))
    del older["$defs"]["data_reply"]["properties"]["message_id"]
    schema_path.write_text(json.dumps(older, indent=2), encoding="utf-8")
    git(repo, "-c", "user.name=A", "-c", "user.email=ase@helse.example.no", "commit", "-qam",
        "old schemas")
    reply = message(2, subject=f"SV: [#{case_id}] Sak nummer 1")
    box = maildir(tmp_path / "Maildir", {"new/1.a": message(3), "new/2.reply": reply,
                                         "new/3.c": message(4)})
    result = intake(repo, "--maildir", str(box))
    assert result.exit_code == 1 and "casectl upgrade" in result.stderr
    assert result.stdout.count("\tnew\t") == 1
    assert "stopped, 2 message(s) left where they are" in result.stderr
    assert sorted(p.name for p in (box / "new").iterdir()) == ["2.reply", "3.c"]
    assert run("--repo", str(repo), "--as", "admin", "upgrade").exit_code == 0
    rest = intake(repo, "--maildir", str(box))
    assert rest.exit_code == 0 and [line.split("\t")[1] for line in rest.stdout.splitlines()] \
        == ["reply", "new"]


def test_not_a_maildir_and_options_that_exclude_each_other(repo: Path, tmp_path: Path) -> None:
    assert intake(repo, "--maildir", str(tmp_path / "nope")).exit_code == 3
    (tmp_path / "plain").mkdir()
    not_one = intake(repo, "--maildir", str(tmp_path / "plain"))
    assert not_one.exit_code == 2 and "not a Maildir" in not_one.stderr
    both = intake(repo, "--maildir", str(tmp_path), "--mbox", str(tmp_path / "x"))
    assert both.exit_code == 2 and "exclude each other" in both.stderr


# ---------------------------------------------------------------- mbox sweeps

def mbox_bytes(*raws: bytes) -> bytes:
    parts = []
    for raw in raws:
        body = raw.replace(b"\r\n", b"\n").replace(b"\nFrom ", b"\n>From ")
        parts.append(b"From sender@example.org Tue Dec  1 08:00:00 2026\n" + body.rstrip(b"\n")
                     + b"\n\n")
    return b"".join(parts)


def test_an_mbox_sweep_takes_every_message_and_leaves_the_file(repo: Path,
                                                              tmp_path: Path) -> None:
    box = tmp_path / "support.mbox"
    box.write_bytes(mbox_bytes(message(1), message(2, subject="Printer"),
                               message(3, Precedence="bulk")))
    before = box.read_bytes()
    result = intake(repo, "--mbox", str(box))
    assert result.exit_code == 0, result.output
    lines = [line.split("\t") for line in result.stdout.splitlines()]
    assert [(action, source) for _, action, source in lines] == [
        ("new", f"{box}#1"), ("new", f"{box}#2"), ("ignored", f"{box}#3")]
    assert box.read_bytes() == before
    assert not list(tmp_path.glob("support.mbox.lock"))
    # Swept again: duplicates, nothing changes.
    state = snapshot(repo)
    again = intake(repo, "--mbox", str(box), "--json")
    assert [item["action"] for item in json.loads(again.stdout)] == \
        ["duplicate", "duplicate", "ignored"]
    assert snapshot(repo) == state


def test_an_mbox_sweep_waits_for_the_mbox_lock(repo: Path, tmp_path: Path) -> None:
    box = tmp_path / "support.mbox"
    box.write_bytes(mbox_bytes(message(1)))
    handle = open(box, "rb+")
    fcntl.lockf(handle, fcntl.LOCK_EX)  # a delivery in progress
    started = time.monotonic()
    timer = threading.Timer(1.0, lambda: (fcntl.lockf(handle, fcntl.LOCK_UN), handle.close()))
    timer.start()
    try:
        done = intake_process(repo, "--mbox", str(box))
    finally:
        timer.join()
    assert done.returncode == 0, done.stderr
    assert time.monotonic() - started >= 1.0
    assert done.stdout.decode().split("\t")[1] == "new"


# ---------------------------------------------------------------- quarantine

def test_a_broken_message_in_a_sweep_is_quarantined_and_the_rest_taken(repo: Path,
                                                                      tmp_path: Path) -> None:
    broken = (MAIL / "broken.eml").read_bytes()
    box = maildir(tmp_path / "Maildir", {"new/1.a": message(1), "new/2.broken": broken,
                                         "new/3.c": message(2)})
    result = intake(repo, "--maildir", str(box))
    assert result.exit_code == 2, result.output
    assert [line.split("\t")[1] for line in result.stdout.splitlines()] == \
        ["new", "quarantined", "new"]
    assert "1 quarantined" in result.stderr and "no header" in result.stderr
    kept = list((repo / ".git" / "casectl" / "quarantine" / "new").iterdir())
    assert len(kept) == 1 and kept[0].read_bytes() == broken
    import hashlib
    assert kept[0].name == hashlib.sha256(broken).hexdigest()
    assert sorted(p.name for p in (box / "cur").iterdir()) == \
        ["1.a:2,S", "2.broken:2,S", "3.c:2,S"]
    listed = intake(repo, "--quarantined", "--json")
    [item] = json.loads(listed.stdout)
    assert item["name"] == kept[0].name and "no header" in item["reason"]
    assert item["source"] == str(box / "new" / "2.broken") and item["when"]
    table = intake(repo, "--quarantined")
    assert kept[0].name in table.stdout and "no header" in table.stdout
    # The same message again, by a pipe: kept once, exit 2, and where.
    again = intake(repo, "-", raw=broken)
    assert again.exit_code == 2
    assert again.stderr.startswith("casectl: the message cannot be taken in: ")
    assert str(kept[0]) in again.stderr
    assert len(list((repo / ".git" / "casectl" / "quarantine" / "new").iterdir())) == 1


def test_a_chosen_quarantine_and_a_value_no_case_may_hold(repo: Path, tmp_path: Path) -> None:
    # A sender the desk cannot keep as an address is still registered; a
    # message whose bytes are fine but whose tagged case file is broken
    # concerns that message: kept, the others go on.
    case_id = intake(repo, "-", raw=message(1)).stdout.strip()
    case_file(repo, case_id).write_text("log: [broken\n", encoding="utf-8")
    git(repo, "-c", "user.name=A", "-c", "user.email=a@b.c", "commit", "-qam", "broken by hand")
    reply = message(2, subject=f"SV: [#{case_id}] Sak nummer 1")
    where = tmp_path / "held"
    result = intake(repo, "--quarantine", str(where), "-", raw=reply)
    assert result.exit_code == 2
    assert str(where / "new") in result.stderr
    assert len(list((where / "new").iterdir())) == 1
    assert json.loads(intake(repo, "--quarantined", "--quarantine", str(where), "--json")
                      .stdout)[0]["reason"].startswith("cases/")
    assert "nothing in quarantine" in intake(repo, "--quarantined").stdout


# ---------------------------------------------------------------- --mda

def test_mda_exit_codes_as_a_mail_server_reads_them(repo: Path, tmp_path: Path) -> None:
    new = intake_process(repo, "--mda", raw=message(1))
    assert new.returncode == 0, new.stderr
    case_id = new.stdout.decode().strip()
    assert doc(repo, case_id)["log"][0]["by"] == "intake"
    for raw in (message(1), message(2, Auto_Submitted="auto-replied"),
                (MAIL / "broken.eml").read_bytes()):
        kept = intake_process(repo, "--mda", "-", raw=raw)
        assert kept.returncode == 0, kept.stderr  # duplicate, ignored, quarantined
    assert b"kept in quarantine" in kept.stderr
    # Not kept: the server is to defer and try again (EX_TEMPFAIL).
    state = snapshot(repo)
    refused = intake_process(repo, "--mda", raw=message(3), agent="kari")
    assert refused.returncode == errors.EXIT_TEMPFAIL == 75
    assert b"rule 'intake-identity'" in refused.stderr
    elsewhere = subprocess.run([sys.executable, "-m", "casectl", "--repo", str(tmp_path),
                                "intake", "--mda"], input=message(3), capture_output=True,
                               timeout=60)
    assert elsewhere.returncode == 75 and b"not a case repository" in elsewhere.stderr
    sweep = intake_process(repo, "--mda", "--maildir", str(tmp_path))
    assert sweep.returncode == 75
    assert snapshot(repo) == state
    # Without --mda the codes are the usual ones.
    assert intake_process(repo, raw=message(3), agent="kari").returncode == 1


def test_mda_defers_when_git_cannot_commit(repo: Path, monkeypatch: pytest.MonkeyPatch
                                           ) -> None:
    # git itself cannot commit: its index is locked (a git process that died
    # holding it). Nothing is recorded and the server is told to retry.
    import casectl.journal

    monkeypatch.setattr(casectl.journal, "LOCK_WAIT", 0.3)
    state = snapshot(repo)
    (repo / ".git" / "index.lock").write_text("")
    try:
        done = intake(repo, "--mda", "-", raw=message(1))
    finally:
        (repo / ".git" / "index.lock").unlink()
    assert done.exit_code == 75, done.output
    assert "index.lock" in done.stderr
    assert snapshot(repo) == state
    assert intake(repo, "--mda", "-", raw=message(1)).exit_code == 0
    assert case_count(repo) == 1


# ---------------------------------------------------------------- the index look-up

def test_message_ids_are_recorded_in_the_query_index(repo: Path) -> None:
    case_id = intake(repo, "-", raw=message(1)).stdout.strip()
    reply = message(2, subject=f"SV: [#{case_id}] Sak nummer 1")
    assert intake(repo, "-", raw=reply).stdout.strip() == case_id
    assert run("--repo", str(repo), "--as", "kari", "list").exit_code == 0  # up to HEAD
    conn = sqlite3.connect(repo / ".git" / "casectl" / "index.sqlite")
    try:
        rows = conn.execute("SELECT m.message_id, c.id FROM message_ids m JOIN cases c "
                            "ON c.rowid = m.case_rowid ORDER BY 1").fetchall()
        assert conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()[0] == \
            index.SCHEMA_VERSION
    finally:
        conn.close()
    # The mail taken in, and the notification the desk sent its reporter.
    acknowledged = load_case(repo, case_id)["log"][0]["data"]["message_id"]
    assert sorted(rows) == sorted([("<sweep-1@bergen.kommune.no>", case_id),
                                   ("<sweep-2@bergen.kommune.no>", case_id),
                                   (acknowledged, case_id)])


def test_a_damaged_index_still_finds_the_duplicate(repo: Path) -> None:
    case_id = intake(repo, "-", raw=message(1)).stdout.strip()
    state = _index_file(repo)
    for suffix in ("-wal", "-shm"):
        (state.parent / (state.name + suffix)).unlink(missing_ok=True)
    state.write_bytes(b"not a database at all" * 100)
    again = intake(repo, "-", raw=message(1))
    assert again.exit_code == 0 and again.stdout.strip() == case_id
    assert "already taken in" in again.stderr


def test_a_message_taken_in_another_clone_is_a_duplicate_after_a_pull(
        repo: Path, tmp_path: Path) -> None:
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(repo), str(other))
    intake(repo, "-", raw=message(5))  # builds this clone's index before the other's mail
    taken = intake(other, "-", raw=message(1))
    assert taken.exit_code == 0, taken.output
    git(repo, "-c", "user.name=A", "-c", "user.email=a@b.c", "pull", "-q", "--no-rebase",
        str(other), "HEAD")
    again = intake(repo, "-", raw=message(1))
    assert again.stdout.strip() == taken.stdout.strip()
    assert "already taken in" in again.stderr


def test_intake_in_a_git_hook_environment(repo: Path, tmp_path: Path) -> None:
    decoy = tmp_path / "decoy"
    git(tmp_path, "init", "-q", str(decoy))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASECTL_")}
    env.update(GIT_DIR=str(decoy / ".git"), GIT_INDEX_FILE=str(decoy / ".git" / "index"),
               GIT_WORK_TREE=str(decoy))
    box = maildir(tmp_path / "Maildir", {"new/1.a": message(1), "new/2.a": message(1)})
    done = subprocess.run([sys.executable, "-m", "casectl", "--repo", str(repo), "intake",
                           "--maildir", str(box)], capture_output=True, env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert [line.split(b"\t")[1] for line in done.stdout.splitlines()] == \
        [b"new", b"duplicate"]
    assert git(decoy, "status", "--porcelain") == ""


def test_message_ids_of_every_event_kind_count() -> None:
    case = {"log": [
        {"kind": "created", "data": {"fields": {"message-id": "<a@x>"}}},
        {"kind": "reply", "data": {"message_id": "<b@x>"}},
        {"kind": "email_sent", "data": {"message_id": "<c@x>"}},  # an outbox kind
        {"kind": "note", "data": {"text": "<d@x>"}},
        {"kind": "created", "data": {"fields": "not a mapping"}},
        {"kind": "reply", "data": {"message_id": 7}},
        "not an event",
    ]}
    assert set(model.message_ids(case)) == {"<a@x>", "<b@x>", "<c@x>"}


def _index_file(repo: Path) -> Path:
    run("--repo", str(repo), "--as", "kari", "list")
    return repo / ".git" / "casectl" / "index.sqlite"


def test_one_intake_for_many_messages_sees_commits_made_beside_it(repo: Path,
                                                                   tmp_path: Path) -> None:
    """The application API a sweep uses: one Intake, one index kept open.
    Its own commits it knows; another's (here a pull of a clone that took a
    message) brings the index up to HEAD before the next look-up."""
    from casectl.app import intake as intake_app, session as sessions

    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(repo), str(other))
    with intake_app.Intake(sessions.open_session(str(repo), None)) as taker:
        first = taker.take(message(1))
        assert first.action == "new"
        assert taker.take(message(1)) == intake_app.Outcome(
            "duplicate", first.case_id, f"<sweep-1@bergen.kommune.no> was already taken in "
            f"{first.case_id}; nothing changed")
        elsewhere = intake(other, "-", raw=message(2)).stdout.strip()
        git(repo, "-c", "user.name=A", "-c", "user.email=a@b.c", "pull", "-q", "--no-rebase",
            str(other), "HEAD")
        assert taker.take(message(2)).case_id == elsewhere
        assert taker.take(message(2)).action == "duplicate"
        # An agent's action between two messages: the index catches up.
        reply = message(3, subject=f"SV: [#{first.case_id}] Sak nummer 1")
        assert run("--repo", str(repo), "--as", "kari", "take", first.case_id).exit_code == 0
        assert taker.take(reply).action == "reply"
        assert taker.take(reply).action == "duplicate"
        assert taker.take(message(1)).action == "duplicate"


def test_two_sweeps_of_one_maildir_at_once_record_each_message_once(repo: Path,
                                                                     tmp_path: Path) -> None:
    box = maildir(tmp_path / "Maildir", {f"new/{n}.m": message(n) for n in range(1, 7)})
    sweeps = [subprocess.Popen([sys.executable, "-m", "casectl", "--repo", str(repo), "intake",
                                "--maildir", str(box)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE) for _ in range(2)]
    outputs = [sweep.communicate(timeout=120) for sweep in sweeps]
    assert [sweep.returncode for sweep in sweeps] == [0, 0], outputs
    actions = [line.split(b"\t")[1] for out, _ in outputs for line in out.splitlines()]
    assert actions.count(b"new") == 6 and set(actions) <= {b"new", b"duplicate"}
    assert case_count(repo) == 6
    assert sorted(p.name for p in (box / "cur").iterdir()) == \
        [f"{n}.m:2,S" for n in range(1, 7)]


def test_an_index_of_an_older_casectl_is_rebuilt_with_the_message_ids(repo: Path) -> None:
    case_id = intake(repo, "-", raw=message(1)).stdout.strip()
    path = _index_file(repo)
    conn = sqlite3.connect(path)
    try:  # as casectl before message_ids left it
        conn.execute("DROP TABLE message_ids")
        conn.execute("UPDATE meta SET value = '9' WHERE key = 'schema'")
        conn.commit()
    finally:
        conn.close()
    again = intake(repo, "-", raw=message(1))
    assert again.stdout.strip() == case_id and "already taken in" in again.stderr

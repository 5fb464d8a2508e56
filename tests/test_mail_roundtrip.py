"""The whole way round (issue 8, point 4): a reporter's mail opens a case
through `casectl intake --mda` (as a mail server's pipe runs it), the agent
answers with `log --email`, `casectl outbox send` delivers the answer to a
real SMTP server on loopback, the reporter's reply to what arrived is
delivered into a Maildir, and `casectl intake --maildir` sweeps it onto the
right case, unread for its assignee, the whole thread in `show` and
`history` and in `git log`."""

from __future__ import annotations

import email
import json
import os
import subprocess
import sys
from email import policy
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Iterator

import pytest
import yaml

from helpers import act, case_file, copy_desk, desk_template, git, isolated_env, load_case, run
from helpers import smtp as smtpd

DESK = "brukerstotte@helse.example.no"
REPORTER = ("Bjørn Åsen", "bjorn.asen@bergen.kommune.example.no")
SIGNATURE = "Kari Nordmann\nIKT-servicedesken"
PDF = b"%PDF-1.4\n% skjermbilde av feilmeldingen\n" + bytes(range(256)) * 4


@pytest.fixture(scope="module")
def mail_desk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The standard desk with its mail set up as an admin would: the desk's
    address, intake acting as a service identity of its own, kari's
    signature, all committed."""
    root = desk_template(tmp_path_factory, "roundtrip")
    with isolated_env(tmp_path_factory.mktemp("roundtrip-home")):
        result = run("--repo", str(root), "--as", "admin", "agent", "add", "intake",
                     "--name", "Mail intake", "--email", DESK, "--team", "servicedesk",
                     "--role", "receiver", "--service")
        assert result.exit_code == 0, result.output
        path = root / "casectl.yaml"
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
        config["agents"]["kari"]["signature"] = SIGNATURE
        config.setdefault("calendar", {})["country"] = "NO"
        config["mail"] = {"address": DESK, "name": "IKT-servicedesken",
                          "intake": {"agent": "intake"}}
        path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False),
                        encoding="utf-8")
        git(root, "-c", "user.name=Admin", "-c", "user.email=admin@helse.example.no",
            "commit", "-qam", "Mail for the desk")
    return root


@pytest.fixture
def repo(tmp_path: Path, mail_desk: Path) -> Iterator[Path]:
    yield copy_desk(mail_desk, tmp_path)


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return smtpd.make_certificate(tmp_path_factory.mktemp("cert"))


def first_mail() -> bytes:
    message = EmailMessage()
    message["From"] = f"{REPORTER[0]} <{REPORTER[1]}>"
    message["To"] = DESK
    message["Subject"] = "Får ikke logget på DIPS etter flytting"
    message["Message-ID"] = make_msgid(domain="bergen.kommune.example.no")
    message.set_content("Hei,\n\nEtter at vi flyttet til 3. etasje får jeg «ingen tilgang» "
                        "i DIPS Arena.\n\nHilsen Bjørn")
    message.add_attachment(PDF, maintype="application", subtype="pdf",
                           filename="feilmelding på skjermen.pdf")
    return message.as_bytes()


def intake_mda(repo: Path, raw: bytes) -> subprocess.CompletedProcess:
    """As Postfix's pipe(8) runs it: a process, the message on stdin, no
    --as (intake acts as mail.intake.agent)."""
    return subprocess.run([sys.executable, "-m", "casectl", "--repo", str(repo), "intake",
                           "--mda", "-"], input=raw, capture_output=True, timeout=60,
                          env={k: v for k, v in os.environ.items() if k != "CASECTL_AGENT"})


def answer_to(received: bytes, text: str) -> bytes:
    """The reporter's mail client answering what arrived: "SV:", the
    threading headers, the old text quoted under an attribution line."""
    got = email.message_from_bytes(received, policy=policy.default)
    reply = EmailMessage()
    reply["From"] = f"{REPORTER[0]} <{REPORTER[1]}>"
    reply["To"] = got["From"]
    reply["Subject"] = f"SV: {got['Subject']}"
    reply["Message-ID"] = make_msgid(domain="bergen.kommune.example.no")
    reply["In-Reply-To"] = got["Message-ID"]
    reply["References"] = f"{got.get('References', '')} {got['Message-ID']}".strip()
    quoted = "\n".join(f"> {line}" for line in got.get_content().splitlines())
    reply.set_content(f"{text}\n\nDen 3. des. 2026 kl. 09:12 skrev IKT-servicedesken "
                      f"<{DESK}>:\n{quoted}\n")
    return reply.as_bytes()


def test_a_case_by_mail_answered_and_replied_to_by_mail(repo: Path, tmp_path: Path,
                                                         cert: tuple[Path, Path]) -> None:
    # 1. The reporter's first mail opens a case, as the intake identity.
    opened = intake_mda(repo, first_mail())
    assert opened.returncode == 0, opened.stderr.decode()
    case_id = opened.stdout.decode().strip()
    case = load_case(repo, case_id)
    assert case["reporter"]["email"] == REPORTER[1]
    first_id = case["log"][0]["data"]["fields"]["message-id"]
    [attached] = case["log"][0]["data"]["attachments"]
    assert attached["name"] == "feilmelding på skjermen.pdf"
    sha = attached["sha256"]
    assert (repo / "attachments" / sha[:2] / sha).read_bytes() == PDF

    # 2. Kari takes it and answers by mail: queued with the commit.
    assert act(repo, "take", case_id).exit_code == 0
    answered = act(repo, "log", case_id, "--email",
                   "Hei Bjørn! Du er lagt til i AD-gruppen igjen. Prøv å logge på nå.")
    assert answered.exit_code == 0, answered.output
    case = load_case(repo, case_id)
    sent_id = case["log"][-1]["data"]["message_id"]

    # 3. The outbox delivers it to a real SMTP server (STARTTLS, AUTH).
    with smtpd.server("starttls", cert) as (server, port):
        path = repo / "casectl.yaml"
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
        config["mail"]["smtp"] = {"host": "127.0.0.1", "port": port, "security": "starttls",
                                  "user": smtpd.USER, "password_env": "SMTP_PASSWORD",
                                  "ca_file": str(cert[0]), "timeout": 5}
        path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False),
                        encoding="utf-8")
        git(repo, "-c", "user.name=Admin", "-c", "user.email=admin@helse.example.no",
            "commit", "-qam", "SMTP for the desk")
        sent = run("--repo", str(repo), "--as", "kari", "outbox", "send",
                   env={"SMTP_PASSWORD": smtpd.PASSWORD})
        assert sent.exit_code == 0, sent.output
    assert all(got.rcpt_tos == [REPORTER[1]] for got in server.received)
    mails = {email.message_from_bytes(got.content, policy=policy.default)["X-Casectl-Mail"]:
             got for got in server.received}
    assert sorted(mails) == ["email", "notify"]
    # The case opened by mail told its reporter so, under the case tag,
    # threaded under their mail and marked automatic (no vacation replies).
    notice = email.message_from_bytes(mails["notify"].content, policy=policy.default)
    assert notice["Message-ID"] == case["log"][0]["data"]["message_id"]
    assert notice["In-Reply-To"].strip() == first_id and f"[#{case_id}]" in notice["Subject"]
    assert notice["Auto-Submitted"] == "auto-generated"
    delivered = mails["email"]
    message = email.message_from_bytes(delivered.content, policy=policy.default)
    assert message["Message-ID"] == sent_id
    assert f"[#{case_id}]" in message["Subject"]
    assert first_id in message["References"].split()  # threads under the reporter's mail
    assert SIGNATURE in message.get_content().replace("\r\n", "\n")

    # 4. The reply arrives in the desk's Maildir; a cron sweep takes it.
    maildir = tmp_path / "Maildir"
    for sub in ("new", "cur", "tmp"):
        (maildir / sub).mkdir(parents=True)
    reply = answer_to(delivered.content, "Takk, nå virker det!")
    (maildir / "new" / "1764750000.M1P1.desk").write_bytes(reply)
    swept = subprocess.run([sys.executable, "-m", "casectl", "--repo", str(repo), "intake",
                            "--maildir", str(maildir), "--json"], capture_output=True,
                           timeout=60, env={k: v for k, v in os.environ.items()
                                            if k != "CASECTL_AGENT"})
    assert swept.returncode == 0, swept.stderr.decode()
    [outcome] = json.loads(swept.stdout)
    assert (outcome["action"], outcome["case"]) == ("reply", case_id)
    assert [p.name for p in (maildir / "new").iterdir()] == []
    assert [p.name for p in (maildir / "cur").iterdir()] == ["1764750000.M1P1.desk:2,S"]

    # The reply joined the right case, trimmed of the quote, the whole
    # original kept beside it; unread for kari, whose case it is.
    case = load_case(repo, case_id)
    event = case["log"][-1]
    assert event["kind"] == "reply" and event["by"] == "intake"
    assert event["data"]["text"] == "Takk, nå virker det!"
    assert event["data"]["message_id"] == email.message_from_bytes(reply)["Message-ID"].strip()
    original = event["data"]["original"]["sha256"]
    assert (repo / "attachments" / original[:2] / original).read_bytes() == reply
    unread = act(repo, "list", "--unread", "--json")
    assert [row["id"] for row in json.loads(unread.stdout)] == [case_id]

    # The whole thread in show, history and git log.
    shown = act(repo, "show", case_id).stdout
    for text in ("ingen tilgang", "feilmelding på skjermen.pdf", "AD-gruppen igjen",
                 "Takk, nå virker det!"):
        assert text in shown, text
    assert "skrev IKT-servicedesken" not in shown  # the quote is not in the case
    history = json.loads(act(repo, "history", case_id, "--json").stdout)
    kinds = [row["kind"] for row in history]
    assert kinds[0] == "created" and "email" in kinds and kinds[-1] == "reply"
    log = git(repo, "log", "--format=%an|%s", "--grep", f"Case: {case_id}")
    authors = [line.split("|")[0] for line in log.splitlines()]
    assert authors[0] == authors[-1] == "Mail intake"  # the reply, and the mail that opened it
    assert "Kari Nordmann" in authors

    # The same reply delivered twice (a server's retry) changes nothing.
    before = case_file(repo, case_id).read_bytes()
    again = intake_mda(repo, reply)
    assert again.returncode == 0 and case_file(repo, case_id).read_bytes() == before


def queued(repo: Path) -> list[str]:
    box = repo / ".git" / "casectl" / "outbox" / "new"
    return sorted(path.name for path in box.iterdir()) if box.is_dir() else []


def new_mail(sender: str, message_id: str) -> bytes:
    return (f"From: {sender}\nTo: {DESK}\nSubject: Skjermen er svart\n"
            f"Message-ID: {message_id}\n\nSkjermen på resepsjonen er svart.\n").encode()


def test_mail_from_an_address_nobody_reads_is_taken_in_but_not_answered(repo: Path) -> None:
    opened = intake_mda(repo, new_mail("Overvåking <noreply@monitor.example.no>", "<m1@mon>"))
    assert opened.returncode == 0, opened.stderr.decode()
    case = load_case(repo, opened.stdout.decode().strip())
    assert case["reporter"]["email"] == "noreply@monitor.example.no"
    assert "message_id" not in case["log"][0]["data"] and queued(repo) == []
    # A person is answered.
    person = intake_mda(repo, new_mail(f"{REPORTER[0]} <{REPORTER[1]}>", "<m2@bergen>"))
    assert person.returncode == 0 and len(queued(repo)) == 1


def test_a_desk_with_older_schemas_takes_mail_in_without_answering_until_upgraded(
        repo: Path) -> None:
    path = repo / "schemas" / "case.schema.json"
    schema = json.loads(path.read_text(encoding="utf-8"))
    for kind in ("data_created", "data_note", "data_reply"):
        for key in ("attachments", "original", "message_id"):
            schema["$defs"][kind]["properties"].pop(key, None)
    path.write_text(json.dumps(schema, indent=2), encoding="utf-8")
    git(repo, "-c", "user.name=Admin", "-c", "user.email=admin@helse.example.no",
        "commit", "-qam", "schemas of an older casectl")
    sender = f"{REPORTER[0]} <{REPORTER[1]}>"
    opened = intake_mda(repo, new_mail(sender, "<old1@bergen>"))
    assert opened.returncode == 0, opened.stderr.decode()
    assert queued(repo) == [] and "message_id" not in \
        load_case(repo, opened.stdout.decode().strip())["log"][0]["data"]
    assert run("--repo", str(repo), "--as", "admin", "upgrade").exit_code == 0
    again = intake_mda(repo, new_mail(sender, "<old2@bergen>"))
    assert again.returncode == 0 and len(queued(repo)) == 1


def test_a_forward_is_not_acknowledged_to_the_sender_it_names(repo: Path) -> None:
    # Anyone can write a "From:" line into a body: the desk must not mail
    # the forwarder's words to whoever that line names.
    forward = (f"From: Stranger <stranger@evil.example>\nTo: {DESK}\nSubject: Fwd: hei\n"
               "Message-ID: <fwd1@evil.example>\n\nSe på dette.\n\n"
               "---------- Forwarded message ---------\n"
               "From: Victim <victim@elsewhere.example.no>\nDate: Tue, 1 Dec 2026 09:00\n"
               "Subject: hei\nTo: Stranger <stranger@evil.example>\n\nKJØP BILLIGE PILLER\n")
    opened = intake_mda(repo, forward.encode())
    assert opened.returncode == 0, opened.stderr.decode()
    case = load_case(repo, opened.stdout.decode().strip())
    assert case["reporter"]["email"] == "victim@elsewhere.example.no"  # seed 000
    assert queued(repo) == []


def test_a_bounce_opens_no_case(repo: Path) -> None:
    bounce = (f"From: Mail Delivery System <MAILER-DAEMON@mx.example.no>\nTo: {DESK}\n"
              "Subject: Undelivered Mail Returned to Sender\nMessage-ID: <b1@mx>\n"
              "MIME-Version: 1.0\nContent-Type: multipart/report; "
              "report-type=delivery-status; boundary=\"B\"\n\n--B\n"
              "Content-Type: text/plain\n\nThe mail could not be delivered.\n--B\n"
              "Content-Type: message/delivery-status\n\nReporting-MTA: dns; mx\n\n"
              "Final-Recipient: rfc822; bjorn@example.no\nAction: failed\nStatus: 5.1.1\n"
              "--B--\n")
    done = intake_mda(repo, bounce.encode())
    assert done.returncode == 0 and done.stdout == b""
    assert b"delivery-status" in done.stderr
    assert not list((repo / "cases").glob("*/*/*.yaml"))


def test_a_flood_from_one_address_is_registered_but_not_answered(repo: Path) -> None:
    # A system that answers every mail without marking its answers
    # automatic, and without keeping the tag: each answer a new case. The
    # desk stops acknowledging after five in an hour, so the loop starves.
    sender = "Ticketbot <tickets@vendor.example.com>"
    os.environ["CASECTL_NOW"] = "2026-11-24T10:00:00+01:00"
    try:
        for number in range(6):
            opened = intake_mda(repo, new_mail(sender, f"<loop{number}@vendor>"))
            assert opened.returncode == 0, opened.stderr.decode()
        assert len(queued(repo)) == 5
        assert b"without a notification" in opened.stderr
        assert len(list((repo / "cases").glob("*/*/*.yaml"))) == 6  # nothing lost
        os.environ["CASECTL_NOW"] = "2026-11-24T11:30:00+01:00"
        assert intake_mda(repo, new_mail(sender, "<later@vendor>")).returncode == 0
        assert len(queued(repo)) == 6
    finally:
        os.environ.pop("CASECTL_NOW", None)


def test_the_readmes_mail_settings_are_valid_and_route(repo: Path) -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    block = readme.split("### Setting up mail", 1)[1].split("```yaml\n", 1)[1].split("```")[0]
    example = yaml.safe_load(block)
    path = repo / "casectl.yaml"
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    config["mail"] = example["mail"]
    config["agents"]["kari"]["signature"] = example["agents"]["kari"]["signature"]
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False),
                    encoding="utf-8")
    git(repo, "-c", "user.name=Admin", "-c", "user.email=admin@helse.example.no",
        "commit", "-qam", "The README's mail settings")
    checked = run("--repo", str(repo), "validate")
    assert checked.exit_code == 0, checked.output
    raw = new_mail(f"{REPORTER[0]} <{REPORTER[1]}>", "<r1@bergen>").replace(
        f"To: {DESK}".encode(), b"To: dips@helse-nord.example.no").replace(
        b"Skjermen er svart", b"DIPS Arena henger")
    opened = intake_mda(repo, raw)
    assert opened.returncode == 0, opened.stderr.decode()
    case = load_case(repo, opened.stdout.decode().strip())
    assert (case["team"], case.get("category")) == ("klinisk-app", "DIPS")

"""Mail out (issue 8, point 3): actions queue their mail in the outbox with
their commit, and `casectl outbox send` delivers it to a real SMTP server
on loopback (aiosmtpd) over STARTTLS or implicit TLS with AUTH. Asserted on
what the server received, the case files, the Maildir and `outbox list`."""

from __future__ import annotations

import email
import json
import os
from datetime import datetime, timedelta
from email import policy
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml
from click.testing import CliRunner, Result

from casectl.cli import cli
from helpers import act, act_process, case_file, commits, copy_desk, desk_template, git, \
    isolated_env, load_case, run
from helpers import smtp as smtpd

NOW = datetime.fromisoformat("2026-11-24T09:00:00+01:00")
SIGNATURE = "Kari Nordmann\nIKT-servicedesken, Helse Vest\nTlf. 55 00 00 00"
REPORTER = "Bjørn Åsen <bjorn.asen@bergen.kommune.example.no>"
SUBJECT = "Skriveren på 3. etasje skriver blanke ark – «haster»"


def configure(repo: Path, **mail: Any) -> None:
    """casectl.yaml's mail section (uncommitted, as an admin trying it out)."""
    path = repo / "casectl.yaml"
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    config["mail"] = {key: value for key, value in mail.items() if value is not None}
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False),
                    encoding="utf-8")


@pytest.fixture(scope="module")
def mail_desk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The standard desk in Norway, with kari's signature and a service
    identity for intake, committed."""
    root = desk_template(tmp_path_factory, "outbox")
    with isolated_env(tmp_path_factory.mktemp("outbox-setup-home")):
        result = run("--repo", str(root), "--as", "admin", "agent", "add", "intake",
                     "--name", "Mail intake", "--email", "intake@helse.example.no",
                     "--team", "servicedesk", "--role", "receiver", "--service")
        assert result.exit_code == 0, result.output
        path = root / "casectl.yaml"
        config = yaml.safe_load(path.read_text(encoding="utf-8"))
        config["agents"]["kari"]["signature"] = SIGNATURE
        config.setdefault("calendar", {})["country"] = "NO"
        path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False),
                        encoding="utf-8")
        git(root, "-c", "user.name=Åse", "-c", "user.email=ase@helse.example.no", "commit",
            "-qam", "signature")
    return root


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return smtpd.make_certificate(tmp_path_factory.mktemp("cert"))


@pytest.fixture
def repo(tmp_path: Path, mail_desk: Path, isolated: Path) -> Iterator[Path]:
    os.environ["CASECTL_NOW"] = NOW.isoformat()
    root = copy_desk(mail_desk, tmp_path)
    configure(root, address="servicedesk@helse.example.no", name="IKT-servicedesken")
    yield root
    os.environ.pop("CASECTL_NOW", None)


def at(moment: datetime) -> None:
    os.environ["CASECTL_NOW"] = moment.isoformat()


def smtp_settings(repo: Path, port: int, cert: tuple[Path, Path], security: str = "starttls",
                  **more: Any) -> None:
    configure(repo, address="servicedesk@helse.example.no", name="IKT-servicedesken",
              smtp={"host": "127.0.0.1", "port": port, "security": security,
                    "user": smtpd.USER, "password_env": "CASECTL_TEST_SMTP_PASSWORD",
                    "timeout": 5, **{key: value for key, value in
                                     {"ca_file": str(cert[0]), **more}.items()
                                     if value is not None}})


def send(repo: Path, *extra: str, password: str | None = smtpd.PASSWORD) -> Result:
    env = {"CASECTL_TEST_SMTP_PASSWORD": password}
    return CliRunner().invoke(cli, ["--repo", str(repo), "--as", "kari", "outbox", "send",
                                    *extra], env=env, catch_exceptions=False)


def outbox(repo: Path, *extra: str) -> list[dict[str, Any]]:
    result = act(repo, "outbox", "list", "--format", "json", *extra)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def notified_case(repo: Path, subject: str = SUBJECT) -> str:
    result = act(repo, "new", "--subject", subject, "--reporter", REPORTER, "--notify",
                 "--description", "Gjelder skriveren ved heisen. Prøvd å slå av og på.")
    assert result.exit_code == 0, result.output
    return result.stdout.strip()


def parsed(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=policy.default)


def maildir(repo: Path, sub: str) -> list[str]:
    return sorted(path.name for path in (repo / ".git" / "casectl" / "outbox" / sub).iterdir())


# ---------------------------------------------------------------- queueing

def test_notify_is_queued_with_its_commit_and_recorded_for_threading(repo: Path) -> None:
    case_id = notified_case(repo)
    case = load_case(repo, case_id)
    message_id = case["log"][0]["data"]["message_id"]
    [row] = outbox(repo)
    assert (row["case"], row["kind"], row["status"], row["to"], row["message_id"],
            row["attempts"]) == (case_id, "notify", "waiting",
                                 "bjorn.asen@bergen.kommune.example.no", message_id, 0)
    assert f"[#{case_id}]" in row["subject"] and "«haster»" in row["subject"]
    [name] = maildir(repo, "new")
    message = parsed((repo / ".git/casectl/outbox/new" / name).read_bytes())
    assert message["Message-ID"] == message_id
    assert message["From"].addresses[0].addr_spec == "servicedesk@helse.example.no"
    assert message["From"].addresses[0].display_name == "IKT-servicedesken"
    body = message.get_content()
    assert body.startswith("Hei Bjørn Åsen,") and SIGNATURE in body  # nb: the desk is in NO
    assert "Prøvd å slå av og på" in body
    assert maildir(repo, "tmp") == []
    # Nothing of the outbox is committed; the case file is valid.
    assert "outbox" not in git(repo, "ls-files")
    assert act(repo, "validate").exit_code == 0


def test_each_mailing_action_threads_to_the_cases_earlier_mail(repo: Path) -> None:
    case_id = notified_case(repo)
    assert act(repo, "log", case_id, "--email", "Vi ser på skriveren i dag.").exit_code == 0
    assert act(repo, "contact", case_id, "--via", "email", "--no-answer",
               "--note", "Virker skriveren nå?").exit_code == 0
    assert act(repo, "contact", case_id, "--via", "phone", "--no-answer").exit_code == 0
    assert act(repo, "task", "add", case_id, "--to", "per", "--subject", "Sjekk nettverkskabel",
               "--need", "Rom 3.114, port B4-117").exit_code == 0
    assert act(repo, "task", "add", case_id, "--to", "per", "--subject", "Stille",
               "--no-email").exit_code == 0
    assert act(repo, "contact", case_id, "--via", "email", "--no-answer",
               "--no-email").exit_code == 0
    rows = outbox(repo)
    assert [row["kind"] for row in rows] == ["notify", "email", "contact", "task"]
    assert rows[3]["to"] == "per@helse.example.no"
    case = load_case(repo, case_id)
    ids = {event["kind"]: event["data"].get("message_id") for event in case["log"]
           if event["data"].get("message_id")}
    assert set(ids) == {"created", "email", "contact", "task_added"}
    assert sorted(ids.values()) == sorted(row["message_id"] for row in rows)
    messages = {parsed(path.read_bytes())["X-Casectl-Mail"]: parsed(path.read_bytes())
                for path in (repo / ".git/casectl/outbox/new").iterdir()}
    assert messages["email"]["In-Reply-To"] == ids["created"]
    assert messages["task"]["References"].split() == [ids["created"], ids["email"],
                                                      ids["contact"]]
    task = messages["task"]
    assert task["Subject"] == f"Oppgave T1: Sjekk nettverkskabel [#{case_id}]"
    assert f"casectl task done {case_id} T1" in task.get_content()
    assert "Rom 3.114" in task.get_content()


def test_close_mails_the_solution_once(repo: Path) -> None:
    case_id = notified_case(repo)
    assert act(repo, "close", case_id, "--solution", "Byttet trommel; skriver ut igjen."
               ).exit_code == 0
    assert act(repo, "close", case_id, "--confirmed").exit_code == 0
    rows = outbox(repo)
    assert [row["kind"] for row in rows] == ["notify", "solution"]
    assert rows[1]["subject"].startswith("Løst: ")
    solved = [e for e in load_case(repo, case_id)["log"] if e["kind"] == "solved"][0]
    assert solved["data"]["message_id"] == rows[1]["message_id"]


def test_a_desk_without_mail_address_queues_nothing_and_says_so(repo: Path) -> None:
    configure(repo)
    result = act(repo, "new", "--subject", SUBJECT, "--reporter", REPORTER, "--notify")
    assert result.exit_code == 0
    assert result.stderr.count("mail is not set up") == 1
    case = load_case(repo, result.stdout.strip())
    assert case["notify"] is True and "message_id" not in case["log"][0]["data"]
    assert outbox(repo) == []
    # And sending says how to set it up.
    sent = send(repo)
    assert sent.exit_code == 1 and "mail.address" in sent.stderr and "smtp:" in sent.stderr


def test_without_smtp_the_outbox_fills_and_send_says_how(repo: Path) -> None:
    notified_case(repo)
    notified_case(repo, "Andre sak")
    result = send(repo)
    assert result.exit_code == 1
    assert "no mail.smtp section (2 messages wait" in result.stderr
    assert "password_env" in result.stderr
    assert len(outbox(repo)) == 2


def test_template_overrides_and_a_bad_placeholder(repo: Path) -> None:
    configure(repo, address="servicedesk@helse.example.no", language="sv", templates={
        "sv": {"notify": {"subject": "Tack! Ärende {case_id} är mottaget"}}})
    case_id = notified_case(repo)
    [row] = outbox(repo)
    # The subject always carries the tag, even when the override leaves it out.
    assert row["subject"] == f"Tack! Ärende {case_id} är mottaget [#{case_id}]"
    [name] = maildir(repo, "new")
    body = parsed((repo / ".git/casectl/outbox/new" / name).read_bytes()).get_content()
    assert body.startswith("Hej Bjørn Åsen,") and "Med vänliga hälsningar" in body
    configure(repo, address="servicedesk@helse.example.no", templates={
        "nb": {"email": {"body": "Hei {mottaker}"}}})
    result = act(repo, "validate")
    assert result.exit_code != 0
    assert "mail.templates.nb.email.body" in result.output + result.stderr
    assert "unknown placeholder {mottaker}" in result.output + result.stderr


# ---------------------------------------------------------------- crash safety

@pytest.mark.parametrize("point, committed", [
    ("intent-written", False),  # killed before the case file was written: rolled back
    ("file-written", True),     # the file written: recovery makes the commit
    ("committed", True),        # killed after the commit, before the mail left tmp/
])
def test_a_killed_action_leaves_mail_only_for_a_committed_event(
        repo: Path, point: str, committed: bool) -> None:
    done = act_process(repo, "new", "--subject", SUBJECT, "--reporter", REPORTER, "--notify",
                       env={"CASECTL_CRASH_AT": point})
    assert done.returncode != 0
    assert len(maildir(repo, "tmp")) == 1 and maildir(repo, "new") == []
    rows = outbox(repo)  # reconciles, after finishing or undoing the action
    assert maildir(repo, "tmp") == []
    files = list(repo.glob("cases/*/*/*.yaml"))
    if not committed:
        assert rows == [] and files == []
        return
    [path] = files
    [row] = rows
    assert row["message_id"] == yaml.safe_load(path.read_text())["log"][0]["data"][
        "message_id"]
    assert git(repo, "status", "--porcelain", "--", "cases") == ""


def test_a_refused_action_queues_nothing(repo: Path) -> None:
    case_id = notified_case(repo)
    result = act(repo, "close", case_id, "--solution", "x", agent="per")  # not per's case
    assert result.exit_code == 1
    assert [row["kind"] for row in outbox(repo)] == ["notify"]
    assert maildir(repo, "tmp") == []


# ---------------------------------------------------------------- sending

@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_send_delivers_exactly_what_was_queued(repo: Path, cert: tuple[Path, Path],
                                               security: str, isolated: Path) -> None:
    case_id = notified_case(repo)
    with smtpd.server(security, cert) as (server, port):
        smtp_settings(repo, port, cert, security)
        result = send(repo)
        assert result.exit_code == 0, result.output
    assert f"sent" in result.stdout and case_id in result.stdout
    [got] = server.received
    assert got.mail_from == "servicedesk@helse.example.no"
    assert got.rcpt_tos == ["bjorn.asen@bergen.kommune.example.no"]
    message = parsed(got.content)
    case = load_case(repo, case_id)
    assert message["Message-ID"] == case["log"][0]["data"]["message_id"]
    assert message["Subject"] == f"Saken er registrert: {SUBJECT} [#{case_id}]"
    assert message["To"] == "bjorn.asen@bergen.kommune.example.no"
    assert message["Date"].datetime == NOW
    assert message["Auto-Submitted"] == "auto-generated"
    body = message.get_content().replace("\r\n", "\n")
    assert "Hei Bjørn Åsen," in body and SIGNATURE in body
    # What was queued is byte for byte what went (but for the line ends).
    [name] = maildir(repo, "cur")
    assert name.endswith(":2,S")
    stored = (repo / ".git/casectl/outbox/cur" / name).read_bytes()
    assert got.content.replace(b"\r\n", b"\n") == stored
    assert outbox(repo) == [] and outbox(repo, "--all")[0]["status"] == "sent"
    assert server.logins == [(smtpd.USER.encode(), smtpd.PASSWORD.encode())]
    # The password is nowhere but in the environment.
    needle = smtpd.PASSWORD.encode("utf-8")
    for path in [*repo.rglob("*"), *isolated.rglob("*")]:  # the desk and $HOME
        if path.is_file():
            assert needle not in path.read_bytes(), path
    assert smtpd.PASSWORD not in result.output
    assert send(repo).stdout.strip() == "nothing to send"


def test_a_temporary_failure_backs_off_then_goes(repo: Path, cert: tuple[Path, Path]) -> None:
    case_id = notified_case(repo)
    with smtpd.server("starttls", cert, ["451 4.3.0 Try again later", "451 4.3.0 Still busy",
                                         "250 2.0.0 OK"]) as (server, port):
        smtp_settings(repo, port, cert)
        first = send(repo)
        assert first.exit_code == 1 and "451 4.3.0 Try again later" in first.stderr
        [row] = outbox(repo)
        assert (row["status"], row["attempts"], row["error"]) == (
            "waiting", 1, "not now: 451 4.3.0 Try again later")
        assert datetime.fromisoformat(row["next_try"]) == NOW + timedelta(minutes=5)
        # Not due yet: nothing is tried.
        assert send(repo).stdout.strip() == "nothing to send (1 waiting for a later try)"
        at(NOW + timedelta(minutes=5))
        assert send(repo).exit_code == 1
        [row] = outbox(repo)
        assert datetime.fromisoformat(row["next_try"]) == NOW + timedelta(minutes=15)  # 5+10
        at(NOW + timedelta(minutes=15))
        assert send(repo).exit_code == 0
    [got] = server.received
    assert parsed(got.content)["Subject"].endswith(f"[#{case_id}]")
    assert outbox(repo) == []


def test_a_permanent_refusal_fails_at_once_and_can_be_retried(
        repo: Path, cert: tuple[Path, Path]) -> None:
    notified_case(repo)
    with smtpd.server("starttls", cert, ["550 5.1.1 No such user"]) as (server, port):
        smtp_settings(repo, port, cert)
        result = send(repo)
        assert result.exit_code == 1 and "550 5.1.1 No such user" in result.stderr
    [row] = outbox(repo)
    assert (row["status"], row["error"], row["next_try"]) == (
        "failed", "refused: 550 5.1.1 No such user", None)
    assert maildir(repo, "cur")[0].endswith(":2,F") and maildir(repo, "new") == []
    retried = act(repo, "outbox", "retry", row["id"][:6])
    assert retried.exit_code == 0, retried.output
    [row] = outbox(repo)
    assert row["status"] == "waiting" and maildir(repo, "new")
    with smtpd.server("starttls", cert) as (server, port):
        smtp_settings(repo, port, cert)
        assert send(repo).exit_code == 0
    assert len(server.received) == 1
    assert act(repo, "outbox", "retry", "nosuchid").exit_code == 3


def test_mail_is_given_up_after_five_days(repo: Path, cert: tuple[Path, Path]) -> None:
    notified_case(repo)
    at(NOW + timedelta(days=5))
    with smtpd.server("starttls", cert, ["451 4.3.0 Try again later"]) as (server, port):
        smtp_settings(repo, port, cert)
        assert send(repo).exit_code == 1
    [row] = outbox(repo)
    assert row["status"] == "failed" and row["error"].startswith("given up after 5 days")


def test_an_unreachable_server_is_offline_exit_5(repo: Path, cert: tuple[Path, Path]) -> None:
    notified_case(repo)
    smtp_settings(repo, smtpd.free_port(), cert)  # nothing listens there
    result = send(repo)
    assert result.exit_code == 5
    assert "cannot reach 127.0.0.1" in result.stderr
    [row] = outbox(repo)
    assert row["status"] == "waiting" and row["attempts"] == 1


def test_send_max_and_the_order(repo: Path, cert: tuple[Path, Path]) -> None:
    first, second = notified_case(repo, "Første"), notified_case(repo, "Andre")
    with smtpd.server("starttls", cert) as (server, port):
        smtp_settings(repo, port, cert)
        assert send(repo, "--max", "1").exit_code == 0
        assert [parsed(got.content)["X-Casectl-Case"] for got in server.received] == [first]
        assert send(repo).exit_code == 0
    assert [parsed(got.content)["X-Casectl-Case"] for got in server.received] == [first, second]


def test_an_unset_password_variable_is_a_clear_error(repo: Path, cert: tuple[Path, Path]) -> None:
    notified_case(repo)
    with smtpd.server("starttls", cert) as (server, port):
        smtp_settings(repo, port, cert)
        result = send(repo, password=None)
    assert result.exit_code == 1
    assert "CASECTL_TEST_SMTP_PASSWORD" in result.stderr and "is empty or unset" in result.stderr
    assert server.received == [] and outbox(repo)[0]["attempts"] == 0


def test_a_wrong_password_or_an_unknown_ca_sends_nothing(repo: Path,
                                                         cert: tuple[Path, Path]) -> None:
    notified_case(repo)
    with smtpd.server("starttls", cert) as (server, port):
        smtp_settings(repo, port, cert)
        wrong = send(repo, password="feil")
        assert wrong.exit_code == 1 and "refused the login" in wrong.stderr
        smtp_settings(repo, port, cert, ca_file=None)  # the system's CAs do not know it
        unknown = send(repo)
        assert unknown.exit_code == 1 and "ca_file" in unknown.stderr
    assert server.received == []
    assert outbox(repo)[0]["attempts"] == 0


# ---------------------------------------------------------------- threading

def test_a_reply_naming_the_notification_joins_the_case(repo: Path) -> None:
    case_id = notified_case(repo)
    message_id = load_case(repo, case_id)["log"][0]["data"]["message_id"]
    # From another address than the reporter's: it joins by the Message-ID.
    reply = (f"From: Bjørn Å <bjorn.privat@example.no>\n"
             f"To: servicedesk@helse.example.no\n"
             f"Subject: =?utf-8?q?Re:_Saken_er_registrert?= [#{case_id}]\n"
             f"Message-ID: <svar-1@example.no>\nIn-Reply-To: {message_id}\n"
             f"Date: Tue, 24 Nov 2026 10:00:00 +0100\nMIME-Version: 1.0\n"
             f"Content-Type: text/plain; charset=utf-8\n\nDen virker igjen, takk!\n")
    result = CliRunner().invoke(cli, ["--repo", str(repo), "--as", "intake", "intake", "-"],
                                input=reply.encode("utf-8"), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == case_id
    last = load_case(repo, case_id)["log"][-1]
    assert (last["kind"], last["data"]["message_id"]) == ("reply", "<svar-1@example.no>")
    assert "Den virker igjen" in last["data"]["text"]


# ---------------------------------------------------------------- tasks

def test_a_team_task_goes_to_the_teams_address_else_its_members(repo: Path) -> None:
    git(repo, "-c", "user.name=Åse", "-c", "user.email=ase@helse.example.no", "commit", "-qam",
        "mail settings")
    result = act(repo, "team", "add", "tilgang", "--name", "Tilgang", "--email",
                 "tilgang@helse.example.no", agent="admin")
    assert result.exit_code == 0, result.output
    case_id = notified_case(repo)
    for team in ("nettverk", "tilgang"):
        assert act(repo, "task", "add", case_id, "--to", team, "--subject", "Sjekk switch"
                   ).exit_code == 0
    rows = outbox(repo)
    assert [(row["kind"], row["to"]) for row in rows[1:]] == [
        ("task", "per@helse.example.no"), ("task", "tilgang@helse.example.no")]
    bodies = [parsed(path.read_bytes()).get_content()
              for path in (repo / ".git/casectl/outbox/new").iterdir()]
    assert any(body.startswith("Hei Nettverk,") for body in bodies)
    assert any(body.startswith("Hei Tilgang,") for body in bodies)


def test_a_protected_persons_case_stays_out_of_the_task_mail(repo: Path) -> None:
    # Even where a template names the reporter, and after her own mail
    # (whose Message-ID names her mail domain) joined the case.
    configure(repo, address="servicedesk@helse.example.no", templates={
        "nb": {"task": {"body": "Oppgave for {assignee} fra {reporter}: {task_subject}"}}})
    result = act(repo, "new", "--subject", "Innlogging for Sara Sperret", "--protected",
                 "--reporter", "Sara Sperret <sara@sperret-familie.example.no>")
    assert result.exit_code == 0, result.output
    case_id = result.stdout.strip()
    reply = (f"From: Sara Sperret <sara@sperret-familie.example.no>\n"
             f"To: servicedesk@helse.example.no\nSubject: Passord [#{case_id}]\n"
             f"Message-ID: <abc123@sperret-familie.example.no>\n\nJeg kommer ikke inn.\n")
    joined = CliRunner().invoke(cli, ["--repo", str(repo), "--as", "intake", "intake", "-"],
                                input=reply.encode("utf-8"), catch_exceptions=False)
    assert joined.stdout.strip() == case_id, joined.output
    assert act(repo, "task", "add", case_id, "--to", "per", "--subject", "Nullstill passord "
               "for Sara", "--need", "Sara Sperret, født 1980").exit_code == 0
    [row] = outbox(repo)
    [path] = (repo / ".git/casectl/outbox/new").iterdir()
    raw = path.read_bytes().decode("utf-8")
    assert "Sara" not in raw and "Sara" not in row["subject"] and "sperret" not in raw
    assert "fra [protected]" in raw.replace("=\n", "")
    assert f"[#{case_id}]" in row["subject"]


def test_an_address_beyond_ascii_fails_alone_and_the_queue_goes_on(
        repo: Path, cert: tuple[Path, Path]) -> None:
    first = notified_case(repo, subject="Første sak")
    result = act(repo, "new", "--subject", "Andre sak", "--notify",
                 "--reporter", "Bjørn <bjørn@example.no>")
    assert result.exit_code == 0, result.output
    second = result.stdout.strip()
    third = notified_case(repo, subject="Tredje sak")
    with smtpd.server("starttls", cert, smtputf8=False) as (server, port):
        smtp_settings(repo, port, cert)
        sent = send(repo)
    assert sent.exit_code == 1, sent.output  # one refused; no internal error
    assert sorted(got.content.decode().split("X-Casectl-Case: ")[1].split()[0]
                  for got in server.received) == sorted([first, third])
    [failed] = [row for row in outbox(repo, "--all") if row["case"] == second]
    assert failed["status"] == "failed" and "SMTPUTF8" in failed["error"]
    # A server that takes SMTPUTF8 (RFC 6531) gets it.
    assert act(repo, "outbox", "retry", failed["id"]).exit_code == 0
    with smtpd.server("starttls", cert) as (server, port):
        smtp_settings(repo, port, cert)
        assert send(repo).exit_code == 0
    [got] = server.received
    assert got.rcpt_tos == ["bjørn@example.no"]


def test_outbox_list_hides_a_protected_person_from_who_may_not_see_them(repo: Path) -> None:
    result = act(repo, "new", "--subject", "Innlogging for Sara Sperret", "--protected",
                 "--notify", "--reporter", "Sara Sperret <sara@sperret-familie.example.no>")
    assert result.exit_code == 0, result.output
    [mine] = outbox(repo)  # kari registered it
    assert mine["to"] == "sara@sperret-familie.example.no" and "Sara" in mine["subject"]
    listed = act(repo, "outbox", "list", "--format", "json", agent="per")
    [theirs] = json.loads(listed.stdout)
    assert (theirs["to"], theirs["subject"]) == ("[protected]", "[protected]")
    assert "sperret" not in act(repo, "outbox", "list", agent="per").stdout.lower()

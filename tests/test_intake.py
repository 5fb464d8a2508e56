"""`casectl intake` (issue 8, first part) through the real command line on
real repositories: mail fixtures under tests/data/mail become cases and
replies, the privacy rule of threading holds, the same message twice
changes nothing, auto-replies and the desk's own mail open no case."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from casectl import mailparse
from casectl.cli import cli
from helpers import case_file, commit_count, commits, copy_desk, desk_template, git, grant, \
    isolated_env, new_case, run, snapshot

MAIL = Path(__file__).resolve().parent / "data" / "mail"
INTAKE = ("intake", "Mail intake", "intake@helse.example.no")


@pytest.fixture(scope="module")
def intake_desk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The standard desk with a service identity for mail intake."""
    root = desk_template(tmp_path_factory, "intake")
    with isolated_env(tmp_path_factory.mktemp("intake-setup-home")):
        result = run("--repo", str(root), "--as", "admin", "agent", "add", INTAKE[0],
                     "--name", INTAKE[1], "--email", INTAKE[2], "--team", "servicedesk",
                     "--role", "receiver", "--service")
        assert result.exit_code == 0, result.output
    return root


@pytest.fixture
def repo(tmp_path: Path, intake_desk: Path) -> Path:
    return copy_desk(intake_desk, tmp_path)


def take(repo: Path, raw: bytes, *extra: str, agent: str = "intake") -> Result:
    """`casectl --as AGENT intake -` with the message on standard input."""
    return CliRunner().invoke(cli, ["--repo", str(repo), "--as", agent, "intake", *extra, "-"],
                              input=raw, catch_exceptions=False)


def fixture(name: str, **fill: str) -> bytes:
    raw = (MAIL / name).read_bytes()
    for key, value in fill.items():
        raw = raw.replace(b"{" + key.encode() + b"}", value.encode())
    return raw


def case(repo: Path, case_id: str) -> dict:
    return yaml.safe_load(case_file(repo, case_id).read_text(encoding="utf-8"))


def opened(repo: Path, name: str) -> tuple[str, dict]:
    result = take(repo, fixture(name))
    assert result.exit_code == 0, result.output
    case_id = result.stdout.strip()
    return case_id, case(repo, case_id)


# ---------------------------------------------------------------- new cases

@pytest.mark.parametrize("name, reporter, subject, body", [
    ("plain_nb.eml", ("Ola Nordmann", "ola.nordmann@bergen.kommune.no"),
     "DIPS starter ikke på legekontoret", "Feilmelding: «Kan ikke koble til tjeneren»."),
    ("plain_sv.eml", ("Anna Lindström", "anna.lindstrom@region.example.se"),
     "Skrivaren på avdelning 4 skriver inte ut", "sedan i förmiddags. Kön växer."),
    ("plain_da.eml", ("Søren Kjær", "soren.kjaer@kommune.example.dk"),
     "Kan ikke logge på Sundhedsplatformen", "Fejl: \"Bruger spærret\"."),
    ("plain_en.eml", ("John Smith", "john.smith@example.com"),
     "VPN drops every ten minutes", "drops every ten minutes since Monday."),
    ("qp_latin1.eml", ("Bjørn Åsen", "bjorn.asen@helse.example.org"),
     "Skriver på 3. etasje virker ikke", "Den står og blinker rødt."),
    ("base64_utf8.eml", ("Märta Öberg", "marta.oberg@region.example.se"),
     "Läkemedelslistan saknas i journalen", "avdelning 7 är tom. Åtgärda snarast."),
    ("wrong_charset.eml", ("Lars Ødegård", "lars@kommune.example.no"),
     "Feil tegnsett", "Printeren på kontoret er død – igjen. Prøv «omstart» først?"),
])
def test_a_message_opens_a_case(repo: Path, name: str, reporter: tuple[str, str],
                                subject: str, body: str) -> None:
    before = commit_count(repo)
    case_id, doc = opened(repo, name)
    assert doc["subject"] == subject
    assert body in doc["description"]
    assert (doc["reporter"]["name"], doc["reporter"]["email"]) == reporter
    message_id = mailparse.parse(fixture(name)).message_id
    assert doc["fields"] == {"message-id": message_id}
    assert doc["log"][0]["by"] == "intake"
    # In the intake identity's team's queue, nobody's yet: a handler takes it.
    assert (doc["team"], doc["assignee"], doc["status"]) == ("servicedesk", None, "new")
    assert commit_count(repo) == before + 1
    last = commits(repo, "-1")[0]
    assert last["trailers"] == {"Case": case_id, "Action": "new", "Agent": "intake"}
    assert run("--repo", str(repo), "validate").exit_code == 0


def test_a_case_opened_by_mail_waits_for_its_team(repo: Path) -> None:
    """Nobody's until a handler of the team takes it; all of it audit-clean."""
    case_id, _ = opened(repo, "plain_nb.eml")
    listed = run("--repo", str(repo), "--as", "ingrid", "list", "--team", "servicedesk",
                 "--format", "csv")
    assert case_id in listed.stdout
    taken = run("--repo", str(repo), "--as", "ingrid", "take", case_id)
    assert taken.exit_code == 0, taken.output
    assert case(repo, case_id)["assignee"] == "ingrid"
    audited = run("--repo", str(repo), "audit")
    assert audited.exit_code == 0, audited.output


def test_html_only_mail_becomes_readable_text(repo: Path) -> None:
    _, doc = opened(repo, "html_only.eml")
    text = doc["description"]
    assert "Jeg får ingen tilgang til journalen for pasienter på post 3." in text
    assert "\n- Feilkode 403\n- Gjelder alle brukere\n" in text
    assert "intranettet (https://intranett.example.no/sak)" in text
    assert "<" not in text and "alert" not in text and "color" not in text


def test_a_file_argument_and_a_real_mda_pipe(repo: Path, tmp_path: Path) -> None:
    by_file = run("--repo", str(repo), "--as", "intake", "intake", str(MAIL / "plain_en.eml"))
    assert by_file.exit_code == 0, by_file.output
    # As Postfix's pipe(8) runs it: a process, the message on standard input.
    piped = subprocess.run([sys.executable, "-m", "casectl", "--repo", str(repo), "--as",
                            "intake", "intake"], input=fixture("plain_da.eml"),
                           capture_output=True, env=os.environ.copy(), timeout=60)
    assert piped.returncode == 0, piped.stderr
    assert case(repo, piped.stdout.decode().strip())["subject"] == \
        "Kan ikke logge på Sundhedsplatformen"
    missing = run("--repo", str(repo), "--as", "intake", "intake", str(tmp_path / "nope.eml"))
    assert missing.exit_code == 3 and "no such file" in missing.stderr


# ---------------------------------------------------------------- threading

def test_a_reply_with_the_tag_and_in_reply_to_joins_the_case_unread(repo: Path) -> None:
    case_id, _ = opened(repo, "plain_nb.eml")
    assert run("--repo", str(repo), "--as", "kari", "take", case_id).exit_code == 0
    result = take(repo, fixture("reply_template.eml", CASE=case_id))
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == case_id
    doc = case(repo, case_id)
    reply = doc["log"][-1]
    assert reply["kind"] == "reply" and reply["by"] == "intake"
    original = reply["data"].pop("original")  # the message kept whole (test_attachments.py)
    assert original["size"] == len(fixture("reply_template.eml", CASE=case_id))
    assert reply["data"] == {"text": "Nå virker det på én av PC-ene, men ikke den andre.",
                             "from": "reporter", "message_id": "<nb-0002@bergen.kommune.no>"}
    assert commits(repo, "-1")[0]["trailers"] == {"Case": case_id, "Action": "reply",
                                                  "Agent": "intake"}
    unread = run("--repo", str(repo), "--as", "kari", "list", "--unread")
    assert case_id in unread.stdout
    assert run("--repo", str(repo), "validate").exit_code == 0


def test_the_reporter_joins_by_tag_without_in_reply_to(repo: Path) -> None:
    case_id, _ = opened(repo, "plain_nb.eml")
    raw = fixture("reply_template.eml", CASE=case_id.lower())  # tags are case-insensitive
    raw = raw.replace(b"In-Reply-To: <nb-0001@bergen.kommune.no>\r\n", b"") \
        .replace(b"References: <nb-0001@bergen.kommune.no>\r\n", b"")
    assert b"In-Reply-To" not in raw
    result = take(repo, raw)
    assert result.stdout.strip() == case_id
    assert case(repo, case_id)["log"][-1]["kind"] == "reply"


def test_a_stranger_with_someone_elses_tag_opens_a_new_case(repo: Path) -> None:
    case_id, _ = opened(repo, "plain_nb.eml")
    before = case_file(repo, case_id).read_bytes()
    result = take(repo, fixture("stranger_template.eml", CASE=case_id))
    assert result.exit_code == 0, result.output
    new_id = result.stdout.strip()
    assert new_id != case_id
    assert case_file(repo, case_id).read_bytes() == before  # the tagged case is untouched
    doc = case(repo, new_id)
    assert doc["reporter"]["email"] == "eve@elsewhere.example.net"
    assert f"[#{case_id}]" in doc["description"]
    assert "not that case's reporter" in doc["description"]
    # Nothing of the tagged case reaches the stranger's case.
    assert "Ola" not in yaml.safe_dump(doc, allow_unicode=True)
    assert "DIPS Arena" not in doc["description"]


def test_a_stranger_quoting_the_case_message_id_joins(repo: Path) -> None:
    # In-Reply-To naming a Message-ID the case recorded is proof of the
    # thread (a colleague answering from another address).
    case_id, _ = opened(repo, "plain_nb.eml")
    raw = fixture("stranger_template.eml", CASE=case_id).replace(
        b"MIME-Version", b"In-Reply-To: <nb-0001@bergen.kommune.no>\r\nMIME-Version")
    assert take(repo, raw).stdout.strip() == case_id
    assert case(repo, case_id)["log"][-1]["kind"] == "reply"


def test_a_tag_of_no_case_opens_a_new_case_saying_the_same(repo: Path) -> None:
    result = take(repo, fixture("stranger_template.eml", CASE="06K3ZQ9TXM"))
    assert result.exit_code == 0, result.output
    doc = case(repo, result.stdout.strip())
    assert "[#06K3ZQ9TXM]" in doc["description"]
    assert "not that case's reporter" in doc["description"]


def test_an_agents_mail_with_the_tag_is_an_internal_note(repo: Path) -> None:
    case_id = new_case(repo)
    raw = fixture("stranger_template.eml", CASE=case_id).replace(
        b"Eve Stranger <eve@elsewhere.example.net>", b"Per Hansen <per@helse.example.no>")
    result = take(repo, raw)
    assert result.stdout.strip() == case_id
    note = case(repo, case_id)["log"][-1]
    assert note["kind"] == "note" and note["public"] is False
    assert note["data"]["text"].startswith("Mail from agent per:")
    # Without a tag, an agent's mail opens nothing: it is set aside in the
    # quarantine for them (never dropped), and a mail server is told it is kept.
    plain = raw.replace(f"[#{case_id}] ".encode(), b"").replace(b"eve-0001", b"eve-0002")
    before = commit_count(repo)
    quiet = take(repo, plain)
    assert quiet.exit_code == 2 and quiet.stdout == "" and commit_count(repo) == before
    assert "agent-mail" in quiet.stderr and "kept in quarantine" in quiet.stderr
    assert take(repo, plain, "--mda").exit_code == 0
    listed = CliRunner().invoke(cli, ["--repo", str(repo), "--as", "intake", "intake",
                                      "--quarantined", "--json"], catch_exceptions=False)
    assert [row["reason"] for row in json.loads(listed.stdout)
            if "agent-mail" in row["reason"]] != []


def test_an_agent_who_reported_the_case_replies_as_its_reporter(repo: Path) -> None:
    case_id = new_case(repo, "--reporter", "Per Hansen <per@helse.example.no>")
    raw = fixture("stranger_template.eml", CASE=case_id).replace(
        b"Eve Stranger <eve@elsewhere.example.net>", b"Per Hansen <per@helse.example.no>")
    assert take(repo, raw).stdout.strip() == case_id
    assert case(repo, case_id)["log"][-1]["kind"] == "reply"


def test_a_configured_tag_prefix(repo: Path) -> None:
    case_id, _ = opened(repo, "plain_nb.eml")
    raw = fixture("reply_template.eml", CASE=case_id).replace(b"[#", b"[HD-")
    assert take(repo, raw, "--tag-prefix", "HD-").stdout.strip() == case_id
    bad = take(repo, raw, "--tag-prefix", "a b")
    assert bad.exit_code == 2 and "tag prefix" in bad.stderr


def test_a_reply_to_a_closed_case_opens_a_follow_up(repo: Path) -> None:
    case_id, _ = opened(repo, "plain_nb.eml")
    for args in (["take", case_id], ["close", case_id, "--solution", "Ny driver", "--confirmed"]):
        result = run("--repo", str(repo), "--as", "kari", *args)
        assert result.exit_code == 0, result.output
    result = take(repo, fixture("reply_template.eml", CASE=case_id))
    assert result.exit_code == 0, result.output
    new_id = result.stdout.strip()
    assert new_id != case_id
    assert f"closed case [#{case_id}]" in case(repo, new_id)["description"]


# ---------------------------------------------------------------- nothing happens

def test_the_same_message_twice_changes_nothing(repo: Path) -> None:
    case_id, _ = opened(repo, "plain_sv.eml")
    reply = fixture("reply_template.eml", CASE=case_id).replace(
        b"ola.nordmann@bergen.kommune.no", b"anna.lindstrom@region.example.se")
    assert take(repo, reply).exit_code == 0
    state = snapshot(repo)
    for raw in (fixture("plain_sv.eml"), reply):
        again = take(repo, raw)
        assert again.exit_code == 0, again.output
        assert again.stdout.strip() == case_id
        assert "already taken in " + case_id in again.stderr
    assert snapshot(repo) == state


def test_the_same_message_delivered_twice_at_once_opens_one_case(repo: Path) -> None:
    command = [sys.executable, "-m", "casectl", "--repo", str(repo), "--as", "intake", "intake"]
    deliveries = [subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE) for _ in range(2)]
    outputs = [process.communicate(fixture("plain_nb.eml"), timeout=60) for process in deliveries]
    assert [process.returncode for process in deliveries] == [0, 0], outputs
    assert {out.decode().strip() for out, _ in outputs} == \
        {p.stem for p in (repo / "cases").rglob("*.yaml")}
    assert len(list((repo / "cases").rglob("*.yaml"))) == 1
    assert sum(b"already taken in" in err for _, err in outputs) == 1


@pytest.mark.parametrize("message_id", [b"", b"Message-ID: <" + b"x" * 1200 + b"@example.com>\r\n"])
def test_a_message_without_a_usable_message_id_is_taken_once(repo: Path,
                                                             message_id: bytes) -> None:
    raw = fixture("plain_en.eml").replace(b"Message-ID: <en-0001@example.com>\r\n", message_id)
    first = take(repo, raw)
    assert first.exit_code == 0, first.output
    state = snapshot(repo)
    again = take(repo, raw)
    assert "already taken in " + first.stdout.strip() in again.stderr
    assert snapshot(repo) == state


@pytest.mark.parametrize("name, why", [
    ("autoreply.eml", "Auto-Submitted: auto-replied"),
    ("outofoffice_subject.eml", "out-of-office subject"),
    ("desk_address.eml", "the desk's own address intake@helse.example.no"),
])
def test_auto_replies_and_the_desks_own_mail_open_no_case(repo: Path, name: str,
                                                          why: str) -> None:
    state = snapshot(repo)
    result = take(repo, fixture(name))
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert why in result.stderr and "no case opened" in result.stderr
    assert snapshot(repo) == state


def test_bulk_mail_opens_no_case(repo: Path) -> None:
    state = snapshot(repo)
    raw = fixture("plain_en.eml").replace(b"MIME-Version", b"Precedence: bulk\r\nMIME-Version")
    result = take(repo, raw)
    assert result.exit_code == 0 and "Precedence: bulk" in result.stderr
    assert snapshot(repo) == state


@pytest.mark.parametrize("name, reason", [("broken.eml", "no header"),
                                          ("empty.eml", "empty")])
def test_a_broken_message_is_a_clear_error(repo: Path, name: str, reason: str) -> None:
    state = snapshot(repo)
    result = take(repo, fixture(name))
    assert result.exit_code == 2
    assert result.stderr.startswith("casectl: the message cannot be taken in: ")
    assert reason in result.stderr and "Traceback" not in result.stderr
    assert snapshot(repo) == state


def test_only_a_service_identity_or_an_admin_takes_mail_in(repo: Path) -> None:
    state = snapshot(repo)
    refused = take(repo, fixture("plain_nb.eml"), agent="kari")
    assert refused.exit_code == 1
    assert "not a service identity" in refused.stderr
    assert "casectl agent add intake --service" in refused.stderr
    assert snapshot(repo) == state
    # An admin passes the identity check; the role table still decides.
    by_admin = take(repo, fixture("plain_nb.eml"), agent="admin")
    assert by_admin.exit_code == 1 and "rule 'role'" in by_admin.stderr
    assert snapshot(repo) == state
    grant(repo, "admin", "receiver")
    by_admin = take(repo, fixture("plain_nb.eml"), agent="admin")
    assert by_admin.exit_code == 0, by_admin.output
    assert case(repo, by_admin.stdout.strip())["log"][0]["by"] == "admin"


def test_a_desk_with_older_schemas_is_told_to_upgrade_before_a_reply(repo: Path) -> None:
    import json

    case_id, _ = opened(repo, "plain_nb.eml")
    schema_path = repo / "schemas" / "case.schema.json"
    older = json.loads(schema_path.read_text(encoding="utf-8"))
    del older["$defs"]["data_reply"]["properties"]["message_id"]
    schema_path.write_text(json.dumps(older, indent=2), encoding="utf-8")
    git(repo, "-c", "user.name=Åse Admin", "-c", "user.email=ase@helse.example.no", "commit",
        "-qam", "schemas from before message_id")
    state = snapshot(repo)
    refused = take(repo, fixture("reply_template.eml", CASE=case_id))
    assert refused.exit_code == 1 and "casectl upgrade" in refused.stderr
    assert snapshot(repo) == state
    assert run("--repo", str(repo), "--as", "admin", "upgrade").exit_code == 0
    assert take(repo, fixture("reply_template.eml", CASE=case_id)).stdout.strip() == case_id


def test_a_desk_without_agents_takes_mail_in(empty_repo: Path) -> None:
    result = CliRunner().invoke(cli, ["--repo", str(empty_repo), "intake", "-"],
                                input=fixture("plain_nb.eml"), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert case(empty_repo, result.stdout.strip())["reporter"]["email"] == \
        "ola.nordmann@bergen.kommune.no"


# ---------------------------------------------------------------- the parser alone

def test_tags_are_read_case_insensitively_with_crockfords_letters() -> None:
    assert mailparse.case_tags("SV: [#06k3zq9txm] and [ # 06K3ZQ9TXM ] [#0lo0000000]") == \
        ("06K3ZQ9TXM", "0100000000")
    assert mailparse.case_tags("[#short] [06K3ZQ9TXM] #06K3ZQ9TXM") == ()
    assert mailparse.case_tags("[HD-06K3ZQ9TXM]", "HD-") == ("06K3ZQ9TXM",)


def test_a_wrong_charset_in_an_encoded_word_falls_back() -> None:
    mail = mailparse.parse(b"From: a@example.no\r\nSubject: =?utf-8?Q?Skriver_p=E5?= "
                           b"=?x-unknown?Q?r=F8d?=\r\n\r\nhei\r\n")
    assert mail.subject == "Skriver pårød"
    sender = mailparse.parse(b"From: =?utf-8?Q?Bj=F8rn_=C5sen?= <B.Asen@Example.NO>\r\n\r\nhei")
    assert (sender.sender_name, sender.sender_address) == ("Bjørn Åsen", "b.asen@example.no")
    raw_8bit = mailparse.parse(b"From: a@example.no\r\nSubject: Skriver p\xe5 3.\r\n\r\nhei\r\n")
    assert raw_8bit.subject == "Skriver på 3."


def test_automatic_mail_is_recognised() -> None:
    def auto(headers: str) -> str | None:
        raw = ("From: a@example.no\r\n" + headers + "\r\nhei\r\n").encode("utf-8")
        return mailparse.parse(raw).automatic
    assert auto("Auto-Submitted: no\r\nSubject: Hei\r\n") is None
    assert auto("Auto-Submitted: auto-generated\r\n") == "Auto-Submitted: auto-generated"
    assert auto("Precedence: junk\r\n") == "Precedence: junk"
    assert auto("X-Autoreply: yes\r\n") == "X-Autoreply: yes"
    for subject in ("Fravær: DIPS", "Automatisk svar: x", "Ikke til stede", "Out of Office: y",
                    "Automatic reply: z", "Fraværende", "Autosvar", "Frånvaro: a",
                    "Automatisk besked: b"):
        assert auto("Subject: " + subject + "\r\n"), subject
    assert auto("Subject: Fravær av lyd i hodetelefonene\r\n") is None  # a real case
    assert auto("Subject: Skriver virker ikke\r\n") is None

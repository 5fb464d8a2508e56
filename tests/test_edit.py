"""`casectl edit`: corrections recorded as one `edited` event with old and
new values, from options, from a document (--file) and from $EDITOR in a
real pseudo-terminal; replay applies them; nothing is rewritten."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from casectl import model
from helpers import act, case_file, commits, git, load_case, load_yaml, new_case, snapshot

REPORTER = ("--reporter", "Sigrid Bakken <sigrid@tromso.example.no>", "--phone",
            "+47 917 22 418", "--org", "Tromsø kommune")


def registered(desk: Path) -> str:
    return new_case(desk, *REPORTER, "--field", "epj=EPJ-48213", "--field", "rom=312",
                    "--description", "Får feilmelding ved innlogging", subject="DIPS virker ikke")


def ok(desk: Path, *args: str, agent: str = "kari", input: str | None = None) -> Any:
    result = act(desk, *args, agent=agent, input=input)
    assert result.exit_code == 0, result.output
    return result


def fails(desk: Path, code: int, *args: str, input: str | None = None) -> Any:
    before = snapshot(desk)
    result = act(desk, *args, input=input)
    assert result.exit_code == code, result.output
    assert snapshot(desk) == before  # a refusal leaves everything as it was
    return result


def edited_events(case: dict[str, Any]) -> list[dict[str, Any]]:
    return [event for event in case["log"] if event["kind"] == "edited"]


# ---------------------------------------------------------------- options

def test_edit_records_old_and_new_values_and_replay_applies_them(desk: Path) -> None:
    case_id = registered(desk)
    before = load_case(desk, case_id)
    result = ok(desk, "edit", case_id, "--subject", "DIPS Arena: ingen tilgang",
                "--type", "request", "--reporter", "Sigrid Bakken-Olsen", "--org",
                "Tromsø kommune, helse", "--field", "epj=EPJ-48214", "--field",
                "kommune=Tromsø", "--unset-field", "rom", "--reason", "Ringte tilbake, presisert")
    assert result.stdout.strip() == case_id
    case = load_case(desk, case_id)
    assert case["log"][:-1] == before["log"]  # nothing rewritten: one event appended
    (event,) = edited_events(case)
    assert event["by"] == "kari" and event["public"] is False
    assert event["data"] == {"changes": {
        "subject": {"old": "DIPS virker ikke", "new": "DIPS Arena: ingen tilgang"},
        "type": {"old": "incident", "new": "request"},
        "reporter.name": {"old": "Sigrid Bakken", "new": "Sigrid Bakken-Olsen"},
        "reporter.org": {"old": "Tromsø kommune", "new": "Tromsø kommune, helse"},
        "fields.epj": {"old": "EPJ-48213", "new": "EPJ-48214"},
        "fields.kommune": {"old": None, "new": "Tromsø"},
        "fields.rom": {"old": "312", "new": None},
    }, "reason": "Ringte tilbake, presisert"}
    assert case["subject"] == "DIPS Arena: ingen tilgang" and case["type"] == "request"
    # a part of the reporter not given stays as it was
    assert case["reporter"] == {"name": "Sigrid Bakken-Olsen", "email": "sigrid@tromso.example.no",
                                "phone": "+47 917 22 418", "org": "Tromsø kommune, helse"}
    assert case["fields"] == {"epj": "EPJ-48214", "kommune": "Tromsø"}
    assert case["description"] == before["description"]  # untouched
    # the header is replay(log), so validate agrees
    assert {k: case[k] for k in model.HEADER_KEYS} == model.replay(case_id, case["log"])
    assert ok(desk, "validate").exit_code == 0
    last = commits(desk)[0]
    assert last["subject"] == f"{case_id} edit: DIPS Arena: ingen tilgang"
    assert last["trailers"] == {"Case": case_id, "Action": "edit", "Agent": "kari"}
    assert git(desk, "show", "--name-only", "--format=", "HEAD").split() == \
        [case_file(desk, case_id).relative_to(desk).as_posix()]
    body = git(desk, "log", "-1", "--format=%b")
    assert "subject: 'DIPS virker ikke' -> 'DIPS Arena: ingen tilgang'" in body
    assert "fields.rom: '312' -> (none)" in body


def test_description_from_stdin_and_a_reporter_address(desk: Path) -> None:
    case_id = new_case(desk)  # no reporter at all
    ok(desk, "edit", case_id, "--description", "-", "--reporter", "ola@bergen.example.no",
       input="Linje en\nLinje to\n")
    case = load_case(desk, case_id)
    assert case["description"] == "Linje en\nLinje to"
    assert case["reporter"] == {"name": None, "email": "ola@bergen.example.no", "phone": None,
                                "org": None}
    assert edited_events(case)[0]["data"]["changes"]["description"] == \
        {"old": None, "new": "Linje en\nLinje to"}


def test_only_what_differs_is_recorded(desk: Path) -> None:
    case_id = registered(desk)
    ok(desk, "edit", case_id, "--subject", "DIPS virker ikke", "--type", "change")
    (event,) = edited_events(load_case(desk, case_id))
    assert event["data"]["changes"] == {"type": {"old": "incident", "new": "change"}}


def test_nothing_changed_is_refused(desk: Path) -> None:
    case_id = registered(desk)
    result = fails(desk, 1, "edit", case_id, "--subject", "DIPS virker ikke", "--field",
                   "epj=EPJ-48213")
    assert "edit-changes-something" in result.stderr


def test_unset_of_a_field_the_case_lacks_is_refused(desk: Path) -> None:
    case_id = registered(desk)
    result = fails(desk, 1, "edit", case_id, "--unset-field", "romnr")
    assert "has no field romnr" in result.stderr and "epj, rom" in result.stderr
    result = fails(desk, 2, "edit", case_id, "--field", "rom=1", "--unset-field", "rom")
    assert "not both" in result.stderr


@pytest.mark.parametrize("args, message", [
    (("--subject", " "), "the subject is empty"),
    (("--subject", "a\nb", "--description", ""), "the description is empty"),
    (("--reporter", "Ola <ola@>"), "is not an e-mail address"),
    (("--phone", "123"), "is not a phone number"),
    (("--field", "område=1"), "has characters a key cannot have"),
    (("--unset-field", "Rom Nr"), "in --unset-field KEY, the key 'rom nr' has characters"),
    (("--type", "bug"), "Invalid value for '--type'"),
], ids=["subject", "description", "email", "phone", "field-key", "unset-key", "type"])
def test_input_checks_are_those_of_new(desk: Path, args: tuple[str, ...], message: str
                                       ) -> None:
    case_id = registered(desk)
    result = fails(desk, 2, "edit", case_id, *args)
    assert message in result.stderr


def set_categories(desk: Path, categories: list[str]) -> None:
    config = load_yaml(desk / "casectl.yaml")
    config["categories"] = categories
    (desk / "casectl.yaml").write_text(yaml.safe_dump(config, allow_unicode=True))
    git(desk, "-c", "user.name=Åse Admin", "-c", "user.email=ase@helse.example.no",
        "commit", "-qam", "categories")


def test_categories_are_enforced_when_listed(desk: Path) -> None:
    case_id = registered(desk)
    ok(desk, "edit", case_id, "--category", "Anything goes")  # none listed: free text
    set_categories(desk, ["Nettverk", "Klinisk applikasjon"])
    result = fails(desk, 2, "edit", case_id, "--category", "Skriver")
    assert "unknown category 'Skriver'" in result.stderr and "Nettverk" in result.stderr
    ok(desk, "edit", case_id, "--category", "Klinisk applikasjon")
    assert load_case(desk, case_id)["category"] == "Klinisk applikasjon"
    # a category no longer listed does not block other corrections
    set_categories(desk, ["Nettverk", "Klinisk applikasjon", "Skriver"])
    other = new_case(desk, "--category", "Skriver")
    set_categories(desk, ["Nettverk", "Klinisk applikasjon"])
    ok(desk, "edit", other, "--subject", "Skriveren i 3. etasje")
    assert load_case(desk, other)["category"] == "Skriver"


def test_a_finished_case_can_be_corrected(desk: Path) -> None:
    case_id = registered(desk)
    ok(desk, "close", case_id, "--solution", "Rolle lagt til", "--confirmed")
    before = load_case(desk, case_id)
    ok(desk, "edit", case_id, "--category", "Tilgang", "--reason", "Feil kategori for rapport")
    case = load_case(desk, case_id)
    # status and the lifecycle times are the record of the work: untouched
    for key in ("status", "solution", "solved", "closed", "started"):
        assert case[key] == before[key]
    assert case["category"] == "Tilgang"


def test_no_options_without_a_terminal_is_a_usage_error(desk: Path) -> None:
    case_id = registered(desk)
    result = fails(desk, 2, "edit", case_id)
    assert "no terminal" in result.stderr and "--subject" in result.stderr \
        and "--field KEY=VALUE" in result.stderr and "--file" in result.stderr
    result = fails(desk, 2, "edit", case_id, "--reason", "only a reason")
    assert "no terminal" in result.stderr
    assert fails(desk, 3, "edit", "ZZZZZZZZZZ", "--subject", "x").exit_code == 3


def test_show_history_and_search_know_the_edit(desk: Path) -> None:
    case_id = registered(desk)
    ok(desk, "edit", case_id, "--subject", "Helseplattformen: innlogging feiler")
    shown = ok(desk, "show", case_id).stdout
    assert "kari [internal]" in shown
    assert "edited: subject 'DIPS virker ikke' -> 'Helseplattformen: innlogging feiler'" in shown
    history = ok(desk, "history", case_id, "--json").stdout
    assert '"kind": "edited"' in history and '"action": "edit"' in history
    # found by its new subject, and by its former one (the caller may still use it)
    assert case_id in ok(desk, "search", "Helseplattformen").stdout
    assert case_id in ok(desk, "search", "DIPS").stdout


def test_json_output_is_the_case(desk: Path) -> None:
    case_id = registered(desk)
    import json
    case = json.loads(ok(desk, "edit", case_id, "--phone", "+47 400 00 000", "--json").stdout)
    assert case["reporter"]["phone"] == "+47 400 00 000"
    assert case["log"][-1]["kind"] == "edited"


def test_the_schema_holds_edited_events_to_their_shape(desk: Path) -> None:
    case_id = registered(desk)
    ok(desk, "edit", case_id, "--subject", "Ny tittel")
    path = case_file(desk, case_id)
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("      subject:\n        old:", "      status:\n        old:"),
                    encoding="utf-8")
    result = act(desk, "validate", str(path))
    assert result.exit_code == 4, result.output
    assert "changes" in result.stdout + result.stderr


# ---------------------------------------------------------------- documents (--file)

def test_a_document_from_stdin(desk: Path) -> None:
    case_id = registered(desk)
    document = textwrap.dedent("""\
        subject: DIPS virker ikke på post 3
        type: request
        reporter:
          phone:
        fields:
          epj: '0047123'
        reason: Fra skjema
        """)
    ok(desk, "edit", case_id, "--file", "-", input=document)
    case = load_case(desk, case_id)
    assert case["subject"] == "DIPS virker ikke på post 3"
    assert case["reporter"]["phone"] is None and case["reporter"]["name"] == "Sigrid Bakken"
    assert case["fields"] == {"epj": "0047123"}  # rom: not listed, so removed
    assert case["description"] == "Får feilmelding ved innlogging"  # key left out: kept
    assert edited_events(case)[0]["data"]["reason"] == "Fra skjema"


def test_a_document_is_text_not_yaml_types(desk: Path) -> None:
    case_id = registered(desk)
    ok(desk, "edit", case_id, "--file", "-", input="fields:\n  epj: 0047123\n  svar: no\n")
    assert load_case(desk, case_id)["fields"] == {"epj": "0047123", "svar": "no"}


@pytest.mark.parametrize("document, code, message", [
    ("subject: [a\n", 2, "not valid YAML"),
    ("subject: x\nstatus: closed\n", 2, "unknown key 'status'"),
    ("subject:\n", 2, "the subject is required"),
    ("type: bug\n", 2, "is not a case type"),
    ("reporter:\n  mobile: '12345678'\n", 2, "unknown key reporter.mobile"),
    ("reporter:\n  email: nope\n", 2, "is not an e-mail address"),
    ("- subject\n", 2, "must be a mapping"),
    ("# nothing\n\n", 1, "is empty; the edit is aborted"),
    ("subject: DIPS virker ikke\n", 1, "nothing was changed"),
], ids=["yaml", "unknown-key", "no-subject", "type", "reporter-key", "email", "list", "empty",
        "unchanged"])
def test_bad_documents(desk: Path, document: str, code: int, message: str) -> None:
    case_id = registered(desk)
    result = fails(desk, code, "edit", case_id, "--file", "-", input=document)
    assert message in result.stderr


def test_file_with_other_options_is_a_usage_error(desk: Path, tmp_path: Path) -> None:
    case_id = registered(desk)
    (tmp_path / "doc.yaml").write_text("subject: x\n")
    assert "--file gives the whole edit" in fails(
        desk, 2, "edit", case_id, "--file", str(tmp_path / "doc.yaml"), "--subject", "y").stderr
    assert "write it in the document" in fails(
        desk, 2, "edit", case_id, "--file", str(tmp_path / "doc.yaml"), "--reason", "y").stderr
    assert "no file" in fails(desk, 2, "edit", case_id, "--file",
                              str(tmp_path / "missing.yaml")).stderr


# ---------------------------------------------------------------- the editor, in a terminal

EDITOR = """\
import pathlib, sys
path = pathlib.Path(sys.argv[-1])
text = path.read_text(encoding="utf-8")
pathlib.Path({seen!r}).write_text(text, encoding="utf-8")
{body}
path.write_text(text, encoding="utf-8")
"""


def editor(tmp_path: Path, body: str, name: str = "editor.py") -> str:
    """An $EDITOR that records the document it was given (in seen.yaml) and
    changes it by ``body`` (Python working on ``text``)."""
    script = tmp_path / name
    script.write_text(EDITOR.format(seen=str(tmp_path / "seen.yaml"),
                                    body=textwrap.dedent(body)), encoding="utf-8")
    return f"{sys.executable} {script}"


def in_terminal(desk: Path, *args: str, env: dict[str, str]) -> tuple[int, str, str]:
    """casectl as a real process whose stdin and stdout are a pseudo-terminal
    (stderr a pipe): exit code, what the terminal showed, stderr."""
    master, slave = pty.openpty()
    environ = {k: v for k, v in os.environ.items()
               if k not in ("VISUAL", "EDITOR", "GIT_EDITOR")}
    process = subprocess.Popen([sys.executable, "-m", "casectl", "--repo", str(desk), "--as",
                                "kari", *args], stdin=slave, stdout=slave,
                               stderr=subprocess.PIPE, env={**environ, **env})
    os.close(slave)
    shown = b""
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        if not ready:
            process.kill()
            raise AssertionError("casectl did not finish in a minute")
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the other end closed
            break
        if not chunk:
            break
        shown += chunk
    os.close(master)
    code = process.wait(timeout=60)
    assert process.stderr is not None
    return code, shown.decode("utf-8", "replace"), process.stderr.read().decode()


def drafts(desk: Path) -> list[Path]:
    return sorted((desk / ".git" / "casectl").glob("EDIT_*"))


def test_the_editor_edits_the_case(desk: Path, tmp_path: Path) -> None:
    case_id = registered(desk)
    command = editor(tmp_path, """\
        text = text.replace("subject: DIPS virker ikke", "subject: DIPS Arena virker ikke")
        text = text.replace("  rom: '312'\\n", "")
        text = text.replace("reason:", "reason: Presisert av innmelder")
        """)
    code, shown, stderr = in_terminal(desk, "edit", case_id, env={"EDITOR": command})
    assert code == 0, stderr
    assert shown.strip() == case_id
    seen = (tmp_path / "seen.yaml").read_text(encoding="utf-8")
    assert f"# case {case_id} as of event" in seen
    assert "subject: DIPS virker ikke\n" in seen and "epj: EPJ-48213" in seen
    assert "description: Får feilmelding ved innlogging" in seen
    assert "phone: +47 917 22 418" in seen and "category:\n" in seen
    case = load_case(desk, case_id)
    (event,) = edited_events(case)
    assert event["data"] == {"changes": {
        "subject": {"old": "DIPS virker ikke", "new": "DIPS Arena virker ikke"},
        "fields.rom": {"old": "312", "new": None}}, "reason": "Presisert av innmelder"}
    assert commits(desk)[0]["trailers"]["Action"] == "edit"
    assert drafts(desk) == []


def test_visual_wins_over_editor_and_reason_is_prefilled(desk: Path, tmp_path: Path) -> None:
    case_id = registered(desk)
    visual = editor(tmp_path, 'text = text.replace("type: incident", "type: order")', "v.py")
    code, _, stderr = in_terminal(desk, "edit", case_id, "--reason", "Bestilling, ikke feil",
                                  env={"VISUAL": visual, "EDITOR": "false"})
    assert code == 0, stderr
    assert "reason: Bestilling, ikke feil" in (tmp_path / "seen.yaml").read_text()
    (event,) = edited_events(load_case(desk, case_id))
    assert event["data"] == {"changes": {"type": {"old": "incident", "new": "order"}},
                             "reason": "Bestilling, ikke feil"}


@pytest.mark.parametrize("body, message", [
    ("pass", "nothing was changed in the edited document; the edit is aborted"),
    ('text = ""', "the edited document is empty; the edit is aborted"),
    ('text = "\\n".join(l for l in text.splitlines() if l.startswith("#"))',
     "the edited document is empty"),
], ids=["unchanged", "emptied", "only-comments"])
def test_an_unchanged_or_emptied_document_aborts(desk: Path, tmp_path: Path, body: str,
                                                 message: str) -> None:
    case_id = registered(desk)
    before = snapshot(desk)
    code, _, stderr = in_terminal(desk, "edit", case_id, env={"EDITOR": editor(tmp_path, body)})
    assert code == 1 and message in stderr
    assert snapshot(desk) == before and drafts(desk) == []


@pytest.mark.parametrize("body, message", [
    ('text = text.replace("subject: DIPS virker ikke", "subject: DIPS: virker: ikke [")',
     "not valid YAML"),
    ('text += "prioritet: high\\n"', "unknown key 'prioritet'"),
    ('text = text.replace("email: sigrid@tromso.example.no", "email: sigrid@")',
     "is not an e-mail address"),
], ids=["yaml", "unknown-key", "bad-value"])
def test_a_bad_document_is_kept_and_can_be_applied_later(desk: Path, tmp_path: Path, body: str,
                                                         message: str) -> None:
    case_id = registered(desk)
    before = snapshot(desk)
    code, _, stderr = in_terminal(desk, "edit", case_id, env={"EDITOR": editor(tmp_path, body)})
    assert code == 2 and message in stderr, stderr
    assert snapshot(desk) == before
    (kept,) = drafts(desk)
    assert f"your edit is kept in {kept}" in stderr
    assert f"casectl edit {case_id} --file {kept}" in stderr
    # the user corrects the kept file and applies it
    text = kept.read_text(encoding="utf-8")
    lines = [line for line in text.splitlines()
             if not line.startswith(("subject:", "prioritet:", "  email:"))]
    kept.write_text("\n".join(lines + ["subject: Rettet tittel"]) + "\n", encoding="utf-8")
    result = ok(desk, "edit", case_id, "--file", str(kept))
    assert result.stdout.strip() == case_id
    (event,) = edited_events(load_case(desk, case_id))
    assert event["data"]["changes"] == {"subject": {"old": "DIPS virker ikke",
                                                    "new": "Rettet tittel"}}
    assert drafts(desk) == []  # applied: not offered again


def test_editing_again_reopens_the_kept_edit(desk: Path, tmp_path: Path) -> None:
    case_id = registered(desk)
    code, _, stderr = in_terminal(desk, "edit", case_id, env={"EDITOR": editor(
        tmp_path, 'text = text.replace("type: incident", "type: order") + "oops: 1\\n"')})
    assert code == 2 and "unknown key 'oops'" in stderr
    assert f"or 'casectl edit {case_id}' to open it again" in stderr
    code, _, stderr = in_terminal(desk, "edit", case_id[:6], env={"EDITOR": editor(
        tmp_path, 'text = text.replace("oops: 1\\n", "")')})
    assert code == 0, stderr
    assert "opening your kept edit" in stderr
    assert "type: order" in (tmp_path / "seen.yaml").read_text()  # what was typed before
    (event,) = edited_events(load_case(desk, case_id))
    assert event["data"]["changes"] == {"type": {"old": "incident", "new": "order"}}
    assert drafts(desk) == []


def test_a_kept_document_does_not_revert_what_changed_meanwhile(desk: Path, tmp_path: Path
                                                                ) -> None:
    case_id = registered(desk)
    code, _, stderr = in_terminal(desk, "edit", case_id, env={"EDITOR": editor(
        tmp_path, 'text = text.replace("type: incident", "type: order") + "oops: 1\\n"')})
    assert code == 2, stderr
    (kept,) = drafts(desk)
    ok(desk, "edit", case_id, "--subject", "Endret av en kollega", agent="ingrid")
    kept.write_text(kept.read_text().replace("oops: 1\n", ""), encoding="utf-8")
    ok(desk, "edit", case_id, "--file", str(kept))
    case = load_case(desk, case_id)
    # the document still shows the old subject; only its own change (type) applies
    assert case["subject"] == "Endret av en kollega" and case["type"] == "order"
    assert edited_events(case)[-1]["data"]["changes"] == \
        {"type": {"old": "incident", "new": "order"}}


def test_the_editor_is_the_one_git_commit_would_open(desk: Path, tmp_path: Path) -> None:
    """git's order: GIT_EDITOR, then core.editor, then VISUAL and EDITOR."""
    case_id = registered(desk)
    chosen = editor(tmp_path, 'text = text.replace("type: incident", "type: change")', "c.py")
    git(desk, "config", "core.editor", chosen)
    code, _, stderr = in_terminal(desk, "edit", case_id, env={"EDITOR": "false",
                                                              "VISUAL": "false"})
    assert code == 0, stderr
    assert load_case(desk, case_id)["type"] == "change"
    back = editor(tmp_path, 'text = text.replace("type: change", "type: order")', "g.py")
    code, _, stderr = in_terminal(desk, "edit", case_id, env={"GIT_EDITOR": back})
    assert code == 0, stderr
    assert load_case(desk, case_id)["type"] == "order"


def test_no_editor_on_a_dumb_terminal(desk: Path) -> None:
    case_id = registered(desk)
    before = snapshot(desk)
    code, _, stderr = in_terminal(desk, "edit", case_id, env={"TERM": "dumb"})
    assert code == 1 and "the terminal is dumb, but no editor is set" in stderr
    assert snapshot(desk) == before and drafts(desk) == []


def test_a_failing_editor_changes_nothing(desk: Path, tmp_path: Path) -> None:
    case_id = registered(desk)
    before = snapshot(desk)
    code, _, stderr = in_terminal(desk, "edit", case_id, env={"EDITOR": "false"})
    assert code == 1 and "there was a problem with the editor 'false'" in stderr
    assert snapshot(desk) == before and drafts(desk) == []
    # an editor that fails after the user typed: what they typed is kept
    code, _, stderr = in_terminal(desk, "edit", case_id, env={"EDITOR": editor(
        tmp_path, 'text = text.replace("type: incident", "type: order")\n'
        'path.write_text(text, encoding="utf-8")\nsys.exit(3)')})
    assert code == 1 and "exited 3" in stderr
    (kept,) = drafts(desk)
    assert f"your edit is kept in {kept}" in stderr and "type: order" in kept.read_text()
    assert snapshot(desk) == before


# ---------------------------------------------------------------- replay, directly

def test_replay_of_edited_events() -> None:
    created = model.make_event("6AHWQQV0PCPH", "2026-11-03T09:00:00+01:00", "kari", "created",
                               {"subject": "A", "type": "incident", "priority": "medium",
                                "reporter": None, "fields": {"epj": "1"}})
    edits = [
        {"changes": {"reporter.phone": {"old": None, "new": "+47 917 22 418"},
                     "fields.epj": {"old": "1", "new": None},
                     "fields.rom": {"old": None, "new": "3"}}},
        {"changes": {"reporter.phone": {"old": "+47 917 22 418", "new": None},
                     "subject": {"old": "A", "new": "B"},
                     "description": {"old": None, "new": "text"}}},
    ]
    log = [created] + [model.make_event(f"6AHWQQV0PCP{n}", f"2026-11-03T09:0{n}:00+01:00",
                                        "kari", "edited", data)
                       for n, data in enumerate(edits, start=1)]
    header = model.replay("K7X2M9QP4R", log[:2])
    assert header["reporter"] == {"name": None, "email": None, "phone": "+47 917 22 418",
                                  "org": None}
    assert header["fields"] == {"rom": "3"}
    header = model.replay("K7X2M9QP4R", log)
    # a reporter with nothing known is no reporter, as at creation
    assert header["reporter"] is None
    assert (header["subject"], header["description"]) == ("B", "text")
    assert created["data"]["fields"] == {"epj": "1"}  # replay never changes the events
    assert model.EVENT_KINDS["edited"] is False

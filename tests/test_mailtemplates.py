"""The mail templates (casectl.mailtemplates) and the pure parts of mail
out (casectl.mailout): every language and kind renders, overrides and
their checks, the tag and the signature always there, the backoff."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from casectl import mailconfig, mailout, mailtemplates, model

VALUES = {"case_id": "6FJRR0ZYHW", "tag": "[#6FJRR0ZYHW]", "subject": "Skrivar på plan 3",
          "text": "Byt tonern.", "reporter": "Märta Öberg", "agent": "Kari Nordmann",
          "signature": "Kari\nServicedesk", "desk": "Servicedesk", "status": "solved",
          "task_id": "T1", "task_subject": "Sjekk kabel", "assignee": "Per Hansen"}


@pytest.mark.parametrize("language", mailconfig.LANGUAGES)
@pytest.mark.parametrize("kind", mailtemplates.KINDS)
def test_every_built_in_template_renders_with_tag_and_signature(language: str,
                                                                kind: str) -> None:
    for part in mailtemplates.built_in(language, kind):
        mailtemplates.check(part)
    subject, body = mailtemplates.render(language, kind, VALUES)
    assert subject.endswith("[#6FJRR0ZYHW]") and "\n" not in subject
    assert body.rstrip().endswith("Kari\nServicedesk")
    assert "{" not in body and "\n\n\n" not in body
    assert mailtemplates.built_in(language, kind) != mailtemplates.built_in("en", kind) \
        or language == "en"


def test_languages_are_those_of_the_config() -> None:
    assert set(mailconfig.LANGUAGES) == {"nb", "sv", "da", "en"}


def test_an_override_replaces_one_part_and_the_tag_and_signature_stay() -> None:
    overrides = {"sv": {"solution": {"subject": "Klart: {subject}", "body": "Hej!\n{text}"}}}
    subject, body = mailtemplates.render("sv", "solution", VALUES, overrides)
    assert subject == "Klart: Skrivar på plan 3 [#6FJRR0ZYHW]"
    assert body == "Hej!\nByt tonern.\n\n-- \nKari\nServicedesk\n"
    # The other language and kinds keep the built-in ones.
    assert mailtemplates.render("nb", "solution", VALUES, overrides)[0].startswith("Løst: ")


@pytest.mark.parametrize("text, message", [
    ("Hei {mottaker}", "unknown placeholder {mottaker}"),
    ("{subject.__class__}", "is not a placeholder"),
    ("{text[0]}", "is not a placeholder"),
    ("{subject!r}", "is not a placeholder"),
    ("{subject:>20}", "is not a placeholder"),
    ("Hei {", "literal brace"),
])
def test_bad_templates_are_reported_by_field(text: str, message: str) -> None:
    found = mailtemplates.problems({"nb": {"email": {"body": text}}})
    assert len(found) == 1 and found[0][0] == "mail.templates.nb.email.body"
    assert message in found[0][1]
    config = {"desk": {"name": "D"}, "mail": {"templates": {"nb": {"email": {"body": text}}}}}
    assert mailconfig.problems(config) == found


def test_literal_braces_and_braces_in_values() -> None:
    overrides = {"en": {"email": {"body": "{{not a placeholder}} {text}\n{signature}"}}}
    _, body = mailtemplates.render("en", "email", {**VALUES, "text": "a {subject} b"},
                                   overrides)
    assert body.startswith("{not a placeholder} a {subject} b")


def test_backoff_doubles_from_five_minutes_to_six_hours() -> None:
    assert [mailout.retry_after(n) for n in range(1, 9)] == [
        timedelta(minutes=m) for m in (5, 10, 20, 40, 80, 160, 320, 360)]
    queued = datetime.fromisoformat("2026-11-24T09:00:00+01:00")
    assert not mailout.given_up(queued, queued + timedelta(days=5) - timedelta(seconds=1))
    assert mailout.given_up(queued, queued + timedelta(days=5))


def test_recorded_ids_in_order_without_repeats() -> None:
    log = [{"kind": "created", "data": {"fields": {"message-id": "<a@x>"},
                                        "message_id": "<b@x>"}},
           {"kind": "reply", "data": {"message_id": "<c@x>"}},
           {"kind": "note", "data": {"message_id": "<b@x>"}},
           {"kind": "worklog", "data": {"text": "<d@x>"}}]
    assert model.message_ids({"log": log}) == ["<a@x>", "<b@x>", "<c@x>"]


def test_smtp_ca_file_is_read() -> None:
    config = {"mail": {"smtp": {"host": "h", "ca_file": "ca.pem"}}}
    assert mailconfig.settings(config).smtp.ca_file == "ca.pem"

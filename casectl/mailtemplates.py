"""The mail casectl sends, as templates (issue 8, point 3). Pure.

Five kinds, each with a subject and a body in Norwegian (bokmål), Swedish,
Danish and English:

- ``notify``: the case is registered (``new --notify``);
- ``email``: an answer to the reporter (``log --email``);
- ``solution``: the solution, when the case is solved or closed with one
  (``close``; seed 000: "Beskriv løsningen. Signatur kommer opp automatisk");
- ``task``: a task given to an agent or team (``task add``);
- ``contact``: an attempt to reach the reporter by e-mail (``contact --via
  email``; seed 004: three attempts, by mail and phone, before closing).

casectl.yaml's ``mail.templates.<language>.<kind>.subject|body`` replaces
any of them. A template names values as ``{placeholder}`` (``{{`` and ``}}``
for a literal brace); only the names in PLACEHOLDERS exist, and a template
naming another is a configuration problem (``problems``), reported when
casectl.yaml is loaded, so an action never meets it.

Every subject carries the case tag ``[<tag_prefix><ID>]`` (intake threads
replies by it): a subject template without ``{tag}`` gets it appended.
Every body ends with the agent's signature: one without ``{signature}``
gets it appended under the usual "-- " line.
"""

from __future__ import annotations

import re
import string
from typing import Any, Mapping

KINDS = ("notify", "email", "solution", "task", "contact")
PARTS = ("subject", "body")

PLACEHOLDERS: Mapping[str, str] = {
    "case_id": "the case id (06K3ZQ9TXM)",
    "tag": "the case tag as subjects carry it ([#06K3ZQ9TXM])",
    "subject": "the case's subject",
    "text": "the text of this mail: the description (notify), the answer (email), the "
            "solution (solution), what the task needs (task), the note (contact)",
    "reporter": "the reporter's name (else their address)",
    "agent": "the name of the agent who acted",
    "signature": "the agent's signature (agents.<id>.signature, else their name and the desk)",
    "desk": "the name mail is sent under (mail.name, else desk.name)",
    "status": "the case's status after the action",
    "task_id": "the task's id (T1; task mail only)",
    "task_subject": "the task's subject (task mail only)",
    "assignee": "who the task is given to, agent or team name (task mail only)",
}

_BUILT_IN: dict[str, dict[str, tuple[str, str]]] = {
    "nb": {
        "notify": (
            "Saken er registrert: {subject} {tag}",
            "Hei {reporter},\n\n"
            "Vi har registrert henvendelsen din som sak {case_id}:\n\n"
            "  {subject}\n\n"
            "{text}\n\n"
            "Har du mer å legge til, svarer du på denne e-posten. La {tag} stå i "
            "emnefeltet, så havner svaret i riktig sak.\n\n"
            "Med vennlig hilsen\n{signature}\n"),
        "email": (
            "{subject} {tag}",
            "Hei {reporter},\n\n{text}\n\n"
            "Svar på denne e-posten hvis du har spørsmål. La {tag} stå i emnefeltet.\n\n"
            "Med vennlig hilsen\n{signature}\n"),
        "solution": (
            "Løst: {subject} {tag}",
            "Hei {reporter},\n\n"
            "Sak {case_id} ({subject}) er løst.\n\n"
            "Løsning:\n{text}\n\n"
            "Virker det ikke som det skal, svarer du på denne e-posten, så følger vi "
            "opp saken.\n\n"
            "Med vennlig hilsen\n{signature}\n"),
        "task": (
            "Oppgave {task_id}: {task_subject} {tag}",
            "Hei {assignee},\n\n"
            "Du har fått oppgave {task_id} i sak {case_id} ({subject}):\n\n"
            "  {task_subject}\n\n"
            "{text}\n\n"
            "{agent} har fortsatt ansvaret for saken. Når oppgaven er gjort:\n"
            "  casectl task done {case_id} {task_id}\n\n"
            "Med vennlig hilsen\n{signature}\n"),
        "contact": (
            "Vi prøver å nå deg: {subject} {tag}",
            "Hei {reporter},\n\n"
            "Vi har prøvd å få kontakt med deg om sak {case_id} ({subject}).\n\n"
            "{text}\n\n"
            "Svar på denne e-posten, eller ring oss. Vi trenger å vite om løsningen "
            "virker før vi lukker saken.\n\n"
            "Med vennlig hilsen\n{signature}\n"),
    },
    "sv": {
        "notify": (
            "Ärendet är registrerat: {subject} {tag}",
            "Hej {reporter},\n\n"
            "Vi har registrerat ditt ärende med nummer {case_id}:\n\n"
            "  {subject}\n\n"
            "{text}\n\n"
            "Har du något att tillägga svarar du på det här mejlet. Låt {tag} stå kvar i "
            "ämnesraden, så hamnar svaret i rätt ärende.\n\n"
            "Med vänliga hälsningar\n{signature}\n"),
        "email": (
            "{subject} {tag}",
            "Hej {reporter},\n\n{text}\n\n"
            "Svara på det här mejlet om du har frågor. Låt {tag} stå kvar i ämnesraden.\n\n"
            "Med vänliga hälsningar\n{signature}\n"),
        "solution": (
            "Löst: {subject} {tag}",
            "Hej {reporter},\n\n"
            "Ärende {case_id} ({subject}) är löst.\n\n"
            "Lösning:\n{text}\n\n"
            "Fungerar det inte som det ska svarar du på det här mejlet, så följer vi upp "
            "ärendet.\n\n"
            "Med vänliga hälsningar\n{signature}\n"),
        "task": (
            "Uppgift {task_id}: {task_subject} {tag}",
            "Hej {assignee},\n\n"
            "Du har fått uppgift {task_id} i ärende {case_id} ({subject}):\n\n"
            "  {task_subject}\n\n"
            "{text}\n\n"
            "{agent} är fortfarande ansvarig för ärendet. När uppgiften är klar:\n"
            "  casectl task done {case_id} {task_id}\n\n"
            "Med vänliga hälsningar\n{signature}\n"),
        "contact": (
            "Vi försöker nå dig: {subject} {tag}",
            "Hej {reporter},\n\n"
            "Vi har försökt nå dig angående ärende {case_id} ({subject}).\n\n"
            "{text}\n\n"
            "Svara på det här mejlet eller ring oss. Vi behöver veta om lösningen "
            "fungerar innan vi stänger ärendet.\n\n"
            "Med vänliga hälsningar\n{signature}\n"),
    },
    "da": {
        "notify": (
            "Sagen er registreret: {subject} {tag}",
            "Hej {reporter},\n\n"
            "Vi har registreret din henvendelse som sag {case_id}:\n\n"
            "  {subject}\n\n"
            "{text}\n\n"
            "Har du mere at tilføje, så svar på denne mail. Lad {tag} stå i emnefeltet, "
            "så kommer svaret på den rigtige sag.\n\n"
            "Med venlig hilsen\n{signature}\n"),
        "email": (
            "{subject} {tag}",
            "Hej {reporter},\n\n{text}\n\n"
            "Svar på denne mail, hvis du har spørgsmål. Lad {tag} stå i emnefeltet.\n\n"
            "Med venlig hilsen\n{signature}\n"),
        "solution": (
            "Løst: {subject} {tag}",
            "Hej {reporter},\n\n"
            "Sag {case_id} ({subject}) er løst.\n\n"
            "Løsning:\n{text}\n\n"
            "Virker det ikke, som det skal, så svar på denne mail, så følger vi op på "
            "sagen.\n\n"
            "Med venlig hilsen\n{signature}\n"),
        "task": (
            "Opgave {task_id}: {task_subject} {tag}",
            "Hej {assignee},\n\n"
            "Du har fået opgave {task_id} i sag {case_id} ({subject}):\n\n"
            "  {task_subject}\n\n"
            "{text}\n\n"
            "{agent} har stadig ansvaret for sagen. Når opgaven er løst:\n"
            "  casectl task done {case_id} {task_id}\n\n"
            "Med venlig hilsen\n{signature}\n"),
        "contact": (
            "Vi forsøger at kontakte dig: {subject} {tag}",
            "Hej {reporter},\n\n"
            "Vi har forsøgt at kontakte dig om sag {case_id} ({subject}).\n\n"
            "{text}\n\n"
            "Svar på denne mail, eller ring til os. Vi skal vide, om løsningen virker, "
            "før vi lukker sagen.\n\n"
            "Med venlig hilsen\n{signature}\n"),
    },
    "en": {
        "notify": (
            "Case registered: {subject} {tag}",
            "Hello {reporter},\n\n"
            "We have registered your request as case {case_id}:\n\n"
            "  {subject}\n\n"
            "{text}\n\n"
            "To add anything, reply to this e-mail. Keep {tag} in the subject so your "
            "reply reaches the right case.\n\n"
            "Kind regards\n{signature}\n"),
        "email": (
            "{subject} {tag}",
            "Hello {reporter},\n\n{text}\n\n"
            "Reply to this e-mail if you have questions. Keep {tag} in the subject.\n\n"
            "Kind regards\n{signature}\n"),
        "solution": (
            "Solved: {subject} {tag}",
            "Hello {reporter},\n\n"
            "Case {case_id} ({subject}) is solved.\n\n"
            "Solution:\n{text}\n\n"
            "If it does not work as it should, reply to this e-mail and we will follow "
            "the case up.\n\n"
            "Kind regards\n{signature}\n"),
        "task": (
            "Task {task_id}: {task_subject} {tag}",
            "Hello {assignee},\n\n"
            "You have been given task {task_id} in case {case_id} ({subject}):\n\n"
            "  {task_subject}\n\n"
            "{text}\n\n"
            "{agent} is still responsible for the case. When the task is done:\n"
            "  casectl task done {case_id} {task_id}\n\n"
            "Kind regards\n{signature}\n"),
        "contact": (
            "We are trying to reach you: {subject} {tag}",
            "Hello {reporter},\n\n"
            "We have tried to reach you about case {case_id} ({subject}).\n\n"
            "{text}\n\n"
            "Please reply to this e-mail or call us. We need to know whether the solution "
            "works before we close the case.\n\n"
            "Kind regards\n{signature}\n"),
    },
}

_BLANK_LINES = re.compile(r"\n[ \t]*\n(?:[ \t]*\n)+")


class TemplateError(ValueError):
    """A template that names a placeholder there is not, or is not a
    template (an unclosed brace)."""


def built_in(language: str, kind: str) -> tuple[str, str]:
    """The built-in subject and body template."""
    return _BUILT_IN[language][kind]


def template(language: str, kind: str,
             overrides: Mapping[str, Any] | None = None) -> tuple[str, str]:
    """The subject and body template in force: casectl.yaml's override of
    either part, else the built-in one."""
    subject, body = built_in(language, kind)
    given = ((overrides or {}).get(language) or {}).get(kind) or {}
    return given.get("subject", subject), given.get("body", body)


def placeholders_of(text: str) -> list[str]:
    """The placeholder names a template uses. Only plain names are
    placeholders: ``{subject.upper}`` or ``{text[0]}`` (which str.format
    would follow into the object) and format specs are refused."""
    found = []
    try:
        for _, name, spec, conversion in string.Formatter().parse(text):
            if name is None:
                continue
            if spec or conversion or not name.isidentifier():
                raise TemplateError(f"{{{name}{'!' + conversion if conversion else ''}"
                                    f"{':' + spec if spec else ''}}} is not a placeholder: "
                                    "write a plain name in braces, like {subject}")
            found.append(name)
    except ValueError as exc:
        if isinstance(exc, TemplateError):
            raise
        raise TemplateError(f"{exc}; write a literal brace as {{{{ or }}}}") from None
    return found


def check(text: str) -> None:
    """Raise TemplateError when ``text`` names a placeholder there is not."""
    unknown = [name for name in placeholders_of(text) if name not in PLACEHOLDERS]
    if unknown:
        raise TemplateError(f"unknown placeholder {{{unknown[0]}}}; the placeholders are "
                            + ", ".join(f"{{{name}}}" for name in PLACEHOLDERS))


def problems(templates: Any) -> list[tuple[str, str]]:
    """(field, message) for each template override that cannot be used."""
    found: list[tuple[str, str]] = []
    if not isinstance(templates, Mapping):
        return found
    for language, kinds in templates.items():
        for kind, parts in (kinds or {}).items() if isinstance(kinds, Mapping) else ():
            for part, text in (parts or {}).items() if isinstance(parts, Mapping) else ():
                try:
                    check(str(text))
                except TemplateError as exc:
                    found.append((f"mail.templates.{language}.{kind}.{part}", str(exc)))
    return found


def render(language: str, kind: str, values: Mapping[str, str],
           overrides: Mapping[str, Any] | None = None) -> tuple[str, str]:
    """The subject (one line, with the case tag) and body (ending in the
    signature) of one mail. ``values`` holds every placeholder's value;
    missing ones read as empty."""
    subject_template, body_template = template(language, kind, overrides)
    filled = {name: str(values.get(name) or "") for name in PLACEHOLDERS}
    subject = " ".join(subject_template.format_map(filled).split())
    tag = filled["tag"]
    if tag and tag not in subject:
        subject = f"{subject} {tag}".strip()
    body = body_template.format_map(filled)
    if "signature" not in placeholders_of(body_template) and filled["signature"]:
        body = f"{body.rstrip()}\n\n-- \n{filled['signature']}\n"
    # An empty {text} (a task without a need) leaves no hole of blank lines.
    body = _BLANK_LINES.sub("\n\n", body).strip("\n") + "\n"
    return subject, body

"""Triage on the command line: the options `new`, `priority`, `assign` and
`handover` take for it (impact and urgency, answers to triage questions,
an urgent case's pieces), and the `triage` command."""

from __future__ import annotations

import functools
from typing import Any, Callable, Sequence

import click

from .. import triage as rules
from ..app import actions, triage
from ..errors import UsageError
from ..model import Case
from . import options, parsing

IMPACT = click.Choice(rules.IMPACTS, case_sensitive=False)
URGENCY = click.Choice(rules.URGENCIES, case_sensitive=False)
COMPETENCE = click.Choice(rules.COMPETENCES, case_sensitive=False)


def pairs(values: Sequence[str], option: str, example: str) -> dict[str, str]:
    """KEY=TEXT options (--answer, --question); the text as typed."""
    return parsing.key_values(values, option, example, word="TEXT", strip=False)


def _answers(public: Sequence[str], internal: Sequence[str]) -> triage.Answers:
    given = pairs(public, "--answer", "socket=B4-117")
    hidden = pairs(internal, "--internal-answer", "server-ip=10.1.2.3")
    return triage.answers(given, hidden)


def answer_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--answer KEY=VALUE and --internal-answer KEY=VALUE, folded into ``answers``."""
    @click.option("--answer", "answer_pairs", multiple=True, metavar="KEY=VALUE",
                  help="An answer to a triage question of the team the case goes to "
                  "(repeatable).")
    @click.option("--internal-answer", "internal_pairs", multiple=True, metavar="KEY=VALUE",
                  help="An answer the reporter never sees (repeatable).")
    @functools.wraps(func)
    def wrapper(*args: Any, answer_pairs: Sequence[str], internal_pairs: Sequence[str],
                **kwargs: Any) -> Any:
        return func(*args, answers=_answers(answer_pairs, internal_pairs), **kwargs)
    return wrapper


def assessment_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--impact and --urgency: the priority from the desk's matrix."""
    func = click.option("--urgency", type=URGENCY,
                        help="Whether it is time-critical for them.")(func)
    return click.option("--impact", type=IMPACT, help="Who is hit: the whole hospital, some "
                        "departments, or a single user; with --urgency, sets the priority "
                        "from casectl.yaml's priority_matrix.")(func)


def intake_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """`new`'s triage options, folded into ``intake``; after an urgent case
    is registered, says on standard error to phone it in (standard output
    stays the bare id, for scripts)."""
    @assessment_options
    @answer_options
    @click.option("--urgent", is_flag=True, help="An urgent case: a criticality-1 application "
                  "is down. Critical; needs the options below, and --subject (optional) must "
                  "name the application.")
    @click.option("--application", metavar="APP", help="Urgent: the application that is down.")
    @click.option("--department", metavar="D", help="Urgent: the department hit.")
    @click.option("--users", metavar="TEXT", help="Urgent: the users hit.")
    @click.option("--servers", metavar="TEXT", help="Urgent: the servers (and PCs) involved.")
    @click.option("--competence", type=COMPETENCE, help="Urgent: who is needed.")
    @click.option("--contact", metavar="NAME", help="Urgent: whom to call (with --phone).")
    @functools.wraps(func)
    def wrapper(ctx: click.Context, *args: Any, impact: str | None, urgency: str | None,
                answers: triage.Answers, urgent: bool, application: str | None,
                department: str | None, users: str | None, servers: str | None,
                competence: str | None, contact: str | None, **kwargs: Any) -> Case:
        pieces = {"--application": application, "--department": department,
                  "--users": users, "--servers": servers, "--competence": competence,
                  "--contact": contact}
        given = [name for name, value in pieces.items() if value is not None]
        if given and not urgent:
            raise UsageError(", ".join(given) + (" belong" if len(given) > 1 else " belongs")
                             + " to an urgent case", "add --urgent, or "
                             "put the details in --description and --field")
        details = triage.Urgent(application=application, department=department, users=users,
                                servers=servers,
                                competence=competence.lower() if competence else None,
                                contact=contact) if urgent else None
        intake = triage.Intake(impact=impact.lower() if impact else None,
                               urgency=urgency.lower() if urgency else None,
                               answers=answers, urgent=details)
        case = func(ctx, *args, intake=intake, **kwargs)
        if case.get("urgent"):  # only then is the desk's configuration read again
            message = triage.phone_in_message(options.session(ctx).config, case)
            if message:
                click.echo(message, err=True)
        return case
    return wrapper


@click.command("triage")
@options.case_id_argument
@click.option("--team", metavar="TEAM", help="The team whose questions these answer (default: "
              "any team's).")
@answer_options
@options.change_output
@click.pass_context
def triage_(ctx: click.Context, case_id: str, team: str | None,
            answers: triage.Answers) -> Case:
    """Record answers to triage questions before a case goes to a team.

    A team's questions (casectl team set TEAM --question KEY=TEXT) must all
    be answered before a case is routed to it; answers live in the case and
    are shown by `casectl show`. Internal answers are never shown to the
    reporter.

    \b
    Example:
      casectl triage 06K3ZQ9TXM --team nettverk --answer socket=B4-117 \\
          --answer location="Haukeland, bygg 4, 2. etg" --internal-answer switch=sw-b4-02
    """
    return actions.triage_case(options.session(ctx), options.case_id(case_id), team, answers)

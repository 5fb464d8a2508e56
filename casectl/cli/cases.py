"""Commands that change cases: each turns its options into typed values,
calls one application function and prints the case id (or the case)."""

from __future__ import annotations

from typing import Sequence

import click

from .. import model
from ..app import actions, followup, triage as triage_app
from ..model import Case
from . import options, parsing, triage


@click.command()
@click.option("--subject", metavar="TEXT|-",
              help="One line saying what is wrong or wanted; - reads standard input "
              "(required, except with --urgent).")
@click.option("--description", metavar="TEXT|-", help="The details; - reads standard input.")
@click.option("--type", "type_", type=options.TYPE, help="Case type (default: incident).")
@click.option("--category", metavar="CATEGORY", help="Category (one of casectl.yaml's, when it lists any).")
@click.option("--reporter", metavar='"NAME <EMAIL>"', help="Who reported it.")
@click.option("--phone", metavar="PHONE", help="The reporter's phone number.")
@click.option("--org", metavar="ORG", help="The reporter's organisation or municipality.")
@click.option("--priority", type=options.PRIORITY, help="Priority (default: medium).")
@click.option("--team", metavar="TEAM", help="Team (default: the responsible agent's team).")
@click.option("--assignee", metavar="AGENT", help="Responsible agent (default: you).")
@click.option("--field", "fields", multiple=True, metavar="KEY=VALUE",
              help="A desk-defined field such as epj=12345 (repeatable).")
@click.option("--notify", is_flag=True, help="The reporter wants e-mail updates.")
@click.option("--protected", is_flag=True, help="The reporter's identity is protected "
              "(skyddad identitet, sperret adresse): their details and the case's texts are "
              "masked for agents who may not see them.")
@click.option("--start", is_flag=True, help="Start work on it at once.")
@click.option("--sla", metavar="LEVEL", help="SLA level (default: the --org's level from "
              "casectl.yaml, else the desk's default).")
@options.change_output
@click.pass_context
@triage.intake_options
def new(ctx: click.Context, subject: str | None, description: str | None, type_: str | None,
        category: str | None, reporter: str | None, phone: str | None, org: str | None,
        priority: str | None, team: str | None, assignee: str | None,
        fields: Sequence[str], notify: bool, protected: bool, start: bool, sla: str | None,
        intake: triage_app.Intake = triage_app.NO_INTAKE) -> Case:
    """Register a case and print its id.

    \b
    Example:
      casectl new --subject "DIPS Arena: ingen tilgang" --reporter "Ola Nordmann <ola@bergen.kommune.no>" \\
          --phone "+47 912 34 567" --org "Bergen kommune" --field epj=EPJ-2231 --field kommune=Bergen
      casectl new --subject "Nettet nede i bygg 4" --impact departments --urgency high
      casectl new --urgent --application DIPS --department "Akuttmottak" --users "alle" \\
          --servers "dips-app01" --competence clinical-applications --contact "Eva Berg" \\
          --phone "+47 917 22 418"
      casectl new --subject "Inlogg 1177" --reporter "Anna <anna@example.se>" --protected
    """
    return actions.new_case(
        options.session(ctx), subject=options.text(subject),
        description=options.text(description),
        type_=model.CaseType(type_.lower()) if type_ else None, category=category,
        reporter=parsing.reporter(reporter, phone, org),
        priority=model.Priority(priority.lower()) if priority else None, team=team,
        assignee=assignee, fields=parsing.fields(fields), notify=notify, start=start,
        intake=intake, sla=sla, protected=protected)


@click.command()
@options.case_id_argument
@click.option("--to", "to", metavar="AGENT", help="The agent who becomes responsible.")
@click.option("--team", metavar="TEAM", help="The team whose queue it goes to.")
@click.option("--note", metavar="TEXT|-", help="Why (kept in the log).")
@triage.answer_options
@options.change_output
@click.pass_context
def assign(ctx: click.Context, case_id: str, to: str | None, team: str | None,
           note: str | None, answers: triage_app.Answers) -> Case:
    """Give a case to an agent and/or a team.

    A team with triage questions gets the case once they are answered
    (--answer here, or casectl triage first).

    \b
    Example:
      casectl assign 06K3ZQ9TXM --to per --note "Per kjenner DIPS-oppsettet"
      casectl assign 06K3ZQ9TXM --team nettverk --answer socket=B4-117
    """
    return actions.assign(options.session(ctx), options.case_id(case_id),
        to, team, options.text(note), answers)


@click.command()
@options.case_id_argument
@click.option("--note", metavar="TEXT|-", help="A word on the takeover.")
@options.change_output
@click.pass_context
def take(ctx: click.Context, case_id: str, note: str | None) -> Case:
    """Take over a case yourself (the next shift's on-duty agent).

    \b
    Example:
      casectl --as ingrid take 06K3ZQ9TXM
    """
    return actions.take(options.session(ctx), options.case_id(case_id), options.text(note))


@click.command()
@options.case_id_argument
@click.option("--to", "to", required=True, metavar="AGENT|TEAM", help="Who gets it.")
@click.option("--note", required=True, metavar="TEXT|-",
              help="Who received it and why; for a team, name the person.")
@triage.answer_options
@options.change_output
@click.pass_context
def handover(ctx: click.Context, case_id: str, to: str, note: str | None,
             answers: triage_app.Answers) -> Case:
    """Hand a case over in person to an agent or a team, with a note.

    \b
    Example:
      casectl handover 06K3ZQ9TXM --to nettverk --note "Overdraget til Mette Jensen: switch i bygg 4"
    """
    return actions.handover(options.session(ctx), options.case_id(case_id), to,
                            options.text(note), answers)


@click.command("log")
@options.case_id_argument
@click.argument("text", metavar="TEXT|-")
@click.option("--internal", is_flag=True, help="An internal note, never shown to the reporter.")
@click.option("--email", is_flag=True, help="An e-mail to the reporter (recorded; sending "
              "comes with mail support).")
@click.option("--from-reporter", is_flag=True, help="What the reporter said (by phone, or "
              "pasted): marks the case unread for its agent until they show it.")
@options.change_output
@click.pass_context
def log_(ctx: click.Context, case_id: str, text: str, internal: bool, email: bool,
         from_reporter: bool) -> Case:
    """Add a work log entry, an internal note, an e-mail or the reporter's reply.

    Work log entries, e-mails and replies are visible to the reporter; notes
    never are.

    \b
    Example:
      casectl log 06K3ZQ9TXM "Tilgang gitt i DIPS, bedt bruker logge inn på nytt"
      echo "Intern: sjekk AD-gruppen" | casectl log 06K3ZQ9TXM - --internal
      casectl log 06K3ZQ9TXM "Fungerer fortsatt ikke etter omstart" --from-reporter
    """
    return actions.log(options.session(ctx), options.case_id(case_id), options.text(text),
                       internal=internal, email=email, from_reporter=from_reporter)


@click.command()
@options.case_id_argument
@click.argument("level", type=options.PRIORITY, metavar="[LEVEL]", required=False)
@click.option("--reason", metavar="TEXT|-", help="Why the priority changes.")
@triage.assessment_options
@options.change_output
@click.pass_context
def priority(ctx: click.Context, case_id: str, level: str | None, reason: str | None,
             impact: str | None, urgency: str | None) -> Case:
    """Set a case's priority: critical, high, medium or low, or from
    --impact and --urgency through the desk's priority matrix.

    \b
    Example:
      casectl priority 06K3ZQ9TXM high --reason "Hele avdelingen rammet"
      casectl priority 06K3ZQ9TXM --impact hospital --urgency high
    """
    return actions.set_priority(options.session(ctx), options.case_id(case_id),
                                model.Priority(level.lower()) if level else None,
                                options.text(reason),
                                impact=impact.lower() if impact else None,
                                urgency=urgency.lower() if urgency else None)


@click.command()
@options.case_id_argument
@click.option("--note", "reason", metavar="TEXT|-", help="A word on it.")
@options.change_output
@click.pass_context
def start(ctx: click.Context, case_id: str, reason: str | None) -> Case:
    """Start work on a case (from new or waiting).

    \b
    Example:
      casectl start 06K3ZQ9TXM
    """
    return actions.change_status(options.session(ctx), options.case_id(case_id),
        "start", options.text(reason))


@click.command()
@options.case_id_argument
@click.option("--reason", metavar="TEXT|-", help="What you are waiting for.")
@options.change_output
@click.pass_context
def wait(ctx: click.Context, case_id: str, reason: str | None) -> Case:
    """Mark a case as waiting for the reporter.

    \b
    Example:
      casectl wait 06K3ZQ9TXM --reason "Motfråga: vilket personnummer gäller?"
    """
    return actions.change_status(options.session(ctx), options.case_id(case_id),
        "wait", options.text(reason))


@click.command()
@options.case_id_argument
@click.option("--solution", metavar="TEXT|-", help="What fixed it (required unless the case "
              "is solved already and only --confirmed is given).")
@click.option("--confirmed", is_flag=True, help="The reporter confirmed it works: close it. "
              "Without this the case is solved, awaiting confirmation.")
@click.option("--unreachable", is_flag=True, help="Close a solved case whose reporter cannot "
              "be reached: after 3 unanswered contact attempts, by phone and e-mail, in 2 "
              "different calendar weeks (casectl contact).")
@options.change_output
@click.pass_context
def close(ctx: click.Context, case_id: str, solution: str | None, confirmed: bool,
          unreachable: bool) -> Case:
    """Solve a case, or close it once the reporter confirms.

    A solved case whose reporter cannot be reached closes with --unreachable
    after 3 unanswered contact attempts (casectl contact), by phone and
    e-mail, in 2 different calendar weeks.

    \b
    Example:
      casectl close 06K3ZQ9TXM --solution "Passord nullstilt, bruker logget inn" --confirmed
      casectl close 06K3ZQ9TXM --unreachable
    """
    if unreachable:
        followup.check_exclusive(confirmed=confirmed, unreachable=unreachable)
        return followup.close_unreachable(options.session(ctx), options.case_id(case_id),
                                          options.text(solution))
    return actions.close(options.session(ctx), options.case_id(case_id),
        options.text(solution), confirmed)


@click.command()
@options.case_id_argument
@click.option("--reason", required=True, metavar="TEXT|-", help="Why (agreed with the "
              "coordinator).")
@options.change_output
@click.pass_context
def reject(ctx: click.Context, case_id: str, reason: str | None) -> Case:
    """Reject a case, with the reason.

    \b
    Example:
      casectl reject 06K3ZQ9TXM --reason "Afvist: hører under regionens leverandør"
    """
    return actions.reject(options.session(ctx), options.case_id(case_id), options.text(reason))


@click.command()
@options.case_id_argument
@click.option("--reason", required=True, metavar="TEXT|-", help="Why it is open again.")
@options.change_output
@click.pass_context
def reopen(ctx: click.Context, case_id: str, reason: str | None) -> Case:
    """Reopen a solved, closed or rejected case.

    \b
    Example:
      casectl reopen 06K3ZQ9TXM --reason "Feilen kom tilbake etter omstart"
    """
    return actions.reopen(options.session(ctx), options.case_id(case_id), options.text(reason))

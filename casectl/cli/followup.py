"""Commands of the desk rules in seeds 000 and 004: tasks and contact
attempts (the flags they add to log, close, show and list live with those
commands)."""

from __future__ import annotations

import click

from .. import index, render
from ..app import followup
from ..errors import UsageError
from ..model import Case
from . import options


@click.group()
def task() -> None:
    """Delegate part of a case to an agent or a team, and follow it up.

    The case's owner stays responsible. A task given to someone other than
    the owner is visible to the reporter; its agent sees the case in
    `casectl list --assignee me`.

    \b
    Example:
      casectl task add 06K3ZQ9TXM --to nettverk --subject "Sjekk switch i bygg 4" --need "Portnummer"
      casectl task done 06K3ZQ9TXM T1 --note "Port 12 byttet"
      casectl task list --assignee me --open
    """


@task.command("add")
@options.case_id_argument
@click.option("--to", "to", required=True, metavar="AGENT|TEAM", help="Who does the task.")
@click.option("--subject", required=True, metavar="TEXT|-", help="What is to be done.")
@click.option("--need", metavar="TEXT|-", help="What the assignee needs to know or get.")
@click.option("--no-email", is_flag=True, help="Do not mail the task to its assignee.")
@click.option("--json", "as_json", is_flag=True, help="Print the whole case as JSON.")
@click.pass_context
def task_add(ctx: click.Context, case_id: str, to: str, subject: str, need: str | None,
             no_email: bool, as_json: bool) -> None:
    """Add a task to a case and print the task's id (T1, T2, ...).

    The task is mailed to its assignee (an agent's address; a team's
    shared address, else each member's) through the outbox, unless
    --no-email.

    \b
    Example:
      casectl task add 06K3ZQ9TXM --to per --subject "Bytt nettverkskabel" --need "Rom 3.114"
    """
    case, added = followup.add_task(options.session(ctx), options.case_id(case_id), to=to,
                                    subject=options.text(subject), need=options.text(need),
                                    email=not no_email)
    click.echo(render.case(options.shown(case), "json") if as_json else added["id"])


@task.command("done")
@options.case_id_argument
@click.argument("task_id", metavar="TASK")
@click.option("--note", metavar="TEXT|-", help="What was done.")
@options.change_output
@click.pass_context
def task_done(ctx: click.Context, case_id: str, task_id: str, note: str | None) -> Case:
    """Mark a task of a case done (TASK as T1, t1 or 1).

    \b
    Example:
      casectl task done 06K3ZQ9TXM T1 --note "Kabel byttet, bruker på nett igjen"
    """
    return followup.task_done(options.session(ctx), options.case_id(case_id), task_id,
                              options.text(note))


@task.command("list")
@click.option("--assignee", metavar="me|AGENT|TEAM", help="Only tasks given to this agent or "
              "team; me is you and your teams.")
@click.option("--open", "open_", is_flag=True, help="Only tasks not done yet.")
@options.output_options
@click.pass_context
def task_list(ctx: click.Context, assignee: str | None, open_: bool, fmt: str) -> None:
    """List tasks across all cases, oldest first.

    \b
    Example:
      casectl task list --assignee me --open
      casectl task list --assignee nettverk --format csv
    """
    session = options.session(ctx)
    found, warnings = followup.list_tasks(session, assignee=assignee, open_only=open_)
    for warning in warnings:
        click.echo(f"casectl: warning: {warning}", err=True)
    click.echo(render.rows(found, fmt, index.TASK_FIELDS,
                           ("case", "task", "status", "to", "case_status", "subject"),
                           view=options.view(session),
                           empty="no open tasks" if open_ else "no tasks"))


@click.command()
@options.case_id_argument
@click.option("--via", required=True, type=click.Choice(("phone", "email"),
              case_sensitive=False), help="How you tried to reach the reporter.")
@click.option("--reached", is_flag=True, help="The reporter answered.")
@click.option("--no-answer", is_flag=True, help="The reporter did not answer.")
@click.option("--note", metavar="TEXT|-", help="What was said or left (voicemail, e-mail "
              "subject); with --via email, the text of the mail.")
@click.option("--no-email", is_flag=True, help="With --via email: record an e-mail you sent "
              "yourself; casectl sends none.")
@options.change_output
@click.pass_context
def contact(ctx: click.Context, case_id: str, via: str, reached: bool, no_answer: bool,
            note: str | None, no_email: bool) -> Case:
    """Record an attempt to reach the reporter (internal to the desk).

    An unanswered attempt --via email is sent to the reporter as a mail
    (through the outbox, with the --note as its text), unless --no-email.

    A solved case whose reporter cannot be reached is closed with `close
    --unreachable` after three unanswered attempts, by phone and e-mail, in
    two different calendar weeks. A --reached attempt starts that count
    anew: the reporter answered, so the case waits for their confirmation.

    \b
    Example:
      casectl contact 06K3ZQ9TXM --via phone --no-answer --note "Lagt igjen beskjed"
    """
    if reached == no_answer:
        raise UsageError("say whether the reporter was reached" if not reached else
                         "--reached and --no-answer exclude each other",
                         "give one of --reached or --no-answer")
    return followup.record_contact(options.session(ctx), options.case_id(case_id),
                                   via=via.lower(), reached=reached, note=options.text(note),
                                   email=not no_email)

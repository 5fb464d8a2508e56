"""`casectl outbox`: the mail casectl queued (new --notify, log --email,
close, task add, contact --via email), and its delivery over SMTP; see
app/outbox.py."""

from __future__ import annotations

import json
from datetime import datetime

import click

from .. import render
from ..app import mailsend, outbox as outbox_app
from ..errors import Offline, OperationFailed
from . import options


@click.group()
def outbox() -> None:
    """The mail casectl sends: what waits, and sending it over SMTP.

    Actions never send mail themselves: they queue it in the outbox (a
    Maildir under .git/casectl/outbox) with their commit, and `outbox
    send` (from cron) delivers it over the SMTP server of casectl.yaml's
    mail.smtp, retrying what the server cannot take now.

    \b
    Example:
      casectl outbox list
      casectl outbox send
      casectl outbox retry 3f9c2a
    """


@outbox.command("send")
@click.option("--max", "max_count", type=click.IntRange(min=1), metavar="N",
              help="Send at most N messages this time.")
@click.option("--json", "as_json", is_flag=True, help="Print what was done as JSON.")
@click.pass_context
def send(ctx: click.Context, max_count: int | None, as_json: bool) -> None:
    """Deliver the mail that is due over SMTP (mail.smtp in casectl.yaml).

    Sent mail moves to the Maildir's cur/ (flag S). A temporary failure (a
    4xx answer, a refused connection, a timeout) stays queued and is tried
    again after 5 minutes, doubling up to 6 hours, for 5 days; a permanent
    refusal (5xx) fails at once (flag F; `outbox list` says why). The
    password comes from the environment variable mail.smtp.password_env
    names. Exit 0 when all due mail went, 5 when the server cannot be
    reached, 1 when a message was refused or deferred.

    \b
    Example:
      CASECTL_SMTP_PASSWORD=... casectl outbox send
      */5 * * * *  cd /srv/desk && casectl outbox send --max 200
    """
    report = mailsend.send(options.session(ctx), max_count)
    if as_json:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False))
    else:
        for row in report.sent:
            click.echo(f"sent {row['id']} ({row['kind']}, case {row['case']}) to "
                       f"{', '.join(row['to'] or [])}")
        for row in report.deferred:
            click.echo(f"deferred {row['id']} (case {row['case']}): {row['error']}; next try "
                       f"{row['next_try']}", err=True)
        for row in report.failed:
            click.echo(f"failed {row['id']} (case {row['case']}): {row['error']}", err=True)
        if not (report.sent or report.deferred or report.failed):
            click.echo("nothing to send" + (f" ({report.waiting} waiting for a later try)"
                                            if report.waiting else ""))
    if report.offline:
        raise Offline(report.offline + f"; {len(report.deferred)} message"
                      f"{'s' if len(report.deferred) != 1 else ''} stay queued",
                      "casectl outbox send tries again; 'casectl outbox list' shows what waits")
    if report.deferred or report.failed:
        raise OperationFailed(f"{len(report.deferred)} deferred, {len(report.failed)} failed",
                              "'casectl outbox list' says why; 'casectl outbox retry ID' makes "
                              "one due now")


@outbox.command("list")
@click.option("--all", "include_sent", is_flag=True, help="Show sent mail too.")
@options.output_options
@click.pass_context
def list_(ctx: click.Context, include_sent: bool, fmt: str) -> None:
    """Show the mail that waits or failed: why, and when it is tried next.

    \b
    Example:
      casectl outbox list
      casectl outbox list --format json
    """
    session = options.session(ctx)
    rows = outbox_app.listing(session, include_sent)
    view = options.view(session)
    if fmt == "table":  # times for reading: "now" when due, else the desk's local time
        rows = [{**row, "next_try": "" if not row["next_try"] else "now"
                 if datetime.fromisoformat(row["next_try"]) <= view.now
                 else render.local_time(row["next_try"], view.tz)} for row in rows]
    click.echo(render.rows(rows, fmt, outbox_app.LIST_FIELDS, outbox_app.TABLE_FIELDS,
                           view=view, empty="the outbox is empty"))


@outbox.command("retry")
@click.argument("message", metavar="ID")
@click.pass_context
def retry(ctx: click.Context, message: str) -> None:
    """Make a waiting or failed message due now.

    ID is as `outbox list` shows it (or a unique start of it), or the
    message's Message-ID; the next `outbox send` tries it.

    \b
    Example:
      casectl outbox retry 3f9c2a && casectl outbox send
    """
    done = outbox_app.retry(options.session(ctx), message)
    click.echo(f"{done['id']} (case {done['case']}) is due now")

"""Reports for auditors: `casectl report activity`."""

from __future__ import annotations

import click

from .. import render
from ..app import activity as activity_app
from . import options


@click.group()
def report() -> None:
    """Reports for auditors, from git alone.

    \b
    Example:
      casectl report activity --reporter anna@example.se --since 2026-11-01
    """


@report.command("activity")
@click.option("--reporter", "reporter", required=True, metavar="EMAIL",
              help="The person's e-mail address: their cases, and those that once were.")
@click.option("--since", metavar="DATE", help="Only acts from this date (the desk's midnight) "
              "or time on.")
@options.output_options
@click.pass_context
def activity(ctx: click.Context, reporter: str, since: str | None, fmt: str) -> None:
    """Who acted on a person's cases, when, and what (one row per commit).

    Lists every commit on the cases whose reporter has, or once had, the
    address EMAIL: its time, the case, the action, the agent who acted (the
    author) and who ran casectl (the committer). Auditors only, once roles
    are enforced. Reading a case is not recorded by git and is not listed
    (see the README, "Protected identity").

    \b
    Example:
      casectl report activity --reporter anna@example.se
      casectl report activity --reporter anna@example.se --since 2026-11-01 --format csv
    """
    session = options.session(ctx)
    rows = activity_app.activity(session, reporter,
                                 activity_app.parse_since(session, since))
    click.echo(render.rows(rows, fmt, activity_app.FIELDS, activity_app.TABLE_COLUMNS,
                           view=options.view(session), empty="no acts on that person's cases"))

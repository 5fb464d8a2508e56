"""Service levels: organisations and their SLA level, and the SLA clocks
of cases (casectl sla)."""

from __future__ import annotations

from typing import Any

import click

from .. import render
from ..app import orgs, slas
from ..errors import UsageError
from . import options

LEVEL_HELP = "The SLA level (casectl.yaml's sla.levels; default platinum, gold, silver, bronze)."


@click.group()
def org() -> None:
    """Organisations reporters belong to, and the SLA level agreed with each.

    A case from a reporter whose --org is listed gets that level (unless
    `new --sla` says otherwise); others get the desk's default.

    \b
    Example:
      casectl org add "Bergen kommune" --sla gold
    """


@org.command("add")
@click.argument("name", metavar="ORG")
@click.option("--sla", "level", required=True, metavar="LEVEL", help=LEVEL_HELP)
@click.pass_context
def org_add(ctx: click.Context, name: str, level: str) -> None:
    """Add an organisation with its SLA level to casectl.yaml.

    \b
    Example:
      casectl org add "Haukeland universitetssjukehus" --sla platinum
    """
    click.echo(orgs.add_org(options.session(ctx), name, level)["org"])


@org.command("set")
@click.argument("name", metavar="ORG")
@click.option("--sla", "level", required=True, metavar="LEVEL", help=LEVEL_HELP)
@click.pass_context
def org_set(ctx: click.Context, name: str, level: str) -> None:
    """Change an organisation's SLA level (cases already registered keep theirs).

    \b
    Example:
      casectl org set "Bergen kommune" --sla silver
    """
    click.echo(orgs.set_org(options.session(ctx), name, level)["org"])


@org.command("list")
@options.output_options
@click.pass_context
def org_list(ctx: click.Context, fmt: str) -> None:
    """List the organisations and their SLA levels.

    \b
    Example:
      casectl org list --format csv
    """
    click.echo(render.rows(orgs.list_orgs(options.session(ctx)), fmt, ["org", "sla"]))


CLOCK_FIELDS = ("target_minutes", "due", "done", "breached", "remaining_minutes",
                "paused_minutes")
OVERVIEW_FIELDS = ("id", "state", "level", "priority", "status", "due", "assignee", "subject")


@click.command("sla")
@click.argument("case_id", metavar="[ID]", required=False)
@click.option("--check", is_flag=True, help="Exit 1 if any open case has breached its SLA "
              "(how many, on stderr), else 0, silently (for cron and CI).")
@options.output_options
@click.pass_context
def sla_(ctx: click.Context, case_id: str | None, check: bool, fmt: str) -> None:
    """A case's SLA clocks; with no ID, the open cases breached or at risk.

    Reaction runs from arrival until an agent starts the case or writes to
    the reporter; resolution until it is solved, paused while waiting.
    Minutes are business minutes in the hours of the case's level; at risk
    is less than 20% of a target left. See the README's "Service levels".

    \b
    Example:
      casectl sla 06K3ZQ9TXM --format json
      casectl sla
      casectl sla --check || echo "SLA breached"
    """
    session = options.session(ctx)
    if check:
        if case_id:
            raise UsageError("--check looks at every open case; give no ID",
                             "casectl sla --check")
        breached, warnings = slas.breached_count(session)
        for warning in warnings:
            click.echo(f"casectl: warning: {warning}", err=True)
        if breached:
            click.echo(f"{breached} open case(s) have breached their SLA; 'casectl list "
                       "--breached' lists them", err=True)
            ctx.exit(1)
        return
    if case_id is None:
        rows, warnings = slas.overview(session)
        for warning in warnings:
            click.echo(f"casectl: warning: {warning}", err=True)
        click.echo(render.rows(rows, fmt, OVERVIEW_FIELDS, view=options.view(session),
                               empty="no open case is breached or at risk"))
        return
    report, notes = slas.case_clocks(session, options.case_id(case_id))
    for note in notes:
        click.echo(f"casectl: note: {note}", err=True)
    if fmt in ("json", "yaml"):
        click.echo(render.document(report, fmt))
        return
    rows = [{"clock": name, **{key: report[name].get(key) for key in CLOCK_FIELDS}}
            for name in ("reaction", "resolution")]
    if fmt == "csv":
        click.echo(render.rows([{"id": report["id"], "level": report["level"],
                                 "priority": report["priority"], **row} for row in rows],
                               "csv", ("id", "level", "priority", "clock", *CLOCK_FIELDS)))
        return
    view = options.view(session)
    click.echo(f"{report['id']}  level {report['level']}  priority {report['priority']}")
    click.echo(render.rows([_readable(row, view) for row in rows], "table",
                           ("clock", "target", "due by", "done at", "state", "left", "paused"),
                           view=view))


def _minutes(value: int | None) -> str:
    if value is None:
        return ""
    sign = "-" if value < 0 else ""
    return sign + (render.span(abs(value) * 60) if value else "0m")


def _readable(row: dict[str, Any], view: render.View) -> dict[str, Any]:
    """A clock as a person reads it: durations as 1h 30m, and one word
    for its state."""
    if row["target_minutes"] is None:
        state = "no target"
    elif row["breached"]:
        state = "breached"
    elif row["done"]:
        state = "met"
    elif row["remaining_minutes"] < row["target_minutes"] * 0.2:
        state = "at risk"
    else:
        state = "running"
    return {"clock": row["clock"], "target": _minutes(row["target_minutes"]),
            "due by": render.local_time(row["due"], view.tz),
            "done at": render.local_time(row["done"], view.tz),
            "state": state, "left": _minutes(row["remaining_minutes"]),
            "paused": _minutes(row.get("paused_minutes"))}

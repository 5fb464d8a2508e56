"""Service levels: organisations and their SLA level, and the SLA clocks
of cases (casectl sla)."""

from __future__ import annotations

import click

from .. import render
from ..app import orgs
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

"""Running the desk: `agent set`, `agent deactivate`, `agent activate`
(added to the agent group of cli/desk.py) and `category add/list`."""

from __future__ import annotations

from typing import Sequence

import click

from .. import render
from ..app import desk_admin
from ..roles import ROLES
from . import options
from .desk import agent

ROLE = click.Choice(ROLES)


@agent.command("set")
@click.argument("agent_id", metavar="AGENT")
@click.option("--name", metavar="NAME", help="A new full name.")
@click.option("--email", metavar="ADDR", help="A new e-mail address (each agent their own).")
@click.option("--team", "teams", multiple=True, metavar="TEAM", help="The agent's teams, "
              "replacing them (repeatable); the first is the home team.")
@click.option("--add-team", "add_teams", multiple=True, metavar="TEAM",
              help="Add a team (repeatable).")
@click.option("--remove-team", "remove_teams", multiple=True, metavar="TEAM",
              help="Remove a team (repeatable).")
@click.option("--role", "roles", multiple=True, type=ROLE, help="The agent's roles, "
              "replacing them (repeatable).")
@click.option("--add-role", "add_roles", multiple=True, type=ROLE, help="Add a role "
              "(repeatable).")
@click.option("--remove-role", "remove_roles", multiple=True, type=ROLE,
              help="Remove a role (repeatable).")
@click.pass_context
def agent_set(ctx: click.Context, agent_id: str, name: str | None, email: str | None,
              teams: Sequence[str], add_teams: Sequence[str], remove_teams: Sequence[str],
              roles: Sequence[str], add_roles: Sequence[str],
              remove_roles: Sequence[str]) -> None:
    """Change an agent's name, address, teams or roles in casectl.yaml.

    \b
    Example:
      casectl agent set per --email per.hansen@example.no --team nettverk --team servicedesk
      casectl agent set kari --add-role admin --remove-team nettverk
    """
    changed = desk_admin.set_agent(
        options.session(ctx), agent_id, name=name, email=email,
        teams=list(teams) if teams else None, add_teams=add_teams, remove_teams=remove_teams,
        roles=list(roles) if roles else None, add_roles=add_roles, remove_roles=remove_roles)
    click.echo(changed["id"])


@agent.command("deactivate")
@click.argument("agent_id", metavar="AGENT")
@click.pass_context
def agent_deactivate(ctx: click.Context, agent_id: str) -> None:
    """Deactivate an agent who left: they can no longer act or be given
    cases; every case's history keeps them. Their open cases are named.

    \b
    Example:
      casectl agent deactivate per
    """
    session = options.session(ctx)
    changed = desk_admin.set_active(session, agent_id, active=False)
    click.echo(changed["id"])
    still = desk_admin.open_cases_of(session, changed["id"])
    if still:
        shown = ", ".join(still[:10]) + (" ..." if len(still) > 10 else "")
        click.echo(f"casectl: {changed['id']} is still responsible for {len(still)} open "
                   f"case(s): {shown}; give them to others (casectl list --assignee "
                   f"{changed['id']}, casectl assign ID --to AGENT)", err=True)


@agent.command("activate")
@click.argument("agent_id", metavar="AGENT")
@click.pass_context
def agent_activate(ctx: click.Context, agent_id: str) -> None:
    """Reactivate a deactivated agent.

    \b
    Example:
      casectl agent activate per
    """
    click.echo(desk_admin.set_active(options.session(ctx), agent_id, active=True)["id"])


@click.group()
def category() -> None:
    """The categories cases are filed under (enforced once any are listed).

    \b
    Example:
      casectl category add Nettverk "Klinisk applikasjon" Tilgang
    """


@category.command("add")
@click.argument("categories", nargs=-1, required=True, metavar="CATEGORY...")
@click.pass_context
def category_add(ctx: click.Context, categories: Sequence[str]) -> None:
    """List categories in casectl.yaml; once any are listed, new and edit
    accept only those.

    \b
    Example:
      casectl category add Nettverk "Klinisk applikasjon"
    """
    for added in desk_admin.add_categories(options.session(ctx), categories):
        click.echo(added)


@category.command("list")
@options.output_options
@click.pass_context
def category_list(ctx: click.Context, fmt: str) -> None:
    """List the categories, with how many cases (and open ones) each has;
    categories cases use that are not listed are shown as such.

    \b
    Example:
      casectl category list --json
    """
    rows, warnings = desk_admin.list_categories(options.session(ctx))
    for warning in warnings:
        click.echo(f"casectl: warning: {warning}", err=True)
    if fmt in ("table", "csv"):
        rows = [{**row, "listed": "yes" if row["listed"] else "no"} for row in rows]
    click.echo(render.rows(rows, fmt, ["category", "listed", "open", "cases"],
                           empty="(no categories: any is accepted; list some with casectl "
                           "category add)"))

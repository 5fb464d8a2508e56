"""The desk: making a case repository, its teams and agents."""

from __future__ import annotations

from typing import Sequence

import click

from .. import render
from ..app import desk
from ..roles import ROLES
from . import options


@click.command()
@click.argument("directory", required=False, metavar="[DIR]")
@click.option("--desk", "desk_name", metavar="NAME", help="The desk's name (default: the "
              "directory's name).")
@click.option("--timezone", metavar="ZONE", help="IANA time zone for timestamps "
              "(default: Europe/Oslo).")
@click.option("--existing", is_flag=True, help="Lay casectl out in a directory that already "
              "has files or git history (they are left as they are).")
@click.option("--country", metavar="NO|SE|DK", help="Write the business calendar with this "
              "country's public holidays, and seed 004's service levels, into casectl.yaml.")
def init(directory: str | None, desk_name: str | None, timezone: str | None,
         existing: bool, country: str | None) -> None:
    """Make a case repository in DIR (default: here): a new or empty
    directory, or with --existing one that already holds files.

    \b
    Example:
      casectl init servicedesk --desk "Helse Vest IKT" --timezone Europe/Oslo --country NO
    """
    root = desk.init(directory, desk_name, timezone, existing, country)
    click.echo(f"Initialised case repository in {root}")


@click.group()
def team() -> None:
    """Teams cases are assigned to.

    \b
    Example:
      casectl team add nettverk --name "Nettverk" --email nett@example.no
    """


@team.command("add")
@click.argument("team_id", metavar="TEAM")
@click.option("--name", metavar="NAME", help="Display name (default: the id).")
@click.option("--email", metavar="ADDR", help="The team's shared address.")
@click.pass_context
def team_add(ctx: click.Context, team_id: str, name: str | None, email: str | None) -> None:
    """Add a team to casectl.yaml.

    \b
    Example:
      casectl team add k-ikt --name "Kommune-IKT"
    """
    click.echo(desk.add_team(options.session(ctx), team_id, name, email)["id"])


@team.command("list")
@options.output_options
@click.pass_context
def team_list(ctx: click.Context, fmt: str) -> None:
    """List the teams.

    \b
    Example:
      casectl team list --format csv
    """
    teams = options.session(ctx).config.teams
    data = [{"id": k, **v} for k, v in sorted(teams.items())]
    click.echo(render.rows(data, fmt, ["id", "name", "email"]))


@click.group()
def agent() -> None:
    """Agents (technicians) who act on cases.

    \b
    Example:
      casectl agent add kari --name "Kari Nordmann" --email kari@example.no --team servicedesk
    """


@agent.command("add")
@click.argument("agent_id", metavar="AGENT")
@click.option("--name", required=True, metavar="NAME", help="Full name.")
@click.option("--email", required=True, metavar="ADDR", help="E-mail address (also matched "
              "against git's user.email to know who is acting).")
@click.option("--team", "teams", multiple=True, metavar="TEAM", help="A team (repeatable); "
              "the first is the agent's home team.")
@click.option("--role", "roles", multiple=True,
              type=click.Choice(ROLES),
              help="A role (repeatable).")
@click.pass_context
def agent_add(ctx: click.Context, agent_id: str, name: str, email: str,
              teams: Sequence[str], roles: Sequence[str]) -> None:
    """Add an agent to casectl.yaml.

    \b
    Example:
      casectl agent add per --name "Per Hansen" --email per@example.no --team nettverk --role handler
    """
    click.echo(desk.add_agent(options.session(ctx), agent_id, name, email, teams, roles)["id"])


@agent.command("list")
@options.output_options
@click.pass_context
def agent_list(ctx: click.Context, fmt: str) -> None:
    """List the agents.

    \b
    Example:
      casectl agent list --json
    """
    agents = options.session(ctx).config.agents
    data = [{"id": k, **v, "teams": list(v.get("teams") or []),
             "roles": list(v.get("roles") or [])} for k, v in sorted(agents.items())]
    if fmt in ("table", "csv"):  # a cell holds text; JSON and YAML keep the lists
        data = [{**row, "teams": ",".join(row["teams"]), "roles": ",".join(row["roles"])}
                for row in data]
    click.echo(render.rows(data, fmt, ["id", "name", "email", "teams", "roles"]))

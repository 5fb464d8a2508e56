"""The desk: making a case repository, its teams and agents."""

from __future__ import annotations

from typing import Sequence

import click

from .. import __version__, render
from ..app import desk
from ..roles import ROLES
from . import options, triage as triage_cli


@click.command()
@click.argument("directory", required=False, metavar="[DIR]")
@click.option("--desk", "desk_name", metavar="NAME", help="The desk's name (default: the "
              "directory's name).")
@click.option("--timezone", metavar="ZONE", help="IANA time zone for timestamps "
              "(default: Europe/Oslo).")
@click.option("--phone", metavar="PHONE", help="The desk's phone number, for urgent cases "
              "to be phoned in (desk.phone in casectl.yaml).")
@click.option("--existing", is_flag=True, help="Lay casectl out in a directory that already "
              "has files or git history (they are left as they are).")
@click.option("--country", metavar="NO|SE|DK", help="Write the business calendar with this "
              "country's public holidays, and seed 004's service levels, into casectl.yaml.")
@click.option("--ci", type=click.Choice(["github", "gitlab"], case_sensitive=False),
              help="Also write the CI file that checks every push (see 'casectl ci').")
def init(directory: str | None, desk_name: str | None, timezone: str | None,
         phone: str | None, existing: bool, country: str | None, ci: str | None) -> None:
    """Make a case repository in DIR (default: here): a new or empty
    directory, or with --existing one that already holds files.

    \b
    Example:
      casectl init servicedesk --desk "Helse Vest IKT" --timezone Europe/Oslo --country NO
      casectl init servicedesk --ci github
    """
    root = desk.init(directory, desk_name, timezone, existing, phone=phone, country=country,
                     ci=ci.lower() if ci else None)
    click.echo(f"Initialised case repository in {root}")


@click.command()
@click.pass_context
def upgrade(ctx: click.Context) -> None:
    """Take this casectl's schemas into the desk (one commit).

    A desk validates against the schemas/ that init copied; a newer
    casectl's events and settings are refused there until the desk takes
    the new schemas. Older case files stay valid under them. The lines
    init writes to .gitattributes today (casectl.yaml merged by casectl's
    driver) are added in the same commit.

    \b
    Example:
      casectl upgrade && git push
    """
    obj = ctx.find_root().obj
    changed = desk.upgrade(obj["repo"], obj["as_agent"])
    if changed:
        click.echo(f"Updated {', '.join(changed)} to casectl {__version__}'s")
    else:
        click.echo(f"The desk's schemas are casectl {__version__}'s already")


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
@click.option("--question", "questions", multiple=True, metavar="KEY=TEXT",
              help="A triage question answered before a case is routed to the team "
              "(repeatable).")
@click.option("--triage", is_flag=True, help="The desk's triage team: cases needing "
              "clarification go there first, without questions.")
@click.pass_context
def team_add(ctx: click.Context, team_id: str, name: str | None, email: str | None,
             questions: Sequence[str], triage: bool) -> None:
    """Add a team to casectl.yaml.

    \b
    Example:
      casectl team add k-ikt --name "Kommune-IKT"
      casectl team add nettverk --question socket="Kontaktnummer (uttak)?" \\
          --question location="Sykehus, bygg, etasje?"
      casectl team add ledelse --name Trakta --triage
    """
    click.echo(desk.add_team(options.session(ctx), team_id, name, email,
                             triage_cli.pairs(questions, "--question", 'socket="Socket number?"'),
                             triage)["id"])


@team.command("set")
@click.argument("team_id", metavar="TEAM")
@click.option("--name", metavar="NAME", help="New display name.")
@click.option("--email", metavar="ADDR", help="New shared address.")
@click.option("--question", "questions", multiple=True, metavar="KEY=TEXT",
              help="Add a triage question, or reword the one with that key (repeatable).")
@click.option("--remove-question", "remove", multiple=True, metavar="KEY",
              help="Remove a triage question (repeatable).")
@click.option("--triage/--no-triage", default=None, help="Make it the desk's triage team, or "
              "not.")
@click.pass_context
def team_set(ctx: click.Context, team_id: str, name: str | None, email: str | None,
             questions: Sequence[str], remove: Sequence[str], triage: bool | None) -> None:
    """Change a team in casectl.yaml: name, address, triage questions.

    \b
    Example:
      casectl team set backup --question path="Sti og filnavn?" \\
          --question overwrite="Kan gjeldende fil overskrives?" --remove-question old
    """
    click.echo(desk.set_team(options.session(ctx), team_id, name=name, email=email,
                             questions=triage_cli.pairs(questions, "--question",
                                                        'socket="Socket number?"'),
                             remove_questions=remove, triage=triage)["id"])


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
    data = [{"id": k, **v, "triage": bool(v.get("triage")),
             "questions": dict(v.get("questions") or {})} for k, v in sorted(teams.items())]
    if fmt in ("table", "csv"):  # a cell holds the keys; JSON and YAML keep the questions
        data = [{**row, "questions": ",".join(row["questions"])} for row in data]
    if fmt == "table":  # people read "yes" on the triage team's row, nothing on the others
        data = [{**row, "triage": "yes" if row["triage"] else ""} for row in data]
    click.echo(render.rows(data, fmt, ["id", "name", "email", "triage", "questions"]))


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
@click.option("--service", is_flag=True, help="A service identity (a script, the mail "
              "intake): it may act in other agents' names with --as.")
@click.pass_context
def agent_add(ctx: click.Context, agent_id: str, name: str, email: str,
              teams: Sequence[str], roles: Sequence[str], service: bool) -> None:
    """Add an agent to casectl.yaml.

    \b
    Example:
      casectl agent add per --name "Per Hansen" --email per@example.no --team nettverk --role handler
      casectl agent add intake --name "Mail intake" --email intake@example.no --service
    """
    click.echo(desk.add_agent(options.session(ctx), agent_id, name, email, teams, roles,
                              service)["id"])


@agent.command("list")
@options.output_options
@click.pass_context
def agent_list(ctx: click.Context, fmt: str) -> None:
    """List the agents.

    \b
    Example:
      casectl agent list --json
    """
    config = options.session(ctx).config
    data = [{"id": k, **v, "teams": list(v.get("teams") or []),
             "roles": list(v.get("roles") or []), "active": config.is_active(k)}
            for k, v in sorted(config.agents.items())]
    if fmt in ("table", "csv"):  # a cell holds text; JSON and YAML keep the lists
        data = [{**row, "teams": ",".join(row["teams"]), "roles": ",".join(row["roles"]),
                 "active": "yes" if row["active"] else "no"} for row in data]
    click.echo(render.rows(data, fmt, ["id", "name", "email", "teams", "roles", "active"]))

"""Commands that read: show, list, history, search and validate."""

from __future__ import annotations

import sys
import time
from typing import Sequence

import click

from .. import model, render
from ..app import followup, queries, validation
from ..errors import UsageError
from . import options


@click.command()
@options.case_id_argument
@click.option("--reporter-view", is_flag=True, help="Only what the reporter may see: no "
              "internal notes, internal tasks, contact attempts or assignment.")
@options.output_options
@click.pass_context
def show(ctx: click.Context, case_id: str, reporter_view: bool, fmt: str) -> None:
    """Show a case: its header, its times and its log.

    ID is a case id or its first characters (at least 4) when they pick one
    case. Times are in the desk's time zone. Showing a case marks the
    reporter's replies in it read for you (--reporter-view does not). A
    case whose reporter is protected shows you the person and its texts as
    [protected] unless you may see them (README: "Protected identity").

    \b
    Example:
      casectl show 06K3ZQ9TXM --format yaml
      casectl show 06K3ZQ9TXM --reporter-view
    """
    session = options.session(ctx)
    if reporter_view:
        click.echo(render.reporter_case(followup.reporter_view(
            session, options.case_id(case_id)), fmt, options.view(session)))
        return
    click.echo(render.case(queries.show(session, options.case_id(case_id)), fmt,
                           options.view(session)))


@click.command("list")
@click.option("--status", "statuses", multiple=True, type=options.STATUS,
              help="Only this status (repeatable); overrides --open/--closed/--all.")
@click.option("--open", "open_", is_flag=True,
              help="Open cases: new, started, waiting, solved (the default).")
@click.option("--closed", is_flag=True, help="Closed and rejected cases.")
@click.option("--all", "all_", is_flag=True, help="Every case.")
@click.option("--team", metavar="TEAM", help="Only this team's cases.")
@click.option("--assignee", metavar="AGENT|me", help="Only this agent's cases; me is you.")
@click.option("--priority", "priorities", multiple=True, type=options.PRIORITY,
              help="Only this priority (repeatable).")
@click.option("--type", "types", multiple=True, type=options.TYPE,
              help="Only this type (repeatable).")
@click.option("--category", metavar="CATEGORY", help="Only this category.")
@click.option("--breached", is_flag=True, help="Only cases past an SLA target.")
@click.option("--at-risk", is_flag=True, help="Only cases with less than 20% of an SLA "
              "target left, not yet breached.")
@click.option("--sort", type=click.Choice(model.SORT_FIELDS),
              default="priority", show_default=True, help="Order of the list (due: the "
              "soonest SLA deadline first).")
@click.option("--limit", type=click.IntRange(min=1), metavar="N", help="At most N cases.")
@click.option("--unread", is_flag=True, help="Only your cases with a reply from the reporter "
              "you have not shown yet.")
@options.output_options
@click.pass_context
def list_(ctx: click.Context, statuses: Sequence[str], open_: bool, closed: bool, all_: bool,
          team: str | None,
          assignee: str | None, priorities: Sequence[str], types: Sequence[str],
          category: str | None, breached: bool, at_risk: bool, sort: str, limit: int | None,
          unread: bool, fmt: str) -> None:
    """List cases, open ones by default, most urgent first.

    The table fits the terminal (COLUMNS when set; 100 columns when the
    output is not a terminal); `updated` is how long ago the case last
    changed; `due` the time left to the next SLA deadline (-2h: two hours
    overdue; empty while waiting or without a running target). --format
    json, yaml and csv give every field, exactly.

    Your cases with a reply from the reporter that you have not shown yet
    are unread: bold on a terminal, marked * before the id with NO_COLOR
    set or when the output is not a terminal, and "unread": true in JSON.

    \b
    Example:
      casectl list --assignee me --priority critical --priority high
    """
    # Three flags, not one option with three flag values: that would quietly
    # take the last of --open --closed, where the user meant something else.
    scopes = [name for name, given in (("open", open_), ("closed", closed), ("all", all_))
              if given]
    if len(scopes) > 1:
        raise UsageError(" and ".join(f"--{name}" for name in scopes) + " exclude each other",
                         "give one of --open (the default), --closed or --all")
    scope = scopes[0] if scopes else "open"
    session = options.session(ctx)
    found, warnings = queries.list_cases(
        session, statuses=[s.lower() for s in statuses], scope=scope, team=team,
        assignee=assignee, priorities=[p.lower() for p in priorities],
        types=[t.lower() for t in types], category=category, sort=sort, limit=limit,
        unread=unread, breached=breached, at_risk=at_risk,
        fields=model.LIST_TABLE_COLUMNS if fmt == "table" else model.LIST_FIELDS)
    for warning in warnings:
        click.echo(f"casectl: warning: {warning}", err=True)
    filtered = bool(statuses or team or assignee or priorities or types or category or unread
                    or breached or at_risk)
    click.echo(render.rows(found, fmt, model.LIST_FIELDS + ("unread", "protected"),
                           model.LIST_TABLE_COLUMNS,
                           view=options.view(session),
                           empty="no unread cases" if unread else
                           _nothing_listed(scope, bool(statuses), filtered)))


def _nothing_listed(scope: str, by_status: bool, filtered: bool) -> str:
    """What an empty list says, and where to look next: closed cases leave
    the default list, and a technician should not think they are lost."""
    what = "cases" if by_status else {"open": "open cases", "closed": "closed or rejected "
                                      "cases", "all": "cases"}[scope]
    said = f"no {what} match these filters" if filtered else f"no {what}"
    if scope == "open" and not by_status:
        said += "; 'casectl list --all' shows closed ones too"
    return said


HISTORY_FIELDS = ("at", "kind", "by", "text", "commit", "author", "action", "event")


@click.command()
@options.case_id_argument
@options.output_options
@click.pass_context
def history(ctx: click.Context, case_id: str, fmt: str) -> None:
    """A case's timeline: events and the commits that recorded them.

    \b
    Example:
      casectl history 06K3ZQ9TXM --format csv
    """
    session = options.session(ctx)
    rows = queries.history(session, options.case_id(case_id))
    if fmt == "table":  # a line under the event for each file it lists
        rows = [shown for row in rows for shown in
                [row, *({"text": line} for line in row.get("attached") or ())]]
    click.echo(render.rows(rows, fmt, HISTORY_FIELDS + (("attachments", "original")
                                                        if fmt in ("json", "yaml") else ()),
                           ("at", "by", "kind", "text", "commit", "action"),
                           view=options.view(session)))


@click.command()
@click.argument("text", metavar="TEXT|-")
@click.option("--limit", type=click.IntRange(min=1), metavar="N", help="At most N cases.")
@options.output_options
@click.pass_context
def search(ctx: click.Context, text: str, limit: int | None, fmt: str) -> None:
    """Find cases by words, closed ones too.

    Searches subject, description, reporter, fields, log and solution.
    Cases with a protected reporter that you may not see are not searched.

    \b
    Example:
      casectl search "skrivar Solna"
    """
    session = options.session(ctx)
    found, warnings = queries.search(session, options.text(text) or "", limit)
    for warning in warnings:
        click.echo(f"casectl: warning: {warning}", err=True)
    click.echo(render.rows(found, fmt, model.LIST_FIELDS + ("match", "protected"),
                           ("id", "status", "priority", "subject", "match"),
                           view=options.view(session)))


# validate's formats: the reading ones, and two for CI (see render.github_annotations, render.junit)
VALIDATE_FORMATS = (*render.FORMATS, "github", "junit")


@click.command()
@click.argument("paths", nargs=-1, metavar="[PATH ...]")
@click.option("--changed-since", metavar="REV", help="Only casectl.yaml and the case files "
              "added or changed from commit REV to HEAD (a push's range in CI).")
@click.option("--format", "fmt", type=click.Choice(VALIDATE_FORMATS, case_sensitive=False),
              default="table", show_default=True, help="Output format; github: GitHub "
              "Actions annotations, junit: a JUnit XML report.")
@click.option("--json", "as_json", is_flag=True, help="Short for --format json.")
@click.pass_context
def validate(ctx: click.Context, paths: Sequence[str], changed_since: str | None, fmt: str,
             as_json: bool) -> None:
    """Check case files against the schemas and the rules.

    Default: the whole repository and casectl.yaml. With --changed-since,
    casectl.yaml and the case files a range of commits added or changed
    (every case file when the schemas changed): CI's check of a push.
    Exit 4 if anything is invalid, 2 if REV names no commit here.

    \b
    Example:
      casectl validate
      casectl validate cases/2026/11 --format json
      casectl validate --changed-since origin/main --format github
      casectl validate --format junit > casectl-validate.xml
    """
    obj = ctx.find_root().obj
    fmt = "json" if as_json else fmt.lower()
    bar = None
    progress = None
    if fmt == "table" and sys.stderr.isatty():
        def progress(done: int, total: int) -> None:
            nonlocal bar
            if total < 500:
                return
            if bar is None:
                bar = click.progressbar(length=total, label="validating", file=sys.stderr)
                bar.__enter__()
            bar.update(done - bar.pos)
    started = time.monotonic()
    try:
        report = validation.validate(obj["repo"], paths, progress, changed_since)
    finally:
        if bar is not None:
            bar.__exit__(None, None, None)
    for note in report.notes:
        click.echo(f"casectl: {note}", err=True)
    summary = (f"{report.checked} file(s) checked: all valid" if report.valid else
               f"{report.checked} file(s) checked: {len(report.problems)} problem(s) in "
               f"{report.invalid_files} file(s)")
    if fmt in ("json", "yaml"):
        click.echo(render.document(report.to_dict(), fmt))
    elif fmt == "csv":
        click.echo(render.rows([p.to_dict() for p in report.problems], "csv",
                               ["file", "line", "field", "message"]))
    elif fmt == "github":
        if report.problems:
            click.echo(render.github_annotations(
                [p.to_dict() for p in validation.located(report)], "casectl validate"))
        click.echo(summary, err=True)
    elif fmt == "junit":
        problems = validation.located(report)
        click.echo(render.junit(report.files, [p.to_dict() for p in problems],
                                "casectl validate", time.monotonic() - started))
        # The report goes to a file; the job's log should say what is wrong too.
        for problem in problems:
            click.echo(str(problem), err=True)
        click.echo(summary, err=True)
    else:
        for problem in report.problems:
            click.echo(str(problem))
        click.echo(summary, err=not report.valid)
    if not report.valid:
        ctx.exit(4)

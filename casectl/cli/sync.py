"""`casectl sync`: share this clone's commits with the desk's remote."""

from __future__ import annotations

import json

import click

from ..app import sync as syncing
from . import options


@click.command("sync")
@click.option("--remote", metavar="NAME", help="The remote to sync with (default: the "
              "branch's upstream remote, else origin).")
@click.option("--json", "as_json", is_flag=True, help="Print what was done as JSON.")
@click.pass_context
def sync_(ctx: click.Context, remote: str | None, as_json: bool) -> None:
    """Fetch, merge (cases by their events) and push; retry if beaten.

    Case files and casectl.yaml merge through casectl's merge driver; a
    push refused because another clone pushed first is followed by another
    fetch and merge, a few times. A case id another clone gave to a
    different case is renumbered here first (a commit of its own; stderr
    says "case OLD is now NEW"). Nothing is forced and nothing is lost.
    Exit 5 when the remote cannot be reached: local commits wait for the
    next sync. Exit 1 when the two sides contradict each other: the merge
    is undone and the files and reasons are named.

    \b
    Example:
      casectl sync
      casectl sync --remote upstream --json
    """
    report = syncing.sync(options.session(ctx), remote)
    if as_json:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False))
        return
    where = f"{report.remote}/{report.remote_branch}"
    if not report.received and not report.sent:
        click.echo(f"{report.branch} and {where} are the same already")
    else:
        click.echo(f"synced {report.branch} with {where}: {_commits(report.received)} in"
                   f"{' (merged)' if report.merged else ''}, {_commits(report.sent)} out")


def _commits(count: int) -> str:
    return f"{count} commit{'s' if count != 1 else ''}"

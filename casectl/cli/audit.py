"""`casectl audit` and `casectl hook`: the history judged by the rules, on a
clone and on the server."""

from __future__ import annotations

import sys

import click

from .. import render
from ..app import audit as audits, hook as hooks


@click.command()
@click.option("--since", metavar="REV", help="Only the commits after REV (REV..HEAD), e.g. "
              "the last audited release tag.")
@click.option("--format", "fmt", type=click.Choice(("table", "json"), case_sensitive=False),
              default="table", show_default=True, help="Output format.")
@click.option("--json", "as_json", is_flag=True, help="Short for --format json.")
@click.option("--no-cache", is_flag=True, help="Check every commit again, ignoring the "
              "results cached under .git/casectl.")
@click.pass_context
def audit(ctx: click.Context, since: str | None, fmt: str, as_json: bool,
          no_cache: bool) -> None:
    """Prove from git history that the desk's rules were kept.

    Every commit that touched casectl.yaml or a case file is judged under
    the casectl.yaml in force before it: events only appended, no case file
    deleted, header == replay(log), Case/Action/Agent trailers that agree
    with the events, an author who is a listed agent whose role allowed the
    action, configuration changed only by admins (roles granted only by a
    permission-admin), signed commits when desk.require_signed is set.
    Results are cached by commit id: a second run checks only new commits.
    Exit 4 when anything is found.

    \b
    Example:
      casectl audit
      casectl audit --since v2026.11 --format json
    """
    report = audits.audit(ctx.find_root().obj["repo"], since, use_cache=not no_cache)
    if as_json or fmt.lower() == "json":
        click.echo(render.document(report.to_dict(), "json"))
    else:
        # One finding a line, never shortened to fit: an auditor reads all of it.
        if report.findings:
            click.echo(f"{'COMMIT':<10}  {'CASE':<10}  {'RULE':<13}  MESSAGE")
        for f in report.findings:
            click.echo(f"{f.commit[:10]:<10}  {f.case or '-':<10}  {f.rule:<13}  {f.message}")
        summary = (f"{report.commits} commit(s) audited ({report.checked} checked now, "
                   f"{report.commits - report.checked} from the cache): ")
        summary += ("no findings" if report.clean else
                    f"{len(report.findings)} finding(s)")
        click.echo(summary, err=not report.clean)
    if not report.clean:
        ctx.exit(4)


@click.group()
def hook() -> None:
    """Refuse bad pushes on the server: a pre-receive hook.

    \b
    Example:
      casectl hook install --bare /srv/git/desk.git
    """


@hook.command()
@click.option("--bare", metavar="DIR", help="The bare repository to install into "
              "(default: the current directory, when it is one).")
@click.option("--force", is_flag=True, help="Replace a pre-receive hook that is not casectl's.")
def install(bare: str | None, force: bool) -> None:
    """Install the pre-receive hook into a bare repository.

    The hook runs `casectl hook pre-receive` with the Python that runs this
    casectl (by absolute path), so the server needs no casectl on PATH.

    \b
    Example:
      casectl hook install --bare /srv/git/desk.git
    """
    target = hooks.install(bare, force)
    click.echo(str(target))


@hook.command("pre-receive")
def pre_receive() -> None:
    """What the installed hook runs: reads "OLD NEW REF" lines on stdin.

    Judges the pushed commits only (the audit's rules, validation, and the
    pusher: see the README's "The server hook"); exit 1 refuses the push,
    and the reasons appear in the technician's `git push` output.

    \b
    Example:
      echo "$OLD $NEW refs/heads/main" | casectl hook pre-receive
    """
    report = hooks.pre_receive(sys.stdin.read().splitlines())
    for line in hooks.refusal_lines(report):
        click.echo(line, err=True)
    if not report.accepted:
        click.get_current_context().exit(1)

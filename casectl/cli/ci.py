"""`casectl ci`: the CI file that checks every push of a case repository."""

from __future__ import annotations

import click

from ..app import ci as ci_app
from . import options

PROVIDER = click.Choice(sorted(ci_app.PROVIDERS), case_sensitive=False)


@click.command()
@click.argument("provider", type=PROVIDER, metavar="github|gitlab")
@click.option("--force", is_flag=True, help="Replace a CI file of that name that differs "
              "(the old one stays in git history).")
@click.option("--print", "print_only", is_flag=True, help="Print the file instead of "
              "writing it (to merge into a CI file of the desk's own).")
@click.pass_context
def ci(ctx: click.Context, provider: str, force: bool, print_only: bool) -> None:
    """Write the CI file that checks every push, and commit it.

    github writes .github/workflows/casectl.yml, gitlab .gitlab-ci.yml:
    on every push they install casectl (the version that wrote the file;
    a CASECTL_REQUIREMENT variable in the CI's settings pins another), run
    `casectl validate --changed-since` the commit before the push (all of
    it on a new branch) and `casectl audit` over the same range. A new desk
    gets it from `casectl init --ci github|gitlab`.

    \b
    Example:
      casectl ci github && git push
      casectl ci gitlab --print > ci/casectl.yml  # for an include: in .gitlab-ci.yml
    """
    provider = provider.lower()
    if print_only:
        click.echo(ci_app.workflow(provider), nl=False)
        return
    path, changed = ci_app.install(options.session(ctx), provider, force)
    if changed:
        click.echo(f"Wrote and committed {path}; push it to run it")
    else:
        click.echo(f"{path} is casectl's already")

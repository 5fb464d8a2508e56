"""casectl's command group: wires the commands of cli/desk.py, cli/cases.py
and cli/reading.py together, and turns errors into messages and exit codes
in one place, ``CasectlGroup.invoke``."""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from .. import __version__
from ..errors import EXIT_BUG, CasectlError
from . import cases, desk, desk_admin, edit, followup, reading, sla, triage

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class CasectlGroup(click.Group):
    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # A byte that is not UTF-8 reaches Python as a lone surrogate and
        # would fail deep inside the YAML dump; refuse it at the door.
        for arg in args:
            try:
                arg.encode("utf-8")
            except UnicodeEncodeError:
                raise click.UsageError(f"{arg.encode('utf-8', 'replace').decode()!r} is not "
                                       "valid UTF-8 text; check the terminal's encoding", ctx)
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except CasectlError as exc:
            click.echo(f"casectl: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except BrokenPipeError:  # `casectl list | head` is not an error
            sys.stderr.close()
            ctx.exit(0)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as exc:  # a bug: say so plainly, keep the details for the report
            if os.environ.get("CASECTL_DEBUG") == "1":
                raise
            # One line: the exception's own text may be long or span lines,
            # and it is in the report with the traceback.
            click.echo(f"casectl: internal error ({type(exc).__name__}), a bug in casectl: "
                       f"{_bug_report(exc)}", err=True)
            ctx.exit(EXIT_BUG)


def _bug_report(exc: BaseException) -> str:
    """Write the traceback where the user can find it; say where."""
    import tempfile  # only a bug pays for these imports (~20 ms)
    import time
    import traceback

    details = "".join(traceback.format_exception(exc))
    try:
        handle, path = tempfile.mkstemp(prefix=f"casectl-bug-{time.strftime('%Y%m%d-%H%M%S')}-",
                                        suffix=".txt")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(f"casectl {__version__}, Python {sys.version.split()[0]}\n"
                      f"command: {' '.join(sys.argv)}\n\n{details}")
        where = f"the details are in {path}"
    except OSError:
        where = "run it again with CASECTL_DEBUG=1 for the details"
    return f"please report it to the casectl maintainers; {where}"


@click.group(cls=CasectlGroup, context_settings=CONTEXT)
@click.option("--repo", metavar="DIR", help="The case repository (default: CASECTL_REPO, "
              "else the nearest parent directory with casectl.yaml).")
@click.option("--as", "as_agent", metavar="AGENT", help="Act as this agent (default: "
              "CASECTL_AGENT, else your git identity).")
@click.version_option(__version__, prog_name="casectl")
@click.pass_context
def cli(ctx: click.Context, repo: str | None, as_agent: str | None) -> None:
    """Service-desk cases as YAML files in git: every action a commit.

    \b
    Example:
      casectl init desk && cd desk
      casectl new --subject "DIPS starter ikke" --reporter "Ola <ola@example.no>"
    """
    ctx.obj = {"repo": repo, "as_agent": as_agent}


for _command in (desk.init, desk.upgrade, desk.team, desk.agent,
                 cases.new, reading.show, reading.list_, cases.assign, cases.take,
                 cases.handover, cases.log_, cases.priority, cases.start, cases.wait,
                 cases.close, cases.reject, cases.reopen, reading.history, reading.search,
                 reading.validate, edit.edit, desk_admin.category, triage.triage_,
                 followup.task, followup.contact, sla.org, sla.sla_):
    cli.add_command(_command)


def main() -> None:
    """The console entry point.

    Leaves with os._exit once the command is done and its output flushed:
    by then every file is fsynced and closed, and skipping the
    interpreter's teardown saves 8-13 ms of every command.
    """
    try:
        cli(prog_name="casectl", standalone_mode=True)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except Exception:  # a bug re-raised for CASECTL_DEBUG=1: the traceback, and still 70
        import traceback

        traceback.print_exc()
        code = EXIT_BUG
    if sys.getprofile() or sys.gettrace():  # a profiler, coverage or a debugger wants the exit
        sys.exit(code)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (BrokenPipeError, ValueError):
        pass
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    main()

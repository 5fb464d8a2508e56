"""casectl's command group: wires the commands of the cli/ modules together
(``COMMANDS``), and turns errors into messages and exit codes in one place,
``CasectlGroup.invoke``."""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from .. import __version__
from ..errors import EXIT_BUG, CasectlError

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

# Command name -> "module:attribute" under casectl.cli. A command's module
# is imported only when that command runs (as click's docs do with a lazy
# group): each module pulls in its part of the application, and importing
# them all costs every command 8-10 ms, a tenth of an action at 10,000
# cases. `casectl --help` imports them all.
COMMANDS = {
    "init": "desk:init", "upgrade": "desk:upgrade", "team": "desk:team",
    "agent": "desk_admin:agent",  # desk_admin adds set/activate/deactivate to desk's group
    "new": "cases:new", "show": "reading:show", "list": "reading:list_",
    "assign": "cases:assign", "take": "cases:take", "handover": "cases:handover",
    "log": "cases:log_", "priority": "cases:priority", "start": "cases:start",
    "wait": "cases:wait", "close": "cases:close", "reject": "cases:reject",
    "reopen": "cases:reopen", "history": "reading:history", "search": "reading:search",
    "validate": "reading:validate", "edit": "edit:edit", "category": "desk_admin:category",
    "triage": "triage:triage_", "task": "followup:task", "contact": "followup:contact",
    "org": "sla:org", "sla": "sla:sla_", "merge-driver": "merging:merge_driver",
    "report": "report:report",
    "ci": "ci:ci",
    "sync": "sync:sync_",
    "audit": "audit:audit", "hook": "audit:hook",
    "intake": "intake:intake", "outbox": "outbox:outbox",
}


class CasectlGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in COMMANDS and cmd_name not in self.commands:
            import importlib

            module, _, attribute = COMMANDS[cmd_name].partition(":")
            self.add_command(getattr(importlib.import_module(f"{__package__}.{module}"),
                                     attribute), cmd_name)
            # What is imported lives until the process ends: keep the garbage
            # collector from walking it again and again while a command
            # builds its rows (`list` of 20,000 open cases: 60-80 ms less).
            import gc

            gc.freeze()
        return super().get_command(ctx, cmd_name)

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

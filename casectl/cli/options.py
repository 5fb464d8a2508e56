"""What the commands share: the session, reading `-` from standard input,
the output options and the argument types."""

from __future__ import annotations

import functools
import os
import sys
from typing import Any, Callable

import click

from .. import model, protection, render
from ..app import session as sessions
from ..errors import UsageError

PRIORITY = click.Choice(model.PRIORITIES, case_sensitive=False)
STATUS = click.Choice(model.STATUSES, case_sensitive=False)
TYPE = click.Choice(model.TYPES, case_sensitive=False)


def session(ctx: click.Context) -> sessions.Session:
    obj = ctx.find_root().obj
    return sessions.open_session(obj["repo"], obj["as_agent"])


# When standard output is no terminal (a pipe, a file) and COLUMNS is unset,
# tables are laid out for a common terminal rather than not shortened at all.
DEFAULT_WIDTH = 100


def view(session: sessions.Session) -> render.View:
    """How tables should look here: the terminal's width (COLUMNS wins, as
    shutil reads it), the session's clock and the desk's time zone."""
    import shutil  # ~6 ms of imports: reading commands only

    width = shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns
    now = session.now()  # in the desk's zone, so its tzinfo is the desk's
    # https://no-color.org: set and not empty means no colours or bold
    bold = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    return render.View(width=width, now=now, tz=now.tzinfo, bold=bold)


def text(value: str | None) -> str | None:
    """`-` reads the text from standard input, once per command: a second
    `-` would read nothing and store an empty text or fail obscurely."""
    if value == "-":
        ctx = click.get_current_context(silent=True)
        if ctx is not None:
            if ctx.meta.get("casectl.stdin_read"):
                raise UsageError("only one option or argument can read standard input (-)",
                                 "give the other texts on the command line")
            ctx.meta["casectl.stdin_read"] = True
        try:
            read = sys.stdin.read()
            read.encode("utf-8")  # surrogate-escaped bytes read, but cannot be stored
            return read
        except (UnicodeDecodeError, UnicodeEncodeError):
            raise UsageError("standard input is not valid UTF-8 text",
                             "convert it first, e.g. with iconv -f latin1 -t utf-8") from None
    return value


def output_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """--format table|json|yaml|csv and --json, folded into one `fmt`."""
    @click.option("--format", "fmt", type=click.Choice(render.FORMATS, case_sensitive=False),
                  default="table", show_default=True, help="Output format.")
    @click.option("--json", "as_json", is_flag=True, help="Short for --format json.")
    @functools.wraps(func)
    def wrapper(*args: Any, fmt: str, as_json: bool, **kwargs: Any) -> Any:
        return func(*args, fmt="json" if as_json else fmt.lower(), **kwargs)
    return wrapper


def change_output(func: Callable[..., Any]) -> Callable[..., Any]:
    """A changing command prints the case id, or with --json the whole case."""
    @click.option("--json", "as_json", is_flag=True, help="Print the whole case as JSON.")
    @functools.wraps(func)
    def wrapper(*args: Any, as_json: bool, **kwargs: Any) -> None:
        case = func(*args, **kwargs)
        click.echo(render.case(shown(case), "json") if as_json else case["id"])
    return wrapper


def shown(case: dict[str, Any]) -> dict[str, Any]:
    """The case an action left, as the agent who acted may see it: masked
    when its reporter is protected and they may not see it."""
    if not protection.is_protected(case):
        return case
    from ..app import protected_views

    acting = session(click.get_current_context())
    return protected_views.shown(acting, protected_views.viewer(acting), case)


def case_id_argument(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.argument("case_id", metavar="ID")(func)


def case_id(value: str) -> str:
    """The typed id, checked for shape only: the application resolves a
    prefix to the one case it names, as it needs the repository for that."""
    from ..store import parse_case_id

    return parse_case_id(value)

"""`casectl intake`: one mail message in, as a mail server's delivery pipe
(MDA) gives it; see app/intake.py for the rules."""

from __future__ import annotations

import sys

import click

from ..app import intake as intake_app
from ..errors import NotFound, UsageError
from ..mailparse import DEFAULT_TAG_PREFIX
from . import options


@click.command()
@click.argument("source", metavar="[FILE|-]", default="-")
@click.option("--tag-prefix", default=DEFAULT_TAG_PREFIX, show_default=True, metavar="TEXT",
              help="What comes before the case id in a subject's case tag: [#ID].")
@click.pass_context
def intake(ctx: click.Context, source: str, tag_prefix: str) -> None:
    """Take in one e-mail: a new case, or a reply on the case it answers.

    Reads one RFC 5322 message from FILE or standard input (-, the default,
    as a mail server's delivery pipe gives it) and prints the case id. A
    message joins a case only when its subject carries the case's tag and it
    answers the case's mail or comes from its reporter or an agent; else it
    opens a new case. The same message twice changes nothing; auto-replies
    and mail from the desk's own addresses open no case (exit 0, a note on
    standard error). Run it as a service identity (agent add --service).

    \b
    Example:
      casectl --as intake intake message.eml
      casectl --repo /srv/desk --as intake intake - < message.eml
    """
    raw = _read(source)
    outcome = intake_app.take(options.session(ctx), raw, tag_prefix)
    if outcome.note:
        click.echo(f"casectl: {outcome.note}", err=True)
    if outcome.case_id:
        click.echo(outcome.case_id)


def _read(source: str) -> bytes:
    """The message's bytes, as they are: the mail decides its charsets."""
    if source == "-":
        return sys.stdin.buffer.read()
    try:
        with open(source, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        raise NotFound(f"no such file: {source}", "give the path of one message, or - for "
                       "standard input")
    except (IsADirectoryError, PermissionError) as exc:
        raise UsageError(f"cannot read {source}: {exc.strerror}",
                         "give the path of one message file, or - for standard input")

"""`casectl intake`: mail in, one message (a mail server's delivery pipe, a
file) or a sweep of a Maildir or an mbox; see app/intake.py for the rules
and app/mailboxes.py for the sources."""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

import click

from .. import render
from ..app import intake as intake_app, mailboxes, quarantine as quarantines
from ..errors import EXIT_USAGE, CasectlError, NotFound, TryAgainLater, UsageError
from . import options


@click.command()
@click.argument("source", metavar="[FILE|-]", required=False)
@click.option("--maildir", type=click.Path(path_type=Path), metavar="DIR",
              help="Sweep a Maildir: every message in DIR/new and every unseen one in "
              "DIR/cur, each moved to DIR/cur flagged seen (S) once taken.")
@click.option("--mbox", type=click.Path(path_type=Path), metavar="FILE",
              help="Sweep an mbox file, read under its lock and left untouched.")
@click.option("--tag-prefix", metavar="TEXT", help="What comes before the case id in a "
              "subject's case tag, [#ID] (default: mail.tag_prefix, else #).")
@click.option("--quarantine", "quarantine_dir", type=click.Path(path_type=Path),
              metavar="DIR", help="The Maildir where messages that cannot be taken are kept "
              "(default: .git/casectl/quarantine).")
@click.option("--quarantined", is_flag=True,
              help="List the messages kept in quarantine (name, when, reason) and stop.")
@click.option("--mda", is_flag=True, help="For a mail server's delivery pipe: exit 0 when the "
              "message is recorded, ignored, a duplicate or kept in quarantine, 75 (try again "
              "later) for any failure that left it unkept.")
@click.option("--json", "as_json", is_flag=True,
              help="A JSON array of {source, action, case, note}, one per message.")
@click.pass_context
def intake(ctx: click.Context, source: str | None, maildir: Path | None, mbox: Path | None,
           tag_prefix: str | None, quarantine_dir: Path | None, quarantined: bool, mda: bool,
           as_json: bool) -> None:
    """Take in e-mail: new cases, or replies on the cases they answer.

    Reads one RFC 5322 message from FILE or standard input (-, the default,
    as a mail server's delivery pipe gives it) and prints the case id; or,
    with --maildir or --mbox, every message there, one line each (case,
    action, source) and a count on standard error. A message joins a case
    only when its subject carries the case's tag and it answers the case's
    mail or comes from its reporter or an agent; else it opens a new case,
    routed by mail.intake.routes in casectl.yaml. The same message twice
    changes nothing; auto-replies and mail from the desk's own addresses open
    no case. A message that cannot be taken is kept in quarantine (exit 2).
    Acts as mail.intake.agent, or --as.

    \b
    Example:
      casectl intake --mda -                    # Postfix pipe(8) / Exim pipe
      casectl --as intake intake message.eml
      casectl --repo /srv/desk intake --maildir /srv/mail/support
      casectl intake --quarantined
    """
    if not mda:
        _intake(ctx, source, maildir, mbox, tag_prefix, quarantine_dir, quarantined, as_json)
        return
    # A delivery pipe: whatever fails, the server must defer and retry, not
    # bounce the message nor drop it.
    try:
        if maildir or mbox or quarantined:
            raise UsageError("--mda takes one message (FILE or -), not a sweep or a listing",
                             "leave out --maildir, --mbox and --quarantined")
        _intake(ctx, source, None, None, tag_prefix, quarantine_dir, False, as_json, mda=True)
    except (TryAgainLater, click.exceptions.Exit):
        raise
    except CasectlError as failure:
        raise TryAgainLater(failure) from None
    except Exception as exc:  # noqa: BLE001 - a bug: still a deferral, never a bounce
        from .main import _bug_report

        raise TryAgainLater(f"internal error ({type(exc).__name__}), a bug in casectl: "
                            f"{_bug_report(exc)}") from None


def _intake(ctx: click.Context, source: str | None, maildir: Path | None, mbox: Path | None,
            tag_prefix: str | None, quarantine_dir: Path | None, quarantined: bool,
            as_json: bool, mda: bool = False) -> None:
    given = [name for name, value in (("FILE", source), ("--maildir", maildir),
                                      ("--mbox", mbox), ("--quarantined", quarantined))
             if value]
    if len(given) > 1:
        raise UsageError(f"{' and '.join(given)} exclude each other",
                         "take one message, sweep one Maildir or mbox, or list the quarantine")
    session = options.session(ctx)
    where = quarantine_dir or quarantines.default_directory(session.root)
    if quarantined:
        _list_quarantine(where, as_json)
        return
    raw = None if (maildir or mbox) else _read(source or "-")
    with intake_app.Intake(session, tag_prefix) as taker:
        if raw is not None:
            _one(mailboxes.take_one(taker, raw, source or "-", where), as_json, mda)
        else:
            messages = mailboxes.maildir(maildir) if maildir else \
                mailboxes.mbox(mbox)  # type: ignore[arg-type]
            _sweep(taker, messages, where, str(maildir or mbox), as_json)


_CANNOT = "the message cannot be taken in: "


def _one(taken: mailboxes.Taken, as_json: bool, mda: bool) -> None:
    if as_json:
        click.echo(json.dumps([taken.to_dict()], ensure_ascii=False, indent=2))
    if taken.action == "quarantined":
        why = (taken.note or "").removeprefix(_CANNOT)
        click.echo(f"casectl: {_CANNOT}{why}", err=True)
        if not mda:  # kept: a mail server must neither bounce nor retry it
            click.get_current_context().exit(EXIT_USAGE)
        return
    if taken.note:
        click.echo(f"casectl: {taken.note}", err=True)
    if taken.case and not as_json:
        click.echo(taken.case)


def _sweep(taker: intake_app.Intake, messages: list[mailboxes.Message], where: Path,
           swept: str, as_json: bool) -> None:
    done: list[mailboxes.Taken] = []

    def report(taken: mailboxes.Taken) -> None:
        done.append(taken)
        if taken.note:
            click.echo(f"casectl: {taken.source}: {taken.note}", err=True)
        if not as_json:
            click.echo(f"{taken.case or '-'}\t{taken.action}\t{taken.source}")

    try:
        mailboxes.sweep(taker, messages, where, report)
    except CasectlError:
        _summary(done, swept, stopped=len(messages) - len(done))
        if as_json:
            click.echo(json.dumps([taken.to_dict() for taken in done], ensure_ascii=False,
                                  indent=2))
        raise
    _summary(done, swept, stopped=0)
    if as_json:
        click.echo(json.dumps([taken.to_dict() for taken in done], ensure_ascii=False,
                              indent=2))
    if any(taken.action == "quarantined" for taken in done):
        click.get_current_context().exit(EXIT_USAGE)


def _summary(done: list[mailboxes.Taken], swept: str, stopped: int) -> None:
    counts = Counter(taken.action for taken in done)
    parts = [f"{counts[action]} {action}" for action in mailboxes.ACTIONS if counts[action]]
    text = f"casectl: {len(done)} message(s) from {swept}" + \
        (f": {', '.join(parts)}" if parts else "")
    if stopped:
        text += f"; stopped, {stopped} message(s) left where they are for the next run"
    click.echo(text, err=True)


def _list_quarantine(where: Path, as_json: bool) -> None:
    kept = [item.to_dict() for item in quarantines.listing(where)]
    click.echo(render.rows(kept, "json" if as_json else "table", quarantines.FIELDS,
                           ("name", "when", "reason"), empty=f"(nothing in quarantine {where})"))


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

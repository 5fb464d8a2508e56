"""`casectl edit`: correct a case from options, a document (--file), or the
editor, as `git commit` opens one when the message is not given."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Sequence

import click

from .. import model
from ..app import edit as editing
from ..errors import CasectlError, OperationFailed, UsageError
from ..app.session import Session
from ..model import Case
from . import options, parsing


def is_terminal() -> bool:
    """Both ends a terminal: someone is there to use the editor. The only
    place `edit` asks; tests run casectl in a pseudo-terminal."""
    return sys.stdin.isatty() and sys.stdout.isatty()


@click.command()
@options.case_id_argument
@click.option("--subject", metavar="TEXT|-", help="A new subject.")
@click.option("--description", metavar="TEXT|-", help="A new description; - reads standard "
              "input.")
@click.option("--type", "type_", type=options.TYPE, help="A new case type.")
@click.option("--category", metavar="CATEGORY", help="A new category (one of casectl.yaml's, "
              "when it lists any).")
@click.option("--sla", metavar="LEVEL", help="Another SLA level (the case's clocks follow it, "
              "counted from arrival).")
@click.option("--reporter", metavar='"NAME <EMAIL>"', help="The reporter's name and/or address "
              "(a part not given stays as it is).")
@click.option("--phone", metavar="PHONE", help="The reporter's phone number.")
@click.option("--org", metavar="ORG", help="The reporter's organisation or municipality.")
@click.option("--field", "fields", multiple=True, metavar="KEY=VALUE",
              help="Set a field (repeatable).")
@click.option("--unset-field", "unset_fields", multiple=True, metavar="KEY",
              help="Remove a field (repeatable).")
@click.option("--protected/--unprotected", "protected", default=None,
              help="Mark the reporter's identity protected (masked for agents who may not "
              "see it), or take the mark off.")
@click.option("--reason", metavar="TEXT|-", help="Why (kept in the log).")
@click.option("--file", "from_file", metavar="PATH|-", help="Apply a document of the editable "
              "fields, as the editor shows it (a kept edit, or a script's); - reads standard "
              "input.")
@options.change_output
@click.pass_context
def edit(ctx: click.Context, case_id: str, subject: str | None, description: str | None,
         type_: str | None, category: str | None, reporter: str | None, phone: str | None,
         org: str | None, fields: Sequence[str], unset_fields: Sequence[str],
         reason: str | None, from_file: str | None, sla: str | None,
         protected: bool | None) -> Case:
    """Correct a case's subject, description, type, category, reporter or
    fields: one 'edited' event with the old and new values (nothing is
    rewritten). With no options, on a terminal, opens the editor git commit
    would (GIT_EDITOR, core.editor, VISUAL, EDITOR, vi) on the editable fields.

    \b
    Example:
      casectl edit 06K3ZQ9TXM --subject "DIPS Arena: ingen tilgang på post 3" --reason "Presisert"
      casectl edit 06K3ZQ9TXM --field epj=EPJ-48213 --unset-field rom
      casectl edit 06K3ZQ9TXM --protected --reason "Skyddad identitet"
      casectl edit 06K3ZQ9TXM            # opens the editor
    """
    session = options.session(ctx)
    ident = options.case_id(case_id)
    changes = (subject, description, type_, category, reporter, phone, org, sla, protected)
    given = any(value is not None for value in changes) or fields or unset_fields
    if from_file is not None:
        if given or reason is not None:
            raise UsageError("--file gives the whole edit", "leave out the other options "
                             "(--reason too: write it in the document)")
        return _from_file(session, ident, from_file)
    if given:
        return editing.edit_case(
            session, ident, subject=options.text(subject),
            description=options.text(description),
            type_=model.CaseType(type_.lower()) if type_ else None,
            category=category, reporter=parsing.reporter(reporter, phone, org),
            fields=parsing.fields(fields), unset_fields=parsing.field_keys(unset_fields),
            sla=sla, protected=protected, reason=options.text(reason))
    if not is_terminal():
        raise UsageError("say what to change: no terminal to open an editor in",
                         f"give {editing.FLAGS} (with --reason TEXT), or --file PATH|-")
    return _in_editor(session, ident, options.text(reason))


def _from_file(session: Session, ident: str, source: str) -> Case:
    if source == "-":
        text = options.text("-") or ""
        return editing.edit_from_document(session, ident, text, where="standard input")
    try:
        text = Path(source).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"no file {source}", "name the document to apply") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {source}: {getattr(exc, 'strerror', None) or exc}",
                         "name a UTF-8 text file") from None
    case = editing.edit_from_document(session, ident, text, where=source)
    kept = editing.kept_path(session, case["id"])
    if Path(source).resolve() == kept.resolve():  # a kept edit, now applied: done with it
        kept.unlink(missing_ok=True)
    return case


def _in_editor(session: Session, ident: str, reason: str | None) -> Case:
    base, path = editing.draft(session, ident, reason)
    if base is None:
        click.echo(f"casectl: opening your kept edit {path} again (delete it to start "
                   "afresh)", err=True)
    written = path.read_text(encoding="utf-8")
    try:
        editing.open_in_editor(session, path)
    except OperationFailed as exc:
        if base is not None and path.read_text(encoding="utf-8") == written:
            path.unlink(missing_ok=True)  # nothing typed, nothing to keep
        else:
            exc.hint = f"{exc.hint}; your edit is kept in {path}"
        raise
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise OperationFailed(f"cannot read the edited document {path}: {exc}",
                              "save it as UTF-8 text and run casectl edit again") from None
    try:
        case = editing.edit_from_document(session, ident, text, base=base,
                                          where="the edited document")
    except CasectlError as exc:
        if isinstance(exc, editing.EditAborted):
            path.unlink(missing_ok=True)
            raise
        # Keep what the user typed, as git keeps .git/COMMIT_EDITMSG.
        full_id = path.stem.removeprefix("EDIT_")
        exc.hint = ((exc.hint + "; ") if exc.hint else "") + \
            f"your edit is kept in {path}: correct it and run " \
            f"'casectl edit {full_id} --file {path}' (or 'casectl edit {full_id}' to open " \
            "it again)"
        raise
    path.unlink(missing_ok=True)
    return case


"""Editing a case: correcting its subject, description, type, category,
reporter and fields by one ``edited`` event (see editing.py), from options
or from a YAML document of the editable fields (what `casectl edit` opens in
the editor, or reads with --file)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Mapping, Sequence

from .. import config as configmod, editing, journal, model, store, yamlio
from ..errors import InvalidData, OperationFailed, UsageError
from ..model import Case, Reporter
from . import protected_views, schema_support
from .actions import change_case, checked_reporter, load_case
from .inputs import clean_line, clean_phone, clean_subject, clean_text, email_address
from .session import Session

# The keys a document may hold, in the order it shows them.
DOCUMENT_KEYS = ("subject", "description", "type", "category", "sla", "reporter", "fields",
                 "reason")
_BASE_LINE = re.compile(r"^# case (?P<case>\S+) as of event (?P<event>\S+)\s*$", re.MULTILINE)


def edit_case(session: Session, case_id: str, *, subject: str | None = None,
              description: str | None = None, type_: model.CaseType | None = None,
              category: str | None = None, reporter: Reporter | None = None,
              fields: Mapping[str, str] | None = None, unset_fields: Sequence[str] = (),
              sla: str | None = None, protected: bool | None = None,
              reason: str | None = None) -> Case:
    """Edit a case from options: each value given replaces the case's (a
    reporter's parts only those given), ``unset_fields`` are removed.
    ``sla`` re-levels the case: its clocks are computed under the new
    level's hours from then on, as if it had arrived with it."""
    wanted: dict[str, Any] = {}
    if subject is not None:
        wanted["subject"] = clean_subject(subject)
    if description is not None:
        wanted["description"] = clean_text(description, "the description")
    if type_ is not None:
        wanted["type"] = type_.value
    if category is not None:
        wanted["category"] = session.config.check_category(
            clean_line(category, "the category") or "")
    if sla is not None:
        wanted["sla"] = session.config.check_sla_level(sla)
    if reporter is not None:
        checked = checked_reporter(reporter).to_dict()
        wanted.update({f"reporter.{part}": value for part, value in checked.items()
                       if value is not None})
    if protected is not None:
        # The mark is there (true) or absent (None), never false: see model.REPORTER_MARKS.
        wanted["reporter.protected"] = True if protected else None
    for key, value in (fields or {}).items():
        wanted[f"fields.{key}"] = value
    unset = list(unset_fields)
    both = sorted(set(unset) & set(fields or {}))
    if both:
        raise UsageError(f"--field and --unset-field both name {', '.join(both)}",
                         "set a field or remove it, not both")
    for key in unset:
        wanted[f"fields.{key}"] = None
    if not wanted:
        raise UsageError("say what to change", "give at least one of " + FLAGS)
    text = clean_text(reason, "the reason")
    _require_schema(session)
    viewer = protected_views.viewer(session)

    def decide(case: Case) -> list[Any]:
        # An edit of a protected person's case by one who may not see it
        # would say whether a guess was right ("already has those values").
        protected_views.require_sight(session, viewer, case, "edit")
        return editing.edit(case, wanted, text,
                            must_exist=tuple(f"fields.{key}" for key in unset))
    return change_case(session, case_id, "edit", decide)


def _require_schema(session: Session) -> None:
    schema_support.require(session, "case.schema.json", schema_support.edited_events,
                           "edited events (casectl edit)")


FLAGS = ("--subject, --description, --type, --category, --sla, --reporter, --phone, --org, "
         "--field KEY=VALUE, --unset-field KEY, --protected, --unprotected")


# ---------------------------------------------------------------- the document

def document(session: Session, case: Case, reason: str | None = None) -> str:
    """The editable fields of ``case`` as a YAML document, with comments
    that say how to edit it and which state of the case it shows."""
    reporter = case.get("reporter") or {}
    values = {"subject": case["subject"], "description": case.get("description"),
              "type": case["type"], "category": case.get("category"),
              "sla": model.header_value(case, "sla"),
              "reporter": {part: reporter.get(part) for part in model.REPORTER_PARTS},
              "fields": dict(case.get("fields") or {}), "reason": reason}
    categories = session.config.categories
    last = model.ordered(case["log"])[-1]["id"]
    return "\n".join([
        f"# Edit case {case['id']}: change the values below, then save and close the editor.",
        "# An empty value clears it (subject and type cannot be cleared); add or delete",
        "# lines under fields: to add or remove fields. reason: says why (optional).",
        "# type: " + ", ".join(model.TYPES) + (
            "; category: one of " + ", ".join(categories) if categories else ""),
        "# sla: the SLA level, one of " + ", ".join(session.config.sla_levels)
        + " (empty: the desk's default)",
        "# Lines starting with '#' are ignored. An unchanged or empty document aborts the edit.",
        f"# case {case['id']} as of event {last}",
        "",
    ]) + yamlio.dump_document(values)


def open_in_editor(session: Session, path: Path) -> None:
    """The editor `git commit` would open, on ``path``; waits for it."""
    journal.run_editor(session.root, path)


class EditAborted(OperationFailed):
    """The document came back empty or unchanged: the user's way to abort."""


def kept_path(session: Session, case_id: str) -> Path:
    """Where the edit of case ``case_id`` (its full id) is written and kept."""
    return session.state / f"EDIT_{case_id}.yaml"


def draft(session: Session, case_id: str, reason: str | None
          ) -> tuple[Case | None, Path]:
    """The case as it is, and its document written where the editor opens it
    (.git/casectl/EDIT_<ID>.yaml, kept there when it cannot be applied, as
    git keeps .git/COMMIT_EDITMSG). An edit kept from before is opened
    again rather than overwritten (the case is then None: the document's
    own "as of event" line says what it was written against). A repository
    that cannot be written is refused now, before anyone types an edit that
    cannot be saved."""
    with store.locked(session.root):
        pass
    _require_schema(session)
    case = load_case(session, case_id)[1]
    protected_views.require_sight(session, protected_views.viewer(session), case, "edit")
    path = kept_path(session, case["id"])
    if path.is_file():
        return None, path
    store.write_atomic(path, document(session, case, reason))
    return case, path


def edit_from_document(session: Session, case_id: str, text: str,
                       base: Case | None = None, where: str = "the document") -> Case:
    """Apply an edited document. The changes are the values that differ from
    the case as the document showed it (``base``, else the state its
    "as of event" line names, else the case as it is): a change made by
    someone else meanwhile to another field is kept, not reverted."""
    if not [line for line in text.splitlines() if line.strip() and
            not line.lstrip().startswith("#")]:
        raise EditAborted(f"{where} is empty; the edit is aborted, nothing was changed")
    current = load_case(session, case_id)[1]
    protected_views.require_sight(session, protected_views.viewer(session), current, "edit")
    if base is None:
        base = _named_base(text, current, where)
    parsed, reason = parse_document(session, text, where)
    listed = parsed.pop("fields", None)
    if listed is not None:  # the fields listed are all the case keeps
        parsed.update({f"fields.{key}": None for key in base.get("fields") or {}})
        parsed.update({f"fields.{key}": value for key, value in listed.items()})
    wanted = {key: value for key, value in parsed.items()
              if model.editable_value(base, key) != value}
    if not wanted:
        raise EditAborted(f"nothing was changed in {where}; the edit is aborted")
    _require_schema(session)
    return change_case(session, case_id, "edit",
                       lambda case: editing.edit(case, wanted, reason))


def _named_base(text: str, current: Case, where: str) -> Case:
    """The case as of the event the document's base line names."""
    found = _BASE_LINE.search(text)
    if found is None:
        return current
    if found["case"] != current["id"]:
        raise UsageError(f"{where} is an edit of case {found['case']}, not {current['id']}",
                         f"run casectl edit {found['case']} --file ...")
    log = model.ordered(current["log"])
    ids = [event["id"] for event in log]
    if found["event"] not in ids:
        raise UsageError(f"{where} names event {found['event']}, which case {current['id']} "
                         "does not have", "open the case afresh: casectl edit " + current["id"])
    return model.replay(current["id"], log[:ids.index(found["event"]) + 1])


def parse_document(session: Session, text: str, where: str = "the document"
                   ) -> tuple[dict[str, Any], str | None]:
    """The values a document gives, as edited-event keys (``reporter.name``,
    ...) and ``fields`` (the whole mapping listed, an empty value left out),
    checked as `casectl new` checks its options; and the reason. A key left
    out leaves that value as it is."""
    try:
        doc = yamlio.load_text(text, where)
    except InvalidData as exc:
        raise UsageError(exc.message, "correct the YAML (a value with ': ' or '#' in it "
                         "needs quotes)") from None
    if not isinstance(doc, dict):
        raise UsageError(f"{where} must be a mapping of keys to values, as it was written",
                         "keys: " + ", ".join(DOCUMENT_KEYS))
    unknown = [key for key in doc if key not in DOCUMENT_KEYS]
    if unknown:
        raise UsageError(f"{where}: unknown key {', '.join(map(repr, unknown))}",
                         "the keys are: " + ", ".join(DOCUMENT_KEYS))
    values: dict[str, Any] = {}
    if "subject" in doc:
        values["subject"] = clean_subject(_scalar(doc, "subject", where))
    if "description" in doc:
        values["description"] = _blank(clean_text, doc, "description", where, "the description")
    if "type" in doc:
        typed = (_scalar(doc, "type", where) or "").strip().lower()
        if typed not in model.TYPES:
            raise UsageError(f"{where}: type {doc['type']!r} is not a case type",
                             "use one of: " + ", ".join(model.TYPES))
        values["type"] = typed
    if "category" in doc:
        category = _blank(clean_line, doc, "category", where, "the category")
        values["category"] = session.config.check_category(category) if category else None
    if "sla" in doc:
        level = _blank(clean_line, doc, "sla", where, "the SLA level")
        values["sla"] = session.config.check_sla_level(level) if level else None
    if "reporter" in doc:
        values.update(_reporter(doc["reporter"], where))
    if "fields" in doc:
        values["fields"] = _fields(doc["fields"], where)
    reason = _blank(clean_text, doc, "reason", where, "the reason") if "reason" in doc else None
    return values, reason


def _scalar(doc: Mapping[str, Any], key: str, where: str) -> str | None:
    value = doc[key]
    if value is not None and not isinstance(value, str):
        raise UsageError(f"{where}: {key} must be text, not a "
                         f"{'list' if isinstance(value, list) else 'mapping'}",
                         f"write it on the line after '{key}:'")
    return value


def _blank(clean: Any, doc: Mapping[str, Any], key: str, where: str, what: str) -> str | None:
    """An optional text: empty clears it."""
    value = _scalar(doc, key, where)
    return clean(value, what) if value is not None and value.strip() else None


def _reporter(value: Any, where: str) -> dict[str, Any]:
    if value is None:  # `reporter:` emptied: no reporter known
        return {f"reporter.{part}": None for part in model.REPORTER_PARTS}
    if not isinstance(value, dict):
        raise UsageError(f"{where}: reporter must hold " + ", ".join(model.REPORTER_PARTS),
                         "write each on its own line under reporter:, indented")
    unknown = [key for key in value if key not in model.REPORTER_PARTS]
    if unknown:
        raise UsageError(f"{where}: unknown key reporter.{unknown[0]}",
                         "a reporter has: " + ", ".join(model.REPORTER_PARTS))
    found: dict[str, Any] = {}
    for part in model.REPORTER_PARTS:
        if part not in value:
            continue
        text = _scalar(value, part, where)
        text = text.strip() if text is not None and text.strip() else None
        if text is not None:
            text = (email_address(text, "the reporter's address") if part == "email"
                    else clean_phone(text) if part == "phone"
                    else clean_line(text, f"the reporter's {part}"))
        found[f"reporter.{part}"] = text
    return found


def _fields(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise UsageError(f"{where}: fields must be KEY: VALUE lines",
                         "write each on its own line under fields:, indented")
    found: dict[str, Any] = {}
    for key, text in value.items():
        if not configmod.SLUG_RE.match(key):
            raise UsageError(f"{where}: the field key {key!r} has characters a key cannot have",
                             "a key uses only a-z, 0-9, '.', '_' and '-'")
        text = _scalar(value, key, where)
        if text is not None:  # `epj:` left empty removes the field
            found[key] = text.strip()
    return found

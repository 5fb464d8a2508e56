"""Reading cases: show, list, search and the history of one case."""

from __future__ import annotations

from typing import Any, Sequence

from .. import attachments, journal, model, protection, readmarks, yamlio
from ..errors import InvalidData, UsageError
from ..model import Case
from . import protected_views
from .actions import load_case
from .session import Session


def show(session: Session, case_id: str) -> Case:
    """A case as the acting agent may see it (masked when its reporter is
    protected and they may not see it, protected_views.py); showing it
    marks the reporter's replies in it read for them (readmarks.py)."""
    case = load_case(session, case_id)[1]
    reader = protected_views.viewer(session)
    shown = protected_views.shown(session, reader, case)
    last = model.last_reply(case["log"])
    if last is not None and reader is not None:  # no known agent: nobody to mark it read for
        readmarks.mark(session.root, reader, case["id"], last)
    return shown


def list_cases(session: Session, *, statuses: Sequence[str] = (), scope: str = "open",
               team: str | None = None, assignee: str | None = None,
               priorities: Sequence[str] = (), types: Sequence[str] = (),
               category: str | None = None, sort: str = "priority",
               limit: int | None = None, unread: bool = False, breached: bool = False,
               at_risk: bool = False, fields: Sequence[str] = model.LIST_FIELDS
               ) -> tuple[list[dict[str, Any]], list[str]]:
    """Cases matching the filters, from the query index, and any warnings.
    Each row says whether it is ``unread`` for the acting agent: theirs,
    with a reply from the reporter newer than they have seen. ``unread``:
    only those. ``breached``/``at_risk`` compare the SLA instants the index
    keeps with the session's clock (see index.query)."""
    from .. import index  # sqlite3 is for reading; actions do not pay for its import

    if assignee is not None and assignee.strip().lower() == "me":
        assignee = session.actor()[0]
    elif assignee is not None:
        assignee = session.config.check_agent(assignee)  # a typo must not look like an empty queue
    if team is not None:
        team = session.config.check_team(team)
    me = session.actor()[0] if unread else None
    found, warnings = index.query(session.root, statuses=statuses, scope=scope, team=team,
                                  assignee=assignee, priorities=priorities, types=types,
                                  category=category, sort=sort,
                                  limit=None if unread else limit, replied=unread,
                                  breached=breached, at_risk=at_risk, now=session.now(),
                                  fields=fields,
                                  hide_for=protected_views.hide_for(session))
    if me is None and any(row["last_reply_ts"] is not None for row in found):
        me = protected_views.viewer(session)  # a git call, paid only when some case has a reply
    seen = readmarks.seen(session.root, me) if me is not None else {}
    for row in found:
        reply = row.pop("last_reply_ts", None)
        row["unread"] = bool(me is not None and reply is not None and row["assignee"] == me
                             and reply > seen.get(row["id"], -1))
    if unread:
        found = [row for row in found if row["unread"]][:limit]
    return found, warnings + _operation_warnings(session)


def search(session: Session, text: str, limit: int | None = None
           ) -> tuple[list[dict[str, Any]], list[str]]:
    if not text.strip():
        raise UsageError("nothing to search for", "give a word or two, e.g. casectl search DIPS")
    from .. import index

    found, warnings = index.search(
        session.root, text, limit=limit,
        hide_for=protected_views.hide_for(session))
    return found, warnings + _operation_warnings(session)


def _operation_warnings(session: Session) -> list[str]:
    """A merge, rebase or the like waiting for the user, and the case files
    it left conflicted: the index answers from the last commit, so say so.
    A few stat calls when nothing is in progress."""
    operation = journal.operation_in_progress(session.root)
    if operation is None:
        return []
    unmerged = [path for path in journal.unmerged_paths(session.root, "cases")
                if path.endswith(".yaml")]
    if not unmerged:
        return [f"{operation.name} is in progress in this repository; cases are shown as last "
                "committed"]
    return [f"{operation.name} is in progress, and {len(unmerged)} case file(s) have unresolved "
            f"conflicts: {', '.join(unmerged)}; they are shown as last committed. "
            f"{operation.how_to_finish[0].upper()}{operation.how_to_finish[1:]}"]


def history(session: Session, case_id: str) -> list[dict[str, Any]]:
    """The case's timeline: each event with the commit that recorded it, and
    commits that changed the file without adding an event (hand edits)."""
    rel, case = load_case(session, case_id)
    # Masked for one who may not see a protected person's case: each event
    # as that case's masking shows it, and no commit subject (it held the
    # case's subject before the case was marked).
    masked = not protected_views.may_see(session, protected_views.viewer(session), case)
    shown = protection.masked_event if masked else (lambda event: event)

    def describe(event: model.Event) -> str:
        return model.describe_event(shown(event))

    def files(event: model.Event) -> dict[str, Any]:
        """The files an event lists, as recorded (``--format json``), and
        their timeline lines (the table shows one per file)."""
        data = shown(event).get("data") or {}
        return {"attachments": data.get("attachments"), "original": data.get("original"),
                "attached": attachments.lines(shown(event))}
    rows: list[dict[str, Any]] = []
    seen: set[str] = set()
    for commit in journal.file_history(session.root, rel):
        added = []
        if commit.content is not None:
            try:
                doc = yamlio.load(commit.content.decode("utf-8"), rel)
                added = [e for e in doc.get("log", []) if isinstance(e, dict)
                         and e.get("id") not in seen]
            except (InvalidData, UnicodeDecodeError, AttributeError):
                added = []
        trailer_action = _first(commit.trailers.get("Action"))
        base = {"commit": commit.sha[:10], "author": commit.author,
                "action": trailer_action or (protection.MARK if masked else commit.subject)}
        if not added:
            # No event says who did it, so the commit's author is named: a
            # hand edit is exactly what an auditor asks about.
            who = f"{commit.author} <{commit.email}>" if commit.email else commit.author
            rows.append({**base, "at": commit.when.isoformat(), "event": None, "kind": None,
                         "by": None, "text": f"hand edit by {who}: changed the file without "
                         "adding an event" if commit.content is not None
                         else f"file deleted by {who}"})
        for event in added:
            seen.add(event["id"])
            rows.append({**base, "at": event["at"], "event": event["id"], "kind": event["kind"],
                         "by": event["by"], "text": describe(event), **files(event)})
    for event in case["log"]:
        if event["id"] not in seen:
            rows.append({"commit": None, "author": None, "action": "(not committed)",
                         "at": event["at"], "event": event["id"], "kind": event["kind"],
                         "by": event["by"], "text": describe(event), **files(event)})
    return rows


def _first(value: Any) -> str | None:
    if isinstance(value, list):
        return value[0] if value else None
    return value

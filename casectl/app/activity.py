"""`casectl report activity`: who acted on a person's cases, when, and
what, from git alone [seed 002: the auditor follows up the logs and reports
which staff acted on a given person's cases].

The cases are found through the query index (every address their reporter
ever had) and confirmed from the files as committed; the acts are the
commits that touched those files, read in one `git log` per few hundred
files. Reads are not in git (see the README, "Protected identity").
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from .. import journal, protection, roles, yamlio
from ..errors import InvalidData, RuleViolation, UsageError
from .inputs import email_address
from .session import Session

FIELDS = ("at", "case", "action", "agent", "author", "committer", "commit")
TABLE_COLUMNS = ("at", "case", "action", "agent", "author", "committer", "commit")


def parse_since(session: Session, text: str | None) -> datetime | None:
    """A date or a time; a date alone is its midnight in the desk's zone."""
    if text is None:
        return None
    from dateutil import parser

    zone = session.now().tzinfo
    try:
        moment = parser.isoparse(text.strip())
    except ValueError:
        raise UsageError(f"--since {text!r} is not a date", "give a date as 2026-11-01, or a "
                         "time as 2026-11-01T08:00+01:00") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    if len(text.strip()) == 10:  # 2026-11-01: from that day's start
        moment = datetime.combine(moment.date(), time(), zone)
    return moment


def activity(session: Session, reporter: str, since: datetime | None = None
             ) -> list[dict[str, Any]]:
    """One row per commit and case: every act on the cases of the person
    with address ``reporter`` (those that are theirs, and those that once
    were), oldest first; ``since``: from that time on. Auditors only, once
    roles are enforced."""
    agent = session.actor()[0]
    refusal = roles.activity_report_refusal(session.config.data, agent)
    if refusal is not None:
        raise RuleViolation("auditor-only", refusal,
                            "ask an auditor to run it; a permission-admin grants the role: "
                            f"casectl agent set {agent} --add-role {roles.AUDIT_ROLE}")
    address = email_address(reporter, "--reporter").casefold()
    from .. import index

    found, _ = index.reporter_cases(session.root, address)
    confirmed = _confirmed(session, address, {row["path"]: row["id"] for row in found})
    rows: list[dict[str, Any]] = []
    for commit in journal.paths_history(session.root, sorted(confirmed)):
        if since is not None and commit.when < since:
            continue
        for path in commit.paths:
            if path not in confirmed:
                continue
            rows.append({
                "at": commit.when.isoformat(), "case": confirmed[path],
                "action": _first(commit.trailers.get("Action")) or commit.subject,
                "agent": _first(commit.trailers.get("Agent")) or commit.author,
                "author": f"{commit.author} <{commit.email}>",
                "committer": f"{commit.committer} <{commit.committer_email}>",
                "commit": commit.sha[:10]})
    return rows


def _confirmed(session: Session, address: str, candidates: dict[str, str]) -> dict[str, str]:
    """The candidates whose committed file says the address was their
    reporter's: the index is derived data, the files are the record. A
    protected person's case its reader may not see is left out: on a desk
    whose roles do not bind anyone may run the report, and its finding the
    case would say the address is that protected person's (an auditor sees
    every case)."""
    from . import protected_views

    reader = protected_views.viewer(session)
    head = journal.head(session.root)
    if head is None:
        return {}
    confirmed = {}
    for path, blob in journal.read_blobs(session.root, head, sorted(candidates)):
        try:
            doc = yamlio.load(blob.decode("utf-8"), path)
        except (InvalidData, UnicodeDecodeError):
            continue
        if isinstance(doc, dict) and address in protection.reporter_emails(doc) \
                and protected_views.may_see(session, reader, doc):
            confirmed[path] = candidates[path]
    return confirmed


def _first(value: Any) -> str | None:
    if isinstance(value, list):
        return value[0] if value else None
    return value

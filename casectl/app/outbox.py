"""Mail out (issue 8, point 3): actions queue their mail in the outbox;
`casectl outbox send` delivers it over SMTP; `outbox list` and `outbox
retry` show and nudge what waits.

Sending is never inside an action's lock. An action that mails is given a
``Mailing`` (actions.new_case / change_case ``mail=``), which

1. ``mark``: before the events are stamped, chooses the Message-ID and
   records it in the event's data (``message_id``), so replies thread
   back to the case (intake looks for it);
2. ``stage``: once the case is built, writes the whole message to the
   outbox's tmp/, before the commit;
3. after the commit the action moves it to new/ (``Staged.deliver``), or
   drops it when the commit fails (``Staged.discard``).

A process killed between 2 and 3 leaves a message in tmp/; the next
`outbox send` or `outbox list` reconciles it, under the repository's lock:
the case recorded its Message-ID (the commit was made) -> queued; not ->
dropped. So a queued mail always belongs to a committed event, and a
committed event's mail is never lost.

Delivery over SMTP is app/mailsend.py (smtplib and ssl are imported only
by `outbox send`).
"""

from __future__ import annotations

import contextlib
import email
from datetime import datetime
from email import policy
from pathlib import Path
from typing import Any, Mapping, Sequence

from .. import journal, mailconfig, mailout, mailtemplates, model, outbox, protection, roles, \
    store, transaction, workflow, yamlio
from ..errors import CasectlError, InvalidData, NotFound, OperationFailed, ReadOnlyRepository, \
    UsageError
from ..model import Case
from ..outbox import Entry, Outbox
from .session import Session

# Which event of an action carries which mail.
_EVENTS = {"notify": ("created",), "email": ("email",), "solution": ("solved", "closed"),
           "task": ("task_added",), "contact": ("contact",)}


class Mailing:
    """The mail one action sends (see the module's docstring): ``kind`` is
    notify, email, solution, task or contact."""

    def __init__(self, session: Session, kind: str) -> None:
        self.session = session
        self.kind = kind
        self.settings = mailconfig.settings(session.config.data)
        self.message_id: str | None = None
        self.to: list[str] = []
        self.step = -1

    def mark(self, before: Case | None, case_id: str,
             steps: list[workflow.Step]) -> list[workflow.Step]:
        """``steps`` with the Message-ID recorded in the step that mails
        (unchanged when nothing is to be sent)."""
        found = next((number for number, (kind, data) in enumerate(steps)
                      if kind in _EVENTS[self.kind] and self._mails(data)), None)
        if found is None:
            return steps
        if not self.settings.address:
            journal.notice("mail is not set up (casectl.yaml has no mail.address), so no "
                           f"{self.kind} mail was queued; add mail.address (and mail.smtp) "
                           "to send it")
            return steps
        self.to = self._recipients(before, steps[found][1])
        if not self.to:
            journal.notice(f"no e-mail address to send the {self.kind} mail to; none was "
                           "queued")
            return steps
        self.message_id = mailout.new_message_id(case_id, self.settings.address)
        self.step = found
        kind, data = steps[found]
        marked = list(steps)
        marked[found] = (kind, {**data, "message_id": self.message_id})
        return marked

    def _mails(self, data: Mapping[str, Any]) -> bool:
        if self.kind == "notify":
            return bool(data.get("notify"))
        if self.kind == "solution":
            return bool(data.get("solution"))
        if self.kind == "contact":  # an attempt by mail; --reached records an answer
            return data.get("via") == "email" and not data.get("reached")
        return True

    def _recipients(self, before: Case | None, data: Mapping[str, Any]) -> list[str]:
        config = self.session.config
        if self.kind == "email":
            return [str(data["to"])]
        if self.kind == "task":
            if data["to_kind"] == "agent":
                address = (config.agents.get(data["to"]) or {}).get("email")
                return [address] if address else []
            team = config.teams.get(data["to"]) or {}
            if team.get("email"):
                return [team["email"]]
            # A team without a shared address: its members, each told.
            return sorted({config.agents[ident]["email"] for ident, _
                           in config.team_members(data["to"])
                           if config.agents[ident].get("email")})
        reporter = (before or {}).get("reporter") if before is not None \
            else data.get("reporter")
        address = (reporter or {}).get("email")
        return [address] if address else []

    def stage(self, case: Case, events: Sequence[model.Event]) -> outbox.Staged | None:
        """Write the message for ``case`` (as it will be committed) to the
        outbox's tmp/; None when nothing is to be sent."""
        if self.message_id is None:
            return None
        event = events[self.step]
        moment = datetime.fromisoformat(event["at"])
        subject, body = mailtemplates.render(self.settings.language, self.kind,
                                             self._values(case, event),
                                             self.settings.templates)
        earlier = [known for known in model.message_ids(case)
                   if known != self.message_id]
        if self.kind == "task":
            # The task's assignee is not in the reporter's thread: only the
            # desk's own mail is named (a reporter's Message-ID carries
            # their mail domain, which a protected case must not show).
            earlier = [known for known in earlier if mailout.is_ours(known, case["id"])]
        raw = mailout.compose(sender_name=self.settings.name, sender=str(self.settings.address),
                              to=self.to, subject=subject, body=body,
                              message_id=self.message_id, references=earlier, date=moment,
                              case_id=case["id"], kind=self.kind)
        return Outbox.of(self.session.root).stage(raw, {
            "case": case["id"], "kind": self.kind, "message_id": self.message_id,
            "event": event["id"], "to": self.to, "subject": subject,
            "queued": event["at"], "attempts": 0, "next_try": event["at"]})

    def _values(self, case: Case, event: model.Event) -> dict[str, str]:
        settings = self.session.config
        actor, author = self.session.actor()
        agent = settings.agents.get(actor) or {}
        data = event["data"]
        reporter = case.get("reporter") or {}
        values = {
            "case_id": case["id"], "tag": f"[{self.settings.tag_prefix}{case['id']}]",
            "subject": case["subject"], "reporter": reporter.get("name") or
            reporter.get("email") or "", "agent": author.name,
            "signature": agent.get("signature") or f"{author.name}\n{self.settings.name}",
            "desk": self.settings.name, "status": case["status"],
            "text": {"notify": case.get("description"), "email": data.get("text"),
                     "solution": data.get("solution"), "task": data.get("need"),
                     "contact": data.get("note")}[self.kind] or "",
        }
        if self.kind == "task":
            task = next(task for task in case["tasks"] if task["event"] == event["id"])
            target = settings.agents.get(data["to"]) if data["to_kind"] == "agent" \
                else settings.teams.get(data["to"])
            values.update(task_id=task["id"], task_subject=task["subject"],
                          assignee=(target or {}).get("name") or data["to"])
            if protection.is_protected(case):
                # The person's words stay in the case: whoever gets the task
                # opens it, where casectl decides what they may see.
                values.update(subject=protection.MARK, task_subject=protection.MARK,
                              text="", reporter=protection.MARK)
        return values


def mailing(session: Session, kind: str) -> Mailing:
    return Mailing(session, kind)


# ---------------------------------------------------------------- reconciling

def reconcile(session: Session) -> list[tuple[str, str]]:
    """Settle messages a killed action left in tmp/: (name, "queued" or
    "dropped") for each. Under the repository's lock (an action in
    progress holds it while its message is in tmp/), after finishing any
    interrupted action."""
    box = Outbox.of(session.root)
    if not box.leftovers():
        return []
    done = []
    try:
        with store.locked(session.root):
            transaction.recover(session.root)
            for name, _ in box.leftovers():
                staged = outbox.Staged(box, name)
                if _committed(session.root, box.root / "tmp" / name):
                    staged.deliver()
                    done.append((name, "queued"))
                else:
                    staged.discard()
                    done.append((name, "dropped"))
    except ReadOnlyRepository:
        return []
    return done


def _committed(root: Path, path: Path) -> bool:
    """Whether the case the message in ``path`` belongs to recorded its
    Message-ID (read from the message itself, which is all a killed
    process surely left)."""
    try:
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        case_id = str(message.get(mailout.CASE_HEADER) or "").strip()
        message_id = str(message.get("Message-ID") or "").strip()
        case_path = root / store.case_relpath(store.parse_case_id(case_id))
        doc = yamlio.read_mapping(case_path, case_path.name)
    except (OSError, ValueError, InvalidData, UsageError, NotFound):
        return False
    return bool(message_id) and message_id in model.message_ids(doc)


# ---------------------------------------------------------------- listing

LIST_FIELDS = ("id", "case", "kind", "status", "to", "subject", "queued", "attempts",
               "next_try", "error", "message_id", "sent")
TABLE_FIELDS = ("id", "case", "kind", "status", "to", "next_try", "error")


def short_id(name: str) -> str:
    """The id `outbox list` shows: the random part of the Maildir name."""
    parts = name.split(".")
    return parts[1] if len(parts) == 3 else name


def listing(session: Session, include_sent: bool = False) -> list[dict[str, Any]]:
    """The outbox's messages; for a protected person's case whose reader
    may not see the person (protection.py), the address and the subject
    show as [protected], as `show` would."""
    reconcile(session)
    hidden = _HiddenFrom(session)
    rows = []
    for entry in Outbox.of(session.root).entries():
        if entry.status == outbox.SENT and not include_sent:
            continue
        state = entry.state
        masked = hidden(state.get("case"))
        rows.append({"id": short_id(entry.name), "case": state.get("case"),
                     "kind": state.get("kind"), "status": entry.status,
                     "to": protection.MARK if masked else ", ".join(state.get("to") or []),
                     "subject": protection.MARK if masked else state.get("subject"),
                     "queued": state.get("queued"), "attempts": state.get("attempts", 0),
                     "next_try": state.get("next_try") if entry.status == outbox.WAITING
                     else None, "error": state.get("error"),
                     "message_id": state.get("message_id"), "sent": state.get("sent")})
    return rows


class _HiddenFrom:
    """Whether a case's person is hidden from the one reading the outbox
    (an unknown reader sees no protected person), each case read once."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.known: dict[str, bool] = {}
        try:
            self.reader: str | None = session.actor()[0]
        except CasectlError:
            self.reader = None

    def __call__(self, case_id: Any) -> bool:
        if not isinstance(case_id, str):
            return False
        if case_id not in self.known:
            path = self.session.root / store.case_relpath(case_id)
            try:
                case = yamlio.read_mapping(path, path.name)
            except (OSError, InvalidData):
                case = {}
            self.known[case_id] = protection.is_protected(case) and not roles.may_see_protected(
                self.session.config.data, self.reader, case, protection.registrant(case))
        return self.known[case_id]


def retry(session: Session, typed: str) -> dict[str, Any]:
    """Make a waiting or failed message due now."""
    reconcile(session)
    box = Outbox.of(session.root)
    if not box.exists():
        raise NotFound(f"no message {typed!r} in the outbox", "the outbox is empty")
    with sending(box):  # not while `outbox send` is trying it
        return _retry(session, box, typed)


def _retry(session: Session, box: Outbox, typed: str) -> dict[str, Any]:
    entry = _find(box, typed)
    if entry.status == outbox.SENT:
        raise OperationFailed(f"message {short_id(entry.name)} was sent already "
                              f"({entry.state.get('sent')})",
                              "nothing to retry; 'casectl outbox list --all' shows it")
    now = session.now()
    changes: dict[str, Any] = {"next_try": now.isoformat(timespec="seconds")}
    if entry.status == outbox.FAILED:
        # A fresh start: five more days of retries from now.
        changes.update(queued=changes["next_try"], attempts=0)
    box.requeue(entry, **changes)
    return {"id": short_id(entry.name), "case": entry.state.get("case"),
            "next_try": changes["next_try"]}


def _find(box: Outbox, typed: str) -> Entry:
    wanted = typed.strip()
    entries = list(box.entries())
    found = [entry for entry in entries if wanted in (entry.name, entry.state.get("message_id"))
             or short_id(entry.name).startswith(wanted.lower())]
    if not wanted or not found:
        raise NotFound(f"no message {typed!r} in the outbox",
                       "'casectl outbox list' shows the ids of what waits or failed")
    if len(found) > 1:
        raise UsageError(f"{typed!r} names {len(found)} messages in the outbox",
                         "give more characters of the id")
    return found[0]


def sending(box: Outbox) -> contextlib.AbstractContextManager[None]:
    """The outbox's own lock: one sender at a time (two cron runs must not
    send a message twice), and no retry while a send tries it. Not the
    repository's lock: actions go on while mail is sent."""
    return store.held(open(box.lock_path, "a+"))

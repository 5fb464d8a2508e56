"""What a message taken in by mail keeps beside its case (issue 8): its
attachments and the message itself, whole, stored content-addressed under
``attachments/`` at the top of the repository and listed in the event the
message became, in the same commit (one action, one commit).

``attachments/<first two hex digits of the sha256>/<sha256>``: the same
file sent twice (a logo in every signature, a reply quoting the message
with its attachment) is stored once, and a file's name says what it must
hold, so `casectl validate` can check it and nobody can change one unseen
(`casectl audit` and the server hook refuse commits that change or delete
one, or add one no event lists).

A file larger than casectl.yaml's ``mail.intake.max_attachment`` is not
stored: the case gets an internal note naming it, its size and the limit.
Nothing here reads or writes files; intake hands the result to the action.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from .. import mailconfig, schema, workflow
from ..attachments import path_of, size_text
from ..mailparse import Mail
from .session import Session

LIMIT_SETTING = "mail.intake.max_attachment"
# The most files one event lists (the case schema's maxItems): a message
# built to carry more keeps these, and the note names the rest.
MAX_FILES = 1000
MAX_NOTED = 50  # refused files named one by one in the note; then a count
# The events a message becomes, whose data lists what it brought.
_LISTING_KINDS = ("created", "reply", "note")


@dataclass(frozen=True)
class Kept:
    """What one message keeps: ``files`` (repository-relative path ->
    bytes) to commit with its event, ``data`` to add to that event's data
    (``attachments``, ``original``), and ``refused``, a line per file too
    large to keep, for a note in the same commit."""

    files: Mapping[str, bytes] = field(default_factory=dict)
    data: Mapping[str, Any] = field(default_factory=dict)
    refused: tuple[str, ...] = ()
    limit: int = 0
    # Why nothing was kept, when it was not the limit (the note says it).
    unkept: str | None = None
    # Whether the desk's schemas can record what mail brings and sends
    # (schemas_know_mail), asked once a message.
    schemas_current: bool = True

    def note(self) -> str | None:
        """The note for the case when something was not kept, else None."""
        if self.unkept is not None:
            return self.unkept
        if not self.refused:
            return None
        lines = "\n".join(f"- {line}" for line in self.refused[:MAX_NOTED])
        if len(self.refused) > MAX_NOTED:
            lines += f"\n- and {len(self.refused) - MAX_NOTED} more"
        return (f"Not kept from this message (the limit is {size_text(self.limit)} a file, "
                f"set by {LIMIT_SETTING} in casectl.yaml):\n{lines}\n"
                "Ask the sender for it another way, or raise the limit for later mail.")

    def amend(self, steps: Sequence[workflow.Step]) -> list[workflow.Step]:
        """``steps`` with the first event the message became (created,
        reply or note) listing what was kept, and a note after them saying
        what was not."""
        amended: list[workflow.Step] = []
        listed = not self.data
        for kind, data in steps:
            if not listed and kind in _LISTING_KINDS:
                data = {**data, **self.data}
                listed = True
            amended.append((kind, data))
        note = self.note()
        if note is not None:
            amended.append(("note", {"text": note}))
        return amended


def keep(mail: Mail, raw: bytes, limit: int) -> Kept:
    """What ``mail`` (parsed from ``raw``) keeps under a size limit of
    ``limit`` bytes per file: each attachment and the original message."""
    files: dict[str, bytes] = {}
    listed: list[dict[str, Any]] = []
    refused: list[str] = []
    for attachment in mail.attachments:
        name = attachment.filename or "attachment"
        size = len(attachment.data)
        if size > limit:
            refused.append(f"{name} ({size_text(size)}, {size} bytes): not kept")
            continue
        if len(listed) == MAX_FILES:
            refused.append(f"{name} ({size_text(size)}): not kept, as the message carries "
                           f"more than {MAX_FILES} files")
            continue
        digest = hashlib.sha256(attachment.data).hexdigest()
        files[path_of(digest)] = attachment.data
        listed.append({"name": name, "type": attachment.content_type, "size": size,
                       "sha256": digest})
    data: dict[str, Any] = {}
    if listed:
        data["attachments"] = listed
    if len(raw) <= limit:
        digest = hashlib.sha256(raw).hexdigest()
        files[path_of(digest)] = raw
        data["original"] = {"sha256": digest, "size": len(raw)}
    else:
        refused.append(f"the original message ({size_text(len(raw))}, {len(raw)} bytes): "
                       "not kept whole; its text is in the case"
                       + (", and its attachments within the limit are listed"
                          if listed else ""))
    return Kept(files=files, data=data, refused=tuple(refused), limit=limit)


def kept(session: Session, mail: Mail, raw: bytes) -> Kept:
    """``keep`` under the desk's limit (casectl.yaml's
    mail.intake.max_attachment, 10 MiB when unset).

    On a desk whose schemas/ predate attachments (made by an older casectl,
    not upgraded yet) the event could not list them: the message is still
    taken in, nothing is stored, and a note says what was not kept and how
    to have it kept from then on. Refusing the message instead would send
    it back to the mail server, which may bounce it to the reporter."""
    if not schemas_know_mail(session):
        names = [f"{a.filename or 'attachment'} ({size_text(len(a.data))})"
                 for a in mail.attachments[:MAX_NOTED]]
        if len(mail.attachments) > MAX_NOTED:
            names.append(f"{len(mail.attachments) - MAX_NOTED} more files")
        return Kept(schemas_current=False, unkept=(
            "Not kept from this message: "
            + (", ".join(names) + ", and " if names else "")
            + f"the original message ({size_text(len(raw))}): this desk's "
            "schemas/case.schema.json predates attachments. Take the new schemas (one commit, "
            "by an admin) with: casectl upgrade"))
    return keep(mail, raw, mailconfig.settings(session.config.data).max_attachment)


def schemas_know_mail(session: Session) -> bool:
    """Whether the desk's committed case schema lets a created event record
    what mail brings and sends (attachments, the original, a Message-ID):
    false on a desk made by an older casectl, not upgraded yet."""
    try:
        case_schema = schema.load_schema(session.root / "schemas", schema.CASE_SCHEMA)
        known = case_schema["$defs"]["data_created"]["properties"]
        return "attachments" in known and "message_id" in known
    except Exception:  # noqa: BLE001 - a schema shaped otherwise: the action's own check says
        return True

"""The outbox: a Maildir of the mail casectl queued, under the repository's
state directory (``.git/casectl/outbox``), never committed.

- ``tmp/``: a message written before its action's commit; moved to
  ``new/`` once the commit is made, dropped when it fails. One left here
  by a killed process is reconciled against the case files (app/outbox.py).
- ``new/``: waiting to be sent.
- ``cur/``: done with: sent (flag S, ``NAME:2,S``) or given up (flag F,
  ``NAME:2,F``).

Beside it, ``outbox.state/NAME.json`` holds what the Maildir cannot: the
case, the recipients, attempts, the next try and the last error. One
small file per message, so two processes never rewrite each other's.
A Maildir because any mail tool can read it (mutt -f .git/casectl/outbox)
and because a rename is the only step between waiting and done.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from . import store

DIR = "outbox"
STATE_DIR = "outbox.state"
LOCK = "outbox.lock"
WAITING, FAILED, SENT = "waiting", "failed", "sent"
_FLAGS = {SENT: "S", FAILED: "F"}


@dataclass
class Entry:
    """One queued message: its Maildir name, file and state."""

    name: str
    path: Path
    state: dict[str, Any]

    @property
    def status(self) -> str:
        return str(self.state.get("status") or WAITING)

    def raw(self) -> bytes:
        return self.path.read_bytes()


class Staged:
    """A message written to tmp/ before its action's commit."""

    def __init__(self, box: "Outbox", name: str) -> None:
        self.box = box
        self.name = name

    def deliver(self) -> None:
        """The action committed: the message waits in new/."""
        os.replace(self.box.root / "tmp" / self.name, self.box.root / "new" / self.name)

    def discard(self) -> None:
        """The action failed: the message never existed."""
        (self.box.root / "tmp" / self.name).unlink(missing_ok=True)
        self.box.state_path(self.name).unlink(missing_ok=True)


class Outbox:
    def __init__(self, state_dir: Path) -> None:
        self.root = state_dir / DIR
        self.states = state_dir / STATE_DIR
        self.lock_path = state_dir / LOCK

    @classmethod
    def of(cls, root: Path) -> "Outbox":
        return cls(store.state_dir(root))

    def exists(self) -> bool:
        return self.root.is_dir()

    def _make(self) -> None:
        for sub in ("tmp", "new", "cur"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self.states.mkdir(parents=True, exist_ok=True)

    def state_path(self, name: str) -> Path:
        return self.states / f"{name}.json"

    def stage(self, raw: bytes, state: dict[str, Any]) -> Staged:
        """Write the message to tmp/ (and its state beside it), fsynced:
        after the commit only a rename is left to do."""
        self._make()
        # Time first (in ns): names sort in the order the mail was queued.
        name = f"{time.time_ns()}.{secrets.token_hex(6)}.casectl"
        store.write_atomic(self.state_path(name),
                           json.dumps({**state, "status": WAITING}, ensure_ascii=False,
                                      indent=1))
        path = self.root / "tmp" / name
        with open(path, "wb") as handle:
            handle.write(raw)
            handle.flush()
            os.fsync(handle.fileno())
        return Staged(self, name)

    def leftovers(self) -> list[tuple[str, dict[str, Any]]]:
        """Messages in tmp/ (a process killed between writing and
        commit or rename) and their state."""
        if not (self.root / "tmp").is_dir():
            return []
        return [(path.name, self._state(path.name)) for path in sorted((self.root / "tmp")
                                                                       .iterdir())]

    def entries(self) -> Iterator[Entry]:
        """Every message in new/ and cur/, oldest first."""
        found = []
        for sub in ("new", "cur"):
            folder = self.root / sub
            if folder.is_dir():
                for path in folder.iterdir():
                    name = path.name.partition(":")[0]
                    state = self._state(name)
                    if sub == "cur":
                        flags = path.name.partition(":2,")[2]
                        state.setdefault("status", SENT if "S" in flags else FAILED)
                    else:
                        state["status"] = state.get("status") or WAITING
                    found.append(Entry(name, path, state))
        return iter(sorted(found, key=lambda entry: (str(entry.state.get("queued") or ""),
                                                     entry.name)))

    def _state(self, name: str) -> dict[str, Any]:
        try:
            state = json.loads(self.state_path(name).read_text(encoding="utf-8"))
            return state if isinstance(state, dict) else {}
        except (OSError, ValueError):
            return {}  # a message put here by hand: sent as it is, with no history

    def save(self, entry: Entry, **changes: Any) -> None:
        entry.state.update(changes)
        self.states.mkdir(parents=True, exist_ok=True)
        store.write_atomic(self.state_path(entry.name),
                           json.dumps(entry.state, ensure_ascii=False, indent=1))

    def finish(self, entry: Entry, status: str, **changes: Any) -> None:
        """Sent or given up: state first, then the move to cur/ with its flag."""
        self.save(entry, status=status, **changes)
        target = self.root / "cur" / f"{entry.name}:2,{_FLAGS[status]}"
        os.replace(entry.path, target)
        entry.path = target

    def requeue(self, entry: Entry, **changes: Any) -> None:
        """Back to new/ (a failed message tried again)."""
        self.save(entry, status=WAITING, **changes)
        target = self.root / "new" / entry.name
        if entry.path != target:
            os.replace(entry.path, target)
            entry.path = target

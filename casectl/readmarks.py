"""Read markers: which reporter replies each agent has seen, per case.

Local to one clone and never committed: they live in a small SQLite file
under .git/casectl (store.state_dir), apart from the query index, because
the index is derived data that casectl throws away and rebuilds at will,
while a marker records something that happened only here (an agent read a
case). A marker holds the instant (milliseconds since 1970 UTC) of the
newest reply the agent had seen; a case is unread for its agent when a
reply newer than that exists (index.py keeps each case's newest).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from . import store

READS_FILE = "reads.sqlite"
_DDL = ("CREATE TABLE IF NOT EXISTS seen (agent TEXT NOT NULL, case_id TEXT NOT NULL, "
        "reply_ts INTEGER NOT NULL, PRIMARY KEY (agent, case_id))")


def _path(root: Path) -> Path:
    return store.state_dir(root) / READS_FILE


def seen(root: Path, agent: str) -> dict[str, int]:
    """Case id -> the newest reply ``agent`` has seen there."""
    path = _path(root)
    if not path.is_file():
        return {}
    try:
        conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=10)
        try:
            return dict(conn.execute("SELECT case_id, reply_ts FROM seen WHERE agent = ?",
                                     (agent,)).fetchall())
        finally:
            conn.close()
    except sqlite3.Error:  # unreadable or damaged: every reply counts as unread
        return {}


def mark(root: Path, agent: str, case_id: str, reply_ts: int) -> bool:
    """Remember that ``agent`` has seen the replies of ``case_id`` up to
    ``reply_ts``. False when it cannot be remembered here (a read-only
    repository, a damaged file, which is then replaced): reading a case
    must never fail for want of a marker."""
    directory = store.writable_state_dir(root)
    if directory is None:
        return False
    path = directory / READS_FILE
    for attempt in (1, 2):
        try:
            conn = sqlite3.connect(path, timeout=10, isolation_level=None)
            try:
                conn.execute(_DDL)
                # max(): an older show (a stale copy) never unmarks a newer reply
                conn.execute("INSERT INTO seen VALUES (?, ?, ?) ON CONFLICT (agent, case_id) "
                             "DO UPDATE SET reply_ts = max(reply_ts, excluded.reply_ts)",
                             (agent, case_id, reply_ts))
                return True
            finally:
                conn.close()
        except sqlite3.DatabaseError as exc:
            code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
            if attempt == 2 or code not in (sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
                return False  # busy or locked for 10 s: the marker waits for the next show
            for suffix in ("", "-wal", "-shm", "-journal"):
                (directory / (READS_FILE + suffix)).unlink(missing_ok=True)
    return False

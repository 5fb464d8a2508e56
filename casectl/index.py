"""The query and full-text index: SQLite under .git/casectl/, never
committed, always rebuildable from the case files.

It follows HEAD: it remembers the commit it reflects and, when HEAD has
moved, re-reads only the case files ``git diff-tree`` names. Reading 100,000
YAML files takes most of a minute; reading the handful a few commits
changed takes milliseconds.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence, TypeVar

from . import journal, model, protection, store, yamlio
from .errors import InvalidData, UsageError

INDEX_FILE = "index.sqlite"
SCHEMA_VERSION = "10"  # 4: created_ts/updated_ts, sorts by instant; 5: phone digits;
# 6: tasks, last_reply_ts; SLA level, due, breach and risk instants; 7: sla_pinned -1;
# 8: protected, registered_by, reporter_emails (protected identity); 9: texts_protected;
# 10: message_ids (mail intake's duplicate look-up)
CHUNK = 5000  # files read from git and parsed per round
PARALLEL_FROM = 4000  # below this, worker processes cost more than they save
PRIORITY_RANK = {level: rank for rank, level in enumerate(model.PRIORITIES)}
# Times sort on the *_ts columns (the instant in milliseconds since 1970
# UTC), never on the stored text: its offset follows the desk's daylight
# saving time, so 02:30+02:00 comes before 02:10+01:00 in October.
SORTS = {
    "priority": "priority_rank, created_ts",
    "created": "created_ts",
    "updated": "updated_ts DESC",
    "id": "id",
    "status": "status, priority_rank",
    "team": "team, priority_rank",
    "assignee": "assignee, priority_rank",
    "subject": "subject COLLATE NOCASE",
    # Soonest due first; cases with no running clock (waiting, solved, no
    # target) after them, most urgent first.
    "due": "due_ts IS NULL, due_ts, priority_rank, created_ts",
}
COLUMNS = model.LIST_FIELDS

_DDL = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS cases (
    rowid INTEGER PRIMARY KEY, id TEXT NOT NULL, path TEXT NOT NULL UNIQUE, status TEXT, priority TEXT, priority_rank INTEGER,
    type TEXT, category TEXT, team TEXT, assignee TEXT, subject TEXT, reporter TEXT,
    created TEXT, updated TEXT, created_ts INTEGER, updated_ts INTEGER, is_open INTEGER,
    last_reply_ts INTEGER, sla TEXT, due TEXT, due_ts INTEGER, breach_ts INTEGER,
    risk_ts INTEGER, sla_pinned INTEGER, protected INTEGER, registered_by TEXT);
CREATE TABLE IF NOT EXISTS reporter_emails (case_rowid INTEGER NOT NULL, email TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS reporter_emails_email ON reporter_emails (email);
CREATE TABLE IF NOT EXISTS message_ids (case_rowid INTEGER NOT NULL, message_id TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS message_ids_id ON message_ids (message_id);
CREATE INDEX IF NOT EXISTS message_ids_case ON message_ids (case_rowid);
CREATE TABLE IF NOT EXISTS tasks (
    case_rowid INTEGER NOT NULL, case_id TEXT NOT NULL, task TEXT NOT NULL, subject TEXT,
    need TEXT, to_name TEXT, to_kind TEXT, status TEXT, created TEXT, created_ts INTEGER,
    done TEXT, public INTEGER);
CREATE INDEX IF NOT EXISTS tasks_case ON tasks (case_rowid);
CREATE INDEX IF NOT EXISTS tasks_to ON tasks (to_name, status);
CREATE TABLE IF NOT EXISTS unreadable (path TEXT PRIMARY KEY, problem TEXT);
CREATE INDEX IF NOT EXISTS cases_id ON cases (id);
CREATE INDEX IF NOT EXISTS cases_open ON cases (is_open, priority_rank, created_ts, id);
CREATE INDEX IF NOT EXISTS cases_status ON cases (status);
CREATE INDEX IF NOT EXISTS cases_team ON cases (team, is_open);
CREATE INDEX IF NOT EXISTS cases_assignee ON cases (assignee, is_open);
CREATE INDEX IF NOT EXISTS cases_breach ON cases (is_open, breach_ts);
CREATE VIRTUAL TABLE IF NOT EXISTS texts USING fts5(
    subject, body, tokenize = 'unicode61 remove_diacritics 0');
CREATE VIRTUAL TABLE IF NOT EXISTS texts_protected USING fts5(
    subject, body, tokenize = 'unicode61 remove_diacritics 0');
"""


class _Damaged(Exception):
    """The index file is something other than a casectl index."""


def _connect(root: Path) -> sqlite3.Connection:
    directory = store.writable_state_dir(root)
    if directory is None or not _writable_file(directory / INDEX_FILE):
        # A read-only repository (a snapshot, a read-only mount, someone
        # else's clone) still answers queries: from an index in memory.
        return _in_memory(store.state_dir(root) / INDEX_FILE)
    conn = sqlite3.connect(directory / INDEX_FILE, timeout=60, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        _prepare(conn)
    except sqlite3.DatabaseError as exc:
        conn.close()
        if _error_code(exc) in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN,
                                sqlite3.SQLITE_PERM):
            return _in_memory(directory / INDEX_FILE)
        raise
    except BaseException:
        conn.close()
        raise
    return conn


def _writable_file(path: Path) -> bool:
    return not path.exists() or os.access(path, os.R_OK | os.W_OK)


def _error_code(exc: sqlite3.Error) -> int:
    return getattr(exc, "sqlite_errorcode", 0) & 0xFF  # the primary code, sans extended bits


def _prepare(conn: sqlite3.Connection) -> None:
    """The tables, made (or remade, for an index of an older casectl) when
    missing."""
    if _version(conn) != SCHEMA_VERSION:
        # Several commands may find the index missing at once: one builds
        # the tables, the others wait for it and then find them there.
        with _immediate(conn):
            version = _version(conn)
            if version != SCHEMA_VERSION:
                if version is None and conn.execute(
                        "SELECT count(*) FROM sqlite_master").fetchone()[0]:
                    # Tables, but not ours: whatever this is, it is not to
                    # be dropped table by table nor queried as an index.
                    raise _Damaged("it held some other database")
                for table in ("meta", "cases", "unreadable", "texts", "texts_protected",
                              "tasks", "reporter_emails", "message_ids"):
                    conn.execute(f"DROP TABLE IF EXISTS {table}")
                for statement in filter(str.strip, _DDL.split(";")):
                    conn.execute(statement)
                conn.execute("INSERT INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))


def _in_memory(path: Path) -> sqlite3.Connection:
    """An index in memory, for a repository casectl may not write: a copy
    of the one on disk when that can be read as it stands (it then only
    catches up with HEAD), else built from the files."""
    wal = path.with_name(path.name + "-wal")
    if path.is_file() and not (wal.exists() and wal.stat().st_size):
        # immutable: no lock or -shm file to make; with no WAL the file
        # holds every committed transaction.
        try:
            source = sqlite3.connect(f"{path.as_uri()}?immutable=1", uri=True)
            try:
                if _version(source) == SCHEMA_VERSION:
                    conn = sqlite3.connect(":memory:", isolation_level=None)
                    source.backup(conn)
                    return conn
            finally:
                source.close()
        except (sqlite3.Error, OSError):
            pass  # damaged or unreadable: build it afresh below
    conn = sqlite3.connect(":memory:", isolation_level=None)
    _prepare(conn)
    return conn


def _damage(exc: BaseException) -> str | None:
    """What is wrong with the index file, if ``exc`` says it is damaged."""
    if isinstance(exc, _Damaged):
        return str(exc)
    if isinstance(exc, sqlite3.DatabaseError) and _error_code(exc) in (
            sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB):
        return str(exc)
    return None


def _discard(root: Path, seen: tuple[int, int, int] | None) -> None:
    """Remove a damaged index so the next connection builds a new one.

    Under a lock of its own, and only if the file is still the one found
    damaged: another command may have replaced it meanwhile, and a good
    index that others have open must not be pulled from under them."""
    directory = store.state_dir(root)
    with open(directory / "index.lock", "a+") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        if _identity(directory / INDEX_FILE) == seen:
            for suffix in ("", "-wal", "-shm"):
                (directory / (INDEX_FILE + suffix)).unlink(missing_ok=True)


def _identity(path: Path) -> tuple[int, int, int] | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return info.st_ino, info.st_size, info.st_mtime_ns


T = TypeVar("T")


def _answer(root: Path, ask: Callable[[sqlite3.Connection], T]) -> tuple[T, list[str]]:
    """``ask`` of an index brought up to date, with the index's warnings."""
    kept = Kept(root)
    try:
        found, warnings = kept.ask(lambda conn: (ask(conn), _warnings(conn)))
        return found, kept.notes + warnings
    finally:
        kept.close()


class Kept:
    """One connection to the index for many questions (a mail sweep asks
    one per message): each question first brings it up to HEAD, reading
    only what the commits since the last one changed.

    A damaged index file (random bytes, cut short, another database) is
    derived data: it is thrown away and rebuilt from the files, and the
    user is told in one line (``notes``) rather than met with SQLite's
    error."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.notes: list[str] = []
        self._conn: sqlite3.Connection | None = None

    def ask(self, question: Callable[[sqlite3.Connection], T]) -> T:
        for attempt in (1, 2):
            try:
                self._conn = refresh(self.root, self._conn)
                return question(self._conn)
            except (sqlite3.DatabaseError, _Damaged) as exc:
                problem = _damage(exc)
                seen = _identity(store.state_dir(self.root) / INDEX_FILE)
                self.close()
                if problem is None or attempt == 2:
                    raise
                _discard(self.root, seen)
                self.notes.append(f"the query index was damaged ({problem}); rebuilt it")
            except BaseException:
                self.close()
                raise
        raise AssertionError("unreachable")

    def ask_as_is(self, question: Callable[[sqlite3.Connection], T]) -> T:
        """``question`` of the index as the last ``ask`` left it, without
        looking at HEAD: for a caller that knows what changed since (mail
        intake, of its own commits)."""
        if self._conn is None:
            return self.ask(question)
        try:
            return question(self._conn)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


@contextlib.contextmanager
def _immediate(conn: sqlite3.Connection) -> Iterator[None]:
    """A write transaction taken up front: one writer at a time, the others
    wait (up to the connection's timeout) and then see its result."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _meta(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return row[0] if row else None


def _version(conn: sqlite3.Connection) -> str | None:
    try:
        return _meta(conn, "schema")
    except sqlite3.OperationalError:  # no meta table yet
        return None


def _row(path: str, doc: dict[str, Any], marks: Sequence[Any]
         ) -> tuple[tuple[Any, ...], tuple[str, str]]:
    reporter = doc.get("reporter") or {}
    row = (doc["id"], path, doc["status"], doc["priority"],
           PRIORITY_RANK.get(doc["priority"], 9), doc["type"], doc.get("category"),
           doc.get("team"), doc.get("assignee"), doc["subject"],
           reporter.get("name") or reporter.get("email"), doc["created"], doc["updated"],
           _instant(doc["created"]), _instant(doc["updated"]),
           1 if doc["status"] in model.OPEN_STATUSES else 0, _last_reply(doc), *marks,
           1 if protection.is_protected(doc) else 0, protection.registrant(doc))
    body = [doc.get("description") or "", doc.get("solution") or "", doc.get("rejection") or ""]
    body.extend(model.event_text(event) for event in doc.get("log") or []
                if isinstance(event, dict) and event.get("kind") != "created")
    reporter_text = " ".join([*(str(v) for v in reporter.values() if v),
                              *_phone_terms(reporter.get("phone"))])
    fields = " ".join(str(v) for v in (doc.get("fields") or {}).values())
    return row, (doc["subject"], "\n".join(
        [reporter_text, fields, *(part for part in body if part)]))


def _last_reply(doc: dict[str, Any]) -> int | None:
    """When the reporter last said something (a ``reply`` event): a case is
    unread for an agent whose read marker is older (readmarks.py)."""
    times = [_instant(event["at"]) for event in doc.get("log") or []
             if isinstance(event, dict) and event.get("kind") == "reply"
             and isinstance(event.get("at"), str)]
    return max((t for t in times if t is not None), default=None)


def _task_rows(doc: dict[str, Any]) -> list[tuple[Any, ...]]:
    """The case's tasks (as replay gave them in the header) for `task list`."""
    return [(doc["id"], task["id"], task["subject"], task.get("need"), task["to"],
             task["to_kind"], task["status"], task["created"], _instant(task["created"]),
             task.get("done"), 1 if task.get("public") else 0)
            for task in doc.get("tasks") or [] if isinstance(task, dict)]


def _instant(text: str) -> int | None:
    """Milliseconds since 1970 UTC of a stored time, for sorting; None (sorted
    first) for text that is no time, which 'casectl validate' reports."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:  # the schema requires an offset; read a bare time as UTC
        moment = moment.replace(tzinfo=timezone.utc)
    return round(moment.timestamp() * 1000)


def _phone_terms(phone: Any) -> list[str]:
    """Words that let a phone number be found however it is typed. The file
    keeps it as typed ("+47 917 22 418"), whose words are 47, 917, 22 and
    418; a search for 91722418 or 4791722418 matches by prefix, so the
    digits are indexed whole and without the first one, two or three (the
    country code) while at least 8 are left."""
    if not isinstance(phone, str):
        return []
    digits = "".join(c for c in phone if c.isascii() and c.isdigit())
    return [digits[cut:] for cut in range(4) if len(digits) - cut >= 8]


def _parse(path: str, blob: bytes) -> dict[str, Any]:
    doc = yamlio.load(blob.decode("utf-8"), path)
    if not isinstance(doc, dict):
        raise InvalidData(path, "not a mapping")
    for key in ("id", "status", "priority", "type", "subject", "created", "updated"):
        if not isinstance(doc.get(key), str):
            raise InvalidData(path, f"{key} missing or not text", field=key)
    return doc


# ("ok", row, (text, task rows)), ("bad", path, problem), or ("later", path,
# config blob id): a case whose casectl.yaml blob the judge does not know yet.
Parsed = tuple[str, Any, Any]
NO_MARKS = (None, None, None, None, None, 0)


def _sla_marks(judge: Any, doc: dict[str, Any]) -> tuple[Any, ...] | None:
    """The SLA columns; a case whose clocks cannot be computed (a hand-edited
    log, say) is listed without them, and 'casectl validate' says why."""
    from .slapolicy import row_fields

    try:
        return row_fields(judge, doc)
    except Exception:  # noqa: BLE001 - derived data: a bad file must not stop `list`
        return NO_MARKS


def _parse_one(path: str, blob: bytes, judge: Any) -> Parsed:
    try:
        doc = _parse(path, blob)
        marks = _sla_marks(judge, doc) if isinstance(doc.get("log"), list) and doc["log"] \
            else NO_MARKS
        if marks is None:
            return ("later", path, blob)
        row, text = _row(path, doc, marks)
        tasks = _task_rows(doc)
        emails = protection.reporter_emails(doc)
        message_ids = sorted(model.message_ids(doc))
    except (InvalidData, UnicodeDecodeError, KeyError, TypeError, AttributeError) as exc:
        return ("bad", path, str(exc))
    return ("ok", row, (text, tasks, emails, message_ids))


def _parse_chunk(judge: Any, items: list[tuple[str, bytes]]) -> list[Parsed]:
    return [_parse_one(path, blob, judge) for path, blob in items]


def _judge(root: Path) -> Any:
    """What computes the SLA columns: the current casectl.yaml's policy, the
    policies of config blobs read before, and the holidays they need."""
    from . import slapolicy

    state = store.writable_state_dir(root) or store.state_dir(root)
    found = slapolicy.cached_judge(root, state, slapolicy.read_current(root))
    return slapolicy.with_holidays(found, state)


def _later(root: Path, judge: Any, parsed: list[Parsed]) -> list[Parsed]:
    """Cases whose config blob was new to the judge: read those blobs from
    git (one cat-file for all), then index the cases here."""
    waiting = [(path, blob) for outcome, path, blob in parsed if outcome == "later"]
    if not waiting:
        return parsed
    from . import slapolicy

    blobs = []
    for path, blob in waiting:
        try:
            log = yamlio.load(blob.decode("utf-8"), path)["log"]
            blobs.append(model.ordered(log)[0]["data"]["config"])
        except Exception:  # noqa: BLE001 - it parsed in the worker; be safe all the same
            continue
    state = store.writable_state_dir(root) or store.state_dir(root)
    for blob_id, policy in slapolicy.resolve_blobs(root, state, blobs).items():
        if policy is None:
            judge.missing.add(blob_id)
        else:
            judge.policies[blob_id] = policy
    slapolicy.with_holidays(judge, state)
    again = {path: _parse_one(path, blob, judge) for path, blob in waiting}
    return [again[item[1]] if item[0] == "later" else item for item in parsed]


def _apply(conn: sqlite3.Connection, root: Path, rev: str, paths: Sequence[str]) -> None:
    """(Re)index ``paths`` as they are at ``rev``; YAML parsing, the bulk of
    the cost, is spread over the CPUs when there are many files."""
    if not paths:
        return
    import functools

    judge = _judge(root)
    pool = None
    if len(paths) >= PARALLEL_FROM and (os.cpu_count() or 1) > 1:
        from concurrent.futures import ProcessPoolExecutor

        pool = ProcessPoolExecutor(max_workers=os.cpu_count())
    try:
        for start in range(0, len(paths), CHUNK):
            items = list(journal.read_blobs(root, rev, paths[start:start + CHUNK]))
            if pool is not None:
                step = max(1, len(items) // (4 * (os.cpu_count() or 1)))
                parsed = [p for part in pool.map(functools.partial(_parse_chunk, judge), [
                    items[i:i + step] for i in range(0, len(items), step)]) for p in part]
            else:
                parsed = _parse_chunk(judge, items)
            parsed = _later(root, judge, parsed)
            for path, _ in items:
                _forget(conn, path)
            _store(conn, parsed)
    finally:
        if pool is not None:
            pool.shutdown()
    known = set((_meta(conn, "missing") or "").split())
    if not judge.missing <= known:
        conn.execute("INSERT OR REPLACE INTO meta VALUES ('missing', ?)",
                     (" ".join(sorted(known | judge.missing)),))


def _recheck_missing(conn: sqlite3.Connection, root: Path, head: str | None) -> None:
    """Cases judged under the current casectl.yaml for want of their own
    blob (sla_pinned -1): a pull may have brought it, and `casectl sla`
    then uses it, so their rows are computed again. One cat-file, and only
    in a clone that lacked a blob."""
    known = (_meta(conn, "missing") or "").split()
    if not known or head is None:
        return
    from . import slapolicy

    state = store.writable_state_dir(root) or store.state_dir(root)
    found = slapolicy.resolve_blobs(root, state, known)
    still = [blob for blob in known if found.get(blob) is None]
    if len(still) == len(known):
        return
    conn.execute("INSERT OR REPLACE INTO meta VALUES ('missing', ?)", (" ".join(still),))
    _apply(conn, root, head, [row[0] for row in conn.execute(
        "SELECT path FROM cases WHERE sla_pinned < 0").fetchall()])


_ROW_COLUMNS = ("id", "path", "status", "priority", "priority_rank", "type", "category", "team",
                "assignee", "subject", "reporter", "created", "updated", "created_ts",
                "updated_ts", "is_open", "last_reply_ts", "sla", "due", "due_ts", "breach_ts",
                "risk_ts", "sla_pinned", "protected", "registered_by")  # as _row
_PROTECTED_AT = _ROW_COLUMNS.index("protected")
_INSERT_CASE = (f"INSERT INTO cases ({', '.join(_ROW_COLUMNS)}) "
                f"VALUES ({', '.join('?' * len(_ROW_COLUMNS))})")


_INSERT_TASK = ("INSERT INTO tasks (case_rowid, case_id, task, subject, need, to_name, to_kind, "
                "status, created, created_ts, done, public) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)")


def _store(conn: sqlite3.Connection, parsed: Iterable[Parsed]) -> None:
    for outcome, first, second in parsed:
        if outcome == "bad":
            conn.execute("INSERT OR REPLACE INTO unreadable VALUES (?, ?)", (first, second))
            continue
        text, tasks, emails, message_ids = second
        rowid = conn.execute(_INSERT_CASE, first).lastrowid
        # A protected person's case has its words in a table of their own:
        # the ranking of everyone's search counts words over `texts` alone
        # (see search).
        table = "texts_protected" if first[_PROTECTED_AT] else "texts"
        conn.execute(f"INSERT INTO {table} (rowid, subject, body) VALUES (?, ?, ?)",
                     (rowid, *text))
        conn.executemany(_INSERT_TASK, [(rowid, *task) for task in tasks])
        conn.executemany("INSERT INTO reporter_emails VALUES (?, ?)",
                         [(rowid, email) for email in emails])
        conn.executemany("INSERT INTO message_ids VALUES (?, ?)",
                         [(rowid, message_id) for message_id in message_ids])


def _forget(conn: sqlite3.Connection, path: str) -> None:
    conn.execute("DELETE FROM unreadable WHERE path = ?", (path,))
    for (rowid,) in conn.execute("SELECT rowid FROM cases WHERE path = ?", (path,)).fetchall():
        conn.execute("DELETE FROM texts WHERE rowid = ?", (rowid,))
        conn.execute("DELETE FROM texts_protected WHERE rowid = ?", (rowid,))
        conn.execute("DELETE FROM tasks WHERE case_rowid = ?", (rowid,))
        conn.execute("DELETE FROM reporter_emails WHERE case_rowid = ?", (rowid,))
        conn.execute("DELETE FROM message_ids WHERE case_rowid = ?", (rowid,))
        conn.execute("DELETE FROM cases WHERE rowid = ?", (rowid,))


def _is_case_path(path: str) -> bool:
    parts = path.split("/")
    return len(parts) == 4 and parts[0] == store.CASES_DIR and path.endswith(".yaml")


def refresh(root: Path, conn: sqlite3.Connection | None = None) -> sqlite3.Connection:
    """An index that reflects HEAD, brought up to date if it lags: ``conn``
    (one kept open for many questions, see ``Kept``), else a new connection.

    SQLite answers "database is locked" at once, without waiting, in a few
    races between processes opening a new index together (setting WAL mode,
    recovering the WAL); every step here is a transaction, so trying again
    is safe.
    """
    attempts = 0
    while True:
        try:
            return _refresh(root, conn)
        except sqlite3.OperationalError as exc:
            attempts += 1
            if "locked" not in str(exc) or attempts >= 20:
                raise
            time.sleep(0.05 * attempts)


def _refresh(root: Path, kept: sqlite3.Connection | None = None) -> sqlite3.Connection:
    from .slapolicy import current_key

    conn = kept or _connect(root)
    try:
        head = journal.head(root)
        key = current_key(root)
        if _meta(conn, "commit") != head or _meta(conn, "sla") != key:
            with _immediate(conn):  # one refresher at a time; the others find it done
                indexed = _meta(conn, "commit")
                if indexed != head:
                    _catch_up(conn, root, indexed, head)
                    _recheck_missing(conn, root, head)
                    conn.execute("INSERT OR REPLACE INTO meta VALUES ('commit', ?)", (head,))
                judged = _meta(conn, "sla")
                if judged != key:
                    _rejudge(conn, root, head, judged, key)
                    conn.execute("INSERT OR REPLACE INTO meta VALUES ('sla', ?)", (key,))
        return conn
    except BaseException:
        conn.close()
        raise


def _rejudge(conn: sqlite3.Connection, root: Path, head: str | None, judged: str | None,
             key: str) -> None:
    """casectl.yaml's SLA policy changed since the rows were computed: the
    cases judged under the current one (no config blob of their own, or one
    this clone lacks) are read again; all of them when the holidays package
    changed."""
    if judged is None or head is None:
        return  # a new index: every row was just computed under ``key``
    everything = judged.split(" ")[-1] != key.split(" ")[-1]
    sql = "SELECT path FROM cases" + ("" if everything else " WHERE sla_pinned <= 0")
    _apply(conn, root, head, [row[0] for row in conn.execute(sql).fetchall()])


def _catch_up(conn: sqlite3.Connection, root: Path, indexed: str | None,
              head: str | None) -> None:
    if head is None:
        _clear(conn)
        return
    changes = None
    if indexed is not None:
        try:
            changes = journal.changed_paths(root, indexed, head, store.CASES_DIR)
        except Exception:  # the indexed commit is gone (history rewritten): rebuild
            changes = None
    if changes is None:
        _clear(conn)
        paths = [p for p in journal.files_at(root, head, store.CASES_DIR) if _is_case_path(p)]
        _apply(conn, root, head, paths)
        conn.execute("ANALYZE")
        return
    for status, path in changes:
        if status == "D":
            _forget(conn, path)
    _apply(conn, root, head, [p for s, p in changes if s != "D" and _is_case_path(p)])


def _clear(conn: sqlite3.Connection) -> None:
    for table in ("cases", "texts", "texts_protected", "tasks", "reporter_emails",
                  "message_ids", "unreadable"):
        conn.execute(f"DELETE FROM {table}")


def _warnings(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute("SELECT path, problem FROM unreadable ORDER BY path LIMIT 5").fetchall()
    if not rows:
        return []
    count = conn.execute("SELECT count(*) FROM unreadable").fetchone()[0]
    return [f"{count} committed case file(s) could not be read and are not listed, e.g. "
            f"{rows[0][1]}; run 'casectl validate'"]


def query(root: Path, *, statuses: Sequence[str] = (), scope: str = "open",
          team: str | None = None, assignee: str | None = None,
          priorities: Sequence[str] = (), types: Sequence[str] = (),
          category: str | None = None, sort: str = "priority",
          limit: int | None = None, replied: bool = False, breached: bool = False,
          at_risk: bool = False, now: datetime | None = None,
          fields: Sequence[str] = COLUMNS, hide_for: str | None = None
          ) -> tuple[list[dict[str, Any]], list[str]]:
    """Cases matching the filters. An agent's cases (``assignee``) are those
    they are responsible for and those with an open task given to them.
    ``replied``: only cases the reporter has replied on. Each record also
    holds ``last_reply_ts`` (for the unread marks). ``breached``: an SLA
    clock has run past its target by ``now``; ``at_risk``: less than 20% of
    a target is left but none is breached; both: either (what `casectl sla`
    lists). ``fields``: the columns wanted (a table needs fewer than JSON, and
    20,000 rows of every column cost `list` 20-30 ms more); the records
    hold ``id``, ``assignee``, ``updated_ts``, ``due_ts`` and ``protected``
    whatever they are. ``hide_for``: the reader (see ``_hidden``); a
    protected case they may not see has its subject and reporter masked,
    and sorts by subject as its mask does."""
    if sort not in SORTS:
        raise UsageError(f"cannot sort by {sort!r}", "sort by one of: " + ", ".join(SORTS))
    where: list[str] = []
    args: list[Any] = []
    if statuses:
        where.append(f"status IN ({','.join('?' * len(statuses))})")
        args.extend(statuses)
    elif scope == "open":
        where.append("is_open = 1")
    elif scope == "closed":
        where.append("is_open = 0")
    for column, values in (("priority", priorities), ("type", types)):
        if values:
            where.append(f"{column} IN ({','.join('?' * len(values))})")
            args.extend(values)
    for column, value in (("team", team), ("category", category)):
        if value is not None:
            where.append(f"{column} = ?")
            args.append(value)
    if assignee is not None:
        where.append("(assignee = ? OR rowid IN (SELECT case_rowid FROM tasks WHERE "
                     "to_name = ? AND to_kind = 'agent' AND status = 'open'))")
        args.extend([assignee, assignee])
    if replied:
        where.append("last_reply_ts IS NOT NULL")
    if breached or at_risk:
        moment = round((now or datetime.now(timezone.utc)).timestamp() * 1000)
        # At risk once less than a fifth is left: strictly after risk_ts, as
        # breached is strictly after breach_ts. Either: a clock can have
        # stopped breached (a late reaction) with no risk instant of its own.
        if breached and at_risk:
            where.append("(risk_ts < ? OR breach_ts < ?)")
            args.extend([moment, moment])
        elif breached:
            where.append("breach_ts < ?")
            args.append(moment)
        else:
            where.append("risk_ts < ? AND (breach_ts IS NULL OR breach_ts >= ?)")
            args.extend([moment, moment])
    wanted = [c for c in fields if c in COLUMNS]
    wanted += [c for c in ("id", "assignee") if c not in wanted]
    hidden, hidden_args = _hidden("cases", hide_for)
    shown = [f"CASE WHEN {hidden} THEN '{protection.MARK}' ELSE {c} END AS {c}"
             if c in _MASKED_COLUMNS and hide_for is not None else c for c in wanted]
    select_args = [arg for c in wanted if c in _MASKED_COLUMNS and hide_for is not None
                   for arg in hidden_args]
    sql = (f"SELECT {', '.join(shown)}, last_reply_ts, breach_ts, updated_ts, due_ts, "
           "protected FROM cases")
    if where:
        sql += " WHERE " + " AND ".join(where)
    order = SORTS[sort]
    if sort == "subject" and hide_for is not None:
        # Sorted by what the reader sees: the place of a masked subject in
        # the list must not give away its first letters.
        order = (f"CASE WHEN {hidden} THEN '{protection.MARK}' ELSE subject END "
                 "COLLATE NOCASE")
        args.extend(hidden_args)
    sql += f" ORDER BY {order}, id"
    if limit is not None:
        sql += " LIMIT ?"
        args.append(limit)
    return _answer(root, lambda conn: _shown(_records(conn.execute(sql, select_args + args))))


# The list columns that say who the person is or what the case is about.
_MASKED_COLUMNS = ("subject", "reporter")


def _hidden(alias: str, hide_for: str | None) -> tuple[str, list[Any]]:
    """SQL true for a case whose reporter is protected and which the reader
    ``hide_for`` may not see (roles.may_see_protected, for what the index
    holds): not its assignee, nor its registrant, nor holding an open task
    on it. ``hide_for`` None: a reader who sees everything (no agents
    listed, an auditor); "": one who is no agent, who sees no protected case."""
    if hide_for is None:
        return "0", []
    return (f"({alias}.protected = 1 AND NOT ({alias}.assignee IS ? OR "
            f"{alias}.registered_by IS ? OR {alias}.rowid IN (SELECT case_rowid FROM tasks "
            "WHERE to_name = ? AND to_kind = 'agent' AND status = 'open')))",
            [hide_for] * 3)


def _shown(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    for row in found:
        row["protected"] = bool(row.get("protected"))
    return found


def _records(cursor: sqlite3.Cursor) -> list[dict[str, Any]]:
    # zip over plain tuples: sqlite3.Row -> dict is several times slower,
    # which shows when listing 20,000 open cases.
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row)) for row in cursor]


def _fts_query(text: str) -> str:
    """Each word as a quoted prefix term, so user input is never FTS syntax."""
    words = [word.replace('"', '""') for word in text.split()]
    return " ".join(f'"{word}"*' for word in words)


def search(root: Path, text: str, limit: int | None = None, hide_for: str | None = None
           ) -> tuple[list[dict[str, Any]], list[str]]:
    """Cases whose words match. A protected case the reader ``hide_for``
    may not see (``_hidden``) is left out whatever matched: all its words
    are the person's or the case's free text, so even its being found
    would say that a name or an address is in it.

    Nor may it move the others: bm25 weighs a word by how many cases hold
    it, so protected cases' words are kept in ``texts_protected`` and the
    open cases rank by ``texts`` alone. The protected ones a reader may
    see come first (few, and theirs to work), newest first: ranked among
    themselves they would be weighed by the hidden ones' words."""
    hidden, hidden_args = _hidden("c", hide_for)
    columns = ", ".join("c." + c for c in COLUMNS)
    sql = (f"SELECT * FROM (SELECT {columns}, c.protected, 0 AS grp, bm25(texts) AS rank, "
           "c.created_ts AS ts, snippet(texts, -1, '[', ']', '...', 12) AS match "
           "FROM texts JOIN cases c ON c.rowid = texts.rowid WHERE texts MATCH ? "
           f"UNION ALL SELECT {columns}, c.protected, -1 AS grp, 0 AS rank, "
           "c.created_ts AS ts, snippet(texts_protected, -1, '[', ']', '...', 12) AS match "
           "FROM texts_protected JOIN cases c ON c.rowid = texts_protected.rowid "
           f"WHERE texts_protected MATCH ? AND NOT {hidden}) ORDER BY grp, rank, ts DESC")
    words = _fts_query(text)
    args: list[Any] = [words, words, *hidden_args]
    if limit is not None:
        sql += " LIMIT ?"
        args.append(limit)

    def ask(conn: sqlite3.Connection) -> list[dict[str, Any]]:
        found = _records(conn.execute(sql, args))
        for row in found:
            del row["grp"], row["rank"], row["ts"]
        return _shown(found)
    return _answer(root, ask)


def reporter_cases(root: Path, email: str) -> tuple[list[dict[str, Any]], list[str]]:
    """The cases whose reporter has, or ever had, the address ``email``
    (case-insensitive): id and path of each."""
    sql = ("SELECT DISTINCT c.id, c.path FROM reporter_emails r JOIN cases c "
           "ON c.rowid = r.case_rowid WHERE r.email = ? ORDER BY c.created_ts, c.id")
    return _answer(root, lambda conn: _records(conn.execute(sql, (email.casefold(),))))


def category_counts(root: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """Each category cases are filed under, with its number of cases and of
    open ones (for `casectl category list`)."""
    sql = ("SELECT category, COUNT(*) AS cases, SUM(is_open) AS open FROM cases "
           "WHERE category IS NOT NULL GROUP BY category ORDER BY category")
    return _answer(root, lambda conn: _records(conn.execute(sql)))


TASK_FIELDS = ("case", "task", "status", "to", "to_kind", "subject", "need", "created", "done",
               "public", "case_status", "case_assignee", "case_subject")


def tasks(root: Path, *, agents: Sequence[str] = (), teams: Sequence[str] = (),
          open_only: bool = False, filtered: bool = False, hide_for: str | None = None
          ) -> tuple[list[dict[str, Any]], list[str]]:
    """Tasks across all cases, oldest first; ``filtered``: only those given
    to one of ``agents`` or ``teams``. A task on a protected case the
    reader ``hide_for`` may not see (``_hidden``) has its subject, need and
    case subject masked."""
    where: list[str] = []
    hidden, args = _hidden("c", hide_for)
    if filtered:
        who = []
        for kind, names in (("agent", agents), ("team", teams)):
            if names:
                who.append(f"(t.to_kind = '{kind}' AND t.to_name IN "
                           f"({','.join('?' * len(names))}))")
                args.extend(names)
        where.append("(" + (" OR ".join(who) or "0") + ")")
    if open_only:
        # A rejected case's tasks are moot (reopening it brings them back).
        where.append("t.status = 'open' AND c.is_open = 1")
    sql = ("SELECT t.case_id AS 'case', t.task, t.status, t.to_name AS 'to', t.to_kind, "
           "t.subject, t.need, t.created, t.done, t.public, c.status AS case_status, "
           f"c.assignee AS case_assignee, c.subject AS case_subject, {hidden} AS hidden "
           "FROM tasks t JOIN cases c ON c.rowid = t.case_rowid")
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY t.created_ts, t.case_id, CAST(substr(t.task, 2) AS INTEGER)"

    def ask(conn: sqlite3.Connection) -> list[dict[str, Any]]:
        found = _records(conn.execute(sql, args))
        for row in found:
            row["public"] = bool(row["public"])
            if row.pop("hidden"):
                row.update(subject=protection.MARK, case_subject=protection.MARK,
                           need=protection.MARK if row["need"] is not None else None)
        return found
    return _answer(root, ask)


def cases_reported_since(conn: sqlite3.Connection, email: str, since: datetime) -> int:
    """How many cases whose reporter has, or had, the address ``email``
    were created at ``since`` or later."""
    row = conn.execute("SELECT COUNT(DISTINCT c.rowid) FROM reporter_emails r JOIN cases c "
                       "ON c.rowid = r.case_rowid WHERE r.email = ? AND c.created_ts >= ?",
                       (email.casefold(), round(since.timestamp() * 1000))).fetchone()
    return int(row[0])


def message_case(conn: sqlite3.Connection, message_id: str) -> str | None:
    """The case that recorded the Message-ID ``message_id`` (model.message_ids),
    the newest when several did; None when none did. Ask it of ``Kept``
    (a connection brought up to date): ``Kept(root).ask(lambda conn:
    message_case(conn, id))``."""
    row = conn.execute("SELECT c.id FROM message_ids m JOIN cases c ON c.rowid = m.case_rowid "
                       "WHERE m.message_id = ? ORDER BY c.created_ts DESC, c.id DESC LIMIT 1",
                       (message_id,)).fetchone()
    return row[0] if row else None


def indexed_commit(conn: sqlite3.Connection) -> str | None:
    """The commit the index reflects."""
    return _meta(conn, "commit")

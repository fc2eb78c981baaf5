"""SQLite store: embedded and durable.

Guarantees (WAL mode, `synchronous=FULL`, the default here):
- a batch is one transaction; when `commit()` returns, it is in the WAL and fsynced: it survives
  a process crash (kill -9) *and* a power loss or OS crash;
- with `synchronous="NORMAL"` (opt-in, faster), a process crash still loses nothing committed,
  but a power loss may roll back the last transactions (SQLite's documented WAL behaviour).

Accepted messages are journaled until the next snapshot of their pair, so the file holds the text
of open windows: protect it like the chat database itself (disk encryption, file permissions).
The monitor group-commits: many concurrent `ingest` calls share one fsync.
"""

from __future__ import annotations

import errno
import json
import logging
import os
import sqlite3
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import anyio

from .._errors import ConfigError, MonitorClosed
from .._files import private_sqlite_file
from .._lockfile import FileLock
from ._base import PairRecord, StateStore, StoreBatch

__all__ = ["SQLiteStore"]

_log = logging.getLogger("alliance_monitor.store")

# journal and pending are rowid tables: their rows (message / window JSON, 100 B to several KB)
# are large for a WITHOUT ROWID b-tree, whose inserts cost ~3x more (measured: 0.6 -> 0.2 ms per
# group commit). Files created with the earlier WITHOUT ROWID tables keep them and still work.
_SCHEMA = """
CREATE TABLE IF NOT EXISTS pairs (
    conv TEXT PRIMARY KEY,
    pos INTEGER NOT NULL,
    state TEXT NOT NULL,
    resident INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS journal (
    conv TEXT NOT NULL,
    pos INTEGER NOT NULL,
    msg TEXT NOT NULL,
    PRIMARY KEY (conv, pos)
);
CREATE TABLE IF NOT EXISTS pending (
    conv TEXT NOT NULL,
    win INTEGER NOT NULL,
    req TEXT NOT NULL,
    PRIMARY KEY (conv, win)
);
CREATE TABLE IF NOT EXISTS emitted (
    id TEXT PRIMARY KEY,
    at REAL NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value BLOB
);
CREATE TABLE IF NOT EXISTS board (
    conv TEXT PRIMARY KEY,
    record BLOB NOT NULL
);
"""

#: PRAGMA application_id of a store file ("AMon"): tells it from other programs' databases.
_APPLICATION_ID = 0x414D6F6E
_TABLES = frozenset({"pairs", "journal", "pending", "emitted", "meta", "board"})


#: Rows per INSERT statement (3 or 4 parameters each, under SQLite's older 999-variable limit).
_ROWS_PER_STATEMENT = 240


def _insert(db: sqlite3.Connection, head: str, rows: Sequence[Sequence[Any]]) -> None:
    """`head VALUES (...), (...), ...`: many rows per statement. The sqlite3 module releases the
    GIL around every step of a statement and takes it back after, so `executemany` hands the GIL
    to and from the event loop's thread once per row; one statement per chunk does it once per
    chunk. Rows apply in order, as with `executemany` (OR IGNORE keeps the first of two, OR
    REPLACE the last)."""
    width = len(rows[0])
    one = "(" + ",".join("?" * width) + ")"
    for i in range(0, len(rows), _ROWS_PER_STATEMENT):
        chunk = rows[i : i + _ROWS_PER_STATEMENT]
        db.execute(f"{head} VALUES {','.join([one] * len(chunk))}", [v for r in chunk for v in r])


class SQLiteStore(StateStore):
    """Durable state in one SQLite file (WAL, group commit): after a crash or restart the
    monitor recovers every pair from a snapshot plus journal. One process per file."""

    durable = True

    def __init__(
        self,
        path: str | Path,
        *,
        synchronous: Literal["FULL", "NORMAL"] = "FULL",
        create_dirs: bool = False,
    ) -> None:
        """A durable store in the SQLite file at `path` (relative paths are relative to the
        working directory). The file is created if missing; its folder is created only with
        `create_dirs=True`, otherwise a missing folder is a `ConfigError` naming the full path
        (so a mistyped relative path never silently grows folders under the working directory).
        `synchronous="NORMAL"` trades the last commits before a power loss for speed."""
        if synchronous not in ("FULL", "NORMAL"):
            raise ConfigError("SQLiteStore.synchronous must be FULL or NORMAL")
        self.path = str(path)
        self.url = f"sqlite:///{self.path}"
        self.synchronous = synchronous
        self.create_dirs = create_dirs
        self._db: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        # Pair loads read through their own connection: in WAL mode a reader never waits for
        # the writer, so loading a new pair does not queue behind a commit's fsync.
        self._rdb: sqlite3.Connection | None = None
        self._rlock = threading.Lock()
        self._file_lock: FileLock | None = None

    async def open(self) -> None:
        await anyio.to_thread.run_sync(self._open)

    def _open(self) -> None:
        """Check the folder, take the one-writer lock, check the file, then connect.

        Refused, each with one line naming the path: a folder that does not exist or cannot be
        written (`ConfigError`), a file another process holds (`StoreLocked`, with its pid), a
        file that is not an SQLite database or is another program's database, and an existing
        empty file (`ConfigError`): an empty file is initialised only when this call created it,
        so a state file truncated by accident is never silently taken for a new store."""
        if self.path == ":memory:":
            self._db = self._connect()
            self._db.executescript(_SCHEMA)
            return
        folder = Path(self.path).absolute().parent
        if self.create_dirs:
            folder.mkdir(parents=True, exist_ok=True)
        elif not folder.is_dir():
            raise ConfigError(
                f"the SQLite store's folder does not exist: {folder} (create it, or pass "
                "create_dirs=True; in a store URL: sqlite:///path/state.db?create_dirs=1)"
            )
        _check_writable(folder)
        self._file_lock = FileLock(self.path)
        self._file_lock.acquire()
        try:
            self._open_locked()
        except BaseException:
            self._close_now()
            raise

    def _open_locked(self) -> None:
        try:
            existed = os.path.getsize(self.path) if os.path.exists(self.path) else None
        except OSError as exc:
            raise ConfigError(f"the SQLite store {self.path} cannot be read: {_why(exc)}") from None
        if existed == 0:
            raise ConfigError(
                f"the SQLite store {self.path} is an empty file, not a store (was it truncated?); "
                "move it away to start with no state"
            )
        private_sqlite_file(self.path)  # holds open windows' text: owner only
        try:
            db = self._connect()
            self._db = db
            _check_store(db, self.path, new=existed is None)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(f"PRAGMA synchronous={self.synchronous}")
            # Deleted rows are overwritten with zeros (freed pages too): the text of a journal
            # row a snapshot replaced, or of an erased pair, is not left in the file.
            db.execute("PRAGMA secure_delete=ON")
            db.execute("PRAGMA busy_timeout=10000")
            db.executescript(_SCHEMA)
            db.execute(f"PRAGMA application_id={_APPLICATION_ID}")
            rdb = self._connect()
            self._rdb = rdb
            rdb.execute("PRAGMA busy_timeout=10000")
            rdb.execute("PRAGMA query_only=1")
        except sqlite3.Error as exc:
            raise ConfigError(
                f"the SQLite store {self.path} cannot be opened for writing: {exc}"
            ) from None

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(
            self.path, check_same_thread=False, isolation_level=None, cached_statements=512
        )

    def _close_now(self) -> None:
        for conn in (self._rdb, self._db):
            if conn is not None:
                conn.close()
        self._rdb = self._db = None
        if self._file_lock is not None:
            self._file_lock.release()
            self._file_lock = None

    async def aclose(self) -> None:
        if self._rdb is not None:
            rdb, self._rdb = self._rdb, None
            await anyio.to_thread.run_sync(rdb.close)
        if self._db is not None:
            db, self._db = self._db, None
            await anyio.to_thread.run_sync(db.close)
        if self._file_lock is not None:
            lock, self._file_lock = self._file_lock, None
            lock.release()

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise MonitorClosed("SQLiteStore is not open")
        return self._db

    async def commit(self, batch: StoreBatch) -> None:
        if batch:
            await anyio.to_thread.run_sync(self._commit, batch)

    def _commit(self, b: StoreBatch) -> None:
        db = self._conn()
        with self._lock:
            db.execute("BEGIN IMMEDIATE")
            try:
                if b.journal:
                    _insert(db, "INSERT OR IGNORE INTO journal (conv, pos, msg)", b.journal)
                if b.pending_put:
                    _insert(db, "INSERT OR REPLACE INTO pending (conv, win, req)", b.pending_put)
                if b.pending_del:
                    db.executemany("DELETE FROM pending WHERE conv = ? AND win = ?", b.pending_del)
                if b.snapshots:
                    rows = [(c, p, s, int(r)) for c, p, s, r in b.snapshots]
                    _insert(db, "INSERT OR REPLACE INTO pairs (conv, pos, state, resident)", rows)
                    db.executemany(
                        "DELETE FROM journal WHERE conv = ? AND pos <= ?",
                        [(c, p) for c, p, _, _ in rows],
                    )
                if b.emitted:
                    now = time.time()
                    _insert(
                        db, "INSERT OR IGNORE INTO emitted (id, at)", [(i, now) for i in b.emitted]
                    )
                if b.board:
                    _write_board(db, b.board)
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    async def load_pair(self, conversation_id: str) -> PairRecord | None:
        return await anyio.to_thread.run_sync(self._load, conversation_id)

    def _load(self, conv: str) -> PairRecord | None:
        db, lock = (self._rdb, self._rlock) if self._rdb is not None else (self._conn(), self._lock)
        with lock:
            db.execute("BEGIN")  # one read snapshot for the three queries
            try:
                row = db.execute("SELECT pos, state FROM pairs WHERE conv = ?", (conv,)).fetchone()
                pos = row[0] if row else -1
                journal = db.execute(
                    "SELECT pos, msg FROM journal WHERE conv = ? AND pos > ? ORDER BY pos",
                    (conv, pos),
                ).fetchall()
                pending = db.execute(
                    "SELECT req FROM pending WHERE conv = ? ORDER BY win", (conv,)
                ).fetchall()
            finally:
                db.execute("COMMIT")
        if row is None and not journal and not pending:
            return None
        snapshot: dict[str, Any] | None = json.loads(row[1]) if row else None
        return PairRecord(
            conv, snapshot, [(int(p), m) for p, m in journal], [json.loads(r[0]) for r in pending]
        )

    async def resident_pairs(self) -> list[str]:
        def q() -> list[str]:
            db = self._conn()
            with self._lock:
                rows = db.execute(
                    "SELECT conv FROM pairs WHERE resident = 1 "
                    "UNION SELECT DISTINCT conv FROM journal "
                    "UNION SELECT DISTINCT conv FROM pending"
                ).fetchall()
            return sorted(r[0] for r in rows)

        return await anyio.to_thread.run_sync(q)

    async def known_pairs(self) -> list[str] | None:
        def q() -> list[str]:
            db = self._conn()
            with self._lock:
                rows = db.execute(
                    "SELECT conv FROM pairs UNION SELECT DISTINCT conv FROM journal "
                    "UNION SELECT DISTINCT conv FROM pending"
                ).fetchall()
            return [r[0] for r in rows]

        return await anyio.to_thread.run_sync(q)

    async def evicted_open_sessions(self) -> list[tuple[str, float]]:
        def q() -> list[tuple[str, float]]:
            db = self._conn()
            with self._lock:
                rows = db.execute(
                    "SELECT conv, json_extract(state, '$.last_seen') FROM pairs "
                    "WHERE resident = 0 AND json_extract(state, '$.current_session') IS NOT NULL"
                ).fetchall()
            return [(str(c), float(t or 0.0)) for c, t in rows]

        return await anyio.to_thread.run_sync(q)

    async def emitted(self, ids: Sequence[str]) -> set[str]:
        if not ids:
            return set()

        def q() -> set[str]:
            db = self._conn()
            out: set[str] = set()
            with self._lock:
                for i in range(0, len(ids), 500):
                    chunk = list(ids[i : i + 500])
                    marks = ",".join("?" * len(chunk))
                    out.update(
                        r[0]
                        for r in db.execute(f"SELECT id FROM emitted WHERE id IN ({marks})", chunk)
                    )
            return out

        return await anyio.to_thread.run_sync(q)

    async def erase(self, conversation_id: str) -> dict[str, int]:
        """Delete the pair's rows with their content overwritten (``secure_delete``), then
        checkpoint the write-ahead log into the file and truncate it, so the text is in neither
        file afterwards (the tests read both files' bytes)."""
        return await anyio.to_thread.run_sync(self._erase, conversation_id)

    def _erase(self, conv: str) -> dict[str, int]:
        db = self._conn()
        with self._lock:
            db.execute("BEGIN IMMEDIATE")
            try:
                out = {
                    "snapshots": db.execute("DELETE FROM pairs WHERE conv = ?", (conv,)).rowcount,
                    "journal_messages": db.execute(
                        "DELETE FROM journal WHERE conv = ?", (conv,)
                    ).rowcount,
                    "pending_windows": db.execute(
                        "DELETE FROM pending WHERE conv = ?", (conv,)
                    ).rowcount,
                    "board_records": db.execute(
                        "DELETE FROM board WHERE conv = ?", (conv,)
                    ).rowcount,
                }
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            self._truncate_wal(db)
        return out

    def _truncate_wal(self, db: sqlite3.Connection) -> None:
        """Copy the log into the file and empty it: its frames hold old page images (text of
        rows deleted since). Waits for readers (the pair-load connection) up to busy_timeout."""
        if self.path == ":memory:":
            return
        with self._rlock:  # no read transaction of ours may pin the log
            busy = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
        if busy:
            _log.warning("alliance_monitor.store_checkpoint_busy", extra={"path": self.path})

    async def load_board(self, conversation_ids: Sequence[str] | None = None) -> dict[str, bytes]:
        def q() -> dict[str, bytes]:
            db, lock = (
                (self._rdb, self._rlock) if self._rdb is not None else (self._conn(), self._lock)
            )
            with lock:
                if conversation_ids is None:
                    rows = db.execute("SELECT conv, record FROM board").fetchall()
                else:
                    rows = []
                    ids = list(conversation_ids)
                    for i in range(0, len(ids), 500):
                        chunk = ids[i : i + 500]
                        marks = ",".join("?" * len(chunk))
                        rows += db.execute(
                            f"SELECT conv, record FROM board WHERE conv IN ({marks})", chunk
                        ).fetchall()
            return {str(c): bytes(r) for c, r in rows}

        return await anyio.to_thread.run_sync(q)

    async def stale_pairs(self, before: float) -> list[str]:
        def q() -> list[str]:
            db = self._conn()
            with self._lock:
                rows = db.execute(
                    "SELECT conv FROM pairs WHERE json_extract(state, '$.last_seen') < ? "
                    "UNION SELECT conv FROM journal WHERE conv NOT IN (SELECT conv FROM pairs) "
                    "GROUP BY conv HAVING MAX(json_extract(msg, '$.ts')) < ? "
                    "UNION SELECT conv FROM pending WHERE conv NOT IN (SELECT conv FROM pairs) "
                    "AND conv NOT IN (SELECT conv FROM journal)",
                    (before, before),
                ).fetchall()
            return sorted(r[0] for r in rows)

        return await anyio.to_thread.run_sync(q)

    async def probe(self) -> None:
        """A small write, committed (fails while the disk is full or the file read-only)."""

        def q() -> None:
            db = self._conn()
            with self._lock:
                db.execute("BEGIN IMMEDIATE")
                try:
                    db.execute("INSERT OR REPLACE INTO meta VALUES ('probe', randomblob(4096))")
                    db.execute("COMMIT")
                except BaseException:
                    db.execute("ROLLBACK")
                    raise

        await anyio.to_thread.run_sync(q)

    async def integrity_check(self) -> bool:
        def q() -> bool:
            with self._lock:
                row = self._conn().execute("PRAGMA integrity_check").fetchone()
            return bool(row and row[0] == "ok")

        return await anyio.to_thread.run_sync(q)


def _write_board(db: sqlite3.Connection, rows: Sequence[tuple[str, bytes | None]]) -> None:
    put = [(c, r) for c, r in rows if r is not None]
    if put:
        _insert(db, "INSERT OR REPLACE INTO board (conv, record)", put)
    gone = [(c,) for c, r in rows if r is None]
    if gone:
        db.executemany("DELETE FROM board WHERE conv = ?", gone)


def _why(exc: OSError) -> str:
    name = errno.errorcode.get(exc.errno or 0, "")
    return f"{exc.strerror or type(exc).__name__}" + (f" ({name})" if name else "")


def _check_writable(folder: Path) -> None:
    """The folder takes a new file (SQLite creates the -wal and -shm files beside the store)."""
    try:
        fd, probe = tempfile.mkstemp(prefix=".alliance-monitor-probe-", dir=folder)
    except OSError as exc:
        raise ConfigError(
            f"the SQLite store's folder {folder} is not writable: {_why(exc)}"
        ) from None
    os.close(fd)
    os.unlink(probe)


def _check_store(db: sqlite3.Connection, path: str, *, new: bool) -> None:
    """An SQLite database holding an alliance-monitor store, or none at all yet."""
    try:
        app = int(db.execute("PRAGMA application_id").fetchone()[0])
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError:
        raise ConfigError(f"the SQLite store {path} is not an SQLite database") from None
    if app == _APPLICATION_ID or new:
        return
    # Files written before the application id was set hold our tables and no others.
    if app != 0 or not tables or not tables <= _TABLES or "journal" not in tables:
        raise ConfigError(
            f"the SQLite store {path} is an SQLite database of another program, not an "
            "alliance-monitor store"
        )

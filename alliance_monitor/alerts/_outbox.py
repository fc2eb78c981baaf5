"""The durable alert outbox: one SQLite row per (alert id, endpoint).

Durability: WAL journal with ``synchronous=FULL``, so a committed alert survives a process
crash *and* a power loss (the WAL is fsynced on every commit). An alert is committed here before
`AlertDispatcher.submit` returns, and marked delivered only after a 2xx answer; a crash between
the answer and the commit re-sends it after restart (at-least-once: receivers de-duplicate on
the ``webhook-id``). Attempt outcomes (delivered, retry, failed) are committed without their own
fsync: a power loss can undo the latest of them, which again only means another attempt.
With ``path=None`` the outbox is an in-memory database: nothing survives the process.

Row statuses::

    held ──(digest flush)──> digested          (the digest row carries them)
    pending ──2xx──> delivered
       │ └──(retries exhausted)──> failed       (kept and counted, never expired)
       └──(endpoint answered 410)──> disabled   (kept; re-queued if the endpoint is re-enabled)

Rows hold the exact body to send (thin payloads; message text only if the deployment opted in)
and, for failures, an error *code* (``http_503``, ``timeout``...), never a response body.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from .._files import private_sqlite_file
from .._lockfile import FileLock

__all__ = ["Outbox", "OutboxRow"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS alerts (
    alert_id        TEXT NOT NULL,
    endpoint        TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    severity        TEXT NOT NULL,
    priority        INTEGER NOT NULL,
    payload         BLOB NOT NULL,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL NOT NULL,
    created_at      REAL NOT NULL,
    updated_at      REAL NOT NULL,
    last_error      TEXT,
    last_status     INTEGER,
    digest_id       TEXT,
    conversation_id TEXT,
    PRIMARY KEY (alert_id, endpoint)
);
CREATE INDEX IF NOT EXISTS alerts_due ON alerts (status, next_attempt_at);
CREATE TABLE IF NOT EXISTS cooldowns (
    key      TEXT PRIMARY KEY,
    last_at  REAL NOT NULL,
    rank     INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS endpoints (
    name        TEXT PRIMARY KEY,
    disabled_at REAL,
    reason      TEXT
);
"""
#: 2: the conversation_id column (files of version 1 get it on open; their rows are found by
#: the id in their payload when a pair is erased).
_VERSION = 2


@dataclass(frozen=True, slots=True)
class OutboxRow:
    alert_id: str
    endpoint: str
    event_type: str
    severity: str
    priority: int
    payload: bytes
    status: str
    attempts: int
    next_attempt_at: float
    created_at: float
    last_error: str | None = None
    last_status: int | None = None
    #: The pair the alert is about (None for a digest: its members name theirs).
    conversation_id: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.alert_id, self.endpoint)


_COLUMNS = (
    "alert_id, endpoint, event_type, severity, priority, payload, status, attempts, "
    "next_attempt_at, created_at, last_error, last_status, conversation_id"
)


def _row(values: Sequence[object]) -> OutboxRow:
    return OutboxRow(*values)  # type: ignore[arg-type]


class Outbox:
    """SQLite-backed outbox. Used from the event loop's thread, except the `*_threadsafe`
    writes (a connection of their own, for a worker thread); every write is one transaction."""

    #: One process per file: the dispatcher keeps cooldowns and disabled endpoints in memory.
    shared = False

    def __init__(self, path: str | None) -> None:
        self.path = path
        self._lock: FileLock | None = None
        if path is not None:
            # One process per outbox: two dispatchers on one file would both deliver its
            # pending alerts (`StoreLocked`, naming the holder's pid, for the second).
            self._lock = FileLock(path, what="alert outbox")
            self._lock.acquire()
            try:
                private_sqlite_file(path)  # alerts name conversations: owner only
                self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            except BaseException:
                self._lock.release()
                raise
        else:
            self._db = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        if path is not None:
            mode = self._db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":  # pragma: no cover - e.g. a read-only medium
                raise sqlite3.OperationalError("alert outbox: cannot enable WAL journal")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.execute("PRAGMA secure_delete=ON")  # purged and erased rows are zeroed
        self._db.executescript(_SCHEMA)
        _migrate(self._db)
        self._db.execute(f"PRAGMA user_version={_VERSION}")
        # New alerts are written through a connection of their own, from a worker thread, so
        # their fsync (synchronous=FULL) never holds the event loop. WAL lets the loop's
        # connection keep reading meanwhile; an in-memory outbox has no fsync to move.
        self._writer: sqlite3.Connection | None = None
        self._writer_lock = threading.Lock()
        if path is not None:
            w = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            w.execute("PRAGMA synchronous=FULL")
            w.execute("PRAGMA busy_timeout=5000")
            w.execute("PRAGMA secure_delete=ON")
            self._writer = w

    @property
    def threaded_inserts(self) -> bool:
        """True when `insert_threadsafe` may be called from a worker thread."""
        return self._writer is not None

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self._db.close()
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    # --- writes ---------------------------------------------------------------------------

    def insert(
        self, rows: Iterable[OutboxRow], cooldown: tuple[str, float, int] | None = None
    ) -> int:
        """Insert new rows (existing (id, endpoint) pairs are left alone) and record the
        cooldown, in one transaction. Returns the number of rows inserted."""
        with self._tx() as db:
            return _insert(db, rows, cooldown)

    def insert_threadsafe(
        self, rows: Iterable[OutboxRow], cooldown: tuple[str, float, int] | None = None
    ) -> int:
        """`insert` through the writer connection: safe to call from a worker thread (one at a
        time); durable (fsynced) when it returns."""
        with self._writing() as db:
            return _insert(db, rows, cooldown)

    @contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        """A durable transaction on the writer connection (one thread at a time)."""
        if self._writer is None:
            raise RuntimeError("in-memory outbox: write on the event loop")
        with self._writer_lock, _Transaction(self._writer, durable=True) as db:
            yield db

    def mark(
        self,
        key: tuple[str, str],
        *,
        status: str,
        attempts: int,
        now: float,
        next_attempt_at: float | None = None,
        error: str | None = None,
        http_status: int | None = None,
    ) -> None:
        """Record an attempt's outcome. Not fsynced on its own (``synchronous=NORMAL`` for this
        transaction): on power loss the mark can be lost, which only means one more attempt
        (at-least-once); the next fully synced commit makes it durable too."""
        with self._tx(durable=False) as db:
            db.execute(
                "UPDATE alerts SET status=?, attempts=?, updated_at=?, "
                "next_attempt_at=COALESCE(?, next_attempt_at), last_error=?, last_status=? "
                "WHERE alert_id=? AND endpoint=?",
                (status, attempts, now, next_attempt_at, error, http_status, *key),
            )

    def disable_endpoint(self, name: str, now: float, reason: str) -> int:
        """Mark the endpoint disabled and park its pending/held rows as ``disabled``."""
        with self._tx() as db:
            return _disable(db, name, now, reason)

    def disable_endpoint_threadsafe(self, name: str, now: float, reason: str) -> int:
        """`disable_endpoint` through the writer connection (from a worker thread)."""
        with self._writing() as db:
            return _disable(db, name, now, reason)

    def enable_endpoint(self, name: str, now: float) -> int:
        """Clear the disabled mark and re-queue the endpoint's ``disabled`` rows."""
        with self._tx() as db:
            db.execute("DELETE FROM endpoints WHERE name=?", (name,))
            cur = db.execute(
                "UPDATE alerts SET status='pending', attempts=0, next_attempt_at=?, updated_at=? "
                "WHERE endpoint=? AND status='disabled'",
                (now, now, name),
            )
            return cur.rowcount

    def add_digest(self, digest: OutboxRow, members: Sequence[tuple[str, str]]) -> bool:
        """Insert a digest row and mark its member rows ``digested``, atomically (True)."""
        with self._tx() as db:
            _add_digest(db, digest, members)
        return True

    def add_digest_threadsafe(self, digest: OutboxRow, members: Sequence[tuple[str, str]]) -> bool:
        """`add_digest` through the writer connection (from a worker thread)."""
        with self._writing() as db:
            _add_digest(db, digest, members)
        return True

    def requeue_failed(self, endpoint: str | None, now: float) -> int:
        """Give failed rows (all, or one endpoint's) a fresh retry schedule."""
        with self._tx() as db:
            cur = db.execute(
                "UPDATE alerts SET status='pending', attempts=0, next_attempt_at=?, updated_at=? "
                "WHERE status='failed' AND (? IS NULL OR endpoint=?)",
                (now, now, endpoint, endpoint),
            )
            return cur.rowcount

    def purge(self, before: float) -> int:
        """Delete delivered and digested rows last updated before `before`."""
        with self._tx() as db:
            cur = db.execute(
                "DELETE FROM alerts WHERE status IN ('delivered', 'digested') AND updated_at < ?",
                (before,),
            )
            db.execute("DELETE FROM cooldowns WHERE last_at < ?", (before,))
            return cur.rowcount

    def erase(self, conversation_id: str) -> dict[str, int]:
        """Delete every alert about the pair (its rows in any status; rows of files written
        before the conversation column are found by the id in their payload), the digests that
        carry one of them (a digest not yet sent gives its other members back to be digested
        again), and the pair's cooldowns. Deleted content is zeroed and the log emptied into
        the file, so the payloads are in neither file afterwards. Counts by kind."""
        conv = conversation_id
        quoted = json.dumps(conv).encode()
        with self._tx() as db:
            mine = (
                "(conversation_id = ? OR (conversation_id IS NULL AND event_type != 'digest' "
                "AND instr(payload, ?) > 0))"
            )
            digests = [
                (r[0], r[1])
                for r in db.execute(
                    f"SELECT DISTINCT digest_id, endpoint FROM alerts WHERE {mine} "
                    "AND digest_id IS NOT NULL",
                    (conv, quoted),
                )
            ]
            alerts = db.execute(f"DELETE FROM alerts WHERE {mine}", (conv, quoted)).rowcount
            n_digests = 0
            for digest_id, endpoint in digests:
                status = db.execute(
                    "SELECT status FROM alerts WHERE alert_id=? AND endpoint=?",
                    (digest_id, endpoint),
                ).fetchone()
                if status is not None and status[0] in ("pending", "disabled"):
                    db.execute(  # not sent yet: its other members are digested again
                        "UPDATE alerts SET status='held', digest_id=NULL "
                        "WHERE digest_id=? AND endpoint=?",
                        (digest_id, endpoint),
                    )
                n_digests += db.execute(
                    "DELETE FROM alerts WHERE alert_id=? AND endpoint=?", (digest_id, endpoint)
                ).rowcount
            cooldowns = db.execute(
                "DELETE FROM cooldowns WHERE substr(key, 1, ?) = ?",
                (len(conv) + 1, conv + "\x1f"),
            ).rowcount
        if self.path is not None:
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return {
            "outbox.alerts": alerts,
            "outbox.digests": n_digests,
            "outbox.cooldowns": cooldowns,
        }

    # --- reads ----------------------------------------------------------------------------

    def has_alert(self, alert_id: str) -> bool:
        cur = self._db.execute("SELECT 1 FROM alerts WHERE alert_id=? LIMIT 1", (alert_id,))
        return cur.fetchone() is not None

    def due(self, now: float, limit: int, endpoints: Collection[str]) -> list[OutboxRow]:
        """Pending rows of `endpoints` whose time has come, most severe first."""
        if not endpoints:
            return []
        marks = ",".join("?" * len(endpoints))
        cur = self._db.execute(
            f"SELECT {_COLUMNS} FROM alerts WHERE status='pending' AND next_attempt_at<=? "
            f"AND endpoint IN ({marks}) ORDER BY priority DESC, next_attempt_at LIMIT ?",
            (now, *endpoints, limit),
        )
        return [_row(r) for r in cur.fetchall()]

    def next_due_at(
        self, endpoints: Collection[str], skip: Collection[tuple[str, str]] = ()
    ) -> float | None:
        """When the next pending row of `endpoints` (other than those in `skip`) is due."""
        if not endpoints:
            return None
        marks = ",".join("?" * len(endpoints))
        cur = self._db.execute(
            f"SELECT alert_id, endpoint, next_attempt_at FROM alerts WHERE status='pending' "
            f"AND endpoint IN ({marks}) ORDER BY next_attempt_at LIMIT ?",
            (*endpoints, len(skip) + 1),
        )
        for alert_id, endpoint, at in cur.fetchall():
            if (alert_id, endpoint) not in skip:
                return float(at)
        return None

    def held_since(self) -> dict[str, float]:
        """For each endpoint with held (digest) rows, when the oldest was held."""
        cur = self._db.execute(
            "SELECT endpoint, MIN(created_at) FROM alerts WHERE status='held' GROUP BY endpoint"
        )
        return {name: float(at) for name, at in cur.fetchall()}

    def held(self, endpoint: str) -> list[OutboxRow]:
        cur = self._db.execute(
            f"SELECT {_COLUMNS} FROM alerts WHERE status='held' AND endpoint=? ORDER BY created_at",
            (endpoint,),
        )
        return [_row(r) for r in cur.fetchall()]

    def counts(self) -> dict[str, int]:
        cur = self._db.execute("SELECT status, COUNT(*) FROM alerts GROUP BY status")
        return {status: int(n) for status, n in cur.fetchall()}

    def counts_by_endpoint(self, status: str) -> dict[str, int]:
        cur = self._db.execute(
            "SELECT endpoint, COUNT(*) FROM alerts WHERE status=? GROUP BY endpoint", (status,)
        )
        return {name: int(n) for name, n in cur.fetchall()}

    def rows(self, status: str | None = None) -> list[OutboxRow]:
        sql = f"SELECT {_COLUMNS} FROM alerts"
        args: tuple[str, ...] = ()
        if status is not None:
            sql += " WHERE status=?"
            args = (status,)
        return [_row(r) for r in self._db.execute(sql + " ORDER BY created_at", args).fetchall()]

    def cooldown(self, key: str) -> tuple[float, int] | None:
        row = self._db.execute("SELECT last_at, rank FROM cooldowns WHERE key=?", (key,)).fetchone()
        return None if row is None else (float(row[0]), int(row[1]))

    def cooldowns(self) -> dict[str, tuple[float, int]]:
        cur = self._db.execute("SELECT key, last_at, rank FROM cooldowns")
        return {key: (float(at), int(rank)) for key, at, rank in cur.fetchall()}

    def disabled_endpoints(self) -> dict[str, str]:
        cur = self._db.execute("SELECT name, reason FROM endpoints WHERE disabled_at IS NOT NULL")
        return {name: str(reason) for name, reason in cur.fetchall()}

    def integrity_ok(self) -> bool:
        return bool(self._db.execute("PRAGMA quick_check").fetchone()[0] == "ok")

    # --- plumbing -------------------------------------------------------------------------

    def _tx(self, *, durable: bool = True) -> _Transaction:
        return _Transaction(self._db, durable=durable or self.path is None)


def _insert(
    db: sqlite3.Connection,
    rows: Iterable[OutboxRow],
    cooldown: tuple[str, float, int] | None,
) -> int:
    before = db.total_changes
    db.executemany(
        f"INSERT OR IGNORE INTO alerts ({_COLUMNS}, updated_at, digest_id) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,NULL)",
        [(*_values(r), r.created_at) for r in rows],
    )
    inserted = db.total_changes - before
    if cooldown is not None and inserted:
        db.execute(
            "INSERT INTO cooldowns (key, last_at, rank) VALUES (?,?,?) "
            "ON CONFLICT(key) DO UPDATE SET last_at=excluded.last_at, rank=excluded.rank",
            cooldown,
        )
    return inserted


def _disable(db: sqlite3.Connection, name: str, now: float, reason: str) -> int:
    db.execute(
        "INSERT INTO endpoints (name, disabled_at, reason) VALUES (?,?,?) ON CONFLICT(name)"
        " DO UPDATE SET disabled_at=excluded.disabled_at, reason=excluded.reason",
        (name, now, reason),
    )
    cur = db.execute(
        "UPDATE alerts SET status='disabled', updated_at=?, last_error=? "
        "WHERE endpoint=? AND status IN ('pending', 'held')",
        (now, reason, name),
    )
    return cur.rowcount


def _add_digest(
    db: sqlite3.Connection, digest: OutboxRow, members: Sequence[tuple[str, str]]
) -> None:
    db.execute(
        f"INSERT OR IGNORE INTO alerts ({_COLUMNS}, updated_at, digest_id) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,NULL)",
        (*_values(digest), digest.created_at),
    )
    db.executemany(
        "UPDATE alerts SET status='digested', digest_id=?, updated_at=? "
        "WHERE alert_id=? AND endpoint=? AND status='held'",
        [(digest.alert_id, digest.created_at, *m) for m in members],
    )


def _values(r: OutboxRow) -> tuple[object, ...]:
    return (
        r.alert_id, r.endpoint, r.event_type, r.severity, r.priority, r.payload, r.status,
        r.attempts, r.next_attempt_at, r.created_at, r.last_error, r.last_status,
        r.conversation_id,
    )  # fmt: skip


def _migrate(db: sqlite3.Connection) -> None:
    """Bring an outbox file of an earlier version to this one."""
    columns = {r[1] for r in db.execute("PRAGMA table_info(alerts)")}
    if "conversation_id" not in columns:
        db.execute("ALTER TABLE alerts ADD COLUMN conversation_id TEXT")


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on error)."""

    def __init__(self, db: sqlite3.Connection, *, durable: bool) -> None:
        self._db = db
        self._durable = durable

    def __enter__(self) -> sqlite3.Connection:
        if not self._durable:
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("BEGIN IMMEDIATE")
        return self._db

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        try:
            self._db.execute("ROLLBACK" if exc_type is not None else "COMMIT")
        finally:
            if not self._durable:
                self._db.execute("PRAGMA synchronous=FULL")

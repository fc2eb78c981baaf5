"""The supervisor board kept in the state store, so it survives restarts and spans processes.

    board = StoredBoard()                                  # a PairBoard kept in the store
    monitor = Monitor(store=board.wrap(store), ...)        # its records ride the monitor's commits
    monitor.on(board)
    async with monitor:
        await board.load()                                 # the pairs of earlier runs
        app = supervisor_app(board.board)

    follower = BoardFollower(store)                        # another process: the board to show
    await follower.run()                                   # polls the store's change log

**Written with the events it reflects.** `StoredBoard` applies each event to its `PairBoard` and
marks the pair; the next commit of the monitor's store (`wrap`) carries the marked pairs'
records (`BoardRow`) in the same atomic batch. The monitor records an event's id as emitted only
in a commit after the event was delivered, so when that id is durable the board record holding
the event is too: after a crash the store re-emits exactly the events the board has not seen.

**Every worker's pairs.** The board is a cache of the store: a pair's record is read from the
store before its first event in this process (another worker may have written it), a pair
evicted from the cache has its record kept for the next commit, and
`forget` drops the pairs of a shard the worker no longer holds. Records are fenced like every
other write of the worker. `BoardFollower` (``serve --mode board``) reads every worker's records
and follows the store's change log (Redis), so the supervisor sees all pairs from one place.

Records hold what the board shows: ids, window scores, markers, feedback; message text only with
`include_text` (feedback quotes). `Monitor.erase` deletes a pair's record with its state.
"""

from __future__ import annotations

import json
import logging
import zlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import anyio

from .._events import Event
from ..store import BoardRow, PairRecord, StateStore, StoreBatch
from ._board import PairBoard

__all__ = ["BoardFollower", "StoredBoard"]

_log = logging.getLogger("alliance_monitor.board")


def encode_record(record: Mapping[str, Any]) -> bytes:
    """A board record as stored: compact JSON, zlib-compressed (level 1)."""
    return zlib.compress(json.dumps(record, separators=(",", ":")).encode(), 1)


def decode_record(data: bytes) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(zlib.decompress(data))
    return out


class StoredBoard:
    """A `PairBoard` whose pairs are written to the monitor's state store (module docstring).

    - `board`: the board to keep (default a new `PairBoard`); serve it with `supervisor_app`.
    - `include_text`: keep feedback quotes in the stored records (as `Monitor(include_text=)`).

    A pair's record is read from the store before its first event in this process (events
    of a recovery may come before `load()`; in a scale-out worker, another worker may have
    written it).
    """

    def __init__(self, board: PairBoard | None = None, *, include_text: bool = False) -> None:
        self.board = board if board is not None else PairBoard()
        self.board.on_evict = self._evicted
        self.board.record_text = include_text
        self.include_text = include_text
        self.store: StateStore | None = None
        #: Pairs to write at the next commit: None (read from the board then) or the record
        #: already taken (a pair the board's bound evicted meanwhile).
        self._dirty: dict[str, bytes | None] = {}
        self._fetching: dict[str, anyio.Event] = {}
        self.counts: dict[str, int] = {"records_written": 0, "records_read": 0, "bad_records": 0}

    # ------------------------------------------------------------------ wiring
    def wrap(self, store: StateStore) -> StateStore:
        """The store to give the `Monitor`: `store`, with the marked pairs' records added to
        each batch it commits."""
        self.store = _BoardBatches(store, self)
        return self.store

    async def load(self) -> int:
        """Put every stored record on the board (those of pairs it already holds excepted:
        they are newer). Call it once the monitor is open. Returns how many were read."""
        store = self._store()
        records = await store.load_board()
        n = 0
        for conv, data in records.items():
            if conv not in self.board and self._restore(data):
                n += 1
        return n

    # ------------------------------------------------------------------ the handler
    async def __call__(self, event: Event) -> None:
        conv = event.conversation_id
        if conv not in self.board:
            await self._fetch(conv)
        self.board(event)
        self._dirty[conv] = None

    async def _fetch(self, conv: str) -> None:
        """Bring the pair's record onto the board before its first event here."""
        waiting = self._fetching.get(conv)
        if waiting is not None:
            await waiting.wait()
            return
        done = self._fetching[conv] = anyio.Event()
        try:
            held = self._dirty.get(conv)
            if held is not None:  # evicted here, not yet written: this is its latest state
                self._restore(held)
                return
            data = (await self._store().load_board([conv])).get(conv)
            if data is not None and conv not in self.board:
                self._restore(data)
        finally:
            del self._fetching[conv]
            done.set()

    def _restore(self, data: bytes) -> bool:
        try:
            self.board.restore_pair(decode_record(data))
        except (ValueError, KeyError, TypeError, zlib.error) as exc:
            self.counts["bad_records"] += 1
            _log.error(
                "alliance_monitor.board_record_unreadable", extra={"error": type(exc).__name__}
            )
            return False
        self.counts["records_read"] += 1
        return True

    def _evicted(self, conv: str, record: dict[str, Any]) -> None:
        if conv in self._dirty:
            self._dirty[conv] = encode_record(record)

    # ------------------------------------------------------------------ commits
    def take(self) -> tuple[BoardRow, ...]:
        """The records of the pairs marked since the last commit (the wrapper adds them)."""
        if not self._dirty:
            return ()
        dirty, self._dirty = self._dirty, {}
        rows = []
        for conv, data in dirty.items():
            if data is None:
                if conv not in self.board:
                    continue  # forgotten or erased meanwhile
                data = encode_record(self.board.pair_record(conv, include_text=self.include_text))
            rows.append(BoardRow(conv, data))
        self.counts["records_written"] += len(rows)
        return tuple(rows)

    def put_back(self, rows: Sequence[BoardRow]) -> None:
        """A commit carrying `rows` failed: write them with the next one."""
        for conv, data in rows:
            self._dirty.setdefault(conv, None if conv in self.board else data)

    # ------------------------------------------------------------------ letting go
    def forget(self, predicate: Callable[[str], bool]) -> int:
        """Drop matching pairs from this process's board and their unwritten marks (a worker
        lost their shard: the new holder carries on from the store)."""
        convs = [c for c in self.board.conversations() if predicate(c)]
        for conv in convs:
            self.board.erase(conv)
        for conv in [c for c in self._dirty if predicate(c)]:
            del self._dirty[conv]
        return len(convs)

    def erase(self, conversation_id: str) -> dict[str, int]:
        """The pair off the board and its unwritten record dropped (`Monitor.erase` deletes
        the stored one with the pair's state)."""
        self._dirty.pop(conversation_id, None)
        return self.board.erase(conversation_id)

    def _store(self) -> StateStore:
        if self.store is None:
            raise RuntimeError("StoredBoard.wrap(store) was not called")
        return self.store


class _BoardBatches(StateStore):
    """The monitor's store with the board's marked records added to every batch it commits."""

    def __init__(self, inner: StateStore, board: StoredBoard) -> None:
        self.inner = inner
        self.board = board
        self.durable = inner.durable
        self.url = inner.url

    async def open(self) -> None:
        await self.inner.open()

    async def aclose(self) -> None:
        await self.inner.aclose()

    async def commit(self, batch: StoreBatch) -> None:
        rows = self.board.take()
        if rows:
            batch = StoreBatch(
                batch.journal,
                batch.snapshots,
                batch.pending_put,
                batch.pending_del,
                batch.emitted,
                batch.board + rows,
            )
        try:
            await self.inner.commit(batch)
        except BaseException:
            self.board.put_back(rows)
            raise

    async def load_pair(self, conversation_id: str) -> PairRecord | None:
        return await self.inner.load_pair(conversation_id)

    async def resident_pairs(self) -> list[str]:
        return await self.inner.resident_pairs()

    async def known_pairs(self) -> list[str] | None:
        return await self.inner.known_pairs()

    async def evicted_open_sessions(self) -> list[tuple[str, float]]:
        return await self.inner.evicted_open_sessions()

    async def emitted(self, ids: Sequence[str]) -> set[str]:
        return await self.inner.emitted(ids)

    async def erase(self, conversation_id: str) -> dict[str, int]:
        return await self.inner.erase(conversation_id)

    async def stale_pairs(self, before: float) -> list[str]:
        return await self.inner.stale_pairs(before)

    async def load_board(self, conversation_ids: Sequence[str] | None = None) -> dict[str, bytes]:
        return await self.inner.load_board(conversation_ids)

    async def integrity_check(self) -> bool:
        return await self.inner.integrity_check()

    async def probe(self) -> None:
        await self.inner.probe()


class BoardFollower:
    """The board of a process that does not monitor (``serve --mode board``): every pair's
    record read from the store, then its changes followed every `interval` seconds (Redis keeps
    a change log; other stores are read again whole). Serve `follower.board`."""

    def __init__(
        self, store: StateStore, *, board: PairBoard | None = None, interval: float = 1.0
    ) -> None:
        self.store = store
        self.board = board if board is not None else PairBoard()
        self.interval = interval
        self.version = -1
        self.known: set[str] = set()
        self.counts: dict[str, int] = {"refreshes": 0, "records_read": 0, "errors": 0}
        #: True once the first read of every record is done.
        self.loaded = False

    async def refresh(self) -> None:
        """Read what changed since the last refresh (everything, the first time)."""
        changes = await self.store.board_changes(self.version)  # -1 the first time: all
        if changes is None:  # no change log: read everything again
            version, records = 0, await self.store.load_board()
            gone = self.known - set(records)
            self.known = set(records)
        else:
            version, records = changes
            gone = set()
            if self.version < 0:
                self.known = set(records)
            else:
                self.known |= set(records)
                if await self.store.board_size() < len(self.known):
                    # Records were deleted (an erasure): let go of what the store lacks now.
                    held = set(await self.store.load_board(sorted(self.known)))
                    gone = self.known - held
                    self.known = held
        for conv in gone:
            self.board.erase(conv)
        for data in records.values():
            try:
                self.board.restore_pair(decode_record(data))
                self.counts["records_read"] += 1
            except (ValueError, KeyError, TypeError, zlib.error):
                self.counts["errors"] += 1
        self.version = version
        self.counts["refreshes"] += 1
        self.loaded = True

    async def run(self) -> None:
        """Refresh forever (a task of the board process); store errors are retried."""
        while True:
            try:
                await self.refresh()
            except Exception as exc:  # the store is away: keep what is shown, try again
                self.counts["errors"] += 1
                _log.warning(
                    "alliance_monitor.board_refresh_failed", extra={"error": type(exc).__name__}
                )
            await anyio.sleep(self.interval)

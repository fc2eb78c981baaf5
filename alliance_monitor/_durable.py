"""The monitor's durable part: what goes to the store and what comes back from it.

With a `StateStore`, `Monitor.ingest` answers "accepted" only once the message's journal row is
committed (`commit_message`); after each scored window the pair's snapshot, its still-unscored
windows and the emitted event ids are written together (`persist_applied`). On entry, `recover`
brings back every pair that was in memory when the last process stopped: snapshot, journal replay
through the deterministic core. Under `max_pairs`, least-recently-used idle pairs are snapshotted
to the store and dropped from the core (`evict`), and loaded again on their next message
(`ensure_loaded`).

`Durable` drives nothing but the core and the store: loading returns a `Loaded` (windows to score
again, events not yet emitted) and eviction returns the conversations it dropped; the monitor
turns those into scheduler work and fan-out posts. It is tested with a store and a core alone.

Counts (`counts`): ``pairs_recovered``, ``pairs_evicted``, ``store_errors``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import anyio

from ._committer import Committer
from ._core import MonitorCore
from ._errors import StoreError
from ._events import Event
from ._models import Message, WindowRequest
from ._pair import PairSnapshot
from ._state import message_to_json, request_from_state, request_to_state
from .store._base import PendingKey, PendingRow, SnapshotRow, StateStore, StoreBatch

__all__ = ["Durable", "KnownPairs", "Loaded"]

_log = logging.getLogger("alliance_monitor.store")
_MAX_ABSENT = 100_000


class KnownPairs:
    """Conversations a store may hold, as a growing Bloom filter: "no" is certain (the pair is
    new: nothing to load), "yes" is wrong for about one stranger in a hundred (a load that
    finds nothing). When a filter is full a new one twice its size is added, each new one with
    more bits per id (a scalable Bloom filter), so the error stays near 1% however many pairs
    come: 1.5 to 3 bytes per conversation, whatever the length of its id."""

    def __init__(self, capacity: int = 4096) -> None:
        self._filters: list[tuple[bytearray, int]] = []  # (bits, hashes)
        self._capacity = capacity // 2
        self._count = 0
        self._grow()

    def _grow(self) -> None:
        self._capacity *= 2
        bits_per_id = 10 + 2 * len(self._filters)  # each filter's error about 0.6x the last
        hashes = round(bits_per_id * 0.69)
        self._filters.append((bytearray(self._capacity * bits_per_id // 8 + 1), hashes))
        self._count = 0

    @staticmethod
    def _positions(conv: str, size: int, hashes: int) -> list[int]:
        digest = hashlib.blake2b(conv.encode("utf-8", "replace"), digest_size=16).digest()
        a, b = int.from_bytes(digest[:8], "little"), int.from_bytes(digest[8:], "little") | 1
        bits = size * 8
        return [(a + i * b) % bits for i in range(hashes)]

    def add(self, conv: str) -> None:
        if self._count >= self._capacity:
            self._grow()
        bits, hashes = self._filters[-1]
        for p in self._positions(conv, len(bits), hashes):
            bits[p >> 3] |= 1 << (p & 7)
        self._count += 1

    def __contains__(self, conv: str) -> bool:
        for bits, hashes in self._filters:
            if all(bits[p >> 3] & (1 << (p & 7)) for p in self._positions(conv, len(bits), hashes)):
                return True
        return False

    @property
    def nbytes(self) -> int:
        return sum(len(bits) for bits, _ in self._filters)


@dataclass(frozen=True, slots=True)
class Loaded:
    """What loading pairs from the store brought back: windows to score (again), in order per
    pair, and events the replay produced that were never emitted."""

    work: tuple[WindowRequest, ...] = ()
    events: tuple[Event, ...] = ()

    def __add__(self, other: Loaded) -> Loaded:
        return Loaded(self.work + other.work, self.events + other.events)


_NOTHING = Loaded()


class Durable:
    """Everything the monitor does with its store. One per monitor that has a store."""

    def __init__(
        self,
        store: StateStore,
        core: MonitorCore,
        clock: Callable[[], float],
        max_pairs: int | None,
        *,
        journal: bool = True,
    ) -> None:
        """`journal=False`: the store only holds evicted pairs (a monitor with a cap and no
        store of its own): nothing is written but the snapshots of evicted pairs."""
        self.store = store
        self.journal = journal
        self.committer = Committer(store)
        self.recovery_seconds = 0.0
        self.counts: Counter[str] = Counter()
        self._core = core
        self._clock = clock
        #: Pairs kept in memory (None: no cap).
        self.max_pairs = max_pairs
        self._restoring: dict[str, anyio.Event] = {}
        self._evicting: dict[str, anyio.Event] = {}
        self._absent: set[str] = set()  # pairs the store has no record of (bounded)
        #: Pairs the store may hold (None: the store is shared or cannot list them, so every
        #: pair not in memory is looked up there).
        self._known: KnownPairs | None = None
        #: Evicted pairs whose session is still open -> their last activity (clock time).
        self.evicted_open: dict[str, float] = {}

    # ---------------------------------------------------------------- recovery and loading
    async def recover(self) -> Loaded:
        """Bring back every pair that was in memory when the last process stopped."""
        started = time.perf_counter()
        known = await self.store.known_pairs()
        if known is not None:
            self._known = KnownPairs(max(4096, 2 * len(known)))
            for conv in known:
                self._known.add(conv)
        convs = await self.store.resident_pairs()
        loaded = _NOTHING
        for conv in convs:
            loaded += await self._restore(conv)
        self.counts["pairs_recovered"] += len(convs)
        for conv, last_seen in await self.store.evicted_open_sessions():
            if not self._core.has_pair(conv):
                self.evicted_open[conv] = last_seen
        self.recovery_seconds = time.perf_counter() - started
        if convs:
            _log.info(
                "alliance_monitor.recovered",
                extra={"pairs": len(convs), "seconds": round(self.recovery_seconds, 3)},
            )
        return loaded

    async def _restore(self, conv: str) -> Loaded:
        """Load one pair from the store: snapshot, journal replay, pending windows."""
        rec = await self.store.load_pair(conv)
        if rec is None:
            if len(self._absent) > _MAX_ABSENT:
                self._absent.clear()
            self._absent.add(conv)
            return _NOTHING
        core = self._core
        if rec.snapshot is not None:
            core.restore(rec.snapshot)
        events: list[Event] = []
        regenerated: dict[int, WindowRequest] = {}
        now = self._clock()
        for _pos, raw in rec.journal:
            out = core.ingest(Message.model_validate_json(raw), now, replay=True)
            events.extend(out.events)
            for req in out.work:
                regenerated[req.window_index] = req
        if not core.has_pair(conv):
            return _NOTHING
        history, awaiting = core.history(conv), core.awaiting(conv)
        waiting: dict[int, WindowRequest] = {}
        for state in rec.pending:
            idx = int(state["window_index"])
            if idx in awaiting:
                waiting[idx] = request_from_state(state, history)
        waiting.update(regenerated)
        if events:
            done = await self.store.emitted([e.id for e in events])
            events = [e for e in events if e.id not in done]
        return Loaded(tuple(waiting[idx] for idx in sorted(waiting)), tuple(events))

    async def ensure_loaded(self, conv: str) -> Loaded:
        """The pair is in memory when this returns (or the store never saw it); what its load
        brought back (nothing when it was in memory already or another task loaded it)."""
        if self._core.has_pair(conv) or conv in self._absent:
            return _NOTHING
        if self._known is not None and conv not in self._known:
            return _NOTHING  # a new pair: the store has nothing of it
        evicting = self._evicting.get(conv)
        if evicting is not None:
            # Its snapshot is on the way to the store: wait, or we would load older state.
            await evicting.wait()
        self.evicted_open.pop(conv, None)
        pending = self._restoring.get(conv)
        if pending is not None:
            await pending.wait()
            return _NOTHING
        ev = self._restoring[conv] = anyio.Event()
        try:
            return await self._restore(conv)
        finally:
            del self._restoring[conv]
            ev.set()

    def due_evicted(self, due: Callable[[float], bool]) -> list[str]:
        """Evicted pairs with an open session whose last activity is `due`, no longer tracked
        as such: the caller loads each and ends its session."""
        convs = [conv for conv, seen in self.evicted_open.items() if due(seen)]
        for conv in convs:
            del self.evicted_open[conv]
        return convs

    def forget(self, convs: Sequence[str]) -> list[str]:
        """Drop pairs' in-memory state (reloaded from the store on next use); returns them."""
        for conv in convs:
            self._core.drop(conv)
            self._absent.discard(conv)
        return list(convs)

    def forget_pairs(
        self, predicate: Callable[[str], bool], busy: Callable[[str], bool]
    ) -> list[str]:
        """Drop every matching pair that is not `busy` (being scored); returns those dropped.
        Also forgets what is known of matching pairs that are not in memory."""
        victims = [c for c in self._core.conversations() if predicate(c) and not busy(c)]
        for c in victims:
            self._core.drop(c)
        self._absent = {c for c in self._absent if not predicate(c)}
        for c in [c for c in self.evicted_open if predicate(c)]:
            del self.evicted_open[c]
        return victims

    async def erase(self, conv: str) -> dict[str, int]:
        """Erase the pair from memory and from the store, once every write of it submitted so
        far has landed (the caller holds back its new messages meanwhile); the store's counts."""
        evicting = self._evicting.get(conv)
        if evicting is not None:
            await evicting.wait()  # its snapshot lands first, then goes with the rest
        self.forget([conv])
        self.evicted_open.pop(conv, None)
        await self.committer.settled()
        return await self.store.erase(conv)

    # ---------------------------------------------------------------- writes
    async def commit_message(self, msg: Message, position: int) -> None:
        """Make an accepted message durable. Raises `StoreError` (counted) when the write
        failed: the message was not accepted, and the caller drops the pair from memory (the
        store holds everything committed) so a retry is taken, not seen as a duplicate."""
        if not self.journal:
            return
        if self._known is not None and position == 1:
            self._known.add(msg.conversation_id)  # before the write: a crash leaves a "maybe"
        try:
            await self.committer.commit_message(msg.conversation_id, position, message_to_json(msg))
        except StoreError:
            self.counts["store_errors"] += 1
            raise

    async def persist_applied(
        self, req: WindowRequest, events: Sequence[Event], waiting: Sequence[WindowRequest]
    ) -> None:
        """After a window's score was applied: the pair's snapshot, its windows still `waiting`
        (the snapshot drops the journal that would close them again), the emitted event ids."""
        if not self.journal:
            return
        conv = req.conversation_id
        snapshots: list[SnapshotRow] = []
        put: list[PendingRow] = []
        delete: list[PendingKey] = []
        snap = self._core.snapshot(conv)
        if snap is not None:
            snapshots.append(SnapshotRow(conv, snap.position, snap.state_json, True))
            for r in waiting:
                put.append(PendingRow(conv, r.window_index, json.dumps(request_to_state(r))))
                # A row an earlier snapshot wrote for a window merged into `r` since.
                delete.extend(PendingKey(conv, idx) for idx in r.merged_from)
        delete.extend(PendingKey(conv, idx) for idx in (*req.merged_from, req.window_index))
        batch = StoreBatch(
            snapshots=tuple(snapshots),
            pending_put=tuple(put),
            pending_del=tuple(delete),
            emitted=tuple(e.id for e in events),
        )
        try:
            await self.committer.commit(batch)
        except StoreError:
            # The window stays pending in the store and is re-scored after a restart.
            self.counts["store_errors"] += 1

    async def record_emitted(self, events: Sequence[Event]) -> None:
        """Remember delivered event ids, so recovery does not send them again."""
        if not events or not self.journal:
            return
        try:
            await self.committer.commit(StoreBatch(emitted=tuple(e.id for e in events)))
        except StoreError:
            self.counts["store_errors"] += 1

    # ---------------------------------------------------------------- eviction
    @property
    def excess(self) -> int:
        """Pairs in memory beyond `max_pairs` (0 without a cap)."""
        if self.max_pairs is None:
            return 0
        return max(0, self._core.n_pairs - self.max_pairs)

    async def evict(self, busy: Callable[[str], bool]) -> list[str]:
        """Move least-recently-used idle pairs (not `busy`) to the store until under
        `max_pairs`; returns the conversations dropped from memory."""
        core = self._core
        excess = self.excess
        if excess <= 0:
            return []
        victims = [c for c in core.eviction_candidates(excess + 16) if not busy(c)]
        dropped: dict[str, PairSnapshot] = {}
        for conv in victims[: max(excess, 1)]:
            snap = core.snapshot(conv)
            if snap is None:
                continue
            if snap.session_open:
                self.evicted_open[conv] = snap.last_seen
            core.drop(conv)
            self._absent.discard(conv)
            if self._known is not None and conv not in self._known:
                self._known.add(conv)  # known before its snapshot lands: never "new" again
            dropped[conv] = snap
        batch = StoreBatch(
            snapshots=tuple(
                SnapshotRow(c, snap.position, snap.state_json, False) for c, snap in dropped.items()
            )
        )
        done = anyio.Event()
        for conv in dropped:
            self._evicting[conv] = done
        try:
            await self.committer.commit_apart(batch)
            self.counts["pairs_evicted"] += len(dropped)
        except StoreError:
            # The snapshots did not land: keep the pairs in memory (over the cap, counted)
            # rather than lose them; the next eviction tries again.
            for conv, snap in dropped.items():
                core.restore(json.loads(snap.state_json))
                self.evicted_open.pop(conv, None)
            self.counts["store_errors"] += 1
            return []
        finally:
            for conv in dropped:
                if self._evicting.get(conv) is done:
                    del self._evicting[conv]
            done.set()
        return list(dropped)

"""The monitor's durable part: group commit, recovery, loading and evicting pairs.

With a `StateStore`, `Monitor.ingest` answers "accepted" only once the message's journal row is
committed (`commit_message`); after each scored window the pair's snapshot, its still-unscored
windows and the emitted event ids are written together (`persist_applied`). On entry,
`recover` brings back every pair that was in memory when the last process stopped: snapshot,
journal replay through the deterministic core, pending windows queued again, events not yet
emitted posted again. Under `max_pairs`, least-recently-used idle pairs are snapshotted to the
store and dropped (`evict`), and loaded again on their next message (`ensure_loaded`).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence

import anyio

from ._committer import Committer
from ._core import MonitorCore, Outcome
from ._errors import StoreError
from ._events import Event
from ._fanout import FanOut
from ._models import Message, WindowRequest
from ._pair import PairSnapshot
from ._scheduler import Scheduler
from ._state import message_to_json, request_from_state, request_to_state
from .store._base import PendingKey, PendingRow, SnapshotRow, StateStore, StoreBatch

__all__ = ["Durable"]

_log = logging.getLogger("alliance_monitor.store")
_MAX_ABSENT = 100_000


class Durable:
    """Everything the monitor does with its store. One per monitor that has a store."""

    def __init__(
        self,
        *,
        store: StateStore,
        core: MonitorCore,
        scheduler: Scheduler,
        fanout: FanOut,
        clock: Callable[[], float],
        max_pairs: int | None,
        on_forget: Callable[[str], None] | None = None,
    ) -> None:
        self.store = store
        self.committer = Committer(store)
        self.recovery_seconds = 0.0
        self._core = core
        self._scheduler = scheduler
        self._fanout = fanout
        self._clock = clock
        self._max_pairs = max_pairs
        self._on_forget = on_forget
        self._restoring: dict[str, anyio.Event] = {}
        self._evicting: dict[str, anyio.Event] = {}
        self._absent: set[str] = set()  # pairs the store has no record of (bounded)
        #: Evicted pairs whose session is still open -> their last activity (clock time).
        self.evicted_open: dict[str, float] = {}

    # ---------------------------------------------------------------- recovery and loading
    async def recover(self) -> None:
        """Bring back every pair that was in memory when the last process stopped."""
        started = time.perf_counter()
        convs = await self.store.resident_pairs()
        for conv in convs:
            await self._restore(conv)
        self._core.counts["pairs_recovered"] += len(convs)
        for conv, last_seen in await self.store.evicted_open_sessions():
            if not self._core.has_pair(conv):
                self.evicted_open[conv] = last_seen
        self.recovery_seconds = time.perf_counter() - started
        if convs:
            _log.info(
                "alliance_monitor.recovered",
                extra={"pairs": len(convs), "seconds": round(self.recovery_seconds, 3)},
            )

    async def _restore(self, conv: str) -> None:
        """Load one pair from the store: snapshot, journal replay, pending windows."""
        rec = await self.store.load_pair(conv)
        if rec is None:
            if len(self._absent) > _MAX_ABSENT:
                self._absent.clear()
            self._absent.add(conv)
            return
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
            return
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
            if events:
                self._fanout.post(events, bounded=False)  # bounded by what the store held
        for idx in sorted(waiting):
            self._scheduler.enqueue(waiting[idx])

    async def ensure_loaded(self, conv: str) -> None:
        """The pair is in memory when this returns (or the store never saw it)."""
        if self._core.has_pair(conv) or conv in self._absent:
            return
        evicting = self._evicting.get(conv)
        if evicting is not None:
            # Its snapshot is on the way to the store: wait, or we would load older state.
            await evicting.wait()
        self.evicted_open.pop(conv, None)
        pending = self._restoring.get(conv)
        if pending is not None:
            await pending.wait()
            return
        ev = self._restoring[conv] = anyio.Event()
        try:
            await self._restore(conv)
        finally:
            del self._restoring[conv]
            ev.set()

    def forget(self, conv: str) -> None:
        """Drop a pair's in-memory state (it is reloaded from the store on next use)."""
        if self._on_forget is not None:
            self._on_forget(conv)
        self._core.drop(conv)
        self._scheduler.forget(conv)
        self._absent.discard(conv)

    def forget_pairs(self, predicate: Callable[[str], bool]) -> int:
        """`forget` every matching pair not being scored; the count dropped."""
        victims = [
            c for c in self._core.conversations() if predicate(c) and not self._scheduler.busy(c)
        ]
        for c in victims:
            self._core.drop(c)
        self._absent = {c for c in self._absent if not predicate(c)}
        for c in [c for c in self.evicted_open if predicate(c)]:
            del self.evicted_open[c]
        return len(victims)

    async def end_evicted(
        self,
        due: Callable[[float], bool],
        end: Callable[[str], Outcome],
        take: Callable[[Outcome], None],
    ) -> None:
        """End the sessions of evicted pairs whose last activity is `due` (loads each first)."""
        for conv, seen in list(self.evicted_open.items()):
            if due(seen):
                await self.ensure_loaded(conv)
                self.evicted_open.pop(conv, None)
                take(end(conv))

    # ---------------------------------------------------------------- writes
    async def commit_message(self, msg: Message, position: int) -> None:
        """Make an accepted message durable. On failure the pair's in-memory state is dropped
        (the store holds everything committed), so the caller's retry is taken, not seen as a
        duplicate, and `StoreError` propagates: the message was not accepted."""
        try:
            await self.committer.commit_message(msg.conversation_id, position, message_to_json(msg))
        except StoreError:
            self._core.counts["store_errors"] += 1
            self.forget(msg.conversation_id)
            raise
        await self.evict_if_over()

    async def persist_applied(self, req: WindowRequest, events: Sequence[Event]) -> None:
        """After a window's score was applied: the pair's snapshot, its windows still waiting
        (the snapshot drops the journal that would close them again), the emitted event ids."""
        conv = req.conversation_id
        snapshots: list[SnapshotRow] = []
        put: list[PendingRow] = []
        delete: list[PendingKey] = []
        snap = self._core.snapshot(conv)
        if snap is not None:
            snapshots.append(SnapshotRow(conv, snap.position, snap.state_json, True))
            for r in self._scheduler.waiting(conv):
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
            self._core.counts["store_errors"] += 1
            return
        await self.evict_if_over()

    async def record_emitted(self, events: Sequence[Event]) -> None:
        """Remember delivered event ids, so recovery does not send them again."""
        if not events:
            return
        try:
            await self.committer.commit(StoreBatch(emitted=tuple(e.id for e in events)))
        except StoreError:
            self._core.counts["store_errors"] += 1

    # ---------------------------------------------------------------- eviction
    async def evict_if_over(self) -> None:
        if self._max_pairs is not None and self._core.n_pairs > self._max_pairs:
            await self.evict()

    async def evict(self) -> None:
        """Move least-recently-used idle pairs to the store until under `max_pairs`."""
        assert self._max_pairs is not None
        core = self._core
        excess = core.n_pairs - self._max_pairs
        if excess <= 0:
            return
        victims = [c for c in core.eviction_candidates(excess + 16) if not self._scheduler.busy(c)]
        dropped: dict[str, PairSnapshot] = {}
        for conv in victims[: max(excess, 1)]:
            snap = core.snapshot(conv)
            if snap is None:
                continue
            if snap.session_open:
                self.evicted_open[conv] = snap.last_seen
            core.drop(conv)
            self._absent.discard(conv)
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
            await self.committer.commit(batch)
            core.counts["pairs_evicted"] += len(dropped)
        except StoreError:
            # The snapshots did not land: keep the pairs in memory (over the cap, counted)
            # rather than lose them; the next eviction tries again.
            for conv, snap in dropped.items():
                core.restore(json.loads(snap.state_json))
                self.evicted_open.pop(conv, None)
            core.counts["store_errors"] += 1
        finally:
            for conv in dropped:
                if self._evicting.get(conv) is done:
                    del self._evicting[conv]
            done.set()

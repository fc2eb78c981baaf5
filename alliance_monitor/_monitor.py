"""The async shell around `MonitorCore`: the object a chat backend embeds.

    monitor = Monitor()                        # embedded scorer, in-memory state
    async with monitor:
        monitor.on(handler)                    # every event, or monitor.on(h, types={...})
        await monitor.ingest(message)          # returns at once; scoring runs off this path
        async for event in monitor.events(): ...

Ingestion never waits on a scorer. Closed windows go to a per-pair pending slot; a small pool of
scoring workers takes them one pair at a time (so a pair's windows are applied in order). When the
scorer is slower than the conversation, a pair's pending windows are merged into one (counted as
`windows_merged`) rather than queued without bound. Replays that must be deterministic use
`overload="wait"`, where `ingest` waits for the pair's previous window to be taken instead.
"""

from __future__ import annotations

import inspect
import json
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

import anyio
import anyio.lowlevel
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectSendStream

from ._config import DeclinePolicy, OrderPolicy, PatternPolicy, SessionPolicy, WindowPolicy
from ._core import _UNSCANNED, IngestResult, MonitorCore, Outcome
from ._errors import InvalidMessage, MonitorClosed, RejectReason, StoreError
from ._events import AllianceDeclined, Event, EventType, Feedback, PatternDetected
from ._models import Message, WindowRequest, WindowScore, parse_message
from ._pair import PairSnapshot
from ._state import message_to_json, request_to_state
from .scoring._base import Scorer, score_or_unscored
from .store._base import (
    BatchBuilder,
    JournalRow,
    PendingKey,
    PendingRow,
    SnapshotRow,
    StateStore,
    StoreBatch,
)

__all__ = ["EventHandler", "Monitor"]


class FeedbackWriter(Protocol):
    """Writes counselor feedback for a pattern or decline (e.g. `LLMFeedbackWriter`); returns
    None when it cannot, and the template feedback stays."""

    async def write(self, request: Any) -> Feedback | None: ...

    async def aclose(self) -> None: ...


#: A plain callable that receives every event (sync or async; a return value is ignored).
EventHandler = Callable[[Event], Awaitable[object] | object]

_log = logging.getLogger("alliance_monitor.monitor")

_EPOCH_2000 = 946_684_800.0
_THREAD_SCAN_CHARS = 64 * 1024

#: Hard cap on the messages of one merged window; older ones are dropped from scoring (counted).
_MERGE_CAP_FACTOR = 4


def _older_than(cutoff: float) -> Callable[[float], bool]:
    return lambda seen: seen < cutoff


class _Signal:
    """Wakes every current waiter; later waiters wait for the next notify.

    The event is created by the first waiter, not by `notify`: most notifies find nobody
    waiting, and creating an `anyio.Event` per notify was a measurable cost of the ingest path.
    """

    __slots__ = ("_event",)

    def __init__(self) -> None:
        self._event: anyio.Event | None = None

    def notify(self) -> None:
        ev = self._event
        if ev is not None:
            self._event = None
            ev.set()

    async def wait(self) -> None:
        ev = self._event
        if ev is None:
            ev = self._event = anyio.Event()
        await ev.wait()


@dataclass(slots=True)
class _Subscription:
    handler: EventHandler | None
    types: frozenset[str] | None
    stream: MemoryObjectSendStream[Event] | None = None


@dataclass(slots=True)
class _Pending:
    requests: list[WindowRequest] = field(default_factory=list)


class _Round:
    """One group commit: its waiters and its outcome."""

    __slots__ = ("done", "error")

    def __init__(self) -> None:
        self.done = anyio.Event()
        self.error: BaseException | None = None


class _Committer:
    """Group commit: every write waiting at the same moment shares one store transaction.

    Writers append to the open batch and wait for its round; the committer task parks only when
    there is nothing to write, and is woken by the first writer after that (one `anyio.Event`
    per parking, not per write).
    """

    def __init__(self, store: StateStore) -> None:
        self.store = store
        self._batch = BatchBuilder()
        self._round = _Round()
        self._parked: anyio.Event | None = None
        self.commits = 0
        self.busy = False
        self._running: _Round = _Round()
        self._running.done.set()

    async def commit(self, batch: StoreBatch) -> None:
        if not batch:
            return
        self._batch.add(batch)
        await self._wait_round()

    async def commit_message(self, conv: str, position: int, message_json: str) -> None:
        """`commit()` of one journal row, without a batch object."""
        self._batch.journal.append(JournalRow(conv, position, message_json))
        await self._wait_round()

    async def _wait_round(self) -> None:
        rnd = self._round
        parked = self._parked
        if parked is not None:
            self._parked = None
            parked.set()
        await rnd.done.wait()
        if rnd.error is not None:
            raise StoreError(f"state store write failed: {type(rnd.error).__name__}")

    async def run(self) -> None:
        while True:
            while not self._batch:
                parked = self._parked = anyio.Event()
                await parked.wait()
            # Writers woken by the previous commit are ready to run; let them join this batch
            # rather than leaving all but the first for the next one (measured: 21 -> 60 a batch).
            await anyio.lowlevel.checkpoint()
            batch, rnd = self._batch.build(), self._round
            self._batch, self._round = BatchBuilder(), _Round()
            self.busy = True
            self._running = rnd
            try:
                await self.store.commit(batch)
            except Exception as exc:  # reported to every waiter of this batch
                rnd.error = exc
                _log.error(
                    "alliance_monitor.store_commit_failed",
                    extra={"error": type(exc).__name__},
                )
            self.commits += 1
            self.busy = False
            rnd.done.set()

    @property
    def idle(self) -> bool:
        return not self.busy and not self._batch

    async def barrier(self) -> None:
        """Wait until everything submitted so far is committed."""
        while not self.idle:
            await (self._round if self._batch else self._running).done.wait()


class Monitor:
    """Watches every counselor-client pair fed to it and emits alliance events.

    All arguments are keyword-only. `scorer` defaults to the embedded offline scorer.
    """

    def __init__(
        self,
        *,
        scorer: Scorer | None = None,
        window: WindowPolicy | None = None,
        session: SessionPolicy | None = None,
        decline: DeclinePolicy | None = None,
        patterns: PatternPolicy | None = None,
        order: OrderPolicy | None = None,
        include_text: bool = False,
        workers: int = 2,
        overload: Literal["merge", "wait"] = "merge",
        score_timeout: float = 120.0,
        idle_check_interval: float | None = 30.0,
        event_buffer: int = 1024,
        store: StateStore | None = None,
        max_pairs: int | None = None,
        feedback_writer: FeedbackWriter | None = None,
        feedback_timeout: float = 30.0,
        # Wall-clock seconds: `last_seen` is saved in snapshots and compared after a restart or
        # on another worker, so a monotonic clock (which restarts with the host) would not do.
        clock: Callable[[], float] = time.time,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        if scorer is None:
            from .scoring._embedded import EmbeddedScorer

            scorer = EmbeddedScorer()
        self.scorer = scorer
        self.core = MonitorCore(
            window=window,
            session=session,
            decline=decline,
            patterns=patterns,
            order=order,
            include_text=include_text,
        )
        self._workers = max(1, workers)
        self._overload = overload
        self._score_timeout = score_timeout
        self._idle_interval = idle_check_interval
        self._event_buffer = event_buffer
        self._clock = clock
        self._subs: list[_Subscription] = []
        self._pending: dict[str, _Pending] = {}
        self._ready: deque[str] = deque()
        self._inflight: set[str] = set()
        self._wake = _Signal()  # work arrived
        self._progress = _Signal()  # work was taken or finished
        self._emitting = 0
        self._tg: TaskGroup | None = None
        self._running = False
        if store is None and max_pairs is not None:
            from .store._memory import MemoryStore

            store = MemoryStore()
        self.store = store
        self._max_pairs = max_pairs
        self._feedback = feedback_writer
        self._feedback_timeout = feedback_timeout
        self._committer = _Committer(store) if store is not None else None
        self._restoring: dict[str, anyio.Event] = {}
        self._evicting: dict[str, anyio.Event] = {}
        self._absent: set[str] = set()  # pairs the store has no record of (bounded below)
        self.recovery_seconds = 0.0
        self._wall = wall_clock
        self._skew_n = 0
        self._skew_ewma = 0.0
        self._skew_max = 0.0
        #: Evicted pairs whose session is still open -> their last activity (clock time).
        self._evicted_open: dict[str, float] = {}

    # ------------------------------------------------------------------ lifecycle
    async def __aenter__(self) -> Monitor:
        if self.store is not None:
            await self.store.open()
        self._tg = anyio.create_task_group()
        await self._tg.__aenter__()
        self._running = True
        if self._committer is not None:
            self._tg.start_soon(self._committer.run)
        for _ in range(self._workers):
            self._tg.start_soon(self._worker)
        if self._idle_interval:
            self._tg.start_soon(self._sweeper)
        if self.store is not None:
            await self._recover()
        return self

    async def _recover(self) -> None:
        """Bring back every pair that was in memory when the last process stopped."""
        assert self.store is not None
        started = time.perf_counter()
        convs = await self.store.resident_pairs()
        for conv in convs:
            await self._restore(conv)
        self.core.counts["pairs_recovered"] += len(convs)
        for conv, last_seen in await self.store.evicted_open_sessions():
            if not self.core.has_pair(conv):
                self._evicted_open[conv] = last_seen
        self.recovery_seconds = time.perf_counter() - started
        if convs:
            _log.info(
                "alliance_monitor.recovered",
                extra={"pairs": len(convs), "seconds": round(self.recovery_seconds, 3)},
            )

    async def _restore(self, conv: str) -> None:
        """Load one pair from the store: snapshot, journal replay, pending windows."""
        from ._state import request_from_state

        assert self.store is not None
        rec = await self.store.load_pair(conv)
        if rec is None:
            self._note_absent(conv)
            return
        if rec.snapshot is not None:
            self.core.restore(rec.snapshot)
        events: list[Event] = []
        regenerated: dict[int, WindowRequest] = {}
        now = self._clock()
        for _pos, raw in rec.journal:
            out = self.core.ingest(Message.model_validate_json(raw), now, replay=True)
            events.extend(out.events)
            for req in out.work:
                regenerated[req.window_index] = req
        if not self.core.has_pair(conv):
            return
        history, awaiting = self.core.history(conv), self.core.awaiting(conv)
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
                self._emit_soon(events)
        for idx in sorted(waiting):
            self._enqueue(waiting[idx])

    def _note_absent(self, conv: str) -> None:
        if len(self._absent) > 100_000:
            self._absent.clear()
        self._absent.add(conv)

    async def __aexit__(self, *exc: object) -> None:
        try:
            if exc[0] is None:
                await self.flush()
        finally:
            self._running = False
            assert self._tg is not None
            self._tg.cancel_scope.cancel()
            await self._tg.__aexit__(None, None, None)
            self._tg = None
            for sub in self._subs:
                if sub.stream is not None:
                    sub.stream.close()
            await self.scorer.aclose()
            if self._feedback is not None:
                await self._feedback.aclose()
            if self.store is not None:
                await self.store.aclose()

    # ------------------------------------------------------------------ subscribing
    def on(
        self, handler: EventHandler, types: Iterable[EventType | str] | None = None
    ) -> Callable[[], None]:
        """Call `handler(event)` for every event (of `types`, if given). Returns an unsubscribe
        function. Handlers run in the scoring task: keep them quick, hand off slow work."""
        sub = _Subscription(handler, frozenset(str(t) for t in types) if types else None)
        self._subs.append(sub)
        return lambda: self._subs.remove(sub) if sub in self._subs else None

    @asynccontextmanager
    async def _subscribe(
        self, types: frozenset[str] | None, buffer: int
    ) -> AsyncIterator[AsyncIterator[Event]]:
        send, recv = anyio.create_memory_object_stream[Event](buffer)
        sub = _Subscription(None, types, send)
        self._subs.append(sub)
        try:
            yield recv
        finally:
            if sub in self._subs:
                self._subs.remove(sub)
            send.close()
            recv.close()

    async def events(self, types: Iterable[EventType | str] | None = None) -> AsyncIterator[Event]:
        """Iterate over events as they fire, until the monitor closes. A slow consumer slows
        scoring (whose pending work then merges), never ingestion."""
        wanted = frozenset(str(t) for t in types) if types else None
        async with self._subscribe(wanted, self._event_buffer) as stream:
            async for ev in stream:
                yield ev

    # ------------------------------------------------------------------ ingest
    async def ingest(self, message: Message | Mapping[str, Any]) -> IngestResult:
        """Submit one message. Returns at once with accepted / duplicate / rejected(reason).

        Never raises for bad input: it is validated (ids, text, metadata, numbers, Unicode)
        before anything else touches it, the store included, and rejected with a reason,
        counted. An unexpected error while taking one message rejects that message with
        `internal_error` (counted, logged without text) instead of escaping. Raises only
        `MonitorClosed` (outside `async with`) and `StoreError` (the write did not become
        durable: the message was not accepted, re-submit it)."""
        if not self._running:
            raise MonitorClosed("Monitor.ingest() outside `async with monitor:`")
        try:
            msg = parse_message(message)
        except InvalidMessage:
            rejected = self.core.ingest(message, self._clock()).result  # counts the reason
            assert rejected is not None
            self._log_rejected(rejected)
            return rejected
        except Exception as exc:  # a validator bug: still one rejected message
            return self._internal_error(exc, None)
        try:
            return await self._ingest(msg)
        except (StoreError, MonitorClosed):
            raise
        except Exception as exc:
            return self._internal_error(exc, msg.conversation_id)

    def _internal_error(self, exc: Exception, conv: str | None) -> IngestResult:
        """Reject the message in hand after an unexpected error (a bug), keep running."""
        _log.error("alliance_monitor.ingest_internal_error", extra={"error": type(exc).__name__})
        if conv is not None and self.store is not None:
            self._forget(conv)  # its state may be half-updated: reload it from the store
        out = self.core.reject(RejectReason.INTERNAL_ERROR)
        assert out.result is not None
        return out.result

    @staticmethod
    def _log_rejected(result: IngestResult) -> None:
        _log.info(
            "alliance_monitor.message_rejected",
            extra={"reason": result.reason.value if result.reason else None},
        )

    async def _ingest(self, msg: Message) -> IngestResult:
        conv = msg.conversation_id
        if self._overload == "wait":
            await self._wait_pair(conv)
        safety: Any = _UNSCANNED
        if len(msg.text) > _THREAD_SCAN_CHARS and self.core.scans_safety:
            # A very long message (1 MB takes ~0.2 s to scan): keep the event loop free.
            safety = await anyio.to_thread.run_sync(self.core.scan_safety, msg.text)
        if self.store is not None:
            # The last await before the core takes the message: nothing may evict the pair
            # between loading it and ingesting into it.
            await self._ensure_loaded(conv)
        out = self.core.ingest(msg, self._clock(), safety=safety)
        assert out.result is not None
        if out.message is not None and out.message.ts > _EPOCH_2000:
            self._note_skew(self._wall() - out.message.ts)
        if out.result.status == "rejected":
            self._log_rejected(out.result)
        if self._committer is not None and out.message is not None:
            msg = out.message
            self._take(out)
            # "accepted" means durable in the store. Windows this message closed need no row of
            # their own: replaying the journal closes them again, and the pair's next snapshot
            # (which drops that journal) writes those still unscored (`_persist_applied`).
            try:
                await self._committer.commit_message(
                    msg.conversation_id, out.position, message_to_json(msg)
                )
            except StoreError:
                # Not durable, so not accepted: forget the pair's in-memory state (the store
                # holds everything committed) so that the caller's retry is taken, not seen
                # as a duplicate.
                self._resync(msg.conversation_id)
                raise
            if self._max_pairs is not None and self.core.n_pairs > self._max_pairs:
                await self._evict()
        else:
            self._take(out)
        return out.result

    def _resync(self, conv: str) -> None:
        """Drop a pair's in-memory state after a failed write; it is reloaded from the store."""
        self.core.counts["store_errors"] += 1
        self._forget(conv)

    def _forget(self, conv: str) -> None:
        self.core.drop(conv)
        self._pending.pop(conv, None)
        self._absent.discard(conv)

    async def _ensure_loaded(self, conv: str) -> None:
        if self.core.has_pair(conv) or conv in self._absent:
            return
        evicting = self._evicting.get(conv)
        if evicting is not None:
            # Its snapshot is on the way to the store: wait, or we would load older state.
            await evicting.wait()
        self._evicted_open.pop(conv, None)
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

    async def _evict(self) -> None:
        """Move least-recently-used idle pairs to the store until under `max_pairs`."""
        assert self._committer is not None and self._max_pairs is not None
        excess = self.core.n_pairs - self._max_pairs
        if excess <= 0:
            return
        victims = [
            c
            for c in self.core.eviction_candidates(excess + 16)
            if c not in self._pending and c not in self._inflight
        ][: max(excess, 1)]
        dropped: dict[str, PairSnapshot] = {}
        for conv in victims:
            snap = self.core.snapshot(conv)
            if snap is None:
                continue
            if snap.session_open:
                self._evicted_open[conv] = snap.last_seen
            self.core.drop(conv)
            self._absent.discard(conv)
            dropped[conv] = snap
        batch = StoreBatch(
            snapshots=tuple(
                SnapshotRow(c, snap.position, snap.state_json, False)
                for c, snap in dropped.items()
            )
        )
        done = anyio.Event()
        for conv in dropped:
            self._evicting[conv] = done
        try:
            await self._committer.commit(batch)
            self.core.counts["pairs_evicted"] += len(dropped)
        except StoreError:
            # The snapshots did not land: keep the pairs in memory (over the cap, counted)
            # rather than lose them; the next eviction tries again.
            for conv, snap in dropped.items():
                self.core.restore(json.loads(snap.state_json))
                self._evicted_open.pop(conv, None)
            self.core.counts["store_errors"] += 1
        finally:
            for conv in dropped:
                if self._evicting.get(conv) is done:
                    del self._evicting[conv]
            done.set()

    def reject(self, reason: RejectReason) -> None:
        """Count input that never became a message (e.g. a line of invalid JSON)."""
        self.core.reject(reason)

    async def end_session(self, conversation_id: str) -> None:
        """End the pair's session now: its last window is scored and a summary follows."""
        self._take(self.core.end_session(conversation_id, "explicit"))

    async def end_all_sessions(self) -> None:
        """End every open session, including those of pairs evicted to the store."""
        # Loading evicted pairs can push resident ones with open sessions out (an eviction
        # runs after each scored window), so repeat until none is left behind.
        while self._evicted_open:
            await self._end_evicted(lambda _seen: True, "shutdown")
        self._take(self.core.end_all("shutdown"))

    async def _end_evicted(self, due: Callable[[float], bool], reason: str) -> None:
        for conv, seen in list(self._evicted_open.items()):
            if due(seen):
                await self._ensure_loaded(conv)
                self._evicted_open.pop(conv, None)
                self._take(self.core.end_session(conv, reason))  # type: ignore[arg-type]

    async def flush(self) -> None:
        """Wait until every closed window has been scored and its events delivered."""
        while self._pending or self._inflight or self._emitting:
            await self._progress.wait()
        if self._committer is not None:
            await self._committer.barrier()

    def _note_skew(self, skew: float) -> None:
        # Host clock minus platform timestamp, for timestamps that look like Unix epochs. Large
        # or negative values point at clock skew (ordering then relies on `seq` where present).
        self._skew_n += 1
        self._skew_max = max(self._skew_max, abs(skew))
        self._skew_ewma = skew if self._skew_n == 1 else 0.99 * self._skew_ewma + 0.01 * skew

    async def settle(self, predicate: Callable[[str], bool]) -> None:
        """Wait until no matching pair has a window waiting for or being scored (scale-out
        workers call this before handing a shard over)."""
        while any(predicate(c) for c in (*self._pending, *self._inflight)):
            with anyio.move_on_after(0.1):
                await self._progress.wait()

    async def load_pair(self, conversation_id: str) -> None:
        """Bring a pair into memory from the store now (its unscored windows are queued again),
        rather than on its next message; evicts idle pairs if that goes over `max_pairs`."""
        if self.store is None:
            return
        await self._ensure_loaded(conversation_id)
        if self._max_pairs is not None and self.core.n_pairs > self._max_pairs:
            await self._evict()

    def forget_pairs(self, predicate: Callable[[str], bool]) -> int:
        """Drop in-memory state of matching pairs without writing it (it is reloaded from the
        store on next use). Scale-out workers call this when they take over a shard another
        worker may have changed. Pairs with windows being scored are kept."""
        victims = [
            c
            for c in self.core.conversations()
            if predicate(c) and c not in self._pending and c not in self._inflight
        ]
        for c in victims:
            self.core.drop(c)
        self._absent = {c for c in self._absent if not predicate(c)}
        for c in [c for c in self._evicted_open if predicate(c)]:
            del self._evicted_open[c]
        return len(victims)

    def stats(self) -> dict[str, Any]:
        s = self.core.stats()
        s["pending_pairs"] = len(self._pending)
        if self._skew_n:
            s["clock_skew_seconds_ewma"] = round(self._skew_ewma, 3)
            s["clock_skew_seconds_max_abs"] = round(self._skew_max, 3)
        s["scoring_inflight"] = len(self._inflight)
        return s

    # ------------------------------------------------------------------ internals
    async def _wait_pair(self, conversation_id: str) -> None:
        while conversation_id in self._pending:
            await self._progress.wait()

    def _take(self, out: Outcome) -> None:
        if out.events:
            self._emit_soon(out.events)
        for req in out.work:
            self._enqueue(req)

    def _enqueue(self, req: WindowRequest) -> None:
        conv = req.conversation_id
        pend = self._pending.get(conv)
        if pend is None:
            pend = self._pending[conv] = _Pending()
            if conv not in self._inflight:
                self._ready.append(conv)
        last = pend.requests[-1] if pend.requests else None
        if (
            self._overload == "merge"
            and last is not None
            and last.extras.get("session") == req.extras.get("session")
        ):
            pend.requests[-1] = self._merge(last, req)
        else:
            pend.requests.append(req)
        self._wake.notify()

    def _merge(self, a: WindowRequest, b: WindowRequest) -> WindowRequest:
        self.core.counts["windows_merged"] += 1
        msgs = a.messages + b.messages
        cap = self.core.window.max_messages * _MERGE_CAP_FACTOR
        if len(msgs) > cap:
            self.core.counts["messages_dropped_overload"] += len(msgs) - cap
            msgs = msgs[-cap:]
        sa, sb = a.extras.get("span", (0.0, 0.0)), b.extras.get("span", (0.0, 0.0))
        extras = {**b.extras, "span": (sa[0], sa[1] + sb[1])}
        return WindowRequest(
            conversation_id=b.conversation_id,
            window_index=b.window_index,
            messages=msgs,
            n_exchanges=a.n_exchanges + b.n_exchanges,
            history=b.history,
            kind=b.kind if b.kind == "final" else a.kind,
            merged_from=(*a.merged_from, a.window_index, *b.merged_from),
            counselor_id=b.counselor_id,
            session_id=b.session_id,
            extras=extras,
        )

    async def _worker(self) -> None:
        while True:
            while not self._ready:
                await self._wake.wait()
            conv = self._ready.popleft()
            pend = self._pending.get(conv)
            if pend is None or not pend.requests:
                self._pending.pop(conv, None)
                continue
            req = pend.requests.pop(0)
            if not pend.requests:
                del self._pending[conv]
            self._inflight.add(conv)
            self._progress.notify()  # waiters in overload="wait" may proceed
            try:
                await self._score_and_apply(req)
            except Exception as exc:  # a bug: count it, keep the worker alive
                self.core.counts["internal_errors"] += 1
                _log.error(
                    "alliance_monitor.scoring_internal_error", extra={"error": type(exc).__name__}
                )
            finally:
                self._inflight.discard(conv)
                if conv in self._pending and conv not in self._ready:
                    self._ready.append(conv)
                    self._wake.notify()
                self._progress.notify()

    async def _score_and_apply(self, req: WindowRequest) -> None:
        score = await self._score(req)
        events = self.core.apply(score, req)
        if self._feedback is not None:
            events = [await self._rewrite_feedback(ev, req) for ev in events]
        await self._emit(events)
        if self._committer is not None:
            await self._persist_applied(req, events)

    async def _rewrite_feedback(self, ev: Event, req: WindowRequest) -> Event:
        """Ask the feedback writer for a better note; keep the template on any failure."""
        if not isinstance(ev, PatternDetected | AllianceDeclined) or ev.feedback is None:
            return ev
        from .scoring._feedback_llm import FeedbackRequest

        assert self._feedback is not None
        if isinstance(ev, PatternDetected):
            fr = FeedbackRequest(
                pattern=ev.pattern,
                dimension=ev.feedback.dimension,
                message_ids=ev.message_ids,
                messages=req.messages,
                include_quotes=self.core.include_text,
            )
        else:
            fr = FeedbackRequest(
                pattern="decline",
                dimension=ev.dimension,
                message_ids=tuple(m for m in ev.evidence if any(x.id == m for x in req.messages)),
                messages=req.messages,
                detail=f"{ev.dimension} fell from {ev.from_level:.1f} to {ev.to_level:.1f}",
                include_quotes=self.core.include_text,
            )
        written: Feedback | None = None
        try:
            with anyio.fail_after(self._feedback_timeout):
                written = await self._feedback.write(fr)
        except Exception as exc:  # the template stays
            _log.warning("alliance_monitor.feedback_failed", extra={"error": type(exc).__name__})
        if written is None:
            self.core.counts["feedback_template"] += 1
            return ev
        self.core.counts["feedback_llm"] += 1
        return ev.model_copy(update={"feedback": written})

    async def _persist_applied(self, req: WindowRequest, events: list[Event]) -> None:
        assert self._committer is not None
        conv = req.conversation_id
        snapshots: list[SnapshotRow] = []
        put: list[PendingRow] = []
        delete: list[PendingKey] = []
        snap = self.core.snapshot(conv)
        if snap is not None:
            snapshots.append(SnapshotRow(conv, snap.position, snap.state_json, True))
            # The snapshot drops the pair's journal, which is what recovery would close the
            # unscored windows from: store those as pending windows now (as merged so far).
            pend = self._pending.get(conv)
            for r in pend.requests if pend is not None else ():
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
            await self._committer.commit(batch)
        except StoreError:
            # The window stays pending in the store and is re-scored after a restart.
            self.core.counts["store_errors"] += 1
            return
        if self._max_pairs is not None and self.core.n_pairs > self._max_pairs:
            await self._evict()

    async def _score(self, req: WindowRequest) -> WindowScore:
        score = await score_or_unscored(self.scorer, req, time_limit=self._score_timeout)
        if not score.scored:
            self.core.counts["scoring_failures"] += 1
            # Too little evidence is a normal outcome, not a fault: info, so a host logging at
            # WARNING hears only about scorers that failed.
            abstained = score.status == "insufficient_evidence"
            (_log.info if abstained else _log.warning)(
                "alliance_monitor.window_unscored",
                extra={
                    "conversation_id": req.conversation_id,
                    "window_index": req.window_index,
                    "reason": score.reason,
                },
            )
        return score

    def _emit_soon(self, events: Sequence[Event]) -> None:
        if self._tg is not None:
            self._emitting += 1
            self._tg.start_soon(self._emit_counted, events)

    async def _emit_counted(self, events: Sequence[Event]) -> None:
        try:
            await self._emit(events)
            if self._committer is not None and events:
                batch = StoreBatch(emitted=tuple(e.id for e in events))
                try:
                    await self._committer.commit(batch)
                except StoreError:
                    self.core.counts["store_errors"] += 1
        finally:
            self._emitting -= 1
            self._progress.notify()

    async def _emit(self, events: Sequence[Event]) -> None:
        for ev in events:
            etype = str(ev.type.value)
            for sub in list(self._subs):
                if sub.types is not None and etype not in sub.types:
                    continue
                if sub.stream is not None:
                    try:
                        await sub.stream.send(ev)
                    except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                        if sub in self._subs:
                            self._subs.remove(sub)
                    continue
                assert sub.handler is not None
                try:
                    res = sub.handler(ev)
                    if inspect.isawaitable(res):
                        await res
                except Exception as exc:
                    self.core.counts["handler_errors"] += 1
                    _log.error(
                        "alliance_monitor.handler_failed",
                        extra={"event_type": etype, "error": type(exc).__name__},
                    )

    async def _sweeper(self) -> None:
        assert self._idle_interval is not None
        while True:
            await anyio.sleep(self._idle_interval)
            now = self._clock()
            limit = self.core.session.idle_timeout
            await self._end_evicted(_older_than(now - limit), "idle")
            self._take(self.core.expire_idle(now))

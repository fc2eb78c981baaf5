"""The async shell around `MonitorCore`: the object a chat backend embeds (see `Monitor`)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AsyncExitStack
from functools import partial
from typing import Any

import anyio

from ._clock import SteadyClock
from ._config import (
    DEFAULT_MAX_PAIRS,
    DeclinePolicy,
    EventPolicy,
    OrderPolicy,
    PatternPolicy,
    ScoringPolicy,
    SessionPolicy,
    WindowPolicy,
)
from ._core import EPOCH_2000, IngestResult, MonitorCore, Outcome, SafetyScan, rejected_result
from ._durable import Durable, Loaded
from ._erasure import Erasable, Erasure, PairEraser
from ._errors import InvalidMessage, MonitorClosed, RejectReason, StoreError
from ._events import Event, EventType
from ._fanout import EventHandler, EventStream, FanOut
from ._models import Message, parse_message
from ._phases import PhaseStage
from ._pipeline import WindowPipeline
from ._residency import Residency
from ._scheduler import Scheduler
from ._signal import Signal
from ._stages import FeedbackStage, FeedbackWriter, ScoringStage
from ._tasks import TaskSupervisor
from ._telemetry import ClockSkew
from .scoring._base import Scorer
from .store._base import StateStore
from .store._memory import MemoryStore

__all__ = ["EventHandler", "FeedbackWriter", "Monitor"]

_log = logging.getLogger("alliance_monitor.monitor")

_THREAD_SCAN_CHARS = 64 * 1024


class Monitor:
    """Watches every counselor-client pair fed to it and emits alliance events.

        async with Monitor() as monitor:       # embedded scorer, in-memory state
            monitor.on(handler)                # every event, or monitor.on(h, types={...})
            await monitor.ingest(message)      # returns at once; scoring runs off this path
            async for event in monitor.events(): ...

    All arguments are keyword-only and optional; the policies are documented where defined.

    - `scorer` (default: the embedded offline scorer); `store` (`StateStore`: accepted
      messages, snapshots and pending windows are committed there before `ingest` returns, and
      recovered on entry; None: in memory only); `feedback_writer` (e.g. `LLMFeedbackWriter`;
      the template stays whenever it fails). All three are closed with the monitor.
    - Rules: `window`, `session`, `decline`, `patterns`, `order`; `include_text` allows short
      quotes in feedback and full scores in events (off: no message text leaves the monitor).
    - Running: `scoring`, `events`; `max_pairs`: pairs kept in memory (default
      `DEFAULT_MAX_PAIRS`, 50,000; None: no cap), idle ones beyond it snapshotted to the store
      (without one, kept compressed) and restored on their next message; `idle_check_interval`:
      seconds between sweeps ending sessions idle for `SessionPolicy.idle_timeout` (None: none).
    - Clocks: `clock` for `last_seen` and idle sweeps (default a `SteadyClock`: host time at
      start advanced by the monotonic clock, so a host clock step neither ends nor strands
      sessions); `wall_clock`: host time, compared with platform timestamps (clock skew).

    Inside, it composes its parts and holds their lifecycle (ARCHITECTURE.md draws them):
    `_take` is the one place where what the core and the store return becomes scheduler work
    and fan-out posts, `_dropped` the one place where a pair that left memory is let go.
    """

    def __init__(
        self,
        *,
        scorer: Scorer | None = None,
        store: StateStore | None = None,
        feedback_writer: FeedbackWriter | None = None,
        window: WindowPolicy | None = None,
        session: SessionPolicy | None = None,
        decline: DeclinePolicy | None = None,
        patterns: PatternPolicy | None = None,
        order: OrderPolicy | None = None,
        include_text: bool = False,
        scoring: ScoringPolicy | None = None,
        events: EventPolicy | None = None,
        max_pairs: int | None = DEFAULT_MAX_PAIRS,
        idle_check_interval: float | None = 30.0,
        clock: Callable[[], float] | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.scoring = scoring = scoring or ScoringPolicy()
        self.event_policy = events = events or EventPolicy()
        if scorer is None:
            from .scoring._embedded import EmbeddedScorer

            scorer = EmbeddedScorer()
        self.scorer, self.store = scorer, store
        self.core = core = MonitorCore(
            window=window, session=session, decline=decline, patterns=patterns, order=order,
            include_text=include_text,
        )  # fmt: skip
        self._clock = clock = clock if clock is not None else SteadyClock()
        self._wall, self._idle_interval = wall_clock, idle_check_interval
        self._activity = progress = Signal()  # some part made progress: flush() looks again
        self._scheduler = Scheduler.for_policy(scoring, core.window, on_progress=progress.notify)
        self._fanout = FanOut.for_policy(events, on_progress=progress.notify)
        fanout = self._fanout

        def post(events: Sequence[Event]) -> None:  # rated summaries: few (one a session)
            fanout.post(core.session_pages(list(events)), bounded=False)

        self._phases = PhaseStage.for_policy(
            scoring, scorer, core.session, post=post, on_progress=progress.notify
        )
        self._feedback = feedback = FeedbackStage.for_writer(feedback_writer, events, include_text)
        # Without a store of its own the cap still holds: evicted pairs go to an in-memory
        # store as compressed snapshots, and nothing else is written there (no journal).
        durable = Durable(store or MemoryStore(), core, clock, max_pairs, journal=store is not None)
        self._durable = durable
        self._pairs = Residency(durable, core, self._scheduler.busy, self._take, self._dropped)
        self._pairs.on_done = progress.notify
        self._pipeline = WindowPipeline(
            scheduler=self._scheduler, scoring=ScoringStage(scorer, timeout=scoring.timeout),
            phases=self._phases, core=core, feedback=feedback, fanout=self._fanout,
            durable=durable, pairs=self._pairs,
        )  # fmt: skip
        self._eraser = PairEraser(core, self._scheduler, self._fanout, self._pairs, progress)
        self._skew = ClockSkew()
        self._tasks = TaskSupervisor(self._task_died)
        self._stack: AsyncExitStack | None = None
        self._running = False

    async def __aenter__(self) -> Monitor:
        async with AsyncExitStack() as stack:
            # Unwound in reverse on any failure here (a failing recovery included) and in
            # __aexit__: tasks cancelled, iterators ended, scorer, feedback writer, store closed.
            if self.store is not None:
                await self.store.open()
                stack.push_async_callback(self.store.aclose)
            if self._feedback is not None:
                stack.push_async_callback(self._feedback.writer.aclose)
            stack.push_async_callback(self.scorer.aclose)
            stack.callback(self._fanout.close)
            await anyio.to_thread.run_sync(self.core.load_safety)  # large patterns: off the loop
            self._take(await self._durable.recover())  # before any task: it only queues work
            tg = await stack.enter_async_context(anyio.create_task_group())
            stack.callback(tg.cancel_scope.cancel)
            stack.callback(self._set_running, False)
            run = self._tasks.run
            tg.start_soon(run, "committer", self._durable.committer.run)
            tg.start_soon(run, "evictor", self._pairs.run)
            tg.start_soon(run, "fanout", lambda: self._fanout.run(self._durable.record_emitted))
            for k in range(self.scoring.workers):
                tg.start_soon(run, f"scoring_worker:{k}", self._pipeline.run)
                if self._phases is not None:
                    tg.start_soon(run, f"phase_worker:{k}", self._phases.run)
            if self._idle_interval:
                sweep = partial(self._pairs.sweep_idle, self._idle_interval, self._clock)
                tg.start_soon(run, "idle_sweeper", sweep)
            self._set_running(True)
            self._stack = stack.pop_all()
        return self

    async def __aexit__(self, *exc: object) -> None:
        stack, self._stack = self._stack, None
        try:
            if exc[0] is None:
                await self.flush()
        finally:
            self._set_running(False)
            if stack is not None:
                await stack.aclose()

    def _set_running(self, running: bool) -> None:
        self._running = running
        if self._phases is not None:
            self._phases.accepting = running

    def _task_died(self, name: str, exc: BaseException) -> None:
        if name == "committer":
            self._durable.committer.fail(exc)  # no writer waits on a dead committer
        self._activity.notify()  # wakes flush(), which stops waiting

    def readiness(self) -> dict[str, str]:
        """What keeps the monitor from taking messages now but may clear by itself (empty when
        ready): ``store`` (the error's type) from a failed commit until a commit or a probe of
        the store succeeds (about once a second). `health()` is for faults needing a restart."""
        return {} if (failing := self._durable.committer.failing) is None else {"store": failing}

    def health(self) -> dict[str, str]:
        """Background tasks that died (`committer`, `evictor`, `scoring_worker:N`, `fanout`,
        `phase_worker:N`, `idle_sweeper`), with the exception's type; empty while healthy. A
        dead task is logged once and not restarted, so a service should report itself failing
        and be restarted (`serve` does). After a dead committer `ingest` raises `StoreError`."""
        return dict(self._tasks.failures)

    def on(
        self, handler: EventHandler, types: Iterable[EventType | str] | None = None
    ) -> Callable[[], None]:
        """Call `handler(event)` for every event (of `types`, if given). Returns an unsubscribe
        function. Handlers run in the scoring task: keep them quick, hand off slow work."""
        return self._fanout.on(handler, types)

    def events(self, types: Iterable[EventType | str] | None = None) -> EventStream:
        """An async iterator over events (of `types`, if given) until the monitor closes,
        subscribed when this returns (events before the first iteration are kept up to
        `EventPolicy.buffer`, then counted as `events_dropped_iterator`). A slow consumer slows
        scoring, never ingestion. `aclose()` (or `async with`) unsubscribes."""
        wanted = frozenset(str(t) for t in types) if types else None
        return self._fanout.subscribe(wanted, self.event_policy.buffer)

    async def ingest(self, message: Message | Mapping[str, Any]) -> IngestResult:
        """Submit one message. Returns at once with accepted / duplicate / rejected(reason).

        Never raises for bad input: it is validated before anything else touches it (the store
        included) and rejected with a reason; an unexpected error rejects it as
        `internal_error` (logged without text). Raises only `MonitorClosed` (outside `async
        with`) and `StoreError` (not durable, so not accepted: re-submit it). Every answer is
        counted once: in = accepted + duplicates + rejected (`store_error` among rejected)."""
        if not self._running:
            raise MonitorClosed("Monitor.ingest() outside `async with monitor:`")
        try:
            result = await self._answer(message)
        except StoreError:
            self.core.record(IngestResult("rejected", RejectReason.STORE_ERROR))
            raise
        self.core.record(result)
        if result.reason is not None:
            extra = {"reason": result.reason.value, "field": result.field}
            _log.info("alliance_monitor.message_rejected", extra=extra)
        return result

    async def _answer(self, message: Message | Mapping[str, Any]) -> IngestResult:
        conv = None
        try:
            msg = parse_message(message)
            conv = msg.conversation_id
            return await self._ingest(msg)
        except InvalidMessage as exc:
            return rejected_result(exc.reason, exc.field, message)
        except (StoreError, MonitorClosed):
            raise
        except Exception as exc:  # a bug: still one rejected message, and the monitor goes on
            _log.error(
                "alliance_monitor.ingest_internal_error", extra={"error": type(exc).__name__}
            )
            if conv is not None:
                self._pairs.drop(conv)  # its state may be half-updated
            return IngestResult("rejected", RejectReason.INTERNAL_ERROR)

    async def _ingest(self, msg: Message) -> IngestResult:
        async with self._eraser.taking(msg.conversation_id):
            return await self._ingest_one(msg, msg.conversation_id)

    async def _ingest_one(self, msg: Message, conv: str) -> IngestResult:
        if self.scoring.overload == "wait":
            await self._scheduler.wait_pair(conv)
        safety: SafetyScan | None = None
        if len(msg.text) > _THREAD_SCAN_CHARS and self.core.scans_safety:
            # A very long message (1 MB takes ~0.2 s to scan): keep the event loop free.
            safety = await anyio.to_thread.run_sync(self.core.scan_safety, msg.text)
        # The last await before the core takes the message: nothing may evict the pair between
        # loading it and ingesting into it.
        await self._pairs.load(conv)
        out = self.core.ingest(msg, self._clock(), safety=safety, record=False)
        assert out.result is not None
        if out.message is not None and out.message.ts > EPOCH_2000:
            self._skew.note(self._wall() - out.message.ts)
        self._take(out)
        if out.message is not None and self._durable.journal:
            # "accepted" means durable (windows it closed are closed again by a replay of the
            # journal); after a failed write the pair is reloaded, so the retry is taken.
            try:
                await self._durable.commit_message(out.message, out.position)
            except StoreError:
                self._pairs.drop(conv)
                raise
        self._pairs.wake()
        return out.result

    async def erase(self, conversation_id: str, *, also: Iterable[Erasable] = ()) -> Erasure:
        """Erase a pair: its state and its messages' text leave memory and the store, then each
        of `also` (e.g. the `AlertDispatcher`, the `PairBoard`) erases what it holds of it.
        Returns what was removed where (`Erasure`, counts only).

        Messages of the pair that arrive meanwhile wait, and then start a new pair; those
        already being taken are erased with the rest. A window being scored is let finish
        first (its score is erased with the pair); windows waiting for a score are dropped, and
        so are the pair's events not yet handed out. Event ids already emitted stay in the
        store (hashes: no text, no id), so the same messages sent again raise no event twice."""
        if not self._running:
            raise MonitorClosed("Monitor.erase() outside `async with monitor:`")
        return await self._eraser.erase(str(conversation_id), also)

    async def erase_stale(
        self,
        max_age: float,
        *,
        also: Iterable[Erasable] = (),
        only: Callable[[str], bool] | None = None,
    ) -> list[Erasure]:
        """Erase every pair whose last message is older than `max_age` seconds (the store's
        pairs, evicted or not, and those in memory): a retention rule (`serve`'s
        ``monitor.retention_days`` runs it periodically). `only` keeps the sweep to the pairs
        it accepts (a scale-out worker: those of its shards). Returns the erasures."""
        cutoff = self._clock() - max_age
        stale = set(await self._durable.store.stale_pairs(cutoff))
        stale |= set(self.core.idle_pairs(cutoff))
        if only is not None:
            stale = {conv for conv in stale if only(conv)}
        return await self._eraser.erase_stale(stale, also)

    def reject(self, reason: RejectReason) -> None:
        """Count input that never became a message (e.g. a line that is not JSON) as rejected."""
        self.core.reject(reason)

    async def end_session(self, conversation_id: str) -> None:
        """End the pair's session now: its last window is scored and a summary follows."""
        self._take(self.core.end_session(conversation_id, "explicit"))

    async def end_all_sessions(self) -> None:
        """End every open session, including those of pairs evicted to the store."""
        await self._pairs.end_all_evicted()
        self._take(self.core.end_all("shutdown"))

    async def flush(self) -> None:
        """Wait until every closed window has been scored and its events delivered (after a
        background task died, see `health()`, only until nothing more can happen)."""
        phases = self._phases
        while not (
            self._scheduler.idle
            and self._fanout.idle
            and self._pairs.idle
            and (phases is None or phases.idle)
        ):
            if self._tasks.failures:
                return
            await self._activity.wait()
        await self._durable.committer.barrier()

    async def settle(self, predicate: Callable[[str], bool]) -> None:
        """Wait until no matching pair has a window waiting for or being scored (scale-out
        workers call this before handing a shard over)."""
        while any(predicate(c) for c in self._scheduler.busy_pairs()):
            with anyio.move_on_after(0.1):
                await self._activity.wait()

    async def load_pair(self, conversation_id: str) -> None:
        """Bring a pair into memory from the store now (its unscored windows are queued again),
        rather than on its next message; evicts idle pairs if that goes over `max_pairs`."""
        await self._pairs.load(conversation_id)
        self._pairs.wake()

    def forget_pairs(self, predicate: Callable[[str], bool]) -> int:
        """Drop in-memory state of matching pairs without writing it (it is reloaded from the
        store on next use). Scale-out workers call this when they take over a shard another
        worker may have changed. Pairs with windows being scored are kept."""
        return self._pairs.forget(predicate)

    @property
    def recovery_seconds(self) -> float:
        """How long recovery took on entry (0 without a store)."""
        return self._durable.recovery_seconds

    def stats(self) -> dict[str, Any]:
        """Counters of every part, merged (same name: summed), and a few gauges."""
        s = self.core.stats()
        parts = (self._pipeline, self._eraser, self._scheduler, self._fanout, self._durable)
        for part in (*parts, self._phases, self._feedback):
            for name, n in (part.counts if part is not None else {}).items():
                s[name] = s.get(name, 0) + n
        s.update(self._skew.stats())
        s["pending_pairs"] = self._scheduler.n_pending
        s["scoring_inflight"] = self._scheduler.n_inflight
        return s

    def _take(self, out: Outcome | Loaded) -> None:
        """The one place where what the core or the store returned becomes scheduler work and
        fan-out posts. Events replayed from the store are bounded by what it held and go out
        as they are; the core's pass the phase stage (which holds session summaries)."""
        if not (out.work or out.events):
            return  # most messages: nothing closed, nothing fired
        if isinstance(out, Loaded):
            self._fanout.post(out.events, bounded=False)
        else:
            events = list(out.events) if self._phases is None else self._phases.hold(out.events)
            self._fanout.post(self.core.session_pages(events))
        for req in out.work:
            self._scheduler.enqueue(req)

    def _dropped(self, convs: Iterable[str]) -> None:
        """Pairs that left memory (evicted, forgotten, or dropped after a failed write): every
        part that holds something of them lets go (the core and the store already did)."""
        for conv in convs:
            self._scheduler.forget(conv)
            if self._phases is not None:
                self._phases.forget(conv)

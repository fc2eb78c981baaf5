"""The async shell around `MonitorCore`: the object a chat backend embeds.

    monitor = Monitor()                        # embedded scorer, in-memory state
    async with monitor:
        monitor.on(handler)                    # every event, or monitor.on(h, types={...})
        await monitor.ingest(message)          # returns at once; scoring runs off this path
        async for event in monitor.events(): ...

`Monitor` composes the parts and holds their lifecycle; it is the one place where what the core
and the store return (`Outcome`, `Loaded`) becomes scheduler work and fan-out posts, and where
pairs that leave memory are let go by every part that holds something of them:

- `MonitorCore` (`_core.py`): the state machine; messages and scores in, work and events out.
- `Durable` (`_durable.py`): journal, snapshots, recovery, loading and eviction; drives nothing.
- `Scheduler` (`_scheduler.py`): pending windows per pair; the scoring workers take from it.
  When the scorer is slower than the conversation, a pair's pending windows are merged
  (`windows_merged`); `overload="wait"` makes `ingest` wait instead (deterministic replays).
- `FanOut` (`_fanout.py`): handlers and `events()` iterators.
- `PhaseStage` (`_phases.py`) and `FeedbackStage` (`_rewrite.py`): optional stages after scoring.

Each part keeps its own counters; `stats()` merges them.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import AsyncExitStack
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
from ._errors import InvalidMessage, MonitorClosed, RejectReason, StoreError
from ._events import EndReason, EventType
from ._fanout import EventHandler, EventStream, FanOut
from ._models import Message, WindowRequest, WindowScore, parse_message
from ._phases import PhaseRater, PhaseStage
from ._rewrite import FeedbackStage, FeedbackWriter
from ._scheduler import Scheduler
from ._signal import Signal
from .scoring._base import Scorer, score_or_unscored
from .store._base import StateStore
from .store._memory import MemoryStore

__all__ = ["EventHandler", "FeedbackWriter", "Monitor"]

_log = logging.getLogger("alliance_monitor.monitor")

_THREAD_SCAN_CHARS = 64 * 1024

#: Hard cap on the messages of one merged window; older ones are dropped from scoring (counted).
_MERGE_CAP_FACTOR = 4
#: Posted event batches (safety signals, recovery) waiting for the fan-out task, per event_buffer.
_POSTED_FACTOR = 4


def _older_than(cutoff: float) -> Callable[[float], bool]:
    return lambda seen: seen < cutoff


class _Skew:
    """Host clock minus platform timestamp, for timestamps that look like Unix epochs. Large or
    negative values point at clock skew (ordering then relies on `seq` where present)."""

    def __init__(self) -> None:
        self.n, self.ewma, self.max_abs = 0, 0.0, 0.0

    def note(self, skew: float) -> None:
        self.n += 1
        self.max_abs = max(self.max_abs, abs(skew))
        self.ewma = skew if self.n == 1 else 0.99 * self.ewma + 0.01 * skew

    def stats(self) -> dict[str, float]:
        if not self.n:
            return {}
        return {
            "clock_skew_seconds_ewma": round(self.ewma, 3),
            "clock_skew_seconds_max_abs": round(self.max_abs, 3),
        }


class Monitor:
    """Watches every counselor-client pair fed to it and emits alliance events.

    All arguments are keyword-only and optional; `Monitor()` is an offline, in-memory monitor.
    Policies are small frozen objects, each documented where it is defined (`_config.py`).

    Parts:
      - `scorer`: scores closed windows; default the embedded offline scorer
        (`alliance_monitor.scoring.EmbeddedScorer`). Closed with the monitor.
      - `store` (`StateStore`): where accepted messages, snapshots and pending windows are
        committed before `ingest` returns (memory, SQLite, Redis); None keeps state in memory
        only. Opened and closed with the monitor; recovery runs on entry.
      - `feedback_writer`: rewrites pattern and decline feedback (e.g. `LLMFeedbackWriter`); the
        template stays whenever it fails or returns None. Closed with the monitor.

    Rules:
      - `window` (`WindowPolicy`): when a window closes, baseline size, history kept.
      - `session` (`SessionPolicy`): idle timeout that ends a session, trajectory dead band.
      - `decline` (`DeclinePolicy`): what counts as a confirmed decline or a low alliance.
      - `patterns` (`PatternPolicy`): the rate that makes a passive / directive pattern.
      - `order` (`OrderPolicy`): reorder allowance at window boundaries, lateness.
      - `include_text`: allow short quotes of messages in feedback and full scores in events
        (off by default: no message text leaves the monitor).

    Running:
      - `scoring` (`ScoringPolicy`): scoring workers, overload ("merge" or "wait"), timeout
        per window, session summaries from windows or rated phases.
      - `events` (`EventPolicy`): buffer of each `events()` iterator and of the queue of events
        fired at ingest; time allowed to a feedback rewrite.
      - `max_pairs`: pairs kept in memory (default `DEFAULT_MAX_PAIRS`, 50,000; None: no
        cap); least-recently-used idle ones are snapshotted to the store (without a store,
        kept as compressed snapshots in memory) and restored on their next message.
      - `idle_check_interval`: seconds between sweeps that end sessions idle for
        `SessionPolicy.idle_timeout` of wall-clock time; None disables the sweep. Default 30.
      - `clock`: seconds for `last_seen` and idle sweeps. Default a `SteadyClock`: the host's
        time at start advanced by the monotonic clock, so a step of the host clock neither ends
        sessions nor keeps idle ones open; its readings are wall-clock seconds (saved in
        snapshots and compared after a restart or on another worker).
      - `wall_clock`: host time used to measure clock skew against platform timestamps.
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
        clock = clock if clock is not None else SteadyClock()
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
        self._idle_interval = idle_check_interval
        self._clock, self._wall = clock, wall_clock
        #: Any part made progress (work taken or done, events delivered, a phase rated): what
        #: `flush` waits on between checks.
        self._activity = Signal()
        self._scheduler = Scheduler(
            overload=scoring.overload,
            merge_cap=self.core.window.max_messages * _MERGE_CAP_FACTOR,
            on_progress=self._activity.notify,
        )
        self._fanout = FanOut(
            max_posted=events.buffer * _POSTED_FACTOR, on_progress=self._activity.notify
        )
        self._phases: PhaseStage | None = None
        if scoring.session_scoring == "phases":
            rater = PhaseRater(
                scorer, tolerance=self.core.session.trajectory_tolerance, time_limit=scoring.timeout
            )
            self._phases = PhaseStage(
                rater, post=self._post_rated, on_progress=self._activity.notify
            )
        self._feedback: FeedbackStage | None = None
        if feedback_writer is not None:
            self._feedback = FeedbackStage(
                feedback_writer, timeout=events.feedback_timeout, include_quotes=include_text
            )
        self.store = store
        self._durable: Durable | None = None
        if store is not None or max_pairs is not None:
            # Without a store of its own the cap still holds: evicted pairs go to an in-memory
            # store as compressed snapshots, and nothing else is written (no journal).
            self._durable = Durable(
                store=store or MemoryStore(),
                core=self.core,
                clock=clock,
                max_pairs=max_pairs,
                journal=store is not None,
            )
        self._counts: Counter[str] = Counter()  # internal_errors, scoring_failures
        self._evicting = False  # the evictor was woken and has not finished its pass
        self._evict_wake = Signal()
        self._skew = _Skew()
        self._stack: AsyncExitStack | None = None
        self._running = False
        self._failures: dict[str, str] = {}

    # ------------------------------------------------------------------ lifecycle
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
            if self._durable is not None:
                # Before any task starts: this only queues work and events for them.
                self._take(await self._durable.recover())
            tg = await stack.enter_async_context(anyio.create_task_group())
            stack.callback(tg.cancel_scope.cancel)
            stack.callback(self._set_running, False)
            run = self._supervised
            if self._durable is not None:
                tg.start_soon(run, "committer", self._durable.committer.run)
                tg.start_soon(run, "evictor", self._evictor)
            for k in range(self.scoring.workers):
                tg.start_soon(run, f"scoring_worker:{k}", self._worker)
            tg.start_soon(run, "fanout", lambda: self._fanout.run(self._record_emitted))
            if self._phases is not None:
                for k in range(self.scoring.workers):
                    tg.start_soon(run, f"phase_worker:{k}", self._phases.run)
            if self._idle_interval:
                tg.start_soon(run, "idle_sweeper", self._sweeper)
            self._set_running(True)
            self._stack = stack.pop_all()
        return self

    def _set_running(self, running: bool) -> None:
        self._running = running
        if self._phases is not None:
            self._phases.accepting = running

    async def _supervised(self, name: str, task: Callable[[], Awaitable[None]]) -> None:
        """Run a background task; if it dies, record it for `health()` instead of cancelling
        the code that entered the monitor (an ASGI lifespan, a worker's main loop)."""
        try:
            await task()
        except anyio.get_cancelled_exc_class():
            raise
        except BaseException as exc:
            self._failures[name] = type(exc).__name__
            _log.error(
                "alliance_monitor.background_task_died",
                extra={"task": name, "error": type(exc).__name__},
            )
            if self._durable is not None and name == "committer":
                self._durable.committer.fail(exc)  # no writer waits on a dead committer
            self._activity.notify()  # wakes flush(), which stops waiting
            if isinstance(exc, KeyboardInterrupt | SystemExit):
                raise

    def readiness(self) -> dict[str, str]:
        """What keeps the monitor from taking messages now but may clear by itself: ``store``
        (with the error's type) from a failed commit until a commit or a probe of the store
        succeeds (`StateStore.probe`, tried about once a second). Empty when ready. A service
        reports itself not ready meanwhile (`serve`'s /readyz does); `health()` is for faults
        that need a restart."""
        if self._durable is not None and self._durable.committer.failing is not None:
            return {"store": self._durable.committer.failing}
        return {}

    def health(self) -> dict[str, str]:
        """Background tasks that died, by name (`committer`, `evictor`, `scoring_worker:N`,
        `fanout`, `phase_worker:N`, `idle_sweeper`) with the exception's type; empty while healthy.
        A dead task is logged once and not restarted: what it carried (commits, scoring,
        event delivery) no longer happens, so a service should report itself failing
        (`alliance-monitor serve`'s /healthz and /readyz do) and be restarted. After a dead
        committer, `ingest` raises `StoreError` instead of waiting."""
        return dict(self._failures)

    async def __aexit__(self, *exc: object) -> None:
        stack, self._stack = self._stack, None
        try:
            if exc[0] is None:
                await self.flush()
        finally:
            self._set_running(False)
            if stack is not None:
                await stack.aclose()

    # ------------------------------------------------------------------ subscribing
    def on(
        self, handler: EventHandler, types: Iterable[EventType | str] | None = None
    ) -> Callable[[], None]:
        """Call `handler(event)` for every event (of `types`, if given). Returns an unsubscribe
        function. Handlers run in the scoring task: keep them quick, hand off slow work."""
        return self._fanout.on(handler, types)

    def events(self, types: Iterable[EventType | str] | None = None) -> EventStream:
        """An async iterator over events (of `types`, if given) as they fire, until the monitor
        closes. It is subscribed when this returns, so events fired before the first iteration
        are kept (up to `EventPolicy.buffer`; beyond that dropped and counted as
        `events_dropped_iterator`). Once iterated, a slow consumer slows scoring (whose pending
        work then merges), never ingestion. `aclose()` (or `async with`) unsubscribes."""
        wanted = frozenset(str(t) for t in types) if types else None
        return self._fanout.subscribe(wanted, self.event_policy.buffer)

    # ------------------------------------------------------------------ ingest
    async def ingest(self, message: Message | Mapping[str, Any]) -> IngestResult:
        """Submit one message. Returns at once with accepted / duplicate / rejected(reason).

        Never raises for bad input: it is validated (ids, text, metadata, numbers, Unicode)
        before anything else touches it, the store included, and rejected with a reason,
        counted. An unexpected error while taking one message rejects that message with
        `internal_error` (counted, logged without text) instead of escaping. Raises only
        `MonitorClosed` (outside `async with`) and `StoreError` (the write did not become
        durable: the message was not accepted, counted as rejected `store_error`; re-submit
        it). Every answer is counted once: in = accepted + duplicates + rejected."""
        if not self._running:
            raise MonitorClosed("Monitor.ingest() outside `async with monitor:`")
        try:
            result = await self._answer(message)
        except StoreError:
            self.core.record(IngestResult("rejected", RejectReason.STORE_ERROR))
            raise
        self.core.record(result)
        if result.status == "rejected":
            _log.info(
                "alliance_monitor.message_rejected",
                extra={
                    "reason": result.reason.value if result.reason else None,
                    "field": result.field,
                },
            )
        return result

    async def _answer(self, message: Message | Mapping[str, Any]) -> IngestResult:
        try:
            msg = parse_message(message)
        except InvalidMessage as exc:
            return rejected_result(exc.reason, exc.field, message)
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
        if conv is not None and self._durable is not None:
            # Its state may be half-updated: reload it from the store.
            self._dropped(self._durable.forget([conv]))
        return IngestResult("rejected", RejectReason.INTERNAL_ERROR)

    async def _ingest(self, msg: Message) -> IngestResult:
        conv = msg.conversation_id
        if self.scoring.overload == "wait":
            await self._scheduler.wait_pair(conv)
        safety: SafetyScan | None = None
        if len(msg.text) > _THREAD_SCAN_CHARS and self.core.scans_safety:
            # A very long message (1 MB takes ~0.2 s to scan): keep the event loop free.
            safety = await anyio.to_thread.run_sync(self.core.scan_safety, msg.text)
        if self._durable is not None:
            # The last await before the core takes the message: nothing may evict the pair
            # between loading it and ingesting into it.
            self._take(await self._durable.ensure_loaded(conv))
        out = self.core.ingest(msg, self._clock(), safety=safety, record=False)
        assert out.result is not None
        if out.message is not None and out.message.ts > EPOCH_2000:
            self._skew.note(self._wall() - out.message.ts)
        self._take(out)
        if self._durable is not None and out.message is not None:
            # "accepted" means durable in the store. Windows this message closed need no row of
            # their own: replaying the journal closes them again, and the pair's next snapshot
            # (which drops that journal) writes those still unscored. A failed write raises
            # StoreError: not accepted, and the pair is reloaded so the retry is taken.
            try:
                await self._durable.commit_message(out.message, out.position)
            except StoreError:
                self._dropped(self._durable.forget([conv]))
                raise
            self._over_cap()
        return out.result

    def reject(self, reason: RejectReason) -> None:
        """Count input that never became a message (e.g. a line of invalid JSON): in the
        ledger as in and rejected, like a message `ingest` rejected."""
        self.core.reject(reason)

    # ------------------------------------------------------------------ sessions and pairs
    async def end_session(self, conversation_id: str) -> None:
        """End the pair's session now: its last window is scored and a summary follows."""
        self._take(self.core.end_session(conversation_id, "explicit"))

    async def end_all_sessions(self) -> None:
        """End every open session, including those of pairs evicted to the store."""
        # Loading evicted pairs can push resident ones with open sessions out (an eviction
        # runs after each scored window), so repeat until none is left behind.
        while self._durable is not None and self._durable.evicted_open:
            await self._end_evicted(lambda _seen: True, "shutdown")
        self._take(self.core.end_all("shutdown"))

    async def _end_evicted(self, due: Callable[[float], bool], reason: EndReason) -> None:
        """End the sessions of evicted pairs whose last activity is `due` (loads each first)."""
        assert self._durable is not None
        for conv in self._durable.due_evicted(due):
            self._take(await self._durable.ensure_loaded(conv))
            self._take(self.core.end_session(conv, reason))

    async def flush(self) -> None:
        """Wait until every closed window has been scored and its events delivered (or, if a
        background task died, see `health()`, until nothing more can happen: no waiting on
        work a dead task would have done)."""
        while not self._settled:
            if self._failures:
                return
            await self._activity.wait()
        if self._durable is not None:
            await self._durable.committer.barrier()

    @property
    def _settled(self) -> bool:
        phases_idle = self._phases is None or self._phases.idle
        return self._scheduler.idle and self._fanout.idle and phases_idle and not self._evicting

    async def settle(self, predicate: Callable[[str], bool]) -> None:
        """Wait until no matching pair has a window waiting for or being scored (scale-out
        workers call this before handing a shard over)."""
        while any(predicate(c) for c in self._scheduler.busy_pairs()):
            with anyio.move_on_after(0.1):
                await self._activity.wait()

    async def load_pair(self, conversation_id: str) -> None:
        """Bring a pair into memory from the store now (its unscored windows are queued again),
        rather than on its next message; evicts idle pairs if that goes over `max_pairs`."""
        if self._durable is not None:
            self._take(await self._durable.ensure_loaded(conversation_id))
            self._over_cap()

    def forget_pairs(self, predicate: Callable[[str], bool]) -> int:
        """Drop in-memory state of matching pairs without writing it (it is reloaded from the
        store on next use). Scale-out workers call this when they take over a shard another
        worker may have changed. Pairs with windows being scored are kept."""
        busy = self._scheduler.busy
        if self._durable is not None:
            dropped = self._durable.forget_pairs(predicate, busy)
        else:
            dropped = [c for c in self.core.conversations() if predicate(c) and not busy(c)]
            for conv in dropped:
                self.core.drop(conv)
        self._dropped(dropped)
        return len(dropped)

    @property
    def recovery_seconds(self) -> float:
        """How long recovery took on entry (0 without a store)."""
        return self._durable.recovery_seconds if self._durable is not None else 0.0

    def stats(self) -> dict[str, Any]:
        """Counters of every part, merged (same name: summed), and a few gauges."""
        s = self.core.stats()
        parts: list[Counter[str]] = [self._counts, self._scheduler.counts, self._fanout.counts]
        parts += [p.counts for p in (self._durable, self._phases, self._feedback) if p is not None]
        for counts in parts:
            for name, n in counts.items():
                s[name] = s.get(name, 0) + n
        s["pending_pairs"] = self._scheduler.n_pending
        s.update(self._skew.stats())
        s["scoring_inflight"] = self._scheduler.n_inflight
        return s

    # ------------------------------------------------------------------ internals
    def _take(self, out: Outcome | Loaded) -> None:
        """The one place where what the core or the store returned becomes scheduler work and
        fan-out posts. Events replayed from the store are bounded by what it held and go out
        as they are; the core's pass the phase stage (which holds session summaries)."""
        if isinstance(out, Loaded):
            self._fanout.post(out.events, bounded=False)
        else:
            self._fanout.post(out.events if self._phases is None else self._phases.hold(out.events))
        for req in out.work:
            self._scheduler.enqueue(req)

    def _post_rated(self, events: Sequence[Any]) -> None:
        """Session summaries back from the phase stage (bounded by the sessions that ended)."""
        self._fanout.post(events, bounded=False)

    def _dropped(self, convs: Iterable[str]) -> None:
        """Pairs that left memory (evicted, forgotten, or dropped after a failed write): every
        part that holds something of them lets go (the core and the store already did)."""
        for conv in convs:
            self._scheduler.forget(conv)
            if self._phases is not None:
                self._phases.forget(conv)

    def _over_cap(self) -> None:
        """Wake the evictor when more pairs than `max_pairs` are in memory (never waits: the
        snapshots of evicted pairs are written off the path of the message that went over)."""
        if self._durable is not None and self._durable.excess and not self._evicting:
            self._evicting = True
            self._evict_wake.notify()

    async def _evictor(self) -> None:
        """Move least-recently-used idle pairs to the store whenever over `max_pairs`."""
        assert self._durable is not None
        while True:
            while not self._evicting:
                await self._evict_wake.wait()
            try:
                while self._durable.excess:
                    dropped = await self._durable.evict(self._scheduler.busy)
                    if not dropped:
                        break  # every candidate is being scored, or the store refused: later
                    self._dropped(dropped)
            finally:
                self._evicting = False
                self._activity.notify()

    async def _worker(self) -> None:
        while True:
            req = await self._scheduler.take()
            try:
                await self._score_and_apply(req)
            except Exception as exc:  # a bug: count it, keep the worker alive
                self._counts["internal_errors"] += 1
                _log.error(
                    "alliance_monitor.scoring_internal_error", extra={"error": type(exc).__name__}
                )
            finally:
                self._scheduler.done(req.conversation_id)

    async def _score_and_apply(self, req: WindowRequest) -> None:
        score = await self._score(req)
        if self._phases is not None:
            self._phases.observe(req, score)
        events = self.core.apply(score, req)
        if self._phases is not None:
            events = self._phases.hold(events)
        if self._feedback is not None:
            events = await self._feedback.rewrite(events, req)
        await self._fanout.deliver(events)
        if self._durable is not None:
            waiting = self._scheduler.waiting(req.conversation_id)
            await self._durable.persist_applied(req, events, waiting)
            self._over_cap()

    async def _score(self, req: WindowRequest) -> WindowScore:
        score = await score_or_unscored(self.scorer, req, time_limit=self.scoring.timeout)
        if not score.scored:
            self._counts["scoring_failures"] += 1
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

    async def _record_emitted(self, events: Sequence[Any]) -> None:
        """After a posted batch was delivered: remember its ids so recovery does not repeat it."""
        if self._durable is not None:
            await self._durable.record_emitted(events)

    async def _sweeper(self) -> None:
        assert self._idle_interval is not None
        while True:
            await anyio.sleep(self._idle_interval)
            now = self._clock()
            if self._durable is not None:
                await self._end_evicted(_older_than(now - self.core.session.idle_timeout), "idle")
            self._take(self.core.expire_idle(now))

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

import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypedDict

import anyio
import anyio.lowlevel
from anyio.abc import TaskGroup
from typing_extensions import Unpack

from ._config import (
    DeclinePolicy,
    EventPolicy,
    OrderPolicy,
    PatternPolicy,
    ScoringPolicy,
    SessionPolicy,
    WindowPolicy,
)
from ._core import EndReason, IngestResult, MonitorCore, Outcome, SafetyScan
from ._durable import Durable
from ._errors import InvalidMessage, MonitorClosed, RejectReason, StoreError
from ._events import (
    AllianceDeclined,
    Event,
    EventType,
    Feedback,
    PatternDetected,
    SessionSummary,
)
from ._fanout import EventHandler, EventStream, FanOut
from ._models import Message, WindowRequest, WindowScore, parse_message
from ._phases import PhaseRater
from ._scheduler import Scheduler, Signal
from .scoring._base import Scorer, score_or_unscored
from .store._base import (
    StateStore,
)

if TYPE_CHECKING:
    from .scoring._feedback_llm import FeedbackRequest

__all__ = ["EventHandler", "FeedbackWriter", "Monitor"]


class FeedbackWriter(Protocol):
    """Writes counselor feedback for a pattern or decline (e.g. `LLMFeedbackWriter`); returns
    None when it cannot, and the template feedback stays."""

    async def write(self, request: FeedbackRequest) -> Feedback | None: ...

    async def aclose(self) -> None: ...


_log = logging.getLogger("alliance_monitor.monitor")

_EPOCH_2000 = 946_684_800.0
_THREAD_SCAN_CHARS = 64 * 1024

#: Hard cap on the messages of one merged window; older ones are dropped from scoring (counted).
_MERGE_CAP_FACTOR = 4
#: Posted event batches (safety signals, recovery) waiting for the fan-out task, per event_buffer.
_POSTED_FACTOR = 4


def _apply_legacy(
    scoring: ScoringPolicy, events: EventPolicy, legacy: Mapping[str, Any]
) -> tuple[ScoringPolicy, EventPolicy]:
    """Fold the earlier keywords into the policies (`Monitor(workers=4)` still works)."""
    changes: dict[str, dict[str, Any]] = {"scoring": {}, "events": {}}
    for key, value in legacy.items():
        if key not in _LEGACY_FIELDS:
            raise TypeError(f"Monitor() got an unexpected keyword argument {key!r}")
        group, name = _LEGACY_FIELDS[key]
        changes[group][name] = max(1, value) if key == "workers" else value
    return replace(scoring, **changes["scoring"]), replace(events, **changes["events"])


def _older_than(cutoff: float) -> Callable[[float], bool]:
    return lambda seen: seen < cutoff


class _Legacy(TypedDict, total=False):
    """Keywords of earlier versions, still accepted; each sets one policy field."""

    workers: int  # ScoringPolicy.workers
    overload: Literal["merge", "wait"]  # ScoringPolicy.overload
    score_timeout: float  # ScoringPolicy.timeout
    session_scoring: Literal["windows", "phases"]  # ScoringPolicy.session_scoring
    event_buffer: int  # EventPolicy.buffer
    feedback_timeout: float  # EventPolicy.feedback_timeout


_LEGACY_FIELDS = {
    "workers": ("scoring", "workers"),
    "overload": ("scoring", "overload"),
    "score_timeout": ("scoring", "timeout"),
    "session_scoring": ("scoring", "session_scoring"),
    "event_buffer": ("events", "buffer"),
    "feedback_timeout": ("events", "feedback_timeout"),
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
      - `max_pairs`: pairs kept in memory; least-recently-used idle ones are snapshotted to the
        store (a `MemoryStore` if none is given) and restored on their next message.
      - `idle_check_interval`: seconds between sweeps that end sessions idle for
        `SessionPolicy.idle_timeout` of wall-clock time; None disables the sweep. Default 30.
      - `clock`: wall-clock seconds for `last_seen` and idle sweeps (saved in snapshots and
        compared after a restart or on another worker, so not a monotonic clock).
      - `wall_clock`: host time used to measure clock skew against platform timestamps.

    Earlier keywords are still accepted and set one policy field each: `workers`, `overload`,
    `score_timeout` (`ScoringPolicy.timeout`), `session_scoring`, `event_buffer`
    (`EventPolicy.buffer`), `feedback_timeout`.
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
        max_pairs: int | None = None,
        idle_check_interval: float | None = 30.0,
        clock: Callable[[], float] = time.time,
        wall_clock: Callable[[], float] = time.time,
        **legacy: Unpack[_Legacy],
    ) -> None:
        scoring, events = _apply_legacy(scoring or ScoringPolicy(), events or EventPolicy(), legacy)
        self.scoring, self.event_policy = scoring, events
        workers, overload, score_timeout = scoring.workers, scoring.overload, scoring.timeout
        session_scoring = scoring.session_scoring
        event_buffer, feedback_timeout = events.buffer, events.feedback_timeout
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
        self._workers = workers
        self._overload = overload
        self._score_timeout = score_timeout
        self._idle_interval = idle_check_interval
        self._event_buffer = event_buffer
        self._clock = clock
        self._scheduler = Scheduler(
            overload=overload,
            merge_cap=self.core.window.max_messages * _MERGE_CAP_FACTOR,
            counts=self.core.counts,
        )
        self._fanout = FanOut(
            max_posted=event_buffer * _POSTED_FACTOR,
            counts=self.core.counts,
            on_progress=self._scheduler.notify,  # flush() waits on the scheduler's progress
        )
        self._stack: AsyncExitStack | None = None
        self._running = False
        self._failures: dict[str, str] = {}
        if store is None and max_pairs is not None:
            from .store._memory import MemoryStore

            store = MemoryStore()
        self.store = store
        self._feedback = feedback_writer
        self._feedback_timeout = feedback_timeout
        #: session_scoring="phases": each ended session's thirds are rated as phases by a task
        #: of their own (`_rate_phases`), so neither a worker nor the fan-out waits for them;
        #: as many such tasks as scoring workers drain one queue of ended sessions.
        self._phases: PhaseRater | None = None
        if session_scoring == "phases":
            self._phases = PhaseRater(
                scorer, tolerance=self.core.session.trajectory_tolerance, time_limit=score_timeout
            )
        self._tg: TaskGroup | None = None
        self._phase_busy = 0  # sessions queued or being rated
        self._phase_queue: deque[Sequence[Event]] = deque()
        self._phase_wake = Signal()
        self._durable: Durable | None = None
        if store is not None:
            self._durable = Durable(
                store=store,
                core=self.core,
                scheduler=self._scheduler,
                fanout=self._fanout,
                clock=clock,
                max_pairs=max_pairs,
                on_forget=self._phases.forget if self._phases is not None else None,
            )
        self._wall = wall_clock
        self._skew_n = 0
        self._skew_ewma = 0.0
        self._skew_max = 0.0

    # ------------------------------------------------------------------ lifecycle
    async def __aenter__(self) -> Monitor:
        async with AsyncExitStack() as stack:
            # Unwound in reverse on any failure here (a failing recovery included) and in
            # __aexit__: tasks cancelled, iterators ended, scorer, feedback writer, store closed.
            if self.store is not None:
                await self.store.open()
                stack.push_async_callback(self.store.aclose)
            if self._feedback is not None:
                stack.push_async_callback(self._feedback.aclose)
            stack.push_async_callback(self.scorer.aclose)
            stack.callback(self._fanout.close)
            if self._durable is not None:
                # Before any task starts: it only queues work and events for them.
                await self._durable.recover()
            tg = await stack.enter_async_context(anyio.create_task_group())
            stack.callback(tg.cancel_scope.cancel)
            stack.callback(self._stopped)
            self._running = True
            run = self._supervised
            if self._durable is not None:
                tg.start_soon(run, "committer", self._durable.committer.run)
            for k in range(self._workers):
                tg.start_soon(run, f"scoring_worker:{k}", self._worker)
            tg.start_soon(run, "fanout", partial(self._fanout.run, self._record_emitted))
            self._tg = tg
            if self._phases is not None:
                for k in range(self._workers):
                    tg.start_soon(run, f"phase_worker:{k}", self._phase_worker)
            if self._idle_interval:
                tg.start_soon(run, "idle_sweeper", self._sweeper)
            self._stack = stack.pop_all()
        return self

    def _stopped(self) -> None:
        self._running = False

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
            self._scheduler.notify()  # wakes flush(), which stops waiting
            if isinstance(exc, KeyboardInterrupt | SystemExit):
                raise

    def health(self) -> dict[str, str]:
        """Background tasks that died, by name (`committer`, `scoring_worker:N`, `fanout`,
        `phase_worker:N`, `idle_sweeper`) with the exception's type; empty while healthy.
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
            self._running = False
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
        are kept (up to `event_buffer`; beyond that dropped and counted as
        `events_dropped_iterator`). Once iterated, a slow consumer slows scoring (whose pending
        work then merges), never ingestion. `aclose()` (or `async with`) unsubscribes."""
        wanted = frozenset(str(t) for t in types) if types else None
        return self._fanout.subscribe(wanted, self._event_buffer)

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
        if conv is not None and self._durable is not None:
            self._durable.forget(conv)  # its state may be half-updated: reload it from the store
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
            await self._scheduler.wait_pair(conv)
        safety: SafetyScan | None = None
        if len(msg.text) > _THREAD_SCAN_CHARS and self.core.scans_safety:
            # A very long message (1 MB takes ~0.2 s to scan): keep the event loop free.
            safety = await anyio.to_thread.run_sync(self.core.scan_safety, msg.text)
        if self._durable is not None:
            # The last await before the core takes the message: nothing may evict the pair
            # between loading it and ingesting into it.
            await self._durable.ensure_loaded(conv)
        out = self.core.ingest(msg, self._clock(), safety=safety)
        assert out.result is not None
        if out.message is not None and out.message.ts > _EPOCH_2000:
            self._note_skew(self._wall() - out.message.ts)
        if out.result.status == "rejected":
            self._log_rejected(out.result)
        self._take(out)
        if self._durable is not None and out.message is not None:
            # "accepted" means durable in the store. Windows this message closed need no row of
            # their own: replaying the journal closes them again, and the pair's next snapshot
            # (which drops that journal) writes those still unscored. A failed write raises
            # StoreError: not accepted, and the pair is reloaded so the retry is taken.
            await self._durable.commit_message(out.message, out.position)
        return out.result

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
        while self._durable is not None and self._durable.evicted_open:
            await self._end_evicted(lambda _seen: True, "shutdown")
        self._take(self.core.end_all("shutdown"))

    async def _end_evicted(self, due: Callable[[float], bool], reason: EndReason) -> None:
        if self._durable is not None:
            end = partial(self._end_one, reason=reason)
            await self._durable.end_evicted(due, end, self._take)

    def _end_one(self, conv: str, *, reason: EndReason) -> Outcome:
        return self.core.end_session(conv, reason)

    async def flush(self) -> None:
        """Wait until every closed window has been scored and its events delivered (or, if a
        background task died, see `health()`, until nothing more can happen: no waiting on
        work a dead task would have done)."""
        while not (self._scheduler.idle and self._fanout.idle and not self._phase_busy):
            if self._failures:
                return
            await self._scheduler.progress()  # the fan-out and the phase rater notify it too
        if self._durable is not None:
            await self._durable.committer.barrier()

    def _note_skew(self, skew: float) -> None:
        # Host clock minus platform timestamp, for timestamps that look like Unix epochs. Large
        # or negative values point at clock skew (ordering then relies on `seq` where present).
        self._skew_n += 1
        self._skew_max = max(self._skew_max, abs(skew))
        self._skew_ewma = skew if self._skew_n == 1 else 0.99 * self._skew_ewma + 0.01 * skew

    async def settle(self, predicate: Callable[[str], bool]) -> None:
        """Wait until no matching pair has a window waiting for or being scored (scale-out
        workers call this before handing a shard over)."""
        while any(predicate(c) for c in self._scheduler.busy_pairs()):
            with anyio.move_on_after(0.1):
                await self._scheduler.progress()

    async def load_pair(self, conversation_id: str) -> None:
        """Bring a pair into memory from the store now (its unscored windows are queued again),
        rather than on its next message; evicts idle pairs if that goes over `max_pairs`."""
        if self._durable is not None:
            await self._durable.ensure_loaded(conversation_id)
            await self._durable.evict_if_over()

    def forget_pairs(self, predicate: Callable[[str], bool]) -> int:
        """Drop in-memory state of matching pairs without writing it (it is reloaded from the
        store on next use). Scale-out workers call this when they take over a shard another
        worker may have changed. Pairs with windows being scored are kept."""
        if self._durable is not None:
            return self._durable.forget_pairs(predicate)
        victims = [
            c for c in self.core.conversations() if predicate(c) and not self._scheduler.busy(c)
        ]
        for c in victims:
            self.core.drop(c)
        return len(victims)

    @property
    def recovery_seconds(self) -> float:
        """How long recovery took on entry (0 without a store)."""
        return self._durable.recovery_seconds if self._durable is not None else 0.0

    def stats(self) -> dict[str, Any]:
        s = self.core.stats()
        s["pending_pairs"] = self._scheduler.n_pending
        if self._skew_n:
            s["clock_skew_seconds_ewma"] = round(self._skew_ewma, 3)
            s["clock_skew_seconds_max_abs"] = round(self._skew_max, 3)
        s["scoring_inflight"] = self._scheduler.n_inflight
        if self._phases is not None:
            s.update(self._phases.counts)
        return s

    # ------------------------------------------------------------------ internals
    def _take(self, out: Outcome) -> None:
        events = self._hold_summaries(out.events)
        if events:
            self._fanout.post(events)
        for req in out.work:
            self._scheduler.enqueue(req)

    async def _worker(self) -> None:
        while True:
            req = await self._scheduler.take()
            try:
                await self._score_and_apply(req)
            except Exception as exc:  # a bug: count it, keep the worker alive
                self.core.counts["internal_errors"] += 1
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
        events = self._hold_summaries(events)
        if self._feedback is not None:
            events = [await self._rewrite_feedback(ev, req) for ev in events]
        await self._fanout.deliver(events)
        if self._durable is not None:
            await self._durable.persist_applied(req, events)

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

    def _hold_summaries(self, events: Sequence[Event]) -> list[Event]:
        """With ``session_scoring="phases"``, session summaries leave `events` for a phase task
        that rates the session's phases and posts them after (their ids are recorded as emitted
        once delivered, like any posted event)."""
        if self._phases is None or self._tg is None or not self._running:
            return list(events)
        held = [e for e in events if isinstance(e, SessionSummary)]
        if not held:
            return list(events)
        self._phase_busy += 1
        self._phase_queue.append(held)
        self._phase_wake.notify()
        return [e for e in events if not isinstance(e, SessionSummary)]

    async def _phase_worker(self) -> None:
        """One of `workers` tasks rating ended sessions' phases, in the order sessions ended."""
        while True:
            while not self._phase_queue:
                await self._phase_wake.wait()
            await self._rate_phases(self._phase_queue.popleft())

    async def _rate_phases(self, summaries: Sequence[Event]) -> None:
        assert self._phases is not None
        try:
            try:
                rated = await self._phases.rewrite(list(summaries))
            except Exception as exc:  # a bug: the window-based summaries still go out
                self.core.counts["internal_errors"] += 1
                _log.error(
                    "alliance_monitor.phase_rating_error", extra={"error": type(exc).__name__}
                )
                rated = list(summaries)
            self._fanout.post(rated, bounded=False)
        finally:
            self._phase_busy -= 1
            self._scheduler.notify()

    async def _record_emitted(self, events: Sequence[Event]) -> None:
        """After a posted batch was delivered: remember its ids so recovery does not repeat it."""
        if self._durable is not None:
            await self._durable.record_emitted(events)

    async def _sweeper(self) -> None:
        assert self._idle_interval is not None
        while True:
            await anyio.sleep(self._idle_interval)
            now = self._clock()
            limit = self.core.session.idle_timeout
            await self._end_evicted(_older_than(now - limit), "idle")
            self._take(self.core.expire_idle(now))

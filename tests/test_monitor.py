"""The async Monitor: ingestion never waits on scoring, merging under overload, subscriptions."""

from __future__ import annotations

import time
from typing import Any

import anyio
import pytest
from helpers import alternating, msg

from alliance_monitor import EventPolicy, MonitorClosed, ScoringPolicy, WindowRequest, WindowScore
from alliance_monitor._events import EventType
from alliance_monitor._monitor import Monitor
from alliance_monitor.scoring import Scorer
from alliance_monitor.testing import EventCollector, StaticScorer

pytestmark = pytest.mark.anyio


class SlowScorer(Scorer):
    """Takes `delay` seconds per window (an LLM slower than the conversation)."""

    name = "slow"

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.inner = StaticScorer(3.0)
        self.requests: list[WindowRequest] = []

    async def score(self, request: WindowRequest) -> WindowScore:
        self.requests.append(request)
        await anyio.sleep(self.delay)
        return self.inner.score_sync(request)


async def test_ingest_outside_context_raises() -> None:
    with pytest.raises(MonitorClosed):
        await Monitor(scorer=StaticScorer()).ingest(msg("c", 0, "client"))


async def test_ingest_does_not_wait_for_a_slow_scorer_and_merges() -> None:
    scorer = SlowScorer(0.5)
    monitor = Monitor(scorer=scorer, idle_check_interval=None, scoring=ScoringPolicy(workers=1))
    col = EventCollector()
    async with monitor:
        monitor.on(col)
        t0 = time.perf_counter()
        for m in alternating("c", 12 * 10):
            await monitor.ingest(m)
        ingest_time = time.perf_counter() - t0
        await monitor.end_session("c")
    assert ingest_time < 0.4  # ten windows closed; none waited for the 0.5 s scorer
    stats = monitor.stats()
    assert stats["windows_closed"] == 10
    assert stats["windows_merged"] >= 7
    # Every message was scored exactly once, none lost.
    scored = [m.id for r in scorer.requests for m in r.messages]
    assert sorted(scored) == sorted(m["id"] for m in alternating("c", 120))
    (summary,) = col.of(EventType.SESSION_SUMMARY)
    assert summary.n_windows == 10


async def test_wait_mode_is_deterministic() -> None:
    async def run() -> list[str]:
        col = EventCollector()
        lv = lambda r: 4.5 if r.window_index < 2 else 2.0  # noqa: E731
        async with Monitor(
            scorer=StaticScorer(lv, passive=0.9), scoring=ScoringPolicy(overload="wait")
        ) as m:
            m.on(col)
            for conv in ("a", "b", "c"):
                for x in alternating(conv, 60):
                    await m.ingest(x)
            await m.end_all_sessions()
        return col.ids

    first, second = await run(), await run()
    assert first == second and len(first) > 20


async def test_events_iterator_and_type_filter() -> None:
    monitor = Monitor(scorer=StaticScorer(3.0), idle_check_interval=None)
    got: list[Any] = []
    async with monitor:

        async def consume() -> None:
            async for ev in monitor.events(types=[EventType.SESSION_SUMMARY]):
                got.append(ev)
                return

        async with anyio.create_task_group() as tg:
            tg.start_soon(consume)
            await anyio.sleep(0.01)
            for m in alternating("c", 20):
                await monitor.ingest(m)
            await monitor.end_session("c")
    assert [e.type for e in got] == [EventType.SESSION_SUMMARY]


async def test_events_iterator_subscribes_when_created_not_when_first_iterated() -> None:
    monitor = Monitor(
        scorer=StaticScorer(3.0), idle_check_interval=None, events=EventPolicy(buffer=1024)
    )
    async with monitor:
        stream = monitor.events(types=[EventType.SESSION_SUMMARY, EventType.WINDOW_SCORED])
        for m in alternating("c", 20):
            await monitor.ingest(m)
        await monitor.end_session("c")
        await monitor.flush()  # every event fired before anyone iterates
        got = []
        async for ev in stream:
            got.append(ev.type)
            if ev.type == EventType.SESSION_SUMMARY:
                break
        await stream.aclose()
    assert got[-1] == EventType.SESSION_SUMMARY and EventType.WINDOW_SCORED in got
    assert monitor.stats().get("events_dropped_iterator", 0) == 0


async def test_an_events_stream_nobody_reads_drops_counted_and_never_stalls_scoring() -> None:
    monitor = Monitor(
        scorer=StaticScorer(3.0),
        idle_check_interval=None,
        events=EventPolicy(buffer=2),
        scoring=ScoringPolicy(overload="wait"),
    )
    async with monitor:
        stream = monitor.events()  # never iterated
        for m in alternating("c", 40):
            await monitor.ingest(m)
        await monitor.end_session("c")
        with anyio.fail_after(10):
            await monitor.flush()  # would hang if delivery waited on the unread stream
        stats = monitor.stats()
        dropped = stats["events_dropped_iterator"]
        fired = sum(v for k, v in stats.items() if k.startswith("events_") and "dropped" not in k)
        kept = []
        stream.close()
        async for ev in stream:  # closed: ends at once
            kept.append(ev)
    assert fired >= 4 and dropped == fired - 2  # two were buffered
    assert kept == []


async def test_failing_handler_is_counted_not_fatal() -> None:
    def bad(_: Any) -> None:
        raise RuntimeError("boom")

    col = EventCollector()
    async with Monitor(scorer=StaticScorer(3.0)) as m:
        m.on(bad)
        m.on(col)
        for x in alternating("c", 30):
            await m.ingest(x)
        await m.end_session("c")
    assert m.stats()["handler_errors"] >= 2
    assert col.of(EventType.SESSION_SUMMARY)


async def test_scorer_exception_marks_window_unscored() -> None:
    class Broken(Scorer):
        async def score(self, request: WindowRequest) -> WindowScore:
            raise ValueError("bug")

    col = EventCollector()
    async with Monitor(scorer=Broken()) as m:
        m.on(col)
        for x in alternating("c", 14):  # 12 fill a window, 2 more close it
            await m.ingest(x)
        await m.flush()
    (un,) = col.of(EventType.WINDOW_UNSCORED)
    assert un.reason == "scorer_error:ValueError"


async def test_scorer_timeout_marks_window_unscored() -> None:
    col = EventCollector()
    async with Monitor(scorer=SlowScorer(5.0), scoring=ScoringPolicy(timeout=0.05)) as m:
        m.on(col)
        for x in alternating("c", 14):  # 12 fill a window, 2 more close it
            await m.ingest(x)
        await m.flush()
    assert [e.reason for e in col.of(EventType.WINDOW_UNSCORED)] == ["scorer_timeout"]


async def test_safety_signal_is_immediate_even_when_scoring_is_stuck() -> None:
    col = EventCollector()
    async with Monitor(scorer=SlowScorer(30.0), scoring=ScoringPolicy(timeout=0.5)) as m:
        m.on(col, types=[EventType.SAFETY_SIGNAL])
        for x in alternating("c", 13):
            await m.ingest(x)  # a window is now stuck in the scorer
        t0 = time.perf_counter()
        await m.ingest(msg("c", 99, "client", "I want to k\u200bill myself tonight", ts=99.0))
        with anyio.fail_after(0.4):
            while not col.events:
                await anyio.sleep(0.002)
        latency = time.perf_counter() - t0
    assert latency < 0.4
    assert col.events[0].type == EventType.SAFETY_SIGNAL
    assert "kill" not in col.events[0].model_dump_json()


async def test_idle_sweeper_ends_sessions_on_wall_clock() -> None:
    now = [0.0]
    col = EventCollector()
    from alliance_monitor._config import SessionPolicy

    m = Monitor(
        scorer=StaticScorer(3.0),
        session=SessionPolicy(idle_timeout=60),
        idle_check_interval=0.01,
        clock=lambda: now[0],
    )
    async with m:
        m.on(col)
        for x in alternating("c", 5):
            await m.ingest(x)
        now[0] = 120.0
        with anyio.fail_after(2):
            while not col.of(EventType.SESSION_SUMMARY):
                await anyio.sleep(0.01)
    assert col.of(EventType.SESSION_SUMMARY)[0].end_reason == "idle"


async def test_clock_skew_is_measured() -> None:
    async with Monitor(scorer=StaticScorer(), wall_clock=lambda: 1_700_000_100.0) as m:
        for i, x in enumerate(alternating("c", 4)):
            x["ts"] = 1_700_000_000.0 + i
            await m.ingest(x)
    s = m.stats()
    assert 96 <= s["clock_skew_seconds_ewma"] <= 100 and s["clock_skew_seconds_max_abs"] == 100.0


async def test_huge_message_scanned_whole_and_truncated_for_scoring() -> None:
    col = EventCollector()
    scorer = StaticScorer()
    async with Monitor(scorer=scorer) as m:
        m.on(col, types=[EventType.SAFETY_SIGNAL])
        big = "I had a long day at work. " * 40_000 + "I want to end my life."  # ~1 MB
        r = await m.ingest(msg("c", 0, "client", big))
        assert r.accepted
        await m.end_session("c")
    assert [e.type for e in col.events] == [EventType.SAFETY_SIGNAL]
    assert scorer.calls[0].messages[0].truncated
    assert m.stats()["truncated"] == 1


class FakeWriter:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.requests: list[Any] = []
        self.closed = False

    async def write(self, request: Any) -> Any:
        from alliance_monitor import Feedback

        self.requests.append(request)
        if self.fail:
            raise RuntimeError("backend down")
        return Feedback(
            pattern=request.pattern,
            message_ids=request.message_ids,
            dimension=request.dimension,
            summary="specific note",
            suggestion="try a reflection",
            source="llm",
        )

    async def aclose(self) -> None:
        self.closed = True


@pytest.mark.parametrize("fail", [False, True])
async def test_feedback_writer_rewrites_pattern_feedback(fail: bool) -> None:
    writer = FakeWriter(fail)
    col = EventCollector()
    async with Monitor(scorer=StaticScorer(3.0, passive=0.9), feedback_writer=writer) as m:
        m.on(col, types=[EventType.PASSIVE_PATTERN])
        for x in alternating("c", 14):  # 12 fill a window, 2 more close it
            await m.ingest(x)
        await m.flush()
    (ev,) = col.events
    assert writer.requests and writer.requests[0].pattern == "passive"
    assert len(writer.requests[0].messages) == 12
    assert ev.feedback.source == ("template" if fail else "llm")
    assert writer.closed
    assert m.stats()["feedback_template" if fail else "feedback_llm"] == 1

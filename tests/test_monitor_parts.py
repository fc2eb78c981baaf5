"""The monitor's parts on their own: scheduler, fan-out, committer, lifecycle."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest

from alliance_monitor import Monitor, Role, ScoringMessage, WindowRequest
from alliance_monitor._committer import Committer
from alliance_monitor._errors import StoreError
from alliance_monitor._events import EventType, SafetySignal
from alliance_monitor._fanout import FanOut
from alliance_monitor._scheduler import Scheduler
from alliance_monitor.store import JournalRow, MemoryStore, SnapshotRow, SQLiteStore, StoreBatch
from alliance_monitor.testing import StaticScorer

pytestmark = pytest.mark.anyio


def req(conv: str, idx: int, session: int = 0, n: int = 2) -> WindowRequest:
    msgs = tuple(
        ScoringMessage(f"{conv}:{idx}:{k}", Role.COUNSELOR, "hi", float(idx)) for k in range(n)
    )
    return WindowRequest(
        conv, idx, msgs, 1, session_index=session, span_start=float(idx), span_width=1.0
    )


async def test_scheduler_takes_one_pair_at_a_time_in_order() -> None:
    s = Scheduler(overload="wait", merge_cap=100)
    s.enqueue(req("a", 0))
    s.enqueue(req("a", 1))
    s.enqueue(req("b", 0))
    first = await s.take()
    second = await s.take()
    assert (first.conversation_id, second.conversation_id) == ("a", "b")
    assert s.busy("a") and s.waiting("a")[0].window_index == 1
    with anyio.move_on_after(0.05) as scope:
        await s.take()  # "a" is in flight, "b" has nothing left: nothing to take
    assert scope.cancelled_caught
    s.done("a")
    assert (await s.take()).window_index == 1
    s.done("a")
    s.done("b")
    assert s.idle


async def test_scheduler_merges_waiting_windows_of_one_session_only() -> None:
    s = Scheduler(overload="merge", merge_cap=5)
    counts = s.counts
    for i in range(3):
        s.enqueue(req("a", i, n=2))
    s.enqueue(req("a", 3, session=1))
    (merged, other) = s.waiting("a")
    assert merged.window_index == 2 and merged.merged_from == (0, 1)
    assert (merged.span_start, merged.span_width) == (0.0, 3.0)
    assert len(merged.messages) == 5 and counts["messages_dropped_overload"] == 1
    assert counts["windows_merged"] == 2 and other.session_index == 1


async def test_fanout_is_bounded_and_counts_what_it_drops() -> None:
    fan = FanOut(max_posted=2)
    counts = fan.counts
    got: list[str] = []
    fan.on(lambda e: got.append(e.id))

    def boom(_e: Any) -> None:
        raise RuntimeError("a broken handler")

    fan.on(boom, types=[EventType.SAFETY_SIGNAL])
    evs = [
        SafetySignal(id=f"s{i}", conversation_id="c", message_id="m", category="self_harm", cues=())
        for i in range(3)
    ]
    assert fan.post([evs[0]]) and fan.post([evs[1]])
    assert not fan.post([evs[2]])  # full: dropped, counted, never an unbounded task
    assert counts["events_dropped"] == 1
    delivered: list[str] = []

    async def record(batch: Any) -> None:
        delivered.extend(e.id for e in batch)

    async with anyio.create_task_group() as tg:
        tg.start_soon(fan.run, record)
        while not fan.idle:
            await fan.progress()
        tg.cancel_scope.cancel()
    assert got == ["s0", "s1"] and delivered == ["s0", "s1"]
    assert counts["handler_errors"] == 2


async def test_committer_groups_concurrent_writes_into_few_rounds(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    await store.open()
    committer = Committer(store)
    async with anyio.create_task_group() as tg:
        tg.start_soon(committer.run)
        async with anyio.create_task_group() as writers:
            for i in range(50):
                writers.start_soon(committer.commit_message, "c", i + 1, f'{{"i": {i}}}')
        await committer.commit(StoreBatch(journal=(JournalRow("d", 1, "{}"),)))
        await committer.barrier()
        tg.cancel_scope.cancel()
    rec = await store.load_pair("c")
    assert rec is not None and len(rec.journal) == 50
    assert committer.commits < 50
    await store.aclose()


class SlowDisk(MemoryStore):
    """A store whose commit takes `delay` seconds off the loop; records what each commit held
    and, for each journal row, whether it was on the "disk" when its writer was released."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay
        self.rounds: list[set[int]] = []
        self.durable: set[int] = set()

    async def commit(self, batch: StoreBatch) -> None:
        await anyio.sleep(self.delay)  # the loop is free meanwhile, like a thread's fsync
        self.rounds.append({row.position for row in batch.journal})
        self.durable.update(row.position for row in batch.journal)
        await super().commit(batch)


def burn(seconds: float) -> None:
    """CPU work on the loop (what an ingest does before its journal row is written)."""
    import time

    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


async def drive(
    committer: Committer, store: SlowDisk, writers: int, each: int, work: float
) -> None:
    early: list[int] = []

    async def writer(k: int) -> None:
        for i in range(each):
            burn(work)
            pos = k * each + i
            await committer.commit_message("c", pos, "{}")
            if pos not in store.durable:
                early.append(pos)

    async with anyio.create_task_group() as tg:
        tg.start_soon(committer.run)
        async with anyio.create_task_group() as ws:
            for k in range(writers):
                ws.start_soon(writer, k)
        await committer.barrier()
        tg.cancel_scope.cancel()
    assert early == []  # nobody was told "committed" before its round was
    assert sorted(p for r in store.rounds for p in r) == list(range(writers * each))


async def test_committer_pipelines_when_the_work_outlasts_the_disk() -> None:
    # 16 writers x 2 ms of CPU each, against a 4 ms commit: gathering all of them costs
    # 32 + 4 ms a cycle; pipelined, each round's commit hides behind the next round's work.
    store = SlowDisk(0.004)
    committer = Committer(store)
    await drive(committer, store, writers=16, each=8, work=0.002)
    assert committer.pipelined
    # Writers ready in the same pass of the loop share a round (splitting them would only
    # add a commit: the loop runs one of them at a time either way).
    assert committer.commits <= 8 + 2


async def test_committer_gathers_when_the_disk_is_the_bottleneck() -> None:
    # 16 writers x 0.05 ms against a 10 ms commit: one round per cycle is best.
    store = SlowDisk(0.010)
    committer = Committer(store)
    await drive(committer, store, writers=16, each=6, work=0.00005)
    assert not committer.pipelined
    assert committer.commits <= 6 * 2 + 2


class _AlwaysPipelined(Committer):
    """A committer held in pipelined mode (its own measurements would switch it back)."""

    @property  # type: ignore[override]
    def pipelined(self) -> bool:
        return True

    @pipelined.setter
    def pipelined(self, value: bool) -> None:
        pass


async def test_pipelined_message_rounds_never_queue_behind_background_writes() -> None:
    # Scored windows write snapshots while a round is on the disk. Those writes alone must not
    # become a round of their own: the message writers the last commit released join them, so
    # every round but the tail carries messages, and one commit per cycle suffices.
    class Recording(SlowDisk):
        def __init__(self, delay: float) -> None:
            super().__init__(delay)
            self.kinds: list[tuple[int, int]] = []  # (journal rows, snapshots) per round

        async def commit(self, batch: StoreBatch) -> None:
            self.kinds.append((len(batch.journal), len(batch.snapshots)))
            await super().commit(batch)

    store = Recording(0.003)
    committer = _AlwaysPipelined(store)
    writers, each = 16, 6
    finished = anyio.Event()

    async def background() -> None:
        i = 0
        while not finished.is_set():
            i += 1
            await committer.commit(StoreBatch(snapshots=(SnapshotRow("s", i, "{}", True),)))

    async def writer(k: int) -> None:
        for i in range(each):
            pos = k * each + i
            await committer.commit_message("c", pos, "{}")
            assert pos in store.durable  # released only once its round was committed

    async with anyio.create_task_group() as tg:
        tg.start_soon(committer.run)
        tg.start_soon(background)
        async with anyio.create_task_group() as ws:
            for k in range(writers):
                ws.start_soon(writer, k)
        finished.set()
        await committer.barrier()
        tg.cancel_scope.cancel()
    last = max(i for i, (rows, _) in enumerate(store.kinds) if rows)
    assert all(rows for rows, _ in store.kinds[: last + 1])  # no snapshot-only round between
    assert sum(rows for rows, _ in store.kinds) == writers * each
    assert last + 1 <= each + 2  # about one round per message of each writer


async def test_a_pipelined_commit_failure_reaches_only_its_round() -> None:
    class FailOnce(SlowDisk):
        failed = False

        async def commit(self, batch: StoreBatch) -> None:
            if not self.failed and batch.journal:
                self.failed = True
                await anyio.sleep(self.delay)
                raise OSError("disk full")
            await super().commit(batch)

    store = FailOnce(0.002)
    committer = Committer(store)
    committer.pipelined = True
    outcomes: dict[int, str] = {}

    async def writer(i: int) -> None:
        try:
            await committer.commit_message("c", i, "{}")
            outcomes[i] = "ok" if i in store.durable else "early"
        except StoreError:
            outcomes[i] = "failed" if i not in store.durable else "wrong"

    async with anyio.create_task_group() as tg:
        tg.start_soon(committer.run)
        async with anyio.create_task_group() as ws:
            for i in range(10):
                ws.start_soon(writer, i)
                await anyio.sleep(0.0005)
        await committer.barrier()
        tg.cancel_scope.cancel()
    assert set(outcomes.values()) == {"ok", "failed"}
    assert len(outcomes) == 10


class _Die(BaseException):
    """What no per-item guard catches (as a bug in a task's own loop would be)."""


async def test_a_dead_background_task_shows_in_health_and_does_not_cancel_the_caller() -> None:
    monitor = Monitor(scorer=StaticScorer(3.0), idle_check_interval=None)

    async def die(*_: Any) -> None:
        raise _Die

    monitor._fanout.run = die  # type: ignore[method-assign]
    async with monitor:
        with anyio.fail_after(5):
            while not monitor.health():
                await anyio.sleep(0.01)
        assert monitor.health() == {"fanout": "_Die"}
        # The embedding code was not cancelled, and ingest still answers.
        r = await monitor.ingest(
            {"conversation_id": "c", "id": "1", "role": "client", "text": "hello", "ts": 1.0}
        )
        assert r.status == "accepted"
    assert monitor.health() == {"fanout": "_Die"}


async def test_a_dead_committer_fails_writers_instead_of_leaving_them_waiting() -> None:
    class DyingStore(MemoryStore):
        async def commit(self, batch: StoreBatch) -> None:
            await anyio.sleep(0.01)
            raise _Die

    monitor = Monitor(scorer=StaticScorer(3.0), idle_check_interval=None, store=DyingStore())
    async with monitor:
        msg = {"conversation_id": "c", "id": "1", "role": "client", "text": "hi", "ts": 1.0}
        with anyio.fail_after(5), pytest.raises(StoreError):
            await monitor.ingest(msg)
        assert monitor.health() == {"committer": "_Die"}
        with anyio.fail_after(5), pytest.raises(StoreError):
            await monitor.ingest({**msg, "id": "2"})
    assert monitor.stats()["store_errors"] == 2


class BrokenRecovery(MemoryStore):
    closed = False

    async def resident_pairs(self) -> list[str]:
        raise OSError("the disk went away")

    async def aclose(self) -> None:
        self.closed = True


class ClosingScorer(StaticScorer):
    closed = False

    async def aclose(self) -> None:
        self.closed = True


async def test_a_failing_recovery_closes_everything_it_opened() -> None:
    store, scorer = BrokenRecovery(), ClosingScorer()
    monitor = Monitor(scorer=scorer, store=store)
    with pytest.raises(OSError):
        async with monitor:
            pass  # pragma: no cover - never entered
    assert store.closed and scorer.closed
    from alliance_monitor import MonitorClosed

    with pytest.raises(MonitorClosed):
        await monitor.ingest(
            {"conversation_id": "c", "id": "1", "role": "client", "text": "x", "ts": 1}
        )


async def test_durable_part_evicts_and_loads_pairs_back_unchanged(tmp_path: Path) -> None:
    from helpers import alternating

    from alliance_monitor._core import MonitorCore
    from alliance_monitor._durable import Durable

    core = MonitorCore(safety=False)
    store = SQLiteStore(tmp_path / "s.db")
    await store.open()
    durable = Durable(store=store, core=core, clock=lambda: 5.0, max_pairs=1)
    async with anyio.create_task_group() as tg:
        tg.start_soon(durable.committer.run)
        snaps = {}
        for conv in ("a", "b"):
            for m in alternating(conv, 5):
                out = core.ingest(m, 5.0)
                assert out.message is not None
                await durable.commit_message(out.message, out.position)
                assert await durable.evict(busy=lambda _c: False) in ([], ["a"])
            snaps[conv] = core.snapshot(conv)
        before = snaps["a"]
        assert before is not None
        assert core.n_pairs == 1 and not core.has_pair("a")  # evicted over max_pairs=1
        assert "a" in durable.evicted_open  # its session is still open
        await durable.ensure_loaded("a")
        assert core.snapshot("a") == before  # the same state, from the snapshot it left
        tg.cancel_scope.cancel()
    await store.aclose()


def test_policies_group_the_constructor_and_the_earlier_keywords_are_gone() -> None:
    from alliance_monitor import ConfigError, EventPolicy, ScoringPolicy

    m = Monitor(
        scorer=StaticScorer(3.0),
        scoring=ScoringPolicy(workers=3, overload="wait", timeout=5.0),
        events=EventPolicy(buffer=16),
    )
    assert m.scoring == ScoringPolicy(workers=3, overload="wait", timeout=5.0)
    assert m.event_policy == EventPolicy(buffer=16)
    # Nothing was released with the one-field keywords: they are not accepted.
    for old in ("workers", "overload", "score_timeout", "event_buffer", "bogus"):
        with pytest.raises(TypeError, match=old):
            Monitor(scorer=StaticScorer(3.0), **{old: 1})
    with pytest.raises(ConfigError):
        ScoringPolicy(workers=0)
    with pytest.raises(ConfigError):
        ScoringPolicy(session_scoring="thirds")  # type: ignore[arg-type]
    with pytest.raises(ConfigError):
        EventPolicy(buffer=0)

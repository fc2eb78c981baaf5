"""The durable part and its committer with a store and a core alone (no monitor, no scheduler,
no fan-out): what they return, what they count, and how they fail."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import pytest
from helpers import alternating

from alliance_monitor import StoreError, StoreFenced
from alliance_monitor._committer import Committer
from alliance_monitor._core import MonitorCore
from alliance_monitor._durable import Durable
from alliance_monitor._state import request_to_state
from alliance_monitor.store import MemoryStore, PairRecord, SQLiteStore, StoreBatch
from alliance_monitor.store._base import JournalRow, PendingRow, SnapshotRow

pytestmark = pytest.mark.anyio


class Refusing(MemoryStore):
    """A store whose commits fail while `refuse` holds an exception; `probe` too."""

    def __init__(self) -> None:
        super().__init__()
        self.refuse: BaseException | None = None
        self.loads: list[str] = []
        self.probes = 0

    async def commit(self, batch: StoreBatch) -> None:
        if self.refuse is not None:
            raise self.refuse
        await super().commit(batch)

    async def probe(self) -> None:
        self.probes += 1
        if self.refuse is not None:
            raise self.refuse

    async def load_pair(self, conversation_id: str) -> PairRecord | None:
        self.loads.append(conversation_id)
        await anyio.sleep(0.01)  # a load that takes a moment: others may ask meanwhile
        return await super().load_pair(conversation_id)


async def _running(committer: Committer) -> Any:
    tg = anyio.create_task_group()
    await tg.__aenter__()
    tg.start_soon(committer.run)
    return tg


async def _stop(tg: Any) -> None:
    tg.cancel_scope.cancel()
    await tg.__aexit__(None, None, None)


# ---------------------------------------------------------------------- committer
async def test_committer_empty_batches_barrier_and_a_dead_committer() -> None:
    store = MemoryStore()
    committer = Committer(store)
    await committer.commit(StoreBatch())  # nothing to write: returns at once, no task needed
    assert committer.idle
    tg = await _running(committer)
    try:
        async with anyio.create_task_group() as writers:
            for i in range(5):
                writers.start_soon(committer.commit_message, "c", i + 1, "{}")
            await anyio.lowlevel.checkpoint()
            await committer.barrier()  # waits for the open and the running rounds
        assert committer.idle and len((await store.load_pair("c")).journal) == 5  # type: ignore[union-attr]
    finally:
        await _stop(tg)
    committer.fail(RuntimeError("died"))
    with pytest.raises(StoreError, match="committer died: RuntimeError"):
        await committer.commit_message("c", 6, "{}")


async def test_a_writer_waiting_when_the_committer_dies_gets_store_error() -> None:
    committer = Committer(MemoryStore())  # no task: the writer waits for a round
    errors: list[BaseException] = []

    async def write() -> None:
        try:
            await committer.commit(StoreBatch(journal=(JournalRow("c", 1, "{}"),)))
        except StoreError as exc:
            errors.append(exc)

    async with anyio.create_task_group() as tg:
        tg.start_soon(write)
        await anyio.sleep(0.01)
        committer.fail(RuntimeError("died"))
    assert len(errors) == 1


async def test_a_failing_store_is_probed_until_it_is_back_and_fencing_is_no_failure() -> None:
    store = Refusing()
    committer = Committer(store)
    committer.probe_interval = 0.01
    tg = await _running(committer)
    try:
        store.refuse = OSError("disk full")
        with pytest.raises(StoreError, match="OSError"):
            await committer.commit_message("c", 1, "{}")
        assert committer.failing == "OSError"
        with anyio.fail_after(5):
            while store.probes < 2:  # idle: the committer asks the store whether it is back
                await anyio.sleep(0.01)
        assert committer.failing == "OSError"
        store.refuse = None
        with anyio.fail_after(5):
            while committer.failing is not None:
                await anyio.sleep(0.01)
        await committer.commit_message("c", 1, "{}")  # taken again
        store.refuse = StoreFenced("lease lost")
        with pytest.raises(StoreFenced):
            await committer.commit_message("c", 2, "{}")
        assert committer.failing is None  # a lost lease is not the store failing
    finally:
        await _stop(tg)


async def test_pipelined_rounds_release_each_writer_after_its_own_round() -> None:
    class Slow(MemoryStore):
        def __init__(self) -> None:
            super().__init__()
            self.rounds: list[set[int]] = []

        async def commit(self, batch: StoreBatch) -> None:
            await anyio.sleep(0.005)
            await super().commit(batch)
            self.rounds.append({row.position for row in batch.journal})

    store = Slow()
    committer = Committer(store)
    committer.pipelined = True
    tg = await _running(committer)
    released: dict[int, int] = {}
    try:

        async def write(i: int) -> None:
            await committer.commit_message("c", i, "{}")
            released[i] = len(store.rounds)  # rounds committed when this writer returned

        async with anyio.create_task_group() as writers:
            for i in range(1, 40):
                writers.start_soon(write, i)
                if i % 7 == 0:
                    await anyio.sleep(0.003)
    finally:
        await _stop(tg)
    for i, n in released.items():
        assert any(i in r for r in store.rounds[:n])  # its round was on the disk already
    assert len(store.rounds) > 1


# ---------------------------------------------------------------------- durable
def _conversation(core: MonitorCore, conv: str, n: int) -> list[Any]:
    work = []
    for m in alternating(conv, n):
        work.extend(core.ingest(m, 1.0).work)
    return work


async def test_recovery_returns_pending_work_and_only_events_not_yet_emitted(
    tmp_path: Path,
) -> None:
    """A store holding a snapshot, a journal that closes a window again and raises a safety
    signal, and a pending window: `recover` returns both windows to score and the signal (its
    id not yet emitted); once emitted, a second recovery leaves the signal out."""
    db = tmp_path / "s.db"
    first = MonitorCore()
    work = _conversation(first, "p", 14)  # window 0 closed: pending
    snap = first.snapshot("p")
    assert snap is not None and work
    risky = {**alternating("p", 16)[15], "text": "I want to kill myself"}
    later = [json.dumps(m) for m in alternating("p", 15)[14:]] + [json.dumps(risky)]
    async with SQLiteStore(db) as store:
        await store.commit(
            StoreBatch(
                snapshots=(SnapshotRow("p", snap.position, snap.state_json, True),),
                journal=tuple(
                    JournalRow("p", snap.position + i + 1, row) for i, row in enumerate(later)
                ),
                pending_put=(
                    PendingRow("p", 0, json.dumps(request_to_state(work[0]))),
                    # A window the pair no longer awaits (scored since): ignored.
                    PendingRow(
                        "p", 99, json.dumps({**request_to_state(work[0]), "window_index": 99})
                    ),
                ),
            )
        )
    for emitted_before in (False, True):
        store = SQLiteStore(db)
        async with store:
            core = MonitorCore()
            durable = Durable(store, core, lambda: 2.0, None)
            loaded = await durable.recover()
            assert durable.counts["pairs_recovered"] == 1 and core.has_pair("p")
            assert [r.window_index for r in loaded.work] == [0]
            signals = [e for e in loaded.events if e.type == "safety_signal"]
            assert len(signals) == (0 if emitted_before else 1)
            if not emitted_before:
                await store.commit(StoreBatch(emitted=tuple(e.id for e in signals)))


async def test_loading_a_pair_twice_at_once_loads_it_once_and_forgetting_clears_what_is_known() -> (
    None
):
    store = Refusing()
    core = MonitorCore(safety=False)
    durable = Durable(store, core, lambda: 1.0, max_pairs=1, journal=True)
    tg = await _running(durable.committer)
    try:
        await durable.recover()
        for conv in ("a", "b"):
            for m in alternating(conv, 3):
                out = core.ingest(m, 1.0)
                assert out.message is not None
                await durable.commit_message(out.message, out.position)
        assert await durable.evict(busy=lambda c: True) == []  # every pair busy: nothing
        assert await durable.evict(busy=lambda c: False) == ["a"]
        assert "a" in durable.evicted_open
        results: list[Any] = []
        async with anyio.create_task_group() as loaders:
            for _ in range(2):
                loaders.start_soon(lambda: _append(results, durable.ensure_loaded("a")))
        assert store.loads == ["a"] and core.has_pair("a")
        assert durable.forget(["a"]) == ["a"] and not core.has_pair("a")
        durable.evicted_open["x"] = 1.0
        assert durable.forget_pairs(lambda c: c in ("b", "x"), busy=lambda c: False) == ["b"]
        assert "x" not in durable.evicted_open and not core.has_pair("b")
        # Writes the store refuses are counted, never raised, for snapshots and emitted ids.
        out = core.ingest(alternating("c", 1)[0], 1.0)
        assert out.message is not None
        await durable.commit_message(out.message, out.position)
        store.refuse = OSError("disk full")
        reqs = _conversation(core, "c", 14)
        await durable.persist_applied(reqs[0], [], ())
        await durable.record_emitted([])
        with pytest.raises(StoreError):
            await durable.commit_message(out.message, out.position + 1)
        assert durable.counts["store_errors"] == 2
    finally:
        await _stop(tg)


async def _append(results: list[Any], coro: Any) -> None:
    results.append(await coro)


async def test_pairs_the_store_never_saw_are_remembered_as_absent_within_a_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import alliance_monitor._durable as durable_module

    class Shared(MemoryStore):  # lists no pairs: every unknown one is looked up
        async def known_pairs(self) -> list[str] | None:
            return None

    monkeypatch.setattr(durable_module, "_MAX_ABSENT", 3)
    store = Shared()
    durable = Durable(store, MonitorCore(), lambda: 1.0, None)
    await durable.recover()
    for i in range(6):
        assert (await durable.ensure_loaded(f"new-{i}")).work == ()
    assert len(durable._absent) <= 4  # cleared past the bound, never growing without one


async def test_settled_waits_for_earlier_writes_only_and_barrier_for_every_round() -> None:
    class Gated(MemoryStore):
        """Each commit waits for the test to open the gate."""

        def __init__(self) -> None:
            super().__init__()
            self.gate = anyio.Event()
            self.commits = 0

        async def commit(self, batch: StoreBatch) -> None:
            await self.gate.wait()
            await super().commit(batch)
            self.commits += 1

    store = Gated()
    committer = Committer(store)
    await committer.settled()  # nothing written: the settled running round returns at once
    tg = await _running(committer)
    done: list[str] = []
    try:
        async with anyio.create_task_group() as writers:
            writers.start_soon(committer.commit_message, "c", 1, "{}")
            with anyio.fail_after(5):
                while not committer.busy:  # the first round is on the (gated) disk
                    await anyio.sleep(0.001)

            async def settled(name: str) -> None:
                await committer.settled()
                done.append(name)

            writers.start_soon(settled, "running")  # waits for the running round
            await anyio.sleep(0.01)
            writers.start_soon(committer.commit_message, "c", 2, "{}")
            await anyio.sleep(0.01)
            writers.start_soon(settled, "open")  # a write is gathering: waits for its round
            writers.start_soon(
                committer.commit_apart, StoreBatch(journal=(JournalRow("d", 1, "{}"),))
            )
            await anyio.sleep(0.01)
            writers.start_soon(settled, "closed")  # only closed rounds queued: waits for the last

            async def barrier() -> None:
                await committer.barrier()
                done.append("barrier")

            writers.start_soon(barrier)
            await anyio.sleep(0.02)
            assert done == []  # the disk has not committed anything yet
            store.gate.set()
        assert committer.idle
        assert "barrier" in done and {"running", "open", "closed"} <= set(done)
        assert len((await store.load_pair("c")).journal) == 2  # type: ignore[union-attr]
        store.gate = anyio.Event()
        async with anyio.create_task_group() as writers:
            writers.start_soon(committer.commit_message, "c", 3, "{}")
            with anyio.fail_after(5):
                while not committer.busy:
                    await anyio.sleep(0.001)
            writers.start_soon(committer.barrier)  # only a round on the disk: waits for it
            await anyio.sleep(0.01)
            writers.start_soon(committer.commit_message, "c", 4, "{}")
            await anyio.sleep(0.01)
            writers.start_soon(committer.barrier)  # a round gathering: waits for it too
            await anyio.sleep(0.01)
            assert store.commits == 3
            store.gate.set()
        assert committer.idle and store.commits == 5
    finally:
        await _stop(tg)


# ---------------------------------------------------------------------- durable: the edges
class Gated(Refusing):
    """`Refusing` whose commits wait while `gate` is closed."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = anyio.Event()
        self.gate.set()
        self.commits = 0

    async def commit(self, batch: StoreBatch) -> None:
        await self.gate.wait()
        await super().commit(batch)
        self.commits += 1


async def test_a_window_closed_again_by_the_journal_replay_is_returned_to_score() -> None:
    """No snapshot and no pending row: the journal alone closes window 0 again on replay."""
    store = MemoryStore()
    rows = tuple(JournalRow("p", i + 1, json.dumps(m)) for i, m in enumerate(alternating("p", 14)))
    await store.commit(StoreBatch(journal=rows))
    core = MonitorCore(safety=False)
    loaded = await Durable(store, core, lambda: 2.0, None).recover()
    assert core.has_pair("p")
    assert [(r.conversation_id, r.window_index) for r in loaded.work] == [("p", 0)]


async def test_a_stray_pending_row_without_its_pair_loads_nothing() -> None:
    """A pending window with neither snapshot nor journal cannot be rebuilt: no pair, no work."""
    core = MonitorCore(safety=False)
    work = _conversation(core, "p", 14)
    store = MemoryStore()
    await store.commit(
        StoreBatch(pending_put=(PendingRow("p", 0, json.dumps(request_to_state(work[0]))),))
    )
    fresh = MonitorCore(safety=False)
    durable = Durable(store, fresh, lambda: 2.0, None)
    loaded = await durable.recover()
    assert loaded.work == () and loaded.events == ()
    assert not fresh.has_pair("p")


async def test_a_pair_found_absent_is_not_looked_up_again() -> None:
    class Shared(Refusing):  # lists no pairs: every unknown one is looked up once
        async def known_pairs(self) -> list[str] | None:
            return None

    store = Shared()
    durable = Durable(store, MonitorCore(), lambda: 1.0, None)
    await durable.recover()
    for _ in range(3):
        assert (await durable.ensure_loaded("new")).work == ()
    assert store.loads == ["new"]


async def test_without_a_journal_only_evicted_snapshots_are_written() -> None:
    """`journal=False` (a cap and no store of the monitor's own): messages, applied windows and
    emitted ids write nothing; eviction writes the evicted pair's snapshot."""
    store = Gated()
    core = MonitorCore()
    durable = Durable(store, core, lambda: 1.0, max_pairs=1, journal=False)
    tg = await _running(durable.committer)
    try:
        reqs = []
        for m in alternating("a", 15):
            out = core.ingest(m, 1.0)
            assert out.message is not None
            await durable.commit_message(out.message, out.position)
            reqs.extend(out.work)
        risky = {**alternating("a", 1, start=15)[0], "text": "I want to kill myself"}
        events = core.ingest(risky, 1.0).events
        assert events
        await durable.persist_applied(reqs[0], events, ())
        await durable.record_emitted(events)
        assert store.commits == 0 and await store.load_pair("a") is None
        assert await store.emitted([e.id for e in events]) == set()
        for m in alternating("b", 1):
            core.ingest(m, 1.0)
        assert await durable.evict(busy=lambda c: False) == ["b"]
        rec = await store.load_pair("b")
        assert store.commits == 1 and rec is not None and rec.snapshot is not None
        assert rec.journal == []
    finally:
        await _stop(tg)


async def test_a_window_applied_after_its_pair_left_memory_deletes_its_pending_row_only() -> None:
    store = MemoryStore()
    core = MonitorCore(safety=False)
    durable = Durable(store, core, lambda: 1.0, None)
    reqs = _conversation(core, "p", 14)
    await store.commit(
        StoreBatch(pending_put=(PendingRow("p", 0, json.dumps(request_to_state(reqs[0]))),))
    )
    tg = await _running(durable.committer)
    try:
        durable.forget(["p"])  # erased or evicted while its window was being scored
        await durable.persist_applied(reqs[0], [], ())
    finally:
        await _stop(tg)
    assert await store.load_pair("p") is None  # the pending row went; no snapshot was written


async def test_emitted_ids_are_recorded_and_a_refused_write_is_counted_not_raised() -> None:
    store = Refusing()
    core = MonitorCore()
    durable = Durable(store, core, lambda: 1.0, None)
    risky = {**alternating("p", 1)[0], "role": "client", "text": "I want to kill myself"}
    events = core.ingest(risky, 1.0).events
    ids = [e.id for e in events]
    assert ids
    tg = await _running(durable.committer)
    try:
        await durable.record_emitted(events)
        assert await store.emitted(ids) == set(ids)
        store.refuse = OSError("disk full")
        await durable.record_emitted(events)  # no exception: recovery may send them again
        assert durable.counts["store_errors"] == 1
    finally:
        await _stop(tg)


async def test_erasing_a_pair_whose_eviction_is_landing_waits_for_it_even_if_it_fails() -> None:
    """The eviction's snapshot write is on the disk when the erasure comes: the erasure waits.
    When that write fails, the eviction puts the pair back in memory; the erasure, after it,
    still removes it, from memory and from the store."""
    store = Gated()
    core = MonitorCore(safety=False)
    durable = Durable(store, core, lambda: 1.0, max_pairs=1)
    tg = await _running(durable.committer)
    try:
        for conv in ("a", "b"):
            for m in alternating(conv, 3):
                out = core.ingest(m, 1.0)
                assert out.message is not None
                await durable.commit_message(out.message, out.position)
        store.gate = anyio.Event()
        erased: list[dict[str, int]] = []
        evicted: list[list[str]] = []

        async def evict() -> None:
            evicted.append(await durable.evict(busy=lambda c: False))

        async def erase() -> None:
            erased.append(await durable.erase("a"))

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(evict)
            with anyio.fail_after(5):
                while "a" not in durable._evicting:
                    await anyio.sleep(0.001)
            tasks.start_soon(erase)
            await anyio.sleep(0.02)
            assert erased == []  # waiting for the eviction to land
            store.refuse = OSError("disk full")
            store.gate.set()
        assert evicted == [[]] and durable.counts["store_errors"] == 1
        assert not core.has_pair("a") and "a" not in durable.evicted_open
        assert erased == [
            {"snapshots": 0, "journal_messages": 3, "pending_windows": 0, "board_records": 0}
        ]
        store.refuse = None
        assert await store.load_pair("a") is None and core.has_pair("b")
    finally:
        await _stop(tg)

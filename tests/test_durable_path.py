"""The durable path's work kept off the path of a message (issue 23 item 3).

- A conversation the store has never seen is not looked up there (`KnownPairs`): no load on
  the path of a new conversation's first message; a pair the store does hold (evicted, or left
  by an earlier process) is still loaded.
- Eviction runs in a task of its own: a message that pushes the monitor over `max_pairs` does
  not wait for the evicted pairs' snapshots, and a refused eviction refuses no message.
- SQLite writes many rows per statement, with the same effects as one statement per row.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import anyio
import pytest
from helpers import alternating, msg

from alliance_monitor import Monitor
from alliance_monitor._durable import KnownPairs
from alliance_monitor.store import MemoryStore, PairRecord, SQLiteStore, StoreBatch
from alliance_monitor.store._base import JournalRow, PendingRow, SnapshotRow
from alliance_monitor.testing import StaticScorer

pytestmark = pytest.mark.anyio


def test_known_pairs_never_forgets_and_rarely_imagines() -> None:
    known = KnownPairs(capacity=64)  # small, so it grows several times
    ids = [f"conv-{i}" for i in range(5000)]
    for c in ids:
        known.add(c)
    assert all(c in known for c in ids)  # no false "new": that would skip a real load
    strangers = [f"other-{i}" for i in range(20_000)]
    false = sum(c in known for c in strangers) / len(strangers)
    assert false < 0.03
    assert known.nbytes < 5000 * 5  # a few bytes per id, not the id itself


class CountingStore(SQLiteStore):
    """Counts loads; with `gate`, the snapshots of evicted pairs wait until it is set."""

    def __init__(self, path: Path, gate: anyio.Event | None = None) -> None:
        super().__init__(path)
        self.loads: list[str] = []
        self.gate = gate

    async def load_pair(self, conversation_id: str) -> PairRecord | None:
        self.loads.append(conversation_id)
        return await super().load_pair(conversation_id)

    async def commit(self, batch: StoreBatch) -> None:
        if self.gate is not None and any(not s.resident for s in batch.snapshots):
            await self.gate.wait()
        await super().commit(batch)


async def test_new_conversations_are_not_looked_up_in_the_store(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    store = CountingStore(db)
    async with Monitor(scorer=StaticScorer(3.5), store=store, idle_check_interval=None) as m:
        for conv in ("a", "b", "c"):
            for x in alternating(conv, 3):
                assert (await m.ingest(x)).accepted
    assert store.loads == []  # three new pairs, no load
    # A new process on the same file: "a" is known to the store (left by the last process).
    store = CountingStore(db)
    async with Monitor(scorer=StaticScorer(3.5), store=store, idle_check_interval=None) as m:
        assert m.core.has_pair("a")  # recovered (resident when the last process stopped)
        m.forget_pairs(lambda c: c == "a")
        assert (await m.ingest(msg("a", 3, "client"))).accepted
        assert (await m.ingest(msg("a", 0, "counselor"))).status == "duplicate"
        assert (await m.ingest(msg("z", 0, "counselor"))).accepted
    assert store.loads == ["a", "b", "c", "a"]  # recovery, then "a" again; never "z"


async def test_an_evicted_pair_is_loaded_back_whole(tmp_path: Path) -> None:
    store = CountingStore(tmp_path / "s.db")
    async with Monitor(
        scorer=StaticScorer(3.5), store=store, max_pairs=2, idle_check_interval=None
    ) as m:
        for conv in ("a", "b", "c", "d"):
            for x in alternating(conv, 5):
                await m.ingest(x)
        await m.flush()
        assert not m.core.has_pair("a")
        assert (await m.ingest(msg("a", 2, "counselor"))).status == "duplicate"
        pair = m.core.get_pair("a")
        assert pair is not None and pair.arrivals == 5
    assert "a" in store.loads and "d" not in store.loads


async def test_eviction_does_not_hold_up_the_message_that_went_over(tmp_path: Path) -> None:
    gate = anyio.Event()
    store = CountingStore(tmp_path / "s.db", gate=gate)
    async with Monitor(
        scorer=StaticScorer(3.5), store=store, max_pairs=1, idle_check_interval=None
    ) as m:
        await m.ingest(msg("a", 0, "counselor"))
        answered = None
        with anyio.move_on_after(30):
            # Over the cap: its own journal row is committed and it returns, while the
            # snapshot of the pair it pushes out is still held at the gate.
            answered = await m.ingest(msg("b", 0, "counselor"))
        assert answered is not None and answered.accepted
        assert m.core.n_pairs == 2 and m.stats().get("pairs_evicted", 0) == 0
        gate.set()
        await m.flush()  # waits for the eviction too
        assert m.core.n_pairs == 1 and m.stats()["pairs_evicted"] == 1


async def test_the_evicted_pairs_wait_apart_from_the_messages_beside_them(tmp_path: Path) -> None:
    class RefusesEvictions(SQLiteStore):
        async def commit(self, batch: StoreBatch) -> None:
            if any(not s.resident for s in batch.snapshots):
                raise OSError("no space for snapshots")
            await super().commit(batch)

    async with Monitor(
        scorer=StaticScorer(3.5),
        store=RefusesEvictions(tmp_path / "s.db"),
        max_pairs=1,
        idle_check_interval=None,
    ) as m:
        for i in range(20):
            assert (await m.ingest(msg(f"c{i}", 0, "counselor"))).accepted
        await m.flush()
        assert m.core.n_pairs == 20  # kept in memory rather than lost
        stats = m.stats()
        assert stats["accepted"] == 20 and stats["store_errors"] >= 1


def _rows(store: Any, conv: str) -> Any:
    db = store._conn()
    return (
        db.execute("SELECT pos, msg FROM journal WHERE conv = ? ORDER BY pos", (conv,)).fetchall(),
        db.execute("SELECT win, req FROM pending WHERE conv = ? ORDER BY win", (conv,)).fetchall(),
        db.execute("SELECT pos, state, resident FROM pairs WHERE conv = ?", (conv,)).fetchall(),
    )


async def test_many_rows_per_statement_apply_like_one_per_row(tmp_path: Path) -> None:
    """Batches larger than one statement's rows, duplicates inside one batch (OR IGNORE keeps
    the first, OR REPLACE the last): the same rows as a reference kept in memory."""
    rnd = random.Random(3)
    store = SQLiteStore(tmp_path / "s.db")
    ref = MemoryStore()
    async with store:
        for _round in range(6):
            journal = [
                JournalRow(f"c{rnd.randrange(5)}", rnd.randrange(400), f'{{"n": {i}}}')
                for i in range(rnd.randrange(1, 700))
            ]
            pending = [
                PendingRow(f"c{rnd.randrange(5)}", rnd.randrange(20), f'{{"r": {i}}}')
                for i in range(rnd.randrange(0, 500))
            ]
            snaps = [SnapshotRow("c4", rnd.randrange(200), '{"s": 1}', True)]
            batch = StoreBatch(
                journal=tuple(journal), pending_put=tuple(pending), snapshots=tuple(snaps)
            )
            await store.commit(batch)
            # The reference: what one statement per row keeps.
            for conv, pos, text in journal:
                ref._journal.setdefault(conv, {}).setdefault(pos, text)
            for conv, win, text in pending:
                ref._pending.setdefault(conv, {})[win] = text
            for conv, pos, _state, _resident in snaps:
                j = ref._journal.get(conv, {})
                for p in [p for p in j if p <= pos]:
                    del j[p]
        for c in range(5):
            conv = f"c{c}"
            journal, pending, _ = _rows(store, conv)
            assert journal == sorted(ref._journal.get(conv, {}).items())
            assert pending == sorted(ref._pending.get(conv, {}).items())


def test_snapshots_of_the_earlier_layout_still_load() -> None:
    """Format 1 kept each open message's order key as a tuple; format 2 keeps `seq` and the
    arrival (the key is made when asked for). A format-1 snapshot loads to the same pair."""
    import json

    from alliance_monitor._core import MonitorCore
    from alliance_monitor._pair import pair_from_state

    core = MonitorCore(safety=False)
    for i, m in enumerate(alternating("p", 9)):
        core.ingest({**m, "seq": i * 10} if i % 3 else m, float(i))
    snap = core.snapshot("p")
    assert snap is not None
    state = json.loads(snap.state_json)
    assert state["format"] == 2
    old = dict(state, format=1)
    old["open"] = [
        [[seq, ts, arrival] if seq is not None else [ts, 0.0, arrival], i, r, t, ts, n, tr]
        for seq, arrival, i, r, t, ts, n, tr in state["open"]
    ]
    now, then = pair_from_state(state), pair_from_state(old)
    assert [h.key for h in then.open] == [h.key for h in now.open]
    assert [h.seq for h in then.open] == [h.seq for h in now.open]
    assert then.open == now.open


async def test_a_monitor_without_a_store_is_capped_by_default_and_journals_nothing() -> None:
    from alliance_monitor._config import DEFAULT_MAX_PAIRS
    from alliance_monitor._settings import MonitorSettings

    assert Monitor(scorer=StaticScorer(3.5))._durable.max_pairs == DEFAULT_MAX_PAIRS  # type: ignore[union-attr]
    assert MonitorSettings().max_pairs == DEFAULT_MAX_PAIRS
    assert Monitor(scorer=StaticScorer(3.5), max_pairs=None)._durable.excess == 0
    m = Monitor(scorer=StaticScorer(3.5), max_pairs=3, idle_check_interval=None)
    async with m:
        for conv in ("a", "b", "c", "d", "e"):
            for x in alternating(conv, 14):
                assert (await m.ingest(x)).accepted
        await m.flush()
        before = m.core.snapshot("e")
        assert m.core.n_pairs <= 3 and not m.core.has_pair("a")
        assert (await m.ingest(msg("a", 13, "client"))).status == "duplicate"  # restored
        store = m._durable.store  # type: ignore[union-attr]
        assert isinstance(store, MemoryStore)
        assert store._journal == {} and store._pending == {}  # only evicted snapshots
        assert m.core.snapshot("e") == before
        assert m.stats()["pairs_evicted"] >= 2

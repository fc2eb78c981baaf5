"""Store faults and races found in review: failed writes, eviction during a long scan."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import pytest
from helpers import alternating, msg

from alliance_monitor import Monitor, ScoringPolicy, StoreError
from alliance_monitor.store import SQLiteStore, StoreBatch
from alliance_monitor.testing import StaticScorer

pytestmark = pytest.mark.anyio


class FlakyStore(SQLiteStore):
    fail_journal = False
    fail_evictions = False

    async def commit(self, batch: StoreBatch) -> None:
        if self.fail_journal and batch.journal:
            self.fail_journal = False
            raise OSError("disk full")
        if self.fail_evictions and any(not s.resident for s in batch.snapshots):
            raise OSError("disk full")
        await super().commit(batch)


async def test_failed_journal_write_is_not_accepted_and_the_retry_is(tmp_path: Path) -> None:
    store = FlakyStore(tmp_path / "s.db")
    async with Monitor(scorer=StaticScorer(), store=store, idle_check_interval=None) as m:
        await m.ingest(msg("c", 0, "counselor"))
        store.fail_journal = True
        with pytest.raises(StoreError):
            await m.ingest(msg("c", 1, "client"))
        assert (await m.ingest(msg("c", 1, "client"))).status == "accepted"
    async with Monitor(scorer=StaticScorer(), store=SQLiteStore(tmp_path / "s.db")) as m2:
        pair = m2.core.get_pair("c")
        assert pair is not None and [h.id for h in pair.open] == ["c:0", "c:1"]


async def test_pair_is_not_evicted_between_loading_and_ingesting(tmp_path: Path) -> None:
    async with Monitor(
        scorer=StaticScorer(),
        store=SQLiteStore(tmp_path / "s.db"),
        max_pairs=1,
        idle_check_interval=None,
    ) as m:
        for i in range(3):
            await m.ingest(msg("A", i, "counselor" if i % 2 == 0 else "client"))
        orig = m.core.scan_safety

        def slow(text: str) -> Any:
            time.sleep(0.3)  # a long scan in its worker thread
            return orig(text)

        m.core.scan_safety = slow  # type: ignore[method-assign]
        big = "I feel tired today. " * 5000  # > 64 KiB: scanned in a worker thread
        async with anyio.create_task_group() as tg:
            tg.start_soon(m.ingest, msg("A", 3, "client", text=big))
            await anyio.lowlevel.checkpoint()
            tg.start_soon(m.ingest, msg("B", 0, "counselor"))  # pushes A out
        assert (await m.ingest(msg("A", 0, "counselor"))).status == "duplicate"
        pair = m.core.get_pair("A")
        assert pair is not None and pair.arrivals == 4


async def test_store_failure_during_eviction_keeps_pairs_and_the_monitor(tmp_path: Path) -> None:
    store = FlakyStore(tmp_path / "s.db")
    async with Monitor(
        scorer=StaticScorer(),
        store=store,
        max_pairs=1,
        idle_check_interval=None,
        scoring=ScoringPolicy(workers=1),
    ) as m:
        store.fail_evictions = True
        for conv in ("A", "B", "C"):
            for x in alternating(conv, 13):
                await m.ingest(x)
        await m.flush()
        assert m.core.n_pairs == 3  # nothing lost while the store refuses snapshots
        assert m.stats()["store_errors"] >= 1
        store.fail_evictions = False
        await m.ingest(msg("D", 0, "counselor"))
        await m.flush()
        assert m.core.n_pairs <= 2

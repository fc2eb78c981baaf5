"""Windows still unscored when their pair is snapshotted are stored as pending windows (the
journal that closed them is dropped with the snapshot) and are scored after a crash."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest
from helpers import alternating

from alliance_monitor import Monitor, ScoringPolicy, WindowRequest, WindowScore
from alliance_monitor.store import SQLiteStore
from alliance_monitor.testing import StaticScorer

pytestmark = pytest.mark.anyio


class _Crash(Exception):
    pass


class GatedScorer(StaticScorer):
    """Window 0 waits for `gate`; every later window hangs once `hang` is set."""

    def __init__(self) -> None:
        super().__init__(3.0)
        self.gate = anyio.Event()
        self.hang = False
        self.hung = anyio.Event()

    async def score(self, request: WindowRequest) -> WindowScore:
        if request.window_index == 0:
            await self.gate.wait()
        elif self.hang:
            self.hung.set()
            await anyio.sleep_forever()
        return await super().score(request)


async def test_unscored_windows_survive_the_snapshot_that_drops_their_journal(
    tmp_path: Path,
) -> None:
    db = tmp_path / "s.db"
    msgs = alternating("p", 40)  # windows close every 12 messages: 0, 1, 2 closed, 4 open
    scorer = GatedScorer()
    with pytest.raises(_Crash):
        async with Monitor(
            scorer=scorer,
            store=SQLiteStore(db),
            idle_check_interval=None,
            scoring=ScoringPolicy(workers=1),
        ) as m:
            for x in msgs:
                await m.ingest(x)  # window 0 is being scored; 1 and 2 wait (merged)
            assert m.stats()["windows_merged"] == 1
            scorer.hang = True
            scorer.gate.set()  # 0 is scored: snapshot, and the merged 1+2 goes in flight
            with anyio.fail_after(10):
                await scorer.hung.wait()
                assert m._durable is not None
                await m._durable.committer.barrier()
            raise _Crash  # no flush, no session end: as if killed

    store = SQLiteStore(db)
    async with store:
        rec = await store.load_pair("p")
    assert rec is not None and rec.snapshot is not None
    assert [(r["window_index"], r["merged_from"]) for r in rec.pending] == [(2, [1])]
    assert [p for p, _ in rec.journal] == list(range(rec.snapshot["arrivals"] + 1, 41))

    again = StaticScorer(3.0)
    async with Monitor(scorer=again, store=SQLiteStore(db), idle_check_interval=None) as m:
        await m.flush()
        assert m.core.get_pair("p") is not None
    assert [(r.window_index, r.merged_from) for r in again.calls] == [(2, (1,))]

"""What an evicted pair leaves behind in memory: nothing per pair (issue 22.1, 23.4).

Under `max_pairs`, pairs leave memory for the store. Every part that keeps something per pair
must let go of it then: the core's pair state, the scheduler's slot and the phase rater's
buffered messages of the pair's open session. These tests evict many pairs and measure what is
still held, with tracemalloc, against what a few resident pairs hold.
"""

from __future__ import annotations

import gc
import tracemalloc

import pytest
from helpers import alternating

from alliance_monitor import Monitor, ScoringPolicy
from alliance_monitor.store import MemoryStore
from alliance_monitor.testing import StaticScorer

pytestmark = pytest.mark.anyio

#: 14 messages of alternating roles: one scored window of 6 exchanges and an open session.
PER_PAIR = 14


def _held_by(snapshot: tracemalloc.Snapshot, module: str) -> int:
    """Bytes still allocated by code in `module` (a file name pattern)."""
    traces = snapshot.filter_traces([tracemalloc.Filter(True, module)])
    return sum(s.size for s in traces.statistics("filename"))


async def _feed(n_pairs: int, max_pairs: int) -> tuple[Monitor, int, int]:
    monitor = Monitor(
        scorer=StaticScorer(3.5),
        store=MemoryStore(),
        max_pairs=max_pairs,
        scoring=ScoringPolicy(session_scoring="phases", overload="wait"),
        idle_check_interval=None,
    )
    async with monitor:
        gc.collect()
        tracemalloc.start(1)
        try:
            for p in range(n_pairs):
                for m in alternating(f"pair-{p}", PER_PAIR, text="so how did the week go"):
                    await monitor.ingest(m)
            await monitor.flush()
            gc.collect()
            snap = tracemalloc.take_snapshot()
        finally:
            tracemalloc.stop()
        phases = _held_by(snap, "*_phases.py")
        scheduler = _held_by(snap, "*_scheduler.py")
    return monitor, phases, scheduler


async def test_evicted_pairs_leave_no_phase_buffers_behind() -> None:
    max_pairs = 8
    _, few_phases, _ = await _feed(max_pairs, max_pairs)
    many, many_phases, many_sched = await _feed(40 * max_pairs, max_pairs)
    assert many.stats()["pairs_evicted"] >= 39 * max_pairs
    assert many.core.n_pairs <= max_pairs
    rater = many._phases.rater  # type: ignore[union-attr]
    held = {conv for conv, _session in rater._sessions}
    assert held <= set(many.core.conversations())  # only resident pairs' sessions
    # Forty times the pairs, the same cap: what the phase rater and the scheduler hold does not
    # grow with the pairs that came and went (a leak would hold ~40x).
    assert few_phases > 0
    assert many_phases < 2 * few_phases
    assert many_sched < 64 * 1024

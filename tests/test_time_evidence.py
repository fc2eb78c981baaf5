"""Time as evidence, not truth: a timestamp far ahead is clamped and counted, never the pair's
clock; with `seq`, a timestamp jump between consecutive messages is no idle gap; idle sessions end
on the monotonic clock, so host clock steps neither end nor strand them (a real `serve` process
whose wall clock is stepped)."""

from __future__ import annotations

import json
import os
import signal
import textwrap
import time
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from helpers import msg
from test_serve import Proc, metrics, signed, wait_for, write

from alliance_monitor import Monitor, MonitorCore, OrderPolicy, SessionPolicy
from alliance_monitor._clock import SteadyClock
from alliance_monitor._events import SessionSummary
from alliance_monitor.store import SQLiteStore
from alliance_monitor.testing import EventCollector, StaticScorer

NOW = 1_780_000_000.0  # a Unix time in 2026
YEAR = 365 * 24 * 3600.0


def _summaries(out_events: list[Any]) -> list[SessionSummary]:
    return [e for e in out_events if isinstance(e, SessionSummary)]


# ---------------------------------------------------------------------- a stamp from the future
def test_a_timestamp_years_ahead_is_clamped_counted_and_moves_nothing() -> None:
    core = MonitorCore()
    events: list[Any] = []
    now = NOW
    for i in range(4):
        m = msg("p", i, "counselor" if i % 2 == 0 else "client", ts=now, session_id="s1")
        events += core.ingest(m, now).events
        now += 30
    bad = core.ingest(msg("p", 4, "counselor", ts=now + 3 * YEAR, session_id="s1"), now)
    assert bad.result is not None and bad.result.status == "accepted"
    assert core.counts["timestamps_clamped"] == 1
    assert bad.message is not None and abs(bad.message.ts - now) < 60  # journaled as clamped
    pair = core.get_pair("p")
    assert pair is not None and pair.last_ts is not None and pair.last_ts < now + 60
    # Later messages are not late, and a new platform session id still starts a new session.
    now += 30
    later = core.ingest(msg("p", 5, "client", ts=now, session_id="s1"), now)
    assert later.result is not None and later.result.late is False
    now += 30
    new = core.ingest(msg("p", 6, "counselor", ts=now, session_id="s2"), now)
    events += new.events
    assert core.counts["sessions_ended"] == 1
    assert core.get_pair("p").session.session_id == "s2"  # type: ignore[union-attr]
    # An idle gap of real time still ends a session.
    now += 3600
    gap = core.ingest(msg("p", 7, "client", ts=now, session_id="s2"), now)
    assert core.counts["sessions_ended"] == 2 and gap.result is not None
    assert core.counts["timestamps_clamped"] == 1


def test_a_platform_a_little_ahead_is_believed_and_the_bound_is_configurable() -> None:
    core = MonitorCore()
    out = core.ingest(msg("p", 0, "counselor", ts=NOW + 3600), NOW)  # an hour ahead: a skew
    assert out.message is not None and out.message.ts == NOW + 3600
    strict = MonitorCore(order=OrderPolicy(max_ahead=60))
    out = strict.ingest(msg("p", 0, "counselor", ts=NOW + 3600), NOW)
    assert out.message is not None and out.message.ts == NOW
    assert strict.counts["timestamps_clamped"] == 1
    # Offline data with no host time (now = 0) or timestamps that are no Unix time: untouched.
    offline = MonitorCore()
    assert offline.ingest(msg("p", 0, "counselor", ts=NOW + 3 * YEAR), 0.0).message is not None
    assert offline.counts["timestamps_clamped"] == 0


def test_a_week_between_sessions_is_no_jump() -> None:
    core = MonitorCore()
    core.ingest(msg("p", 0, "counselor", ts=NOW), NOW)
    week = 7 * 24 * 3600.0
    out = core.ingest(msg("p", 1, "client", ts=NOW + week), NOW + week)
    assert out.message is not None and out.message.ts == NOW + week
    assert core.counts["timestamps_clamped"] == 0 and core.counts["sessions_ended"] == 1


@pytest.mark.anyio
async def test_the_clamped_stamp_is_what_a_restart_replays(tmp_path: Path) -> None:
    clock = [NOW]
    db = tmp_path / "s.db"
    async with Monitor(scorer=StaticScorer(), store=SQLiteStore(db), clock=lambda: clock[0]) as m:
        await m.ingest(msg("p", 0, "counselor", ts=NOW))
        await m.ingest(msg("p", 1, "client", ts=NOW + 3 * YEAR))
        before = m.core.get_pair("p")
        assert before is not None
        last_ts = before.last_ts
    clock[0] = NOW + 7200  # restarted two hours later: the replay must not judge it again
    async with Monitor(scorer=StaticScorer(), store=SQLiteStore(db), clock=lambda: clock[0]) as m2:
        after = m2.core.get_pair("p")
        assert after is not None and after.last_ts == last_ts


# ---------------------------------------------------------------------- seq over timestamps
def _sequenced(n: int, skew_from: int, skew: float) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        ts = NOW + 30 * i + (skew if i >= skew_from else 0.0)
        out.append(msg("p", i, "counselor" if i % 2 == 0 else "client", ts=ts, seq=i + 1))
    return out


@pytest.mark.parametrize("skew", [3600.0, -3600.0])
def test_with_seq_in_order_an_hour_of_skew_splits_no_session(skew: float) -> None:
    core = MonitorCore()
    for m in _sequenced(20, skew_from=10, skew=skew):
        core.ingest(m, 0.0)
    assert core.counts["sessions_ended"] == 0
    pair = core.get_pair("p")
    assert pair is not None and pair.session is not None and pair.session.n_messages == 20


def test_with_seq_a_new_session_id_after_a_backward_skew_still_starts_a_session() -> None:
    core = MonitorCore()
    msgs = _sequenced(10, skew_from=5, skew=-3600.0)
    for m in msgs[:5]:
        core.ingest({**m, "session_id": "s1"}, 0.0)
    for m in msgs[5:]:
        core.ingest({**m, "session_id": "s2"}, 0.0)
    assert core.counts["sessions_ended"] == 1  # s2 is new, not a straggler of s1


def test_with_seq_a_gap_in_the_sequence_and_in_time_is_a_pause() -> None:
    core = MonitorCore()
    for i in range(5):
        core.ingest(msg("p", i, "counselor" if i % 2 == 0 else "client", ts=NOW + i, seq=i), 0.0)
    core.ingest(msg("p", 9, "counselor", ts=NOW + 7200, seq=9), 0.0)  # seq 5-8 never came
    assert core.counts["sessions_ended"] == 1


# ---------------------------------------------------------------------- host clock steps
def test_steady_clock_ignores_steps_of_the_wall_clock() -> None:
    wall, mono = [NOW], [100.0]
    clock = SteadyClock(wall=lambda: wall[0], monotonic=lambda: mono[0])
    assert clock() == NOW
    wall[0] += 3600  # the host's clock stepped an hour forward
    mono[0] += 5
    assert clock() == NOW + 5
    wall[0] -= 7200  # and two back
    mono[0] += 5
    assert clock() == NOW + 10


def test_the_monitor_ends_idle_sessions_on_monotonic_time() -> None:
    async def scenario() -> list[SessionSummary]:
        col = EventCollector()
        wall, mono = [time.time()], [0.0]
        clock = SteadyClock(wall=lambda: wall[0], monotonic=lambda: mono[0])
        async with Monitor(
            scorer=StaticScorer(),
            session=SessionPolicy(idle_timeout=60),
            idle_check_interval=0.02,
            clock=clock,
        ) as m:
            m.on(col)
            await m.ingest(msg("a", 0, "counselor", ts=wall[0]))
            await m.ingest(msg("b", 0, "counselor", ts=wall[0]))
            wall[0] += 3600  # a step forward: nothing is idle yet
            await anyio.sleep(0.2)
            assert _summaries(col.events) == []
            mono[0] += 61  # a minute of real time passes: both are idle now
            with anyio.fail_after(5):
                while len(_summaries(col.events)) < 2:
                    await anyio.sleep(0.02)
            await m.flush()
        return _summaries(col.events)

    done = anyio.run(scenario)
    assert {s.conversation_id for s in done} == {"a", "b"}


STEPPER = textwrap.dedent(
    """
    # Test only: the process's wall clock (time.time) can be stepped by SIGUSR1, which reads
    # the offset in seconds from the file named by AM_TEST_CLOCK_FILE, as a host clock step would
    # move it. The monotonic clock is left alone.
    import os, signal, time

    _real, _offset = time.time, [0.0]

    def _stepped():
        return _real() + _offset[0]

    def _step(signum, frame):
        with open(os.environ["AM_TEST_CLOCK_FILE"]) as f:
            _offset[0] = float(f.read())

    time.time = _stepped
    signal.signal(signal.SIGUSR1, _step)
    """
)


def test_host_clock_steps_neither_end_nor_strand_sessions_in_serve(tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(STEPPER)
    offset = tmp_path / "offset"
    offset.write_text("0")
    config = write(
        tmp_path,
        """
[monitor]
idle_check_interval = 0.2

[monitor.session]
idle_timeout = 4

[[adapters]]
type = "http"
path = "/hooks/messages"
secrets_env = ["AM_HTTP_SECRET"]
""",
    )
    env = {
        "PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")])),
        "AM_TEST_CLOCK_FILE": str(offset),
    }
    proc = Proc(config, env=env)

    def summaries() -> float:
        return metrics(proc.base).get('alliance_monitor_events_total{type="session_summary"}', 0)

    def step(seconds: float) -> None:
        offset.write_text(str(seconds))
        proc.p.send_signal(signal.SIGUSR1)

    try:
        url = proc.base + "/hooks/messages"
        for conv in ("pair-a", "pair-b"):
            batch = [
                msg(conv, i, "counselor" if i % 2 == 0 else "client", ts=time.time())
                for i in range(2)
            ]
            body = json.dumps({"messages": batch}).encode()
            r = httpx.post(url, content=body, headers=signed(body, f"w-{conv}"), timeout=10)
            assert r.status_code == 202
        step(3600)  # the host clock jumps an hour forward
        time.sleep(2)  # ten sweeps later
        assert summaries() == 0  # (before: both sessions ended at the first sweep)
        step(-3600)  # and an hour back: the sessions must still end after 4 s idle
        wait_for(lambda: summaries() == 2, timeout=15)
    finally:
        assert proc.stop() == 0

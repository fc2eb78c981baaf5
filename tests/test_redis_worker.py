"""Scale-out workers on a real redis-server: kill -9 one of several workers mid-stream."""

from __future__ import annotations

import json
import logging
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import anyio
import pytest
from redis_helpers import clear_prefix, redis_url, unique_prefix
from test_store import level, traffic

from alliance_monitor import Monitor, ScoringPolicy
from alliance_monitor.adapters.redis_streams import events_key, publish, shard_key, shard_of
from alliance_monitor.store._redis import RedisStore
from alliance_monitor.testing import EventCollector, StaticScorer

SHARDS = 8

WORKER_SCRIPT = r"""
import sys, json, anyio, logging
logging.basicConfig(stream=sys.stderr, level=logging.INFO)
from alliance_monitor import ScoringPolicy
from alliance_monitor.adapters.redis_streams import run_worker
from alliance_monitor.store._redis import RedisStore
from alliance_monitor.testing import StaticScorer
url, stream, consumer, prefix, shards = sys.argv[1:6]
def level(r): return 4.5 if r.window_index < 2 else 2.0
async def main():
    stats = await run_worker(
        url, stream, shards=int(shards), consumer=consumer,
        scorer=StaticScorer(level, passive=0.8), store=RedisStore(url, prefix=prefix),
        lease_ms=1500, batch=20, scoring=ScoringPolicy(overload="wait"), idle_check_interval=None,
    )
    print("STATS " + json.dumps(stats), flush=True)
anyio.run(main)
"""


def start_worker(
    script: Path, url: str, stream: str, name: str, prefix: str, log: Path
) -> subprocess.Popen[str]:
    with log.open("w") as err:
        return subprocess.Popen(
            [sys.executable, str(script), url, stream, name, prefix, str(SHARDS)],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )


async def lease_holders(r: Any, prefix: str, stream: str) -> dict[int, str]:
    out = {}
    for k in range(SHARDS):
        v = await r.get(f"{prefix}lease:{stream}:{k}")
        if v is not None:
            out[k] = v.decode().rsplit(":", 1)[0]
    return out


async def wait_until(pred: Any, limit: float, what: str) -> None:
    deadline = time.monotonic() + limit
    while not await pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await anyio.sleep(0.05)


async def pending_of(r: Any, stream: str, consumer: str) -> int:
    n = 0
    for k in range(SHARDS):
        try:
            info = await r.xpending(shard_key(stream, k), "alliance-monitor")
        except Exception:
            continue
        for c in info.get("consumers", []):
            name = c["name"].decode() if isinstance(c["name"], bytes) else c["name"]
            if name == consumer:
                n += int(c["pending"])
    return n


async def drained(r: Any, stream: str, shards: int = SHARDS) -> bool:
    for k in range(shards):
        groups = await r.xinfo_groups(shard_key(stream, k))
        if not groups or groups[0]["pending"] or groups[0].get("lag"):
            return False
    return True


def test_kill_one_of_three_workers_mid_stream(tmp_path: Path) -> None:
    url, prefix = redis_url(), unique_prefix("worker")
    stream = prefix + "in"
    script = tmp_path / "worker.py"
    script.write_text(WORKER_SCRIPT)
    msgs = traffic(n_pairs=24, n=60)
    rnd = random.Random(3)
    replays = rnd.sample(msgs, 120)  # at-least-once producers re-send some messages
    procs: dict[str, subprocess.Popen[str]] = {}
    started = time.monotonic()

    async def scenario() -> dict[str, Any]:
        import redis.asyncio as aioredis

        r = aioredis.Redis.from_url(url)
        try:
            for name in ("w0", "w1", "w2"):
                procs[name] = start_worker(
                    script, url, stream, name, prefix, tmp_path / f"{name}.log"
                )

            async def balanced() -> bool:
                held = await lease_holders(r, prefix, stream)
                per = [list(held.values()).count(n) for n in procs]
                return len(held) == SHARDS and max(per) <= 3 and min(per) >= 2

            await wait_until(balanced, 30, "3 workers sharing 8 shards")
            victim = "w1"
            victim_pending = 0
            feed = msgs + replays
            for i in range(0, len(feed), 40):
                async with r.pipeline(transaction=False) as pipe:
                    for m in feed[i : i + 40]:
                        k = shard_of(m["conversation_id"], SHARDS)
                        pipe.xadd(shard_key(stream, k), {"m": json.dumps(m)})
                    await pipe.execute()
                if procs[victim].poll() is None and i >= len(feed) // 3:
                    # Freeze it, so its pending count cannot change before the kill.
                    procs[victim].send_signal(signal.SIGSTOP)
                    victim_pending = await pending_of(r, stream, victim)
                    if victim_pending:
                        procs[victim].send_signal(signal.SIGKILL)
                        procs[victim].wait()
                    else:
                        procs[victim].send_signal(signal.SIGCONT)
                await anyio.sleep(0.02)
            if procs[victim].poll() is None:  # never caught it mid-batch: kill it anyway
                victim_pending = await pending_of(r, stream, victim)
                procs[victim].send_signal(signal.SIGKILL)
                procs[victim].wait()
            assert await publish(
                r,
                stream,
                {
                    "conversation_id": "late",
                    "id": "x",
                    "role": "client",
                    "text": "hello",
                    "ts": 1.0,
                },
                shards=SHARDS,
            )

            async def taken_over() -> bool:
                held = await lease_holders(r, prefix, stream)
                return len(held) == SHARDS and victim not in held.values()

            await wait_until(taken_over, 30, "the dead worker's shards to be taken")
            await wait_until(lambda: drained(r, stream), 60, "every entry processed")
            assert await pending_of(r, stream, victim) == 0
            raw = await r.xrange(events_key(stream))
            return {"events": [f[b"id"].decode() for _, f in raw], "victim_pending": victim_pending}
        finally:
            await r.aclose()

    try:
        out = anyio.run(scenario)
        stats = []
        for name, p in procs.items():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                stdout, _ = p.communicate(timeout=60)
                assert p.returncode == 0, (tmp_path / f"{name}.log").read_text()[-2000:]
                line = [x for x in stdout.splitlines() if x.startswith("STATS ")]
                stats.append(json.loads(line[0][6:]))
        # The dead worker had entries read and not acknowledged; the survivors claimed them.
        assert out["victim_pending"] > 0
        assert sum(s["entries_claimed"] for s in stats) >= out["victim_pending"]
        # No duplicate event reached the output stream, and none is missing.
        events = out["events"]
        assert len(events) == len(set(events))
        whole = anyio.run(single_process_ids, msgs + replays)
        # Survivors flushed on SIGTERM, so every window was scored; the "late" pair added one
        # safety-free message and no window.
        assert set(events) == whole

        async def every_message_survived() -> None:
            col = EventCollector()
            m = Monitor(
                scorer=StaticScorer(level, passive=0.8),
                store=RedisStore(url, prefix=prefix),
                idle_check_interval=None,
                scoring=ScoringPolicy(overload="wait"),
            )
            async with m:
                m.on(col)
                results = [await m.ingest(x) for x in msgs]
            assert {r.status for r in results} == {"duplicate"}
            assert col.events == []
            async with RedisStore(url, prefix=prefix) as s:
                assert await s.integrity_check()

        anyio.run(every_message_survived)
        assert time.monotonic() - started < 240
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.kill()
                p.wait()
            if p.stdout:
                p.stdout.close()
        anyio.run(clear_prefix, url, prefix)
        anyio.run(clear_prefix, url, stream)


async def single_process_ids(msgs: list[dict[str, Any]]) -> set[str]:
    col = EventCollector()
    m = Monitor(
        scorer=StaticScorer(level, passive=0.8),
        idle_check_interval=None,
        scoring=ScoringPolicy(overload="wait"),
    )
    async with m:
        m.on(col)
        for x in msgs:
            await m.ingest(x)
    return set(col.ids)


def test_a_worker_that_loses_its_lease_is_fenced_and_recovers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Another holder takes shard leases behind the worker's back: the worker's writes to those
    shards are refused (never half-applied), and once the intruder's lease expires the worker
    takes the shards back and processes every message exactly as a single process would."""
    url, prefix = redis_url(), unique_prefix("fence")
    stream = prefix + "in"
    msgs = traffic(n_pairs=8, n=40)

    async def scenario() -> tuple[dict[str, int], list[str]]:
        import redis.asyncio as aioredis

        from alliance_monitor.adapters.redis_streams import run_worker

        r = aioredis.Redis.from_url(url)
        stop = anyio.Event()
        out: dict[str, int] = {}

        async def worker() -> None:
            out.update(
                await run_worker(
                    url,
                    stream,
                    shards=SHARDS,
                    consumer="solo",
                    scorer=StaticScorer(level, passive=0.8),
                    store=RedisStore(url, prefix=prefix),
                    lease_ms=900,
                    batch=10,
                    idle_check_interval=None,
                    stop=stop,
                    handle_signals=False,
                    scoring=ScoringPolicy(overload="wait"),
                )
            )

        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(worker)
                await wait_until(lambda: _all_leased(r, prefix, stream), 20, "leases")
                half = len(msgs) // 2
                for m in msgs[:half]:
                    await publish(r, stream, m, shards=SHARDS)
                # An intruder overwrites every lease for 1.5 s (as if ours had expired).
                for k in range(SHARDS):
                    await r.set(f"{prefix}lease:{stream}:{k}", "intruder:x", px=1500)
                for m in msgs[half:]:
                    await publish(r, stream, m, shards=SHARDS)

                async def back() -> bool:
                    held = await lease_holders(r, prefix, stream)
                    return len(held) == SHARDS and set(held.values()) == {"solo"}

                await wait_until(back, 20, "the worker to take its shards back")
                await wait_until(lambda: drained(r, stream), 30, "every entry processed")
                stop.set()
            raw = await r.xrange(events_key(stream))
            return out, [f[b"id"].decode() for _, f in raw]
        finally:
            await r.aclose()

    caplog.set_level(logging.WARNING, logger="alliance_monitor")
    try:
        stats, events = anyio.run(scenario)
        logged = {r.getMessage() for r in caplog.records}
        # The intruder's leases refuse the worker's writes: logged as fenced, not as failures.
        assert "alliance_monitor.worker_fenced" in logged
        assert "alliance_monitor.worker_ingest_failed" not in logged
        assert stats["shards_lost"] >= 1
        assert len(events) == len(set(events))
        assert set(events) == anyio.run(single_process_ids, msgs)
    finally:
        anyio.run(clear_prefix, url, prefix)


async def _all_leased(r: Any, prefix: str, stream: str) -> bool:
    return len(await lease_holders(r, prefix, stream)) == SHARDS


def test_stream_names_are_part_of_the_state_key_space() -> None:
    """The same conversation ids published on two streams of one database are two sets of
    pairs (each stream's state under its own prefix); given one store on purpose, they share."""
    from alliance_monitor.adapters.redis_streams import run_worker, state_prefix

    url, label = redis_url(), unique_prefix("streams")
    msgs = traffic(n_pairs=4, n=24)
    a, b, c = label + "a", label + "b", label + "c"

    async def run(streams: list[str], store: RedisStore | None) -> list[dict[str, int]]:
        import redis.asyncio as aioredis

        r = aioredis.Redis.from_url(url)
        stop = anyio.Event()
        out: list[dict[str, int]] = []

        async def worker(stream: str) -> None:
            out.append(
                await run_worker(
                    url,
                    stream,
                    shards=2,
                    consumer="solo-" + stream[-1],
                    scorer=StaticScorer(level, passive=0.8),
                    store=store,
                    lease_ms=900,
                    idle_check_interval=None,
                    stop=stop,
                    handle_signals=False,
                    scoring=ScoringPolicy(overload="wait"),
                )
            )

        try:
            async with anyio.create_task_group() as tg:
                for stream in streams:
                    tg.start_soon(worker, stream)
                for stream in streams:
                    for m in msgs:
                        await publish(r, stream, m, shards=2)
                for stream in streams:
                    await wait_until(lambda s=stream: drained(r, s, 2), 30, "entries processed")
                stop.set()
            return out
        finally:
            await r.aclose()

    async def accepted(prefix: str) -> int:
        async with RedisStore(url, prefix=prefix) as s:
            return len([c for c in _convs(msgs) if await s.load_pair(c) is not None])

    try:
        anyio.run(run, [a, b], None)
        # Each stream's pairs are whole under the stream's own prefix.
        assert state_prefix(a) != state_prefix(b)
        assert anyio.run(accepted, state_prefix(a)) == anyio.run(accepted, state_prefix(b)) == 4

        async def events(stream: str) -> list[str]:
            import redis.asyncio as aioredis

            r = aioredis.Redis.from_url(url)
            try:
                return [f[b"id"].decode() for _, f in await r.xrange(events_key(stream))]
            finally:
                await r.aclose()

        # Both streams produced every event of the traffic: none taken for a duplicate.
        whole = anyio.run(single_process_ids, msgs)
        assert set(anyio.run(events, a)) == set(anyio.run(events, b)) == whole
        # One store given to two streams on purpose: the second stream's messages are the
        # first's pairs again, absorbed as duplicates (documented sharing).
        shared = RedisStore(url, prefix=label + "shared:")
        anyio.run(run, [c], shared)
        anyio.run(run, [c + "2"], RedisStore(url, prefix=label + "shared:"))
        assert anyio.run(events, c + "2") == []
    finally:
        for key in (a, b, c, c + "2"):
            anyio.run(clear_prefix, url, key)
            anyio.run(clear_prefix, url, state_prefix(key))
        anyio.run(clear_prefix, url, label)


def _convs(msgs: list[dict[str, Any]]) -> list[str]:
    return sorted({m["conversation_id"] for m in msgs})

"""Durable-state benchmarks (issues 6, 23): store throughput, Redis scale-out, recovery, memory
cap, a flood of new conversations under a cap.

    eval "$(bash scripts/start-redis.sh)"        # for the Redis figures
    .venv/bin/python benchmarks/store.py [--quick]
    .venv/bin/python benchmarks/store.py --throughput-only [--repeat 5]
    .venv/bin/python benchmarks/store.py --flood-only [--repeat 5]
    .venv/bin/python benchmarks/store.py --whole-path [--repeat 3]   # benchmarks/scaleout.py

1. Ingest throughput with the SQLite store (synchronous=FULL) relative to in-memory, same run,
   same traffic: conversations are fed by 64 concurrent producers (an anyio task group; each
   producer sends its conversations' messages in order), so concurrent `ingest` calls share one
   group commit. Scorer: the static test scorer, so the store's cost is not hidden behind scoring.
2. Throughput of 2 Redis workers relative to 1: worker subprocesses share 16 stream shards; the
   messages are published once the workers have split the shards, and the clock stops when every
   shard's consumer group has no lag and no pending entry.
3. Recovery time after a restart with 10,000 pairs (each with a scored window, i.e. a snapshot,
   and an open window in the journal), SQLite and Redis: `Monitor.recovery_seconds`.
4. Peak RSS (VmHWM from /proc/self/status) with 100,000 conversations under an eviction cap
   (`max_pairs`, SQLite store) and without, each in its own subprocess.
5. A flood of new conversations (100,000 of 4 messages, 64 producers, SQLite FULL): throughput
   with `max_pairs=5000` relative to no cap, runs interleaved (issue 23: at least 0.5).

The static scorer is given empty window signals, so the core does not read the window's text
for rupture signals (that is a scorer's work, and would hide the store's cost).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import anyio
import structlog

from alliance_monitor import Monitor, WindowRequest
from alliance_monitor._models import WindowSignals
from alliance_monitor.store import SQLiteStore, StateStore
from alliance_monitor.testing import StaticScorer

ROOT = Path(__file__).resolve().parent.parent
PRODUCERS = 64


def level(r: WindowRequest) -> float:
    return 4.0 if r.window_index % 3 else 2.5


def scorer() -> StaticScorer:
    return StaticScorer(level, signals=WindowSignals())


def conversation(conv: str, n: int) -> list[dict[str, Any]]:
    texts = (
        "How have things been this week?",
        "Honestly pretty rough, I barely slept.",
        "That sounds exhausting. What has kept you up?",
        "Work mostly. And my sister.",
    )
    return [
        {
            "conversation_id": conv,
            "id": f"{conv}:{i}",
            "role": "counselor" if i % 2 == 0 else "client",
            "text": texts[i % 4],
            "ts": 1_700_000_000.0 + i * 20,
        }
        for i in range(n)
    ]


async def feed(
    monitor: Monitor, convs: list[list[dict[str, Any]]], producers: int = PRODUCERS
) -> None:
    """`producers` concurrent producers; each sends whole conversations, in order."""

    async def producer(k: int) -> None:
        for msgs in convs[k::producers]:
            for m in msgs:
                await monitor.ingest(m)

    async with anyio.create_task_group() as tg:
        for k in range(producers):
            tg.start_soon(producer, k)


async def throughput(
    store: StateStore | None, convs: list[list[dict[str, Any]]], producers: int
) -> tuple[float, float]:
    """(messages per second, process CPU seconds per 1,000 messages), from the first ingest
    until every window is scored. The CPU figure (every thread of the process, the store's
    worker threads included) hardly depends on what else runs on the machine."""
    m = Monitor(scorer=scorer(), store=store, idle_check_interval=None)
    n = sum(len(c) for c in convs)
    async with m:
        t0, cpu0 = time.perf_counter(), time.process_time()
        await feed(m, convs, producers)
        await m.flush()
        dt, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    return n / dt, cpu / n * 1000


def bench_sqlite_vs_memory(
    n_convs: int, per: int, repeat: int, producers: int
) -> dict[str, tuple[float, float]]:
    """Median (messages/s, CPU s per 1,000 messages) of in-memory, SQLite FULL and NORMAL."""
    convs = [conversation(f"c{i}", per) for i in range(n_convs)]
    runs: dict[str, list[tuple[float, float]]] = {
        "memory": [],
        "sqlite_full": [],
        "sqlite_normal": [],
    }
    for _ in range(repeat):  # interleaved, so a noisy neighbour hits every case alike
        runs["memory"].append(anyio.run(throughput, None, convs, producers))
        with tempfile.TemporaryDirectory() as d:
            store = SQLiteStore(Path(d) / "s.db")
            runs["sqlite_full"].append(anyio.run(throughput, store, convs, producers))
        with tempfile.TemporaryDirectory() as d:
            store = SQLiteStore(Path(d) / "s.db", synchronous="NORMAL")
            runs["sqlite_normal"].append(anyio.run(throughput, store, convs, producers))
    return {
        k: (statistics.median(r for r, _ in v), statistics.median(c for _, c in v))
        for k, v in runs.items()
    }


# ---------------------------------------------------------------------- recovery
async def populate(store: StateStore, n_pairs: int, per: int) -> None:
    m = Monitor(scorer=scorer(), store=store, idle_check_interval=None)
    async with m:
        await feed(m, [conversation(f"r{i}", per) for i in range(n_pairs)])


async def recover(store: StateStore) -> tuple[float, int]:
    m = Monitor(scorer=scorer(), store=store, idle_check_interval=None)
    async with m:
        return m.recovery_seconds, m.stats()["pairs_recovered"]


def bench_recovery(n_pairs: int, redis_url: str | None) -> dict[str, tuple[float, int]]:
    out: dict[str, tuple[float, int]] = {}
    with tempfile.TemporaryDirectory() as d:
        anyio.run(populate, SQLiteStore(Path(d) / "s.db"), n_pairs, 12)
        out["sqlite"] = anyio.run(recover, SQLiteStore(Path(d) / "s.db"))
    if redis_url:
        from alliance_monitor.store._redis import RedisStore

        prefix = f"ambench:{uuid.uuid4().hex[:8]}:"
        try:
            anyio.run(populate, RedisStore(redis_url, prefix=prefix), n_pairs, 12)
            out["redis"] = anyio.run(recover, RedisStore(redis_url, prefix=prefix))
        finally:
            anyio.run(_clear, redis_url, prefix)
    return out


async def _clear(url: str, prefix: str) -> None:
    from alliance_monitor.store._redis import RedisStore

    async with RedisStore(url, prefix=prefix) as s:
        assert isinstance(s, RedisStore)
        await s.clear()


# ---------------------------------------------------------------------- RSS
def vm_hwm_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return -1


async def rss_case(n: int, cap: int | None, db: str | None) -> None:
    store = SQLiteStore(db) if db else None
    m = Monitor(scorer=scorer(), store=store, max_pairs=cap, idle_check_interval=None)

    async def producer(k: int) -> None:  # messages made on the fly: only the monitor holds them
        for i in range(k, n, PRODUCERS):
            for msg in conversation(f"f{i}", 4):
                await m.ingest(msg)

    async with m:
        async with anyio.create_task_group() as tg:
            for k in range(PRODUCERS):
                tg.start_soon(producer, k)
        await m.flush()
        pairs = m.core.n_pairs
    print(json.dumps({"vm_hwm_kib": vm_hwm_kib(), "pairs_in_memory": pairs}))


def bench_rss(n: int, cap: int) -> dict[str, dict[str, int]]:
    out = {}
    with tempfile.TemporaryDirectory() as d:
        for name, args in (
            ("baseline", ["--n", "0"]),
            ("uncapped", ["--n", str(n)]),
            ("capped", ["--n", str(n), "--cap", str(cap), "--db", f"{d}/s.db"]),
        ):
            res = subprocess.run(
                [sys.executable, __file__, "--rss-case", *args],
                capture_output=True,
                text=True,
                check=True,
            )
            out[name] = json.loads(res.stdout.strip().splitlines()[-1])
    return out


# ---------------------------------------------------------------------- flood under a cap
async def flood(n: int, per: int, cap: int | None, db: str) -> float:
    """Messages per second, `n` new conversations of `per` messages, 64 producers, SQLite FULL,
    from the first ingest until every window is scored and every eviction written."""
    m = Monitor(scorer=scorer(), store=SQLiteStore(db), max_pairs=cap, idle_check_interval=None)

    async def producer(k: int) -> None:  # messages made on the fly, as in section 4
        for i in range(k, n, PRODUCERS):
            for msg in conversation(f"f{i}", per):
                await m.ingest(msg)

    async with m:
        t0 = time.perf_counter()
        async with anyio.create_task_group() as tg:
            for k in range(PRODUCERS):
                tg.start_soon(producer, k)
        await m.flush()
        rate = n * per / (time.perf_counter() - t0)
        if cap is not None:
            assert m.core.n_pairs <= cap and m.stats()["pairs_evicted"] >= n - cap
    return rate


def bench_flood(n: int, per: int, cap: int, repeat: int) -> dict[str, list[float]]:
    """Uncapped and capped, interleaved run by run (a noisy neighbour hits both alike)."""
    out: dict[str, list[float]] = {"uncapped": [], "capped": []}
    for _ in range(repeat):
        for name, c in (("uncapped", None), ("capped", cap)):
            with tempfile.TemporaryDirectory() as d:
                out[name].append(anyio.run(flood, n, per, c, f"{d}/s.db"))
    return out


def print_flood(n: int, per: int, cap: int, repeat: int) -> None:
    f = bench_flood(n, per, cap, repeat)
    ratios = sorted(c / u for c, u in zip(f["capped"], f["uncapped"], strict=True))
    print(
        f"5. flood of {n:,} new conversations x {per} messages, 64 producers, SQLite FULL "
        f"(median of {repeat} interleaved runs)"
    )
    print(f"   no cap:                   {statistics.median(f['uncapped']):>10,.0f} messages/s")
    print(f"   max_pairs={cap:,}:          {statistics.median(f['capped']):>10,.0f} messages/s")
    print(
        f"   capped / uncapped:        {statistics.median(ratios):>10.2f}   (runs "
        f"{ratios[0]:.2f}-{ratios[-1]:.2f}; target >= 0.5; load {os.getloadavg()[0]:.1f})"
    )


# ---------------------------------------------------------------------- Redis workers
WORKER = r"""
import logging, sys, anyio, structlog
structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
from alliance_monitor.adapters.redis_streams import run_worker
from alliance_monitor.testing import StaticScorer
url, stream, name = sys.argv[1:4]
anyio.run(lambda: run_worker(url, stream, shards=16, consumer=name,
                             scorer=StaticScorer(3.5), lease_ms=3000, batch=200,
                             idle_check_interval=None))
"""


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of processes, from /proc/PID/stat."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / tick


async def _workers_run(
    url: str, stream: str, k: int, msgs: list[dict[str, Any]], pids: list[int]
) -> tuple[float, float]:
    """(messages/s, worker CPU seconds per 1,000 messages)."""
    import redis.asyncio as aioredis

    from alliance_monitor.adapters.redis_streams import shard_key, shard_of

    r = aioredis.Redis.from_url(url)
    try:
        lease = f"alliance-monitor:lease:{stream}:"
        deadline = time.monotonic() + 60
        while True:  # wait for the workers to split the shards evenly
            holders = [await r.get(f"{lease}{s}") for s in range(16)]
            names = [
                (h.decode() if isinstance(h, bytes) else h).rsplit(":", 1)[0] for h in holders if h
            ]
            if (
                len(names) == 16
                and len(set(names)) == k
                and max(names.count(n) for n in set(names)) <= -(-16 // k)
            ):
                break
            if time.monotonic() > deadline:
                raise RuntimeError("workers did not take the shards")
            await anyio.sleep(0.1)
        t0 = time.perf_counter()
        cpu0 = await anyio.to_thread.run_sync(cpu_seconds, pids)
        for i in range(0, len(msgs), 1000):
            async with r.pipeline(transaction=False) as pipe:
                for m in msgs[i : i + 1000]:
                    pipe.xadd(
                        shard_key(stream, shard_of(m["conversation_id"], 16)), {"m": json.dumps(m)}
                    )
                await pipe.execute()
        while True:
            busy = False
            for s in range(16):
                g = await r.xinfo_groups(shard_key(stream, s))
                if not g or g[0]["pending"] or g[0].get("lag"):
                    busy = True
                    break
            if not busy:
                break
            await anyio.sleep(0.02)
        rate = len(msgs) / (time.perf_counter() - t0)
        cpu = await anyio.to_thread.run_sync(cpu_seconds, pids) - cpu0
        return rate, cpu / len(msgs) * 1000
    finally:
        await r.aclose()


async def _drop_stream(url: str, stream: str) -> None:
    import redis.asyncio as aioredis

    r = aioredis.Redis.from_url(url)
    keys = [key async for key in r.scan_iter(match=f"{stream}*", count=1000)]
    keys += [key async for key in r.scan_iter(match=f"alliance-monitor:*{stream}*")]
    for i in range(0, len(keys), 500):
        await r.delete(*keys[i : i + 500])
    await r.aclose()


def workers_spread(url: str, runs: int) -> None:
    """2 workers / 1 worker, run by run (each run measures both, back to back)."""
    ratios = []
    for i in range(runs):
        one, two = _workers_once(url, 400, 50).values()
        ratios.append(two[0] / one[0])
        print(
            f"   run {i + 1}: 1 worker {one[0]:>8,.0f} msg/s   2 workers {two[0]:>8,.0f} msg/s   "
            f"ratio {ratios[-1]:.2f}   (load average {os.getloadavg()[0]:.1f})"
        )
    print(
        f"   2 workers / 1 worker: median {statistics.median(ratios):.2f} of {runs} runs, "
        f"spread {min(ratios):.2f}-{max(ratios):.2f} (target >= 1.6)"
    )


def bench_workers(url: str, n_convs: int, per: int, repeat: int) -> dict[int, tuple[float, float]]:
    """Median (messages/s, CPU s per 1,000 messages) of 1 and 2 workers; runs interleaved."""
    runs: dict[int, list[tuple[float, float]]] = {1: [], 2: []}
    for _ in range(repeat):
        for k, res in _workers_once(url, n_convs, per).items():
            runs[k].append(res)
    return {
        k: (statistics.median(r for r, _ in v), statistics.median(c for _, c in v))
        for k, v in runs.items()
    }


def _workers_once(url: str, n_convs: int, per: int) -> dict[int, tuple[float, float]]:
    msgs = [m for c in range(n_convs) for m in conversation(f"w{c}", per)]
    out = {}
    for k in (1, 2):
        stream = f"ambench:{uuid.uuid4().hex[:8]}"
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", WORKER, url, stream, f"w{i}"], stderr=subprocess.DEVNULL
            )
            for i in range(k)
        ]
        try:
            out[k] = anyio.run(_workers_run, url, stream, k, msgs, [p.pid for p in procs])
        finally:
            for p in procs:
                p.send_signal(signal.SIGTERM)
            for p in procs:
                try:
                    p.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    p.kill()
            anyio.run(_drop_stream, url, stream)
        anyio.run(_clear_store_pairs, url, "alliance-monitor:", [f"w{c}" for c in range(n_convs)])
    return out


async def _clear_store_pairs(url: str, prefix: str, convs: list[str]) -> None:
    import redis.asyncio as aioredis

    r = aioredis.Redis.from_url(url)
    for i in range(0, len(convs), 200):
        chunk = convs[i : i + 200]
        keys = [f"{prefix}{t}:{c}" for c in chunk for t in ("s", "j", "w")]
        await r.delete(*keys)
        await r.srem(f"{prefix}live", *chunk)
    await r.aclose()


# ---------------------------------------------------------------------- main
def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="smaller sizes (a smoke run)")
    ap.add_argument("--throughput-only", action="store_true", help="section 1 only")
    ap.add_argument("--flood-only", action="store_true", help="section 5 only")
    ap.add_argument("--repeat", type=int, default=0, help="runs per figure (median)")
    ap.add_argument(
        "--workers-only",
        type=int,
        default=0,
        metavar="RUNS",
        help="section 2 only: RUNS interleaved runs of 1 and 2 workers, each run's ratio shown",
    )
    ap.add_argument(
        "--whole-path",
        action="store_true",
        help="only the whole scale-out path over HTTP beside one serve (benchmarks/scaleout.py)",
    )
    ap.add_argument("--redis", default=os.environ.get("ALLIANCE_MONITOR_TEST_REDIS_URL"))
    ap.add_argument("--rss-case", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--n", type=int, default=0, help=argparse.SUPPRESS)
    ap.add_argument("--cap", type=int, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--db", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    if a.rss_case:
        anyio.run(rss_case, a.n, a.cap, a.db)
        return
    if a.workers_only:
        workers_spread(a.redis, a.workers_only)
        return
    if a.whole_path:  # ingest process -> workers, beside one serve: its own script
        script = ROOT / "benchmarks" / "scaleout.py"
        extra = ["--copies", "2", "--repeat", "1"] if a.quick else ["--repeat", str(a.repeat or 3)]
        redis = ["--redis", a.redis] if a.redis else []
        sys.exit(subprocess.call([sys.executable, str(script), *extra, *redis]))
    if a.flood_only:
        n, per, cap = (20_000, 4, 1000) if a.quick else (100_000, 4, 5000)
        print_flood(n, per, cap, a.repeat or (1 if a.quick else 3))
        return
    q = a.quick
    print(
        f"alliance-monitor store benchmarks (python {sys.version.split()[0]}, "
        f"{os.cpu_count()} cores){' [quick]' if q else ''}"
    )

    n_convs, per = (200, 20) if q else (1000, 40)
    reps = a.repeat or (1 if q else 3)
    print(
        f"1. throughput (ingest until every window is scored), {n_convs * per:,} messages of "
        f"{n_convs:,} conversations (median of {reps})"
    )
    print(
        "   beside each rate: process CPU seconds per 1,000 messages (all threads; hardly "
        "moved by other work on the machine) and in-memory's CPU / this CPU"
    )
    for producers in (PRODUCERS, 4 * PRODUCERS):
        t = bench_sqlite_vs_memory(n_convs, per, reps, producers)
        rate, cpu = t["memory"]
        print(f"   {producers} concurrent producers (load average {os.getloadavg()[0]:.1f})")
        print(f"     in-memory:                {rate:>10,.0f} messages/s   CPU {cpu:.3f} s/1k")
        for key, name, target in (
            ("sqlite_full", "SQLite synchronous=FULL:  ", " (target >= 50%)"),
            ("sqlite_normal", "SQLite synchronous=NORMAL:", ""),
        ):
            r, c = t[key]
            print(
                f"     {name}{r:>10,.0f} messages/s   CPU {c:.3f} s/1k   "
                f"= {r / rate:.0%} of in-memory{target}; CPU ratio {cpu / c:.0%}"
            )

    if a.throughput_only:
        return
    if a.redis:
        wc, wp = (100, 20) if q else (400, 50)
        w = bench_workers(a.redis, wc, wp, 1 if q else 3)
        print(
            f"2. Redis Streams workers, {wc * wp:,} messages, 16 shards (median of {1 if q else 3})"
        )
        print(
            f"   1 worker:                 {w[1][0]:>10,.0f} messages/s  "
            f"(workers' CPU: {w[1][1]:.3f} s per 1,000 messages)"
        )
        print(
            f"   2 workers:                {w[2][0]:>10,.0f} messages/s  "
            f"(workers' CPU: {w[2][1]:.3f} s per 1,000 messages)  = {w[2][0] / w[1][0]:.2f}x "
            f"of 1 worker"
        )
        print(
            f"   (this machine: {os.cpu_count()} cores for redis-server, the publisher and the "
            f"workers; load average {os.getloadavg()[0]:.1f})"
        )
    else:
        print("2. Redis workers: skipped (no --redis / ALLIANCE_MONITOR_TEST_REDIS_URL)")

    n_pairs = 1000 if q else 10_000
    rec = bench_recovery(n_pairs, a.redis)
    print(f"3. recovery after a restart with {n_pairs:,} pairs (snapshot + open-window journal)")
    for name, (secs, pairs) in rec.items():
        print(
            f"   {name + ':':<26}{secs:>10.2f} s for {pairs:,} pairs "
            f"({secs / max(pairs, 1) * 1e6:,.0f} us per pair)"
        )

    n, cap = (10_000, 1000) if q else (100_000, 5000)
    rss = bench_rss(n, cap)
    base = rss["baseline"]["vm_hwm_kib"]
    print(f"4. peak RSS (VmHWM), {n:,} conversations x 4 messages")
    print(f"   empty monitor:            {base / 1024:>10,.0f} MiB")
    print(
        f"   no cap (in memory):       {rss['uncapped']['vm_hwm_kib'] / 1024:>10,.0f} MiB  "
        f"({rss['uncapped']['pairs_in_memory']:,} pairs resident)"
    )
    print(
        f"   max_pairs={cap:,} (SQLite):  {rss['capped']['vm_hwm_kib'] / 1024:>10,.0f} MiB  "
        f"({rss['capped']['pairs_in_memory']:,} pairs resident)"
    )
    fn, fper, fcap = (20_000, 4, 1000) if q else (100_000, 4, 5000)
    print_flood(fn, fper, fcap, reps)


if __name__ == "__main__":
    main()

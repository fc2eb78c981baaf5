"""Throughput of the whole scale-out path beside one `serve` (issue 25).

    eval "$(bash scripts/start-redis.sh)"
    .venv/bin/python benchmarks/scaleout.py [--copies 6] [--repeat 3]

The same signed deliveries (the bundled transcripts, `--copies` times under new ids; 20 messages
a delivery, 8 concurrent senders, each sending its own pairs' messages in order) go over HTTP to

1. one ``alliance-monitor serve`` (``server.mode = "all"``): adapters, monitor and scorer in one
   process;
2. ``serve --mode ingest`` + 1 ``alliance-monitor worker``;
3. ``serve --mode ingest`` + 2 workers.

The clock starts at the first POST (every process started and, for workers, the shards split)
and stops when every window of the traffic is scored: for `serve`, its ``/metrics`` count of
scored windows; for workers, the ``window_scored`` entries on ``NAME:events``. Both use the
embedded scorer and ``monitor.overload = "wait"``, so every case scores the same windows (the
count is taken from one in-process `Monitor` first). No alert endpoints: this is the path of
messages and scores. Runs of the three cases are interleaved; medians are printed. All
processes, redis-server and the senders share this machine's cores: ratios are within one run.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import zlib
from pathlib import Path
from typing import Any

import anyio
import httpx

from alliance_monitor import Monitor, ScoringPolicy
from alliance_monitor.adapters.redis_streams import events_key, state_prefix
from alliance_monitor.scoring import EmbeddedScorer

# The set-up it shares with tests/test_scaleout_e2e.py (traffic, signed deliveries, processes).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from scaleout_helpers import (
    announced,
    bundled_traffic,
    deliver,
    lease_holders,
    start_cli,
)

SECRET = "whsec_" + "YmVuY2gtc2NhbGVvdXQtc2VjcmV0LTAxMjM0NTY3"
SENDERS = 8
BATCH = 20
SHARDS = 16


async def windows_of(msgs: list[dict[str, Any]]) -> int:
    n = 0

    def count(ev: Any) -> None:
        nonlocal n
        n += ev.type.value == "window_scored"

    async with Monitor(
        scorer=EmbeddedScorer(), scoring=ScoringPolicy(overload="wait"), idle_check_interval=None
    ) as m:
        m.on(count)
        for x in msgs:
            await m.ingest(x)
        await m.flush()
    return n


def settings(tmp: Path, mode: str, url: str, stream: str) -> Path:
    cfg = tmp / f"{mode}-{stream.rsplit(':', 1)[-1]}.toml"
    cfg.write_text(
        f"""
[server]
mode = "{mode}"
port = 0
queue_size = 4096

[stream]
redis = "{url}"
name = "{stream}"
shards = {SHARDS}

[monitor]
idle_check_interval = 86400
overload = "wait"

[[adapters]]
type = "http"
secrets_env = ["BENCH_SECRET"]
"""
    )
    return cfg


def start(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    return start_cli(args, log, {"BENCH_SECRET": SECRET})


async def send(base: str, msgs: list[dict[str, Any]]) -> None:
    """Deliver `msgs` with SENDERS concurrent senders, each pair's messages in order."""
    parts: list[list[dict[str, Any]]] = [[] for _ in range(SENDERS)]
    for m in msgs:
        parts[zlib.crc32(m["conversation_id"].encode()) % SENDERS].append(m)

    async def sender(part: list[dict[str, Any]], http: httpx.AsyncClient) -> None:
        for i in range(0, len(part), BATCH):
            await deliver(  # a 503 is sent again, as a platform does
                http, base + "/hooks/messages", SECRET, part[i : i + BATCH], pause=0.05, tries=None
            )

    async with httpx.AsyncClient(timeout=60) as http, anyio.create_task_group() as tg:
        for part in parts:
            tg.start_soon(sender, part, http)


async def scored_by_serve(base: str) -> int:
    async with httpx.AsyncClient() as http:
        text = (await http.get(base + "/metrics")).text
    m = re.search(r"^alliance_monitor_windows_scored_total (\d+)", text, re.M)
    return int(m.group(1)) if m else 0


async def scored_by_workers(r: Any, stream: str) -> int:
    return sum(f[b"type"] == b"window_scored" for _, f in await r.xrange(events_key(stream)))


async def leases_split(r: Any, stream: str, workers: int) -> bool:
    held = await lease_holders(r, stream, SHARDS)
    return len(held) == workers and all(n == SHARDS // workers for n in held.values())


async def one_case(url: str, workers: int, msgs: list[dict[str, Any]], windows: int) -> float:
    """Messages per second of one case: 0 workers means one `serve` doing everything."""
    import redis.asyncio as aioredis

    stream = f"ambench:scaleout:{uuid.uuid4().hex[:8]}"
    procs: list[subprocess.Popen[bytes]] = []
    r = aioredis.Redis.from_url(url)
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        try:
            mode = "all" if workers == 0 else "ingest"
            cfg = settings(tmp, mode, url, stream)
            procs.append(start(["serve", "--config", str(cfg)], tmp / "serve.log"))
            base = await announced(tmp / "serve.log", "listening on ", procs[0])
            for i in range(workers):
                procs.append(
                    start(
                        ["worker", "--config", str(cfg), "--consumer", f"w{i}"],
                        tmp / f"w{i}.log",
                    )
                )
            if workers:
                with anyio.fail_after(120):
                    while not await leases_split(r, stream, workers):  # noqa: ASYNC110
                        await anyio.sleep(0.1)
            started = time.perf_counter()
            await send(base, msgs)
            with anyio.fail_after(600):
                while True:
                    n = (
                        await scored_by_serve(base)
                        if workers == 0
                        else await scored_by_workers(r, stream)
                    )
                    if n >= windows:
                        break
                    await anyio.sleep(0.05)
            return len(msgs) / (time.perf_counter() - started)
        finally:
            for p in procs:
                p.send_signal(signal.SIGTERM)
            for p in procs:
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    p.kill()
            for prefix in (stream, state_prefix(stream)):
                keys = [k async for k in r.scan_iter(match=prefix + "*", count=1000)]
                for i in range(0, len(keys), 500):
                    await r.delete(*keys[i : i + 500])
            await r.aclose()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--copies", type=int, default=6, help="copies of the 17 bundled transcripts")
    ap.add_argument("--repeat", type=int, default=3, help="runs of each case (median)")
    ap.add_argument("--redis", default=os.environ.get("ALLIANCE_MONITOR_TEST_REDIS_URL"))
    a = ap.parse_args()
    if not a.redis:
        sys.exit('needs Redis: eval "$(bash scripts/start-redis.sh)" (or --redis URL)')
    msgs = bundled_traffic(uuid.uuid4().hex[:6], a.copies)
    windows = anyio.run(windows_of, msgs)
    pairs = len({m["conversation_id"] for m in msgs})
    print(
        f"alliance-monitor scale-out path: {len(msgs):,} messages of {pairs} pairs, {windows} "
        f"windows (embedded scorer), {SENDERS} senders x {BATCH}-message deliveries, "
        f"{os.cpu_count()} cores, {a.repeat} run(s) each, interleaved"
    )
    runs: dict[int, list[float]] = {0: [], 1: [], 2: []}
    for _ in range(a.repeat):
        for k in runs:
            runs[k].append(anyio.run(one_case, a.redis, k, msgs, windows))
    one = statistics.median(runs[0])
    for k, label in (
        (0, "one serve (mode all)"),
        (1, "ingest + 1 worker"),
        (2, "ingest + 2 workers"),
    ):
        med = statistics.median(runs[k])
        each = ", ".join(f"{x:,.0f}" for x in runs[k])
        print(f"   {label:<22} {med:>8,.0f} msg/s  ({each})  = {med / one:.2f}x of one serve")
    print(f"   (load average now: {os.getloadavg()[0]:.1f})")


if __name__ == "__main__":
    main()

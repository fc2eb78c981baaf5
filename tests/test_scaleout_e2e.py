"""The scale-out deployment end to end, from plain processes on a real redis-server (the
topology of docs/scale-out.md's compose file): a platform posts signed messages to
``serve --mode ingest`` (HTTP adapter), two ``alliance-monitor worker`` processes score them from
the stream and alert through the shared Redis outbox to a real HTTP receiver, and the ingest
process serves the board of every worker's pairs. One worker is killed with SIGKILL mid-run.

Checked: every alert a single process sends for the same messages arrives, signed, exactly once
per alert (a redelivery would carry the same webhook id; none is counted as a second alert),
no other alert arrives, and the board shows every pair."""

from __future__ import annotations

import json
import signal
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from redis_helpers import clear_prefix, redis_url
from scaleout_helpers import announced, bundled_traffic, deliver, lease_holders, read, start_cli

from alliance_monitor import Monitor, ScoringPolicy
from alliance_monitor.adapters.redis_streams import shard_key, state_prefix
from alliance_monitor.alerts import AlertDispatcher, WebhookEndpoint
from alliance_monitor.alerts.testing import LoopbackReceiver
from alliance_monitor.scoring._embedded import EmbeddedScorer

pytestmark = pytest.mark.anyio

IN_SECRET = "whsec_" + "ZTJlLWluZ2VzdC1zZWNyZXQtMDEyMzQ1Njc4OQ=="
ALERT_SECRET = "whsec_" + "ZTJlLWFsZXJ0LXNlY3JldC0wMTIzNDU2Nzg5YQ=="
SHARDS = 8
BATCH = 20
KINDS: dict[str, Any] = {}


def config(tmp: Path, url: str, stream: str, alert_url: str, outbox: str) -> Path:
    cfg = tmp / "scaleout.toml"
    cfg.write_text(
        f"""
[server]
mode = "ingest"
host = "127.0.0.1"
port = 0

[stream]
redis = "{url}"
name = "{stream}"
shards = {SHARDS}
lease_ms = 5000

[monitor]
idle_check_interval = 86400
overload = "wait"   # every window scored on its own: the same windows as the single process

[supervisor]
enabled = true
port = 0

[[adapters]]
type = "http"
path = "/hooks/messages"
secrets_env = ["E2E_IN_SECRET"]

[alerts]
outbox = "{url}"
outbox_prefix = "{outbox}"
outbox_claim_ttl = 5
allow_private = true

[[alerts.endpoints]]
url = "{alert_url}"
secrets_env = ["E2E_ALERT_SECRET"]
name = "supervisors"
"""
    )
    return cfg


ENV = {"E2E_IN_SECRET": IN_SECRET, "E2E_ALERT_SECRET": ALERT_SECRET}


def start(args: list[str], log: Path) -> subprocess.Popen[bytes]:
    """A command's process; its stdout (a worker's final stats) goes to `log` + ".out"."""
    return start_cli(args, log, ENV, out=log.with_suffix(".out"))


def logs(tmp: Path) -> str:
    return "\n".join(f"--- {p.name}\n{read(p)[-3000:]}" for p in sorted(tmp.glob("*.log")))


async def baseline(msgs: list[dict[str, Any]]) -> tuple[set[str], set[str]]:
    """The alerts (event ids) one process sends for `msgs` (the same scorer and alert policy),
    and the pairs it has events of (those a board shows)."""
    seen: set[str] = set()
    global KINDS
    KINDS = {}
    async with LoopbackReceiver([ALERT_SECRET]) as rx:
        ep = WebhookEndpoint(rx.url, [ALERT_SECRET], name="supervisors")
        async with AlertDispatcher([ep], allow_private=True) as d:
            async with Monitor(
                scorer=EmbeddedScorer(),
                scoring=ScoringPolicy(overload="wait"),
                idle_check_interval=None,
            ) as m:
                m.on(d.submit)
                m.on(lambda ev: seen.add(ev.conversation_id))
                m.on(lambda ev: KINDS.__setitem__(ev.id, (ev.type.value, ev.conversation_id)))
                for x in msgs:
                    await m.ingest(x)
                await m.flush()
            assert await d.drain(timeout=30)
        return {json.loads(x.body)["data"]["id"] for x in rx.processed.values()}, seen


async def holders(r: Any, stream: str) -> set[str]:
    """The consumers holding a shard lease now."""
    return set(await lease_holders(r, stream, SHARDS))


async def stream_empty(r: Any, stream: str) -> bool:
    for k in range(SHARDS):
        groups = await r.xinfo_groups(shard_key(stream, k))
        if not groups or groups[0]["pending"] or await r.xlen(shard_key(stream, k)):
            return False
    return True


async def test_ingest_two_workers_kill_one_alerts_once_board_has_every_pair(
    tmp_path: Path,
) -> None:
    import redis.asyncio as aioredis

    url = redis_url()
    tag = uuid.uuid4().hex[:8]
    stream, outbox = f"amtest:e2e:{tag}", f"amtest:e2e-outbox:{tag}:"
    msgs = bundled_traffic(tag, copies=3)  # 51 pairs, 1,080 messages
    expected, convs = await baseline(msgs)
    assert len(convs) >= 40
    assert len(expected) >= 20  # the traffic does alert (declines, patterns, safety)
    procs: list[subprocess.Popen[bytes]] = []
    r = aioredis.Redis.from_url(url)
    try:
        async with LoopbackReceiver([ALERT_SECRET]) as rx:
            cfg = config(tmp_path, url, stream, rx.url, outbox)
            ingest_log = tmp_path / "ingest.log"
            procs.append(start(["serve", "--config", str(cfg)], ingest_log))
            base = await announced(ingest_log, "listening on ", procs[0])
            board = await announced(ingest_log, "supervisor board on ", procs[0])
            workers = {}
            for name in ("wA", "wB"):
                log = tmp_path / f"{name}.log"
                workers[name] = start(["worker", "--config", str(cfg), "--consumer", name], log)
                procs.append(workers[name])
            batches = [msgs[i : i + BATCH] for i in range(0, len(msgs), BATCH)]
            half = len(batches) // 2
            async with httpx.AsyncClient(timeout=30) as http:
                for b in batches[:half]:
                    await deliver(http, base + "/hooks/messages", IN_SECRET, b)
                # Mid-run: wait until wA holds shards and has taken messages, then SIGKILL it.
                with anyio.fail_after(60):
                    while "wA" not in await holders(r, stream):
                        await anyio.sleep(0.05)
                await anyio.sleep(0.5)
                workers["wA"].send_signal(signal.SIGKILL)
                workers["wA"].wait(10)
                for b in batches[half:]:
                    await deliver(http, base + "/hooks/messages", IN_SECRET, b)
                with anyio.fail_after(120):
                    while not await stream_empty(r, stream):
                        await anyio.sleep(0.2)
                # Every alert of the single process arrives (deliveries follow the commits).
                deadline = time.monotonic() + 60
                while (
                    got := {json.loads(x.body)["data"]["id"] for x in rx.processed.values()}
                ) < expected:
                    if time.monotonic() > deadline:
                        raise AssertionError(
                            f"{len(got & expected)} of {len(expected)} alerts, "
                            f"{len(got - expected)} extra; missing "
                            f"{[KINDS[i] for i in sorted(expected - got)]}\n{logs(tmp_path)}"
                        )
                    await anyio.sleep(0.2)
                await anyio.sleep(2.0)  # time for a doubled alert to show, if any
                with anyio.fail_after(30):
                    while True:  # the board follows the store (polled every second)
                        pairs = (await http.get(board + "api/pairs?limit=1000")).json()
                        shown = {p["id"] for p in pairs.get("pairs", [])}
                        if shown >= convs:
                            break
                        await anyio.sleep(0.5)
                health = (await http.get(base + "/readyz")).json()
            received = [json.loads(x.body)["data"]["id"] for x in rx.processed.values()]
            assert all(x.valid for x in rx.requests)  # signed with the endpoint's secret
            assert sorted(received) == sorted(expected)  # each alert once, none extra
            assert shown == convs
            assert health["ready"], health
            assert await holders(r, stream) == {"wB"}  # it took over the dead worker's shards
            workers["wB"].send_signal(signal.SIGTERM)
            assert workers["wB"].wait(60) == 0
            stats = json.loads(read(tmp_path / "wB.out").splitlines()[-1])
            assert stats["entries_acked"] > 0
            procs[0].send_signal(signal.SIGTERM)
            assert procs[0].wait(60) == 0
            assert f"{len(msgs)} accepted" in read(ingest_log)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait(10)
        await r.aclose()
        for prefix in (stream, state_prefix(stream), outbox):
            await clear_prefix(url, prefix)

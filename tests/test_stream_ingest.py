"""The ingest side of scale-out on a real redis-server: `StreamPublisher` validates and puts
messages on the stream (what ``serve --mode ingest`` hands its adapters), workers take them off
(deleting what they committed), and an erasure request travels in order with a pair's messages."""

from __future__ import annotations

import json
from functools import partial
from typing import Any

import anyio
import pytest
from redis_helpers import clear_prefix, redis_url, unique_prefix
from scaleout_helpers import signed_headers
from test_erasure import redis_dump, talk
from test_redis_worker import drained, wait_until

from alliance_monitor import RejectReason, ScoringPolicy, StoreError
from alliance_monitor.adapters import HttpAdapter, MessageSink, WebhookReceiver
from alliance_monitor.adapters.redis_streams import (
    StreamPublisher,
    Worker,
    events_key,
    run_worker,
    shard_key,
    shard_of,
    state_prefix,
)
from alliance_monitor.testing import StaticScorer

pytestmark = pytest.mark.anyio
SHARDS = 2


def level(r: Any) -> float:
    return 4.5 if r.window_index < 1 else 1.5


async def client(url: str) -> Any:
    import redis.asyncio as aioredis

    return aioredis.Redis.from_url(url)


async def worker(url: str, stream: str, stop: anyio.Event, **options: Any) -> None:
    """One in-process worker `w1` on `stream` until `stop`: the static scorer, every window
    scored (`overload="wait"`), a short lease, no idle sweep; `options` add to these."""
    await run_worker(
        url,
        stream,
        shards=SHARDS,
        consumer="w1",
        scorer=StaticScorer(level, passive=0.8),
        lease_ms=1500,
        idle_check_interval=None,
        stop=stop,
        handle_signals=False,
        scoring=ScoringPolicy(overload="wait"),
        **options,
    )


async def test_publisher_validates_counts_and_shards() -> None:
    url, stream = redis_url(), unique_prefix("ingest") + "s"
    r = await client(url)
    try:
        pub: MessageSink = StreamPublisher(r, stream, shards=SHARDS)
        assert isinstance(pub, StreamPublisher)
        msgs = talk("a", 3) + talk("b", 3)
        results = [await pub.ingest(m) for m in msgs]
        assert {x.status for x in results} == {"accepted"}
        bad = await pub.ingest({"conversation_id": "a", "id": "x", "text": "no role", "ts": 1.0})
        assert bad.status == "rejected" and bad.reason is RejectReason.MISSING_FIELD
        pub.reject(RejectReason.INVALID_JSON)
        st = pub.stats()
        assert st["messages_in"] == 8 and st["accepted"] == 6
        assert st["rejected_by_reason"] == {"missing_field": 1, "invalid_json": 1}
        # Each message is in its pair's shard, in order, and nothing of the rejected one.
        for conv in ("a", "b"):
            entries = await r.xrange(shard_key(stream, shard_of(conv, SHARDS)))
            mine = [f for _, f in entries if b'"' + conv.encode() + b"-m" in f[b"m"]]
            assert len(mine) == 3
        total = sum([await r.xlen(shard_key(stream, k)) for k in range(SHARDS)])
        assert total == 6
    finally:
        await r.aclose()
        await clear_prefix(url, stream)


async def test_publisher_raises_store_error_when_redis_is_down() -> None:
    import redis.asyncio as aioredis

    dead = aioredis.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    pub = StreamPublisher(dead, "nowhere", shards=SHARDS)
    try:
        with pytest.raises(StoreError) as info:
            await pub.ingest(talk("a", 1)[0])
        assert "MARK" not in str(info.value)  # no text in the error
        assert pub.stats()["rejected_by_reason"] == {"store_error": 1}
        assert pub.failing is not None
    finally:
        await dead.aclose()


async def test_receiver_acknowledges_once_the_stream_has_the_messages() -> None:
    """The HTTP adapter's receiver over a publisher: 202 means the entries are on the stream."""
    import httpx

    url, stream = redis_url(), unique_prefix("ingest") + "s"
    r = await client(url)
    secret = "whsec_" + "c2NhbGVvdXQtdGVzdC1zZWNyZXQtMzI="
    try:
        pub = StreamPublisher(r, stream, shards=SHARDS)
        async with WebhookReceiver(HttpAdapter([secret]), pub) as receiver:
            transport = httpx.ASGITransport(app=receiver)
            async with httpx.AsyncClient(transport=transport, base_url="http://x") as http:
                body = httpx.Request("POST", "/", json={"messages": talk("h", 4)}).content
                headers = signed_headers(secret, body, "delivery-1")
                resp = await http.post("/", content=body, headers=headers)
        assert resp.status_code == 202, resp.text
        assert await r.xlen(shard_key(stream, shard_of("h", SHARDS))) == 4
        assert pub.stats()["accepted"] == 4
    finally:
        await r.aclose()
        await clear_prefix(url, stream)


async def test_worker_deletes_committed_entries_and_erases_in_order() -> None:
    """Entries leave the shard streams once committed (their text with them); an erasure request
    put after a pair's messages is carried out by the worker holding it, which reports what it
    removed (state, text, its events) back to the publisher."""
    url, stream = redis_url(), unique_prefix("ingest") + "s"
    r = await client(url)
    workers: list[Worker] = []
    stop = anyio.Event()
    try:
        pub = StreamPublisher(r, stream, shards=SHARDS)
        async with anyio.create_task_group() as tg:
            tg.start_soon(partial(worker, url, stream, stop, on_ready=workers.append))
            for m in talk("gone", 24) + talk("kept", 24):
                assert (await pub.ingest(m)).status == "accepted"
            await wait_until(lambda: drained(r, stream, SHARDS), 30, "entries processed")
            # Committed entries were deleted: the streams hold no message text any more.
            lens = [await r.xlen(shard_key(stream, k)) for k in range(SHARDS)]
            assert lens == [0] * SHARDS
            await wait_until(
                lambda: _has_events(r, stream, b"gone"), 30, "events of the erased pair"
            )
            assert b"MARK-gone-TEXT" in await redis_dump(url, state_prefix(stream))
            with anyio.fail_after(30):
                report = await pub.erase("gone")
            stop.set()
        assert report["conversation_id"] == "gone"
        removed = report["removed"]
        assert removed["stream.events"] > 0
        assert removed["memory.pair"] == 1
        assert sum(v for k, v in removed.items() if k.startswith("store.")) > 0
        dump = await redis_dump(url, state_prefix(stream))
        assert b"MARK-gone-TEXT" not in dump and b"MARK-kept-TEXT" in dump
        assert not await _has_events(r, stream, b"gone")
        assert await _has_events(r, stream, b"kept")
        assert workers[0].stats["pairs_erased"] == 1
        # The report was taken: nothing of it is left behind.
        assert not [k async for k in r.scan_iter(match=f"{stream}:erasure:*")]
    finally:
        await r.aclose()
        await clear_prefix(url, stream)
        await clear_prefix(url, state_prefix(stream))


async def _has_events(r: Any, stream: str, conv: bytes) -> bool:
    return any(f.get(b"c") == conv for _, f in await r.xrange(events_key(stream)))


async def test_board_mode_shows_what_the_workers_wrote() -> None:
    """``serve --mode board``: no monitor, the board read from the workers' records."""
    from contextlib import AsyncExitStack

    import httpx

    from alliance_monitor._serve import Service
    from alliance_monitor._settings import Settings
    from alliance_monitor.study import StoredBoard

    url, stream = redis_url(), unique_prefix("board") + "s"
    r = await client(url)
    stop = anyio.Event()
    try:
        pub = StreamPublisher(r, stream, shards=SHARDS)
        async with anyio.create_task_group() as tg:
            tg.start_soon(partial(worker, url, stream, stop, board=StoredBoard()))
            for m in talk("a", 24) + talk("b", 24):
                await pub.ingest(m)
            await wait_until(lambda: drained(r, stream, SHARDS), 30, "entries processed")
            await wait_until(lambda: _has_events(r, stream, b"b"), 30, "events")
            stop.set()
        settings = Settings.model_validate(
            {
                "server": {"mode": "board"},
                "stream": {"redis": url, "name": stream, "shards": SHARDS},
                "supervisor": {"enabled": True},
            }
        )
        service = Service(settings, environ={})
        async with AsyncExitStack() as stack:
            await service._start(stack)
            service.ready = True
            await wait_until(lambda: _true(service.follower.loaded), 10, "the board loaded")
            transport = httpx.ASGITransport(app=service.board_app)
            async with httpx.AsyncClient(transport=transport, base_url="http://x") as http:
                listing = (await http.get("/supervisor/api/pairs")).json()
            assert {p["id"] for p in listing["pairs"]} == {"a", "b"}
            assert service.checks() == {"started": True, "board": True}
            assert service.monitor is None and service.publisher is None
    finally:
        await r.aclose()
        await clear_prefix(url, stream)
        await clear_prefix(url, state_prefix(stream))


async def _true(value: bool) -> bool:
    return value


async def test_ingest_mode_service_publishes_counts_and_erases_through_the_worker() -> None:
    """``serve --mode ingest`` in process: a signed delivery is on the stream when answered,
    `/metrics` counts it with the monitor's names, and an erasure is carried out by the worker."""
    from contextlib import AsyncExitStack

    import httpx

    from alliance_monitor._serve import Service
    from alliance_monitor._settings import Settings

    url, stream = redis_url(), unique_prefix("ingestmode") + "s"
    secret = "whsec_" + "aW5nZXN0LW1vZGUtdGVzdC1zZWNyZXQtMDE="
    settings = Settings.model_validate(
        {
            "server": {"mode": "ingest"},
            "stream": {"redis": url, "name": stream, "shards": SHARDS},
            "admin": {"enabled": True, "secrets": [secret]},
            "adapters": [{"type": "http", "secrets": [secret]}],
        }
    )
    r = await client(url)
    stop = anyio.Event()
    try:
        service = Service(settings, environ={})

        async with anyio.create_task_group() as tg:
            async with AsyncExitStack() as stack:
                await service._start(stack)
                service.ready = True
                body = json.dumps({"messages": talk("gone", 24) + talk("kept", 24)}).encode()
                headers = signed_headers(secret, body, "d1")
                transport = httpx.ASGITransport(app=service.app)
                async with httpx.AsyncClient(transport=transport, base_url="http://x") as http:
                    resp = await http.post("/hooks/messages", content=body, headers=headers)
                    assert resp.status_code == 202
                    total = sum([await r.xlen(shard_key(stream, k)) for k in range(SHARDS)])
                    assert total == 48  # on the stream before the answer
                    metrics = (await http.get("/metrics")).text
                    assert "alliance_monitor_messages_accepted_total 48" in metrics
                    ready = (await http.get("/readyz")).json()
                assert ready["ready"] and ready["checks"]["stream"]
                tg.start_soon(worker, url, stream, stop)
                report = await service.erase("gone")
            stop.set()
        assert report["conversation_id"] == "gone" and report["total"] > 0
        assert service.erasures["requested"] == 1
        dump = await redis_dump(url, state_prefix(stream))
        assert b"MARK-gone-TEXT" not in dump and b"MARK-kept-TEXT" in dump
    finally:
        await r.aclose()
        await clear_prefix(url, stream)
        await clear_prefix(url, state_prefix(stream))


async def test_each_worker_sweeps_its_own_pairs_for_retention() -> None:
    """`run_worker(retention_days=...)`: pairs idle beyond it are erased by the worker holding
    them, text and all (the messages here are from 2023: older than any retention)."""
    url, stream = redis_url(), unique_prefix("retain") + "s"
    r = await client(url)
    workers: list[Worker] = []
    stop = anyio.Event()
    try:
        pub = StreamPublisher(r, stream, shards=SHARDS)
        async with anyio.create_task_group() as tg:
            tg.start_soon(
                partial(
                    worker,
                    url,
                    stream,
                    stop,
                    on_ready=workers.append,
                    retention_days=30,
                    retention_check_interval=0.2,
                )
            )
            for m in talk("old", 12) + talk("older", 12):
                await pub.ingest(m)
            await wait_until(lambda: drained(r, stream, SHARDS), 30, "entries processed")
            await wait_until(
                lambda: _true(workers[0].stats["pairs_erased"] >= 2), 30, "the retention sweep"
            )
            stop.set()
        dump = await redis_dump(url, state_prefix(stream))
        assert b"MARK-old-TEXT" not in dump and b"MARK-older-TEXT" not in dump
    finally:
        await r.aclose()
        await clear_prefix(url, stream)
        await clear_prefix(url, state_prefix(stream))


def test_a_worker_with_alert_endpoints_needs_the_shared_outbox(tmp_path: Any) -> None:
    """Per-worker outboxes would send an alert twice after a takeover: refused at start."""
    from argparse import Namespace

    from alliance_monitor import ConfigError
    from alliance_monitor._cli_service import cmd_worker

    cfg = tmp_path / "w.toml"
    cfg.write_text(
        '[stream]\nredis = "redis://127.0.0.1:1/0"\n\n[alerts]\nallow_private = true\n\n'
        '[[alerts.endpoints]]\nurl = "http://127.0.0.1:9/hooks"\n'
        'secrets = ["whsec_aW5nZXN0LW1vZGUtdGVzdC1zZWNyZXQtMDE="]\n'
    )
    with pytest.raises(ConfigError, match=r"alerts\.outbox"):
        cmd_worker(Namespace(config=str(cfg)), scorer=StaticScorer(level))
    with pytest.raises(ConfigError, match="--redis"):
        cmd_worker(Namespace(config=None), scorer=StaticScorer(level))

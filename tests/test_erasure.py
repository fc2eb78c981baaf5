"""Erasure and retention: `Monitor.erase` removes a pair's text and state from memory, the store
and the alert outbox; the tests read the SQLite files' bytes and the Redis keys afterwards."""

from __future__ import annotations

import json
import zlib
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import pytest
from redis_helpers import clear_prefix, redis_url, unique_prefix

from alliance_monitor import (
    AllianceLow,
    Erasure,
    Monitor,
    ScoringPolicy,
    Severity,
    WindowRequest,
)
from alliance_monitor.alerts import AlertDispatcher, AlertPolicy, WebhookEndpoint
from alliance_monitor.alerts.testing import LoopbackReceiver
from alliance_monitor.store import MemoryStore, RedisStore, SQLiteStore, StateStore
from alliance_monitor.study import PairBoard
from alliance_monitor.testing import EventCollector, StaticScorer

pytestmark = pytest.mark.anyio

SECRET = "whsec_" + "ZXJhc3VyZS10ZXN0LWFsZXJ0LXNlY3JldC0xMjM0"


def level(r: WindowRequest) -> float:
    return 4.5 if r.window_index < 1 else 1.5


def talk(
    conv: str, n: int, start: int = 0, t0: float = 1_700_000_000.0, tag: str = ""
) -> list[dict[str, Any]]:
    """A pair's messages, each carrying a marker of its pair (or `tag`) in the text."""
    return [
        {
            "conversation_id": conv,
            "id": f"{conv}-m{i}",
            "role": "counselor" if i % 2 == 0 else "client",
            "text": f"message {i} of MARK-{tag or conv}-TEXT: how was the week",
            "ts": t0 + i * 30.0,
        }
        for i in range(start, start + n)
    ]


def monitor(store: StateStore | None, **kw: Any) -> Monitor:
    return Monitor(
        scorer=StaticScorer(level, passive=0.8),
        scoring=ScoringPolicy(overload="wait"),
        store=store,
        idle_check_interval=None,
        **kw,
    )


def file_bytes(*paths: Path) -> bytes:
    return b"".join(p.read_bytes() for p in paths if p.exists())


def sqlite_files(db: Path) -> list[Path]:
    return [db, Path(f"{db}-wal"), Path(f"{db}-shm")]


# ---------------------------------------------------------------------- SQLite
async def test_erase_removes_the_text_from_the_sqlite_files(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    # 20 messages per pair: scored windows (snapshots, with journal rows replaced by them) and an
    # open window (journal rows); a cap of 2 evicts some pairs to the store.
    msgs = [m for c in ("gone", "kept", "third") for m in talk(c, 20)]
    async with monitor(SQLiteStore(db), max_pairs=2) as m:
        for x in msgs:
            await m.ingest(x)
        await m.flush()
        before = file_bytes(*sqlite_files(db))
        assert b"MARK-gone-TEXT" in before  # the test can see the text where it is
        erasure = await m.erase("gone")
        assert isinstance(erasure, Erasure) and erasure.conversation_id == "gone"
        assert erasure.removed["store.journal_messages"] + erasure.removed["store.snapshots"] > 0
        assert not m.core.has_pair("gone")
        after = file_bytes(*sqlite_files(db))
        assert b"MARK-gone-TEXT" not in after
        assert b"MARK-kept-TEXT" in after
        assert m.stats()["pairs_erased"] == 1
        # The pair's next message starts it afresh (it is not taken for a duplicate of the
        # erased ones), and a second erasure finds it.
        assert (await m.ingest(talk("gone", 1, tag="afresh")[0])).status == "accepted"
        again = await m.erase("gone")
        assert again.removed["memory.pair"] == 1
    # A restart brings back the other pairs and nothing of the erased one.
    col = EventCollector()
    async with monitor(SQLiteStore(db)) as m:
        m.on(col)
        assert not m.core.has_pair("gone")
        results = [await m.ingest(x) for x in msgs if x["conversation_id"] == "kept"]
        assert {r.status for r in results} == {"duplicate"}
        assert (await m.ingest(talk("gone", 1, tag="afresh")[0])).status == "accepted"
    assert b"MARK-gone-TEXT" not in file_bytes(*sqlite_files(db))


async def test_erasing_a_pair_never_seen_reports_zeros(tmp_path: Path) -> None:
    async with monitor(SQLiteStore(tmp_path / "s.db")) as m:
        e = await m.erase("nobody")
    assert e.total == 0
    assert e.removed["store.snapshots"] == 0 and e.removed["memory.pair"] == 0


async def test_messages_arriving_during_an_erasure_start_the_pair_afresh(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    first = talk("p", 14, tag="first")
    later = talk("p", 6, start=100, t0=1_700_100_000.0, tag="later")
    results: list[str] = []
    async with monitor(SQLiteStore(db)) as m:
        for x in first:
            await m.ingest(x)

        async def keep_sending() -> None:
            for x in later:
                results.append((await m.ingest(x)).status)
                await anyio.lowlevel.checkpoint()

        async with anyio.create_task_group() as tg:
            tg.start_soon(keep_sending)
            await m.erase("p")
        await m.flush()
    assert results == ["accepted"] * len(later)
    # What the store holds of "p" now is the later messages only: none of the first ones.
    async with SQLiteStore(db) as s:
        rec = await s.load_pair("p")
    stored = json.dumps(rec.snapshot) + "".join(j for _, j in rec.journal) if rec else ""
    assert "MARK-first-TEXT" not in stored
    assert b"MARK-first-TEXT" not in file_bytes(*sqlite_files(db))


# ---------------------------------------------------------------------- outbox and board
async def test_erase_reaches_the_outbox_and_the_board(tmp_path: Path) -> None:
    outbox = tmp_path / "alerts.db"
    board = PairBoard()
    async with LoopbackReceiver(secrets=[SECRET]) as rx:
        dispatcher = AlertDispatcher(
            [WebhookEndpoint(rx.url, [SECRET], name="rx")],
            outbox_path=str(outbox),
            allow_private=True,
            policy=AlertPolicy(cooldown=0),
        )
        async with dispatcher, monitor(SQLiteStore(tmp_path / "s.db")) as m:
            m.on(board)
            m.on(dispatcher.submit)
            for x in [*talk("gone", 30), *talk("kept", 30)]:
                await m.ingest(x)
            await m.flush()
            assert await dispatcher.drain(timeout=10)
            assert b"gone" in outbox.read_bytes() + file_bytes(Path(f"{outbox}-wal"))
            n_alerts = dispatcher.stats().delivered
            erasure = await m.erase("gone", also=[dispatcher, board])
            assert erasure.removed["outbox.alerts"] >= 1
            assert erasure.removed["board.pairs"] == 1
            assert board.get("gone") is None and board.get("kept") is not None
            assert dispatcher.stats().delivered == n_alerts - erasure.removed["outbox.alerts"]
    data = file_bytes(outbox, Path(f"{outbox}-wal"))
    assert b'"gone"' not in data and b"gone" not in data
    assert b"kept" in data


def low(conv: str, i: int) -> AllianceLow:
    return AllianceLow(
        id=f"evt-{conv}-{i}", conversation_id=conv, dimension="goal", level=1.8, windows=(i,)
    )


async def test_a_digest_not_yet_sent_gives_back_its_other_members(tmp_path: Path) -> None:
    outbox = tmp_path / "alerts.db"
    async with LoopbackReceiver(secrets=[SECRET]) as rx:
        await rx.stop()  # the endpoint is down: the digest stays pending
        dispatcher = AlertDispatcher(
            [WebhookEndpoint(rx.url, [SECRET], name="rx")],
            outbox_path=str(outbox),
            allow_private=True,
            policy=AlertPolicy(digest_interval=3600, digest_max_severity=Severity.MEDIUM),
        )
        async with dispatcher:
            for conv in ("gone", "kept"):
                assert (await dispatcher.submit(low(conv, 1))).action == "held"
            await dispatcher._flush_digests(dispatcher._clock(), force=True)
            assert dispatcher.stats().digests == 1
            out = dispatcher.erase("gone")
            assert out == {"outbox.alerts": 1, "outbox.digests": 1, "outbox.cooldowns": 1}
            st = dispatcher.stats()
            assert st.held == 1 and st.pending == 0  # "kept" waits for the next digest
            await rx.start()
            assert await dispatcher.drain(timeout=10)
    bodies = b"".join(d.body for d in rx.requests)
    assert b"kept" in bodies and b"gone" not in bodies
    assert b"gone" not in file_bytes(outbox, Path(f"{outbox}-wal"))


# ---------------------------------------------------------------------- Redis
async def test_erase_removes_the_pair_from_redis() -> None:
    url, prefix = redis_url(), unique_prefix("erase")
    msgs = [m for c in ("gone", "kept") for m in talk(c, 20)]
    try:
        async with monitor(RedisStore(url, prefix=prefix), max_pairs=1) as m:
            for x in msgs:
                await m.ingest(x)
            await m.flush()
            assert b"MARK-gone-TEXT" in await redis_dump(url, prefix)
            erasure = await m.erase("gone")
        assert erasure.removed["store.journal_messages"] + erasure.removed["store.snapshots"] > 0
        dump = await redis_dump(url, prefix)
        assert b"MARK-gone-TEXT" not in dump and b"MARK-kept-TEXT" in dump
        assert not [k for k in await redis_keys(url, prefix) if b"gone" in k]
    finally:
        await clear_prefix(url, prefix)


async def redis_keys(url: str, prefix: str) -> list[bytes]:
    import redis.asyncio as aioredis

    r = aioredis.Redis.from_url(url)
    try:
        return [k async for k in r.scan_iter(match=prefix + "*", count=1000)]
    finally:
        await r.aclose()


async def redis_dump(url: str, prefix: str) -> bytes:
    """Every key and value under the prefix, compressed states decompressed."""
    import redis.asyncio as aioredis

    r = aioredis.Redis.from_url(url)
    out: list[bytes] = []
    try:
        async for key in r.scan_iter(match=prefix + "*", count=1000):
            out.append(key)
            kind = (await r.type(key)).decode()
            values: list[bytes] = []
            if kind == "hash":
                for f, v in (await r.hgetall(key)).items():
                    values += [f, zlib.decompress(v) if v[:1] == b"x" else v]
            elif kind == "set":
                values = list(await r.smembers(key))
            elif kind == "string":
                values = [await r.get(key) or b""]
            elif kind == "zset":
                values = list(await r.zrange(key, 0, -1))
            elif kind == "stream":
                values = [repr(e).encode() for e in await r.xrange(key)]
            out += values
    finally:
        await r.aclose()
    return b"\n".join(out)


# ---------------------------------------------------------------------- retention
class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
async def test_retention_erases_pairs_idle_longer_than_the_limit(tmp_path: Path, kind: str) -> None:
    clock = Clock(1_700_000_000.0)
    store: StateStore = MemoryStore() if kind == "memory" else SQLiteStore(tmp_path / "s.db")
    async with monitor(store, max_pairs=2, clock=clock) as m:
        for conv in ("old1", "old2", "old3"):
            for x in talk(conv, 9):
                await m.ingest(x)
        await m.flush()  # a cap of 2: one of the old pairs is evicted to the store
        clock.now += 10 * 86400
        for x in talk("new", 9, t0=clock.now):
            await m.ingest(x)
        await m.flush()
        erased = await m.erase_stale(7 * 86400)
        assert sorted(e.conversation_id for e in erased) == ["old1", "old2", "old3"]
        assert m.core.has_pair("new")
        assert await store.load_pair("new") is not None or kind == "memory"
        for conv in ("old1", "old2", "old3"):
            assert await store.load_pair(conv) is None
        assert await m.erase_stale(7 * 86400) == []
    if kind == "sqlite":
        data = file_bytes(*sqlite_files(tmp_path / "s.db"))
        assert b"MARK-old1-TEXT" not in data and b"MARK-new-TEXT" in data


async def test_retention_on_redis_reads_last_activity_from_the_keys() -> None:
    url, prefix = redis_url(), unique_prefix("retain")
    clock = Clock(1_700_000_000.0)
    try:
        async with monitor(RedisStore(url, prefix=prefix), max_pairs=1, clock=clock) as m:
            for conv in ("old1", "old2"):
                for x in talk(conv, 9):
                    await m.ingest(x)
            await m.flush()
            clock.now += 40 * 86400
            for x in talk("new", 3, t0=clock.now):
                await m.ingest(x)
            await m.flush()
            erased = await m.erase_stale(30 * 86400)
        assert sorted(e.conversation_id for e in erased) == ["old1", "old2"]
        dump = await redis_dump(url, prefix)
        assert b"MARK-old1-TEXT" not in dump and b"MARK-old2-TEXT" not in dump
        assert b"MARK-new-TEXT" in dump
    finally:
        await clear_prefix(url, prefix)

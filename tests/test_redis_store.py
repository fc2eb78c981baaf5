"""The Redis store passes the restart, eviction and crash tests of the SQLite store
(tests/test_store.py), against a real redis-server."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import anyio
import pytest
from redis_helpers import clear_prefix, redis_url, unique_prefix
from test_store import CRASH_SCRIPT, run, traffic

from alliance_monitor.store import (
    JournalRow,
    PendingKey,
    PendingRow,
    SnapshotRow,
    SQLiteStore,
    StateStore,
    StoreBatch,
    open_store,
)
from alliance_monitor.store._redis import RedisStore, StoreFenced

pytestmark = pytest.mark.anyio

StoreFactory = Callable[[], StateStore]


@pytest.fixture(params=["sqlite", "redis"])
async def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[StoreFactory]:
    """A factory of stores that all open the same durable state (a restart reopens it)."""
    if request.param == "sqlite":
        yield lambda: SQLiteStore(tmp_path / "state.db")
        return
    url, prefix = redis_url(), unique_prefix("store")
    yield lambda: RedisStore(url, prefix=prefix)
    await clear_prefix(url, prefix)


async def test_restart_resumes_every_pair_where_it_left_off(make_store: StoreFactory) -> None:
    msgs = traffic()
    whole, _ = await run(None, msgs)
    first, _ = await run(make_store(), msgs[:130], end=False)
    second, m2 = await run(make_store(), msgs[100:])  # overlap: re-delivered messages
    assert m2.stats()["pairs_recovered"] == 4
    assert m2.stats()["duplicates"] == 30
    assert sorted(first.ids + second.ids) == sorted(whole.ids)  # none lost, none twice


async def test_memory_cap_evicts_to_the_store_and_restores(make_store: StoreFactory) -> None:
    msgs = traffic(n_pairs=30, n=40)
    whole, _ = await run(None, msgs)
    capped, m = await run(make_store(), msgs, max_pairs=5)
    assert m.stats()["pairs_evicted"] > 50
    assert m.core.n_pairs <= 5 + 1
    assert sorted(capped.ids) == sorted(whole.ids)


async def test_evicted_pairs_survive_a_restart(make_store: StoreFactory) -> None:
    msgs = traffic(n_pairs=12, n=40)
    whole, _ = await run(None, msgs)
    first, _ = await run(make_store(), msgs[: len(msgs) // 2], end=False, max_pairs=3)
    second, _ = await run(make_store(), msgs[len(msgs) // 2 :], max_pairs=3)
    assert sorted(first.ids + second.ids) == sorted(whole.ids)


async def test_state_survives_and_checks(make_store: StoreFactory) -> None:
    await run(make_store(), traffic(2, 30), end=False)
    async with make_store() as again:
        assert await again.integrity_check()
        assert sorted(await again.resident_pairs()) == ["p0", "p1"]
        rec = await again.load_pair("p0")
        assert rec is not None and rec.snapshot is not None
        assert len(rec.journal) < 12  # only what came after the last snapshot
        assert await again.load_pair("nobody") is None


async def test_batch_semantics_match_sqlite(make_store: StoreFactory) -> None:
    async with make_store() as s:
        J, P = JournalRow, PendingRow
        await s.commit(
            StoreBatch(
                journal=(J("c", 1, '{"a": 1}'), J("c", 2, '{"a": 2}')),
                pending_put=(P("c", 0, '{"window_index": 0}'),),
                emitted=("e1",),
            )
        )
        # INSERT OR IGNORE: a re-sent journal entry keeps the first value.
        await s.commit(StoreBatch(journal=(J("c", 2, '{"a": "other"}'), J("c", 3, '{"a": 3}'))))
        rec = await s.load_pair("c")
        assert rec is not None and rec.snapshot is None
        assert rec.journal == [(1, '{"a": 1}'), (2, '{"a": 2}'), (3, '{"a": 3}')]
        assert rec.pending == [{"window_index": 0}]
        # A snapshot replaces journal entries at or before its position.
        await s.commit(
            StoreBatch(
                snapshots=(SnapshotRow("c", 2, json.dumps({"x": "é ✓"}), False),),
                pending_del=(PendingKey("c", 0),),
            )
        )
        rec = await s.load_pair("c")
        assert rec is not None and rec.snapshot == {"x": "é ✓"}
        assert rec.journal == [(3, '{"a": 3}')] and rec.pending == []
        assert await s.resident_pairs() == ["c"]  # journal left
        await s.commit(StoreBatch(snapshots=(SnapshotRow("c", 3, "{}", False),)))
        assert await s.resident_pairs() == []  # evicted, nothing pending
        await s.commit(StoreBatch(snapshots=(SnapshotRow("c", 3, "{}", True),)))
        assert await s.resident_pairs() == ["c"]
        assert await s.emitted(["e1", "e2"]) == {"e1"}
        assert await s.integrity_check()


async def test_fenced_batch_is_refused_whole() -> None:
    url, prefix = redis_url(), unique_prefix("fence")
    try:
        async with RedisStore(url, prefix=prefix) as s:
            assert isinstance(s, RedisStore)
            await s.redis.set(prefix + "lease", "me")
            await s.commit(StoreBatch(journal=[("c", 1, "{}")]), fence={prefix + "lease": "me"})
            await s.redis.set(prefix + "lease", "someone-else")
            with pytest.raises(StoreFenced):
                await s.commit(
                    StoreBatch(journal=[("c", 2, "{}")], emitted=["e"]),
                    fence={prefix + "lease": "me"},
                )
            rec = await s.load_pair("c")
            assert rec is not None and [p for p, _ in rec.journal] == [1]
            assert await s.emitted(["e"]) == set()
    finally:
        await clear_prefix(url, prefix)


def test_open_store_routes_redis_urls() -> None:
    s = open_store("redis://127.0.0.1:6379/3")
    assert isinstance(s, RedisStore) and s.url == "redis://127.0.0.1:6379/3"


def test_kill_9_mid_stream_with_redis_store_loses_nothing(tmp_path: Path) -> None:
    """tests/test_store.py's crash test, with the Redis store: kill -9 the monitor many times."""
    url, prefix = redis_url(), unique_prefix("crash")
    script = tmp_path / "worker.py"
    script.write_text(
        CRASH_SCRIPT.replace(
            "from alliance_monitor.store import SQLiteStore",
            "from alliance_monitor.store._redis import RedisStore",
        ).replace("store=SQLiteStore(db)", f"store=RedisStore(db, prefix={prefix!r})")
    )
    msgs = traffic(n_pairs=6, n=60)
    inp = tmp_path / "in.jsonl"
    inp.write_text("".join(json.dumps(m) + "\n" for m in msgs))
    events = tmp_path / "events.txt"
    accepted: list[str] = []
    duplicates: set[str] = set()
    rnd = random.Random(11)
    kills, done = 0, False
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    try:
        for _attempt in range(30):
            proc = subprocess.Popen(
                [sys.executable, str(script), url, str(inp), str(events)],
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
                env=env,
            )
            assert proc.stdout is not None
            target, seen = rnd.randint(5, 60), 0
            duplicates = set()
            for line in proc.stdout:
                if line.startswith("DONE"):
                    done = True
                    break
                kind, mid = line.split()
                if kind == "A":
                    accepted.append(mid)
                    seen += 1
                else:
                    duplicates.add(mid)
                if seen >= target:
                    proc.send_signal(signal.SIGKILL)
                    kills += 1
                    break
            proc.wait()
            proc.stdout.close()
            if done:
                break
        assert done and kills >= 5
        assert len(accepted) == len(set(accepted))
        assert set(accepted) | duplicates == {m["id"] for m in msgs}
        whole, _ = anyio.run(run, None, msgs)
        emitted = events.read_text().split()
        assert set(emitted) == set(whole.ids)
        assert len(emitted) - len(set(emitted)) <= kills

        async def check() -> None:
            async with RedisStore(url, prefix=prefix) as s:
                assert await s.integrity_check()

        anyio.run(check)
    finally:
        anyio.run(clear_prefix, url, prefix)

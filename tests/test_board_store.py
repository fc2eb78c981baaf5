"""The supervisor board kept in the state store: it survives restarts and kill -9 (each event on
it once), spans processes (a follower shows every writer's pairs), holds no message text, and
goes with a pair's erasure."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
import zlib
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from redis_helpers import clear_prefix, redis_url, unique_prefix
from test_serve import HTTP_SECRET, Proc, signed, wait_for, write
from test_store import level, traffic

from alliance_monitor import Monitor, ScoringPolicy
from alliance_monitor.store import MemoryStore, RedisStore, SQLiteStore, StateStore
from alliance_monitor.study import BoardFollower, PairBoard, StoredBoard
from alliance_monitor.testing import StaticScorer

pytestmark = pytest.mark.anyio

RISK = "Honestly I want to kill myself."


def with_risk(msgs: list[dict[str, Any]], conv: str = "p1") -> list[dict[str, Any]]:
    """The traffic with one client message of `conv` saying something risky (a safety signal)."""
    out = [dict(m) for m in msgs]
    for m in out:
        if m["conversation_id"] == conv and m["role"] == "client":
            m["text"] = RISK
            break
    return out


def monitor(store: StateStore | None) -> Monitor:
    return Monitor(
        scorer=StaticScorer(level, passive=0.8),
        scoring=ScoringPolicy(overload="wait"),
        store=store,
        idle_check_interval=None,
    )


def picture(board: PairBoard) -> dict[str, Any]:
    """What a supervisor sees of every pair (the process-local version numbers left out)."""
    out = {}
    for row in board.listing(limit=10_000)["pairs"]:
        view = board.view(row["id"])
        assert view is not None
        view.pop("version")
        out[row["id"]] = view
    return out


async def whole_board(msgs: list[dict[str, Any]]) -> dict[str, Any]:
    board = PairBoard()
    async with monitor(None) as m:
        m.on(board)
        for x in msgs:
            await m.ingest(x)
        await m.end_all_sessions()
    return picture(board)


async def test_a_record_restores_what_the_supervisor_sees() -> None:
    board = PairBoard()
    async with monitor(None) as m:
        m.on(board)
        for x in with_risk(traffic(n_pairs=3, n=40)):
            await m.ingest(x)
        await m.end_all_sessions()
    again = PairBoard()
    for conv in board.conversations():
        again.restore_pair(json.loads(json.dumps(board.pair_record(conv))))
    assert picture(again) == picture(board)
    assert [s.conversation_id for s in again.ranked()] == [
        s.conversation_id for s in board.ranked()
    ]
    assert board.ranked()[0].concern == "safety"


async def test_an_event_sent_again_is_on_the_board_once() -> None:
    """After a crash the monitor re-sends the events it had not recorded as emitted; the
    board's record may already hold them (its commit came first): applied once."""
    events: list[Any] = []
    async with monitor(None) as m:
        m.on(events.append)
        for x in with_risk(traffic(n_pairs=1, n=40), conv="p0"):
            await m.ingest(x)
        await m.end_all_sessions()
    board = PairBoard()
    for e in events:
        board(e)
    once = picture(board)
    restored = PairBoard()
    restored.restore_pair(json.loads(json.dumps(board.pair_record("p0"))))
    for e in events[-5:]:  # the tail again, as a recovery re-sends it
        board(e)
        restored(e)
    assert picture(board) == picture(restored) == once
    assert board.duplicates == restored.duplicates == 5


async def test_the_board_survives_a_restart(tmp_path: Path) -> None:
    msgs = with_risk(traffic(n_pairs=4, n=40))
    db = tmp_path / "state.db"
    stored = StoredBoard()
    async with monitor(stored.wrap(SQLiteStore(db))) as m:
        m.on(stored)
        for x in msgs:
            await m.ingest(x)
        await m.end_all_sessions()
    assert stored.counts["records_written"] > 0
    again = StoredBoard()
    async with monitor(again.wrap(SQLiteStore(db))) as m:
        m.on(again)
        assert await again.load() == 4
    assert picture(again.board) == await whole_board(msgs)
    # The records hold no message text (no include_text).
    async with SQLiteStore(db) as s:
        records = await s.load_board()
    text = b"".join(zlib.decompress(r) for r in records.values())
    assert b"kill myself" not in text and b"hello there" not in text


CRASH_SCRIPT = r"""
import sys, json, anyio
from alliance_monitor import Monitor, ScoringPolicy
from alliance_monitor.store import SQLiteStore
from alliance_monitor.study import StoredBoard
from alliance_monitor.testing import StaticScorer
db, inp = sys.argv[1], sys.argv[2]
def level(r): return 4.5 if r.window_index < 2 else 2.0
async def main():
    msgs = [json.loads(l) for l in open(inp)]
    board = StoredBoard()
    m = Monitor(scorer=StaticScorer(level, passive=0.8), scoring=ScoringPolicy(overload="wait"),
                store=board.wrap(SQLiteStore(db)), idle_check_interval=None)
    async with m:
        m.on(board)
        await board.load()
        for x in msgs:
            r = await m.ingest(x)
            print("A" if r.status == "accepted" else "D", flush=True)
        await m.end_all_sessions()
    print("DONE", flush=True)
anyio.run(main)
"""


def test_kill_9_many_times_leaves_each_event_on_the_board_once(tmp_path: Path) -> None:
    msgs = with_risk(traffic(n_pairs=5, n=50), conv="p2")
    inp = tmp_path / "in.jsonl"
    inp.write_text("".join(json.dumps(m) + "\n" for m in msgs))
    script = tmp_path / "board.py"
    script.write_text(CRASH_SCRIPT)
    db = tmp_path / "state.db"
    rnd = random.Random(11)
    kills, done = 0, False
    for _attempt in range(40):
        proc = subprocess.Popen(
            [sys.executable, str(script), str(db), str(inp)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert proc.stdout is not None
        target, seen = rnd.randint(5, 50), 0
        for line in proc.stdout:
            if line.startswith("DONE"):
                done = True
                break
            seen += line.startswith("A")
            if seen >= target:
                proc.send_signal(signal.SIGKILL)
                kills += 1
                break
        proc.wait()
        proc.stdout.close()
        if done:
            break
    assert done and kills >= 5

    async def final() -> dict[str, Any]:
        board = StoredBoard()
        async with monitor(board.wrap(SQLiteStore(db))) as m:
            m.on(board)
            await board.load()
        return picture(board.board)

    # Every window, marker and count as an uninterrupted run has them: none lost, none twice.
    assert anyio.run(final) == anyio.run(whole_board, msgs)


async def test_a_follower_shows_every_writers_pairs_and_lets_erased_ones_go() -> None:
    url, prefix = redis_url(), unique_prefix("board")
    msgs = with_risk(traffic(n_pairs=4, n=30))
    halves = [
        [x for x in msgs if x["conversation_id"] in ("p0", "p1")],
        [x for x in msgs if x["conversation_id"] in ("p2", "p3")],
    ]
    try:
        follower = BoardFollower(RedisStore(url, prefix=prefix), interval=0.05)
        await follower.store.open()
        boards = [StoredBoard(), StoredBoard()]
        monitors = [monitor(b.wrap(RedisStore(url, prefix=prefix))) for b in boards]
        async with monitors[0] as a, monitors[1] as b:
            a.on(boards[0])
            b.on(boards[1])
            await follower.refresh()  # nothing yet
            for m, part in zip((a, b), halves, strict=True):
                for x in part:
                    await m.ingest(x)
                await m.end_all_sessions()
                await m.flush()
            await follower.refresh()
            assert sorted(follower.board.conversations()) == ["p0", "p1", "p2", "p3"]
            assert picture(follower.board) == await whole_board(msgs)
            assert follower.board.ranked()[0].concern == "safety"
            erasure = await a.erase("p1", also=[boards[0]])
            assert erasure.removed["store.board_records"] == 1
            await follower.refresh()
            assert sorted(follower.board.conversations()) == ["p0", "p2", "p3"]
        # A new follower (a restarted board process) reads the same.
        fresh = BoardFollower(RedisStore(url, prefix=prefix))
        await fresh.store.open()
        await fresh.refresh()
        assert sorted(fresh.board.conversations()) == ["p0", "p2", "p3"]
        await fresh.store.aclose()
        await follower.store.aclose()
    finally:
        await clear_prefix(url, prefix)


async def test_a_follower_of_a_store_without_a_change_log_reads_it_whole() -> None:
    store = MemoryStore()
    stored = StoredBoard()
    async with monitor(stored.wrap(store)) as m:
        m.on(stored)
        for x in traffic(n_pairs=2, n=20):
            await m.ingest(x)
        await m.flush()
        follower = BoardFollower(store)
        await follower.refresh()
        assert sorted(follower.board.conversations()) == ["p0", "p1"]
        await m.erase("p0", also=[stored])
        await follower.refresh()
        assert follower.board.conversations() == ["p1"]


def test_serve_shows_the_same_board_after_a_restart(tmp_path: Path) -> None:
    """The issue's case: after a restart on a SQLite store the board showed 0 pairs."""
    config = write(
        tmp_path,
        f"""
[monitor]
store = "sqlite:///{tmp_path / "state.db"}"

[supervisor]
enabled = true
port = 0

[[adapters]]
type = "http"
secrets_env = ["AM_HTTP_SECRET"]
""",
    )
    assert HTTP_SECRET
    msgs = with_risk(traffic(n_pairs=5, n=24), conv="p3")
    proc = Proc(config)
    try:
        body = json.dumps({"messages": msgs}).encode()
        r = httpx.post(proc.base + "/hooks/messages", content=body, headers=signed(body, "d1"))
        assert r.status_code == 202
        board = proc.board

        def five() -> bool:
            return len(httpx.get(board + "/api/pairs", timeout=5).json()["pairs"]) == 5

        wait_for(five)
        time.sleep(0.5)  # the last windows' records
        before = httpx.get(board + "/api/pairs", timeout=5).json()["pairs"]
    finally:
        assert proc.stop() == 0
    again = Proc(config)
    try:
        after = httpx.get(again.board + "/api/pairs", timeout=5).json()["pairs"]
    finally:
        assert again.stop() == 0
    assert len(after) == 5
    assert after[0]["id"] == "p3" and after[0]["concern"] == "safety"
    assert {p["id"]: p["counts"] for p in after} == {p["id"]: p["counts"] for p in before}

"""Pull adapters: the in-memory queue and JSONL files / stdin, fed through `pump`."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest

from alliance_monitor import Monitor
from alliance_monitor.adapters import (
    ConversationMap,
    JsonlAdapter,
    MemoryAdapter,
    RecentIds,
    RoleMap,
    pump,
)
from alliance_monitor.testing import StaticScorer

pytestmark = pytest.mark.anyio


def msg(i: int, role: str = "client", conv: str = "p1") -> dict[str, Any]:
    return {"conversation_id": conv, "id": f"m{i}", "role": role, "text": f"hi {i}", "ts": float(i)}


def monitor() -> Monitor:
    return Monitor(scorer=StaticScorer(), idle_check_interval=None)


async def test_memory_adapter_feeds_the_monitor_with_backpressure() -> None:
    queue = MemoryAdapter(maxsize=2)
    mon = monitor()
    async with mon, anyio.create_task_group() as tg:
        assert queue.put_nowait(msg(0)) and queue.put_nowait(msg(1))
        assert not queue.put_nowait(msg(2))  # full: a request handler would answer 503
        tg.start_soon(pump, queue, mon)
        for i in range(2, 6):
            await queue.put(msg(i, "counselor" if i % 2 else "client"))
        queue.close()
    assert mon.stats()["accepted"] == 6


async def test_pump_counts_every_outcome(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    lines = [
        json.dumps(msg(0)),
        "not json at all",
        "",
        json.dumps([1, 2]),
        json.dumps(
            {
                "conversation_id": "p2",
                "messages": [
                    {"id": "a", "role": "counselor", "text": "hello", "ts": 1.0},
                    "junk",
                    {"id": "b", "role": "client", "text": "hi", "ts": 2.0},
                ],
            }
        ),
        json.dumps(msg(0)),  # duplicate
        json.dumps({**msg(9), "text": ""}),
    ]
    path.write_text("\n".join(lines) + "\n")
    mon = monitor()
    async with mon:
        counts = await pump(JsonlAdapter(path), mon)
    # Three of the rejections never became a message (not JSON, not an object, not a message).
    assert counts == {"accepted": 3, "rejected": 4, "duplicate": 1, "rejected_before_ingest": 3}
    st = mon.stats()
    # What the adapter could not read is in the monitor's ledger too (Monitor.reject).
    assert st["messages_in"] == sum(counts[k] for k in ("accepted", "rejected", "duplicate"))
    assert mon.stats()["rejected_by_reason"] == {
        "invalid_json": 1,
        "invalid_schema": 2,
        "empty_text": 1,
    }


async def test_jsonl_follow_reads_lines_as_they_are_written(tmp_path: Path) -> None:
    path = tmp_path / "live.jsonl"
    path.write_text(json.dumps(msg(0)) + "\n")
    adapter = JsonlAdapter(path, follow=True, poll_interval=0.02)
    mon = monitor()
    async with mon, anyio.create_task_group() as tg:
        tg.start_soon(pump, adapter, mon)
        with path.open("a") as f:
            line = json.dumps(msg(1))
            f.write(line[:10])  # a writer caught mid-line
            f.flush()
            await anyio.sleep(0.1)
            f.write(line[10:] + "\n")
        with anyio.fail_after(5):
            while mon.stats().get("accepted", 0) < 2:
                await anyio.sleep(0.02)
        await adapter.aclose()
    assert mon.stats()["accepted"] == 2 and mon.stats().get("rejected", 0) == 0


async def test_jsonl_from_a_stream() -> None:
    stream = io.StringIO("\n".join(json.dumps(msg(i)) for i in range(3)) + "\n")
    mon = monitor()
    async with mon:
        counts = await pump(JsonlAdapter("-", stream=stream), mon)
    assert counts == {"accepted": 3}


def test_jsonl_from_stdin_in_a_real_process() -> None:
    code = (
        "import anyio\n"
        "from alliance_monitor import Monitor\n"
        "from alliance_monitor.adapters import JsonlAdapter, pump\n"
        "from alliance_monitor.testing import StaticScorer\n"
        "async def main():\n"
        "    m = Monitor(scorer=StaticScorer(), idle_check_interval=None)\n"
        "    async with m:\n"
        "        print(dict(await pump(JsonlAdapter('-'), m)))\n"
        "anyio.run(main)\n"
    )
    data = "".join(json.dumps(msg(i)) + "\n" for i in range(4)) + "{bad\n"
    out = subprocess.run(
        [sys.executable, "-c", code],
        input=data,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert out.stdout.strip() == "{'accepted': 4, 'rejected': 1, 'rejected_before_ingest': 1}"


def test_role_and_conversation_maps() -> None:
    roles = RoleMap.of({"dr-lee"}, counselor_roles={"agent"}, others={"supervisor"})
    assert roles.role_of("dr-lee").value == "counselor"
    assert roles.role_of("someone", "agent").value == "counselor"
    assert roles.role_of("supervisor").value == "other"
    assert roles.role_of("client-1").value == "client"
    assert roles.ids_for(roles.role_of("dr-lee"), "dr-lee") == {"counselor_id": "dr-lee"}
    conv = ConversationMap({"room-1": "pair-1"}, prefix="slack:")
    assert conv.conversation_of("room-1") == "pair-1"
    assert conv.conversation_of("room-2") == "slack:room-2"
    assert ConversationMap({"a": "b"}, only_mapped=True).conversation_of("c") is None


def test_recent_ids_are_bounded() -> None:
    seen = RecentIds(capacity=3)
    for k in "abcd":
        seen.add(k)
    assert "a" not in seen and "d" in seen and len(seen) == 3

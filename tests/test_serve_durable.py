"""`serve` acknowledges only what is durable: bad state files refused at start, one process per
state file, a full disk answered 503 (never 2xx for what was not stored) and not ready."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from test_serve import ENV, Proc, signed, write
from test_store_startup import read_only_folder

from alliance_monitor import Monitor
from alliance_monitor.store import SQLiteStore
from alliance_monitor.testing import StaticScorer


def _config(tmp_path: Path, db: Path) -> Path:
    return write(
        tmp_path,
        f"""
[server]
shutdown_timeout = 5

[monitor]
store = "sqlite:///{db}"

[[adapters]]
type = "http"
path = "/hooks/messages"
secrets_env = ["AM_HTTP_SECRET"]
""",
    )


def _start_fails(config: Path) -> tuple[int, list[str]]:
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "alliance_monitor.cli",
            "serve",
            "--config",
            str(config),
            "--port",
            "0",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **ENV},
    )
    return r.returncode, r.stderr.splitlines()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "is an empty file, not a store"),
        (b"\x00garbage that is no database\n" * 300, "is not an SQLite database"),
    ],
)
def test_a_state_file_that_is_no_store_stops_the_start_with_one_line(
    tmp_path: Path, content: bytes, expected: str
) -> None:
    db = tmp_path / "state.db"
    db.write_bytes(content)
    rc, lines = _start_fails(_config(tmp_path, db))
    assert rc == 2, lines
    assert len(lines) == 1 and lines[0].startswith("alliance-monitor serve: "), lines
    assert str(db) in lines[0] and expected in lines[0]
    assert db.read_bytes() == content  # nothing initialised over it


def test_a_state_folder_that_takes_no_writes_stops_the_start(tmp_path: Path) -> None:
    folder = tmp_path / "state"
    folder.mkdir()
    config = _config(tmp_path, folder / "state.db")
    with read_only_folder(folder):
        rc, lines = _start_fails(config)
    assert rc == 2, lines
    assert len(lines) == 1 and "is not writable" in lines[0] and str(folder) in lines[0], lines


def test_a_second_serve_on_one_state_file_fails_fast_naming_the_holder(tmp_path: Path) -> None:
    db = tmp_path / "state.db"
    config = _config(tmp_path, db)
    first = Proc(config)
    try:
        assert httpx.get(first.base + "/readyz", timeout=5).status_code == 200
        rc, lines = _start_fails(config)
        assert rc == 4, lines
        assert len(lines) == 1, lines
        assert f"{db} is in use by another process (pid {first.p.pid})" in lines[0]
        assert httpx.get(first.base + "/readyz", timeout=5).status_code == 200  # unharmed
    finally:
        assert first.stop() == 0
    second = Proc(config)  # the file is free once the first one stopped
    assert second.stop() == 0


# ---------------------------------------------------------------------- a full disk
def _limit_file_size() -> None:  # in the child, before exec: files may not grow past 400 KiB
    import resource

    resource.setrlimit(resource.RLIMIT_FSIZE, (400 * 1024, 400 * 1024))


def test_a_full_disk_is_answered_503_and_every_acknowledged_message_survives(
    tmp_path: Path,
) -> None:
    """`ulimit -f 400`: the store fails once its files reach 400 KiB. Every message answered 2xx
    must be in the store after a restart; the others get 503 with Retry-After; /readyz says
    the service is not ready while the store fails."""
    db = tmp_path / "state.db"
    config = _config(tmp_path, db)
    proc = Proc(config, preexec_fn=_limit_file_size)
    acked: list[dict[str, Any]] = []
    codes: Counter[int] = Counter()
    try:
        url = proc.base + "/hooks/messages"
        client = httpx.Client(timeout=30)
        for i in range(300):
            m = {
                "conversation_id": f"pair-{i % 10}",
                "id": f"m{i}",
                "role": "counselor" if i % 2 else "client",
                "text": f"message {i} " + "words of an ordinary reply " * 60,
                "ts": 1000.0 + i,
            }
            body = json.dumps({"messages": [m]}).encode()
            r = client.post(url, content=body, headers=signed(body, f"msg_{i}"))
            codes[r.status_code] += 1
            if 200 <= r.status_code < 300:
                acked.append(m)
            else:
                assert r.status_code == 503 and r.headers["retry-after"], r.status_code
        ready = client.get(proc.base + "/readyz")
        metrics = client.get(proc.base + "/metrics").text
        client.close()
    finally:
        assert proc.stop() == 0
    assert codes[503] > 0 and len(acked) > 0, codes  # the disk did fill during the run
    assert ready.status_code == 503 and ready.json()["checks"]["store"] is False
    assert "not_stored" in metrics

    async def stored_again() -> list[str]:
        lost = []
        async with Monitor(scorer=StaticScorer(), store=SQLiteStore(db)) as m:
            for x in acked:
                if (await m.ingest(x)).status != "duplicate":
                    lost.append(x["id"])
        return lost

    assert anyio.run(stored_again) == []  # acknowledged and lost: none

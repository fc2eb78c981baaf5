"""Set-up shared by the scale-out tests (test_stream_ingest.py, test_scaleout_e2e.py) and
benchmarks/scaleout.py: traffic from the bundled transcripts, signed deliveries to the HTTP
adapter, the command line's processes, and who holds the shard leases on Redis.

The benchmark imports it with tests/ on its path, as benchmarks/edges.py does with the others.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Mapping
from contextlib import ExitStack
from importlib.resources import files
from pathlib import Path
from typing import IO, Any

import anyio
import httpx
from helpers import signed_headers

from alliance_monitor.adapters.redis_streams import state_prefix


def bundled_traffic(tag: str, copies: int) -> list[dict[str, Any]]:
    """The bundled demo and sample transcripts (17 pairs), `copies` times under new ids
    (``TAG-CONV-COPY``), interleaved across pairs as a platform would send them."""
    pairs = []
    for name in ("demo.jsonl", "sample.jsonl"):
        for line in (files("alliance_monitor") / "demo_data" / name).read_text().splitlines():
            t = json.loads(line)
            for c in range(copies):
                conv = f"{tag}-{t['conversation_id']}-{c}"
                pairs.append(
                    [{**m, "conversation_id": conv, "id": f"{m['id']}~{c}"} for m in t["messages"]]
                )
    return [p[i] for i in range(max(map(len, pairs))) for p in pairs if i < len(p)]


async def deliver(
    http: httpx.AsyncClient,
    url: str,
    secret: str,
    messages: list[dict[str, Any]],
    *,
    pause: float = 0.2,
    tries: int | None = 50,
) -> None:
    """POST `messages` as one signed delivery until it is taken (202). A 503 (not stored yet)
    is sent again after `pause`, as a platform does, up to `tries` times (None: no end); any
    other answer fails."""
    body = json.dumps({"messages": messages}).encode()
    headers = signed_headers(secret, body)
    n = 0
    while tries is None or n < tries:
        r = await http.post(url, content=body, headers=headers)
        if r.status_code == 202:
            return
        assert r.status_code == 503, r.text
        n += 1
        await anyio.sleep(pause)
    raise AssertionError("the ingest process never took a delivery")


def start_cli(
    args: list[str], log: Path, env: Mapping[str, str], *, out: Path | None = None
) -> subprocess.Popen[bytes]:
    """``python -m alliance_monitor.cli ARGS`` with `env` added to this one's: its stderr (the
    log) to `log`, its stdout to `out` (a worker's final stats) or nowhere."""
    with ExitStack() as opened:
        err = opened.enter_context(log.open("wb"))
        stdout: IO[bytes] | int = (
            opened.enter_context(out.open("wb")) if out is not None else subprocess.DEVNULL
        )
        return subprocess.Popen(
            [sys.executable, "-m", "alliance_monitor.cli", *args],
            stdout=stdout,
            stderr=err,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **env},
        )


def read(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


async def announced(log: Path, marker: str, proc: subprocess.Popen[bytes]) -> str:
    """What follows `marker` in the first line of `log` that has it (an address the process
    announces); fails when the process exits first, with its log's tail."""
    with anyio.fail_after(60):
        while True:
            for line in read(log).splitlines():
                if marker in line:
                    return line.split(marker, 1)[1].strip()
            if proc.poll() is not None:
                raise AssertionError(f"exited {proc.returncode}: {read(log)[-2000:]}")
            await anyio.sleep(0.1)


async def lease_holders(r: Any, stream: str, shards: int) -> Counter[str]:
    """Consumers holding a shard lease of `stream` now -> how many shards each holds."""
    held: Counter[str] = Counter()
    for k in range(shards):
        v = await r.get(f"{state_prefix(stream)}lease:{stream}:{k}")
        if v is not None:
            held[v.decode().rsplit(":", 1)[0]] += 1
    return held

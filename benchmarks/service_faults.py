"""`serve` under the faults of issue 20: figures for docs/reliability.md, before and after.

    .venv/bin/python benchmarks/service_faults.py                       # this checkout
    .venv/bin/python benchmarks/service_faults.py --python OLD/bin/python  # another install

Each scenario runs real `serve` processes of the chosen Python (`--python`, default this one)
with a SQLite store, and checks the store afterwards with that same installation:

1. disk full: `serve` with `ulimit -f 400` (files may not grow past 400 KiB); 300 signed posts of
   one ~1.6 KB message each. Prints the answers by status, what /readyz said at the end, and how
   many messages answered 2xx are missing from the store after a restart (must be 0).
2. second process: two `serve` started on one state file; 200 messages posted to them in turn.
   Prints whether the second started, the answers, and how many acknowledged messages are
   missing from the store after both stopped (must be 0).
3. clock: through `Monitor` (the library of that installation, its live clock), one pair's
   session s1 of five messages, the fifth stamped three years ahead, then session s2 of three;
   and 20 messages with `seq` in order whose timestamps jump an hour after the tenth (a
   daylight-saving error). Prints each session as its summary reports it, and the stamps
   clamped. Expected: s1 of 5 ended by the new session, s2 of 3; and one session of 20.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

SECRET = "whsec_" + "ZmF1bHRzLWJlbmNobWFyay1zZWNyZXQtMTIzNDU2Nzg="
SERVE = ["-m", "alliance_monitor.cli", "serve", "--port", "0", "--config"]
CHECK = textwrap.dedent(
    """
    import json, sys, anyio
    from alliance_monitor import Monitor
    from alliance_monitor.store import SQLiteStore
    from alliance_monitor.testing import StaticScorer

    async def main():
        acked = json.load(open(sys.argv[2]))
        async with Monitor(scorer=StaticScorer(), store=SQLiteStore(sys.argv[1])) as m:
            lost = [x["id"] for x in acked if (await m.ingest(x)).status != "duplicate"]
        print(len(lost))

    anyio.run(main)
    """
)


def _sign(body: bytes, wid: str) -> dict[str, str]:
    from alliance_monitor.alerts import sign_webhook

    ts = int(time.time())
    return {
        "content-type": "application/json",
        "webhook-id": wid,
        "webhook-timestamp": str(ts),
        "webhook-signature": sign_webhook([SECRET], wid, ts, body),
    }


def _config(folder: Path, db: Path) -> Path:
    p = folder / f"serve-{db.stem}.toml"
    p.write_text(
        f'[server]\nshutdown_timeout = 5\n[monitor]\nstore = "sqlite:///{db}"\n'
        '[[adapters]]\ntype = "http"\npath = "/hooks"\nsecrets_env = ["AM_SECRET"]\n'
    )
    return p


def _start(python: str, config: Path, limit: int | None = None) -> tuple[Any, str | None, str]:
    def pre() -> None:
        if limit is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    proc = subprocess.Popen(
        [python, *SERVE, str(config)],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "AM_SECRET": SECRET},
        cwd=config.parent,
        preexec_fn=pre,
    )
    assert proc.stderr is not None
    lines = []
    while True:
        line = proc.stderr.readline()
        if not line:
            proc.wait()
            return proc, None, "".join(lines).strip()
        lines.append(line)
        if "listening on " in line:
            threading.Thread(target=proc.stderr.read, daemon=True).start()
            return proc, line.split("listening on ", 1)[1].strip(), ""


def _stop(proc: Any) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)


def _message(i: int, convs: int, words: int) -> dict[str, Any]:
    return {
        "conversation_id": f"pair-{i % convs}",
        "id": f"m{i}",
        "role": "counselor" if i % 2 else "client",
        "text": f"message {i} " + "words of an ordinary reply " * words,
        "ts": 1000.0 + i,
    }


def _lost(python: str, db: Path, acked: list[dict[str, Any]], folder: Path) -> int:
    f = folder / f"acked-{db.stem}.json"
    f.write_text(json.dumps(acked))
    out = subprocess.run(
        [python, "-c", CHECK, str(db), str(f)], capture_output=True, text=True, cwd=folder
    )
    return int(out.stdout.strip() or -1)


def disk_full(python: str, folder: Path) -> dict[str, Any]:
    db = folder / "full.db"
    proc, base, _ = _start(python, _config(folder, db), limit=400 * 1024)
    assert base is not None
    codes: Counter[int] = Counter()
    acked = []
    with httpx.Client(timeout=30) as client:
        for i in range(300):
            m = _message(i, 10, 60)
            body = json.dumps({"messages": [m]}).encode()
            r = client.post(base + "/hooks", content=body, headers=_sign(body, f"w{i}"))
            codes[r.status_code] += 1
            if r.status_code < 300:
                acked.append(m)
        ready = client.get(base + "/readyz").status_code
    _stop(proc)
    return {
        "answers": dict(codes),
        "readyz_at_the_end": ready,
        "acknowledged": len(acked),
        "acknowledged_then_lost": _lost(python, db, acked, folder),
    }


def second_process(python: str, folder: Path) -> dict[str, Any]:
    db = folder / "shared.db"
    config = _config(folder, db)
    first, base1, _ = _start(python, config)
    second, base2, error = _start(python, config)
    bases = [b for b in (base1, base2) if b is not None]
    codes: Counter[int] = Counter()
    acked = []
    with httpx.Client(timeout=30) as client:
        for i in range(200):
            m = _message(i, 5, 2)
            body = json.dumps({"messages": [m]}).encode()
            r = client.post(
                bases[i % len(bases)] + "/hooks", content=body, headers=_sign(body, f"w{i}")
            )
            codes[r.status_code] += 1
            if r.status_code < 300:
                acked.append(m)
    _stop(first)
    _stop(second)
    return {
        "second_started": base2 is not None,
        "second_said": error.splitlines()[-1] if error else "",
        "answers": dict(codes),
        "acknowledged": len(acked),
        "acknowledged_then_lost": _lost(python, db, acked, folder),
    }


CLOCK = textwrap.dedent(
    """
    import json, time, anyio
    from alliance_monitor import Monitor
    from alliance_monitor.testing import StaticScorer

    def m(i, ts, **kw):
        return {"conversation_id": "p", "id": str(i), "role": "client" if i % 2 else "counselor",
                "text": "hello", "ts": ts, **kw}

    async def sessions(messages):
        done, clamped = [], 0
        async with Monitor(scorer=StaticScorer()) as mon:
            mon.on(lambda e: done.append(
                f"{e.session_id}:{e.n_messages} messages, ended {e.end_reason}"
            ), types={"session_summary"})
            for x in messages:
                await mon.ingest(x)
            await mon.end_all_sessions()
            await mon.flush()
            clamped = mon.stats().get("timestamps_clamped", 0)
        return {"sessions": done, "timestamps_clamped": clamped}

    now = time.time()
    ahead = [m(i, now + i, session_id="s1") for i in range(4)]
    ahead.append(m(4, now + 3 * 365 * 86400, session_id="s1"))
    ahead += [m(i, now + i, session_id="s2") for i in range(5, 8)]
    skew = [m(100 + i, now + 30 * i + (3600 if i >= 10 else 0), seq=i + 1) for i in range(20)]
    out = {
        "three_years_ahead": anyio.run(sessions, ahead),
        "hour_of_skew_with_seq": anyio.run(sessions, skew),
    }
    print(json.dumps(out))

    """
)


def clock(python: str, folder: Path) -> dict[str, Any]:
    out = subprocess.run([python, "-c", CLOCK], capture_output=True, text=True, cwd=folder)
    return json.loads(out.stdout) if out.returncode == 0 else {"error": out.stderr[-300:]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--only", choices=["disk", "second", "clock"])
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if args.only in (None, "disk"):
            print("disk full:", json.dumps(disk_full(args.python, folder)))
        if args.only in (None, "second"):
            print("second process:", json.dumps(second_process(args.python, folder)))
        if args.only in (None, "clock"):
            print("clock:", json.dumps(clock(args.python, folder)))


if __name__ == "__main__":
    main()

"""`serve`'s listener under a reconnecting slow client, and its plain speed beside uvicorn.

    .venv/bin/python benchmarks/listener.py                    # both parts
    .venv/bin/python benchmarks/listener.py --only trickle --connections 300 --posts 60
    .venv/bin/python benchmarks/listener.py --only trickle --python OTHER/bin/python
    .venv/bin/python benchmarks/listener.py --only speed --requests 4000

1. trickle: `serve` (a real process, default limits) with an HTTP webhook adapter. From
   127.0.0.2, `--connections` connections send a request head (half of them) or a request body
   (the other half, after a whole head) one byte a second and reconnect whenever the server
   closes them (issue 20, finding 8); from 127.0.0.1 a platform sends
   `--posts` signed messages one after the other, each retried every 0.5 s on a 503 as a
   platform would, for at most 60 s. Prints how many were taken, the time each took (to its
   202, retries included) and what the listener refused. `--python` runs the `serve` of another
   installation (for example a virtual environment with an earlier version) for a before/after.
2. speed: requests per second for `GET /healthz` on kept-alive connections (`--concurrency`
   clients) against `serve`'s own listener and, in the same run, against uvicorn serving the
   very same ASGI app (`Service.app`), and their ratio. Needs uvicorn for the comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

SECRET = "whsec_" + "bGlzdGVuZXItYmVuY2htYXJrLXNlY3JldC0xMjM0NTY="
ATTACKER = "127.0.0.2"
SERVE = (
    "import sys; from argparse import Namespace; from alliance_monitor._cli_service import cmd_serve; "
    "sys.exit(cmd_serve(Namespace(config=sys.argv[1], host='127.0.0.1', port=0)))"
)


def _start(python: str, config: Path) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [python, "-c", SERVE, str(config)],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "AM_SECRET": SECRET},
        cwd=config.parent,  # not this checkout: `python -c` imports from its working folder
    )
    assert proc.stderr is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if "listening on " in line:
            threading.Thread(target=proc.stderr.read, daemon=True).start()  # keep draining
            return proc, line.split("listening on ", 1)[1].strip()
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise SystemExit("serve did not start")


def _stop(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()


def _signed(body: bytes, wid: str) -> dict[str, str]:
    from alliance_monitor.alerts import sign_webhook

    ts = int(time.time())
    return {
        "content-type": "application/json",
        "webhook-id": wid,
        "webhook-timestamp": str(ts),
        "webhook-signature": sign_webhook([SECRET], wid, ts, body),
    }


class _Trickle:
    def __init__(self, host: str, port: int, n: int) -> None:
        self.host, self.port, self.n = host, port, n
        self.opened = 0
        self.answered_503 = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=lambda: asyncio.run(self._all()), daemon=True)

    async def _all(self) -> None:
        await asyncio.gather(*(self._one(k % 2 == 1) for k in range(self.n)))

    async def _one(self, body: bool) -> None:
        """Half send the head a byte a second; the other half send a whole head announcing a
        body, then the body a byte a second."""
        start = b"POST /hooks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        whole = start + b"Content-Length: 100000\r\n\r\n"
        while not self.stop.is_set():
            try:
                reader, writer = await asyncio.open_connection(
                    self.host, self.port, local_addr=(ATTACKER, 0)
                )
            except OSError:
                await asyncio.sleep(0.05)
                continue
            self.opened += 1
            try:
                if body:
                    writer.write(whole)
                for byte in b"{" * 100 if body else start * 50:
                    if self.stop.is_set():
                        break
                    writer.write(bytes([byte]))
                    await writer.drain()
                    try:
                        data = await asyncio.wait_for(reader.read(1024), timeout=1.0)
                    except TimeoutError:
                        continue
                    if data.startswith(b"HTTP/1.1 503"):
                        self.answered_503 += 1
                    break
            except OSError:
                pass
            writer.close()


def trickle(python: str, connections: int, posts: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "serve.toml"
        config.write_text(
            '[server]\nshutdown_timeout = 5\n[[adapters]]\ntype = "http"\npath = "/hooks"\n'
            'secrets_env = ["AM_SECRET"]\n'
        )
        proc, base = _start(python, config)
        host, port = base.removeprefix("http://").split(":")
        attack = _Trickle(host, int(port), connections)
        attack.thread.start()
        deadline = time.monotonic() + 30
        while attack.opened < connections and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(2)
        took: list[float] = []
        started_all = time.monotonic()
        with httpx.Client(timeout=15) as client:
            for i in range(posts):
                if time.monotonic() - started_all > 60:
                    break
                m = {"conversation_id": "p", "id": f"m{i}", "role": "client", "text": "hello",
                     "ts": 1000.0 + i}  # fmt: skip
                body = json.dumps(m).encode()
                t0 = time.monotonic()
                while time.monotonic() - started_all < 60:
                    try:
                        code = client.post(
                            base + "/hooks", content=body, headers=_signed(body, f"w{i}")
                        ).status_code
                    except httpx.HTTPError:
                        code = 0
                    if code == 202:
                        took.append(time.monotonic() - t0)
                        break
                    time.sleep(0.5)
        elapsed = time.monotonic() - started_all
        metrics = ""
        with contextlib.suppress(httpx.HTTPError):
            metrics = httpx.get(base + "/metrics", timeout=10).text
        attack.stop.set()
        attack.thread.join(30)
        _stop(proc)
    refused = sum(
        float(line.rsplit(" ", 1)[1])
        for line in metrics.splitlines()
        if line.startswith("alliance_monitor_connections_refused_total")
        and 'listener="board"' not in line
    )
    return {
        "attacker_connections": connections,
        "attacker_connections_opened": attack.opened,
        "posts": posts,
        "posts_taken": len(took),
        "seconds_for_all": round(elapsed, 1),
        "per_post_s_median": round(statistics.median(took), 3) if took else None,
        "per_post_s_max": round(max(took), 3) if took else None,
        "connections_refused": refused,
    }


# ---------------------------------------------------------------------- speed
UVICORN = """
import sys, uvicorn
from alliance_monitor._serve import Service
from alliance_monitor._settings import load_settings
import os
service = Service(load_settings(sys.argv[1], os.environ))
config = uvicorn.Config(service.app, host="127.0.0.1", port=int(sys.argv[2]), lifespan="on",
                        log_level="warning", access_log=False, http="h11", interface="asgi3")
print("listening on http://127.0.0.1:" + sys.argv[2], file=sys.stderr, flush=True)
uvicorn.Server(config).run()
"""


def _post_request(k: int, i: int) -> bytes:
    m = {"conversation_id": f"bench-{k}", "id": f"b{k}-{i}-{time.time_ns()}",
         "role": "counselor" if i % 2 else "client", "text": "an ordinary message", "ts": 1000.0 + i}  # fmt: skip
    body = json.dumps(m).encode()
    head = "".join(f"{k}: {v}\r\n" for k, v in _signed(body, f"w{k}-{i}-{time.time_ns()}").items())
    return (
        f"POST /hooks HTTP/1.1\r\nHost: bench\r\n{head}content-length: {len(body)}\r\n\r\n"
    ).encode() + body


async def _rate(base: str, requests: int, concurrency: int, post: bool = False) -> float:
    """Requests per second over `concurrency` kept-alive connections; a minimal client (asyncio
    streams, the answer read by its Content-Length) so the server is what is measured. `post`:
    signed webhook deliveries of one message each (stored before the answer) instead of
    `GET /healthz`."""
    host, port = base.removeprefix("http://").split(":")
    per = requests // concurrency

    async def one(k: int = 0) -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        for i in range(per):
            request = _post_request(k, i) if post else b"GET /healthz HTTP/1.1\r\nHost: b\r\n\r\n"
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            assert head.startswith((b"HTTP/1.1 200", b"HTTP/1.1 202")), head[:40]
            length = next(
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            await reader.readexactly(length)
        writer.close()

    await one()  # warm up
    t0 = time.perf_counter()
    await asyncio.gather(*(one(k) for k in range(concurrency)))
    return per * concurrency / (time.perf_counter() - t0)


def speed(requests: int, concurrency: int, rounds: int = 3, post: bool = False) -> dict[str, Any]:
    import socket

    try:
        import uvicorn
    except ImportError:
        uvicorn = None
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "serve.toml"
        other = Path(tmp) / "uvicorn.toml"  # its own state file: one process per file
        for path, db in ((config, "serve.db"), (other, "uvicorn.db")):
            text = "[server]\nport = 0\n"
            if post:
                text += (
                    f'[monitor]\nstore = "sqlite:///{tmp}/{db}"\n'
                    '[[adapters]]\ntype = "http"\npath = "/hooks"\nsecrets_env = ["AM_SECRET"]\n'
                )
            path.write_text(text)
        serve, base = _start(sys.executable, config)
        up = None
        if uvicorn is not None:
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            up = subprocess.Popen(
                [sys.executable, "-c", UVICORN, str(other), str(port)],
                stderr=subprocess.DEVNULL,
                cwd=tmp,
                env={**os.environ, "AM_SECRET": SECRET},
            )
            ubase = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    if httpx.get(ubase + "/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
        ours: list[float] = []
        theirs: list[float] = []
        try:
            for _ in range(rounds):  # alternated, so a busy moment of the machine hits both
                ours.append(asyncio.run(_rate(base, requests, concurrency, post)))
                if up is not None:
                    theirs.append(asyncio.run(_rate(ubase, requests, concurrency, post)))
        finally:
            _stop(serve)
            if up is not None:
                up.terminate()
                up.wait(30)
    out: dict[str, Any] = {"serve_rps": round(statistics.median(ours))}
    if theirs:
        out["uvicorn_h11_rps"] = round(statistics.median(theirs))
        out["ratio_serve_to_uvicorn"] = round(out["serve_rps"] / out["uvicorn_h11_rps"], 2)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--only", choices=["trickle", "speed"])
    ap.add_argument("--connections", type=int, default=300)
    ap.add_argument("--posts", type=int, default=60)
    ap.add_argument("--python", default=sys.executable, help="the Python whose serve is run")
    ap.add_argument("--requests", type=int, default=4000)
    ap.add_argument("--concurrency", type=int, default=8)
    args = ap.parse_args()
    if args.only in (None, "trickle"):
        print("trickle:", json.dumps(trickle(args.python, args.connections, args.posts)))
    if args.only in (None, "speed"):
        print("speed, GET /healthz:", json.dumps(speed(args.requests, args.concurrency)))
        print(
            "speed, signed posts stored in SQLite:",
            json.dumps(speed(args.requests // 4, args.concurrency, post=True)),
        )


if __name__ == "__main__":
    main()

"""Per-client limits on `serve`'s listener: one address trickling hundreds of connections cannot
starve signed deliveries from others; behind a trusted proxy the forwarded client is the one
counted (and an untrusted peer's X-Forwarded-For is not believed); the supervisor board is off
the public listener unless it has a token."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_serve import Proc, signed, write

from alliance_monitor import ConfigError
from alliance_monitor._http import ListenerLimits
from alliance_monitor._settings import load_settings

ATTACKER = "127.0.0.2"  # another address on loopback (Linux routes all of 127/8 there)


def _loopback_alias_works() -> bool:
    try:
        with socket.socket() as s:
            s.bind((ATTACKER, 0))
    except OSError:
        return False
    return True


class Trickler:
    """`n` connections from one address that send a request head one byte a second, and open a
    new connection whenever one is closed (the attack of issue 20, finding 8)."""

    def __init__(self, host: str, port: int, n: int) -> None:
        self.host, self.port, self.n = host, port, n
        self.opened = 0
        self.closed_by_server = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    def __enter__(self) -> Trickler:
        self._thread.start()
        deadline = time.monotonic() + 30
        while self.opened < self.n and time.monotonic() < deadline:
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    async def _main(self) -> None:
        await asyncio.gather(*(self._one() for _ in range(self.n)))

    async def _one(self) -> None:
        head = b"POST /hooks/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        while not self._stop.is_set():
            try:
                reader, writer = await asyncio.open_connection(
                    self.host, self.port, local_addr=(ATTACKER, 0)
                )
            except OSError:
                await asyncio.sleep(0.05)
                continue
            self.opened += 1
            try:
                for byte in head * 50:
                    if self._stop.is_set():
                        break
                    writer.write(bytes([byte]))
                    await writer.drain()
                    try:  # a byte a second, but notice at once when the server closes
                        data = await asyncio.wait_for(reader.read(1024), timeout=1.0)
                    except TimeoutError:
                        continue
                    if not data or data.startswith(b"HTTP/1.1 503"):
                        break
            except OSError:
                pass
            self.closed_by_server += 1
            writer.close()


def _config(tmp_path: Path, extra: str = "") -> Path:
    return write(
        tmp_path,
        f"""
[server]
shutdown_timeout = 5
{extra}

[[adapters]]
type = "http"
path = "/hooks/messages"
secrets_env = ["AM_HTTP_SECRET"]
""",
    )


def _message(i: int, conv: str = "pair-ok") -> dict[str, Any]:
    return {
        "conversation_id": conv,
        "id": f"m{i}",
        "role": "counselor" if i % 2 == 0 else "client",
        "text": f"ordinary message {i}",
        "ts": 1000.0 + i,
    }


@pytest.mark.skipif(not _loopback_alias_works(), reason="no second loopback address here")
def test_300_trickling_connections_from_one_address_do_not_starve_signed_deliveries(
    tmp_path: Path,
) -> None:
    proc = Proc(_config(tmp_path))
    try:
        host, port = proc.base.removeprefix("http://").split(":")
        with Trickler(host, int(port), 300) as attack:
            time.sleep(2)  # the attack is under way
            url = proc.base + "/hooks/messages"
            took: list[float] = []
            with httpx.Client(timeout=10) as client:
                for i in range(60):
                    body = json.dumps(_message(i)).encode()
                    started = time.monotonic()
                    r = client.post(url, content=body, headers=signed(body, f"msg_{i}"))
                    took.append(time.monotonic() - started)
                    assert r.status_code == 202, (i, r.status_code)
            m = httpx.get(proc.base + "/metrics", timeout=10).text
            opened = attack.opened
        assert opened >= 300  # it kept reconnecting
        # Every post taken at its first try, none waiting on the attacker's connections (before:
        # the cap was full, a post got 503 or waited for the 10 s header deadline to free a slot).
        assert max(took) < 5.0, sorted(took)[-5:]
        refused = sum(
            float(line.rsplit(" ", 1)[1])
            for line in m.splitlines()
            if line.startswith("alliance_monitor_connections_refused_total{")
            and 'listener="public"' in line
        )
        assert refused >= 250
    finally:
        assert proc.stop() == 0


def _raw(host: str, port: int, head: bytes, source: str | None = None) -> socket.socket:
    s = socket.socket()
    if source is not None:
        s.bind((source, 0))
    s.settimeout(10)
    s.connect((host, port))
    s.sendall(head)
    return s


def _slow_body(client: str) -> bytes:
    return (
        b"POST /hooks/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"X-Forwarded-For: " + client.encode() + b"\r\nContent-Length: 1000\r\n\r\n{"
    )


def _status(s: socket.socket, wait: float) -> bytes:
    s.settimeout(wait)
    try:
        return s.recv(64)
    except TimeoutError:
        return b""


def test_behind_a_trusted_proxy_the_forwarded_client_is_counted(tmp_path: Path) -> None:
    proc = Proc(
        _config(
            tmp_path, 'trusted_proxies = ["127.0.0.1"]\nmax_slow_per_client = 3\nbody_timeout = 30'
        )
    )
    try:
        host, port = proc.base.removeprefix("http://").split(":")
        held = [_raw(host, int(port), _slow_body("203.0.113.7")) for _ in range(3)]
        time.sleep(0.3)
        fourth = _raw(host, int(port), _slow_body("203.0.113.7"))
        assert _status(fourth, 5).startswith(b"HTTP/1.1 503")  # that client's slow cap
        other = _raw(host, int(port), _slow_body("198.51.100.9"))
        assert _status(other, 1) == b""  # another client behind the same proxy: taken
        for s in (*held, fourth, other):
            s.close()
        # A signed delivery through the proxy is served as usual.
        body = json.dumps(_message(1)).encode()
        headers = {**signed(body, "msg_p"), "x-forwarded-for": "203.0.113.7"}
        r = httpx.post(proc.base + "/hooks/messages", content=body, headers=headers, timeout=10)
        assert r.status_code == 202
    finally:
        assert proc.stop() == 0


@pytest.mark.skipif(not _loopback_alias_works(), reason="no second loopback address here")
def test_an_untrusted_peer_cannot_pick_its_address_with_x_forwarded_for(tmp_path: Path) -> None:
    proc = Proc(_config(tmp_path, "max_slow_per_client = 3\nbody_timeout = 30"))
    try:
        host, port = proc.base.removeprefix("http://").split(":")
        # Each claims another client; all come from one peer, which is what is counted.
        held = [
            _raw(host, int(port), _slow_body(f"203.0.113.{k}"), source=ATTACKER) for k in range(3)
        ]
        time.sleep(0.3)
        fourth = _raw(host, int(port), _slow_body("203.0.113.99"), source=ATTACKER)
        assert _status(fourth, 5).startswith(b"HTTP/1.1 503")
        for s in (*held, fourth):
            s.close()
    finally:
        assert proc.stop() == 0


def test_forwarded_client_is_the_last_untrusted_hop() -> None:
    lim = ListenerLimits(trusted_proxies=("10.0.0.0/8", "127.0.0.1"))
    assert lim.client_of("127.0.0.1", "203.0.113.7, 10.1.2.3") == "203.0.113.7"
    assert lim.client_of("127.0.0.1", "198.51.100.1, 203.0.113.7") == "203.0.113.7"  # spoofed
    assert lim.client_of("127.0.0.1", "[2001:db8::1]:443") == "2001:db8::1"
    assert lim.client_of("192.0.2.5", "203.0.113.7") == "192.0.2.5"  # untrusted peer
    assert lim.client_of("127.0.0.1", None) == "127.0.0.1"
    with pytest.raises(ConfigError, match="trusted_proxies"):
        ListenerLimits(trusted_proxies=("not-an-address",))


# ---------------------------------------------------------------------- the board
def _board_config(tmp_path: Path, extra: str) -> Path:
    return write(
        tmp_path,
        f"""
[supervisor]
enabled = true
{extra}
""",
    )


@contextmanager
def _running(config: Path, env: dict[str, str] | None = None) -> Iterator[Proc]:
    proc = Proc(config, env=env)
    try:
        yield proc
    finally:
        assert proc.stop() == 0


def test_the_board_on_the_public_listener_needs_its_token(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match='listener = "public" needs token_env'):
        load_settings(_board_config(tmp_path, 'listener = "public"'), {})
    config = _board_config(tmp_path, 'listener = "public"\ntoken_env = "AM_BOARD_TOKEN"')
    token = "board-token-for-the-test-4711"
    with _running(config, env={"AM_BOARD_TOKEN": token}) as proc:
        url = proc.base + "/supervisor/api/pairs"
        assert proc.board == ""  # no listener of its own
        r = httpx.get(url, timeout=5)
        assert r.status_code == 401 and r.headers["www-authenticate"].startswith("Basic")
        assert (
            httpx.get(url, headers={"authorization": "Bearer wrong"}, timeout=5).status_code == 401
        )
        assert httpx.get(url, auth=("anyone", token), timeout=5).status_code == 200
        bearer = {"authorization": f"Bearer {token}"}
        assert httpx.get(url, headers=bearer, timeout=5).status_code == 200
        bad = base64.b64encode(b"anyone:" + token.encode()[:-1]).decode()
        assert (
            httpx.get(url, headers={"authorization": f"Basic {bad}"}, timeout=5).status_code == 401
        )
        assert httpx.get(proc.base + "/healthz", timeout=5).status_code == 200  # probes open


def test_the_board_on_its_own_listener_with_a_token(tmp_path: Path) -> None:
    config = _board_config(tmp_path, 'port = 0\ntoken_env = "AM_BOARD_TOKEN"')
    token = "another-board-token-0815"
    with _running(config, env={"AM_BOARD_TOKEN": token}) as proc:
        assert proc.board and not proc.board.startswith(proc.base)
        assert httpx.get(proc.base + "/supervisor/", timeout=5).status_code == 404
        assert httpx.get(proc.board + "/", timeout=5).status_code == 401
        assert httpx.get(proc.board + "/", auth=("x", token), timeout=5).status_code == 200
        assert httpx.get(proc.board + "/../healthz", timeout=5).status_code in (401, 404)

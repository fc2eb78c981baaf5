"""`serve`'s HTTP/1.1 listener (`_http.HttpServer`) speaking to real sockets: keep-alive,
pipelining, chunked bodies, 100-continue, HEAD, malformed and oversized heads, app errors, the
deadlines, and a graceful shutdown."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import anyio
import httpx
import pytest

from alliance_monitor._http import HttpServer, ListenerLimits


async def echo(scope: Any, receive: Any, send: Any) -> None:
    """Answers with the method, path, query, client and the body it read."""
    body = b""
    if scope["method"] == "POST":
        while True:
            m = await receive()
            body += m.get("body", b"")
            if not m.get("more_body"):
                break
    if scope["path"] == "/boom":
        raise RuntimeError("a bug in the app")
    if scope["path"] == "/slow":
        await anyio.sleep(1.0)
    text = (
        f"{scope['method']} {scope['path']} {scope['query_string'].decode()} {scope['client'][0]} "
    )
    out = text.encode() + body
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-length", str(len(out)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": out})


class Running:
    def __init__(self, server: HttpServer, port: int, stop: Any, thread: threading.Thread):
        self.server, self.port, self.stop, self.thread = server, port, stop, thread

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def raw(self, data: bytes = b"") -> socket.socket:
        s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        if data:
            s.sendall(data)
        return s


@contextmanager
def running(app: Any = echo, **limits: Any) -> Iterator[Running]:
    ready = threading.Event()
    holder: dict[str, Any] = {}

    async def main() -> None:
        multi = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
        listener = multi.listeners[0]
        holder["port"] = listener.extra(anyio.abc.SocketAttribute.local_port)
        holder["stop"] = stop = anyio.Event()
        holder["token"] = anyio.lowlevel.current_token()
        server = holder["server"] = HttpServer(app, limits=ListenerLimits(**limits), grace=3)
        ready.set()
        await server.serve(listener, stop)

    thread = threading.Thread(target=anyio.run, args=(main,), daemon=True)
    thread.start()
    assert ready.wait(10)
    r = Running(holder["server"], holder["port"], holder["stop"], thread)
    try:
        yield r
    finally:
        anyio.from_thread.run_sync(r.stop.set, token=holder["token"])
        thread.join(15)


def _read_all(s: socket.socket) -> bytes:
    out = b""
    try:
        while chunk := s.recv(65536):
            out += chunk
    except OSError:
        pass
    return out


def test_keep_alive_and_pipelined_requests_on_one_connection() -> None:
    with running() as srv:
        with httpx.Client() as c:
            for i in range(5):
                r = c.get(srv.base + f"/x?i={i}")
                assert r.status_code == 200 and r.text.startswith(f"GET /x i={i} 127.0.0.1")
                assert r.reason_phrase == "OK"
        s = srv.raw(
            b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
            b"POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nxyz"
            b"GET /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        data = _read_all(s)
        s.close()
        assert data.count(b"HTTP/1.1 200 OK") == 3
        assert b"GET /a" in data and b"POST /b  127.0.0.1 xyz" in data and b"GET /c" in data


def test_chunked_body_and_100_continue() -> None:
    with running() as srv:
        s = srv.raw(
            b"POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
            b"Connection: close\r\n\r\n4\r\nabcd\r\n3\r\nefg\r\n0\r\n\r\n"
        )
        assert _read_all(s).endswith(b"abcdefg")
        s.close()
        s = srv.raw(
            b"POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n"
            b"Connection: close\r\n\r\n"
        )
        assert s.recv(100).startswith(b"HTTP/1.1 100")
        s.sendall(b"ok")
        assert _read_all(s).endswith(b"ok")
        s.close()


def test_head_gets_no_body_and_an_unread_body_is_skipped() -> None:
    with running() as srv:
        r = httpx.head(srv.base + "/h")
        assert r.status_code == 200 and r.content == b""

        async def ignores_body(scope: Any, receive: Any, send: Any) -> None:
            await send({"type": "http.response.start", "status": 204, "headers": []})
            await send({"type": "http.response.body", "body": b""})

    with running(ignores_body) as srv, httpx.Client() as c:
        for _ in range(3):  # the body left unread is drained: the connection is kept
            assert c.post(srv.base + "/p", content=b"x" * 5000).status_code == 204


def test_malformed_and_oversized_heads() -> None:
    with running(max_header_bytes=2048) as srv:
        s = srv.raw(b"THIS IS NOT HTTP\r\n\r\n")
        assert _read_all(s).startswith(b"HTTP/1.1 400")
        s.close()
        s = srv.raw(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 4000 + b"\r\n\r\n")
        assert _read_all(s).startswith(b"HTTP/1.1 431")
        s.close()
        assert srv.server.counts["bad_request"] == 2
        assert httpx.get(srv.base + "/still-up").status_code == 200


def test_an_app_error_is_a_500_and_the_listener_goes_on() -> None:
    with running() as srv:
        assert httpx.get(srv.base + "/boom").status_code == 500
        assert srv.server.counts["app_error"] == 1
        assert httpx.get(srv.base + "/fine").status_code == 200


def test_deadlines_close_slow_heads_and_idle_connections() -> None:
    with running(header_timeout=0.5, keepalive_timeout=0.5) as srv:
        slow = srv.raw(b"GET / HTTP/1.1\r\nHo")
        started = time.monotonic()
        assert _read_all(slow) == b""
        assert time.monotonic() - started < 5
        idle = srv.raw(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        assert idle.recv(1000).startswith(b"HTTP/1.1 200")
        assert _read_all(idle) == b""  # closed after the keep-alive timeout
        assert srv.server.counts["header_timeout"] == 1
        assert srv.server.counts["keepalive_timeout"] == 1
        slow.close()
        idle.close()


def test_per_client_caps_answer_503_and_close() -> None:
    with running(max_slow_per_client=2, max_connections_per_client=3) as srv:
        held = [srv.raw(b"GET / HTTP/1.1\r\n") for _ in range(2)]
        time.sleep(0.2)
        refused = srv.raw(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = _read_all(refused)
        refused.close()
        assert answer.startswith(b"HTTP/1.1 503") and b"retry-after: 5" in answer.lower()
        assert srv.server.counts["refused_client_slow"] == 1
        for s in held:
            s.close()
        time.sleep(0.2)
        # Connections that delivered their request and wait kept alive are not slow; the
        # per-client connection cap still counts them.
        clients = [httpx.Client() for _ in range(4)]
        codes = []
        for c in clients:
            try:
                codes.append(c.get(srv.base + "/ok").status_code)
            except httpx.HTTPError:
                codes.append(0)
        for c in clients:
            c.close()
        assert codes[:3] == [200, 200, 200] and codes[3] in (0, 503)
        assert srv.server.counts["refused_client_connections"] == 1


def test_shutdown_lets_a_request_in_progress_finish_and_closes_idle_ones() -> None:
    results: list[Any] = []
    with running() as srv:
        idle = srv.raw(b"GET /i HTTP/1.1\r\nHost: x\r\n\r\n")
        assert idle.recv(1000).startswith(b"HTTP/1.1 200")

        def slow() -> None:
            results.append(httpx.get(srv.base + "/slow", timeout=10))

        t = threading.Thread(target=slow)
        t.start()
        time.sleep(0.3)  # the slow request is in progress when shutdown begins
    t.join(10)
    assert results and results[0].status_code == 200
    assert results[0].headers.get("connection") == "close"
    assert _read_all(idle) == b""
    idle.close()


@pytest.mark.parametrize("target", [b"/a%20b?x=1", b"http://example.org/a%20b?x=1"])
def test_paths_are_decoded_and_absolute_targets_read(target: bytes) -> None:
    with running() as srv:
        s = srv.raw(b"GET " + target + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        assert b"GET /a b x=1 127.0.0.1" in _read_all(s)
        s.close()

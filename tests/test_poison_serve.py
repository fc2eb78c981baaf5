"""Poison input at the service edges: nothing a platform sends can stop the receiver, every
message is accounted for, and a dead background task is reported (issue 11, findings 1 and 7).

Real uvicorn on loopback throughout; the SQLite store is a real file.
"""

from __future__ import annotations

import json
import logging
import socket
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
from helpers import signed_headers

from alliance_monitor import Monitor, WindowPolicy
from alliance_monitor._core import IngestResult
from alliance_monitor._events import WindowScored
from alliance_monitor.adapters import HttpAdapter, WebhookReceiver, with_lifespan
from alliance_monitor.adapters.testing import serve_in_thread
from alliance_monitor.store import SQLiteStore
from alliance_monitor.testing import EventCollector, StaticScorer

pytest.importorskip("uvicorn")

SECRET = "whsec_" + "cG9pc29uLXRlc3Qtc2VjcmV0LWZvci1lZGdlcy0xMjM0"
PLANTED = "Jane Q. Doe (PATIENT-ZX81)"


def wait_for(pred: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.02)


def signed(body: bytes, wid: str) -> dict[str, str]:
    return signed_headers(SECRET, body, wid)


def normal(i: int, conv: str = "pair-ok") -> dict[str, Any]:
    return {
        "conversation_id": conv,
        "id": f"n{i}",
        "role": "counselor" if i % 2 == 0 else "client",
        "text": f"an ordinary message {i}",
        "ts": 2000.0 + i,
    }


class Rig:
    def __init__(
        self, base: str, monitor: Monitor, receiver: WebhookReceiver, events: EventCollector
    ) -> None:
        self.base, self.monitor, self.receiver, self.events = base, monitor, receiver, events
        self.n = 0

    def post_raw(self, body: bytes) -> httpx.Response:
        self.n += 1
        return httpx.post(
            self.base + "/", content=body, headers=signed(body, f"msg_{self.n}"), timeout=10
        )

    def post(self, message: dict[str, Any]) -> httpx.Response:
        return self.post_raw(json.dumps(message).encode())

    def ledger(self) -> dict[str, Any]:
        out: dict[str, Any] = self.receiver.stats()["messages"]
        return out

    def scored(self, conv: str) -> bool:
        return any(
            isinstance(e, WindowScored) and e.conversation_id == conv for e in self.events.events
        )


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Callable[..., Rig]]:
    stack: list[Any] = []

    def make(monitor: Monitor | None = None, **kw: Any) -> Rig:
        mon = monitor or Monitor(
            scorer=StaticScorer(),
            idle_check_interval=None,
            window=WindowPolicy(max_exchanges=1),
            store=SQLiteStore(tmp_path / "state.db"),
        )
        events = EventCollector()
        mon.on(events)
        receiver = WebhookReceiver(HttpAdapter(SECRET), mon, **kw)
        cm = serve_in_thread(with_lifespan(receiver, mon, receiver))
        base = cm.__enter__()
        stack.append(cm)
        return Rig(base, mon, receiver, events)

    yield make
    for cm in reversed(stack):
        cm.__exit__(None, None, None)


POISON = [
    # Finding 1: "seq": 1 followed by 400 zeros (an OverflowError at float(seq) downstream).
    b'{"conversation_id": "pair-a", "id": "p1", "role": "client", "text": "hi", "ts": 1000,'
    b' "seq": 1' + b"0" * 400 + b"}",
    # A lone surrogate in the conversation id and in metadata (SQLite cannot encode it).
    b'{"conversation_id": "pair-\\udc00", "id": "p2", "role": "client", "text": "hi", "ts": 1001}',
    b'{"conversation_id": "pair-b", "id": "p3", "role": "client", "text": "hi", "ts": 1002,'
    b' "metadata": {"note": "\\udc00"}}',
    # A 400-digit timestamp, NaN, 1e400, deep nesting, a non-object, a lone surrogate in text.
    b'{"conversation_id": "pair-c", "id": "p4", "role": "client", "text": "hi", "ts": 9'
    + b"9" * 400
    + b"}",
    b'{"conversation_id": "pair-c", "id": "p5", "role": "client", "text": "hi", "ts": NaN}',
    b'{"conversation_id": "pair-c", "id": "p6", "role": "client", "text": "hi", "ts": 1e400}',
    b'{"conversation_id": "pair-c", "id": "p7", "role": "client", "text": "hi", "ts": 1,'
    b' "metadata": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    b"[" * 100_000 + b"]" * 100_000,
    b'{"conversation_id": "pair-c", "id": "p8", "role": "client", "text": "\\ud800 hi",'
    b' "ts": 1003}',
    b'"just a string"',
    b'{"conversation_id": "pair-c", "id": "p9", "role": "client", "text": "'
    + PLANTED.encode()
    + b'", "ts": 1004, "seq": 18446744073709551616}',
]


def test_poison_never_stops_the_receiver_and_counters_add_up(
    rig: Callable[..., Rig], caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    r = rig()
    statuses = [r.post_raw(body).status_code for body in POISON]
    # Malformed bodies are the platform's error (400, never retried); nothing is a 500.
    assert all(s in (202, 400) for s in statuses), statuses
    assert 500 not in statuses
    taken = sum(1 for s in statuses if s == 202)
    # After all of it, ordinary messages are still accepted and scored.
    for i in range(4):
        assert r.post(normal(i)).status_code == 202
    wait_for(lambda: r.scored("pair-ok"))
    wait_for(lambda: r.receiver.queue_depth == 0 and r.ledger()["in"] >= taken + 4)
    led = r.ledger()
    assert led["in"] == led["accepted"] + led["duplicate"] + led["rejected"]
    # Every message a 202 took, and every message of a 400 body that was parsed, is counted.
    rejected_bodies = sum(led["rejected_by_reason"].values())
    assert led["accepted"] >= 4
    assert led["in"] >= taken + 4
    assert rejected_bodies == led["rejected"]
    assert r.receiver.healthy and r.receiver.accepting
    st = r.monitor.stats()
    assert st["accepted"] >= 4
    # No text of any message in the logs.
    out = caplog.text + "".join(capfd.readouterr())
    assert "PATIENT-ZX81" not in out and "ordinary message" not in out


class ExplodingMonitor(Monitor):
    """A monitor that fails on marked messages the way an unforeseen bug would."""

    errors: ClassVar[dict[str, Exception]] = {
        "boom-overflow": OverflowError("int too large"),
        "boom-unicode": UnicodeEncodeError("utf-8", "\udc00", 0, 1, "surrogates"),
        "boom-runtime": RuntimeError(PLANTED),  # a message that holds text: never logged
        "boom-key": KeyError("x"),
    }

    async def ingest(self, message: Any) -> IngestResult:
        mid = message.get("id") if isinstance(message, dict) else None
        if mid in self.errors:
            raise self.errors[mid]
        return await super().ingest(message)


def test_any_exception_in_ingest_rejects_that_message_only(
    rig: Callable[..., Rig], caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    mon = ExplodingMonitor(
        scorer=StaticScorer(), idle_check_interval=None, window=WindowPolicy(max_exchanges=1)
    )
    r = rig(mon)
    for mid in ExplodingMonitor.errors:
        assert r.post({**normal(0, "pair-x"), "id": mid}).status_code == 202
    for i in range(4):
        assert r.post(normal(i)).status_code == 202
    wait_for(lambda: r.scored("pair-ok"))
    wait_for(lambda: r.ledger()["in"] == 8)
    led = r.ledger()
    assert led["rejected_by_reason"] == {"internal_error": 4}
    assert led["accepted"] == 4 and led["in"] == 8
    assert mon.stats()["rejected_by_reason"].get("internal_error") == 4
    assert r.receiver.healthy
    out = caplog.text + "".join(capfd.readouterr())
    assert "PATIENT-ZX81" not in out and "Jane" not in out


class _Die(BaseException):
    """Something the per-message guard does not catch (as a bug in the loop itself would)."""


def test_a_dead_monitor_task_is_reported_by_health_and_readiness(tmp_path: Path) -> None:
    from alliance_monitor._serve import Service
    from alliance_monitor._settings import Settings

    settings = Settings.model_validate(
        {
            "adapters": [{"type": "http", "secrets": [SECRET]}],
            "monitor": {"store": f"sqlite:///{tmp_path / 'state.db'}"},
        }
    )
    service = Service(settings)
    with serve_in_thread(service.app) as base:
        assert httpx.get(base + "/healthz", timeout=5).status_code == 200
        ready = httpx.get(base + "/readyz", timeout=5)
        assert ready.status_code == 200 and ready.json()["checks"]["monitor"] is True
        assert service.monitor is not None and service.monitor.store is not None

        async def die(batch: Any) -> None:
            raise _Die

        service.monitor.store.commit = die  # type: ignore[method-assign]
        body = json.dumps(normal(1)).encode()
        httpx.post(base + "/hooks/messages", content=body, headers=signed(body, "msg_c"), timeout=5)
        wait_for(lambda: httpx.get(base + "/healthz", timeout=5).status_code == 503)
        health = httpx.get(base + "/healthz", timeout=5).json()
        assert health == {"status": "failing", "failed": {"monitor:committer": "_Die"}}
        ready = httpx.get(base + "/readyz", timeout=5)
        assert ready.status_code == 503 and ready.json()["checks"]["monitor"] is False


def test_a_failed_receiver_is_reported_and_refuses_deliveries(tmp_path: Path) -> None:
    from alliance_monitor._serve import Service
    from alliance_monitor._settings import Settings

    settings = Settings.model_validate({"adapters": [{"type": "http", "secrets": [SECRET]}]})
    service = Service(settings)
    with serve_in_thread(service.app) as base:
        assert httpx.get(base + "/healthz", timeout=5).status_code == 200
        assert httpx.get(base + "/readyz", timeout=5).status_code == 200
        assert service.monitor is not None

        async def die(message: Any) -> Any:
            raise _Die

        service.monitor.ingest = die  # type: ignore[method-assign]
        url = base + "/hooks/messages"
        body = json.dumps(normal(1)).encode()
        r = httpx.post(url, content=body, headers=signed(body, "msg_die"), timeout=5)
        assert r.status_code == 503  # not stored: not acknowledged
        wait_for(lambda: httpx.get(base + "/healthz", timeout=5).status_code == 503)
        health = httpx.get(base + "/healthz", timeout=5).json()
        assert health == {"status": "failing", "failed": {"receiver:/hooks/messages": "_Die"}}
        ready = httpx.get(base + "/readyz", timeout=5)
        assert ready.status_code == 503
        assert ready.json()["checks"]["receiver:/hooks/messages"] is False
        # Deliveries now get 503 (the platform retries later) instead of a 202 into a dead queue.
        body2 = json.dumps(normal(2)).encode()
        r = httpx.post(url, content=body2, headers=signed(body2, "msg_after"), timeout=5)
        assert r.status_code == 503 and "retry-after" in r.headers
        assert (
            "alliance_monitor_background_task_failed"
            in httpx.get(base + "/metrics", timeout=5).text
        )


# ---------------------------------------------------------------------- serve edges (finding 7)
def _service(tmp_path: Path, **server: Any) -> Any:
    from alliance_monitor._serve import Service
    from alliance_monitor._settings import Settings

    settings = Settings.model_validate(
        {
            "server": {"port": 0, **server},
            "monitor": {
                "store": f"sqlite:///{tmp_path / 'state.db'}",
                "window": {"max_exchanges": 1},
            },
            "adapters": [{"type": "http", "secrets": [SECRET]}],
            "alerts": {
                "outbox_path": str(tmp_path / "outbox.db"),
                "allow_private": True,
                "endpoints": [{"url": "http://127.0.0.1:9/alerts", "secrets": [SECRET]}],
            },
        }
    )
    return Service(settings)


class Running:
    """`Service.run()` (the real server with its connection limits) in a thread."""

    def __init__(self, service: Any) -> None:
        import threading

        import anyio

        self.service = service
        self.ready = threading.Event()
        service.on_ready = lambda _addr: self.ready.set()
        self.thread = threading.Thread(target=anyio.run, args=(service.run,), daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        assert self.ready.wait(20), "service did not start"
        return str(self.service.address)

    def __exit__(self, *exc: object) -> None:
        self.service.shutdown()
        self.thread.join(timeout=30)


def test_slow_clients_are_cut_off_and_connections_capped(tmp_path: Path) -> None:
    service = _service(tmp_path, header_timeout=1.0, body_timeout=1.0, max_connections=20)
    with Running(service) as base:
        host, port = base.removeprefix("http://").split(":")
        started = time.monotonic()
        # 40 slowloris connections: half an HTTP request's headers, then silence.
        slow = []
        for _ in range(40):
            s = socket.create_connection((host, int(port)), timeout=10)
            s.sendall(b"POST /hooks/messages HTTP/1.1\r\nHost: x\r\nContent-Type: applic")
            slow.append(s)
        # Over the cap: answered 503 and closed at once; the rest closed at the header deadline.
        closed = 0
        for s in slow:
            data = b""
            try:
                while chunk := s.recv(4096):
                    data += chunk
            except OSError:
                pass
            closed += 1
            assert data == b"" or data.startswith(b"HTTP/1.1 503")
            s.close()
        elapsed = time.monotonic() - started
        assert closed == 40 and elapsed < 8, elapsed
        refused = sum(v for k, v in service.conn_counts.items() if k.startswith("refused_"))
        assert refused >= 20
        assert service.conn_counts["header_timeout"] >= 1
        # A slow body: full headers, then one byte and silence: 408 at the body deadline.
        s = socket.create_connection((host, int(port)), timeout=10)
        s.sendall(
            b"POST /hooks/messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
            b"\r\nContent-Length: 100\r\n\r\n{"
        )
        t0 = time.monotonic()
        reply = s.recv(4096)
        s.close()
        assert reply.startswith(b"HTTP/1.1 408"), reply[:40]
        assert time.monotonic() - t0 < 5
        # The service is still up for ordinary clients.
        assert httpx.get(base + "/healthz", timeout=5).status_code == 200
        body = json.dumps(normal(1)).encode()
        r = httpx.post(
            base + "/hooks/messages", content=body, headers=signed(body, "msg_ok"), timeout=5
        )
        assert r.status_code == 202


def test_malformed_bodies_get_400_wrong_type_415_and_files_are_private(tmp_path: Path) -> None:
    service = _service(tmp_path)
    with Running(service) as base:
        url = base + "/hooks/messages"
        for body in (
            b"[" * 100_000 + b"]" * 100_000,
            b'{"a": ' * 3000 + b"1" + b"}" * 3000,
            b"{",
            b"\xff\xfe",
            b'{"conversation_id": "c", "ts": 1e999}',
        ):
            r = httpx.post(url, content=body, headers=signed(body, f"msg_{len(body)}"), timeout=10)
            assert r.status_code == 400, (r.status_code, body[:20])
        body = json.dumps(normal(1)).encode()
        for ctype in ("text/plain", "application/x-www-form-urlencoded", None):
            hdrs = signed(body, "msg_t")
            if ctype is None:
                del hdrs["content-type"]
            else:
                hdrs["content-type"] = ctype
            assert httpx.post(url, content=body, headers=hdrs, timeout=5).status_code == 415
        hdrs = {**signed(body, "msg_cs"), "content-type": "application/json; charset=utf-8"}
        assert httpx.post(url, content=body, headers=hdrs, timeout=5).status_code == 202
        # Counters add up: every message handed over is accepted, duplicate or rejected.
        sent = [normal(i, "pair-count") for i in range(6)]
        sent.append({**sent[0]})  # a duplicate
        sent.append(
            {"conversation_id": "pair-count", "id": "bad", "role": "nobody", "text": "x", "ts": 1.0}
        )  # rejected: bad role
        b2 = json.dumps({"messages": sent}).encode()
        assert (
            httpx.post(url, content=b2, headers=signed(b2, "msg_batch"), timeout=5).status_code
            == 202
        )
        rec = service.receivers["/hooks/messages"]
        # 5 malformed bodies (each one rejected input) + 1 message + the batch of 8.
        wait_for(lambda: rec.stats()["messages"]["in"] == 14)
        led = rec.stats()["messages"]
        assert led["in"] == led["accepted"] + led["duplicate"] + led["rejected"] == 14
        assert (led["accepted"], led["duplicate"]) == (7, 1)
        assert led["rejected_by_reason"] == {
            "recursion_depth": 2,
            "invalid_json": 2,
            "number_range": 1,
            "bad_role": 1,
        }
        mon = service.monitor.stats()
        assert mon["accepted"] == 7 and mon["duplicates"] == 1
        assert sum(mon["rejected_by_reason"].values()) == 6
        metrics = httpx.get(base + "/metrics", timeout=5).text
        assert (
            'alliance_monitor_webhook_messages_total{adapter="http",path="/hooks/messages",'
            'outcome="in"} 14' in metrics
        )
        # The service-wide counters add up too: in = accepted + duplicate + rejected.
        values: dict[str, float] = {}
        for line in metrics.splitlines():
            if line.startswith("alliance_monitor_messages_"):
                key, val = line.rsplit(" ", 1)
                name = key.split("{", 1)[0]
                values[name] = values.get(name, 0.0) + float(val)
        assert values["alliance_monitor_messages_in_total"] == 14
        assert values["alliance_monitor_messages_in_total"] == (
            values["alliance_monitor_messages_accepted_total"]
            + values["alliance_monitor_messages_duplicate_total"]
            + values["alliance_monitor_messages_rejected_total"]
        )
        # State and outbox files (and SQLite's -wal/-shm) are readable by their owner only.
        files = [p for p in tmp_path.iterdir() if p.name.startswith(("state.db", "outbox.db"))]
        assert {p.name for p in files} >= {"state.db", "outbox.db", "state.db-wal", "outbox.db-wal"}
        for p in files:
            assert stat.S_IMODE(p.stat().st_mode) == 0o600, (p.name, oct(p.stat().st_mode))

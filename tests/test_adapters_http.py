"""The generic HTTP receiver, driven with real HTTP requests against uvicorn on loopback."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import anyio
import httpx
import pytest
from helpers import capture_logs

from alliance_monitor import Monitor
from alliance_monitor._core import IngestResult
from alliance_monitor.adapters import HttpAdapter, RoleMap, WebhookReceiver, with_lifespan
from alliance_monitor.adapters.http import sign_webhook
from alliance_monitor.adapters.testing import serve_in_thread
from alliance_monitor.testing import StaticScorer

pytest.importorskip("uvicorn")

# Standard Webhooks reference test vector (standard-webhooks/standard-webhooks,
# libraries/python/tests/test_webhooks.py, test_sign_function): this secret, id, timestamp and
# payload sign to exactly this header value.
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TS = 1614265330
VECTOR_BODY = b'{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

SECRET = "whsec_" + "c2VjcmV0LWtleS1mb3ItdGhlLWh0dHAtdGVzdHMtMTIzNA=="  # 36 bytes
OLD_SECRET = "whsec_" + "b2xkLXNlY3JldC1rZXktZm9yLXJvdGF0aW9uLXRlc3Q="


def wait_for(pred: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)


def msg(i: int, role: str = "client", conv: str = "pair-1", **kw: Any) -> dict[str, Any]:
    return {
        "conversation_id": conv,
        "id": f"m{i}",
        "role": role,
        "text": f"hello {i}",
        "ts": 1000.0 + i,
        **kw,
    }


def signed(
    body: bytes,
    *,
    secret: str = SECRET,
    wid: str = "msg_1",
    ts: int | None = None,
) -> dict[str, str]:
    stamp = int(time.time()) if ts is None else ts
    return {
        "content-type": "application/json",
        "webhook-id": wid,
        "webhook-timestamp": str(stamp),
        "webhook-signature": sign_webhook([secret], wid, stamp, body),
    }


class GatedMonitor(Monitor):
    """A monitor whose ingest waits while `gate` is clear: to fill the receiver's queue."""

    def __init__(self, gate: threading.Event, **kw: Any) -> None:
        super().__init__(**kw)
        self.gate = gate

    async def ingest(self, message: Any) -> IngestResult:
        while not self.gate.is_set():
            await anyio.sleep(0.01)
        return await super().ingest(message)


class Service:
    def __init__(
        self, adapter: HttpAdapter, monitor: Monitor, base: str, receiver: WebhookReceiver
    ) -> None:
        self.adapter, self.monitor, self.base, self.receiver = adapter, monitor, base, receiver

    def post(self, body: bytes, headers: Mapping[str, str]) -> httpx.Response:
        return httpx.post(self.base + "/", content=body, headers=dict(headers), timeout=10)

    def stats(self) -> dict[str, Any]:
        return self.monitor.stats()


@pytest.fixture
def make_service() -> Iterator[Callable[..., Service]]:
    stack: list[Any] = []

    def make(
        *, secrets: Any = SECRET, monitor: Monitor | None = None, clock: Any = time.time, **kw: Any
    ) -> Service:
        adapter = HttpAdapter(secrets, roles=kw.pop("roles", None))
        mon = monitor or Monitor(scorer=StaticScorer(), idle_check_interval=None)
        receiver = WebhookReceiver(adapter, mon, clock=clock, **kw)
        cm = serve_in_thread(with_lifespan(receiver, mon, receiver))
        base = cm.__enter__()
        stack.append(cm)
        return Service(adapter, mon, base, receiver)

    yield make
    for cm in reversed(stack):
        cm.__exit__(None, None, None)


def test_standard_webhooks_reference_vector_is_accepted(make_service: Any) -> None:
    svc = make_service(secrets=VECTOR_SECRET, clock=lambda: VECTOR_TS + 10)
    r = svc.post(
        VECTOR_BODY,
        {
            "content-type": "application/json",
            "webhook-id": VECTOR_ID,
            "webhook-timestamp": str(VECTOR_TS),
            "webhook-signature": VECTOR_SIGNATURE,
        },
    )
    assert r.status_code == 202
    # The vector's payload is no message: the monitor rejects it with a reason.
    wait_for(lambda: svc.stats().get("rejected_by_reason", {}).get("missing_field") == 1)


def test_signed_message_is_acknowledged_then_ingested(make_service: Any) -> None:
    svc = make_service()
    body = json.dumps(msg(1)).encode()
    r = svc.post(body, signed(body))
    assert r.status_code == 202 and r.json() == {"queued": 1}
    wait_for(lambda: svc.stats().get("accepted") == 1)
    assert svc.receiver.stats()["deliveries_accepted"] == 1


@pytest.mark.parametrize(
    ("mutate", "problem"),
    [
        (lambda b, h: (b + b" ", h), "bad_signature"),  # tampered body
        (lambda b, h: (b, {**h, "webhook-id": "msg_other"}), "bad_signature"),
        (
            lambda b, h: (b, {k: v for k, v in h.items() if k != "webhook-signature"}),
            "missing_signature",
        ),
        (lambda b, h: (b, {**h, "webhook-timestamp": "soon"}), "bad_timestamp"),
    ],
)
def test_bad_signatures_are_refused_and_counted(
    make_service: Any, mutate: Any, problem: str
) -> None:
    svc = make_service()
    body = json.dumps(msg(1)).encode()
    body2, headers = mutate(body, signed(body))
    r = svc.post(body2, headers)
    assert r.status_code == 401
    assert svc.receiver.stats()["problems"] == {problem: 1}
    assert svc.stats().get("messages_in", 0) == 0


@pytest.mark.parametrize("skew", [-301, 301])
def test_replay_outside_the_tolerance_is_refused(make_service: Any, skew: int) -> None:
    # The receiver's clock is injected: a wall clock ticking between signing and checking made
    # the +301 case pass now and then (301 s ahead became 300 s ahead, inside the tolerance).
    now = 1_700_000_000
    svc = make_service(clock=lambda: float(now))
    body = json.dumps(msg(1)).encode()
    r = svc.post(body, signed(body, ts=now + skew))
    assert r.status_code == 401
    assert svc.receiver.stats()["problems"] == {"stale_timestamp": 1}


def test_malformed_bodies_are_rejected_with_a_reason(make_service: Any) -> None:
    svc = make_service()
    for i, body in enumerate([b"{not json", b"[1, 2]", b'{"messages": "nope"}']):
        r = svc.post(body, signed(body, wid=f"msg_{i}"))
        assert r.status_code == 400
    rejected = svc.stats()["rejected_by_reason"]
    assert rejected == {"invalid_json": 1, "invalid_schema": 2}


def test_batch_items_are_judged_one_by_one(make_service: Any) -> None:
    svc = make_service()
    body = json.dumps({"messages": [msg(1), "oops", msg(2, "counselor"), {**msg(3), "text": ""}]})
    r = svc.post(body.encode(), signed(body.encode()))
    assert r.status_code == 202 and r.json() == {"queued": 3}
    # The receiver drains its queue in the background: wait until all three queued items are in.
    wait_for(
        lambda: (
            svc.stats().get("accepted") == 2
            and svc.stats()["rejected_by_reason"].get("empty_text") == 1
        )
    )
    assert svc.stats()["rejected_by_reason"] == {"invalid_schema": 1, "empty_text": 1}


def test_sender_id_with_a_role_map(make_service: Any) -> None:
    svc = make_service(roles=RoleMap.of({"dr-lee"}))
    items = [{k: v for k, v in msg(i).items() if k != "role"} for i in (1, 2)]
    items[0]["sender_id"], items[1]["sender_id"] = "dr-lee", "client-9"
    body = json.dumps({"messages": items}).encode()
    assert svc.post(body, signed(body)).status_code == 202
    wait_for(lambda: svc.stats().get("accepted") == 2)


def test_integer_ids_and_iso_timestamps_through_the_receiver(make_service: Any) -> None:
    # The contract of docs/contracts.md: ids may be integers (also the sender_id a RoleMap reads),
    # ts may be ISO 8601 text.
    svc = make_service(roles=RoleMap.of({"17"}))
    items = [
        {
            "conversation_id": 42,
            "id": 1,
            "sender_id": 17,
            "text": "How are you?",
            "ts": "2024-05-02T10:31:07Z",
        },
        {
            "conversation_id": 42,
            "id": 2,
            "sender_id": 9,
            "text": "Tired.",
            "ts": "2024-05-02T10:31:37Z",
        },
    ]
    body = json.dumps({"messages": items}).encode()
    assert svc.post(body, signed(body)).status_code == 202
    wait_for(lambda: svc.stats().get("accepted") == 2)
    assert svc.stats().get("rejected", 0) == 0


def test_platform_retry_is_acknowledged_but_not_ingested_twice(make_service: Any) -> None:
    svc = make_service()
    body = json.dumps(msg(1)).encode()
    assert svc.post(body, signed(body, wid="msg_retry")).status_code == 202
    # The retry is signed afresh (new timestamp) but carries the same webhook-id.
    assert svc.post(body, signed(body, wid="msg_retry", ts=int(time.time()) + 1)).status_code == 202
    wait_for(lambda: svc.stats().get("accepted") == 1)
    assert svc.receiver.stats()["duplicate_deliveries"] == 1
    assert svc.stats().get("messages_in") == 1


def test_key_rotation_accepts_old_and_new_secret(make_service: Any) -> None:
    svc = make_service(secrets=[SECRET, OLD_SECRET])
    for i, secret in enumerate([SECRET, OLD_SECRET]):
        body = json.dumps(msg(i)).encode()
        assert svc.post(body, signed(body, secret=secret, wid=f"msg_{i}")).status_code == 202
    retired = "whsec_" + "cmV0aXJlZC1zZWNyZXQta2V5LWZvci10aGUtdGVzdHM="
    body = json.dumps(msg(9)).encode()
    assert svc.post(body, signed(body, secret=retired, wid="msg_9")).status_code == 401
    wait_for(lambda: svc.stats().get("accepted") == 2)


def test_not_stored_in_time_or_over_capacity_is_503_and_nothing_is_lost(
    make_service: Any,
) -> None:
    gate = threading.Event()
    mon = GatedMonitor(gate, scorer=StaticScorer(), idle_check_interval=None)
    svc = make_service(monitor=mon, queue_size=2, retry_after=7, ack_timeout=0.3)
    codes = []
    for i in range(4):
        body = json.dumps(msg(i)).encode()
        r = svc.post(body, signed(body, wid=f"msg_{i}"))
        codes.append(r.status_code)
        assert r.status_code == 503 and r.headers["retry-after"] == "7"
    # Nothing was stored, so nothing was acknowledged: the first two are still being stored
    # (answered at the ack deadline), the other two found no room.
    problems = svc.receiver.stats()["problems"]
    assert problems == {"ack_timeout": 2, "queue_full": 2}
    assert mon.stats().get("accepted", 0) == 0
    gate.set()
    wait_for(lambda: svc.receiver.queue_depth == 0)
    for i in range(4):  # the platform retries, and then every one is acknowledged
        body = json.dumps(msg(i)).encode()
        assert svc.post(body, signed(body, wid=f"msg_{i}")).status_code == 202
    st = svc.stats()
    assert st["accepted"] == 4 and st["duplicates"] == 2  # the two stored after their 503


def test_oversized_body_wrong_method_and_batch_limits(make_service: Any) -> None:
    svc = make_service(max_body=1000, queue_size=3)
    big = json.dumps(msg(1, text="x" * 2000)).encode()
    assert svc.post(big, signed(big)).status_code == 413
    assert httpx.get(svc.base + "/", timeout=5).status_code == 405
    batch = json.dumps({"messages": [msg(i) for i in range(4)]}).encode()
    assert svc.post(batch, signed(batch)).status_code == 413
    problems = svc.receiver.stats()["problems"]
    assert problems == {"body_too_large": 1, "method_not_allowed": 1, "batch_too_large": 1}


def test_an_acknowledged_message_is_already_in_the_monitor() -> None:
    mon = Monitor(scorer=StaticScorer(), idle_check_interval=None)
    receiver = WebhookReceiver(HttpAdapter(SECRET), mon, queue_size=50)
    with serve_in_thread(with_lifespan(receiver, mon, receiver)) as base:
        for i in range(10):
            body = json.dumps(msg(i)).encode()
            r = httpx.post(base, content=body, headers=signed(body, wid=f"msg_{i}"), timeout=5)
            assert r.status_code == 202
            assert mon.stats()["accepted"] == i + 1  # taken before the answer, not after
    assert receiver.stats()["messages_ingested"] == 10


def test_no_message_text_in_logs_or_answers(
    make_service: Any, caplog: pytest.LogCaptureFixture
) -> None:
    svc = make_service()
    secret_text = "PLANTED-IDENTIFIER-4417 my address is 12 Elm St"
    with capture_logs(caplog) as logs:
        good = json.dumps(msg(1, text=secret_text)).encode()
        bad = b'{"text": "' + secret_text.encode() + b'", broken'
        answers = [
            svc.post(good, signed(good)),
            svc.post(bad, signed(bad, wid="msg_2")),
            svc.post(good + b" ", signed(good, wid="msg_3")),
        ]
        wait_for(lambda: svc.stats().get("accepted") == 1)
    assert all(secret_text not in r.text for r in answers)
    assert secret_text not in repr(logs)

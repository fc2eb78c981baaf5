"""Slack Events API adapter, driven with real HTTP requests against uvicorn on loopback."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import anyio
import httpx
import pytest

from alliance_monitor import Monitor
from alliance_monitor._core import IngestResult
from alliance_monitor.adapters import (
    ConversationMap,
    PushAdapter,
    SlackAdapter,
    WebhookReceiver,
    with_lifespan,
)
from alliance_monitor.adapters.slack import sign_slack
from alliance_monitor.adapters.testing import serve_in_thread
from alliance_monitor.testing import EventCollector, StaticScorer

pytest.importorskip("uvicorn")

# Slack's documented example ("Verifying requests from Slack", api.slack.com/authentication/
# verifying-requests-from-slack): this signing secret, timestamp and slash-command body give
# exactly this signature.
DOC_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
DOC_TS = 1531420618
DOC_BODY = (
    b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id="
    b"G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-"
    b"collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F39770088"
    b"5554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c44"
    b"7fce8b6703c"
)
DOC_SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"

SECRET = "test-signing-secret-0f9a"
COUNSELOR, CLIENT = "U0COUNSEL", "U0CLIENT1"


def wait_for(pred: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)


def event(i: int, user: str = CLIENT, channel: str = "C0PAIR01", **extra: Any) -> dict[str, Any]:
    return {
        "token": "x",
        "team_id": "T1",
        "api_app_id": "A1",
        "type": "event_callback",
        "event_id": f"Ev{i:04d}",
        "event_time": 1_700_000_000 + i,
        "event": {
            "type": "message",
            "channel": channel,
            "user": user,
            "text": f"hi {i}",
            "ts": f"{1_700_000_000 + i}.000100",
            "channel_type": "channel",
            **extra,
        },
    }


#: The receiver's injected clock in the signature tests.
NOW = 1_700_000_000


def headers(body: bytes, *, secret: str = SECRET, ts: int | None = None) -> dict[str, str]:
    stamp = int(time.time()) if ts is None else ts
    return {
        "content-type": "application/json",
        "x-slack-request-timestamp": str(stamp),
        "x-slack-signature": sign_slack(secret, stamp, body),
    }


class GatedMonitor(Monitor):
    def __init__(self, gate: threading.Event, **kw: Any) -> None:
        super().__init__(**kw)
        self.gate = gate

    async def ingest(self, message: Any) -> IngestResult:
        while not self.gate.is_set():
            await anyio.sleep(0.01)
        return await super().ingest(message)


class Running:
    def __init__(self, base: str, monitor: Monitor, receiver: WebhookReceiver) -> None:
        self.base, self.monitor, self.receiver = base, monitor, receiver
        self.events = EventCollector()
        monitor.on(self.events)

    def post(self, body: bytes, hdrs: dict[str, str]) -> httpx.Response:
        # Slack always sends a Content-Type; the receiver answers 415 without one.
        hdrs = {"content-type": "application/json", **hdrs}
        return httpx.post(self.base + "/slack/events", content=body, headers=hdrs, timeout=10)


@pytest.fixture
def run() -> Iterator[Callable[..., Running]]:
    stack: list[Any] = []

    def start(
        adapter: PushAdapter | None = None,
        *,
        monitor: Monitor | None = None,
        clock: Callable[[], float] = time.time,
    ) -> Running:
        adapter = adapter or SlackAdapter(SECRET, counselors={COUNSELOR})
        mon = monitor or Monitor(scorer=StaticScorer(), idle_check_interval=None)
        receiver = WebhookReceiver(adapter, mon, clock=clock)
        cm = serve_in_thread(with_lifespan(receiver, mon, receiver))
        stack.append(cm)
        return Running(cm.__enter__(), mon, receiver)

    yield start
    for cm in reversed(stack):
        cm.__exit__(None, None, None)


def test_documented_example_signature() -> None:
    assert sign_slack(DOC_SECRET, DOC_TS, DOC_BODY) == DOC_SIGNATURE


def test_documented_example_passes_verification_over_http(run: Any) -> None:
    svc = run(SlackAdapter(DOC_SECRET), clock=lambda: DOC_TS + 30)
    r = svc.post(
        DOC_BODY,
        {
            "content-type": "application/x-www-form-urlencoded",
            "x-slack-request-timestamp": str(DOC_TS),
            "x-slack-signature": DOC_SIGNATURE,
        },
    )
    # Authentic, but a slash command is not an Events API body: refused as malformed, not 401.
    assert r.status_code == 400
    assert svc.monitor.stats()["rejected_by_reason"] == {"invalid_json": 1}
    tampered = svc.post(
        DOC_BODY.replace(b"roadrunner", b"wile-e"),
        {"x-slack-request-timestamp": str(DOC_TS), "x-slack-signature": DOC_SIGNATURE},
    )
    assert tampered.status_code == 401


def test_url_verification_challenge(run: Any) -> None:
    svc = run()
    body = json.dumps(
        {
            "token": "t",
            "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tY",
            "type": "url_verification",
        }
    ).encode()
    r = svc.post(body, headers(body))
    assert r.status_code == 200
    assert r.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tY"}


def test_messages_are_mapped_to_roles_and_pairs(run: Any) -> None:
    adapter = SlackAdapter(
        SECRET,
        counselors={COUNSELOR},
        conversations=ConversationMap({"C0PAIR01": "pair-17"}, only_mapped=True),
    )
    svc = run(adapter)
    sent = [event(1, COUNSELOR), event(2, CLIENT), event(3, CLIENT, channel="C0RANDOM")]
    for ev in sent:
        body = json.dumps(ev).encode()
        assert svc.post(body, headers(body)).status_code == 200
    wait_for(lambda: svc.monitor.stats().get("accepted") == 2)
    assert svc.receiver.stats()["ignored"] == {"unmapped_conversation": 1}
    assert svc.monitor.core.get_pair("pair-17") is not None


def test_bots_edits_and_other_events_are_ignored(run: Any) -> None:
    svc = run()
    bodies = [
        event(1, bot_id="B1", subtype="bot_message"),
        event(2, subtype="message_changed"),
        {**event(3), "event": {"type": "reaction_added", "user": CLIENT}},
        {"type": "app_rate_limited", "team_id": "T1"},
    ]
    for ev in bodies:
        body = json.dumps(ev).encode()
        assert svc.post(body, headers(body)).status_code == 200
    assert svc.receiver.stats()["ignored"] == {
        "bot_message": 1,
        "message_subtype": 1,
        "not_a_message": 1,
        "not_an_event": 1,
    }
    assert svc.monitor.stats().get("messages_in", 0) == 0


def test_retries_of_an_event_already_seen_are_ignored(run: Any) -> None:
    svc = run()
    body = json.dumps(event(1)).encode()
    assert svc.post(body, headers(body)).status_code == 200
    for n in (1, 2):  # Slack retries with a fresh timestamp and signature
        retry = {
            **headers(body),
            "x-slack-retry-num": str(n),
            "x-slack-retry-reason": "http_timeout",
        }
        assert svc.post(body, retry).status_code == 200
    # A retry of an event we never got (the first attempt was lost) is taken.
    body2 = json.dumps(event(2)).encode()
    r = svc.post(body2, {**headers(body2), "x-slack-retry-num": "1"})
    assert r.status_code == 200
    wait_for(lambda: svc.monitor.stats().get("accepted") == 2)
    stats = svc.receiver.stats()
    assert stats["duplicate_deliveries"] == 2 and stats["retries"] == 3
    assert svc.monitor.stats()["messages_in"] == 2


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda b: headers(b, secret="wrong-secret", ts=NOW), "bad_signature"),
        (lambda b: headers(b, ts=NOW - 301), "stale_timestamp"),  # replay
        (lambda b: headers(b, ts=NOW + 301), "stale_timestamp"),
        (
            lambda b: {"x-slack-signature": headers(b, ts=NOW)["x-slack-signature"]},
            "missing_signature",
        ),
        (
            lambda b: {**headers(b, ts=NOW), "x-slack-request-timestamp": "yesterday"},
            "bad_timestamp",
        ),
    ],
)
def test_bad_signatures_and_replays_are_refused(run: Any, make: Any, problem: str) -> None:
    # An injected clock: with the wall clock, "301 s ahead" could be 300 s by the time the
    # receiver looked, inside the tolerance (a flaky pass).
    svc = run(clock=lambda: float(NOW))
    body = json.dumps(event(1)).encode()
    r = svc.post(body, make(body))
    assert r.status_code == 401
    assert svc.receiver.stats()["problems"] == {problem: 1}
    assert svc.monitor.stats().get("messages_in", 0) == 0


def test_malformed_bodies(run: Any) -> None:
    svc = run()
    for body in (b"{oops", b"[]", json.dumps({"type": "url_verification"}).encode()):
        assert svc.post(body, headers(body)).status_code == 400
    assert svc.monitor.stats()["rejected_by_reason"] == {"invalid_json": 3}


def test_answered_within_three_seconds_while_the_monitor_is_stuck(run: Any) -> None:
    """Slack wants an answer within 3 s: a message not stored by then is answered 503 (not
    acknowledged), and Slack's retry of it is acknowledged once it is stored."""
    gate = threading.Event()
    svc = run(monitor=GatedMonitor(gate, scorer=StaticScorer(), idle_check_interval=None))
    body = json.dumps(event(0)).encode()
    started = time.perf_counter()
    r = svc.post(body, headers(body))
    assert time.perf_counter() - started < 3.0
    assert r.status_code == 503 and "retry-after" in r.headers
    assert svc.monitor.stats().get("accepted", 0) == 0
    gate.set()
    retry = {**headers(body), "x-slack-retry-num": "1", "x-slack-retry-reason": "http_error"}
    assert svc.post(body, retry).status_code == 200
    # Taken once: the first copy (still stored after its 503) and the retry, one a duplicate.
    wait_for(lambda: svc.monitor.stats().get("duplicates") == 1)
    assert svc.monitor.stats()["accepted"] == 1


def test_threads_as_conversations(run: Any) -> None:
    svc = run(SlackAdapter(SECRET, counselors={COUNSELOR}, threads_as_conversations=True))
    for i, thread in enumerate(["111.1", "222.2", "111.1"]):
        body = json.dumps(event(i, thread_ts=thread)).encode()
        assert svc.post(body, headers(body)).status_code == 200
    wait_for(lambda: svc.monitor.stats().get("accepted") == 3)
    assert svc.monitor.stats()["pairs_created"] == 2


def test_key_rotation(run: Any) -> None:
    svc = run(SlackAdapter(["new-secret", SECRET]))
    body = json.dumps(event(1)).encode()
    assert svc.post(body, headers(body, secret=SECRET)).status_code == 200
    body = json.dumps(event(2)).encode()
    assert svc.post(body, headers(body, secret="new-secret")).status_code == 200

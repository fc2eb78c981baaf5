"""Twilio Conversations adapter, driven with real HTTP requests against uvicorn on loopback."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from alliance_monitor import Monitor
from alliance_monitor.adapters import (
    PushAdapter,
    TwilioConversationsAdapter,
    WebhookReceiver,
    with_lifespan,
)
from alliance_monitor.adapters.testing import serve_in_thread
from alliance_monitor.adapters.twilio import sign_twilio
from alliance_monitor.testing import StaticScorer

pytest.importorskip("uvicorn")

# Twilio's documented example (twilio.com/docs/usage/webhooks/webhooks-security): auth token
# "12345", this URL and these POST parameters give this X-Twilio-Signature.
DOC_TOKEN = "12345"
DOC_URL = "https://mycompany.com/myapp.php?foo=1&bar=2"
DOC_PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+14158675310",
    "Digits": "1234",
    "From": "+14158675310",
    "To": "+18005551212",
}
DOC_SIGNATURE = "GvWf1cFY/Q7PnoempGyD5oXAezc="
# The older edition of the same example (twilio-php docs, docs/usage/validation.rst), with the
# caller +14158675309, gives this signature.
DOC_PARAMS_OLD = {**DOC_PARAMS, "Caller": "+14158675309", "From": "+14158675309"}
DOC_SIGNATURE_OLD = "RSOYDt4T1cUTdK1PDd93/VVr8B8="

TOKEN = "test-auth-token-5c1d"
COUNSELOR = "counselor:alice"


def wait_for(pred: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.01)


def added(
    i: int, author: str = "+15551230000", conv: str = "CH0001", **extra: str
) -> dict[str, str]:
    return {
        "EventType": "onMessageAdded",
        "AccountSid": "AC0001",
        "ChatServiceSid": "IS0001",
        "ConversationSid": conv,
        "MessageSid": f"IM{i:04d}",
        "Index": str(i),
        "Author": author,
        "Body": f"message {i}",
        "ParticipantSid": "MB0001",
        "DateCreated": f"2024-05-01T10:00:{i:02d}.000Z",
        "Source": "SDK",
        "Attributes": "{}",
        **extra,
    }


class Running:
    def __init__(self, base: str, monitor: Monitor, receiver: WebhookReceiver) -> None:
        self.base, self.monitor, self.receiver = base, monitor, receiver
        self.url = base + "/twilio/conversations"

    def post(
        self,
        params: dict[str, str],
        *,
        token: str = TOKEN,
        url: str | None = None,
        sign_url: str | None = None,
        extra: dict[str, str] | None = None,
    ) -> httpx.Response:
        target = url or self.url
        hdrs = {
            "content-type": "application/x-www-form-urlencoded",
            "x-twilio-signature": sign_twilio(token, sign_url or target, params),
            **(extra or {}),
        }
        return httpx.post(target, content=urlencode(params), headers=hdrs, timeout=10)


@pytest.fixture
def run() -> Iterator[Callable[..., Running]]:
    stack: list[Any] = []

    def start(adapter: PushAdapter | None = None) -> Running:
        adapter = adapter or TwilioConversationsAdapter(TOKEN, counselors={COUNSELOR})
        mon = Monitor(scorer=StaticScorer(), idle_check_interval=None)
        receiver = WebhookReceiver(adapter, mon)
        cm = serve_in_thread(with_lifespan(receiver, mon, receiver))
        stack.append(cm)
        return Running(cm.__enter__(), mon, receiver)

    yield start
    for cm in reversed(stack):
        cm.__exit__(None, None, None)


def test_documented_example_signatures() -> None:
    assert sign_twilio(DOC_TOKEN, DOC_URL, DOC_PARAMS) == DOC_SIGNATURE
    assert sign_twilio(DOC_TOKEN, DOC_URL, DOC_PARAMS_OLD) == DOC_SIGNATURE_OLD


def test_documented_example_passes_verification_over_http(run: Any) -> None:
    svc = run(TwilioConversationsAdapter(DOC_TOKEN, public_url="https://mycompany.com/myapp.php"))
    # Twilio called https://mycompany.com/myapp.php?foo=1&bar=2; a proxy forwards it here.
    hdrs = {
        "content-type": "application/x-www-form-urlencoded",
        "x-twilio-signature": DOC_SIGNATURE,
    }
    r = httpx.post(
        svc.base + "/myapp.php?foo=1&bar=2", content=urlencode(DOC_PARAMS), headers=hdrs, timeout=10
    )
    assert r.status_code == 200  # authentic; a voice webhook is not a message: ignored
    assert svc.receiver.stats()["ignored"] == {"not_a_message": 1}
    bad = {**DOC_PARAMS, "Digits": "9999"}
    r = httpx.post(
        svc.base + "/myapp.php?foo=1&bar=2", content=urlencode(bad), headers=hdrs, timeout=10
    )
    assert r.status_code == 403
    assert svc.receiver.stats()["problems"] == {"bad_signature": 1}


def test_on_message_added_becomes_messages_in_order(run: Any) -> None:
    svc = run()
    for i, author in [(0, COUNSELOR), (1, "+15551230000"), (2, COUNSELOR)]:
        assert svc.post(added(i, author)).status_code == 200
    wait_for(lambda: svc.monitor.stats().get("accepted") == 3)
    pair = svc.monitor.core.get_pair("CH0001")
    assert pair is not None and pair.counselor_id == COUNSELOR
    assert pair.client_id == "+15551230000"


def test_other_events_are_ignored(run: Any) -> None:
    svc = run()
    for kind in ("onParticipantAdded", "onMessageUpdated", "onConversationUpdated"):
        assert svc.post({**added(1), "EventType": kind}).status_code == 200
    assert svc.receiver.stats()["ignored"] == {"not_a_message": 3}


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"token": "wrong-token"}, "bad_signature"),
        ({"sign_url": "http://evil.example/twilio/conversations"}, "bad_signature"),
        ({"extra": {"x-twilio-signature": ""}}, "missing_signature"),
    ],
)
def test_bad_signatures_are_refused(run: Any, change: dict[str, Any], problem: str) -> None:
    svc = run()
    assert svc.post(added(1), **change).status_code == 403
    assert svc.receiver.stats()["problems"] == {problem: 1}
    assert svc.monitor.stats().get("messages_in", 0) == 0


def test_tampered_parameter_is_refused(run: Any) -> None:
    svc = run()
    params = added(1)
    hdrs = {
        "content-type": "application/x-www-form-urlencoded",
        "x-twilio-signature": sign_twilio(TOKEN, svc.url, params),
    }
    tampered = {**params, "Body": "something else"}
    r = httpx.post(svc.url, content=urlencode(tampered), headers=hdrs, timeout=10)
    assert r.status_code == 403


def test_retries_and_replays_are_ignored(run: Any) -> None:
    svc = run()
    assert svc.post(added(1), extra={"i-twilio-idempotency-token": "tok-1"}).status_code == 200
    again = svc.post({**added(1), "RetryCount": "1"}, extra={"i-twilio-idempotency-token": "tok-1"})
    assert again.status_code == 200
    # Twilio's scheme has no timestamp: a replay of the same request later is a duplicate.
    assert svc.post(added(2)).status_code == 200
    assert svc.post(added(2)).status_code == 200
    wait_for(lambda: svc.monitor.stats().get("accepted") == 2)
    stats = svc.receiver.stats()
    assert stats["duplicate_deliveries"] == 2 and stats["retries"] == 1


def test_public_url_with_and_without_default_port(run: Any) -> None:
    svc = run(TwilioConversationsAdapter(TOKEN, public_url="https://example.org/hooks/twilio"))
    assert svc.post(added(1), sign_url="https://example.org/hooks/twilio").status_code == 200
    assert svc.post(added(2), sign_url="https://example.org:443/hooks/twilio").status_code == 200
    wait_for(lambda: svc.monitor.stats().get("accepted") == 2)


def test_json_body_with_body_hash(run: Any) -> None:
    svc = run()
    body = b'{"EventType": "onMessageAdded"}'
    url = svc.url + "?bodySHA256=" + hashlib.sha256(body).hexdigest()
    hdrs = {"content-type": "application/json", "x-twilio-signature": sign_twilio(TOKEN, url)}
    assert httpx.post(url, content=body, headers=hdrs, timeout=10).status_code == 200
    r = httpx.post(url, content=body + b" ", headers=hdrs, timeout=10)
    assert r.status_code == 403


def test_malformed_and_key_rotation(run: Any) -> None:
    svc = run(TwilioConversationsAdapter(["secondary-token", TOKEN]))
    assert svc.post({}).status_code == 400
    assert svc.post({"EventType": "onMessageAdded"}).status_code == 400
    assert svc.monitor.stats()["rejected_by_reason"] == {"invalid_schema": 2}
    assert svc.post(added(1), token="secondary-token").status_code == 200
    assert svc.post(added(2), token=TOKEN).status_code == 200

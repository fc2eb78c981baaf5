"""Standard Webhooks signatures: the published test vector, tampering, replay, key rotation."""

from __future__ import annotations

import base64
import time

import httpx
import pytest

from alliance_monitor import AllianceMonitorError, ConfigError
from alliance_monitor.alerts import (
    WebhookSigner,
    WebhookVerificationError,
    generate_webhook_secret,
    sign_webhook,
    verify_webhook,
)

# The signing test vector of the Standard Webhooks reference libraries
# (standard-webhooks/standard-webhooks, libraries/python/tests/test_webhooks.py).
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TS = 1614265330
VECTOR_BODY = b'{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def _headers(webhook_id: str, ts: int, signature: str) -> dict[str, str]:
    return {"webhook-id": webhook_id, "webhook-timestamp": str(ts), "webhook-signature": signature}


def test_published_test_vector() -> None:
    assert sign_webhook([VECTOR_SECRET], VECTOR_ID, VECTOR_TS, VECTOR_BODY) == VECTOR_SIGNATURE
    # The prefix is optional on the secret, as in the reference libraries.
    assert sign_webhook([VECTOR_SECRET[6:]], VECTOR_ID, VECTOR_TS, VECTOR_BODY) == VECTOR_SIGNATURE
    verified = verify_webhook(
        _headers(VECTOR_ID, VECTOR_TS, VECTOR_SIGNATURE), VECTOR_BODY, VECTOR_SECRET,
        now=VECTOR_TS + 10,
    )  # fmt: skip
    assert verified.id == VECTOR_ID and verified.timestamp == VECTOR_TS


def test_signer_as_httpx_auth_with_mock_transport() -> None:
    secret = generate_webhook_secret()
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        verify_webhook(request.headers, request.content, [secret])
        return httpx.Response(204)

    assert WebhookSigner.requires_request_body is True
    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        body = b'{"type":"safety_signal"}'
        r = client.post(
            "https://example.org/hooks",
            content=body,
            headers={"webhook-id": "evt_abc"},
            auth=WebhookSigner([secret]),
        )
    assert r.status_code == 204
    sent = seen[0]
    assert sent.headers["webhook-id"] == "evt_abc"
    assert abs(int(sent.headers["webhook-timestamp"]) - time.time()) < 5
    assert sent.headers["webhook-signature"].startswith("v1,")


def test_tampered_body_id_or_timestamp_is_rejected() -> None:
    secret = generate_webhook_secret()
    now = int(time.time())
    body = b'{"data":{"id":"evt_1","severity":"high"}}'
    sig = sign_webhook([secret], "evt_1", now, body)
    verify_webhook(_headers("evt_1", now, sig), body, secret)
    tampered = [
        (_headers("evt_1", now, sig), body.replace(b"high", b"low ")),
        (_headers("evt_2", now, sig), body),
        (_headers("evt_1", now - 1, sig), body),
        (_headers("evt_1", now, sig[:-4] + "AAA="), body),
        (_headers("evt_1", now, "v2," + sig[3:]), body),
    ]
    for headers, data in tampered:
        with pytest.raises(WebhookVerificationError) as info:
            verify_webhook(headers, data, secret)
        assert info.value.reason == "no_matching_signature"


def test_wrong_secret_is_rejected() -> None:
    now = int(time.time())
    body = b"{}"
    sig = sign_webhook([generate_webhook_secret()], "evt_1", now, body)
    with pytest.raises(WebhookVerificationError):
        verify_webhook(_headers("evt_1", now, sig), body, generate_webhook_secret())


@pytest.mark.parametrize("offset", [-301, 301, -3600, 86400])
def test_replay_outside_tolerance_is_rejected_both_ways(offset: int) -> None:
    secret = generate_webhook_secret()
    now = 1_700_000_000
    body = b"{}"
    ts = now + offset
    sig = sign_webhook([secret], "evt_1", ts, body)
    with pytest.raises(WebhookVerificationError) as info:
        verify_webhook(_headers("evt_1", ts, sig), body, secret, now=now)
    assert info.value.reason == ("timestamp_too_old" if offset < 0 else "timestamp_too_new")
    # Inside the tolerance it passes.
    verify_webhook(_headers("evt_1", ts, sig), body, secret, now=ts - 299)


def test_key_rotation_signs_with_both_and_verifies_with_either() -> None:
    old, new = generate_webhook_secret(), generate_webhook_secret()
    now = int(time.time())
    body = b'{"a":1}'
    header = sign_webhook([new, old], "evt_1", now, body)
    assert len(header.split(" ")) == 2
    headers = _headers("evt_1", now, header)
    verify_webhook(headers, body, [old])  # receiver not yet rotated
    verify_webhook(headers, body, [new])  # receiver rotated
    verify_webhook(headers, body, [new, old])  # receiver accepting both
    with pytest.raises(WebhookVerificationError):
        verify_webhook(headers, body, [generate_webhook_secret()])


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "missing_headers"),
        ({"webhook-id": "a", "webhook-timestamp": "1"}, "missing_headers"),
        ({"webhook-id": "a.b", "webhook-timestamp": "1", "webhook-signature": "v1,x"}, "invalid_id"),
        ({"webhook-id": "a", "webhook-timestamp": "soon", "webhook-signature": "v1,x"},
         "invalid_timestamp"),
        ({"webhook-id": "a", "webhook-timestamp": "-5", "webhook-signature": "v1,x"},
         "invalid_timestamp"),
    ],
)  # fmt: skip
def test_malformed_headers(headers: dict[str, str], reason: str) -> None:
    with pytest.raises(WebhookVerificationError) as info:
        verify_webhook(headers, b"{}", generate_webhook_secret())
    assert info.value.reason == reason


def test_asgi_style_headers_and_error_never_contain_the_body() -> None:
    secret = generate_webhook_secret()
    now = int(time.time())
    body = b'{"secret_patient_name":"Zorblax Quintavious"}'
    sig = sign_webhook([secret], "evt_1", now, body)
    raw = [
        (b"Webhook-Id", b"evt_1"),
        (b"Webhook-Timestamp", str(now).encode()),
        (b"Webhook-Signature", sig.encode()),
    ]
    assert verify_webhook(raw, body, [secret]).id == "evt_1"
    with pytest.raises(WebhookVerificationError) as info:
        verify_webhook(raw, body + b" ", [secret])
    assert isinstance(info.value, AllianceMonitorError)
    assert "Zorblax" not in str(info.value) and "Zorblax" not in repr(info.value.args)


def test_secrets_are_validated_and_never_echoed() -> None:
    with pytest.raises(ConfigError) as info:
        WebhookSigner(["whsec_not base64!!"])
    assert "not valid base64" in str(info.value) and "!!" not in str(info.value)
    with pytest.raises(ConfigError):
        WebhookSigner([])
    with pytest.raises(ConfigError):
        generate_webhook_secret(8)
    secret = generate_webhook_secret()
    assert len(base64.b64decode(secret[6:])) == 32
    assert secret not in repr(WebhookSigner([secret]))

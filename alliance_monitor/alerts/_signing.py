"""Standard Webhooks signatures: sign on the way out (an `httpx.Auth`), verify on the way in.

The signed content is ``{webhook-id}.{webhook-timestamp}.{body}``; each signature is
``v1,<base64 HMAC-SHA256>`` under one secret. Secrets are ``whsec_`` + base64 of at least 24
random bytes. During a key rotation the sender signs with the new and the old secret at once
and sends both signatures, space-separated; a receiver accepts the request if any one matches.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets as _secrets
import time
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass

import httpx

from .._errors import AllianceMonitorError, ConfigError

__all__ = [
    "VerifiedWebhook",
    "WebhookSigner",
    "WebhookVerificationError",
    "generate_webhook_secret",
    "sign_webhook",
    "verify_webhook",
]

_PREFIX = "whsec_"
_MIN_SECRET_BYTES = 24
_MAX_ID_LENGTH = 256

Headers = Mapping[str, str] | Iterable[tuple[str | bytes, str | bytes]]


class WebhookVerificationError(AllianceMonitorError):
    """A received webhook failed verification. `reason` says why; the body is never included.

    Reasons: ``missing_headers``, ``invalid_id``, ``invalid_timestamp``, ``timestamp_too_old``,
    ``timestamp_too_new``, ``no_matching_signature``.
    """

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"webhook verification failed: {reason}")


@dataclass(frozen=True, slots=True)
class VerifiedWebhook:
    """A webhook that passed verification. `id` is the de-duplication key."""

    id: str
    timestamp: int


def generate_webhook_secret(nbytes: int = 32) -> str:
    """A new random ``whsec_`` secret (share it with the receiver over a safe channel)."""
    if nbytes < _MIN_SECRET_BYTES:
        raise ConfigError(f"a webhook secret needs at least {_MIN_SECRET_BYTES} random bytes")
    return _PREFIX + base64.b64encode(_secrets.token_bytes(nbytes)).decode("ascii")


def decode_secret(secret: str | bytes) -> bytes:
    """The key bytes of a ``whsec_`` secret (the prefix is optional). Never echoes the secret."""
    if isinstance(secret, bytes):
        key = secret
    else:
        raw = secret.strip().removeprefix(_PREFIX)
        try:
            key = base64.b64decode(raw + "=" * (-len(raw) % 4), validate=True)
        except (binascii.Error, ValueError):
            raise ConfigError("webhook secret is not valid base64 (expected whsec_...)") from None
    if not key:
        raise ConfigError("webhook secret is empty")
    return key


def _sign(key: bytes, webhook_id: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(key, f"{webhook_id}.{timestamp}.".encode() + body, hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode("ascii")


def sign_webhook(
    secrets: Sequence[str | bytes], webhook_id: str, timestamp: int, body: bytes
) -> str:
    """The ``webhook-signature`` header value: one ``v1,...`` signature per secret."""
    _check_id(webhook_id)
    return " ".join(_sign(decode_secret(s), webhook_id, timestamp, body) for s in secrets)


def _check_id(webhook_id: str) -> None:
    if not webhook_id or "." in webhook_id or len(webhook_id) > _MAX_ID_LENGTH:
        raise ConfigError("webhook id must be 1-256 characters without '.'")


class WebhookSigner(httpx.Auth):
    """Signs a request with Standard Webhooks headers.

    The request must carry a ``webhook-id`` header (the stable id of the message; one is made
    up if it is missing). ``webhook-timestamp`` is set to the current time unless present, so
    each retry is signed afresh. Several secrets give several signatures (key rotation).

        client.post(url, content=body, headers={"webhook-id": "evt_1"}, auth=signer)
    """

    requires_request_body = True

    def __init__(
        self, secrets: Sequence[str | bytes], *, clock: Callable[[], float] = time.time
    ) -> None:
        if isinstance(secrets, str | bytes):
            secrets = [secrets]
        self._keys = tuple(decode_secret(s) for s in secrets)
        if not self._keys:
            raise ConfigError("WebhookSigner needs at least one secret")
        self._clock = clock

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        webhook_id = request.headers.get("webhook-id") or "msg_" + _secrets.token_hex(12)
        _check_id(webhook_id)
        timestamp = request.headers.get("webhook-timestamp") or str(int(self._clock()))
        body = request.content
        request.headers["webhook-id"] = webhook_id
        request.headers["webhook-timestamp"] = timestamp
        request.headers["webhook-signature"] = " ".join(
            _sign(key, webhook_id, int(timestamp), body) for key in self._keys
        )
        yield request

    def __repr__(self) -> str:  # never show key material
        return f"WebhookSigner(<{len(self._keys)} secret(s)>)"


def _header_dict(headers: Headers) -> dict[str, str]:
    items = headers.items() if isinstance(headers, Mapping) else headers
    out: dict[str, str] = {}
    for name, value in items:
        key = name.decode("latin-1") if isinstance(name, bytes) else name
        val = value.decode("latin-1") if isinstance(value, bytes) else value
        out[key.lower()] = val
    return out


def verify_webhook(
    headers: Headers,
    body: bytes | str,
    secrets: str | bytes | Sequence[str | bytes],
    *,
    tolerance: float = 300,
    now: float | None = None,
) -> VerifiedWebhook:
    """Verify a received Standard Webhooks request; raise `WebhookVerificationError` if not.

    `headers` may be a mapping (any case) or the raw ``(name, value)`` pairs of an ASGI scope;
    `body` must be the exact bytes received (do not parse and re-serialise the JSON).
    `secrets` are the secrets accepted now (several during a rotation). The timestamp must be
    within `tolerance` seconds of `now` in either direction (replay protection). Signatures are
    compared in constant time. Returns the verified id: de-duplicate on it.
    """
    h = _header_dict(headers)
    webhook_id = h.get("webhook-id", "")
    ts_text = h.get("webhook-timestamp", "")
    signatures = h.get("webhook-signature", "")
    if not (webhook_id and ts_text and signatures):
        raise WebhookVerificationError("missing_headers")
    if "." in webhook_id or len(webhook_id) > _MAX_ID_LENGTH:
        raise WebhookVerificationError("invalid_id")
    if not (ts_text.isascii() and ts_text.isdigit()) or len(ts_text) > 12:
        raise WebhookVerificationError("invalid_timestamp")
    timestamp = int(ts_text)
    current = time.time() if now is None else now
    if timestamp < current - tolerance:
        raise WebhookVerificationError("timestamp_too_old")
    if timestamp > current + tolerance:
        raise WebhookVerificationError("timestamp_too_new")
    if isinstance(secrets, str | bytes):
        secrets = [secrets]
    data = body.encode("utf-8") if isinstance(body, str) else body
    expected = [_sign(decode_secret(s), webhook_id, timestamp, data) for s in secrets]
    matched = False
    for candidate in signatures.split():
        for want in expected:
            # compare_digest on the whole "v1,<b64>" string: constant time, no decoding.
            matched |= hmac.compare_digest(candidate.encode(), want.encode())
    if not matched:
        raise WebhookVerificationError("no_matching_signature")
    return VerifiedWebhook(id=webhook_id, timestamp=timestamp)

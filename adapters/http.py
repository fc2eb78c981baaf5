"""The generic HTTP webhook receiver: for chat backends of a platform's own making.

The backend POSTs messages to the receiver, signed the Standard Webhooks way:

    POST /hooks/messages                     Content-Type: application/json
    webhook-id: msg_01H...                   unique per delivery; the same on every retry
    webhook-timestamp: 1718000000            Unix seconds; must be within `tolerance` of now
    webhook-signature: v1,<base64>           HMAC-SHA256(key, "{id}.{timestamp}.{body}")

    {"conversation_id": "pair-17", "id": "m-981", "role": "client", "text": "...", "ts": 1718e6}
    or {"messages": [ ...up to max_batch of those... ]}

A message has the fields of `alliance_monitor.Message`: conversation_id, id, role
(counselor/client/other), text, ts, and optionally seq, counselor_id, client_id, session_id,
metadata. With a `RoleMap`, ``sender_id`` may stand in for ``role``. The key is a Standard
Webhooks secret (``whsec_`` + base64 of at least 24 random bytes); during a rotation configure
both the new and the old secret. `WebhookSigner` (an ``httpx.Auth``) signs requests for you.

Answers: 202 ``{"queued": n}`` (handed off, not yet ingested); 401 bad or missing signature, or a
timestamp outside the tolerance (a replay); 400 a body that is not JSON or not this schema; 413 too
large; 503 with Retry-After when the queue is full. A retry with a webhook-id already taken gets
202 again and is not ingested twice.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from alliance_monitor import ConfigError, JSONRejected, RejectReason, safe_json_loads
from alliance_monitor.alerts import (
    WebhookSigner,
    WebhookVerificationError,
    decode_secret,
    sign_webhook,
    verify_webhook,
)

from ._base import Ack, ConversationMap, Delivery, PushAdapter, Request, RoleMap

__all__ = ["HttpAdapter", "WebhookSigner", "sign_webhook"]

_PROBLEMS = {
    "missing_headers": "missing_signature",
    "invalid_id": "bad_signature",
    "invalid_timestamp": "bad_timestamp",
    "timestamp_too_old": "stale_timestamp",
    "timestamp_too_new": "stale_timestamp",
    "no_matching_signature": "bad_signature",
}


class HttpAdapter(PushAdapter):
    """Verifies Standard Webhooks signatures and reads the documented message schema."""

    name = "http"
    content_types = ("application/json",)
    ok_status = 202

    def __init__(
        self,
        secrets: str | Sequence[str],
        *,
        tolerance: float = 300.0,
        max_batch: int = 500,
        roles: RoleMap | None = None,
        conversations: ConversationMap | None = None,
    ) -> None:
        self._secrets = [secrets] if isinstance(secrets, str) else list(secrets)
        if not self._secrets:
            raise ConfigError("HttpAdapter needs at least one secret")
        for secret in self._secrets:
            decode_secret(secret)  # fail at start-up (ConfigError, without the secret)
        self.tolerance = tolerance
        self.max_batch = max_batch
        self.roles = roles
        self.conversations = conversations

    def __repr__(self) -> str:
        return f"HttpAdapter(<{len(self._secrets)} secret(s)>, tolerance={self.tolerance})"

    def handle(self, request: Request, now: float) -> Delivery:
        try:
            verified = verify_webhook(
                request.headers, request.body, self._secrets, tolerance=self.tolerance, now=now
            )
        except WebhookVerificationError as exc:
            return Delivery.refuse(401, _PROBLEMS.get(exc.reason, "bad_signature"))
        try:
            payload = safe_json_loads(request.body)
        except JSONRejected as exc:  # never holds the body
            return Delivery.malformed(exc.reason)
        items = _items(payload)
        if items is None or len(items) > self.max_batch:
            return Delivery.malformed(RejectReason.INVALID_SCHEMA)
        messages: list[Mapping[str, Any]] = []
        rejected: list[RejectReason] = []
        ignored: list[str] = []
        for item in items:
            if not isinstance(item, dict):
                rejected.append(RejectReason.INVALID_SCHEMA)
                continue
            mapped = self._map(item)
            if mapped is None:
                ignored.append("unmapped_conversation")
            else:
                messages.append(mapped)
        ack = Ack.json(202, json.dumps({"queued": len(messages)}))
        return Delivery(
            ack,
            tuple(messages),
            rejected=tuple(rejected),
            ignored=tuple(ignored),
            delivery_id=verified.id,
        )

    def _map(self, item: dict[str, Any]) -> dict[str, Any] | None:
        if self.conversations is not None:
            conv = id_text(item.get("conversation_id"))  # ids may be integers
            mapped = self.conversations.conversation_of(conv if isinstance(conv, str) else None)
            if mapped is None:
                return None
            item = {**item, "conversation_id": mapped}
        sender = id_text(item.get("sender_id"))
        if "role" not in item and self.roles is not None and isinstance(sender, str):
            role = self.roles.role_of(sender)
            item = {**self.roles.ids_for(role, sender), **item, "role": role.value}
        return item


def id_text(value: Any) -> Any:
    """An integer id as its decimal string, as `Message` keeps it (docs/contracts.md)."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _items(payload: Any) -> list[Any] | None:
    if isinstance(payload, dict) and "messages" in payload:
        batch = payload["messages"]
        return batch if isinstance(batch, list) else None
    if isinstance(payload, dict):
        return [payload]
    return None

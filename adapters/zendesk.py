"""Zendesk Sunshine Conversations (messaging) webhooks, payload version v2.

    adapter = SunshineConversationsAdapter(os.environ["SUNCO_WEBHOOK_SECRET"])
    receiver = WebhookReceiver(adapter, monitor)

Two ways of proving a request came from Zendesk, chosen with `scheme`:

- ``"api_key"`` (default): Sunshine Conversations sends the webhook's secret in the ``X-API-Key``
  header. It is compared in constant time with the configured secret(s). The scheme has no
  timestamp: a replayed request is recognised by its event ids and ignored.
- ``"signature"``: Zendesk's webhook signature, ``X-Zendesk-Webhook-Signature`` =
  base64(HMAC-SHA256(secret, ``X-Zendesk-Webhook-Signature-Timestamp`` + raw body)), with the
  ISO 8601 timestamp required within `tolerance` of now.

Each ``conversation:message`` event with text content becomes a message: the Sunshine
conversation is the pair, ``author.type == "business"`` (an agent: the counselor) and ``"user"``
(the client) give the roles unless `counselors`/`roles` say otherwise, ``message.received`` is
the timestamp. Other events and non-text content are ignored, counted.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

from alliance_monitor import ConfigError, JSONRejected, safe_json_loads

from ._base import (
    ConversationMap,
    Delivery,
    PushAdapter,
    Request,
    RoleMap,
    constant_time_in,
    iso_to_epoch,
)

__all__ = ["SunshineConversationsAdapter", "sign_zendesk"]


def sign_zendesk(secret: str, timestamp: str, body: bytes) -> str:
    """The ``X-Zendesk-Webhook-Signature`` value for `body` sent at `timestamp`."""
    mac = hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256)
    return base64.b64encode(mac.digest()).decode("ascii")


class SunshineConversationsAdapter(PushAdapter):
    """Verifies a Sunshine Conversations webhook and reads its ``conversation:message`` events."""

    name = "zendesk"
    content_types = ("application/json",)
    ok_status = 200

    def __init__(
        self,
        secrets: str | Sequence[str],
        *,
        scheme: Literal["api_key", "signature"] = "api_key",
        tolerance: float = 300.0,
        counselors: Iterable[str] = (),
        roles: RoleMap | None = None,
        conversations: ConversationMap | None = None,
    ) -> None:
        self._secrets = [secrets] if isinstance(secrets, str) else list(secrets)
        if not self._secrets or not all(self._secrets):
            raise ConfigError("SunshineConversationsAdapter needs a webhook secret")
        if scheme not in ("api_key", "signature"):
            raise ConfigError("scheme must be 'api_key' or 'signature'")
        self.scheme = scheme
        self.tolerance = tolerance
        self.roles = roles or RoleMap.of(counselors, counselor_roles={"business"})
        self.conversations = conversations or ConversationMap()

    def __repr__(self) -> str:
        return f"SunshineConversationsAdapter(<{len(self._secrets)} secret(s)>, {self.scheme})"

    def handle(self, request: Request, now: float) -> Delivery:
        problem = self._verify(request, now)
        if problem is not None:
            return Delivery.refuse(401, problem)
        try:
            payload = safe_json_loads(request.body)
        except JSONRejected as exc:
            return Delivery.malformed(exc.reason)
        events = payload.get("events") if isinstance(payload, dict) else None
        if not isinstance(events, list):
            return Delivery.malformed()
        messages: list[Mapping[str, Any]] = []
        ignored: list[str] = []
        ids: list[str] = []
        for event in events:
            if isinstance(event, dict) and isinstance(event.get("id"), str):
                ids.append(event["id"])
            message, why = self._message(event)
            if message is None:
                ignored.append(why)
            else:
                messages.append(message)
        delivery_id = "|".join(sorted(ids)) if ids else None
        return Delivery(self.ok(), tuple(messages), ignored=tuple(ignored), delivery_id=delivery_id)

    def _verify(self, request: Request, now: float) -> str | None:
        if self.scheme == "api_key":
            key = request.header("x-api-key")
            if not key:
                return "missing_signature"
            return None if constant_time_in(key, self._secrets) else "bad_signature"
        signature = request.header("x-zendesk-webhook-signature")
        stamp = request.header("x-zendesk-webhook-signature-timestamp")
        if not signature or not stamp:
            return "missing_signature"
        when = iso_to_epoch(stamp)
        if when is None:
            return "bad_timestamp"
        if abs(now - when) > self.tolerance:
            return "stale_timestamp"
        expected = [sign_zendesk(secret, stamp, request.body) for secret in self._secrets]
        return None if constant_time_in(signature, expected) else "bad_signature"

    def _message(self, event: Any) -> tuple[dict[str, Any] | None, str]:
        if not isinstance(event, dict) or event.get("type") != "conversation:message":
            return None, "not_a_message"
        body = event.get("payload")
        conv = body.get("conversation") if isinstance(body, dict) else None
        msg = body.get("message") if isinstance(body, dict) else None
        if not isinstance(conv, dict) or not isinstance(msg, dict):
            return None, "incomplete_event"
        content = msg.get("content")
        if not isinstance(content, dict) or content.get("type") != "text":
            return None, "not_text"
        conversation = self.conversations.conversation_of(_str(conv.get("id")))
        if conversation is None:
            return None, "unmapped_conversation"
        raw_author = msg.get("author")
        author: dict[str, Any] = raw_author if isinstance(raw_author, dict) else {}
        user_id = _str(author.get("userId"))
        role = self.roles.role_of(user_id, _str(author.get("type")))
        message: dict[str, Any] = {
            "conversation_id": conversation,
            "id": msg.get("id"),
            "role": role.value,
            "text": content.get("text"),
            **self.roles.ids_for(role, user_id),
            "metadata": {"platform": "zendesk", "author_type": _str(author.get("type"))},
        }
        stamp = iso_to_epoch(msg.get("received"))
        if stamp is not None:
            message["ts"] = stamp
        return message, ""


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None

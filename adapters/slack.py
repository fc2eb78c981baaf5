"""Slack Events API: a workspace where each counseling pair talks in a channel (or a thread).

    adapter = SlackAdapter(os.environ["SLACK_SIGNING_SECRET"], counselors={"U024BE7LH"})
    receiver = WebhookReceiver(adapter, monitor)      # mount at the app's Request URL

Every request is verified with the app's signing secret (version ``v0``): the signature is
``v0=`` + hex HMAC-SHA256(secret, ``"v0:{X-Slack-Request-Timestamp}:{raw body}"``), and the
timestamp must be within `tolerance` (5 minutes) of now, so a captured request cannot be
replayed later. The ``url_verification`` challenge is answered. Slack wants a 2xx within 3
seconds: the receiver answers before the monitor sees anything. Slack retries a delivery it
thinks failed, marking it with ``X-Slack-Retry-Num``; a retry of an ``event_id`` already taken is
acknowledged and ignored.

Roles: users in `counselors` (or `roles`) are counselors, everyone else in the channel is the
client. Conversations: a channel is a pair (``threads_as_conversations=True`` makes each thread
one); `conversations` maps channel ids to pair ids and can ignore channels that are no pair.
Edits, deletions and bot messages are ignored (counted).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from alliance_monitor import ConfigError, JSONRejected, safe_json_loads

from ._base import Ack, ConversationMap, Delivery, PushAdapter, Request, RoleMap, constant_time_in

__all__ = ["SlackAdapter", "sign_slack"]

#: Message subtypes that are still someone speaking in the conversation.
_SPOKEN_SUBTYPES = frozenset({"thread_broadcast", "file_share", "me_message"})


def sign_slack(signing_secret: str, timestamp: int | str, body: bytes) -> str:
    """The ``X-Slack-Signature`` value Slack sends for `body` at `timestamp`."""
    base = f"v0:{timestamp}:".encode() + body
    return "v0=" + hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()


class SlackAdapter(PushAdapter):
    """Slack Events API receiver (``message`` events)."""

    name = "slack"
    # Events API bodies are JSON; slash commands and interactivity are form-encoded.
    content_types = ("application/json", "application/x-www-form-urlencoded")
    ok_status = 200
    ack_deadline = 2.5  # Slack wants an answer within 3 s

    def __init__(
        self,
        signing_secrets: str | Sequence[str],
        *,
        counselors: Iterable[str] = (),
        roles: RoleMap | None = None,
        conversations: ConversationMap | None = None,
        threads_as_conversations: bool = False,
        tolerance: float = 300.0,
    ) -> None:
        self._secrets = (
            [signing_secrets] if isinstance(signing_secrets, str) else list(signing_secrets)
        )
        if not self._secrets or not all(self._secrets):
            raise ConfigError("SlackAdapter needs a signing secret")
        self.roles = roles or RoleMap.of(counselors)
        self.conversations = conversations or ConversationMap()
        self.threads_as_conversations = threads_as_conversations
        self.tolerance = tolerance

    def __repr__(self) -> str:
        return f"SlackAdapter(<{len(self._secrets)} secret(s)>)"

    def handle(self, request: Request, now: float) -> Delivery:
        problem = self._verify(request, now)
        if problem is not None:
            return Delivery.refuse(401, problem)
        retry = bool(request.header("x-slack-retry-num"))
        try:
            payload = safe_json_loads(request.body)
        except JSONRejected as exc:
            return Delivery.malformed(exc.reason)
        if not isinstance(payload, dict):
            return Delivery.malformed()
        kind = payload.get("type")
        if kind == "url_verification":
            challenge = payload.get("challenge")
            if not isinstance(challenge, str):
                return Delivery.malformed()
            return Delivery(
                Ack.json(200, json.dumps({"challenge": challenge})), ignored=("url_verification",)
            )
        if kind != "event_callback" or not isinstance(payload.get("event"), dict):
            return Delivery(self.ok(), ignored=("not_an_event",), retry=retry)
        event_id = payload.get("event_id")
        delivery_id = event_id if isinstance(event_id, str) else None
        message, why = self._message(payload["event"])
        if message is None:
            return Delivery(self.ok(), ignored=(why,), delivery_id=delivery_id, retry=retry)
        return Delivery(self.ok(), (message,), delivery_id=delivery_id, retry=retry)

    def _verify(self, request: Request, now: float) -> str | None:
        signature = request.header("x-slack-signature")
        stamp = request.header("x-slack-request-timestamp")
        if not signature or not stamp:
            return "missing_signature"
        if not (stamp.isascii() and stamp.isdigit()) or len(stamp) > 12:
            return "bad_timestamp"
        if abs(now - int(stamp)) > self.tolerance:
            return "stale_timestamp"
        expected = [sign_slack(secret, stamp, request.body) for secret in self._secrets]
        return None if constant_time_in(signature, expected) else "bad_signature"

    def _message(self, event: Mapping[str, Any]) -> tuple[dict[str, Any] | None, str]:
        if event.get("type") != "message":
            return None, "not_a_message"
        subtype = event.get("subtype")
        if event.get("bot_id") or subtype == "bot_message":
            return None, "bot_message"
        if subtype is not None and subtype not in _SPOKEN_SUBTYPES:
            return None, "message_subtype"
        channel, user, ts = event.get("channel"), event.get("user"), event.get("ts")
        if not isinstance(channel, str) or not isinstance(ts, str):
            return None, "incomplete_event"
        thread = event.get("thread_ts")
        key = channel
        if self.threads_as_conversations and isinstance(thread, str):
            key = f"{channel}/{thread}"
        conversation = self.conversations.conversation_of(key)
        if conversation is None:
            return None, "unmapped_conversation"
        try:
            when = float(ts)
        except ValueError:
            return None, "incomplete_event"
        uid = user if isinstance(user, str) else None
        role = self.roles.role_of(uid)
        metadata: dict[str, str] = {"platform": "slack", "channel": channel}
        if isinstance(thread, str):
            metadata["thread_ts"] = thread
        return {
            "conversation_id": conversation,
            "id": ts,
            "role": role.value,
            "text": event.get("text"),
            "ts": when,
            **self.roles.ids_for(role, uid),
            "metadata": metadata,
        }, ""

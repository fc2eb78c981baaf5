"""Twilio Conversations: post-event webhooks (``onMessageAdded``) of a Conversations service.

    adapter = TwilioConversationsAdapter(
        os.environ["TWILIO_AUTH_TOKEN"],
        public_url="https://counseling.example.org/hooks/twilio",   # exactly as set in Twilio
        counselors={"counselor:alice"},                              # Author identities
    )
    receiver = WebhookReceiver(adapter, monitor)

Twilio signs each request with ``X-Twilio-Signature``: base64 HMAC-SHA1, keyed with the account's
auth token, over the full webhook URL followed by every POST parameter's name and value, sorted
by name. The URL must be the one Twilio called: behind a proxy or load balancer pass
`public_url`. Configure the secondary auth token too while rotating. Requests sent with a JSON
body carry ``bodySHA256`` in the URL instead of form parameters; both are verified.

Twilio's scheme has no timestamp, so there is no replay window to check: a replayed request is
recognised by its MessageSid (and ``I-Twilio-Idempotency-Token``) and ignored.

A Conversation is a pair (``ConversationSid``; map it with `conversations`), the ``Author``
identity says who spoke (`counselors`/`roles`), ``Index`` orders the messages and
``DateCreated`` is the timestamp. Other events (participants, edits) are ignored, counted.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit, urlunsplit

from alliance_monitor import ConfigError, RejectReason

from ._base import (
    ConversationMap,
    Delivery,
    PushAdapter,
    Request,
    RoleMap,
    constant_time_in,
    iso_to_epoch,
)

__all__ = ["TwilioConversationsAdapter", "sign_twilio"]

Params = Mapping[str, str | Sequence[str]] | Sequence[tuple[str, str]]


def _grouped(params: Params) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    items = params.items() if isinstance(params, Mapping) else params
    for key, value in items:
        values = [value] if isinstance(value, str) else list(value)
        out.setdefault(key, []).extend(values)
    return out


def sign_twilio(auth_token: str, url: str, params: Params = ()) -> str:
    """The ``X-Twilio-Signature`` value for a request to `url` with POST `params`."""
    data = url
    for key, values in sorted(_grouped(params).items()):
        for value in sorted(set(values)):
            data += key + value
    mac = hmac.new(auth_token.encode(), data.encode(), hashlib.sha1)
    return base64.b64encode(mac.digest()).decode("ascii")


def _url_variants(url: str) -> list[str]:
    """The URL as given, plus with the default port added or removed (Twilio may sign either)."""
    parts = urlsplit(url)
    default = {"https": 443, "http": 80}.get(parts.scheme)
    host = parts.hostname or ""
    variants = [url]
    if default is not None:
        if parts.port is None:
            variants.append(urlunsplit(parts._replace(netloc=f"{host}:{default}")))
        elif parts.port == default:
            variants.append(urlunsplit(parts._replace(netloc=host)))
    return variants


class TwilioConversationsAdapter(PushAdapter):
    """Verifies ``X-Twilio-Signature`` and turns ``onMessageAdded`` into messages."""

    name = "twilio"
    content_types = ("application/x-www-form-urlencoded", "application/json")
    ok_status = 200
    ack_deadline = 4.0  # Twilio Conversations waits 5 s at most

    def __init__(
        self,
        auth_tokens: str | Sequence[str],
        *,
        public_url: str | None = None,
        counselors: Iterable[str] = (),
        roles: RoleMap | None = None,
        conversations: ConversationMap | None = None,
    ) -> None:
        self._tokens = [auth_tokens] if isinstance(auth_tokens, str) else list(auth_tokens)
        if not self._tokens or not all(self._tokens):
            raise ConfigError("TwilioConversationsAdapter needs an auth token")
        self.public_url = public_url
        self.roles = roles or RoleMap.of(counselors)
        self.conversations = conversations or ConversationMap()

    def __repr__(self) -> str:
        return f"TwilioConversationsAdapter(<{len(self._tokens)} token(s)>)"

    def handle(self, request: Request, now: float) -> Delivery:
        url = self._signed_url(request)
        json_body = "bodySHA256" in parse_qs(urlsplit(url).query)
        if json_body:
            params: list[tuple[str, str]] = []
        else:
            try:
                params = parse_qsl(request.body.decode("utf-8"), keep_blank_values=True)
            except (UnicodeDecodeError, ValueError):
                params = []
        problem = self._verify(request, url, params, json_body)
        if problem is not None:
            return Delivery.refuse(403, problem)
        if json_body:  # JSON bodies are for other Twilio products; Conversations posts forms
            return Delivery(self.ok(), ignored=("json_body",))
        form = {k: v[-1] for k, v in _grouped(params).items()}
        if not form:
            return Delivery.malformed(RejectReason.INVALID_SCHEMA)
        retry = form.get("RetryCount", "0") not in ("", "0")
        if form.get("EventType") != "onMessageAdded":
            return Delivery(self.ok(), ignored=("not_a_message",), retry=retry)
        sid = form.get("MessageSid")
        if not sid:
            return Delivery.malformed(RejectReason.INVALID_SCHEMA)
        delivery_id = request.header("i-twilio-idempotency-token") or f"onMessageAdded:{sid}"
        message = self._message(form, sid)
        if message is None:
            return Delivery(self.ok(), ignored=("unmapped_conversation",), retry=retry)
        return Delivery(self.ok(), (message,), delivery_id=delivery_id, retry=retry)

    def _signed_url(self, request: Request) -> str:
        if self.public_url is None:
            return request.url
        query = urlsplit(request.url).query
        if query and "?" not in self.public_url:
            return f"{self.public_url}?{query}"
        return self.public_url

    def _verify(
        self, request: Request, url: str, params: list[tuple[str, str]], json_body: bool
    ) -> str | None:
        signature = request.header("x-twilio-signature")
        if not signature:
            return "missing_signature"
        expected = [
            sign_twilio(token, variant, params)
            for token in self._tokens
            for variant in _url_variants(url)
        ]
        if not constant_time_in(signature, expected):
            return "bad_signature"
        if json_body:
            claimed = parse_qs(urlsplit(url).query)["bodySHA256"][-1]
            actual = hashlib.sha256(request.body).hexdigest()
            if not hmac.compare_digest(claimed.encode(), actual.encode()):
                return "bad_signature"
        return None

    def _message(self, form: Mapping[str, str], sid: str) -> dict[str, Any] | None:
        conversation = self.conversations.conversation_of(form.get("ConversationSid"))
        if conversation is None:
            return None
        author = form.get("Author") or None
        role = self.roles.role_of(author)
        message: dict[str, Any] = {
            "conversation_id": conversation,
            "id": sid,
            "role": role.value,
            "text": form.get("Body", ""),
            **self.roles.ids_for(role, author),
            "metadata": {"platform": "twilio"},
        }
        stamp = iso_to_epoch(form.get("DateCreated", ""))
        if stamp is not None:
            message["ts"] = stamp
        index = form.get("Index", "")
        if index.isascii() and index.isdigit() and len(index) <= 15:
            message["seq"] = int(index)
        return message

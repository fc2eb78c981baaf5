"""The adapter interface: how a platform's traffic becomes the library's messages.

Two shapes, both tiny:

    push (the platform calls us)    adapter.handle(request, now) -> Delivery     pure, no I/O
    pull (we read a stream)         async for item in adapter: ...               then aclose()

A push adapter verifies and parses one HTTP request and says what to ingest and what to answer;
`WebhookReceiver` (in `_receiver.py`) is the one ASGI shell that serves any of them. A pull
adapter is an async iterator of message mappings; `pump()` feeds one into a monitor.

Two small value objects say who is who: `RoleMap` (which platform users or roles are counselors)
and `ConversationMap` (which platform thread, room or conversation is a counselor-client pair).
`RecentIds` remembers delivery ids so a platform's retries of an event already taken are ignored.

Nothing here ever puts message text into an exception or a log line.
"""

from __future__ import annotations

import hmac
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from alliance_monitor import IngestResult, Message, RejectReason, Role

__all__ = [
    "Ack",
    "ConversationMap",
    "Delivery",
    "MessageSink",
    "PullAdapter",
    "PullItem",
    "PushAdapter",
    "RecentIds",
    "Request",
    "RoleMap",
    "constant_time_in",
    "iso_to_epoch",
]


class MessageSink(Protocol):
    """Where adapters hand messages: a `Monitor`, or, in a scale-out ingest process, the
    `redis_streams.StreamPublisher` that puts them on the stream for the workers."""

    async def ingest(self, message: Message | Mapping[str, Any]) -> IngestResult:
        """Take one message: accepted / duplicate / rejected (with its reason); raises
        `StoreError` when it could not be stored (not accepted: send it again)."""
        ...

    def reject(self, reason: RejectReason) -> None:
        """Count input that never became a message as rejected."""
        ...


#: What a pull adapter yields: a message (or a mapping) for `Monitor.ingest`, or the reason a
#: piece of input never became a message (counted with `Monitor.reject`).
PullItem = Message | Mapping[str, Any] | RejectReason


# ---------------------------------------------------------------------- mapping
@dataclass(frozen=True, slots=True)
class RoleMap:
    """Who is a counselor. Everyone else is `default` (the client, in a two-person pair).

    `counselors` are platform user ids; `counselor_roles` are platform role names (Zendesk's
    ``business`` author type, a Twilio participant attribute...). `clients` pins ids to the client
    role and `others` to ``other`` (a supervisor who joins a room, say).
    """

    counselors: frozenset[str] = frozenset()
    counselor_roles: frozenset[str] = frozenset()
    clients: frozenset[str] = frozenset()
    others: frozenset[str] = frozenset()
    default: Role = Role.CLIENT

    @classmethod
    def of(
        cls,
        counselors: Iterable[str] = (),
        *,
        counselor_roles: Iterable[str] = (),
        clients: Iterable[str] = (),
        others: Iterable[str] = (),
        default: Role | str = Role.CLIENT,
    ) -> RoleMap:
        return cls(
            frozenset(counselors),
            frozenset(counselor_roles),
            frozenset(clients),
            frozenset(others),
            Role(default),
        )

    def role_of(self, user_id: str | None, platform_role: str | None = None) -> Role:
        if user_id is not None:
            if user_id in self.counselors:
                return Role.COUNSELOR
            if user_id in self.others:
                return Role.OTHER
            if user_id in self.clients:
                return Role.CLIENT
        if platform_role is not None and platform_role in self.counselor_roles:
            return Role.COUNSELOR
        return self.default

    def ids_for(self, role: Role, user_id: str | None) -> dict[str, str]:
        """The `counselor_id` / `client_id` field a message from `user_id` carries."""
        if user_id is None or role is Role.OTHER:
            return {}
        return {"counselor_id" if role is Role.COUNSELOR else "client_id": user_id}


@dataclass(frozen=True, slots=True)
class ConversationMap:
    """Which platform conversation is which pair.

    `pairs` maps a platform key (Slack channel, Matrix room id, Twilio ConversationSid...) to the
    library's conversation id. Keys not in `pairs` become ``prefix + key``, unless `only_mapped`
    is set, in which case their messages are ignored (the platform has rooms that are no pair).
    """

    pairs: Mapping[str, str] = field(default_factory=dict)
    only_mapped: bool = False
    prefix: str = ""

    def conversation_of(self, key: str | None) -> str | None:
        if not key:
            return None
        mapped = self.pairs.get(key)
        if mapped is not None:
            return mapped
        return None if self.only_mapped else self.prefix + key


# ---------------------------------------------------------------------- de-duplication
class RecentIds:
    """A bounded set of recently seen ids (oldest forgotten first).

    Platforms retry a delivery they think failed; adapters remember the delivery id of every
    event taken so a retry of it is acknowledged and ignored. `capacity` bounds memory; a retry
    older than the last `capacity` deliveries still reaches the monitor, which drops a repeated
    message id as a duplicate.
    """

    def __init__(self, capacity: int = 50_000) -> None:
        self.capacity = max(1, capacity)
        self._ids: OrderedDict[str, None] = OrderedDict()

    def __contains__(self, key: object) -> bool:
        return key in self._ids

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, key: str) -> None:
        self._ids[key] = None
        self._ids.move_to_end(key)
        while len(self._ids) > self.capacity:
            self._ids.popitem(last=False)

    def discard(self, key: str) -> None:
        self._ids.pop(key, None)


# ---------------------------------------------------------------------- push
@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request as a push adapter sees it. `headers` keys are lower-case; `url` is the
    full URL as received (scheme, host, path and query); `body` is the exact bytes."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name.lower(), default)


@dataclass(frozen=True, slots=True)
class Ack:
    """The answer to the platform: HTTP `status`, optional body and headers (for example
    Slack's `url_verification` challenge, or `Retry-After` with a 503)."""

    status: int = 200
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def json(cls, status: int, text: str) -> Ack:
        return cls(status, text.encode(), "application/json")


@dataclass(frozen=True, slots=True)
class Delivery:
    """What one request amounts to.

    - `messages`: message mappings to hand to `Monitor.ingest` (it validates and counts them);
    - `rejected`: input that never became a message, counted with `Monitor.reject`;
    - `problem`: why the request itself was refused (``bad_signature``, ``stale_timestamp``...),
      counted by the receiver; None for a request that was taken;
    - `ignored`: events that are fine but not messages of a pair (edits, bots, other rooms);
    - `delivery_id`: the platform's id for this delivery: a retry of an id already taken is
      acknowledged with `ack` and ignored;
    - `retry`: the platform marked this request as a retry.
    """

    ack: Ack
    messages: tuple[Mapping[str, Any], ...] = ()
    rejected: tuple[RejectReason, ...] = ()
    problem: str | None = None
    ignored: tuple[str, ...] = ()
    delivery_id: str | None = None
    retry: bool = False

    @classmethod
    def refuse(cls, status: int, problem: str) -> Delivery:
        """A refused request: the reason goes to the counters; the platform sees only the status."""
        return cls(Ack(status, problem.encode()), problem=problem)

    @classmethod
    def malformed(cls, reason: RejectReason = RejectReason.INVALID_JSON) -> Delivery:
        """A verified request whose body is not what the platform documents."""
        return cls(Ack(400, reason.value.encode()), rejected=(reason,), problem="malformed_body")


class PushAdapter(ABC):
    """A platform that calls us. `handle` must be quick and pure: verify, parse, decide.

    `ok_status` is what the platform expects for a delivery that was taken (Slack and Twilio want
    200; the generic receiver answers 202 Accepted).
    """

    #: Short stable name used in metrics and logs ("slack", "twilio", "http"...).
    name: str = "push"
    ok_status: int = 200
    #: Seconds the platform waits for an answer, if it says (Slack 3 s, Twilio Conversations
    #: 5 s): the receiver answers 503 a little before it when the messages are not stored yet,
    #: rather than letting the platform time out. None: the receiver's `ack_timeout` alone.
    ack_deadline: float | None = None
    #: Media types of the request bodies it takes (``application/*+json`` counts as JSON);
    #: anything else is answered 415 before `handle` runs. Empty: any type.
    content_types: tuple[str, ...] = ()

    @abstractmethod
    def handle(self, request: Request, now: float) -> Delivery:
        """Verify and parse one request; `now` is the current Unix time (for tolerance checks)."""

    def ok(self) -> Ack:
        return Ack(self.ok_status)


# ---------------------------------------------------------------------- pull
class PullAdapter(ABC):
    """A stream we read: iterate to get messages (or reasons for input that was no message)."""

    name: str = "pull"

    @abstractmethod
    def __aiter__(self) -> AsyncIterator[PullItem]:
        """Yield message mappings until the stream ends (or forever, for a live stream)."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook, default does nothing
        """Release connections and files."""

    @property
    def healthy(self) -> bool:
        """False while a live stream cannot reach its source (used by readiness checks)."""
        return True


def constant_time_in(candidate: str, accepted: Iterable[str]) -> bool:
    """True if `candidate` equals any of `accepted`, comparing every one in constant time."""
    found = False
    raw = candidate.encode()
    for want in accepted:
        found |= hmac.compare_digest(raw, want.encode())
    return found


def iso_to_epoch(text: object) -> float | None:
    """Unix seconds of an ISO 8601 timestamp (UTC when no offset is given), or None."""
    if not isinstance(text, str) or not text:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()

"""`WebhookReceiver`: the one pure-ASGI shell that serves any push adapter.

    receiver = WebhookReceiver(SlackAdapter(...), monitor)
    async with monitor, receiver:          # or with_lifespan(receiver, monitor, receiver)
        ...                                 # mount `receiver` at a path of any ASGI app

Per request: read the body (bounded), let the adapter verify and parse it, hand its messages to
`monitor.ingest` in order, and answer the platform's 2xx **only once every message of the
request is stored** (committed to the monitor's store, when it has one): an acknowledged message
is never lost, whatever happens next. When they cannot be stored (the store fails: a full disk,
a read-only file) or not within `ack_timeout` seconds (a platform like Slack wants its answer
within 3 s), the answer is 503 with Retry-After and the platform sends the request again; what
was stored meanwhile comes back as a duplicate and is absorbed. A retry of a delivery already
acknowledged (same delivery id) is acknowledged and ignored.

The ingestion itself runs in the receiver's own task, not the request's, so a platform that
hangs up (or an answer given at the deadline) never cancels a write half-way. At most
`queue_size` messages are being ingested at once; a request that would go over is answered 503
(Retry-After) before anything is taken. On exit the receiver stops taking deliveries (503) and
waits up to `drain_timeout` for the ingestion in progress.

Every refusal is counted by reason (`stats()`); input that never became a message is also counted
with `Monitor.reject`, so the monitor's own rejected-by-reason counters stay complete.

No input can stop the receiver: each message is ingested in its own ``try``; an unexpected
exception while ingesting one message rejects that message (``internal_error``, counted, logged
with the exception type only, never the text) and the rest go on. Should something escape even
that, `healthy` turns false, the receiver refuses deliveries (503, so the platform retries) and
`failure` names what happened (the service's /healthz and /readyz show it).

The receiver keeps its own ledger of every message it was handed (`stats()["messages"]`):
``in == accepted + duplicate + rejected`` once nothing is in progress, whatever the monitor
does. A message the store could not take counts as rejected (``store_error``; the platform
sends it again).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager, AsyncExitStack, suppress
from typing import Any

import anyio
from anyio.abc import TaskGroup

from alliance_monitor import MonitorClosed, RejectReason, StoreError
from alliance_monitor.asgi import BodyTooLarge, Receive, Scope, Send, read_body

from ._base import Ack, Delivery, MessageSink, PushAdapter, RecentIds, Request

__all__ = ["ASGIApp", "Receive", "Scope", "Send", "WebhookReceiver", "with_lifespan"]

ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_log = logging.getLogger("alliance_monitor.adapters")

DEFAULT_MAX_BODY = 8 * 1024 * 1024


DEFAULT_BODY_TIMEOUT = 10.0
DEFAULT_ACK_TIMEOUT = 10.0
#: Ledger reason of a message the store could not take (the platform sends it again).
_NOT_STORED = RejectReason.STORE_ERROR.value


def _media_type(value: str | None) -> str:
    return (value or "").split(";", 1)[0].strip().lower()


def _type_ok(media: str, wanted: tuple[str, ...]) -> bool:
    if not wanted:
        return True
    if media in wanted:
        return True
    # application/cloudevents+json and the like are JSON too.
    return (
        "application/json" in wanted
        and media.startswith("application/")
        and (media.endswith("+json"))
    )


class _Job:
    """The messages of one request, ingested in order by the receiver's task group."""

    __slots__ = ("done", "messages", "stored")

    def __init__(self, messages: tuple[Mapping[str, Any], ...]) -> None:
        self.messages = messages
        self.done = anyio.Event()
        #: Every message was taken by the monitor (accepted, duplicate or rejected for good).
        self.stored = False


class WebhookReceiver:
    """Serves `adapter` as an ASGI app; acknowledges a request once `monitor` stored its messages.

    `monitor` is a `Monitor`, or any `MessageSink` (a scale-out ingest process gives the
    `StreamPublisher`: stored then means on the stream).

    Enter it (``async with receiver:``) after the monitor and exit it before: exiting stops
    accepting (503), then waits for the ingestion in progress.
    """

    def __init__(
        self,
        adapter: PushAdapter,
        monitor: MessageSink,
        *,
        queue_size: int = 1024,
        max_body: int = DEFAULT_MAX_BODY,
        retry_after: int = 5,
        seen: RecentIds | None = None,
        drain_timeout: float = 30.0,
        body_timeout: float = DEFAULT_BODY_TIMEOUT,
        ack_timeout: float = DEFAULT_ACK_TIMEOUT,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.adapter = adapter
        self.monitor = monitor
        #: Messages being ingested at most (503 with Retry-After beyond).
        self.queue_size = max(1, queue_size)
        self.max_body = max_body
        self.retry_after = retry_after
        self.seen = seen if seen is not None else RecentIds()
        self.drain_timeout = drain_timeout
        #: Seconds allowed for reading a whole request body (408 beyond): slow senders cannot
        #: hold a request open.
        self.body_timeout = body_timeout
        #: Seconds a request waits for its messages to be stored before it is answered 503 (at
        #: most the adapter's `ack_deadline`, the platform's own patience).
        deadline = adapter.ack_deadline
        self.ack_timeout = ack_timeout if deadline is None else min(ack_timeout, deadline)
        self._clock = clock
        self.counts: Counter[str] = Counter()
        self.problems: Counter[str] = Counter()
        self.ignored: Counter[str] = Counter()
        #: Every message handed to this receiver, by outcome, and rejections by reason.
        self.ledger: Counter[str] = Counter()
        self.rejected: Counter[str] = Counter()
        #: Why ingestion failed beyond a single message while running (None: it did not).
        self.failure: str | None = None
        self._tg: TaskGroup | None = None
        self._inflight = 0
        self._jobs = 0
        self._idle = anyio.Event()
        self._idle.set()
        self._accepting = False

    # ------------------------------------------------------------------ lifecycle
    async def __aenter__(self) -> WebhookReceiver:
        self._tg = anyio.create_task_group()
        await self._tg.__aenter__()
        self.failure = None
        self._accepting = True
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._accepting = False
        assert self._tg is not None
        with anyio.move_on_after(self.drain_timeout):
            await self._idle.wait()
        if not self._idle.is_set():
            # Not acknowledged (the requests were answered 503, or are gone): the platforms
            # send them again to the next process.
            self.counts["unfinished_on_shutdown"] += self._inflight
            _log.error(
                "alliance_monitor.receiver_drain_timeout",
                extra={"adapter": self.adapter.name, "in_progress": self._inflight},
            )
        self._tg.cancel_scope.cancel()
        await self._tg.__aexit__(None, None, None)
        self._tg = None

    @property
    def accepting(self) -> bool:
        return self._accepting and self.failure is None

    @property
    def healthy(self) -> bool:
        """False once ingestion failed beyond one message: nothing more would be stored."""
        return self.failure is None

    @property
    def queue_depth(self) -> int:
        """Messages being ingested now."""
        return self._inflight

    def stats(self) -> dict[str, Any]:
        return {
            **dict(self.counts),
            "problems": dict(self.problems),
            "ignored": dict(self.ignored),
            "messages": {
                "in": self.ledger["in"],
                "accepted": self.ledger["accepted"],
                "duplicate": self.ledger["duplicate"],
                "rejected": self.ledger["rejected"],
                "rejected_by_reason": dict(self.rejected),
            },
            "healthy": self.healthy,
            "queue_depth": self.queue_depth,
            "queue_capacity": self.queue_size,
        }

    # ------------------------------------------------------------------ ingestion
    async def _run(self, job: _Job) -> None:
        """Ingest a request's messages in order; stop at the first the store cannot take."""
        try:
            for i, message in enumerate(job.messages):
                try:
                    taken = await self._ingest(message)
                except anyio.get_cancelled_exc_class():
                    raise
                except Exception as exc:  # a bug of ours: this message only, go on
                    self._reject(RejectReason.INTERNAL_ERROR, exc)
                    continue
                if not taken:
                    for _ in job.messages[i + 1 :]:  # not tried: the platform sends them again
                        self._count("rejected", _NOT_STORED)
                        self.counts["rejected_before_ingest"] += 1
                        self.monitor.reject(RejectReason.STORE_ERROR)
                    return
            job.stored = True
        except anyio.get_cancelled_exc_class():
            raise
        except BaseException as exc:
            # Not re-raised (it would cancel the task that entered the receiver, e.g. the
            # ASGI lifespan): the receiver refuses deliveries (503) and reports unhealthy.
            self.failure = type(exc).__name__
            self._accepting = False
            _log.error(
                "alliance_monitor.receiver_ingest_died",
                extra={"adapter": self.adapter.name, "error": type(exc).__name__},
            )
            if isinstance(exc, KeyboardInterrupt | SystemExit):
                raise
        finally:
            self._inflight -= len(job.messages)
            self._jobs -= 1
            if self._jobs == 0:
                self._idle.set()
            job.done.set()

    def _count(self, outcome: str, reason: str | None = None) -> None:
        self.ledger["in"] += 1
        self.ledger[outcome] += 1
        if reason is not None:
            self.rejected[reason] += 1

    def _reject(self, reason: RejectReason, exc: BaseException) -> None:
        self._count("rejected", reason.value)
        self.counts["internal_errors"] += 1
        self.counts["rejected_before_ingest"] += 1
        with suppress(Exception):  # the monitor's counters are not worth a failed request
            self.monitor.reject(reason)
        # The type only: an exception's message may hold the input.
        _log.error(
            "alliance_monitor.receiver_ingest_error",
            extra={
                "adapter": self.adapter.name,
                "error": type(exc).__name__,
                "reason": reason.value,
            },
        )

    async def _ingest(self, message: Mapping[str, Any]) -> bool:
        """One message into the monitor; False when it was not stored (the store failed, or the
        monitor is closing): the request is then not acknowledged."""
        try:
            result = await self.monitor.ingest(message)
        except StoreError as exc:
            self.counts["store_errors"] += 1
            self._count("rejected", _NOT_STORED)
            _log.warning(
                "alliance_monitor.receiver_not_stored",
                extra={"adapter": self.adapter.name, "error": type(exc).__name__},
            )
            return False
        except MonitorClosed:
            self._count("rejected", "monitor_closed")
            return False
        self.counts["messages_ingested"] += 1
        status = getattr(result, "status", None)
        if status in ("accepted", "duplicate"):
            self._count(status)
        else:
            reason = getattr(getattr(result, "reason", None), "value", None)
            self._count("rejected", reason if isinstance(reason, str) else "unknown")
        return True

    # ------------------------------------------------------------------ ASGI
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return  # lifespan: see with_lifespan(); websockets: not ours
        self.counts["requests"] += 1
        if not self.accepting:
            await self._refuse(send, 503, "not_ready")
            return
        if scope.get("method") != "POST":
            await self._refuse(send, 405, "method_not_allowed", (("allow", "POST"),))
            return
        headers = _headers(scope)
        if not _type_ok(_media_type(headers.get("content-type")), self.adapter.content_types):
            await self._refuse(send, 415, "unsupported_media_type")
            return
        try:
            with anyio.fail_after(self.body_timeout):
                body = await read_body(scope, receive, self.max_body)
        except BodyTooLarge:
            await self._refuse(send, 413, "body_too_large")
            return
        except TimeoutError:
            await self._refuse(send, 408, "body_timeout", (("connection", "close"),))
            return
        request = Request("POST", _url(scope), headers, body)
        try:
            delivery = self.adapter.handle(request, self._clock())
        except (RecursionError, OverflowError, UnicodeError, ValueError) as exc:
            # Input the adapter's parser choked on: the platform must not retry it forever.
            _log.warning(
                "alliance_monitor.adapter_refused_body",
                extra={"adapter": self.adapter.name, "error": type(exc).__name__},
            )
            await self._refuse(send, 400, "malformed_body")
            return
        except Exception as exc:  # an adapter bug must not take the service down
            _log.error(
                "alliance_monitor.adapter_failed",
                extra={"adapter": self.adapter.name, "error": type(exc).__name__},
            )
            await self._refuse(send, 500, "adapter_error")
            return
        await _respond(send, await self._take(delivery))

    async def _take(self, delivery: Delivery) -> Ack:
        for reason in delivery.rejected:
            self._count("rejected", reason.value)
            self.counts["rejected_before_ingest"] += 1
            self.monitor.reject(reason)
        for why in delivery.ignored:
            self.ignored[why] += 1
        if delivery.retry:
            self.counts["retries"] += 1
        if delivery.problem is not None:
            self._count_problem(delivery.problem)
            return delivery.ack
        if delivery.delivery_id is not None and delivery.delivery_id in self.seen:
            self.counts["duplicate_deliveries"] += 1
            return delivery.ack
        n = len(delivery.messages)
        if n > self.queue_size:
            self._refuse_all(delivery)
            self._count_problem("batch_too_large")
            return Ack(413, b"batch_too_large")
        if self._inflight + n > self.queue_size:
            self._refuse_all(delivery)
            self._count_problem("queue_full")
            return _busy(self.retry_after)
        if n and not await self._store(delivery.messages):
            return _busy(self.retry_after)
        if delivery.delivery_id is not None:
            self.seen.add(delivery.delivery_id)
        self.counts["deliveries_accepted"] += 1
        return delivery.ack

    def _refuse_all(self, delivery: Delivery) -> None:
        for _ in delivery.messages:
            self._count("rejected", RejectReason.CAPACITY.value)
            self.counts["rejected_before_ingest"] += 1
            self.monitor.reject(RejectReason.CAPACITY)

    async def _store(self, messages: tuple[Mapping[str, Any], ...]) -> bool:
        """Ingest `messages` in the receiver's task and wait (up to `ack_timeout`) until each
        is stored: True when all were, False to answer 503 (the platform sends them again)."""
        assert self._tg is not None
        job = _Job(messages)
        self._inflight += len(messages)
        self._jobs += 1
        if self._idle.is_set():
            self._idle = anyio.Event()
        self.counts["messages_queued"] += len(messages)
        self._tg.start_soon(self._run, job)
        with anyio.move_on_after(self.ack_timeout):
            await job.done.wait()
        if not job.done.is_set():
            self._count_problem("ack_timeout")  # still being stored; a resend is a duplicate
            return False
        if not job.stored:
            self._count_problem("not_stored")
            return False
        return True

    def _count_problem(self, problem: str) -> None:
        self.problems[problem] += 1
        _log.info(
            "alliance_monitor.webhook_refused",
            extra={"adapter": self.adapter.name, "problem": problem},
        )

    async def _refuse(
        self, send: Send, status: int, problem: str, headers: tuple[tuple[str, str], ...] = ()
    ) -> None:
        self._count_problem(problem)
        if status == 503:
            await _respond(send, _busy(self.retry_after))
        else:
            await _respond(send, Ack(status, problem.encode(), headers=headers))


def _busy(retry_after: int) -> Ack:
    return Ack(503, b"busy, retry later", headers=(("retry-after", str(retry_after)),))


def _headers(scope: Scope) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in scope.get("headers") or ():
        key = name.decode("latin-1").lower()
        val = value.decode("latin-1")
        out[key] = f"{out[key]}, {val}" if key in out else val
    return out


def _url(scope: Scope) -> str:
    """The URL as the client asked for it (behind a proxy, pass the public URL to the adapter)."""
    headers = dict(scope.get("headers") or ())
    scheme = scope.get("scheme", "http")
    host_header = headers.get(b"host")
    if host_header:
        host = host_header.decode("latin-1")
    else:
        server = scope.get("server") or ("localhost", None)
        host = server[0] if server[1] in (None, 80, 443) else f"{server[0]}:{server[1]}"
    path = scope.get("root_path", "") + scope.get("path", "/")
    query = scope.get("query_string", b"").decode("latin-1")
    return f"{scheme}://{host}{path}" + (f"?{query}" if query else "")


async def _respond(send: Send, ack: Ack) -> None:
    headers = [
        (b"content-type", ack.content_type.encode("latin-1")),
        (b"content-length", str(len(ack.body)).encode()),
        *((k.encode("latin-1"), v.encode("latin-1")) for k, v in ack.headers),
    ]
    await send({"type": "http.response.start", "status": ack.status, "headers": headers})
    await send({"type": "http.response.body", "body": ack.body})


def with_lifespan(app: ASGIApp, *resources: AbstractAsyncContextManager[Any]) -> ASGIApp:
    """Wrap `app` so the ASGI lifespan enters `resources` in order and exits them in reverse.

    For running a receiver on its own: ``uvicorn.run(with_lifespan(receiver, monitor, receiver))``.
    """

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await app(scope, receive, send)
            return
        await receive()  # lifespan.startup
        stack = AsyncExitStack()
        try:
            for resource in resources:
                await stack.enter_async_context(resource)
        except Exception as exc:
            await stack.aclose()
            await send({"type": "lifespan.startup.failed", "message": type(exc).__name__})
            return
        await send({"type": "lifespan.startup.complete"})
        await receive()  # lifespan.shutdown
        try:
            await stack.aclose()
        except Exception as exc:
            await send({"type": "lifespan.shutdown.failed", "message": type(exc).__name__})
            return
        await send({"type": "lifespan.shutdown.complete"})

    return wrapped

"""`WebhookReceiver`: the one pure-ASGI shell that serves any push adapter.

    receiver = WebhookReceiver(SlackAdapter(...), monitor)
    async with monitor, receiver:          # or with_lifespan(receiver, monitor, receiver)
        ...                                 # mount `receiver` at a path of any ASGI app

Per request: read the body (bounded), let the adapter verify and parse it, answer at once, and
put the messages on a bounded queue that one background task drains into `monitor.ingest`, in
order. The platform never waits on the monitor. When the queue is full the answer is 503 with
Retry-After, so the platform retries later and nothing is dropped silently. A retry of a delivery
already taken (same delivery id) is acknowledged and ignored.

Every refusal is counted by reason (`stats()`); input that never became a message is also counted
with `Monitor.reject`, so the monitor's own rejected-by-reason counters stay complete.

No input can stop the receiver: the drain task takes each message in its own ``try``; an
unexpected exception while ingesting one message rejects that message (``internal_error``,
counted, logged with the exception type only, never the text) and the task goes on. Should the
task end anyway, `healthy` turns false, the receiver stops taking deliveries (503, so the
platform retries) and `failure` names what happened (the service's /healthz and /readyz show it).

The receiver keeps its own ledger of every message it was handed (`stats()["messages"]`):
``in == accepted + duplicate + rejected`` once the queue is empty, whatever the monitor does.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from contextlib import AbstractAsyncContextManager, AsyncExitStack, suppress
from typing import Any

import anyio
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from alliance_monitor import Monitor, MonitorClosed, RejectReason, StoreError

from ._base import Ack, Delivery, PushAdapter, RecentIds, Request

__all__ = ["ASGIApp", "Receive", "Scope", "Send", "WebhookReceiver", "with_lifespan"]

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_log = logging.getLogger("alliance_monitor.adapters")

DEFAULT_MAX_BODY = 8 * 1024 * 1024


DEFAULT_BODY_TIMEOUT = 10.0


class _TooLarge(Exception):
    pass


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


class WebhookReceiver:
    """Serves `adapter` as an ASGI app and hands its messages to `monitor` off the request path.

    Enter it (``async with receiver:``) after the monitor and exit it before: exiting stops
    accepting (503), then drains the queue into the monitor.
    """

    def __init__(
        self,
        adapter: PushAdapter,
        monitor: Monitor,
        *,
        queue_size: int = 1024,
        max_body: int = DEFAULT_MAX_BODY,
        retry_after: int = 5,
        seen: RecentIds | None = None,
        drain_timeout: float = 30.0,
        ingest_retries: int = 5,
        body_timeout: float = DEFAULT_BODY_TIMEOUT,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.adapter = adapter
        self.monitor = monitor
        self.queue_size = max(1, queue_size)
        self.max_body = max_body
        self.retry_after = retry_after
        self.seen = seen if seen is not None else RecentIds()
        self.drain_timeout = drain_timeout
        self.ingest_retries = ingest_retries
        #: Seconds allowed for reading a whole request body (408 beyond): slow senders cannot
        #: hold a request open.
        self.body_timeout = body_timeout
        self._clock = clock
        self.counts: Counter[str] = Counter()
        self.problems: Counter[str] = Counter()
        self.ignored: Counter[str] = Counter()
        #: Every message handed to this receiver, by outcome, and rejections by reason.
        self.ledger: Counter[str] = Counter()
        self.rejected: Counter[str] = Counter()
        #: Why the drain task ended while the receiver was running (None: it did not).
        self.failure: str | None = None
        self._send: MemoryObjectSendStream[Mapping[str, Any]] | None = None
        self._recv: MemoryObjectReceiveStream[Mapping[str, Any]] | None = None
        self._tg: TaskGroup | None = None
        self._drained = anyio.Event()
        self._accepting = False

    # ------------------------------------------------------------------ lifecycle
    async def __aenter__(self) -> WebhookReceiver:
        self._send, self._recv = anyio.create_memory_object_stream[Mapping[str, Any]](
            self.queue_size
        )
        self._drained = anyio.Event()
        self._tg = anyio.create_task_group()
        await self._tg.__aenter__()
        self.failure = None
        self._tg.start_soon(self._drain, self._recv)
        self._accepting = True
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._accepting = False
        assert self._tg is not None and self._send is not None
        self._send.close()
        with anyio.move_on_after(self.drain_timeout):
            await self._drained.wait()
        if not self._drained.is_set():
            self.counts["lost_on_shutdown"] += self.queue_depth
            _log.error(
                "alliance_monitor.receiver_drain_timeout",
                extra={"adapter": self.adapter.name, "queued": self.queue_depth},
            )
        self._tg.cancel_scope.cancel()
        await self._tg.__aexit__(None, None, None)
        self._tg = None

    @property
    def accepting(self) -> bool:
        return self._accepting and self.failure is None

    @property
    def healthy(self) -> bool:
        """False once the drain task has died: nothing queued would reach the monitor."""
        return self.failure is None

    @property
    def queue_depth(self) -> int:
        if self._send is None:
            return 0
        return self._send.statistics().current_buffer_used

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

    # ------------------------------------------------------------------ background
    async def _drain(self, recv: MemoryObjectReceiveStream[Mapping[str, Any]]) -> None:
        try:
            async with recv:
                async for message in recv:
                    try:
                        await self._ingest(message)
                    except anyio.get_cancelled_exc_class():
                        raise
                    except Exception as exc:  # a bug of ours: this message only, go on
                        self._reject(RejectReason.INTERNAL_ERROR, exc)
        except anyio.get_cancelled_exc_class():
            raise
        except BaseException as exc:
            # Not re-raised (it would cancel the task that entered the receiver, e.g. the
            # ASGI lifespan): the receiver refuses deliveries (503) and reports unhealthy.
            self.failure = type(exc).__name__
            self._accepting = False
            _log.error(
                "alliance_monitor.receiver_drain_died",
                extra={"adapter": self.adapter.name, "error": type(exc).__name__},
            )
            if isinstance(exc, KeyboardInterrupt | SystemExit):
                raise
        finally:
            self._drained.set()

    def _count(self, outcome: str, reason: str | None = None) -> None:
        self.ledger["in"] += 1
        self.ledger[outcome] += 1
        if reason is not None:
            self.rejected[reason] += 1

    def _reject(self, reason: RejectReason, exc: BaseException) -> None:
        self._count("rejected", reason.value)
        self.counts["internal_errors"] += 1
        self.counts["rejected_before_ingest"] += 1
        with suppress(Exception):  # the monitor's counters are not worth a dead task
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

    async def _ingest(self, message: Mapping[str, Any]) -> None:
        for attempt in range(self.ingest_retries + 1):
            try:
                result = await self.monitor.ingest(message)
            except StoreError:
                # Not accepted durably: retry (a repeat is absorbed as a duplicate).
                await anyio.sleep(min(0.1 * 2**attempt, 5.0))
                continue
            except MonitorClosed:
                self._count("rejected", "monitor_closed")
                return
            self.counts["messages_ingested"] += 1
            status = getattr(result, "status", None)
            if status in ("accepted", "duplicate"):
                self._count(status)
            else:
                reason = getattr(getattr(result, "reason", None), "value", None)
                self._count("rejected", reason if isinstance(reason, str) else "unknown")
            return
        self.counts["ingest_failed"] += 1
        self._count("rejected", "store_error")
        _log.error("alliance_monitor.receiver_ingest_failed", extra={"adapter": self.adapter.name})

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
                body = await self._read_body(scope, receive)
        except _TooLarge:
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
        await _respond(send, self._take(delivery))

    def _take(self, delivery: Delivery) -> Ack:
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
        if len(delivery.messages) > self.queue_size:
            for _ in delivery.messages:
                self._count("rejected", RejectReason.CAPACITY.value)
                self.counts["rejected_before_ingest"] += 1
                self.monitor.reject(RejectReason.CAPACITY)
            self._count_problem("batch_too_large")
            return Ack(413, b"batch_too_large")
        if not self._offer(delivery.messages):
            for _ in delivery.messages:
                self._count("rejected", RejectReason.CAPACITY.value)
                self.counts["rejected_before_ingest"] += 1
                self.monitor.reject(RejectReason.CAPACITY)
            self._count_problem("queue_full")
            return _busy(self.retry_after)
        if delivery.delivery_id is not None:
            self.seen.add(delivery.delivery_id)
        self.counts["deliveries_accepted"] += 1
        return delivery.ack

    def _offer(self, messages: tuple[Mapping[str, Any], ...]) -> bool:
        """All of a delivery's messages go on the queue, or none (so a retry repeats nothing)."""
        assert self._send is not None
        if self.queue_depth + len(messages) > self.queue_size:
            return False
        for message in messages:
            self._send.send_nowait(message)
        self.counts["messages_queued"] += len(messages)
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

    async def _read_body(self, scope: Scope, receive: Receive) -> bytes:
        declared = dict(scope.get("headers") or ()).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body:
            raise _TooLarge
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                raise _TooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)


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

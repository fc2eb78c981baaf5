"""`AlertDispatcher`: events in, signed webhooks out, through a durable outbox.

    async with AlertDispatcher([WebhookEndpoint(url, [secret])], outbox_path="alerts.db") as d:
        monitor.on(d.submit)            # or: await d.submit(event)
        ...
        await d.drain(timeout=30)       # before shutting down, if you want to wait

`submit` never waits on the network: it applies the policy, commits one row per endpoint to the
outbox and wakes the delivery task. The delivery task (inside the dispatcher's task group) sends
due rows concurrently (bounded per endpoint and overall), records each outcome in the outbox and
schedules retries. Leaving the ``async with`` block stops delivery without waiting; undelivered
rows stay in the outbox file and are sent by the next dispatcher opened on it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import time
from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from contextlib import AbstractContextManager, AsyncExitStack, nullcontext
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Self, TypeVar

import anyio
import httpx
from anyio.abc import TaskGroup

from .._errors import ConfigError, MonitorClosed
from .._events import Event, EventType
from ._delivery import DEFAULT_RETRY_SCHEDULE, AttemptResult, attempt, next_delay
from ._formatters import Format, render
from ._outbox import Outbox, OutboxRow
from ._payload import alert_data, digest_data, dumps
from ._policy import AlertPolicy, cooldown_key, severity_rank
from ._redis_outbox import RedisOutbox
from ._signing import WebhookSigner, decode_secret
from ._ssrf import is_internal_host

if TYPE_CHECKING:
    from .._telemetry import Telemetry

__all__ = ["AlertDispatcher", "DispatcherStats", "SubmitResult", "WebhookEndpoint"]

_log = logging.getLogger("alliance_monitor.alerts")
_T = TypeVar("_T")

_EVENT_TYPES = frozenset(str(t) for t in EventType)
_DIGEST_CHUNK = 20
_IDLE_WAKEUP = 60.0


@dataclass(frozen=True, slots=True)
class WebhookEndpoint:
    """One receiver of alerts.

    - `url`: where to POST (``https://``; ``http://`` is accepted for loopback and tests).
    - `secrets`: ``whsec_`` secrets to sign with (several during a key rotation). Required for
      the ``standard`` format; optional for Slack and Teams, which do not check signatures (their
      URL is the secret: keep it out of logs and source control).
    - `event_types`: the event types this endpoint receives (None: every alerting type).
    - `format`: ``standard`` (Standard Webhooks JSON), ``slack`` or ``teams``.
    - `name`: a stable name used in the outbox, stats and logs (default: host + URL hash). Keep
      it stable across restarts, or pending rows of the old name are orphaned.
    """

    url: str
    secrets: Sequence[str] = ()
    event_types: Collection[str] | None = None
    format: Format = "standard"
    name: str = ""

    def __post_init__(self) -> None:
        try:
            url = httpx.URL(self.url)
        except (httpx.InvalidURL, TypeError):
            raise ConfigError("webhook endpoint URL is invalid") from None
        if url.scheme not in ("http", "https") or not url.host:
            raise ConfigError("webhook endpoint URL must be http(s)://host/...")
        if self.format not in ("standard", "slack", "teams"):
            raise ConfigError(f"unknown webhook format {self.format!r}")
        secrets = (self.secrets,) if isinstance(self.secrets, str) else tuple(self.secrets)
        for secret in secrets:
            decode_secret(secret)
        if self.format == "standard" and not secrets:
            raise ConfigError("a 'standard' webhook endpoint needs at least one whsec_ secret")
        object.__setattr__(self, "secrets", secrets)
        if self.event_types is not None:
            types = frozenset(str(t) for t in self.event_types)
            unknown = sorted(types - _EVENT_TYPES)
            if unknown:
                raise ConfigError(f"unknown event type(s) for a webhook endpoint: {unknown}")
            object.__setattr__(self, "event_types", types)
        if not self.name:
            digest = hashlib.sha256(self.url.encode()).hexdigest()[:8]
            object.__setattr__(self, "name", f"{url.host}-{digest}")

    @property
    def host(self) -> str:
        return httpx.URL(self.url).host

    def accepts(self, event_type: str) -> bool:
        return self.event_types is None or event_type in self.event_types

    def __repr__(self) -> str:  # no secrets, no URL path (Slack/Teams URLs embed a token)
        return f"WebhookEndpoint(name={self.name!r}, host={self.host!r}, format={self.format!r})"


@dataclass(frozen=True, slots=True)
class SubmitResult:
    """What `submit` did with one event."""

    action: Literal["queued", "held", "suppressed"]
    reason: str | None = None
    endpoints: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _Plan:
    """What the policy decided to write for one event."""

    rows: tuple[OutboxRow, ...]
    cooldown: tuple[str, float, int]
    held: bool
    endpoints: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DispatcherStats:
    """Counters of this process (`submitted`, `attempts`, `suppressed`...) and the outbox's
    durable state (`pending`, `delivered`, `failed`... including earlier runs on the file)."""

    submitted: int
    queued: int
    attempts: int
    retries: int
    suppressed: Mapping[str, int]
    pending: int
    held: int
    in_flight: int
    delivered: int
    failed: int
    disabled: int
    digests: int
    orphaned: int
    disabled_endpoints: tuple[str, ...]
    failed_by_endpoint: Mapping[str, int] = field(default_factory=dict)

    @property
    def suppressed_total(self) -> int:
        return sum(self.suppressed.values())


def _host_allowed(host: str, allowed: Collection[str]) -> bool:
    host = host.lower().rstrip(".")
    for pattern in allowed:
        pattern = pattern.lower().rstrip(".")
        if host == pattern or (pattern.startswith("*.") and host.endswith(pattern[1:])):
            return True
    return False


class AlertDispatcher:
    """Turns monitor events into signed webhook deliveries with a durable outbox.

    Keyword arguments:

    - `outbox_path`: SQLite file of the outbox; None keeps it in memory (lost on exit).
    - `outbox`: a `RedisOutbox` instead, shared by several processes (scale-out workers): an
      alert is written once whichever worker emits it, and delivered once whichever worker
      claims it (a dead worker's claims expire and another delivers them). The dispatcher
      closes it on exit.
    - `policy`: an `AlertPolicy` (which events alert, cooldown, digest).
    - `retry_schedule`: delays before each attempt (default: Svix-like, about 27.6 hours).
    - `jitter`: +-fraction applied to each retry delay.
    - `timeout`: seconds for one whole request (connect, send, answer).
    - `include_text`: put feedback quotes in payloads (off: ids, scores and feedback only).
    - `allowed_hosts`: if given, every endpoint host must match one entry (``"hooks.slack.com"``
      or ``"*.example.org"``), else `ConfigError`: an allow-list against SSRF through
      configuration. See docs/alerts.md.
    - `allow_private`: allow endpoints on loopback, private, link-local and other internal
      addresses (``127.0.0.1``, ``0x7f000001``, ``[::1]``, ``169.254.169.254``, ``10.0.0.0/8``,
      ``localhost``...). Off by default: such a URL is a `ConfigError` (SSRF guard); set it for
      local development and tests.
    - `max_in_flight`, `max_in_flight_per_endpoint`: concurrency bounds of delivery.
    - `retain_delivered`: seconds to keep delivered rows (for audit) before purging them.
    - `clock`: wall clock in epoch seconds (timestamps, schedules, signatures).
    - `transport`: an httpx transport (tests); `proxy`: an egress proxy URL. Environment proxy
      variables are ignored unless given here.
    - `telemetry`: a `Telemetry` whose `delivery` histogram gets each alert's time from submit
      to delivery, with a span per attempt (`alliance_monitor.alert_attempt`).
    """

    def __init__(
        self,
        endpoints: Sequence[WebhookEndpoint],
        *,
        outbox_path: str | None = None,
        outbox: RedisOutbox | None = None,
        policy: AlertPolicy | None = None,
        retry_schedule: Sequence[float] = DEFAULT_RETRY_SCHEDULE,
        jitter: float = 0.2,
        timeout: float = 15.0,
        include_text: bool = False,
        allowed_hosts: Collection[str] | None = None,
        allow_private: bool = False,
        max_in_flight: int = 16,
        max_in_flight_per_endpoint: int = 4,
        retain_delivered: float = 7 * 86400.0,
        clock: Callable[[], float] = time.time,
        transport: httpx.AsyncBaseTransport | None = None,
        proxy: str | None = None,
        seed: int | None = None,
        telemetry: Telemetry | None = None,
    ) -> None:
        names = [e.name for e in endpoints]
        if len(set(names)) != len(names):
            raise ConfigError("webhook endpoint names must be unique")
        if not retry_schedule or any(d < 0 for d in retry_schedule):
            raise ConfigError("retry_schedule needs at least one delay, none negative")
        if timeout <= 0 or not 0 <= jitter < 1:
            raise ConfigError("timeout must be > 0 and jitter in [0, 1)")
        if not allow_private:
            for e in endpoints:
                if is_internal_host(e.host):
                    raise ConfigError(
                        f"webhook endpoint {e.name!r}: host is a loopback, private or link-local "
                        "address (allow_private=True to allow it)"
                    )
        if allowed_hosts is not None:
            for e in endpoints:
                if not _host_allowed(e.host, allowed_hosts):
                    raise ConfigError(f"webhook endpoint {e.name!r}: host not in allowed_hosts")
        self._endpoints = {e.name: e for e in endpoints}
        self._signers = {
            e.name: WebhookSigner(e.secrets, clock=clock) for e in endpoints if e.secrets
        }
        self._outbox_path = outbox_path
        self._shared_outbox = outbox
        #: The outbox is shared with other processes: its calls are blocking round trips, made
        #: from a worker thread, and cooldowns and disabled endpoints are read from it each time.
        self._shared = outbox is not None
        self._policy = policy or AlertPolicy()
        self._schedule = tuple(float(d) for d in retry_schedule)
        self._jitter = jitter
        self._timeout = timeout
        self._include_text = include_text
        self._max_in_flight = max_in_flight
        self._max_per_endpoint = max_in_flight_per_endpoint
        self._retain = retain_delivered
        self._clock = clock
        self._transport = transport
        self._proxy = proxy
        self._rng = random.Random(seed)
        self._telemetry = telemetry
        self._outbox: Outbox | RedisOutbox | None = None
        self._client: httpx.AsyncClient | None = None
        self._stack: AsyncExitStack | None = None
        self._cooldowns: dict[str, tuple[float, int]] = {}
        self._disabled: set[str] = set()
        self._inflight: set[tuple[str, str]] = set()
        self._inflight_per: Counter[str] = Counter()
        self._wake = anyio.Event()
        self._submit_lock = anyio.Lock()
        self._digest_lock = anyio.Lock()
        self._progress = anyio.Event()
        self._counts: Counter[str] = Counter()
        self._suppressed: Counter[str] = Counter()

    # --- lifecycle ------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        if self._stack is not None:
            raise ConfigError("AlertDispatcher is already running")
        stack = AsyncExitStack()
        try:
            self._outbox = self._shared_outbox or Outbox(self._outbox_path)
            stack.callback(self._close_outbox)
            self._load_state()
            self._client = await stack.enter_async_context(
                httpx.AsyncClient(
                    timeout=httpx.Timeout(self._timeout),
                    follow_redirects=False,
                    trust_env=False,
                    transport=self._transport,
                    proxy=self._proxy,
                    headers={"user-agent": "alliance-monitor-webhooks/1"},
                )
            )
            tg: TaskGroup = await stack.enter_async_context(anyio.create_task_group())
            stack.callback(tg.cancel_scope.cancel)  # runs first on exit: stop delivery
            tg.start_soon(self._run)
        except BaseException:
            await stack.aclose()
            raise
        self._stack = stack
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        stack, self._stack = self._stack, None
        if stack is not None:
            await stack.aclose()

    def _load_state(self) -> None:
        outbox = self._db()
        now = self._clock()
        outbox.purge(now - self._retain)
        self._cooldowns = outbox.cooldowns()
        disabled = outbox.disabled_endpoints()
        self._disabled = {name for name in disabled if name in self._endpoints}
        for name in sorted(self._disabled):
            _log.error(
                "alliance_monitor.webhook_endpoint_disabled",
                extra={
                    "endpoint": name,
                    "reason": disabled[name],
                    "note": "disabled earlier (410 Gone); call enable_endpoint() to resume",
                },
            )
        orphaned = self._orphaned()
        if orphaned:
            _log.warning("alliance_monitor.outbox_orphaned_alerts", extra={"count": orphaned})

    def _close_outbox(self) -> None:
        self._client = None
        outbox, self._outbox = self._outbox, None
        if outbox is None:
            return
        if outbox.path is None and not outbox.shared:
            left = outbox.counts()
            waiting = left.get("pending", 0) + left.get("held", 0)
            if waiting:
                _log.warning(
                    "alliance_monitor.outbox_closed_with_pending",
                    extra={"count": waiting},
                )
        outbox.close()

    def _db(self) -> Outbox | RedisOutbox:
        if self._outbox is None:
            raise MonitorClosed("AlertDispatcher is not running; use it inside `async with`")
        return self._outbox

    # --- submitting -----------------------------------------------------------------------

    async def submit(self, event: Event) -> SubmitResult:
        """Queue alerts for `event` (a monitor event handler). Never waits on the network; the
        outbox's fsync runs in a worker thread, so the event loop is not held up by the disk.
        Submissions are taken one at a time (cooldowns see every earlier alert)."""
        async with self._submit_lock:
            plan = await self._io(self._plan, event)
            if isinstance(plan, SubmitResult):
                return plan
            outbox = self._db()
            if outbox.threaded_inserts:
                inserted = await anyio.to_thread.run_sync(
                    outbox.insert_threadsafe, plan.rows, plan.cooldown
                )
            else:
                inserted = outbox.insert(plan.rows, cooldown=plan.cooldown)
            return self._queued(plan, inserted)

    def submit_nowait(self, event: Event) -> SubmitResult:
        """`submit` for synchronous callers (call it from the event loop's thread; the outbox
        write and its fsync happen on this thread)."""
        plan = self._plan(event)
        if isinstance(plan, SubmitResult):
            return plan
        return self._queued(plan, self._db().insert(plan.rows, cooldown=plan.cooldown))

    def _plan(self, event: Event) -> SubmitResult | _Plan:
        """Apply the alert policy: a suppression, or the outbox rows to write."""
        outbox = self._db()
        self._counts["submitted"] += 1
        now = self._clock()
        if event.type not in self._policy.alert_types:
            return self._suppress("not_alertable")
        if outbox.has_alert(event.id):
            return self._suppress("duplicate")
        key = cooldown_key(event)
        last = outbox.cooldown(key) if self._shared else self._cooldowns.get(key)
        decision = self._policy.decide(event, now, last)
        if decision.reason is not None:
            return self._suppress(decision.reason)
        targets = [e for e in self._endpoints.values() if e.accepts(event.type)]
        if not targets:
            return self._suppress("no_endpoint")
        data = alert_data(event, decision.severity, include_text=self._include_text)
        rank = severity_rank(decision.severity)
        held = decision.action == "digest"
        rows = tuple(
            OutboxRow(
                alert_id=event.id,
                endpoint=e.name,
                event_type=str(event.type),
                severity=str(decision.severity),
                priority=rank,
                payload=dumps(data) if held else render(e.format, data, now),
                status="disabled" if e.name in self._disabled else ("held" if held else "pending"),
                attempts=0,
                next_attempt_at=now + self._schedule[0],
                created_at=now,
                conversation_id=event.conversation_id,
            )
            for e in targets
        )
        return _Plan(rows, (key, now, rank), held, tuple(e.name for e in targets))

    def _queued(self, plan: _Plan, inserted: int) -> SubmitResult:
        if not inserted:
            return self._suppress("duplicate")
        key, now, rank = plan.cooldown
        self._cooldowns[key] = (now, rank)
        self._counts["queued"] += inserted
        self._wake.set()
        return SubmitResult("held" if plan.held else "queued", None, plan.endpoints)

    def _suppress(self, reason: str) -> SubmitResult:
        self._suppressed[reason] += 1
        return SubmitResult("suppressed", reason)

    # --- delivery -------------------------------------------------------------------------

    def _active(self) -> list[str]:
        return [name for name in self._endpoints if name not in self._disabled]

    async def _run(self) -> None:
        async with anyio.create_task_group() as tg:
            while True:
                self._wake = anyio.Event()
                try:
                    now = self._clock()
                    if self._shared:  # a 410 seen by another worker disables it here too
                        await self._io(self._read_disabled)
                    await self._flush_digests(now, force=False)
                    blocked = await self._start_due(tg, now)
                    delay = _IDLE_WAKEUP if blocked else await self._io(self._next_wakeup, now)
                except Exception as exc:  # e.g. disk full: keep the loop alive, try again
                    _log.error("alliance_monitor.outbox_error", extra={"error": type(exc).__name__})
                    delay = 1.0
                with anyio.move_on_after(delay):
                    await self._wake.wait()

    async def _io(self, fn: Callable[..., _T], *args: Any) -> _T:
        """`fn(*args)`: at once for the SQLite outbox (as before), from a worker thread for a
        shared one (a network round trip must not hold the event loop)."""
        if self._shared:
            return await anyio.to_thread.run_sync(fn, *args)
        return fn(*args)

    def _read_disabled(self) -> None:
        disabled = self._db().disabled_endpoints()
        self._disabled = {name for name in disabled if name in self._endpoints}

    async def _start_due(self, tg: TaskGroup, now: float) -> bool:
        """Start attempts for due rows; True if some were left for lack of capacity."""
        outbox = self._db()
        blocked = False
        if isinstance(outbox, RedisOutbox):
            # Claimed rows are this process's to deliver: claim only what can start now.
            caps = {ep: self._max_per_endpoint - self._inflight_per[ep] for ep in self._active()}
            limit = self._max_in_flight - len(self._inflight)
            rows = await self._io(outbox.due, now, limit, self._active(), caps)
        else:
            limit = self._max_in_flight + len(self._inflight)
            rows = outbox.due(now, limit, self._active())
        unstarted = []
        for row in rows:
            if row.key in self._inflight:
                continue
            if (
                len(self._inflight) >= self._max_in_flight
                or self._inflight_per[row.endpoint] >= self._max_per_endpoint
            ):
                blocked = True
                unstarted.append(row.key)
                continue
            self._inflight.add(row.key)
            self._inflight_per[row.endpoint] += 1
            tg.start_soon(self._deliver, row)
        if unstarted and isinstance(outbox, RedisOutbox):
            await self._io(outbox.release, unstarted)
        return blocked

    def _next_wakeup(self, now: float) -> float:
        outbox = self._db()
        active = self._active()
        delay = _IDLE_WAKEUP
        next_at = outbox.next_due_at(active, skip=self._inflight)
        if next_at is not None:
            delay = min(delay, next_at - now)
        interval = self._policy.digest_interval
        if interval is not None:
            for name, since in outbox.held_since().items():
                if name in active:
                    delay = min(delay, since + interval - now)
        return max(0.0, delay)

    async def _deliver(self, row: OutboxRow) -> None:
        endpoint = self._endpoints[row.endpoint]
        try:
            try:
                with self._span(row, endpoint) as span:
                    result = await attempt(
                        self._client_or_raise(),
                        endpoint.url,
                        row.alert_id,
                        row.payload,
                        auth=self._signers.get(endpoint.name),
                        limit=self._timeout,
                        now=self._clock(),
                    )
                    if span is not None:
                        span.set_attribute("alliance_monitor.outcome", result.outcome)
            except Exception as exc:  # a bug or an odd transport error: retry, never crash
                _log.error(
                    "alliance_monitor.alert_attempt_error",
                    extra={"error": type(exc).__name__},
                )
                result = AttemptResult("retry", "internal_error")
            await self._record(endpoint, row, result)
        except Exception as exc:  # the outbox write failed: the row stays pending
            _log.error("alliance_monitor.outbox_error", extra={"error": type(exc).__name__})
        finally:
            self._inflight.discard(row.key)
            self._inflight_per[row.endpoint] -= 1
            self._wake.set()
            self._progress.set()

    def _span(self, row: OutboxRow, endpoint: WebhookEndpoint) -> AbstractContextManager[Any]:
        if self._telemetry is None:
            return nullcontext()
        return self._telemetry.span(
            "alliance_monitor.alert_attempt",
            {
                "alliance_monitor.alert_id": row.alert_id,
                "alliance_monitor.endpoint": endpoint.name,
                "alliance_monitor.attempt": row.attempts + 1,
            },
        )

    def _client_or_raise(self) -> httpx.AsyncClient:
        if self._client is None:
            raise MonitorClosed("AlertDispatcher is not running")
        return self._client

    async def _record(
        self, endpoint: WebhookEndpoint, row: OutboxRow, result: AttemptResult
    ) -> None:
        if self._shared:
            await anyio.to_thread.run_sync(self._record_sync, endpoint, row, result)
            if result.outcome == "gone":
                await self._disable(endpoint, self._clock())
            return
        self._record_sync(endpoint, row, result)
        if result.outcome == "gone":
            await self._disable(endpoint, self._clock())

    def _record_sync(
        self, endpoint: WebhookEndpoint, row: OutboxRow, result: AttemptResult
    ) -> None:
        outbox = self._db()
        now = self._clock()
        attempts = row.attempts + 1
        self._counts["attempts"] += 1
        log = {"alert_id": row.alert_id, "endpoint": endpoint.name, "attempts": attempts}
        if result.outcome == "delivered":
            outbox.mark(row.key, status="delivered", attempts=attempts, now=now,
                        http_status=result.http_status)  # fmt: skip
            if self._telemetry is not None:
                self._telemetry.delivery.observe(max(0.0, now - row.created_at))
            _log.info(
                "alliance_monitor.alert_delivered",
                extra={"status": result.http_status, **log},
            )
            return
        if result.outcome == "gone":
            outbox.mark(row.key, status="disabled", attempts=attempts, now=now,
                        error=result.error, http_status=result.http_status)  # fmt: skip
            return
        delay = next_delay(self._schedule, attempts, self._jitter, self._rng)
        if delay is None:
            outbox.mark(row.key, status="failed", attempts=attempts, now=now,
                        error=result.error, http_status=result.http_status)  # fmt: skip
            self._counts["failed"] += 1
            _log.error(
                "alliance_monitor.alert_delivery_failed",
                extra={"error": result.error, **log},
            )
            return
        if result.retry_after is not None:
            delay = max(delay, result.retry_after)
        outbox.mark(row.key, status="pending", attempts=attempts, now=now,
                    next_attempt_at=now + delay, error=result.error,
                    http_status=result.http_status)  # fmt: skip
        self._counts["retries"] += 1
        _log.warning(
            "alliance_monitor.alert_retry_scheduled",
            extra={"error": result.error, "delay": round(delay, 3), **log},
        )

    async def _disable(self, endpoint: WebhookEndpoint, now: float) -> None:
        self._disabled.add(endpoint.name)  # at once: no new attempt starts meanwhile
        outbox = self._db()
        if outbox.threaded_inserts:  # the fsync (synchronous=FULL) off the event loop
            parked = await anyio.to_thread.run_sync(
                outbox.disable_endpoint_threadsafe, endpoint.name, now, "http_410"
            )
        else:
            parked = outbox.disable_endpoint(endpoint.name, now, "http_410")
        _log.error(
            "alliance_monitor.webhook_endpoint_disabled",
            extra={
                "endpoint": endpoint.name,
                "host": endpoint.host,
                "status": 410,
                "parked_alerts": parked,
                "note": "the receiver answered 410 Gone; "
                "no more deliveries until enable_endpoint()",
            },
        )

    async def _flush_digests(self, now: float, *, force: bool) -> None:
        interval = self._policy.digest_interval
        async with self._digest_lock:  # the delivery loop and drain() may both flush
            outbox = self._db()
            for name, since in (await self._io(outbox.held_since)).items():
                endpoint = self._endpoints.get(name)
                if endpoint is None or name in self._disabled:
                    continue
                if not force and (interval is None or now - since < interval):
                    continue
                rows = await self._io(outbox.held, name)
                for start in range(0, len(rows), _DIGEST_CHUNK):
                    await self._add_digest(endpoint, rows[start : start + _DIGEST_CHUNK], now)

    async def _add_digest(
        self, endpoint: WebhookEndpoint, rows: list[OutboxRow], now: float
    ) -> None:
        h = hashlib.blake2b(digest_size=12)
        for r in rows:
            h.update(r.alert_id.encode() + b"\x1f")
        h.update(endpoint.name.encode())
        digest_id = "dig_" + h.hexdigest()
        items = [json.loads(r.payload) for r in rows]
        data = digest_data(digest_id, items, now)
        digest = OutboxRow(
            alert_id=digest_id,
            endpoint=endpoint.name,
            event_type="digest",
            severity="low",
            priority=1,
            payload=render(endpoint.format, data, now),
            status="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        outbox, members = self._db(), [r.key for r in rows]
        if outbox.threaded_inserts:  # the fsync (synchronous=FULL) off the event loop
            added = await anyio.to_thread.run_sync(outbox.add_digest_threadsafe, digest, members)
        else:
            added = outbox.add_digest(digest, members)
        if added is not False:  # a shared outbox: False when another worker took them first
            self._counts["digests"] += 1

    # --- operations -----------------------------------------------------------------------

    async def drain(self, timeout: float) -> bool:  # noqa: ASYNC109 - the documented API
        """Flush held digests and wait until nothing deliverable is pending or in flight.

        Returns True if drained, False if `timeout` seconds passed first. Rows waiting for a
        later retry count as pending (drain waits for them). Rows of endpoints that are not
        configured here ("orphaned") or disabled are not waited for.
        """
        await self._flush_digests(self._clock(), force=True)
        self._wake.set()
        with anyio.move_on_after(timeout):
            while await self._io(self._deliverable) or self._inflight:
                self._progress = anyio.Event()
                with anyio.move_on_after(0.25):
                    await self._progress.wait()
            return True
        return False

    def _deliverable(self) -> int:
        pending = self._db().counts_by_endpoint("pending")
        return sum(n for name, n in pending.items() if name in self._active())

    def _orphaned(self) -> int:
        outbox = self._db()
        total = 0
        for status in ("pending", "held"):
            for name, n in outbox.counts_by_endpoint(status).items():
                if name not in self._endpoints:
                    total += n
        return total

    def enable_endpoint(self, name: str) -> int:
        """Re-enable an endpoint disabled by a 410 and re-queue its parked alerts (returned)."""
        if name not in self._endpoints:
            raise ConfigError(f"no webhook endpoint named {name!r}")
        count = self._db().enable_endpoint(name, self._clock())
        self._disabled.discard(name)
        self._wake.set()
        return count

    def erase(self, conversation_id: str) -> dict[str, int]:
        """Delete every alert about the pair from the outbox (pending, held, delivered or
        failed; see `Outbox.erase`) and forget its cooldowns. An attempt already on the wire
        still finishes. Counts by kind (``outbox.alerts``, ``outbox.digests``,
        ``outbox.cooldowns``): pass the dispatcher to `Monitor.erase(..., also=[...])`."""
        prefix = conversation_id + "\x1f"
        for key in [k for k in self._cooldowns if k.startswith(prefix)]:
            del self._cooldowns[key]
        return self._db().erase(conversation_id)

    def requeue_failed(self, endpoint: str | None = None) -> int:
        """Give alerts whose retries were exhausted a fresh schedule (a manual retry)."""
        return self._db().requeue_failed(endpoint, self._clock())

    def failed_alerts(self) -> list[dict[str, Any]]:
        """Alerts whose retries were exhausted: id, endpoint, type, attempts, last error code."""
        return [
            {"alert_id": r.alert_id, "endpoint": r.endpoint, "event_type": r.event_type,
             "attempts": r.attempts, "last_error": r.last_error, "last_status": r.last_status}
            for r in self._db().rows("failed")
        ]  # fmt: skip

    def stats(self) -> DispatcherStats:
        """Counters of this process and the outbox's durable state."""
        outbox = self._db()
        counts = outbox.counts()
        return DispatcherStats(
            submitted=self._counts["submitted"],
            queued=self._counts["queued"],
            attempts=self._counts["attempts"],
            retries=self._counts["retries"],
            suppressed=dict(self._suppressed),
            pending=counts.get("pending", 0),
            held=counts.get("held", 0),
            in_flight=len(self._inflight),
            delivered=counts.get("delivered", 0),
            failed=counts.get("failed", 0),
            disabled=counts.get("disabled", 0),
            digests=self._counts["digests"],
            orphaned=self._orphaned(),
            disabled_endpoints=tuple(sorted(self._disabled)),
            failed_by_endpoint=outbox.counts_by_endpoint("failed"),
        )

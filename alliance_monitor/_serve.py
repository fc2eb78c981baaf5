"""``alliance-monitor serve --config FILE``: the standalone service (a sidecar).

One process: the adapters of the config file, the monitor, its scorer, alert endpoints, and

    GET  /healthz    liveness: 200 while the process serves requests
    GET  /readyz     readiness: 200 once everything started and while every input is healthy
    GET  /metrics    Prometheus text format: counters, gauges and latency histograms (ingest,
                     scoring, alert delivery; see _telemetry.py, which also opens OpenTelemetry
                     spans when `alliance-monitor[otel]` is installed)
    POST <path>      one webhook receiver per push adapter (the paths of the config file)

Shutdown (SIGTERM or SIGINT): uvicorn stops accepting connections and finishes open requests;
then the receivers stop (503), their queues drain into the monitor, pull adapters stop,
the monitor scores every closed window (and, if configured, ends open sessions), and the alert
dispatcher gets a few seconds to deliver; what it cannot deliver stays in its outbox.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import logging
import math
import os
import signal
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any

import anyio
from anyio.abc import TaskGroup

from ._config import ScoringPolicy, SessionPolicy, WindowPolicy
from ._core import IngestResult
from ._errors import ConfigError
from ._events import Event, WindowScored
from ._models import Message
from ._monitor import Monitor
from ._settings import (
    HttpSettings,
    JsonlSettings,
    MatrixSettings,
    Settings,
    SlackSettings,
    TwilioSettings,
    ZendeskSettings,
    _Mapped,
    load_settings,
    resolve_secrets,
)
from ._telemetry import Telemetry
from .alerts import AlertDispatcher, WebhookEndpoint
from .metrics import Family, alert_families, monitor_families
from .scoring._base import Scorer

if TYPE_CHECKING:
    # mypy checks the repository layout, where the sub-package is the top-level `adapters/`;
    # setuptools installs it as `alliance_monitor.adapters` (pyproject.toml, package-dir).
    from adapters import (
        ConversationMap,
        HttpAdapter,
        JsonlAdapter,
        PullAdapter,
        PushAdapter,
        RoleMap,
        SlackAdapter,
        SunshineConversationsAdapter,
        TwilioConversationsAdapter,
        WebhookReceiver,
        pump,
    )
    from adapters._receiver import Receive, Scope, Send
else:
    from .adapters import (
        ConversationMap,
        HttpAdapter,
        JsonlAdapter,
        PullAdapter,
        PushAdapter,
        RoleMap,
        SlackAdapter,
        SunshineConversationsAdapter,
        TwilioConversationsAdapter,
        WebhookReceiver,
        pump,
    )
    from .adapters._receiver import Receive, Scope, Send

__all__ = ["Service", "build_adapters", "cmd_serve"]

_log = logging.getLogger("alliance_monitor.serve")


# ---------------------------------------------------------------------- building
def _maps(s: _Mapped) -> tuple[RoleMap, ConversationMap]:
    roles = RoleMap.of(
        s.counselors, counselor_roles=s.counselor_roles, clients=s.clients, others=s.others
    )
    return roles, ConversationMap(dict(s.conversations), s.only_mapped, s.prefix)


def build_adapters(
    settings: Settings, environ: Mapping[str, str]
) -> tuple[dict[str, PushAdapter], list[PullAdapter]]:
    """The push adapters by path, and the pull adapters, of a validated config."""
    push: dict[str, PushAdapter] = {}
    pull: list[PullAdapter] = []
    for i, a in enumerate(settings.adapters):
        where = f"adapters[{i}]"
        if isinstance(a, JsonlSettings):
            pull.append(JsonlAdapter(a.file, follow=a.follow, poll_interval=a.poll_interval))
            continue
        roles, convs = _maps(a)
        if isinstance(a, MatrixSettings):
            pull.append(_matrix(a, roles, convs, environ, where))
            continue
        secrets = resolve_secrets(a.secrets, a.secrets_env, environ, where + ".secrets_env")
        adapter: PushAdapter
        try:
            if isinstance(a, HttpSettings):
                adapter = HttpAdapter(
                    secrets,
                    tolerance=a.tolerance,
                    max_batch=a.max_batch,
                    roles=roles,
                    conversations=convs,
                )
            elif isinstance(a, SlackSettings):
                adapter = SlackAdapter(
                    secrets,
                    roles=roles,
                    conversations=convs,
                    tolerance=a.tolerance,
                    threads_as_conversations=a.threads_as_conversations,
                )
            elif isinstance(a, TwilioSettings):
                adapter = TwilioConversationsAdapter(
                    secrets, public_url=a.public_url, roles=roles, conversations=convs
                )
            else:
                assert isinstance(a, ZendeskSettings)
                zroles = RoleMap.of(
                    a.counselors,
                    counselor_roles=a.counselor_roles or ["business"],
                    clients=a.clients,
                    others=a.others,
                )
                adapter = SunshineConversationsAdapter(
                    secrets,
                    scheme=a.scheme,
                    tolerance=a.tolerance,
                    roles=zroles,
                    conversations=convs,
                )
        except (ConfigError, ValueError) as exc:
            raise ConfigError(f"{where}: {exc}") from None
        push[a.path] = adapter
    return push, pull


def _matrix(
    a: MatrixSettings,
    roles: RoleMap,
    convs: ConversationMap,
    environ: Mapping[str, str],
    where: str,
) -> PullAdapter:
    try:  # imported by name: mypy does not see the installed sub-package layout
        matrix = importlib.import_module(f"{__package__}.adapters.matrix")
    except ImportError as exc:
        raise ConfigError(f"{where}: {exc}") from None
    token = environ.get(a.access_token_env) if a.access_token_env else None
    password = environ.get(a.password_env) if a.password_env else None
    adapter: PullAdapter = matrix.MatrixAdapter(
        a.homeserver,
        a.user_id,
        access_token=token,
        password=password,
        device_id=a.device_id,
        roles=roles,
        conversations=convs,
        backfill=a.backfill,
        auto_join=a.auto_join,
        sync_timeout=a.sync_timeout,
    )
    return adapter


def _scorer(settings: Settings) -> Scorer:
    s = settings.scorer
    if s.kind == "embedded":
        from .scoring._embedded import EmbeddedScorer

        return EmbeddedScorer()
    from .scoring._factory import make_scorer

    return make_scorer(
        s.kind, base_url=s.base_url, model=s.model, api_key_env=s.api_key_env, **s.options
    )


class _TimedMonitor(Monitor):
    """The service's monitor: each `ingest` is timed (and traced) for `/metrics`."""

    telemetry: Telemetry | None = None

    async def ingest(self, message: Message | Mapping[str, Any]) -> IngestResult:
        t = self.telemetry
        if t is None:
            return await super().ingest(message)
        if t.trace_ingest:
            with t.timed(t.ingest, "alliance_monitor.ingest"):
                return await super().ingest(message)
        started = time.perf_counter()
        try:
            return await super().ingest(message)
        finally:
            t.ingest.observe(time.perf_counter() - started)


def _dispatcher(
    settings: Settings, environ: Mapping[str, str], telemetry: Telemetry | None = None
) -> AlertDispatcher | None:
    alerts = settings.alerts
    if alerts is None or not alerts.endpoints:
        return None
    endpoints = []
    for i, ep in enumerate(alerts.endpoints):
        where = f"alerts.endpoints[{i}]"
        secrets = resolve_secrets(ep.secrets, ep.secrets_env, environ, where)
        try:
            endpoints.append(
                WebhookEndpoint(
                    ep.url,
                    secrets,
                    event_types=ep.event_types or None,
                    format=ep.format,
                    name=ep.name,
                )
            )
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None
    try:
        return AlertDispatcher(
            endpoints,
            outbox_path=alerts.outbox_path,
            allowed_hosts=alerts.allowed_hosts,
            allow_private=alerts.allow_private,
            include_text=settings.monitor.include_text,
            telemetry=telemetry,
        )
    except ConfigError as exc:
        raise ConfigError(f"alerts: {exc}") from None


# ---------------------------------------------------------------------- the service
class Service:
    """The composed service as one pure-ASGI app (`app`), plus `run()` to serve it."""

    def __init__(
        self,
        settings: Settings,
        *,
        environ: Mapping[str, str] | None = None,
        on_ready: Callable[[str], None] | None = None,
    ) -> None:
        self.settings = settings
        self.environ = os.environ if environ is None else environ
        self.on_ready = on_ready
        self.push, self.pull = build_adapters(settings, self.environ)
        self.monitor: Monitor | None = None
        self.dispatcher: AlertDispatcher | None = None
        self.receivers: dict[str, WebhookReceiver] = {}
        self.pull_counts: dict[str, Counter[str]] = {}
        self.tokens: Counter[str] = Counter()
        #: Connections refused over the cap, and closed for slow headers (see `run`).
        self.conn_counts: Counter[str] = Counter()
        self.ready = False
        self.address = ""
        self.final_stats: dict[str, object] = {}
        self._pull_group: TaskGroup | None = None
        self._server: Any = None
        self.supervisor: Any = None
        #: Counselors' ratings of feedback ([ratings]): the API and its endpoint.
        self.ratings: Any = None
        self.ratings_endpoint: Any = None
        #: Latency histograms for /metrics (ingest, scoring, alert delivery) and spans.
        self.telemetry = Telemetry()

    # ------------------------------------------------------------------ lifecycle
    async def _start(self, stack: AsyncExitStack) -> None:
        s = self.settings
        self.dispatcher = _dispatcher(s, self.environ, self.telemetry)
        if self.dispatcher is not None:
            await stack.enter_async_context(self.dispatcher)
            stack.push_async_callback(self._drain_alerts)
        store = None
        if s.monitor.store:
            from .store import open_store

            store = open_store(s.monitor.store)
        try:
            window = WindowPolicy(**s.monitor.window)  # type: ignore[arg-type]
            session = SessionPolicy(**s.monitor.session)
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"monitor.window/session: {type(exc).__name__}") from None
        monitor = _TimedMonitor(
            scorer=self.telemetry.instrument(_scorer(s)),
            window=window,
            session=session,
            include_text=s.monitor.include_text,
            scoring=ScoringPolicy(workers=s.monitor.workers, timeout=s.monitor.score_timeout),
            idle_check_interval=s.monitor.idle_check_interval,
            store=store,
            max_pairs=s.monitor.max_pairs,
        )
        monitor.telemetry = self.telemetry
        self.monitor = await stack.enter_async_context(monitor)
        monitor.on(self._count_tokens, types={"window_scored"})
        board = None
        if s.supervisor.enabled:
            from .study import PairBoard, supervisor_app

            board = PairBoard()
            monitor.on(board)
            self.supervisor = supervisor_app(board, include_text=s.monitor.include_text)
        if s.ratings.enabled:
            self._start_ratings(stack, board)
        if self.dispatcher is not None:
            monitor.on(self._alert)
        if s.monitor.end_sessions_on_shutdown:
            stack.push_async_callback(monitor.end_all_sessions)
        self._pull_group = await stack.enter_async_context(anyio.create_task_group())
        stack.push_async_callback(self._stop_pulls)
        for adapter in self.pull:
            self._pull_group.start_soon(self._run_pull, adapter, monitor)
        srv = s.server
        for path, push in self.push.items():
            receiver = WebhookReceiver(
                push,
                monitor,
                queue_size=srv.queue_size,
                max_body=srv.max_body_bytes,
                retry_after=srv.retry_after,
                drain_timeout=srv.shutdown_timeout,
                body_timeout=srv.body_timeout,
            )
            self.receivers[path] = await stack.enter_async_context(receiver)

    def _start_ratings(self, stack: AsyncExitStack, board: Any) -> None:
        from .study import FeedbackRatings, RatingsEndpoint

        r = self.settings.ratings
        secrets = resolve_secrets(r.secrets, r.secrets_env, self.environ, "ratings.secrets_env")
        self.ratings = FeedbackRatings(r.store, board=board)
        stack.callback(self.ratings.close)
        self.ratings.load_board()  # after a restart the live view knows what was delivered
        try:
            self.ratings_endpoint = RatingsEndpoint(
                self.ratings,
                secrets,
                tolerance=r.tolerance,
                max_body=r.max_body_bytes,
                body_timeout=self.settings.server.body_timeout,
            )
        except (ConfigError, ValueError) as exc:
            raise ConfigError(f"ratings: {exc}") from None

    def _count_tokens(self, event: Event) -> None:
        if isinstance(event, WindowScored):
            self.tokens["prompt"] += event.score.prompt_tokens
            self.tokens["completion"] += event.score.completion_tokens

    async def _alert(self, event: Event) -> None:
        if self.dispatcher is not None:
            await self.dispatcher.submit(event)

    async def _run_pull(self, adapter: PullAdapter, monitor: Monitor) -> None:
        counts = self.pull_counts.setdefault(adapter.name, Counter())
        backoff = 1.0
        while True:
            try:
                await pump(adapter, monitor, counts=counts)
                return  # a finite stream (a JSONL file without follow) ended
            except Exception as exc:  # keep the service up; readiness shows the adapter
                counts["adapter_errors"] += 1
                _log.error(
                    "alliance_monitor.pull_adapter_failed",
                    extra={"adapter": adapter.name, "error": type(exc).__name__},
                )
                await anyio.sleep(backoff)
                backoff = min(backoff * 2, 30.0)

    async def _stop_pulls(self) -> None:
        for adapter in self.pull:
            with anyio.CancelScope(shield=True), anyio.move_on_after(5):
                await adapter.aclose()
        if self._pull_group is not None:
            self._pull_group.cancel_scope.cancel()

    async def _drain_alerts(self) -> None:
        if self.dispatcher is not None:
            await self.dispatcher.drain(timeout=min(5.0, self.settings.server.shutdown_timeout))

    # ------------------------------------------------------------------ ASGI
    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path = scope.get("path", "")
        receiver = self.receivers.get(path)
        if receiver is not None:
            await receiver(scope, receive, send)
        elif self.ratings_endpoint is not None and path == self.settings.ratings.path:
            await self.ratings_endpoint(scope, receive, send)
        elif self.supervisor is not None and (
            path == self.settings.supervisor.path
            or path.startswith(self.settings.supervisor.path + "/")
        ):
            root = str(scope.get("root_path", "")) + self.settings.supervisor.path
            await self.supervisor({**scope, "root_path": root}, receive, send)
        elif path == "/healthz":
            failed = self.failures()
            body = {"status": "ok"} if not failed else {"status": "failing", "failed": failed}
            await _send(send, 503 if failed else 200, json.dumps(body), "application/json")
        elif path == "/readyz":
            checks = self.checks()
            status = 200 if all(checks.values()) else 503
            await _send(
                send,
                status,
                json.dumps({"ready": status == 200, "checks": checks}),
                "application/json",
            )
        elif path == "/metrics":
            await _send(send, 200, self.metrics(), "text/plain; version=0.0.4; charset=utf-8")
        elif path in self.push:
            await _send(send, 503, "starting", "text/plain", (("retry-after", "5"),))
        else:
            await _send(send, 404, "not found", "text/plain")

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        await receive()  # lifespan.startup
        stack = AsyncExitStack()
        try:
            await self._start(stack)
        except Exception as exc:
            with anyio.CancelScope(shield=True):
                await stack.aclose()
            reason = str(exc) if isinstance(exc, ConfigError) else type(exc).__name__
            await send({"type": "lifespan.startup.failed", "message": reason})
            return
        self.ready = True
        await send({"type": "lifespan.startup.complete"})
        if self.on_ready is not None:
            self.on_ready(self.address)
        await receive()  # lifespan.shutdown
        self.ready = False
        try:
            await stack.aclose()
        except Exception as exc:
            _log.error("alliance_monitor.shutdown_failed", extra={"error": type(exc).__name__})
            await send({"type": "lifespan.shutdown.failed", "message": type(exc).__name__})
            return
        self.final_stats = self.monitor.stats() if self.monitor is not None else {}
        _log.info("alliance_monitor.shutdown_complete")
        await send({"type": "lifespan.shutdown.complete"})

    def failures(self) -> dict[str, str]:
        """Background tasks that died (by name, with the exception type): nothing they should
        carry reaches the monitor any more, so the service is not live."""
        out = {
            f"receiver:{path}": r.failure
            for path, r in self.receivers.items()
            if r.failure is not None
        }
        if self.monitor is not None:
            out.update({f"monitor:{name}": err for name, err in self.monitor.health().items()})
        return out

    def checks(self) -> dict[str, bool]:
        out = {"started": self.ready and self.monitor is not None}
        out["monitor"] = self.monitor is not None and not self.monitor.health()
        for path, receiver in self.receivers.items():
            out[f"receiver:{path}"] = receiver.accepting and receiver.healthy
        for adapter in self.pull:
            out[f"pull:{adapter.name}"] = adapter.healthy
        return out

    # ------------------------------------------------------------------ metrics
    def metrics(self) -> str:
        m = _Metrics()
        # The monitor's and the outbox's families are those an embedder reads
        # (alliance_monitor.metrics): one definition of each name.
        for fam in monitor_families(self.monitor.stats() if self.monitor is not None else {}):
            m.family(fam)
        m.add(
            "llm_tokens_total",
            "counter",
            "LLM tokens spent on scored windows.",
            [({"kind": k}, self.tokens[k]) for k in ("prompt", "completion")],
        )
        self._receiver_metrics(m)
        self._alert_metrics(m)
        if self.ratings is not None:
            for name, kind, text, samples in self.ratings.metric_families():
                m.add(name, kind, text, samples)
        m.lines += self.telemetry.render()
        return m.render()

    def _receiver_metrics(self, m: _Metrics) -> None:
        rs = {path: r.stats() for path, r in self.receivers.items()}
        name = {path: self.push[path].name for path in rs}

        def per(key: str) -> list[tuple[dict[str, str], float]]:
            return [({"adapter": name[p], "path": p}, s.get(key, 0)) for p, s in rs.items()]

        m.add("webhook_requests_total", "counter", "Webhook requests received.", per("requests"))
        m.add(
            "webhook_deliveries_accepted_total",
            "counter",
            "Deliveries taken.",
            per("deliveries_accepted"),
        )
        m.add(
            "webhook_duplicates_total",
            "counter",
            "Platform retries of deliveries already taken.",
            per("duplicate_deliveries"),
        )
        m.add(
            "webhook_refused_total",
            "counter",
            "Requests refused, by reason.",
            [
                ({"adapter": name[p], "path": p, "reason": k}, v)
                for p, s in rs.items()
                for k, v in sorted(s["problems"].items())
            ],
        )
        m.add(
            "webhook_ignored_total",
            "counter",
            "Events that are no message of a pair.",
            [
                ({"adapter": name[p], "path": p, "reason": k}, v)
                for p, s in rs.items()
                for k, v in sorted(s["ignored"].items())
            ],
        )
        m.add(
            "webhook_messages_total",
            "counter",
            "Messages handed to a receiver, by outcome (in = accepted + duplicate + rejected "
            "once the queue is empty).",
            [
                ({"adapter": name[p], "path": p, "outcome": k}, v)
                for p, s in rs.items()
                for k, v in s["messages"].items()
                if k != "rejected_by_reason"
            ],
        )
        m.add(
            "webhook_messages_rejected_total",
            "counter",
            "Messages a receiver rejected, by reason.",
            [
                ({"adapter": name[p], "path": p, "reason": k}, v)
                for p, s in rs.items()
                for k, v in sorted(s["messages"]["rejected_by_reason"].items())
            ],
        )
        m.add(
            "background_task_failed",
            "gauge",
            "1 when a background task has died.",
            [({"task": f"receiver:{p}"}, 0 if s["healthy"] else 1) for p, s in rs.items()],
        )
        m.add(
            "connections_refused_total",
            "counter",
            "Connections closed at once: over server.max_connections.",
            [({}, self.conn_counts["refused"])],
        )
        m.add(
            "connections_timed_out_total",
            "counter",
            "Connections closed for sending no complete request headers in time.",
            [({}, self.conn_counts["header_timeout"])],
        )
        m.add("queue_depth", "gauge", "Messages waiting for the monitor.", per("queue_depth"))
        m.add("queue_capacity", "gauge", "Queue capacity.", per("queue_capacity"))
        m.add(
            "pull_items_total",
            "counter",
            "Items read by pull adapters, by outcome.",
            [
                ({"adapter": a, "outcome": k}, v)
                for a, cs in self.pull_counts.items()
                for k, v in sorted(cs.items())
            ],
        )

    def _alert_metrics(self, m: _Metrics) -> None:
        if self.dispatcher is not None:
            for fam in alert_families(self.dispatcher):
                m.family(fam)

    # ------------------------------------------------------------------ running
    def shutdown(self) -> None:
        """Ask a running `run()` to shut down gracefully (as SIGTERM does); thread-safe."""
        if self._server is not None:
            self._server.should_exit = True

    async def run(self) -> None:
        """Bind, serve until SIGTERM/SIGINT, shut down gracefully."""
        import uvicorn

        srv = self.settings.server
        sock = socket.socket(socket.AF_INET6 if ":" in srv.host else socket.AF_INET)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((srv.host, srv.port))
        # Listen now: "listening on" is announced after the lifespan starts, which is before
        # uvicorn's own listen(); connections made in between wait in the backlog.
        sock.listen(2048)
        host, port = sock.getsockname()[:2]
        self.address = f"http://{host}:{port}" if ":" not in host else f"http://[{host}]:{port}"
        config = uvicorn.Config(
            self.app,
            interface="asgi3",
            lifespan="on",
            log_level=srv.log_level,
            access_log=False,
            timeout_graceful_shutdown=math.ceil(srv.shutdown_timeout),
            http=guarded_protocol(
                max_connections=srv.max_connections,
                header_timeout=srv.header_timeout,
                counts=self.conn_counts,
            ),
        )
        server = uvicorn.Server(config)
        self._server = server
        try:
            await server.serve(sockets=[sock])
        finally:
            sock.close()


def guarded_protocol(
    *, max_connections: int, header_timeout: float, counts: Counter[str] | None = None
) -> type[asyncio.Protocol]:
    """uvicorn's HTTP/1.1 protocol with a connection cap and a header-read deadline.

    uvicorn keeps a connection that never finishes its request headers open for ever (its
    keep-alive timer starts only after a response), so a few hundred slow clients ("slowloris")
    hold the service. This class closes a connection that has not completed a request's headers
    within `header_timeout` seconds, and answers a connection beyond `max_connections` open ones
    with 503 and closes it at once. The body has its own deadline (`WebhookReceiver`,
    ``server.body_timeout``).
    """
    from uvicorn.protocols.http.h11_impl import H11Protocol

    tally: Counter[str] = Counter() if counts is None else counts
    busy = (
        b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nretry-after: 5\r\n"
        b"connection: close\r\n\r\n"
    )

    class GuardedH11Protocol(H11Protocol):
        _refused = False
        _guard: asyncio.TimerHandle | None = None
        _marker: object = None

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            if len(self.connections) >= max_connections:
                self._refused = True
                tally["refused"] += 1
                transport.write(busy)
                transport.close()
                return
            super().connection_made(transport)
            self._marker = self.cycle
            self._arm()

        def _arm(self) -> None:
            self._guard = self.loop.call_later(header_timeout, self._check)

        def _check(self) -> None:
            self._guard = None
            if self.transport.is_closing():
                return
            in_request = self.cycle is not None and not self.cycle.response_complete
            if not in_request and self.cycle is self._marker:
                # No request got its headers through since the last look: a slow client.
                tally["header_timeout"] += 1
                self.transport.close()
                return
            self._marker = self.cycle
            self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            if self._refused:
                return
            if self._guard is not None:
                self._guard.cancel()
                self._guard = None
            super().connection_lost(exc)

    return GuardedH11Protocol


class _Metrics:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def add(
        self, name: str, kind: str, text: str, samples: list[tuple[dict[str, str], float]]
    ) -> None:
        full = "alliance_monitor_" + name
        self.lines += [f"# HELP {full} {text}", f"# TYPE {full} {kind}"]
        for labels, value in samples:
            body = ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items())
            self.lines.append(f"{full}{{{body}}} {value:g}" if body else f"{full} {value:g}")

    def family(self, fam: Family) -> None:
        self.add(fam.name, fam.kind, fam.help, [(dict(s.labels), s.value) for s in fam.samples])

    def render(self) -> str:
        return "\n".join(self.lines) + "\n"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


async def _send(
    send: Send, status: int, body: str, ctype: str, headers: tuple[tuple[str, str], ...] = ()
) -> None:
    data = body.encode()
    raw = [
        (b"content-type", ctype.encode()),
        (b"content-length", str(len(data)).encode()),
        *((k.encode(), v.encode()) for k, v in headers),
    ]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": data})


# ---------------------------------------------------------------------- CLI
def cmd_serve(args: argparse.Namespace) -> int:
    """``alliance-monitor serve --config FILE [--host H] [--port P]``."""
    try:
        settings = load_settings(args.config, os.environ)
        overrides = {
            k: v
            for k, v in (
                ("host", getattr(args, "host", None)),
                ("port", getattr(args, "port", None)),
            )
            if v is not None
        }
        if overrides:
            server = settings.server.model_copy(update=overrides)
            settings = settings.model_copy(update={"server": server})
        service = Service(settings, on_ready=_announce)
        import uvicorn  # noqa: F401 - fail early with a clear message
    except ConfigError as exc:
        print(f"alliance-monitor serve: config error: {exc}", file=sys.stderr)
        return 2
    except ImportError:
        print(
            "alliance-monitor serve needs uvicorn: pip install 'alliance-monitor[serve]'",
            file=sys.stderr,
        )
        return 2
    # uvicorn re-raises the signal that stopped it once it has shut down; a SIGTERM handler of
    # ours turns that into a normal return (exit code 0) instead of death by signal.
    terminated: list[int] = []
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, lambda sig, frame: terminated.append(sig))
    try:
        anyio.run(service.run)
    except SystemExit as exc:  # uvicorn exits when the lifespan startup failed
        print("alliance-monitor serve: start-up failed (see the log above)", file=sys.stderr)
        return int(exc.code) if isinstance(exc.code, int) else 1
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    st = service.final_stats
    rejected = st.get("rejected_by_reason") or {}
    print(
        f"alliance-monitor serve: stopped; {st.get('messages_in', 0)} message(s) in, "
        f"{st.get('accepted', 0)} accepted, {st.get('duplicates', 0)} duplicate, "
        f"{sum(rejected.values()) if isinstance(rejected, dict) else 0} rejected, "
        f"{st.get('windows_scored', 0)} window(s) scored",
        file=sys.stderr,
    )
    return 0


def _announce(address: str) -> None:
    print(f"alliance-monitor serve: listening on {address}", file=sys.stderr, flush=True)

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

import base64
import hmac
import importlib
import json
import logging
import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any

import anyio
from anyio.abc import SocketAttribute, SocketListener, TaskGroup

from ._config import OrderPolicy, ScoringPolicy, SessionPolicy, WindowPolicy
from ._core import IngestResult
from ._erasure import Erasable
from ._errors import ConfigError, MonitorClosed, StoreError
from ._events import Event, WindowScored
from ._http import HttpServer, ListenerLimits
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
    resolve_secrets,
)
from ._telemetry import Telemetry
from .alerts import AlertDispatcher, WebhookEndpoint
from .metrics import Family, alert_families, monitor_families
from .scoring._base import Scorer
from .store._base import StateStore

if TYPE_CHECKING:
    # mypy checks the repository layout, where the sub-package is the top-level `adapters/`;
    # setuptools installs it as `alliance_monitor.adapters` (pyproject.toml, package-dir).
    from adapters import (
        ConversationMap,
        HttpAdapter,
        JsonlAdapter,
        MessageSink,
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
    from adapters.redis_streams import StreamPublisher
else:
    from .adapters import (
        ConversationMap,
        HttpAdapter,
        JsonlAdapter,
        MessageSink,
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

__all__ = ["Service", "build_adapters"]

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
    outbox = None
    if alerts.outbox:
        if not alerts.outbox.startswith(("redis://", "rediss://", "unix://")):
            raise ConfigError("alerts.outbox: a redis:// URL (a shared outbox)")
        from .alerts import RedisOutbox

        outbox = RedisOutbox(
            alerts.outbox, prefix=alerts.outbox_prefix, claim_ttl=alerts.outbox_claim_ttl
        )
    try:
        return AlertDispatcher(
            endpoints,
            outbox_path=alerts.outbox_path,
            outbox=outbox,
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
        on_board: Callable[[str], None] | None = None,
    ) -> None:
        self.settings = settings
        self.environ = os.environ if environ is None else environ
        self.on_ready = on_ready
        self.on_board = on_board
        self.push, self.pull = build_adapters(settings, self.environ)
        self.monitor: Monitor | None = None
        self.dispatcher: AlertDispatcher | None = None
        self.receivers: dict[str, WebhookReceiver] = {}
        self.pull_counts: dict[str, Counter[str]] = {}
        self.tokens: Counter[str] = Counter()
        #: Connections each listener refused or closed, by reason (`_http.HttpServer.counts`).
        self.conn_counts: Counter[str] = Counter()
        self.board_conn_counts: Counter[str] = Counter()
        self.ready = False
        #: Why the start failed, when it did.
        self.startup_error: BaseException | None = None
        self.address = ""
        #: The supervisor board's own listener, when it has one ("" otherwise).
        self.board_address = ""
        self.final_stats: dict[str, object] = {}
        self._pull_group: TaskGroup | None = None
        self._stop: anyio.Event | None = None
        self._should_exit = False
        self.supervisor: Any = None
        #: Counselors' ratings of feedback ([ratings]): the API and its endpoint.
        self.ratings: Any = None
        self.ratings_endpoint: Any = None
        #: The supervisor board ([supervisor]) and the erasure endpoint ([admin]), when on.
        self.board: Any = None
        #: The board kept in the state store (with a store): `study.StoredBoard`.
        self.stored_board: Any = None
        self.admin: Any = None
        #: Pairs erased: on request (the admin endpoint) and by the retention sweep.
        self.erasures: Counter[str] = Counter()
        self._board_token = self._token(settings, self.environ)
        #: Latency histograms for /metrics (ingest, scoring, alert delivery) and spans.
        self.telemetry = Telemetry()
        #: ``server.mode = "ingest"``: where the adapters' messages go (the Redis stream).
        self.publisher: StreamPublisher | None = None
        #: ``server.mode`` ingest or board, with the board on: the workers' board records.
        self.follower: Any = None

    # ------------------------------------------------------------------ lifecycle
    async def _start(self, stack: AsyncExitStack) -> None:
        if self.settings.server.mode != "all":
            await self._start_scaleout(stack)
            return
        s = self.settings
        self.dispatcher = _dispatcher(s, self.environ, self.telemetry)
        if self.dispatcher is not None:
            await stack.enter_async_context(self.dispatcher)
            stack.push_async_callback(self._drain_alerts)
        store: StateStore | None = None
        if s.monitor.store:
            from .store import open_store

            store = open_store(s.monitor.store)
        stored = None
        if s.supervisor.enabled and store is not None:
            from .study import StoredBoard

            # The board's records ride the store's commits: it survives a restart.
            stored = self.stored_board = StoredBoard(include_text=s.monitor.include_text)
            store = stored.wrap(store)
        try:
            window = WindowPolicy(**s.monitor.window)  # type: ignore[arg-type]
            session = SessionPolicy(**s.monitor.session)
            order = OrderPolicy(**s.monitor.order)  # type: ignore[arg-type]
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"monitor.window/session/order: {type(exc).__name__}") from None
        monitor = _TimedMonitor(
            scorer=self.telemetry.instrument(_scorer(s)),
            window=window,
            session=session,
            order=order,
            include_text=s.monitor.include_text,
            scoring=ScoringPolicy(
                workers=s.monitor.workers,
                timeout=s.monitor.score_timeout,
                overload=s.monitor.overload,
            ),
            idle_check_interval=s.monitor.idle_check_interval,
            store=store,
            max_pairs=s.monitor.max_pairs or None,  # 0: no cap
        )
        monitor.telemetry = self.telemetry
        self.monitor = await stack.enter_async_context(monitor)
        monitor.on(self._count_tokens, types={"window_scored"})
        board = None
        if s.supervisor.enabled:
            from .study import PairBoard, supervisor_app

            if stored is not None:
                board = stored.board
                monitor.on(stored)
                await stored.load()
            else:
                board = PairBoard()
                monitor.on(board)
            self.board = board
            self.supervisor = supervisor_app(board, include_text=s.monitor.include_text)
        if s.ratings.enabled:
            self._start_ratings(stack, board)
        if s.admin.enabled:
            self._start_admin()
        if self.dispatcher is not None:
            monitor.on(self._alert)
        if s.monitor.end_sessions_on_shutdown:
            stack.push_async_callback(monitor.end_all_sessions)
        self._pull_group = await stack.enter_async_context(anyio.create_task_group())
        stack.push_async_callback(self._stop_pulls)
        if s.monitor.retention_days:
            self._pull_group.start_soon(self._retention, monitor)
        await self._start_inputs(stack, monitor)

    async def _start_inputs(self, stack: AsyncExitStack, sink: MessageSink) -> None:
        """Pull adapters and webhook receivers, handing their messages to `sink`."""
        assert self._pull_group is not None
        for adapter in self.pull:
            self._pull_group.start_soon(self._run_pull, adapter, sink)
        srv = self.settings.server
        for path, push in self.push.items():
            receiver = WebhookReceiver(
                push,
                sink,
                queue_size=srv.queue_size,
                max_body=srv.max_body_bytes,
                retry_after=srv.retry_after,
                drain_timeout=srv.shutdown_timeout,
                body_timeout=srv.body_timeout,
                ack_timeout=srv.ack_timeout,
            )
            self.receivers[path] = await stack.enter_async_context(receiver)

    async def _start_scaleout(self, stack: AsyncExitStack) -> None:
        """``server.mode`` ingest (adapters into the stream) or board (the workers' board)."""
        s = self.settings
        mode, st = s.server.mode, s.stream
        if not st.redis:
            raise ConfigError(f"server.mode = {mode} needs stream.redis (redis://...)")
        if mode == "board" and not s.supervisor.enabled:
            raise ConfigError("server.mode = board needs supervisor.enabled")
        from .store import RedisStore, import_redis

        if TYPE_CHECKING:
            from adapters.redis_streams import StreamPublisher, state_prefix
        else:  # imported here: the redis client only where scale-out is configured
            from .adapters.redis_streams import StreamPublisher, state_prefix

        if mode == "ingest":
            client = import_redis().Redis.from_url(st.redis, decode_responses=False)
            stack.push_async_callback(client.aclose)
            self.publisher = StreamPublisher(client, st.name, shards=st.shards, maxlen=st.maxlen)
        self._pull_group = await stack.enter_async_context(anyio.create_task_group())
        stack.push_async_callback(self._stop_pulls)
        if s.supervisor.enabled:
            from .study import BoardFollower, supervisor_app

            # The workers keep their state (and board records) under the stream's prefix.
            store = RedisStore(s.monitor.store or st.redis, prefix=state_prefix(st.name))
            await store.open()
            stack.push_async_callback(store.aclose)
            self.follower = BoardFollower(store)
            self.board = self.follower.board
            self.supervisor = supervisor_app(self.board, include_text=s.monitor.include_text)
            self._pull_group.start_soon(self.follower.run)
        if self.publisher is None:
            return
        if s.admin.enabled:
            self._start_admin()
        await self._start_inputs(stack, self.publisher)

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

    def _start_admin(self) -> None:
        from ._admin import EraseEndpoint

        a = self.settings.admin
        secrets = resolve_secrets(a.secrets, a.secrets_env, self.environ, "admin.secrets_env")
        try:
            self.admin = EraseEndpoint(
                self.erase,
                secrets,
                tolerance=a.tolerance,
                body_timeout=self.settings.server.body_timeout,
                retry_after=self.settings.server.retry_after,
            )
        except (ConfigError, ValueError) as exc:
            raise ConfigError(f"admin: {exc}") from None

    def _erasable(self) -> list[Erasable]:
        board = self.stored_board if self.stored_board is not None else self.board
        return [p for p in (self.dispatcher, board) if p is not None]

    async def erase(self, conversation_id: str) -> dict[str, Any]:
        """Erase a pair from the monitor, its store, the alert outbox and the board (the admin
        endpoint's action); what was removed where."""
        if self.publisher is not None:  # ingest mode: the worker holding the pair erases it
            with anyio.fail_after(self.settings.admin.timeout):
                report = await self.publisher.erase(conversation_id)
            self.erasures["requested"] += 1
            return report
        if self.monitor is None:
            raise MonitorClosed("the service has not started")
        with anyio.fail_after(self.settings.admin.timeout):
            erasure = await self.monitor.erase(conversation_id, also=self._erasable())
        self.erasures["requested"] += 1
        return erasure.to_json()

    async def _retention(self, monitor: Monitor) -> None:
        """Erase pairs idle beyond `monitor.retention_days`, every `retention_check_interval`."""
        m = self.settings.monitor
        assert m.retention_days is not None
        while True:
            try:
                erased = await monitor.erase_stale(m.retention_days * 86400, also=self._erasable())
                self.erasures["retention"] += len(erased)
            except Exception as exc:  # the store is down: try again at the next sweep
                self.erasures["retention_failed"] += 1
                _log.error(
                    "alliance_monitor.retention_sweep_failed", extra={"error": type(exc).__name__}
                )
            await anyio.sleep(m.retention_check_interval)

    def _count_tokens(self, event: Event) -> None:
        if isinstance(event, WindowScored):
            self.tokens["prompt"] += event.score.prompt_tokens
            self.tokens["completion"] += event.score.completion_tokens

    async def _alert(self, event: Event) -> None:
        if self.dispatcher is not None:
            await self.dispatcher.submit(event)

    async def _run_pull(self, adapter: PullAdapter, monitor: MessageSink) -> None:
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
        """The public listener: receivers, probes, metrics (and the board only when configured
        with ``listener = "public"``, behind its token)."""
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path = scope.get("path", "")
        receiver = self.receivers.get(path)
        sup = self.settings.supervisor
        if receiver is not None:
            await receiver(scope, receive, send)
        elif self.ratings_endpoint is not None and path == self.settings.ratings.path:
            await self.ratings_endpoint(scope, receive, send)
        elif self.admin is not None and path == self.settings.admin.path:
            await self.admin(scope, receive, send)
        elif sup.listener == "public" and self._on_board(path):
            await self.board_app(scope, receive, send)
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

    def _on_board(self, path: str) -> bool:
        base = self.settings.supervisor.path
        return self.supervisor is not None and (path == base or path.startswith(base + "/"))

    async def board_app(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The supervisor board (its own listener by default), behind its token when set."""
        if scope["type"] != "http":
            return
        path = scope.get("path", "")
        if not self._on_board(path):
            await _send(send, 404, "not found", "text/plain")
            return
        if self._board_token is not None and not _authorised(scope, self._board_token):
            await _send(
                send,
                401,
                "unauthorised",
                "text/plain",
                (("www-authenticate", 'Basic realm="alliance-monitor supervisor"'),),
            )
            return
        root = str(scope.get("root_path", "")) + self.settings.supervisor.path
        await self.supervisor({**scope, "root_path": root}, receive, send)

    @staticmethod
    def _token(settings: Settings, environ: Mapping[str, str]) -> str | None:
        sup = settings.supervisor
        if not (sup.enabled and sup.token_env):
            return None
        return resolve_secrets([], [sup.token_env], environ, "supervisor.token_env")[0]

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        await receive()  # lifespan.startup
        stack = AsyncExitStack()
        try:
            await self._start(stack)
        except Exception as exc:
            self.startup_error = exc
            with anyio.CancelScope(shield=True):
                await stack.aclose()
            reason = str(exc) if isinstance(exc, ConfigError | StoreError) else type(exc).__name__
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
        self.final_stats = self._stats()
        _log.info("alliance_monitor.shutdown_complete")
        await send({"type": "lifespan.shutdown.complete"})

    def _stats(self) -> dict[str, Any]:
        """The monitor's counters, or in ingest mode the publisher's (same names)."""
        if self.monitor is not None:
            return self.monitor.stats()
        return self.publisher.stats() if self.publisher is not None else {}

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
        if self.settings.server.mode != "all":
            out = {"started": self.ready}
            if self.publisher is not None:  # the latest publish went through
                out["stream"] = self.publisher.failing is None
            if self.follower is not None:
                out["board"] = self.follower.loaded
            for path, receiver in self.receivers.items():
                out[f"receiver:{path}"] = receiver.accepting and receiver.healthy
            for adapter in self.pull:
                out[f"pull:{adapter.name}"] = adapter.healthy
            return out
        out = {"started": self.ready and self.monitor is not None}
        out["monitor"] = self.monitor is not None and not self.monitor.health()
        # A store that fails commits: not ready (platforms retry elsewhere) until it is back.
        out["store"] = self.monitor is not None and "store" not in self.monitor.readiness()
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
        for fam in monitor_families(self._stats()):
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
        m.add(
            "pairs_erased_total",
            "counter",
            "Pairs erased (state and text), by cause: requested (the admin endpoint) or "
            "retention (monitor.retention_days).",
            [({"cause": c}, self.erasures[c]) for c in ("requested", "retention")],
        )
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
        listeners = {"public": self.conn_counts, "board": self.board_conn_counts}
        m.add(
            "connections_refused_total",
            "counter",
            "Connections (behind a trusted proxy: requests) answered 503 at once, by the limit "
            "they met: capacity (server.max_connections), client_connections "
            "(max_connections_per_client), client_slow (max_slow_per_client).",
            [
                ({"listener": name, "reason": reason}, counts["refused_" + reason])
                for name, counts in listeners.items()
                for reason in ("capacity", "client_connections", "client_slow")
            ],
        )
        m.add(
            "connections_timed_out_total",
            "counter",
            "Connections closed for a request head not complete in server.header_timeout "
            "(header), an idle keep-alive (keepalive) or an answer not taken (write).",
            [
                ({"listener": name, "reason": reason}, counts[reason + "_timeout"])
                for name, counts in listeners.items()
                for reason in ("header", "keepalive", "write")
            ],
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
        self._should_exit = True

    def limits(self) -> ListenerLimits:
        srv = self.settings.server
        return ListenerLimits(
            max_connections=srv.max_connections,
            max_connections_per_client=srv.max_connections_per_client,
            max_slow_per_client=srv.max_slow_per_client,
            header_timeout=srv.header_timeout,
            keepalive_timeout=srv.keepalive_timeout,
            trusted_proxies=tuple(srv.trusted_proxies),
        )

    async def run(self) -> None:
        """Bind, start, serve until SIGTERM/SIGINT (or `shutdown()`), shut down gracefully.

        Start-up errors propagate (`ConfigError` for a state file that is no store, `StoreLocked`
        for one another process holds, `OSError` for a port in use) after whatever had started
        is closed again. A signal during start-up shuts down as soon as the start is done."""
        stop = anyio.Event()
        error: Exception | None = None
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._watch_exit, stop)
            try:
                await self._run(stop)
            except Exception as exc:  # raised as itself, not in a group
                error = exc
            finally:
                tg.cancel_scope.cancel()
        if error is not None:
            raise error

    async def _run(self, stop: anyio.Event) -> None:
        srv, sup = self.settings.server, self.settings.supervisor
        limits = self.limits()
        listeners = [await _listen(srv.host, srv.port)]
        self.address = _url(listeners[0])
        own_board = sup.enabled and sup.listener == "own"
        try:
            if own_board:
                listeners.append(await _listen(sup.host, sup.port))
                self.board_address = _url(listeners[1]) + sup.path + "/"
            async with AsyncExitStack() as stack:
                try:
                    await self._start(stack)
                except BaseException as exc:
                    self.startup_error = exc
                    raise
                self.ready = True
                if self.on_board is not None and self.board_address:
                    self.on_board(self.board_address)
                if self.on_ready is not None:
                    self.on_ready(self.address)
                async with anyio.create_task_group() as tg:
                    public = HttpServer(
                        self.app, limits=limits, counts=self.conn_counts, grace=srv.shutdown_timeout
                    )
                    if own_board:
                        board = HttpServer(
                            self.board_app, limits=limits, counts=self.board_conn_counts, grace=2
                        )
                        tg.start_soon(board.serve, listeners[1], stop)
                    await public.serve(listeners[0], stop)
                self.ready = False
                _log.info("alliance_monitor.shutting_down")
            self.final_stats = self._stats()
            _log.info("alliance_monitor.shutdown_complete")
        finally:
            for listener in listeners:
                await listener.aclose()

    async def _watch_exit(self, stop: anyio.Event) -> None:
        """SIGTERM / SIGINT (in the main thread) or `shutdown()` set `stop`."""
        async with anyio.create_task_group() as tg:
            if threading.current_thread() is threading.main_thread():
                tg.start_soon(self._signals, stop)
            # Polled: `shutdown()` may be called from another thread, which cannot set an Event.
            while not self._should_exit:  # noqa: ASYNC110
                await anyio.sleep(0.1)
            stop.set()
            tg.cancel_scope.cancel()

    async def _signals(self, stop: anyio.Event) -> None:
        with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
            async for _ in signals:
                self._should_exit = True
                stop.set()
                return


async def _listen(host: str, port: int) -> SocketListener:
    """A listening socket on the first address `host` names (the others are closed)."""
    multi = await anyio.create_tcp_listener(local_host=host, local_port=port, backlog=2048)
    first, *others = multi.listeners
    for other in others:
        await other.aclose()
    assert isinstance(first, SocketListener)
    return first


def _url(listener: SocketListener) -> str:
    address = listener.extra(SocketAttribute.local_address)
    host, port = (address[0], address[1]) if isinstance(address, tuple) else (address, 0)
    return f"http://[{host}]:{port}" if ":" in str(host) else f"http://{host}:{port}"


def _authorised(scope: Scope, token: str) -> bool:
    """HTTP Basic (any user name, the token as password) or Bearer, compared in constant time."""
    header = dict(scope.get("headers") or ()).get(b"authorization", b"")
    scheme, _, value = header.decode("latin-1").partition(" ")
    given = ""
    if scheme.lower() == "bearer":
        given = value.strip()
    elif scheme.lower() == "basic":
        try:
            given = base64.b64decode(value.strip(), validate=True).decode().partition(":")[2]
        except (ValueError, UnicodeDecodeError):
            return False
    return bool(given) and hmac.compare_digest(given.encode(), token.encode())


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

"""The service commands of the command line: ``alliance-monitor serve`` and ``worker``.

The library's service (`_serve.Service`) and scale-out worker (`adapters.redis_streams`) take
settings and objects; reading options, printing the start-up and exit lines and choosing exit
codes is the command line's part, here.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import anyio

from ._errors import ConfigError
from ._serve import Service
from ._settings import Settings, load_settings
from .scoring._base import Scorer

if TYPE_CHECKING:  # mypy sees the repository layout: the sub-package is `adapters/`
    from adapters.redis_streams import DEFAULT_SHARDS, run_worker
else:
    from .adapters.redis_streams import DEFAULT_SHARDS, run_worker

__all__ = ["cmd_serve", "cmd_worker", "serve_settings"]


def cmd_serve(args: argparse.Namespace) -> int:
    """``alliance-monitor serve [--config FILE] [--host H] [--port P] [--mode M]``.

    Errors at start-up (a state file that is no store or held by another process, a folder that
    takes no writes, a port in use) propagate to the command line, which prints one line and
    exits 2 (configuration) or 4 (a resource that is busy or cannot be reached)."""
    try:
        settings = serve_settings(args, os.environ)
        service = Service(settings, on_ready=_announce, on_board=_announce_board)
    except ConfigError as exc:
        print(f"alliance-monitor serve: config error: {exc}", file=sys.stderr)
        return 2
    # `server.log_level`: the level of the library's records on stderr (`-v` still adds info).
    log = logging.getLogger("alliance_monitor")
    before = log.level
    configured = logging.getLevelName(settings.server.log_level.upper())
    log.setLevel(min(before, configured) if before == logging.INFO else configured)
    try:
        anyio.run(service.run)
    finally:
        log.setLevel(before)
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


def serve_settings(args: argparse.Namespace, environ: Mapping[str, str]) -> Settings:
    """The settings of ``serve``: the file (``--config``, optional), the environment's
    ``ALLIANCE_MONITOR__SECTION__KEY`` variables over it, the command line's options over both."""
    settings = load_settings(getattr(args, "config", None), environ)
    overrides = {
        k: v
        for k, v in (
            ("host", getattr(args, "host", None)),
            ("port", getattr(args, "port", None)),
            ("mode", getattr(args, "mode", None)),
        )
        if v is not None
    }
    if overrides:
        server = settings.server.model_copy(update=overrides)
        settings = settings.model_copy(update={"server": server})
    return settings


def _announce_board(url: str) -> None:
    print(f"alliance-monitor serve: supervisor board on {url}", file=sys.stderr, flush=True)


def _announce(address: str) -> None:
    print(f"alliance-monitor serve: listening on {address}", file=sys.stderr, flush=True)


def cmd_worker(args: argparse.Namespace, *, scorer: Scorer) -> int:
    """`alliance-monitor worker [--config FILE] [--redis URL] [--stream NAME] [--shards N]
    [--consumer NAME] [--store redis://...] [--max-pairs N] [scorer options]`; the CLI builds
    `scorer` from the scorer options.

    The settings file (and the ``ALLIANCE_MONITOR__...`` environment) is serve's: the worker
    reads `[stream]`, `[monitor]` (store, window, session, order, max_pairs, include_text,
    retention), `[alerts]` (which must use the shared `outbox = "redis://..."`) and, with
    `supervisor.enabled`, writes the board records the ingest or board process shows. Command
    line options win over both."""
    settings = load_settings(getattr(args, "config", None), os.environ)
    st, mon = settings.stream, settings.monitor
    redis_url = getattr(args, "redis", None) or st.redis
    stream = getattr(args, "stream", None) or (st.name if st.redis else None)
    if not redis_url or not stream:
        raise ConfigError("a worker needs --redis and --stream (or stream.redis in the settings)")
    store = getattr(args, "store", None) or mon.store
    if store and not store.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError("a worker needs a Redis store (--store redis://...): leases fence it")
    options = _monitor_options(settings)
    if getattr(args, "max_pairs", None):
        options["max_pairs"] = args.max_pairs
    dispatcher = None
    if settings.alerts is not None and settings.alerts.endpoints:
        if not settings.alerts.outbox:
            raise ConfigError(
                "alerts.outbox: workers share one outbox (redis://...), so that an alert is "
                "delivered once across workers"
            )
        from ._serve import _dispatcher

        dispatcher = _dispatcher(settings, os.environ)
    board = None
    if settings.supervisor.enabled:
        from .study import StoredBoard

        board = StoredBoard(include_text=mon.include_text)
    stats = anyio.run(
        lambda: run_worker(
            redis_url,
            stream,
            shards=getattr(args, "shards", None) or st.shards or DEFAULT_SHARDS,
            consumer=getattr(args, "consumer", None),
            scorer=scorer,
            store=store or None,
            lease_ms=st.lease_ms,
            dispatcher=dispatcher,
            board=board,
            retention_days=mon.retention_days,
            retention_check_interval=mon.retention_check_interval,
            **options,
        )
    )
    print(json.dumps(stats, sort_keys=True))
    return 0


def _monitor_options(settings: Settings) -> dict[str, Any]:
    """`Monitor` keywords from `[monitor]` (what a worker's monitor shares with serve's)."""
    from ._config import OrderPolicy, ScoringPolicy, SessionPolicy, WindowPolicy

    m = settings.monitor
    try:
        window = WindowPolicy(**m.window)  # type: ignore[arg-type]
        session = SessionPolicy(**m.session)
        order = OrderPolicy(**m.order)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"monitor.window/session/order: {type(exc).__name__}") from None
    return {
        "window": window,
        "session": session,
        "order": order,
        "include_text": m.include_text,
        "idle_check_interval": m.idle_check_interval,
        "max_pairs": m.max_pairs or None,
        "scoring": ScoringPolicy(workers=m.workers, timeout=m.score_timeout, overload=m.overload),
    }

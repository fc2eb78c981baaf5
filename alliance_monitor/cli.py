"""The `alliance-monitor` command line: analyze, replay, demo."""

from __future__ import annotations

import argparse
import contextlib
import errno
import gc
import io
import json
import logging
import math
import os
import sys
import textwrap
import time
from collections import Counter
from collections.abc import Sequence
from contextlib import AsyncExitStack
from importlib import resources
from typing import IO, Any

from . import __version__
from ._argtypes import (
    choice_list,
    non_negative_float,
    port,
    positive_float,
    positive_int,
)
from ._batch import TranscriptResult, analyze_transcript_async
from ._cli_scoring import add_jobs_arg as _add_jobs_arg
from ._cli_scoring import add_scorer_args as _add_scorer_args
from ._cli_scoring import scorer_from_args as _make_scorer
from ._errors import ConfigError, InvalidMessage, RejectReason, ScorerUnavailable, StoreError
from ._events import EVENT_KINDS, Event, EventType, WindowUnscored
from ._io import Rejection, Transcript, guarded_transcript, read_input
from ._models import timestamp_seconds
from ._progress import Progress as _Progress
from .scoring._base import Scorer, SyncScorer

__all__ = ["main"]


class UsageError(Exception):
    """A user error a command finds after parsing: `main` prints `alliance-monitor COMMAND:
    <message>` on stderr and exits 2 (EXIT_USAGE)."""


class _StderrHandler(logging.Handler):
    """Writes each record to whatever `sys.stderr` is at that moment (tests swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
        except Exception:  # a logging failure must never break the command
            self.handleError(record)


def _configure_logging(verbose: bool) -> logging.Handler:
    """Show the library's log records on stderr, rendered by structlog.

    The CLI is an application, so it may configure logging; the library never does: it only
    logs through `logging.getLogger("alliance_monitor.<area>")`. Records are readable
    key=value lines on a terminal and JSON lines otherwise (for log collectors). Returns the
    handler so `main()` can remove it again (the CLI also runs in-process, in tests).
    """
    handler = _StderrHandler()
    handler.setFormatter(_LazyFormatter(sys.stderr.isatty()))
    log = logging.getLogger("alliance_monitor")
    log.addHandler(handler)
    log.setLevel(logging.INFO if verbose else logging.WARNING)
    return handler


class _LazyFormatter(logging.Formatter):
    """structlog's formatter, built at the first record: a command that logs nothing (a clean
    `analyze` run) does not pay for importing structlog."""

    def __init__(self, tty: bool) -> None:
        super().__init__()
        self._tty = tty
        self._inner: logging.Formatter | None = None

    def format(self, record: logging.LogRecord) -> str:
        if self._inner is None:
            self._inner = _structlog_formatter(self._tty)
        return self._inner.format(record)


def _structlog_formatter(tty: bool) -> logging.Formatter:
    import structlog

    pre_chain: list[Any] = [
        structlog.stdlib.add_log_level,
        structlog.stdlib.ExtraAdder(),
        structlog.processors.TimeStamper(fmt="iso"),
    ]
    renderer: Any = (
        structlog.dev.ConsoleRenderer(colors=False) if tty else structlog.processors.JSONRenderer()
    )
    return structlog.stdlib.ProcessorFormatter(
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            renderer,
        ],
        foreign_pre_chain=pre_chain,
    )


def _unscored_reasons(windows: Any) -> Counter[str]:
    """Reasons of windows the scorer failed on (an honest abstention, insufficient evidence,
    is not a failure)."""
    return Counter(w.reason or "unknown" for w in windows if w.status == "unscored")


def _report_unscored(unscored: Counter[str], total: int, out: IO[str]) -> None:
    if unscored:
        print(
            f"alliance-monitor: {sum(unscored.values())} of {total} window(s) unscored ("
            + "; ".join(f"{v}x {k}" for k, v in sorted(unscored.items()))
            + "); they have no score in the output; --strict makes this an error",
            file=out,
        )


def _write_rejects(path: str | None, rejects: Sequence[Rejection]) -> None:
    if path:
        with open(path, "w", encoding="utf-8") as f:
            for r in rejects:
                f.write(json.dumps(r.to_json()) + "\n")


def _report_rejects(rejects: Sequence[Rejection], out: IO[str]) -> None:
    if not rejects:
        return
    by = Counter(r.reason.value for r in rejects)
    print(
        f"rejected {len(rejects)} record(s): "
        + ", ".join(f"{k}={v}" for k, v in sorted(by.items())),
        file=out,
    )


# ---------------------------------------------------------------------- analyze
def cmd_analyze(args: argparse.Namespace) -> int:
    from ._io import iter_lines

    scorer = _make_scorer(args)
    rejects: list[Rejection] = []
    progress = _Progress("analyze")
    n_conv = n_msgs = dupes = n_windows = 0
    unscored: Counter[str] = Counter()
    started = time.perf_counter()
    out = sys.stdout if args.output == "-" else open(args.output, "w", encoding="utf-8")  # noqa: SIM115
    try:
        if isinstance(scorer, SyncScorer):
            from ._batch_lines import analyze_file
            from ._parallel import available_cores

            for line in analyze_file(
                args.input,
                scorer,
                jobs=args.jobs or available_cores(),
                tolerance=args.trajectory_tolerance,
            ):
                rejects.extend(line.rejects)
                if line.record is None:
                    continue
                n_windows += line.windows
                unscored += line.unscored
                out.write(line.record + "\n")
                n_conv += 1
                n_msgs += line.messages
                dupes += line.duplicates
                progress.step()
        else:
            transcripts: list[Transcript] = []
            for n, obj in iter_lines(args.input):
                tr = _transcript_or_reject(n, obj, rejects)
                if tr is not None:
                    transcripts.append(tr)
            import anyio  # an async scorer only (the embedded scorer's batch path needs none)

            results = anyio.run(_analyze_async, transcripts, scorer, args, progress)
            scored_windows: list[Any] = []
            for tr, maybe in zip(transcripts, results, strict=True):
                if maybe is None:  # an unexpected error on this transcript: its line only
                    rejects.append(
                        Rejection(tr.line, RejectReason.INTERNAL_ERROR, None, tr.conversation_id)
                    )
                    continue
                n_windows += len(maybe.windows)
                scored_windows.extend(maybe.windows)
                unscored += _unscored_reasons(maybe.windows)
                out.write(json.dumps(maybe.to_json()) + "\n")
                n_conv += 1
                n_msgs += len(tr.messages)
                dupes += tr.duplicates
    finally:
        gc.unfreeze()
        if out is not sys.stdout:
            out.close()
        progress.done()
    elapsed = time.perf_counter() - started
    _write_rejects(args.rejects, rejects)
    print(
        f"analyzed {n_conv} conversation(s), {n_msgs} message(s) in {elapsed:.2f}s"
        + (f", {dupes} duplicate message(s) ignored" if dupes else ""),
        file=sys.stderr,
    )
    _report_rejects(rejects, sys.stderr)
    if not isinstance(scorer, SyncScorer):
        _report_windows(scorer, scored_windows, elapsed, sys.stderr)
    _report_unscored(unscored, n_windows, sys.stderr)
    return 2 if (args.strict and (rejects or unscored)) else 0


def _report_windows(scorer: Scorer, windows: Sequence[Any], elapsed: float, out: IO[str]) -> None:
    """One line for a scorer that calls a model: windows scored, seconds and tokens per window
    (the tokens of the windows the model was asked about)."""
    if not windows:
        return
    n = len(windows)
    scored = sum(1 for w in windows if w.status == "scored")
    asked = [w for w in windows if w.prompt_tokens or w.completion_tokens]
    line = (
        f"{scorer.name}: {scored} of {n} window(s) scored ({scored / n:.0%}), "
        f"{elapsed / n:.1f} s per window"
    )
    if asked:
        prompt = sum(w.prompt_tokens or 0 for w in asked) / len(asked)
        completion = sum(w.completion_tokens or 0 for w in asked) / len(asked)
        line += (
            f"; {len(asked)} sent to the model, {prompt:,.0f} prompt + {completion:,.0f} "
            "completion tokens each"
        )
    print(line, file=out)


def _transcript_or_reject(n: int, obj: Any, rejects: list[Rejection]) -> Transcript | None:
    if isinstance(obj, InvalidMessage):
        rejects.append(Rejection(n, obj.reason))
        return None
    return guarded_transcript(n, obj, rejects)


async def _analyze_async(
    transcripts: list[Transcript], scorer: Scorer, args: argparse.Namespace, progress: _Progress
) -> list[TranscriptResult | None]:
    """One result per transcript, None where its analysis raised (a bug: the others go on)."""
    import anyio

    results: list[TranscriptResult | None] = [None] * len(transcripts)
    limiter = anyio.CapacityLimiter(max(1, args.concurrency))

    async def one(i: int, tr: Transcript) -> None:
        async with limiter:
            try:
                results[i] = await analyze_transcript_async(
                    tr.conversation_id,
                    tr.messages,
                    scorer,
                    trajectory_tolerance=args.trajectory_tolerance,
                    score_timeout=args.score_timeout,
                )
            except Exception as exc:  # the type only: its message may hold the input
                _log_cli_error(type(exc).__name__)
            progress.step()

    try:
        async with anyio.create_task_group() as tg:
            for i, tr in enumerate(transcripts):
                tg.start_soon(one, i, tr)
    finally:
        await scorer.aclose()
    return results


def _log_cli_error(error: str) -> None:
    logging.getLogger("alliance_monitor.cli").error(
        "alliance_monitor.analyze_internal_error", extra={"error": error}
    )


# ---------------------------------------------------------------------- replay
def format_event(ev: Event) -> str:
    """One readable line (plus feedback lines) for an event: its class renders it."""
    return ev.line()


def _replay_messages(path: str, rejects: list[Rejection]) -> list[dict[str, Any]]:
    transcripts, singles, file_rejects = read_input(path)
    rejects.extend(file_rejects)
    msgs: list[tuple[float, int, dict[str, Any]]] = []
    order = 0
    for tr in transcripts:
        for m in tr.messages:
            msgs.append((m.ts, order, m.model_dump()))
            order += 1
    for _n, obj in singles:
        # Only the sort key is needed here: what the monitor will reject sorts first.
        key = timestamp_seconds(obj.get("ts")) if isinstance(obj, dict) else None
        msgs.append((0.0 if key is None else key, order, obj))
        order += 1
    msgs.sort(key=lambda t: (t[0], t[1]))
    return [m for _, _, m in msgs]


async def _replay(
    messages: list[Any],
    scorer: Scorer,
    *,
    as_json: bool,
    include_text: bool,
    out: IO[str],
    types: set[str] | None,
    store: str | None = None,
    max_pairs: int | None = None,
    end_sessions: bool = True,
    alerts: _AlertOptions | None = None,
    feedback_writer: Any = None,
    score_timeout: float | None = None,
) -> dict[str, Any]:
    from ._config import ScoringPolicy
    from ._monitor import Monitor
    from .store import open_store

    monitor = Monitor(
        scorer=scorer,
        store=open_store(store) if store else None,
        feedback_writer=feedback_writer,
        include_text=include_text,
        scoring=ScoringPolicy(overload="wait", timeout=_window_time_limit(scorer, score_timeout)),
        max_pairs=max_pairs,
        idle_check_interval=None,
    )
    unscored: Counter[str] = Counter()

    def count_unscored(ev: Event) -> None:
        if isinstance(ev, WindowUnscored) and ev.reason != "insufficient_evidence":
            unscored[ev.reason] += 1

    def show(ev: Event) -> None:
        if types is not None and ev.type.value not in types:
            return
        if as_json:
            out.write(ev.model_dump_json() + "\n")
        else:
            out.write(format_event(ev) + "\n")
        out.flush()

    progress = _Progress("replay", len(messages))
    async with AsyncExitStack() as stack:
        dispatcher = await stack.enter_async_context(alerts.dispatcher()) if alerts else None
        await stack.enter_async_context(monitor)
        monitor.on(show)
        monitor.on(count_unscored)
        if dispatcher is not None:
            monitor.on(dispatcher.submit)
        for m in messages:
            await monitor.ingest(m)
            progress.step()
        if end_sessions:
            await monitor.end_all_sessions()
        await monitor.flush()
        progress.done()
        stats = monitor.stats()
        stats["unscored_by_reason"] = dict(unscored)
        if dispatcher is not None and alerts is not None:
            drained = await dispatcher.drain(alerts.drain_timeout)
            ds = dispatcher.stats()
            stats["alerts_drained"] = drained
            stats["alerts"] = ds
    return stats


def _window_time_limit(scorer: Scorer, given: float | None) -> float:
    """Seconds one window may take in `replay`: `--score-timeout`, else 120 for the offline
    scorer and no limit for a model-backed one, whose client bounds each call itself (a deadline
    from the server's measured speed); a window waiting for a busy local server is not lost."""
    if given is not None:
        return given
    return 120.0 if isinstance(scorer, SyncScorer) else math.inf


class _AlertOptions:
    """Webhook endpoints from the command line (`--webhook URL --webhook-secret whsec_...`)."""

    def __init__(self, args: argparse.Namespace) -> None:
        from ._errors import ConfigError
        from .alerts import WebhookEndpoint

        urls: list[str] = args.webhook or []
        secrets: list[str] = list(args.webhook_secret or [])
        for name in getattr(args, "webhook_secret_env", None) or []:
            value = os.environ.get(name)
            if not value:
                raise UsageError(f"environment variable {name} is not set")
            secrets.append(value)
        if secrets and len(secrets) not in (1, len(urls)):
            raise UsageError("give one --webhook-secret for all --webhook URLs, or one each")
        fmt = args.webhook_format
        if fmt == "standard" and not secrets:
            raise UsageError(
                "--webhook needs --webhook-secret-env NAME (or --webhook-secret whsec_...)"
            )
        try:
            self.endpoints = [
                WebhookEndpoint(
                    url,
                    secrets=[secrets[i if len(secrets) > 1 else 0]] if secrets else [],
                    format=fmt,
                )
                for i, url in enumerate(urls)
            ]
        except ConfigError as exc:  # never echoes a secret
            raise UsageError(str(exc)) from None
        self.allow_private = bool(getattr(args, "allow_private_webhooks", False))
        self.check()
        self.outbox = args.outbox
        self.drain_timeout = args.drain_timeout
        self.include_text = args.include_text

    def check(self) -> None:
        """Refuse internal webhook targets up front (before any input is read)."""
        from .alerts import AlertDispatcher

        try:
            AlertDispatcher(self.endpoints, allow_private=self.allow_private)
        except ConfigError as exc:
            raise UsageError(f"{exc}; pass --allow-private-webhooks for a local receiver") from None

    def dispatcher(self) -> Any:
        from .alerts import AlertDispatcher

        return AlertDispatcher(
            self.endpoints,
            outbox_path=self.outbox,
            include_text=self.include_text,
            allow_private=self.allow_private,
        )


def cmd_replay(args: argparse.Namespace) -> int:
    rejects: list[Rejection] = []
    alerts = _AlertOptions(args) if args.webhook else None
    messages = _replay_messages(args.input, rejects)
    scorer = _make_scorer(args)
    writer = None
    if args.llm_feedback:
        from .scoring._factory import make_feedback_writer

        writer = make_feedback_writer(
            base_url=args.llm_base_url,
            model=args.llm_model,
            **({"api_key_env": args.llm_api_key_env} if args.llm_api_key_env else {}),
            **({"output_language": args.llm_language} if args.llm_language else {}),
        )
    types = set(args.events) if args.events else None
    import anyio

    stats = anyio.run(
        lambda: _replay(
            messages,
            scorer,
            as_json=args.json,
            include_text=args.include_text,
            out=sys.stdout,
            types=types,
            store=args.store,
            max_pairs=args.max_pairs,
            end_sessions=not args.keep_open,
            alerts=alerts,
            feedback_writer=writer,
            score_timeout=args.score_timeout,
        )
    )
    _report_rejects(rejects, sys.stderr)
    rej = stats.get("rejected_by_reason", {})
    print(
        f"replayed {stats.get('messages_in', 0)} message(s): {stats.get('accepted', 0)} "
        f"accepted, {stats.get('duplicates', 0)} duplicate, {sum(rej.values())} rejected"
        + (f" ({', '.join(f'{k}={v}' for k, v in sorted(rej.items()))})" if rej else "")
        + f"; {stats.get('windows_scored', 0)} window(s) scored",
        file=sys.stderr,
    )
    unscored = Counter(stats.get("unscored_by_reason", {}))
    n_windows = stats.get("windows_scored", 0) + sum(unscored.values())
    _report_unscored(unscored, n_windows, sys.stderr)
    if alerts is not None:
        ds = stats["alerts"]
        print(
            f"alerts: {ds.delivered} delivered, {ds.pending} pending, {ds.failed} failed, "
            f"{ds.disabled} parked, {sum(ds.suppressed.values())} suppressed by policy",
            file=sys.stderr,
        )
        where = f" (they stay in {args.outbox})" if args.outbox else " (the outbox is in memory: "
        where += "" if args.outbox else "they are lost; use --outbox FILE)"
        bad = False
        if ds.disabled:
            print(
                f"alliance-monitor: {ds.disabled} alert(s) parked, not delivered: endpoint(s) "
                f"{', '.join(ds.disabled_endpoints) or '?'} answered 410 Gone and were disabled"
                + where,
                file=sys.stderr,
            )
            bad = True
        if ds.failed:
            print(
                f"alliance-monitor: {ds.failed} alert(s) failed: retries ran out" + where,
                file=sys.stderr,
            )
            bad = True
        if not stats["alerts_drained"]:
            print(
                f"alliance-monitor: {ds.pending + ds.held} alert(s) still pending: the outbox did "
                "not drain before --drain-timeout" + where,
                file=sys.stderr,
            )
            bad = True
        if bad:
            return 3
    return 2 if (args.strict and (rejects or rej or unscored)) else 0


# ---------------------------------------------------------------------- demo
#: What the demo shows: the notable event types, not every scored window.
_DEMO_TYPES = frozenset(t for t, kind in EVENT_KINDS.items() if kind.notable)


def cmd_demo(args: argparse.Namespace) -> int:
    import anyio

    from . import _demo
    from ._events import event_adapter
    from .scoring._embedded import EmbeddedScorer

    data = resources.files("alliance_monitor").joinpath("demo_data/demo.jsonl")
    with resources.as_file(data) as path:
        rejects: list[Rejection] = []
        messages = _replay_messages(str(path), rejects)
    pairs = sorted({m["conversation_id"] for m in messages})
    captured = io.StringIO()
    stats = anyio.run(
        lambda: _replay(
            messages,
            EmbeddedScorer(),
            as_json=True,
            include_text=False,
            out=captured,
            types=None if args.all else set(_DEMO_TYPES),
        )
    )
    lines = captured.getvalue().splitlines()
    if args.json:
        sys.stdout.write("".join(line + "\n" for line in lines))
        return 0
    events = [event_adapter.validate_json(line) for line in lines]
    intro = (
        f"alliance-monitor demo: {len(pairs)} counselor-client conversations we wrote ourselves "
        f"({stats.get('accepted', 0)} messages), replayed through the live monitor with the "
        "offline scorer; nothing leaves this machine. Each conversation is rated in stretches "
        "of about six exchanges, from 1 (weak) to 5 (strong), on goal, task and bond. Pairs that "
        "need attention come first. The same events as JSON: --json; every stretch's scores: "
        "--all."
    )
    print(textwrap.fill(intro, width=96) + "\n")
    emphasis = sys.stdout.isatty() and not os.environ.get("NO_COLOR")
    sys.stdout.write(_demo.render(events, emphasis=emphasis, show_windows=args.all))
    return 0


# ---------------------------------------------------------------------- sample
#: Conversations written for the project, with the writers' own labels (docs/sample.md).
SAMPLE = "demo_data/sample.jsonl"


def cmd_sample(args: argparse.Namespace) -> int:
    data = resources.files("alliance_monitor").joinpath(SAMPLE).read_bytes()
    n = data.count(b"\n")
    if args.output == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        with open(args.output, "wb") as f:
            f.write(data)
        print(
            f"wrote {n} sample conversations (written for alliance-monitor, with labels) to "
            f"{args.output}",
            file=sys.stderr,
        )
    return EXIT_OK


def _cmd_worker(args: argparse.Namespace) -> int:
    from ._cli_service import cmd_worker

    return cmd_worker(args, scorer=_make_scorer(args))


def _cmd_serve(args: argparse.Namespace) -> int:
    from ._cli_service import cmd_serve

    return cmd_serve(args)


# ---------------------------------------------------------------------- main
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="alliance-monitor",
        description="Watch the therapeutic alliance of counselor-client pairs.",
    )
    p.add_argument("--version", action="version", version=f"alliance-monitor {__version__}")
    p.add_argument("-v", "--verbose", action="store_true", help="info-level logs on stderr")
    sub = p.add_subparsers(dest="command", required=True)

    a = sub.add_parser("analyze", help="batch-score transcripts (JSONL, one conversation a line)")
    a.add_argument("input", help="transcript JSONL file, or - for stdin")
    a.add_argument("--output", "-o", required=True, help="output JSONL file, or - for stdout")
    a.add_argument("--rejects", help="write rejected records (line, reason, ids; no text) here")
    a.add_argument(
        "--strict",
        action="store_true",
        help="exit 2 if a line was rejected or a window could not be scored",
    )
    a.add_argument(
        "--score-timeout",
        type=positive_float,
        default=None,
        help="seconds allowed to score one window; beyond, it is unscored (scorer_timeout)",
    )
    a.add_argument(
        "--trajectory-tolerance",
        type=non_negative_float,
        default=0.25,
        help="|late - early| below this many levels is 'unchanged' (default 0.25)",
    )
    a.add_argument(
        "--concurrency", type=positive_int, default=4, help="conversations scored at once (LLM)"
    )
    _add_jobs_arg(a)
    _add_scorer_args(a)
    a.set_defaults(func=cmd_analyze)

    r = sub.add_parser("replay", help="stream messages through the live monitor, print events")
    r.add_argument("input", help="JSONL of transcripts or of single messages, or - for stdin")
    r.add_argument("--json", action="store_true", help="print events as JSONL")
    r.add_argument(
        "--events",
        type=choice_list([t.value for t in EventType], "event type"),
        help="comma-separated event types to print (default: all): "
        + ", ".join(t.value for t in EventType),
    )
    r.add_argument(
        "--include-text",
        action="store_true",
        help="allow short message excerpts in feedback (off by default: privacy)",
    )
    r.add_argument(
        "--strict",
        action="store_true",
        help="exit 2 if anything was rejected or a window could not be scored (alerts that "
        "were not delivered always exit 3)",
    )
    r.add_argument(
        "--score-timeout",
        type=positive_float,
        default=None,
        help="seconds allowed to score one window; beyond, it is unscored (default 120 for the "
        "offline scorer; none for llm and cascade, whose calls have their own deadlines)",
    )
    r.add_argument(
        "--store",
        help="state store URL: memory://, sqlite:///path/state.db, "
        "redis://host:port/db (state survives restarts; re-delivered messages are "
        "absorbed)",
    )
    r.add_argument(
        "--max-pairs",
        type=positive_int,
        default=None,
        help="keep at most this many pairs in memory; idle ones go to the store",
    )
    w = r.add_argument_group("webhook alerts")
    w.add_argument(
        "--webhook", action="append", metavar="URL", help="deliver alerts here (repeatable)"
    )
    w.add_argument(
        "--webhook-secret",
        action="append",
        metavar="whsec_...",
        help="signing secret: one for all endpoints, or one per --webhook, in order (visible in "
        "the process list: prefer --webhook-secret-env)",
    )
    w.add_argument(
        "--webhook-secret-env",
        action="append",
        metavar="NAME",
        help="environment variable holding a signing secret (repeatable, like --webhook-secret)",
    )
    w.add_argument(
        "--allow-private-webhooks",
        action="store_true",
        help="allow webhook URLs on loopback, private or link-local addresses (local "
        "development; refused by default against SSRF)",
    )
    w.add_argument(
        "--webhook-format",
        choices=("standard", "slack", "teams"),
        default="standard",
        help="payload format (default: Standard Webhooks JSON, signed)",
    )
    w.add_argument("--outbox", help="SQLite file for the durable alert outbox (default: memory)")
    w.add_argument(
        "--drain-timeout",
        type=non_negative_float,
        default=60.0,
        help="seconds to wait for the outbox to drain before exiting (default 60; exit 3 if not)",
    )
    r.add_argument(
        "--keep-open",
        action="store_true",
        help="do not end sessions at the end of the input (resume them later with --store)",
    )
    _add_scorer_args(r)
    r.set_defaults(func=cmd_replay)

    from .study._cli import cmd_study, configure_parser

    st = sub.add_parser("study", help="paper-style study of a corpus: tables and report.html")
    configure_parser(st)
    st.set_defaults(func=cmd_study)

    from .evaluate._cli import cmd_evaluate
    from .evaluate._cli import configure_parser as configure_evaluate

    ev = sub.add_parser("evaluate", help="agreement of a scorer with labels in the input")
    configure_evaluate(ev)
    ev.set_defaults(func=cmd_evaluate)

    sv = sub.add_parser("serve", help="run the standalone service (adapters, monitor, alerts)")
    sv.add_argument(
        "--config",
        default=None,
        help="TOML configuration file (settings may also come from ALLIANCE_MONITOR__SECTION__KEY "
        "environment variables, which take precedence over the file)",
    )
    sv.add_argument("--host", default=None, help="override the configured host")
    sv.add_argument("--port", type=port, default=None, help="override the configured port")
    sv.add_argument(
        "--mode",
        choices=("all", "ingest", "board"),
        default=None,
        help="all (default): one process does everything; ingest: adapters publish to the "
        "Redis stream of [stream] for `worker` processes; board: only the supervisor board "
        "of the workers' pairs (server.mode)",
    )
    sv.set_defaults(func=_cmd_serve)

    wk = sub.add_parser("worker", help="one scale-out worker reading a sharded Redis stream")
    wk.add_argument(
        "--config",
        default=None,
        help="serve's TOML settings ([stream], [monitor], [alerts], [supervisor]; "
        "ALLIANCE_MONITOR__SECTION__KEY variables too)",
    )
    wk.add_argument("--redis", default=None, help="redis://host:port/db of the streams")
    wk.add_argument("--stream", default=None, help="stream name (shards are NAME:{k})")
    wk.add_argument(
        "--shards", type=positive_int, default=None, help="number of stream shards (16)"
    )
    wk.add_argument("--consumer", default=None, help="consumer name (default: host-pid)")
    wk.add_argument(
        "--store", default=None, help="state store: redis://... (default: the same Redis)"
    )
    wk.add_argument("--max-pairs", type=positive_int, default=None, help="pairs kept in memory")
    _add_scorer_args(wk)
    wk.set_defaults(func=_cmd_worker)

    sm = sub.add_parser(
        "sample",
        help="write the bundled sample transcripts (with labels), for trying "
        "analyze, replay, study and evaluate",
    )
    sm.add_argument("--output", "-o", default="-", help="file to write, or - for stdout (default)")
    sm.set_defaults(func=cmd_sample)

    d = sub.add_parser("demo", help="replay bundled example conversations and show the alerts")
    d.add_argument("--all", action="store_true", help="also show every window score")
    d.add_argument("--json", action="store_true", help="print events as JSONL")
    d.set_defaults(func=cmd_demo)
    return p


#: Exit codes of every command (README, "Exit codes").
EXIT_OK = 0
EXIT_BUG = 1  # an unexpected error: a bug, reported with its traceback
EXIT_USAGE = 2  # bad arguments, configuration or input (and --strict with rejected records)
EXIT_PENDING = 3  # replay: alerts still undelivered when --drain-timeout passed
EXIT_UNAVAILABLE = 4  # a server could not be reached or a port bound (LLM, Redis, busy port)
EXIT_INTERRUPTED = 130

#: Optional dependencies by the module a missing one leaves unimportable.
_EXTRAS = {
    "redis": "redis",
    "uvicorn": "serve",
    "aiokafka": "kafka",
    "nio": "matrix",
    "presidio_analyzer": "presidio",
    "presidio_anonymizer": "presidio",
}


def _leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for sub in exc.exceptions for leaf in _leaves(sub)]
    return [exc]


def _explain_one(exc: BaseException) -> tuple[str, int] | None:
    if isinstance(exc, UsageError):
        return str(exc), EXIT_USAGE
    if isinstance(exc, ConfigError):
        return f"configuration error: {exc}", EXIT_USAGE
    if isinstance(exc, ModuleNotFoundError) and (exc.name or "").split(".")[0] in _EXTRAS:
        extra = _EXTRAS[(exc.name or "").split(".")[0]]
        return (
            f"this needs the optional dependency {exc.name!r}: "
            f"pip install 'alliance-monitor[{extra}]'",
            EXIT_USAGE,
        )
    if isinstance(exc, FileNotFoundError):
        return f"no such file or folder: {exc.filename}", EXIT_USAGE
    if isinstance(exc, IsADirectoryError):
        return f"a folder, not a file: {exc.filename}", EXIT_USAGE
    if isinstance(exc, PermissionError):
        return f"permission denied: {exc.filename}", EXIT_USAGE
    if isinstance(exc, UnicodeDecodeError):  # the offending bytes are input: never shown
        return "the input is not UTF-8 text", EXIT_USAGE
    if isinstance(exc, OSError) and exc.errno == errno.EADDRINUSE:
        return (
            "the address is already in use: another process listens on that port "
            "(choose another with --port)",
            EXIT_UNAVAILABLE,
        )
    if isinstance(exc, ScorerUnavailable | StoreError):
        return str(exc), EXIT_UNAVAILABLE
    httpx = sys.modules.get("httpx")  # not imported: no httpx error can have been raised
    transport: Any = httpx.TransportError if httpx is not None else ConnectionError
    unreachable = isinstance(exc, (ConnectionError, TimeoutError, transport)) or (
        type(exc).__module__.startswith("redis")
        and type(exc).__name__ in ("ConnectionError", "TimeoutError", "AuthenticationError")
    )
    if unreachable:  # connection errors name hosts and ports, never message text
        return f"cannot reach a server: {type(exc).__name__}: {exc}", EXIT_UNAVAILABLE
    return None


def explain_error(exc: BaseException) -> tuple[str, int] | None:
    """One line and an exit code for an error a user can cause (a missing file, a bad setting,
    an unreachable server, a busy port, a missing extra), or None for a bug."""
    for leaf in _leaves(exc):
        found = _explain_one(leaf)
        if found is not None:
            return found
    return None


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = _configure_logging(args.verbose)
    try:
        rc: int = args.func(args)
    except KeyboardInterrupt:  # pragma: no cover
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader went away (`| head`): nothing more to say
        with contextlib.suppress(OSError, ValueError, io.UnsupportedOperation):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK
    except Exception as exc:
        found = explain_error(exc)
        if found is None:
            raise  # a bug: the traceback is the report
        line, code = found
        print(f"alliance-monitor {args.command}: {line}", file=sys.stderr)
        return code
    finally:
        logging.getLogger("alliance_monitor").removeHandler(handler)
    return rc


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""Alert latency: from `monitor.ingest()` of the message that triggers an alert to the alert's
arrival at a real webhook receiver on loopback (signature verified), p50/p95 over many alerts.

    .venv/bin/python benchmarks/alert_latency.py                 # durable outbox file (fsync)
    .venv/bin/python benchmarks/alert_latency.py --outbox memory
    .venv/bin/python benchmarks/alert_latency.py --pairs 80 --pace 0.01

Each pair is a short conversation with minimal, passive counselor replies (which the embedded
scorer flags as a passive-response pattern when a window closes) and one client message with a
risk phrase (a safety signal, raised at ingest). Messages carry distinct platform timestamps, and
every alert carries the timestamp of the message that caused it, so each arrival is matched to
the ingest of its trigger. Pattern latency includes closing the window and scoring it with the
embedded scorer; safety latency is ingest -> safety scan -> outbox commit -> HTTP delivery.

With `--dispatcher-only` (or if `alliance_monitor.Monitor` is not available) the script measures
the safety path through the dispatcher alone (scan_risk + submit + delivery) and says so.
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import structlog

from alliance_monitor._events import Event, EventType, SafetySignal, make_event_id
from alliance_monitor._safety import scan_risk
from alliance_monitor.alerts import (
    AlertDispatcher,
    AlertPolicy,
    WebhookEndpoint,
    generate_webhook_secret,
)
from alliance_monitor.alerts.testing import LoopbackReceiver

CLIENT = [
    "I feel so alone since the breakup, I can't sleep at all.",
    "My mother keeps telling me it was my fault and I believe her.",
    "I cried all night again and I don't know why I even bother trying.",
    "Work is falling apart too, my boss yelled at me in front of everyone.",
]
COUNSELOR = ["ok", "I see", "mm ok", "right"]
RISK = "honestly some nights I just want to kill myself"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def summary(name: str, values: list[float]) -> dict[str, Any]:
    ms = [v * 1000 for v in values]
    if not ms:
        return {"kind": name, "n": 0}
    return {
        "kind": name,
        "n": len(ms),
        "p50_ms": round(statistics.median(ms), 2),
        "p95_ms": round(percentile(ms, 95), 2),
        "max_ms": round(max(ms), 2),
    }


def conversation(conv: str, start_ts: float) -> list[dict[str, Any]]:
    msgs: list[dict[str, Any]] = []
    ts = start_ts
    for _round in range(3):
        for client, counselor in zip(CLIENT, COUNSELOR, strict=True):
            for role, text in (("client", client), ("counselor", counselor)):
                ts += 1.0
                msgs.append({"conversation_id": conv, "id": f"{conv}:{len(msgs)}", "role": role,
                             "text": text, "ts": ts, "counselor_id": "u1"})  # fmt: skip
        if _round == 1:
            ts += 1.0
            msgs.append({"conversation_id": conv, "id": f"{conv}:{len(msgs)}", "role": "client",
                         "text": RISK, "ts": ts, "counselor_id": "u1"})  # fmt: skip
    return msgs


class Timed:
    """Wraps `dispatcher.submit` to time the handler (the part that runs on the ingest side)."""

    def __init__(self, submit: Callable[[Event], Any]) -> None:
        self.submit = submit
        self.seconds: list[float] = []

    async def __call__(self, event: Event) -> None:
        start = time.perf_counter()
        await self.submit(event)
        self.seconds.append(time.perf_counter() - start)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    secret = generate_webhook_secret()
    tmp = tempfile.TemporaryDirectory()
    outbox = None if args.outbox == "memory" else str(Path(tmp.name) / "outbox.db")
    ingest_at: dict[tuple[str, float], float] = {}
    kind_of: dict[str, str] = {}
    monitor_cls: Any = None
    try:
        from alliance_monitor import Monitor, WindowPolicy

        monitor_cls = None if args.dispatcher_only else Monitor
    except ImportError:
        pass
    async with LoopbackReceiver([secret]) as rx:
        endpoint = WebhookEndpoint(rx.url, [secret], name="bench")
        policy = AlertPolicy(cooldown=0)
        async with AlertDispatcher(
            [endpoint], outbox_path=outbox, policy=policy, retry_schedule=(0, 0.05, 0.5)
        ) as dispatcher:
            timed = Timed(dispatcher.submit)
            if monitor_cls is not None:
                mode = "monitor (embedded scorer) -> dispatcher -> loopback receiver"
                monitor = monitor_cls(window=WindowPolicy(max_exchanges=4))
                async with monitor:
                    monitor.on(timed, types=[t.value for t in EventType])
                    limiter = anyio.Semaphore(args.concurrency)

                    async def feed(conv: str, start_ts: float) -> None:
                        async with limiter:
                            for msg in conversation(conv, start_ts):
                                ingest_at[(conv, msg["ts"])] = time.monotonic()
                                await monitor.ingest(msg)
                                await anyio.sleep(args.pace)

                    async with anyio.create_task_group() as tg:
                        for p in range(args.pairs):
                            tg.start_soon(feed, f"pair{p}", 1_700_000_000.0 + p * 1000)
                    await monitor.flush()  # every closed window scored, every event emitted
                    await dispatcher.drain(30)
            else:
                mode = "dispatcher only (no Monitor): scan_risk -> submit -> loopback receiver"
                for p in range(args.pairs):
                    conv, ts = f"pair{p}", 1_700_000_000.0 + p
                    ingest_at[(conv, ts)] = time.monotonic()
                    hit = scan_risk(RISK)
                    assert hit is not None
                    await timed(
                        SafetySignal(
                            id=make_event_id(EventType.SAFETY_SIGNAL, conv, ts),
                            conversation_id=conv,
                            ts=ts,
                            message_id=f"{conv}:m",
                            category=hit.category,
                            cues=hit.cues,
                        )
                    )
                    await anyio.sleep(args.pace)
                await dispatcher.drain(30)
            stats = dispatcher.stats()
    tmp.cleanup()
    latencies: dict[str, list[float]] = {}
    for delivery in rx.processed.values():
        data = json.loads(delivery.body)["data"]
        key = (data["conversation_id"], data.get("ts"))
        if key not in ingest_at:
            continue
        kind = data["type"]
        kind_of[delivery.id or ""] = kind
        latencies.setdefault(kind, []).append(delivery.at - ingest_at[key])
    every = [v for vs in latencies.values() for v in vs]
    scan_us = _scan_cost()
    return {
        "mode": mode,
        "outbox": args.outbox,
        "pairs": args.pairs,
        "alerts_received": len(rx.processed),
        "invalid_signatures": len(rx.invalid),
        "duplicates_at_receiver": rx.duplicates,
        "delivered": stats.delivered,
        "failed": stats.failed,
        "latency": [summary("all", every)] + [summary(k, v) for k, v in sorted(latencies.items())],
        "submit_handler": summary("dispatcher.submit", timed.seconds),
        "scan_risk_us_per_message": scan_us,
    }


def _scan_cost() -> dict[str, float]:
    texts = [*CLIENT, *COUNSELOR, RISK]
    n = 2000
    start = time.perf_counter()
    for _ in range(n):
        for text in texts:
            scan_risk(text)
    typical = (time.perf_counter() - start) / (n * len(texts)) * 1e6
    big = "I had an ordinary day at work and then went home. " * 20_000  # ~1 MB
    start = time.perf_counter()
    scan_risk(big)
    return {
        "typical_message": round(typical, 1),
        "one_MB_message": round((time.perf_counter() - start) * 1e6),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--pairs", type=int, default=40)
    parser.add_argument(
        "--pace", type=float, default=0.01, help="seconds between a pair's messages"
    )
    parser.add_argument("--concurrency", type=int, default=8, help="pairs talking at once")
    parser.add_argument("--outbox", choices=["file", "memory"], default="file")
    parser.add_argument(
        "--dispatcher-only", action="store_true", help="measure the safety path without a Monitor"
    )
    args = parser.parse_args()
    # A script may configure logging (the library never does): keep warnings and errors only.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    result = anyio.run(run, args)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

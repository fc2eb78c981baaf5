"""What the service's latency histograms and spans cost on the ingest path.

    .venv/bin/python benchmarks/telemetry.py [--messages 20000] [--repeat 5]

Ingests the same messages (the AnnoMI sample in tests/data, repeated under new ids) into three
monitors in one run, each with a static scorer so scoring stays off the measurement:
a plain `Monitor`; the service's timed monitor with `Telemetry(tracing=False)` (histograms only);
with `Telemetry()` (histograms, spans around scoring: the default of `serve`); and with
`trace_ingest=True` (plus a span per ingest: a no-op span unless an SDK is configured). Prints microseconds
per ingest (best of --repeat) and the ratios to the plain monitor.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import anyio

from alliance_monitor import Monitor, ScoringPolicy
from alliance_monitor._serve import _TimedMonitor
from alliance_monitor._telemetry import Telemetry, otel_available
from alliance_monitor.testing import StaticScorer

SAMPLE = Path(__file__).resolve().parent.parent / "tests" / "data" / "annomi_sample.jsonl"


def messages(n: int) -> list[dict[str, Any]]:
    base = [
        {**m, "conversation_id": c["conversation_id"]}
        for line in SAMPLE.read_text(encoding="utf-8").splitlines()
        for c in [json.loads(line)]
        for m in c["messages"]
    ]
    out = []
    for i in range(n):
        m = base[i % len(base)]
        rep = i // len(base)
        out.append(
            {
                "conversation_id": f"{m['conversation_id']}-{rep}",
                "id": f"{m['id']}-{rep}",
                "role": m["role"],
                "text": m["text"],
                "ts": m["ts"],
            }
        )
    return out


async def run(kind: str, msgs: list[dict[str, Any]]) -> float:
    scorer = StaticScorer(3.0)
    if kind == "plain":
        monitor: Monitor = Monitor(
            scorer=scorer, idle_check_interval=None, scoring=ScoringPolicy(overload="wait")
        )
    else:
        t = Telemetry(tracing=kind != "histograms", trace_ingest=kind == "+ingest spans")
        timed = _TimedMonitor(
            scorer=t.instrument(scorer),
            idle_check_interval=None,
            scoring=ScoringPolicy(overload="wait"),
        )
        timed.telemetry = t
        monitor = timed
    async with monitor:
        started = time.perf_counter()
        for m in msgs:
            await monitor.ingest(m)
        elapsed = time.perf_counter() - started
    return elapsed / len(msgs) * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    msgs = messages(args.messages)
    kinds = ("plain", "histograms", "histograms+spans", "+ingest spans")
    best = {k: float("inf") for k in kinds}
    for _ in range(args.repeat):
        for k in kinds:  # interleaved, so drift on a shared machine hits all three alike
            best[k] = min(best[k], anyio.run(run, k, msgs))
    print(
        f"ingest, {args.messages} messages, best of {args.repeat}; "
        f"opentelemetry-api installed: {otel_available()}"
    )
    for k in kinds:
        print(f"  {k:18s} {best[k]:7.2f} us/ingest   ratio {best[k] / best['plain']:.2f}")


if __name__ == "__main__":
    main()

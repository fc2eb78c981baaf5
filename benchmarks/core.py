"""Core benchmarks (issue 2): analyze throughput, live ingest latency, memory per conversation.

    .venv/bin/python benchmarks/core.py [--data ../shared/data/annomi.jsonl] [--repeat 5]

Every figure is printed next to a floor measured in the same run on the same input, because
absolute times on shared machines are noisy: the ratio is the figure to compare.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import anyio
import anyio.lowlevel

from alliance_monitor import Monitor, parse_message
from alliance_monitor._batch import analyze_transcript
from alliance_monitor._io import parse_transcript
from alliance_monitor.scoring._embedded import EmbeddedScorer

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "annomi.jsonl"


def pin_one_core() -> str:
    try:
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
        return "pinned to one core"
    except (AttributeError, OSError):
        return "not pinned"


def bench_analyze(lines: list[str], repeat: int) -> dict[str, float]:
    scorer = EmbeddedScorer()
    n_msgs = sum(len(json.loads(line)["messages"]) for line in lines)

    def floor() -> None:
        for line in lines:
            json.dumps(json.loads(line))

    def full() -> None:
        rejects: list[object] = []
        for n, line in enumerate(lines):
            tr = parse_transcript(n, json.loads(line), rejects)  # type: ignore[arg-type]
            assert tr is not None
            json.dumps(analyze_transcript(tr.conversation_id, tr.messages, scorer).to_json())

    best_floor = best_full = float("inf")
    for _ in range(repeat):  # interleaved, best of N
        t = time.perf_counter()
        floor()
        best_floor = min(best_floor, time.perf_counter() - t)
        t = time.perf_counter()
        full()
        best_full = min(best_full, time.perf_counter() - t)
    return {
        "messages": n_msgs,
        "analyze_msgs_per_s": n_msgs / best_full,
        "json_floor_msgs_per_s": n_msgs / best_floor,
    }


async def _ingest_latency(msgs: list[dict[str, object]]) -> tuple[list[float], list[float]]:
    # Floor: validating the same message (what any ingest must at least do).
    floor = []
    for m in msgs:
        t = time.perf_counter_ns()
        parse_message(m)
        floor.append((time.perf_counter_ns() - t) / 1e3)
    lat = []
    async with Monitor(idle_check_interval=None) as monitor:
        for m in msgs:
            t = time.perf_counter_ns()
            await monitor.ingest(m)
            lat.append((time.perf_counter_ns() - t) / 1e3)
            await anyio.lowlevel.checkpoint()  # let the scoring task run between messages, as live traffic would
        await monitor.flush()
    return lat, floor


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))]


def bench_memory(n_conv: int, per_conv: int, lines: list[str]) -> dict[str, float]:
    texts = [m for line in lines for m in json.loads(line)["messages"]]

    async def run() -> tuple[int, int]:
        async with Monitor(idle_check_interval=None) as monitor:
            gc.collect()
            tracemalloc.start()
            base = tracemalloc.get_traced_memory()[0]
            k = 0
            text_bytes = 0
            for c in range(n_conv):
                for i in range(per_conv):
                    src = texts[k % len(texts)]
                    k += 1
                    text_bytes += len(src["text"].encode())
                    await monitor.ingest(
                        {
                            "conversation_id": f"conv-{c}",
                            "id": f"{c}:{i}",
                            "role": src["role"],
                            "text": src["text"],
                            "ts": float(i),
                        }
                    )
            await monitor.flush()
            gc.collect()
            used = tracemalloc.get_traced_memory()[0] - base
            tracemalloc.stop()
            return used, text_bytes

    used, text_bytes = anyio.run(run)
    return {
        "bytes_per_conversation": used / n_conv,
        "text_bytes_per_conversation": text_bytes / n_conv,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--conversations", type=int, default=10_000)
    ap.add_argument("--messages-per-conversation", type=int, default=10)
    args = ap.parse_args()
    pinned = pin_one_core()
    lines = [line for line in args.data.read_text().splitlines() if line.strip()]
    print(f"alliance-monitor core benchmarks ({pinned}; python {sys.version.split()[0]})")

    a = bench_analyze(lines, args.repeat)
    print(
        "\n1. analyze, embedded scorer, on",
        args.data.name,
        f"({a['messages']:.0f} messages, best of {args.repeat})",
    )
    print(
        f"   analyze:                      {a['analyze_msgs_per_s']:>10,.0f} messages/s   (target >= 20,000)"
    )
    print(f"   floor (json.loads + dumps):   {a['json_floor_msgs_per_s']:>10,.0f} messages/s")
    print(
        f"   ratio analyze / floor:        {a['analyze_msgs_per_s'] / a['json_floor_msgs_per_s']:>10.3f}"
    )

    msgs: list[dict[str, object]] = []
    for line in lines:
        d = json.loads(line)
        for m in d["messages"]:
            msgs.append(
                {
                    **{k: m[k] for k in ("id", "role", "text", "ts")},
                    "conversation_id": d["conversation_id"],
                }
            )
    lat, floor = anyio.run(_ingest_latency, msgs)
    print(
        f"\n2. live ingest latency per message ({len(lat)} messages; scoring runs off the ingest path)"
    )
    print(
        f"   Monitor.ingest   p50 {pct(lat, 50):7.1f} us   p99 {pct(lat, 99):7.1f} us   max {max(lat):8.1f} us   (target p99 < 1000 us)"
    )
    print(f"   floor (validate) p50 {pct(floor, 50):7.1f} us   p99 {pct(floor, 99):7.1f} us")
    print(
        f"   ratio p99 ingest / p99 floor: {pct(lat, 99) / pct(floor, 99):.2f}; mean {statistics.mean(lat):.1f} us"
    )

    mem = bench_memory(args.conversations, args.messages_per_conversation, lines)
    print(
        f"\n3. memory per active conversation ({args.conversations:,} conversations, "
        f"{args.messages_per_conversation} messages each, tracemalloc)"
    )
    print(
        f"   per conversation:             {mem['bytes_per_conversation'] / 1024:8.1f} KiB   (target <= 16 KiB)"
    )
    print(f"   floor (raw UTF-8 text held):  {mem['text_bytes_per_conversation'] / 1024:8.1f} KiB")
    print(
        f"   ratio:                        {mem['bytes_per_conversation'] / mem['text_bytes_per_conversation']:8.2f}"
    )


if __name__ == "__main__":
    main()

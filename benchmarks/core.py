"""Core benchmarks (issues 2 and 10): analyze throughput against VADER sentiment, import time,
live ingest latency, memory per conversation.

    .venv/bin/python benchmarks/core.py [--data ../shared/data/annomi.jsonl] [--repeat 5]
        [--speed-only] [--copies K]

Without ../shared the AnnoMI copy in tests/data (public domain) is used.

Every figure is printed next to a floor measured in the same run on the same input, because
absolute times on shared machines are noisy: the ratio is the figure to compare.
"""

from __future__ import annotations

import argparse
import gc
import gzip
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import anyio
import anyio.lowlevel

from alliance_monitor import Monitor, parse_message
from alliance_monitor._batch import analyze_transcript
from alliance_monitor._io import parse_transcript
from alliance_monitor.scoring._embedded import EmbeddedScorer

ROOT = Path(__file__).resolve().parent.parent
#: The shared data folder, as the tests find it (ALLIANCE_MONITOR_SHARED_DATA or ../shared/data).
SHARED = Path(os.environ.get("ALLIANCE_MONITOR_SHARED_DATA") or ROOT.parent / "shared" / "data")
DEFAULT_DATA = SHARED / "annomi.jsonl"
FALLBACK_DATA = ROOT / "tests" / "data" / "annomi.jsonl.gz"
#: Chinese transcripts for the Chinese-vs-English speed figure (measurement only; never copied
#: into the repository). Without it that figure is skipped.
ZH_DATA = SHARED / "psyinsight_zh_dev.jsonl"


def read_lines(path: Path) -> list[str]:
    if path.suffix == ".gz":
        with gzip.open(path, "rt", encoding="utf-8") as f:
            return [line for line in f.read().splitlines() if line.strip()]
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _median_ratio(ours: list[float], theirs: list[float]) -> tuple[float, float, float]:
    """Median of the per-run ratios (their time / our time: > 1 means we are faster), and the
    lowest and highest. Runs are interleaved, so run i of both saw the same machine load."""
    ratios = sorted(t / o for o, t in zip(ours, theirs, strict=True))
    return statistics.median(ratios), ratios[0], ratios[-1]


def bench_vader(lines: list[str], repeat: int) -> dict[str, float] | None:
    """The embedded scorer's analyze path against VADER sentiment on the same texts, side by
    side, interleaved run by run, medians (the issue's target is the whole-process figure):

    - in process: JSON line in, scores out as JSON, for both (VADER: `polarity_scores` of every
      message; ours: parse and validate the transcript, `analyze_transcript`, `to_json`), after
      one warm-up run of each (our cue expressions and model load on first use, VADER's lexicon
      loads in its constructor);
    - whole process: `alliance-monitor analyze FILE --output OUT` against `python -c` running
      VADER over the same FILE and writing its scores, both under the same interpreter: start-up,
      imports, loading and writing included for both, their bytecode compiled by an untimed
      first run of each (`installed_env`).
    """
    try:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
    except ImportError:
        return None
    analyzer = SentimentIntensityAnalyzer()
    scorer = EmbeddedScorer()
    n_msgs = sum(len(json.loads(line)["messages"]) for line in lines)

    def vader() -> None:
        for line in lines:
            d = json.loads(line)
            json.dumps([analyzer.polarity_scores(m["text"]) for m in d["messages"]])

    def ours() -> None:
        # Each run reads its texts afresh: the scorer's memory of texts it has read (LRU, and
        # the Chinese model's) is emptied first, or repeats would be served from it.
        from alliance_monitor.scoring._embedded import _read
        from alliance_monitor.scoring._model_zh import load_model_zh

        _read.cache_clear()
        load_model_zh().memo.clear()
        rejects: list[object] = []
        for n, line in enumerate(lines):
            tr = parse_transcript(n, json.loads(line), rejects)  # type: ignore[arg-type]
            assert tr is not None
            json.dumps(analyze_transcript(tr.conversation_id, tr.messages, scorer).to_json())

    def timed(fn: Callable[[], object]) -> float:
        t = time.perf_counter()
        fn()
        return time.perf_counter() - t

    vader()
    ours()
    in_v: list[float] = []
    in_o: list[float] = []
    for _ in range(repeat):
        in_v.append(timed(vader))
        in_o.append(timed(ours))
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.jsonl"
        src.write_text("\n".join(lines) + "\n", encoding="utf-8")
        vader_code = (
            "import json, sys\n"
            "from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer\n"
            "a = SentimentIntensityAnalyzer()\n"
            "with open(sys.argv[1]) as f, open(sys.argv[2], 'w') as o:\n"
            "    for line in f:\n"
            "        d = json.loads(line)\n"
            "        o.write(json.dumps([a.polarity_scores(m['text']) for m in d['messages']]))\n"
        )
        cli = Path(sys.executable).parent / "alliance-monitor"
        run_v = [sys.executable, "-c", vader_code, str(src), str(Path(tmp) / "v.json")]
        run_o = [str(cli), "analyze", str(src), "--output", str(Path(tmp) / "o.jsonl")]
        env = installed_env(Path(tmp) / "pycache")
        pr_v: list[float] = []
        pr_o: list[float] = []
        for cmd in (run_v, run_o):  # untimed: writes the bytecode the timed runs read
            subprocess.run(cmd, check=True, capture_output=True, env=env)
        for _ in range(repeat):
            pr_v.append(
                timed(lambda: subprocess.run(run_v, check=True, capture_output=True, env=env))
            )
            pr_o.append(
                timed(lambda: subprocess.run(run_o, check=True, capture_output=True, env=env))
            )
    ratio, low, high = _median_ratio(in_o, in_v)
    proc_ratio, proc_low, proc_high = _median_ratio(pr_o, pr_v)
    return {
        "messages": n_msgs,
        "ours": n_msgs / statistics.median(in_o),
        "vader": n_msgs / statistics.median(in_v),
        "ratio": ratio,
        "ratio_low": low,
        "ratio_high": high,
        "proc_ours": n_msgs / statistics.median(pr_o),
        "proc_vader": n_msgs / statistics.median(pr_v),
        "proc_ratio": proc_ratio,
        "proc_ratio_low": proc_low,
        "proc_ratio_high": proc_high,
    }


def installed_env(folder: Path) -> dict[str, str]:
    """The environment for child processes: bytecode written to and read from `folder`, as an
    installed package has its modules byte-compiled (pip compiles them at install). With
    PYTHONDONTWRITEBYTECODE set, as on the machine these figures come from, every run would
    compile the package's modules from source (0.32 G instructions for `analyze`'s imports)."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(folder)
    return env


def bench_import(repeat: int, statement: str = "import alliance_monitor") -> float:
    """`statement` in a fresh interpreter (bytecode compiled by an untimed first run), median
    of N (seconds)."""
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        env = installed_env(Path(tmp))
        for n in range(repeat + 1):
            out = subprocess.run(
                [sys.executable, "-c", code], check=True, capture_output=True, text=True, env=env
            )
            if n:
                times.append(float(out.stdout.strip()))
    return statistics.median(times)


#: What the import figures time: the package (its names load on first use), what an embedding
#: application imports to run a monitor, and what `alliance-monitor analyze` imports.
IMPORTS = (
    "import alliance_monitor",
    "from alliance_monitor import Monitor, analyze_transcript",
    "import alliance_monitor.cli, alliance_monitor.scoring._embedded",
)


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
        # As in the VADER comparison: each run reads its texts afresh (a set that fits in the
        # scorer's memory of texts, such as the Chinese dev set, would otherwise be served
        # from it on every run after the first).
        from alliance_monitor.scoring._embedded import _read
        from alliance_monitor.scoring._model_zh import load_model_zh

        _read.cache_clear()
        load_model_zh().memo.clear()
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


async def _ingest_latency_store(msgs: list[dict[str, object]], path: Path) -> list[float]:
    """Monitor.ingest with the SQLite store (synchronous=FULL): "accepted" means committed and
    fsynced, so every call waits for a group commit."""
    from alliance_monitor.store import SQLiteStore

    lat = []
    async with Monitor(idle_check_interval=None, store=SQLiteStore(path)) as monitor:
        for m in msgs:
            t = time.perf_counter_ns()
            await monitor.ingest(m)
            lat.append((time.perf_counter_ns() - t) / 1e3)
            await anyio.lowlevel.checkpoint()
        await monitor.flush()
    return lat


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
            await (
                anyio.lowlevel.checkpoint()
            )  # let the scoring task run between messages, as live traffic would
        await monitor.flush()
    return lat, floor


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))]


def bench_memory(n_conv: int, per_conv: int, lines: list[str]) -> dict[str, float]:
    texts = [m for line in lines for m in json.loads(line)["messages"]]

    async def run() -> tuple[int, int]:
        # No cap: every conversation stays active (the default cap would evict past 50,000).
        async with Monitor(idle_check_interval=None, max_pairs=None) as monitor:
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
    ap.add_argument(
        "--copies",
        type=int,
        default=1,
        help="VADER comparison on the input repeated this many times (start-up "
        "costs weigh less on a longer file)",
    )
    ap.add_argument(
        "--zh-data",
        type=Path,
        default=ZH_DATA,
        help="Chinese transcripts for the Chinese-vs-English speed figure",
    )
    ap.add_argument(
        "--speed-only", action="store_true", help="only import time and the comparison with VADER"
    )
    ap.add_argument(
        "--ingest-only",
        action="store_true",
        help="only section 2 (live ingest latency, in memory and with SQLiteStore)",
    )
    ap.add_argument(
        "--memory-only",
        action="store_true",
        help="only section 3 (memory per active conversation; --conversations N)",
    )
    ap.add_argument("--conversations", type=int, default=10_000)
    ap.add_argument("--messages-per-conversation", type=int, default=10)
    ap.add_argument("--store-messages", type=int, default=5000)
    args = ap.parse_args()
    # Import time first, before pinning: a child process inherits the pin, and on a shared
    # machine the pinned core is the busy one.
    only_one = args.ingest_only or args.memory_only
    imps = [] if only_one else [bench_import(args.repeat, stmt) for stmt in IMPORTS]
    pinned = pin_one_core()
    data = args.data if args.data.exists() else FALLBACK_DATA
    lines = read_lines(data)
    args.data = data
    print(
        f"alliance-monitor core benchmarks ({pinned}; python {sys.version.split()[0]}; "
        f"load average {os.getloadavg()[0]:.1f})"
    )
    if args.memory_only:
        memory(args, lines)
        return
    if not args.ingest_only:
        speed_and_analyze(args, imps, lines)
        if args.speed_only:
            return
    ingest_latency(args, lines)
    if args.ingest_only:
        return
    memory(args, lines)


def speed_and_analyze(args: argparse.Namespace, imps: list[float], lines: list[str]) -> None:
    print(
        f"\n0. import time, fresh interpreter (not pinned), median of {args.repeat} "
        "(target < 0.3 s):"
    )
    for stmt, t in zip(IMPORTS, imps, strict=True):
        print(f"   {t:.3f} s  {stmt}")
    v = bench_vader(lines * args.copies, args.repeat)
    if v is None:
        print("   (vaderSentiment not installed: bash scripts/setup.sh dev for the speed ratio)")
    else:
        copies = f", the file {args.copies} times over" if args.copies > 1 else ""
        print(
            f"   embedded scorer vs VADER sentiment, same {v['messages']:.0f} texts{copies}, "
            f"median of {args.repeat} interleaved runs (target ratio >= 1.5, whole process):"
        )
        print(
            f"   in process:    analyze {v['ours']:>9,.0f} msg/s   VADER {v['vader']:>9,.0f} "
            f"msg/s   ratio {v['ratio']:.2f} (runs {v['ratio_low']:.2f}-{v['ratio_high']:.2f})"
        )
        print(
            f"   whole process: analyze {v['proc_ours']:>9,.0f} msg/s   VADER "
            f"{v['proc_vader']:>9,.0f} msg/s   ratio {v['proc_ratio']:.2f} "
            f"(runs {v['proc_ratio_low']:.2f}-{v['proc_ratio_high']:.2f})"
        )
    if args.zh_data.exists():
        en = bench_analyze(lines, args.repeat)
        zh = bench_analyze(read_lines(args.zh_data), args.repeat)
        print(
            f"   Chinese ({args.zh_data.name}, {zh['messages']:.0f} messages) vs English "
            f"({en['messages']:.0f}), in process, best of {args.repeat}: {zh['analyze_msgs_per_s']:,.0f} vs "
            f"{en['analyze_msgs_per_s']:,.0f} msg/s, ratio "
            f"{zh['analyze_msgs_per_s'] / en['analyze_msgs_per_s']:.2f} (target >= 0.5)"
        )
    if args.speed_only:
        return

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


def ingest_latency(args: argparse.Namespace, lines: list[str]) -> None:
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

    with tempfile.TemporaryDirectory() as d:
        slat = anyio.run(_ingest_latency_store, msgs[: args.store_messages], Path(d) / "s.db")
    print(
        f"   with SQLiteStore (synchronous=FULL), first {len(slat)} messages: p50 "
        f"{pct(slat, 50):7.1f} us   p99 {pct(slat, 99):7.1f} us   max {max(slat):8.1f} us   "
        "(target p99 < 2000 us)"
    )
    with tempfile.TemporaryDirectory() as d:
        sync = fsync_latency(Path(d) / "f", 300)
    print(
        f"   floor: one fsync of 4 KiB on the same disk, 300 times: p50 {pct(sync, 50):7.1f} us   "
        f"p99 {pct(sync, 99):7.1f} us (every accepted message waits for at least one); "
        f"load average {os.getloadavg()[0]:.1f}"
    )


def fsync_latency(path: Path, n: int) -> list[float]:
    out = []
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for _ in range(n):
            os.write(fd, b"x" * 4096)
            t = time.perf_counter_ns()
            os.fsync(fd)
            out.append((time.perf_counter_ns() - t) / 1e3)
    finally:
        os.close(fd)
    return out


def memory(args: argparse.Namespace, lines: list[str]) -> None:

    mem = bench_memory(args.conversations, args.messages_per_conversation, lines)
    print(
        f"\n3. memory per active conversation ({args.conversations:,} conversations, "
        f"{args.messages_per_conversation} messages each, tracemalloc)"
    )
    print(
        f"   per conversation:             {mem['bytes_per_conversation'] / 1024:8.2f} KiB   (target <= 3 KiB)"
    )
    print(f"   floor (raw UTF-8 text held):  {mem['text_bytes_per_conversation'] / 1024:8.1f} KiB")
    print(
        f"   ratio:                        {mem['bytes_per_conversation'] / mem['text_bytes_per_conversation']:8.2f}"
    )


if __name__ == "__main__":
    main()

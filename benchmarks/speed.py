"""Speed of batch scoring with the embedded scorer (issue 23 items 1 and 2, issue 21 item 5),
every figure a ratio of two things measured side by side in one run.

    .venv/bin/python benchmarks/speed.py [--data FILE] [--zh-data FILE] [--en-data FILE]
        [--repeat 5] [--skip-jobs] [--instructions N]

1. `analyze` against VADER sentiment on the same texts (`--data`: ESConv from the project's
   measurement data, else the AnnoMI copy in tests/data), one job:
   - in process: a JSON line in, its scores out as JSON, for both (ours: parse and validate the
     transcript, `analyze_transcript`, `to_json`; VADER: `polarity_scores` of every message).
     The scorer's memory of texts it has read is emptied before each of our runs, so no run
     finds the texts of the one before;
   - whole process: `alliance-monitor analyze FILE --output OUT --jobs 1` against `python -c`
     running VADER over the same FILE and writing its scores (start-up, imports, loading and
     writing included for both).
2. `analyze --jobs 2` against `--jobs 1`, whole process, same file (the output of both is
   compared byte for byte in every run).
3. Chinese against English messages per second, in process (`--zh-data`: the Chinese dev set;
   `--en-data`: AnnoMI), memory emptied before each run.
4. With `--instructions N`: instructions executed (valgrind's callgrind), whole process, `analyze
   --jobs 1` and VADER on the first N and 2N conversations: per message (the difference) and
   fixed (start-up), a measure a busy machine does not disturb.

Child processes run as an installed package does: with its modules byte-compiled (pip compiles
them at install). They write and read bytecode in a temporary folder (PYTHONPYCACHEPREFIX, and
PYTHONDONTWRITEBYTECODE unset), filled by an untimed first run of each command; otherwise an
environment with PYTHONDONTWRITEBYTECODE set compiles the package's modules from source in
every run (0.32 G instructions, measured: not a cost an installed package pays).

Runs of the two sides alternate (run i of both saw the same machine load); each figure is the
median of the per-run ratios, with the lowest and highest. Absolute rates on a shared machine
are noisy: the ratios are the figures to compare. Nothing is pinned to a core (the jobs figure
needs two); the load average is printed before and after.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from alliance_monitor._batch import analyze_transcript
from alliance_monitor._io import parse_transcript
from alliance_monitor.scoring import EmbeddedScorer
from alliance_monitor.scoring._embedded import _read
from alliance_monitor.scoring._model_zh import load_model_zh

ROOT = Path(__file__).resolve().parent.parent
#: The project's measurement data (ALLIANCE_MONITOR_SHARED_DATA or ../shared/data): read, never
#: copied into the repository.
SHARED = Path(os.environ.get("ALLIANCE_MONITOR_SHARED_DATA") or ROOT.parent / "shared" / "data")
FALLBACK = ROOT / "tests" / "data" / "annomi.jsonl.gz"

VADER_CODE = (
    "import json, sys\n"
    "from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer\n"
    "a = SentimentIntensityAnalyzer()\n"
    "with open(sys.argv[1]) as f, open(sys.argv[2], 'w') as o:\n"
    "    for line in f:\n"
    "        d = json.loads(line)\n"
    "        o.write(json.dumps([a.polarity_scores(m['text']) for m in d['messages']]) + '\\n')\n"
)


def read_lines(path: Path) -> list[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [line for line in f.read().splitlines() if line.strip()]


def n_messages(lines: list[str]) -> int:
    return sum(len(json.loads(line)["messages"]) for line in lines)


def forget() -> None:
    """Empty the scorer's memory of texts it has read (each timed run reads its set afresh)."""
    _read.cache_clear()
    load_model_zh().memo.clear()


def ratio(ours: list[float], theirs: list[float]) -> tuple[float, float, float]:
    """Median, lowest and highest of the per-run ratios their time / our time (> 1: we are
    faster)."""
    r = sorted(t / o for o, t in zip(ours, theirs, strict=True))
    return statistics.median(r), r[0], r[-1]


def timed(fn: Callable[[], object]) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def analyze_in_process(lines: list[str], scorer: EmbeddedScorer) -> Callable[[], None]:
    def run() -> None:
        forget()
        rejects: list[object] = []
        for n, line in enumerate(lines):
            tr = parse_transcript(n, json.loads(line), rejects)  # type: ignore[arg-type]
            assert tr is not None
            json.dumps(analyze_transcript(tr.conversation_id, tr.messages, scorer).to_json())

    return run


def interleaved(
    a: Callable[[], object], b: Callable[[], object], repeat: int
) -> tuple[list[float], list[float]]:
    """`repeat` timed runs of each, alternating, after one untimed run of each."""
    a()
    b()
    ta: list[float] = []
    tb: list[float] = []
    for _ in range(repeat):
        ta.append(timed(a))
        tb.append(timed(b))
    return ta, tb


def line(
    label: str, n: int, ours: list[float], theirs: list[float], names: tuple[str, str], target: str
) -> str:
    med, low, high = ratio(ours, theirs)
    return (
        f"   {label:<34} {names[0]} {n / statistics.median(ours):>9,.0f} msg/s   {names[1]} "
        f"{n / statistics.median(theirs):>9,.0f} msg/s   ratio {med:.2f} (runs {low:.2f}-{high:.2f}; "
        f"target {target})"
    )


def vader_section(lines: list[str], src: Path, tmp: Path, repeat: int) -> None:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    n = n_messages(lines)
    analyzer = SentimentIntensityAnalyzer()
    scorer = EmbeddedScorer()

    def vader() -> None:
        for raw in lines:
            d = json.loads(raw)
            json.dumps([analyzer.polarity_scores(m["text"]) for m in d["messages"]])

    ours, theirs = interleaved(analyze_in_process(lines, scorer), vader, repeat)
    print(line("in process", n, ours, theirs, ("analyze", "VADER"), ">= 2.5"))
    cli = str(Path(sys.executable).parent / "alliance-monitor")
    run_o = [cli, "analyze", str(src), "--output", str(tmp / "o1.jsonl"), "--jobs", "1"]
    run_v = [sys.executable, "-c", VADER_CODE, str(src), str(tmp / "v.jsonl")]
    ours, theirs = interleaved(lambda: _run(run_o), lambda: _run(run_v), repeat)
    print(line("whole process (analyze --jobs 1)", n, ours, theirs, ("analyze", "VADER"), ">= 1.5"))


def jobs_section(lines: list[str], src: Path, tmp: Path, repeat: int) -> None:
    n = n_messages(lines)
    cli = str(Path(sys.executable).parent / "alliance-monitor")
    one, two = tmp / "j1.jsonl", tmp / "j2.jsonl"
    run_1 = [cli, "analyze", str(src), "--output", str(one), "--jobs", "1"]
    run_2 = [cli, "analyze", str(src), "--output", str(two), "--jobs", "2"]

    def jobs_2() -> None:
        _run(run_2)
        if two.read_bytes() != one.read_bytes():
            raise SystemExit("analyze --jobs 2 wrote other bytes than --jobs 1")

    t2, t1 = interleaved(lambda: _run(run_1), jobs_2, repeat)
    t2, t1 = t1, t2  # interleaved returned (jobs 1, jobs 2)
    print(line("whole process, --jobs 2 / --jobs 1", n, t2, t1, ("jobs 2", "jobs 1"), ">= 1.8"))


def chinese_section(zh: list[str], en: list[str], repeat: int) -> None:
    scorer = EmbeddedScorer()
    t_zh, t_en = interleaved(analyze_in_process(zh, scorer), analyze_in_process(en, scorer), repeat)
    n_zh, n_en = n_messages(zh), n_messages(en)
    # Rates, not times: the two sets differ in size.
    r = sorted((n_zh / a) / (n_en / b) for a, b in zip(t_zh, t_en, strict=True))
    print(
        f"   {'Chinese / English, in process':<34} Chinese {n_zh / statistics.median(t_zh):>9,.0f} "
        f"msg/s   English {n_en / statistics.median(t_en):>9,.0f} msg/s   ratio "
        f"{statistics.median(r):.2f} (runs {r[0]:.2f}-{r[-1]:.2f}; target >= 0.9)"
    )


def instructions_section(lines: list[str], tmp: Path, n: int) -> None:
    """Instructions executed (valgrind's callgrind, independent of the machine's load), whole
    process, for the first `n` and `2n` conversations: the difference is the cost of `n`
    conversations' messages, the rest the fixed cost (start-up, imports, loading)."""
    cli = str(Path(sys.executable).parent / "alliance-monitor")
    counts: dict[tuple[str, int], int] = {}
    for k in (n, 2 * n):
        src = tmp / f"first{k}.jsonl"
        src.write_text("\n".join(lines[:k]) + "\n", encoding="utf-8")
        commands = {
            "analyze": [cli, "analyze", str(src), "--output", str(tmp / "ci.jsonl"), "--jobs", "1"],
            "VADER": [sys.executable, "-c", VADER_CODE, str(src), str(tmp / "cv.jsonl")],
        }
        for name, cmd in commands.items():
            counts[name, k] = _callgrind(cmd)
    msgs = n_messages(lines[n : 2 * n])
    per = {name: (counts[name, 2 * n] - counts[name, n]) / msgs for name in ("analyze", "VADER")}
    fixed = {name: counts[name, n] - per[name] * n_messages(lines[:n]) for name in per}
    whole = {name: fixed[name] + per[name] * n_messages(lines) for name in per}
    print(
        f"   {'instructions per message':<34} analyze {per['analyze']:>9,.0f}         VADER "
        f"{per['VADER']:>9,.0f}         ratio {per['VADER'] / per['analyze']:.2f} (callgrind, "
        f"conversations {n + 1}-{2 * n})"
    )
    print(
        f"   {'fixed instructions (start-up)':<34} analyze {fixed['analyze'] / 1e9:>7.2f} G"
        f"         VADER {fixed['VADER'] / 1e9:>7.2f} G         whole file: ratio "
        f"{whole['VADER'] / whole['analyze']:.2f}"
    )


def _callgrind(cmd: list[str]) -> int:
    _run(cmd)  # untimed: writes the bytecode this run reads
    out = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", *cmd],
        check=True,
        capture_output=True,
        text=True,
        env=CHILD_ENV,
    ).stderr
    return int(out.rsplit("Collected : ", 1)[1].split()[0])


def _run(cmd: list[str]) -> None:
    subprocess.run(cmd, check=True, capture_output=True, env=CHILD_ENV)


#: The environment of child processes: bytecode written and read under a temporary folder
#: (`bytecode_in`), as an installed package has it.
CHILD_ENV: dict[str, str] = dict(os.environ)


def bytecode_in(folder: Path) -> None:
    CHILD_ENV.pop("PYTHONDONTWRITEBYTECODE", None)
    CHILD_ENV["PYTHONPYCACHEPREFIX"] = str(folder)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=SHARED / "esconv_train.jsonl")
    ap.add_argument("--zh-data", type=Path, default=SHARED / "psyinsight_zh_dev.jsonl")
    ap.add_argument("--en-data", type=Path, default=SHARED / "annomi.jsonl")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--skip-jobs", action="store_true", help="leave out section 2")
    ap.add_argument(
        "--instructions",
        type=int,
        default=0,
        metavar="N",
        help="also count instructions with valgrind (callgrind) on the first N and 2N "
        "conversations (minutes; needs valgrind)",
    )
    args = ap.parse_args()
    data = args.data if args.data.exists() else FALLBACK
    lines = read_lines(data)
    print(
        f"alliance-monitor speed ({data.name}, {len(lines)} conversations, {n_messages(lines)} "
        f"messages; python {sys.version.split()[0]}; {os.cpu_count()} cores; load average "
        f"{os.getloadavg()[0]:.1f}; median of {args.repeat} interleaved runs)"
    )
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        bytecode_in(tmp / "pycache")
        src = tmp / "in.jsonl"
        src.write_text("\n".join(lines) + "\n", encoding="utf-8")
        try:
            vader_section(lines, src, tmp, args.repeat)
        except ImportError:
            print("   (vaderSentiment not installed: bash scripts/setup.sh dev)")
        if not args.skip_jobs:
            jobs_section(lines, src, tmp, args.repeat)
        if args.instructions:
            if shutil.which("valgrind") is None:
                print("   (valgrind not installed: instructions left out)")
            else:
                instructions_section(lines, tmp, args.instructions)
    en = args.en_data if args.en_data.exists() else FALLBACK
    if args.zh_data.exists():
        chinese_section(read_lines(args.zh_data), read_lines(en), args.repeat)
    else:
        print(f"   (no Chinese set at {args.zh_data}: Chinese / English left out)")
    print(f"   load average after: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The group committer of another revision against this one, interleaved in one process.

    .venv/bin/python benchmarks/committer_ab.py [--rev 363ca6d] [--producers 64] [--quick]

Section 1 of `benchmarks/store.py` (SQLite synchronous=FULL throughput relative to in-memory,
same traffic), with the monitor's `Committer` taken from `--rev` (via `git show`) and from the
working tree in turn, so a noisy neighbour hits both alike. Prints each median and its ratio
to the in-memory median of the same run, with the load average before and after.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import anyio

sys.path.insert(0, str(Path(__file__).resolve().parent))
import store as bench

from alliance_monitor import _durable
from alliance_monitor._committer import Committer

ROOT = Path(__file__).resolve().parent.parent


def committer_of(rev: str) -> type[Committer]:
    src = subprocess.run(
        ["git", "show", f"{rev}:alliance_monitor/_committer.py"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(src)
    spec = importlib.util.spec_from_file_location("alliance_monitor._committer_other", f.name)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    os.unlink(f.name)
    cls: type[Committer] = mod.Committer
    return cls


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rev", default="363ca6d", help="revision whose committer to compare")
    ap.add_argument("--producers", type=int, default=bench.PRODUCERS)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    n_convs, per = (200, 20) if a.quick else (1000, 40)
    convs = [bench.conversation(f"c{i}", per) for i in range(n_convs)]
    cases = {a.rev: committer_of(a.rev), "this tree": Committer}
    runs: dict[str, list[tuple[float, float]]] = {"memory": [], **{k: [] for k in cases}}
    load0 = os.getloadavg()[0]
    for _ in range(a.repeat):
        runs["memory"].append(anyio.run(bench.throughput, None, convs, a.producers))
        for name, cls in cases.items():
            _durable.Committer = cls  # type: ignore[misc]
            with tempfile.TemporaryDirectory() as d:
                store = bench.SQLiteStore(Path(d) / "s.db")
                runs[name].append(anyio.run(bench.throughput, store, convs, a.producers))
    med = {k: statistics.median(r for r, _ in v) for k, v in runs.items()}
    cpu = {k: statistics.median(c for _, c in v) for k, v in runs.items()}
    print(
        f"{n_convs * per:,} messages, {a.producers} producers, median of {a.repeat}; "
        f"load average {load0:.1f} -> {os.getloadavg()[0]:.1f}"
    )
    print(f"   in-memory: {med['memory']:>10,.0f} messages/s   CPU {cpu['memory']:.3f} s/1k")
    for name in cases:
        print(
            f"   SQLite FULL, committer of {name}: {med[name]:>10,.0f} messages/s "
            f"= {med[name] / med['memory']:.0%} of in-memory   CPU {cpu[name]:.3f} s/1k "
            f"(CPU ratio {cpu['memory'] / cpu[name]:.0%})"
        )


if __name__ == "__main__":
    main()

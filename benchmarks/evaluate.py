"""How long `alliance-monitor evaluate` takes, and where the time goes, in one run.

On one labelled set (default ``../shared/data/esconv_train.jsonl``: 910 conversations, 26,648
messages, two message-level and four session-level labels), the embedded scorer's answers are
computed once and saved; the evaluation is then repeated from the saved scores with 0 and with N
bootstrap resamples, so the three costs are measured apart and side by side:

* scoring: the embedded scorer over every transcript (what ``--scores`` skips);
* figures without intervals (``--bootstrap 0``): reading, labels, baselines, point estimates;
* bootstrap: the extra time of N resamples of conversations (every task, scorer and baseline,
  paired), and per 1,000 resamples.

CPU time of this process (``time.process_time``) is reported beside wall time: on a shared
machine wall time includes waiting for the CPU. Best of ``--repeat`` runs.

Run from the project root:
    .venv/bin/python benchmarks/evaluate.py [--data ../shared/data/esconv_train.jsonl]
        [--bootstrap 1000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

from alliance_monitor.evaluate import evaluate_file
from alliance_monitor.scoring import EmbeddedScorer


def _best(fn: object, repeat: int) -> tuple[float, float]:
    walls, cpus = [], []
    for _ in range(repeat):
        w0, c0 = time.perf_counter(), time.process_time()
        fn()  # type: ignore[operator]
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)
    return min(walls), min(cpus)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    root = Path(__file__).resolve().parent.parent
    ap.add_argument("--data", default=str(root.parent / "shared" / "data" / "esconv_train.jsonl"))
    ap.add_argument("--bootstrap", type=int, default=1000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    if not Path(args.data).exists():
        print(f"no data at {args.data} (give --data)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        saved = str(Path(tmp) / "scores.jsonl")
        score = _best(
            lambda: evaluate_file(
                args.data, scorer=EmbeddedScorer(), n_bootstrap=0, save_scores=saved
            ),
            args.repeat,
        )
        plain = _best(lambda: evaluate_file(args.data, scores=saved, n_bootstrap=0), args.repeat)
        boot = _best(
            lambda: evaluate_file(args.data, scores=saved, n_bootstrap=args.bootstrap), args.repeat
        )
        rep = evaluate_file(args.data, scores=saved, n_bootstrap=0)
    items = sum(r.n for r in rep.results)
    print(
        f"{args.data}: {rep.n_conversations:,} conversations, {rep.n_messages:,} messages, "
        f"{len(rep.results)} tasks over {items:,} labelled items; best of {args.repeat}"
    )
    print(f"{'part':44s} {'wall s':>8s} {'cpu s':>8s}")
    rows = [
        ("score (embedded) + figures, no intervals", score),
        ("figures from saved scores, no intervals", plain),
        (f"figures from saved scores, {args.bootstrap} resamples", boot),
    ]
    for name, (w, c) in rows:
        print(f"{name:44s} {w:8.2f} {c:8.2f}")
    extra_w, extra_c = boot[0] - plain[0], boot[1] - plain[1]
    per = 1000 / max(1, args.bootstrap)
    print(f"{'bootstrap alone, per 1,000 resamples':44s} {extra_w * per:8.2f} {extra_c * per:8.2f}")
    print(
        f"{'whole command estimate (score + bootstrap)':44s} {score[0] + extra_w:8.2f} "
        f"{score[1] + extra_c:8.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""How often the safety net fires on ordinary counseling conversations (the false-alarm guard).

The balanced written sets (``benchmarks/safety_sets.py``) say little about how often a live
platform would be paged: most client messages carry no risk at all, and the ones that share
the words (self-doubt, tiredness, grief, "I'm so stupid") are exactly where a net over-fires.
This prints the share of *client* messages `scan_risk` flags on three labelled sets that are
for measuring only (see ``../shared/data/README.md``; nothing of them is copied into the
project): AnnoMI (English, spoken motivational interviewing), ESConv (English, typed emotional
support chats, some of whose seekers are at real risk) and the Chinese Psy-Insight dev set.
A flag there is not always a false alarm (a few seekers do speak of dying); the counts by cue
label tell which rule fires, and ``--show`` prints the flagged lines to the terminal for
checking whether they are real false alarms (never to tune wording to them).

Run from the project root:
    .venv/bin/python benchmarks/safety_ordinary.py [--data ../shared/data] [--show]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import Counter
from pathlib import Path

from alliance_monitor._safety import scan_risk

ROOT = Path(__file__).resolve().parents[1]
SETS = ("annomi.jsonl", "esconv_train.jsonl", "psyinsight_zh_dev.jsonl")


def client_texts(path: Path) -> list[str]:
    """Every client message of a transcript file (one conversation per line)."""
    out: list[str] = []
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                conv = json.loads(line)
                out += [m["text"] for m in conv["messages"] if m.get("role") == "client"]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default = os.environ.get("ALLIANCE_MONITOR_SHARED_DATA") or ROOT.parent / "shared" / "data"
    parser.add_argument("--data", default=str(default), help="folder with the labelled sets")
    parser.add_argument("--show", action="store_true", help="print the flagged lines")
    args = parser.parse_args()
    folder = Path(args.data)
    if not all((folder / name).exists() for name in SETS):
        print(f"skipped: the measuring sets are not in {folder} (see --data)")
        return 0
    print(f"{'set':26s} {'client msgs':>11s} {'flagged':>8s} {'rate':>7s}  by cue label")
    seconds = 0.0
    scanned = 0
    for name in SETS:
        texts = client_texts(folder / name)
        cues: Counter[str] = Counter()
        flagged = 0
        t0 = time.perf_counter()
        hits = [scan_risk(text) for text in texts]
        seconds += time.perf_counter() - t0
        scanned += len(texts)
        for text, hit in zip(texts, hits, strict=True):
            if hit is None:
                continue
            flagged += 1
            cues.update(hit.cues)
            if args.show:
                print(f"    [{','.join(hit.cues)}] {text[:300]!r}", file=sys.stderr)
        by_cue = ", ".join(f"{label} {n}" for label, n in cues.most_common())
        print(f"{name:26s} {len(texts):11d} {flagged:8d} {flagged / len(texts):7.2%}  {by_cue}")
    # absolute times on a shared machine are noisy: compare revisions side by side, in turns
    print(f"scan_risk: {seconds / scanned * 1e6:.0f} us per client message ({scanned} messages)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

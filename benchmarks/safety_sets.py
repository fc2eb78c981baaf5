"""Recall and false-alarm rate of the safety net on the written test sets, per language.

The sets are ours (written for this purpose, in tests/data): ``safety_en.jsonl`` and
``safety_zh.jsonl``, each with at least 40 risk messages (suicidal ideation, self-harm, plans,
harm to others, obfuscated spellings) and 40 harmless ones (hyperbole such as 笑死我了 / "this
commute is killing me", denials, medication, grief, ordinary chat). Each line:
``{"text": ..., "risk": true|false, "kind": ...}``. With the `opencc` package (a dev
dependency) the Chinese set is also measured in Traditional characters, converted as Taiwan
(``s2twp``, with Taiwan vocabulary) and Hong Kong (``s2hk``) write it.

Run from the project root:
    .venv/bin/python benchmarks/safety_sets.py [-v]     (-v lists every miss and false alarm)
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

from alliance_monitor._safety import scan_risk

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
SETS = {"en": "safety_en.jsonl", "zh": "safety_zh.jsonl"}


def measure(path: Path) -> tuple[int, int, int, int, list[str], float]:
    """(risk messages, caught, harmless messages, false alarms, errors, seconds)."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    n_risk = caught = n_ok = alarms = 0
    errors: list[str] = []
    t0 = time.perf_counter()
    for row in rows:
        hit = scan_risk(row["text"]) is not None
        if row["risk"]:
            n_risk += 1
            caught += hit
            if not hit:
                errors.append(f"missed      [{row['kind']}] {row['text']}")
        else:
            n_ok += 1
            alarms += hit
            if hit:
                errors.append(f"false alarm [{row['kind']}] {row['text']}")
    return n_risk, caught, n_ok, alarms, errors, time.perf_counter() - t0


def main() -> int:
    verbose = "-v" in sys.argv[1:]
    print(f"{'language':10s} {'risk':>5s} {'recall':>7s} {'harmless':>9s} {'false alarms':>13s}")
    for lang, name in SETS.items():
        n_risk, caught, n_ok, alarms, errors, _ = measure(DATA / name)
        print(f"{lang:10s} {n_risk:5d} {caught / n_risk:7.3f} {n_ok:9d} {alarms / n_ok:13.3f}")
        if verbose:
            for e in errors:
                print("   ", e)
    try:
        import opencc
    except ImportError:
        print("(opencc not installed: no Traditional copy of the Chinese set)")
        return 0
    rows = [json.loads(ln) for ln in (DATA / SETS["zh"]).read_text(encoding="utf-8").splitlines()]
    with tempfile.TemporaryDirectory() as tmp:
        for name, config in (("zh-Hant TW", "s2twp.json"), ("zh-Hant HK", "s2hk.json")):
            cc = opencc.OpenCC(config)
            path = Path(tmp) / f"{config}.jsonl"
            path.write_text(
                "".join(
                    json.dumps({**r, "text": cc.convert(r["text"])}, ensure_ascii=False) + "\n"
                    for r in rows
                ),
                encoding="utf-8",
            )
            n_risk, caught, n_ok, alarms, errors, _ = measure(path)
            print(f"{name:10s} {n_risk:5d} {caught / n_risk:7.3f} {n_ok:9d} {alarms / n_ok:13.3f}")
            if verbose:
                for e in errors:
                    print("   ", e)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Recall and false-alarm rate of the safety net on the written test sets, per language and half.

The sets are ours (written for this purpose, in tests/data): ``safety_en.jsonl`` and
``safety_zh.jsonl``, each with at least 150 risk messages and 150 harmless ones. Risk: suicidal
ideation in the forms a clinical screen asks about (wish to be dead or not to wake up, active
thoughts, method, intent, plan and timing, preparatory acts such as gathering means, writing
goodbyes or giving things away, perceived burdensomeness, wanting to disappear or to end
everything), self-harm, harm to others, and the spellings people use (split words, chat
shorthand, pinyin, homophones such as 紫砂, small capitals and other letter-like symbols).
Harmless: ordinary text sharing the words ("this exam is killing me", "我快累死了", a rope for
climbing, 紫砂壶, saying goodbye at the airport), denials, medication, grief, distress without risk.
Each line: ``{"text": ..., "risk": true|false, "kind": ...}``. With the `opencc` package (a dev
dependency) the Chinese set is also measured in Traditional characters, converted as Taiwan
(``s2twp``, with Taiwan vocabulary) and Hong Kong (``s2hk``) write it.

Halves: within each class, lines at even positions (0, 2, 4...) are the half the phrase lists
were tuned on; lines at odd positions were kept untouched while tuning and are reported apart
(later rounds of tuning read the misses of both halves: see the CHANGELOG). The fourth round of
statements (``"round": 4``, written by the `safety3` session before it changed any rule) is
also reported on its own (``r4-even``, tuned on; ``r4-odd``, untouched: its misses were not
read while tuning). The Chinese fifth round (``"round": 5``, ``zh/r5``, 40 + 40 statements)
was written by the same session, also before any rule change, after -v had once listed the
fourth round's untouched Chinese lines through their Traditional copies: it is untouched as a
whole, and -v never lists its lines.

Also printed, figures only: the check sets ``safety_check_en.jsonl`` / ``safety_check_zh.jsonl``
(written by the `safety2` session before it changed any rule and never tuned on: their lines are
not listed by -v), and ``safety_constructs.jsonl`` (statements written while generalising the
rules, tuned on). The sealed held-out sets are measured by ``benchmarks/heldout.py``.

Run from the project root:
    .venv/bin/python benchmarks/safety_sets.py [-v] [--half even|odd]
(-v lists every miss and false alarm of the half asked for, or of both.)
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from alliance_monitor._safety import scan_risk

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
SETS = {"en": "safety_en.jsonl", "zh": "safety_zh.jsonl"}
CHECK = {"en": "safety_check_en.jsonl", "zh": "safety_check_zh.jsonl"}
CONSTRUCTS = "safety_constructs.jsonl"


def load(path: Path) -> list[dict[str, Any]]:
    """The rows, each with its half (``even`` / ``odd``) by position within its class."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    seen = {True: 0, False: 0}
    for row in rows:
        row["half"] = "even" if seen[bool(row["risk"])] % 2 == 0 else "odd"
        seen[bool(row["risk"])] += 1
    return rows


def in_half(row: dict[str, Any], half: str | None) -> bool:
    """Whether `row` is in the half named on the command line (``None``: every row)."""
    if half is None:
        return True
    if half.startswith("r4-"):
        return row.get("round") == 4 and row["half"] == half[3:]
    return bool(row["half"] == half)


def measure(rows: list[dict[str, Any]]) -> tuple[int, int, int, int, list[str], float]:
    """(risk messages, caught, harmless messages, false alarms, errors, seconds)."""
    n_risk = caught = n_ok = alarms = 0
    errors: list[str] = []
    t0 = time.perf_counter()
    for row in rows:
        hit = scan_risk(row["text"]) is not None
        sealed = row.get("round") == 5  # written to stay unread: never listed
        if row["risk"]:
            n_risk += 1
            caught += hit
            if not hit and not sealed:
                errors.append(f"missed      [{row['kind']}] {row['text']}")
        else:
            n_ok += 1
            alarms += hit
            if hit and not sealed:
                errors.append(f"false alarm [{row['kind']}] {row['text']}")
    return n_risk, caught, n_ok, alarms, errors, time.perf_counter() - t0


def figures() -> dict[str, dict[str, Any]]:
    """Per language and half (``all``, ``even``, ``odd``): counts, recall, false-alarm rate."""
    out: dict[str, dict[str, Any]] = {}
    for lang, name in SETS.items():
        rows = load(DATA / name)
        fourth = [r for r in rows if r.get("round") == 4]
        fifth = [r for r in rows if r.get("round") == 5]
        for half in ("all", "even", "odd", "r4-even", "r4-odd", "r5"):
            part = [r for r in rows if half == "all" or r["half"] == half]
            if half.startswith("r4-"):
                part = [r for r in fourth if r["half"] == half[3:]]
            if half == "r5":
                if not fifth:
                    continue
                part = fifth
            n_risk, caught, n_ok, alarms, errors, _ = measure(part)
            out[f"{lang}/{half}"] = {
                "risk": n_risk,
                "recall": round(caught / n_risk, 3),
                "harmless": n_ok,
                "false_alarms": round(alarms / n_ok, 3),
                "errors": errors,
            }
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-v", action="store_true", help="list misses and false alarms")
    parser.add_argument(
        "--half", choices=("even", "odd", "r4-even", "r4-odd"), help="list errors of this half only"
    )
    args = parser.parse_args()
    print(f"{'set':10s} {'risk':>5s} {'recall':>7s} {'harmless':>9s} {'false alarms':>13s}")
    for key, f in figures().items():
        print(
            f"{key:10s} {f['risk']:5d} {f['recall']:7.3f} {f['harmless']:9d} "
            f"{f['false_alarms']:13.3f}"
        )
        if args.v and key.endswith("/" + (args.half or "all")):
            for e in f["errors"]:
                print("   ", e)
    for lang, name in CHECK.items():
        rows = load(DATA / name)
        n_risk, caught, n_ok, alarms, _, _ = measure(rows)
        key = f"check/{lang}"
        print(f"{key:10s} {n_risk:5d} {caught / n_risk:7.3f} {n_ok:9d} {alarms / n_ok:13.3f}")
    constructs = load(DATA / CONSTRUCTS)
    for lang in ("en", "zh"):
        part = [r for r in constructs if r["lang"] == lang]
        for r in part:
            r.setdefault("kind", "construct")
        n_risk, caught, n_ok, alarms, errors, _ = measure(part)
        key = f"constr/{lang}"
        print(f"{key:10s} {n_risk:5d} {caught / n_risk:7.3f} {n_ok:9d} {alarms / n_ok:13.3f}")
        if args.v:
            for e in errors:
                print("   ", e)
    try:
        import opencc
    except ImportError:
        print("(opencc not installed: no Traditional copy of the Chinese set)")
        return 0
    for prefix, rows, listed in (
        ("zh", load(DATA / SETS["zh"]), True),
        ("check", load(DATA / CHECK["zh"]), False),
    ):
        for name, config in (("TW", "s2twp.json"), ("HK", "s2hk.json")):
            cc = opencc.OpenCC(config)
            converted = [{**r, "text": cc.convert(r["text"])} for r in rows]
            n_risk, caught, n_ok, alarms, errors, _ = measure(converted)
            key = f"{prefix}-{name}"
            print(f"{key:10s} {n_risk:5d} {caught / n_risk:7.3f} {n_ok:9d} {alarms / n_ok:13.3f}")
            if args.v and listed:
                # only the half asked for: the untouched half's lines stay unread
                shown = [r for r in converted if in_half(r, args.half)]
                for e in measure(shown)[4]:
                    print("   ", e)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

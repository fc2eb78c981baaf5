"""The embedded scorer's ESConv and Chinese figures on even and odd halves, beside baselines.

The readable rules (`_lexicon.py`, `_lexicon_zh.py`, the weights in `_embedded.py`) are tuned
by reading errors on the EVEN-indexed conversations of each set only; the odd half is left
untouched and reported apart, so the gap between the halves shows how much of a figure is
tuning. The sets are measurement-only (see ``../shared/data/README.md``): they are read from
outside the repository and nothing is fitted to them.

Figures (the definitions of ``../shared/eval/dev_eval.py``, same trivial baselines):

* E1 / Z1: message directive score against "Providing Suggestions", AUC (baseline: a short
  English keyword list);
* P3 / Z2: message passive score, generic replies (Others, Affirmation and Reassurance) against
  exploring ones (Question, Restatement or Paraphrasing, Reflection of feelings), AUC (baseline:
  "the reply has no question mark");
* E2: session bond against the seeker's empathy rating, Spearman; E3: session overall against
  the seeker's relevance rating, Spearman (baseline: mean counselor turn length).

``--errors N`` prints the N worst-ranked messages of the EVEN half per figure and label (to
the terminal only: never commit their text). ``--constructs`` prints, on the even half, how
session-level client and counselor quantities correlate with the seeker's ratings.

Run from the project root:
    .venv/bin/python benchmarks/signal_halves.py [--data ../shared/data] [--only esconv,zh]

(``ALLIANCE_MONITOR_SHARED_DATA`` sets the default folder, as for the tests.)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
from pathlib import Path
from typing import Any

from alliance_monitor._batch import TranscriptResult, analyze_transcript
from alliance_monitor._io import parse_transcript
from alliance_monitor.evaluate._agreement import auc as _auc
from alliance_monitor.evaluate._agreement import spearman as _spearman
from alliance_monitor.scoring import EmbeddedScorer

EXPLORING = {"question", "restatement or paraphrasing", "reflection of feelings"}
GENERIC = {"others", "affirmation and reassurance"}
SUGGESTION = "providing suggestions"
SETS = {"esconv": "esconv_train.jsonl", "zh": "psyinsight_zh_dev.jsonl"}
_BASE_DIRECTIVE = re.compile(
    r"\b(you should|you need to|you have to|you must|try to|i suggest|i recommend|"
    r"why don't you|make sure)\b",
    re.I,
)


def auc(scores: list[float], labels: list[bool]) -> float:
    """AUC (the library's own, as `alliance-monitor evaluate` computes it); NaN when undefined."""
    v = _auc(scores, labels)
    return float("nan") if v is None else v


def spearman(x: list[float], y: list[float]) -> float:
    v = _spearman(x, y)
    return float("nan") if v is None else v


def load(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def analyze(convs: list[dict[str, Any]]) -> dict[str, TranscriptResult]:
    """Conversation id -> the embedded scorer's analysis, labels stripped."""
    scorer = EmbeddedScorer()
    out: dict[str, TranscriptResult] = {}
    for n, conv in enumerate(convs):
        bare = {
            "conversation_id": conv["conversation_id"],
            "messages": [{k: m[k] for k in ("id", "role", "text", "ts")} for m in conv["messages"]],
        }
        tr = parse_transcript(n, bare, [])
        if tr is not None:
            out[conv["conversation_id"]] = analyze_transcript(
                tr.conversation_id, tr.messages, scorer
            )
    return out


def _strategy(m: dict[str, Any]) -> str:
    return str(m["labels"].get("strategy") or "").lower()


def message_rows(
    convs: list[dict[str, Any]], results: dict[str, TranscriptResult]
) -> list[tuple[dict[str, Any], float, float]]:
    """(message, passive, directive) of every scored counselor message."""
    rows = []
    for c in convs:
        res = results.get(c["conversation_id"])
        if res is None:
            continue
        pats = {p.id: p for p in res.messages}
        for m in c["messages"]:
            p = pats.get(m["id"])
            if m["role"] == "counselor" and p is not None:
                rows.append((m, p.passive, p.directive))
    return rows


def _base_passive(text: str) -> float:
    return 0.0 if ("?" in text or "\uff1f" in text) else 1.0


def _turn_length(conv: dict[str, Any]) -> float:
    words = [len(m["text"].split()) for m in conv["messages"] if m["role"] == "counselor"]
    return statistics.fmean(words) if words else 0.0


def figures(
    name: str, convs: list[dict[str, Any]], results: dict[str, TranscriptResult]
) -> dict[str, tuple[float, float]]:
    """Figure -> (scorer, baseline)."""
    rows = message_rows(convs, results)
    d_l = [_strategy(m) == SUGGESTION for m, _, _ in rows]
    d_s = [d for _, _, d in rows]
    d_b = [1.0 if _BASE_DIRECTIVE.search(m["text"]) else 0.0 for m, _, _ in rows]
    pr = [(m, p) for m, p, _ in rows if _strategy(m) in EXPLORING | GENERIC]
    p_l = [_strategy(m) in GENERIC for m, _ in pr]
    p_s = [p for _, p in pr]
    p_b = [_base_passive(m["text"]) for m, _ in pr]
    d, p = ("E1", "P3") if name == "esconv" else ("Z1", "Z2")
    out = {d: (auc(d_s, d_l), auc(d_b, d_l)), p: (auc(p_s, p_l), auc(p_b, p_l))}
    if name == "esconv":
        for fig, dim, label in (
            ("E2", "bond", "seeker_empathy"),
            ("E3", "overall", "seeker_relevance"),
        ):
            sel = [c for c in convs if c["labels"].get(label) is not None]
            ys = [float(c["labels"][label]) for c in sel]
            xs = [float(getattr(results[c["conversation_id"]].alliance, dim)) for c in sel]
            base = [_turn_length(c) for c in sel]
            out[fig] = (spearman(xs, ys), spearman(base, ys))
    return out


def errors(convs: list[dict[str, Any]], results: dict[str, TranscriptResult], n: int) -> None:
    """The worst-ranked messages of each kind (terminal only)."""
    rows = message_rows(convs, results)
    by_strategy: dict[str, list[tuple[dict[str, Any], float, float]]] = {}
    for r in rows:
        by_strategy.setdefault(_strategy(r[0]), []).append(r)
    print("\n-- passive: generic replies scored LOW (missed), by strategy")
    for strat in sorted(GENERIC):
        for m, p, _ in sorted(by_strategy.get(strat, []), key=lambda r: r[1])[:n]:
            print(f"  [{strat[:10]}] {p:.2f} {m['text'][:150]!r}")
    print("\n-- passive: exploring replies scored HIGH (false alarms), by strategy")
    for strat in sorted(EXPLORING):
        for m, p, _ in sorted(by_strategy.get(strat, []), key=lambda r: -r[1])[:n]:
            print(f"  [{strat[:10]}] {p:.2f} {m['text'][:150]!r}")
    print("\n-- directive: suggestions scored LOW (missed)")
    for m, _, d in sorted(by_strategy.get(SUGGESTION, []), key=lambda r: r[2])[:n]:
        print(f"  {d:.2f} {m['text'][:150]!r}")
    print("\n-- directive: other replies scored HIGH (false alarms), by strategy")
    others = [r for r in rows if _strategy(r[0]) != SUGGESTION]
    for m, _, d in sorted(others, key=lambda r: -r[2])[: 2 * n]:
        print(f"  [{_strategy(m)[:10]}] {d:.2f} {m['text'][:150]!r}")


def main() -> int:
    root = Path(__file__).resolve().parents[1]
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    default = os.environ.get("ALLIANCE_MONITOR_SHARED_DATA") or root.parent / "shared" / "data"
    ap.add_argument("--data", type=Path, default=Path(default))
    ap.add_argument("--only", default="esconv,zh")
    ap.add_argument("--errors", type=int, default=0, help="print N errors per kind (even half)")
    args = ap.parse_args()
    for name in args.only.split(","):
        path = args.data / SETS[name]
        if not path.exists():
            print(f"no {name} set at {path} (pass --data)", file=sys.stderr)
            return 2
        convs = load(path)
        results = analyze(convs)
        halves = {"even (tuned on)": convs[0::2], "odd (untouched)": convs[1::2], "all": convs}
        print(f"== {name}: {len(convs)} conversations (figure: scorer / baseline)")
        table = {h: figures(name, part, results) for h, part in halves.items()}
        keys = list(table["all"])
        print(f"  {'half':18s}" + "".join(f"{k:>16s}" for k in keys))
        for h, figs in table.items():
            cells = "".join(f"   {figs[k][0]:6.3f} / {figs[k][1]:5.3f}" for k in keys)
            print(f"  {h:18s}{cells}")
        if args.errors:
            errors(convs[0::2], results, args.errors)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

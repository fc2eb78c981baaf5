"""Chinese embedded-scorer figures on the two halves of the Chinese dev set, and analyze speed.

The Chinese cue lexicon (`alliance_monitor/scoring/_lexicon_zh.py`) was tuned by reading
errors on the EVEN-indexed sessions of ``psyinsight_zh_dev.jsonl`` only; the odd-indexed half
was left untouched and is reported apart, so the gap between the halves shows how much of the
figure is tuning. The data set is measurement-only (see ``../shared/data/README.md``): it is
read from outside the repository and nothing is fitted to it.

Figures (same definitions as ``../shared/eval/dev_eval.py``):

* Z1: message directive score against the "Providing Suggestions" strategy label, AUC;
* Z2: message passive score, generic replies (Others, Affirmation and Reassurance) against
  exploring ones (Question, Restatement or Paraphrasing, Reflection of feelings), AUC;
* abstention: the share of sessions whose ``analyze`` trajectory is ``insufficient_evidence``
  (issue 21 item 2: target <= 25%, while greetings and small talk still abstain);
* Traditional script: Z1 and Z2 on Taiwan and Hong Kong copies of the set (converted by OpenCC,
  a dev dependency), beside the Simplified figures, and the abstention share there;
* speed: ``analyze`` (embedded scorer, in process, no I/O) in messages per second on the Chinese
  set and on an English set (AnnoMI), best of `--repeat` interleaved runs, and their ratio; and
  on AnnoMI cut into sessions as long as the Chinese ones (a session's fixed costs, its phase
  windows and their re-cutting, weigh more per message in short sessions: this ratio compares
  the languages).

Run from the project root:
    .venv/bin/python benchmarks/zh_halves.py [--data ../shared/data] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from alliance_monitor import Trajectory
from alliance_monitor._batch import analyze_transcript
from alliance_monitor._io import parse_transcript
from alliance_monitor.scoring import EmbeddedScorer
from alliance_monitor.scoring._embedded import _read
from alliance_monitor.scoring._model_zh import load_model_zh

EXPLORING = {"question", "restatement or paraphrasing", "reflection of feelings"}
GENERIC = {"others", "affirmation and reassurance"}


def auc(scores: list[float], labels: list[bool]) -> float:
    """Mann-Whitney AUC with ties counted half."""
    pos = [s for s, y in zip(scores, labels, strict=True) if y]
    neg = [s for s, y in zip(scores, labels, strict=True) if not y]
    if not pos or not neg:
        return float("nan")
    order = sorted(scores)
    # rank of each value (mean rank of ties), 1-based
    ranks: dict[float, float] = {}
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and order[j + 1] == order[i]:
            j += 1
        ranks[order[i]] = (i + j) / 2 + 1
        i = j + 1
    r = sum(ranks[s] for s in pos)
    return (r - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg))


def load(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def analyze(
    convs: list[dict[str, Any]], limit: int | None = None, abstained: set[str] | None = None
) -> dict[str, dict[str, float]]:
    """Message id -> {"passive", "directive"} from the embedded scorer, labels stripped; the ids
    of the sessions whose trajectory is insufficient_evidence go into `abstained` if given."""
    scorer = EmbeddedScorer()
    out: dict[str, dict[str, float]] = {}
    for n, conv in enumerate(convs):
        bare = {
            "conversation_id": conv["conversation_id"],
            "messages": [
                {k: m[k] for k in ("id", "role", "text", "ts")} for m in conv["messages"][:limit]
            ],
        }
        tr = parse_transcript(n, bare, [])
        if tr is None:
            continue
        res = analyze_transcript(tr.conversation_id, tr.messages, scorer)
        if abstained is not None and res.trajectory is Trajectory.INSUFFICIENT_EVIDENCE:
            abstained.add(conv["conversation_id"])
        for m in res.messages:
            out[m.id] = {"passive": m.passive, "directive": m.directive}
    return out


def figures(
    convs: list[dict[str, Any]], scores: dict[str, dict[str, float]]
) -> tuple[float, float]:
    d_s: list[float] = []
    d_l: list[bool] = []
    p_s: list[float] = []
    p_l: list[bool] = []
    for conv in convs:
        for m in conv["messages"]:
            s = scores.get(m["id"])
            if m["role"] != "counselor" or s is None:
                continue
            strat = (m["labels"].get("strategy") or "").lower()
            d_s.append(s["directive"])
            d_l.append(strat == "providing suggestions")
            if strat in EXPLORING or strat in GENERIC:
                p_s.append(s["passive"])
                p_l.append(strat in GENERIC)
    return auc(d_s, d_l), auc(p_s, p_l)


def forget() -> None:
    """Empty the scorer's memory of texts it has read, so that each timed run reads its set
    afresh (a repeated run would otherwise find the smaller set's texts remembered)."""
    _read.cache_clear()
    load_model_zh().memo.clear()


def same_shape(en: list[dict[str, Any]], zh: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """English sessions of the Chinese set's shape: AnnoMI conversations cut into consecutive
    pieces as long as a Chinese session is on average (as many messages in all as the Chinese
    set), so the two speeds compare languages and not session lengths."""
    size = round(sum(len(c["messages"]) for c in zh) / len(zh))
    total = sum(len(c["messages"]) for c in zh)
    out: list[dict[str, Any]] = []
    for c in en:
        msgs = c["messages"]
        for i in range(0, len(msgs) - size + 1, size):
            if len(out) * size >= total:
                return out
            out.append(
                {"conversation_id": f"{c['conversation_id']}#{i}", "messages": msgs[i : i + size]}
            )
    return out


def speed(sets: list[list[dict[str, Any]]], repeat: int) -> list[float]:
    """Messages per second of each set, best of `repeat` runs, the sets interleaved so that a
    busy machine slows them alike."""
    best = [float("inf")] * len(sets)
    for _ in range(repeat):
        for i, convs in enumerate(sets):
            forget()
            t0 = time.perf_counter()
            analyze(convs)
            best[i] = min(best[i], time.perf_counter() - t0)
    return [sum(len(c["messages"]) for c in convs) / b for convs, b in zip(sets, best, strict=True)]


def main() -> int:
    root = Path(__file__).resolve().parents[1]
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=root.parent / "shared" / "data")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    zh_path, en_path = args.data / "psyinsight_zh_dev.jsonl", args.data / "annomi.jsonl"
    if not zh_path.exists():
        print(f"no Chinese dev set at {zh_path} (pass --data)", file=sys.stderr)
        return 2
    convs = load(zh_path)
    abstained: set[str] = set()
    scores = analyze(convs, abstained=abstained)
    halves = {
        "even (tuned on)": convs[0::2],
        "odd (untouched)": convs[1::2],
        "all": convs,
    }
    print(f"Chinese dev set: {len(convs)} sessions")
    print(f"  {'half':18s} {'Z1 directive AUC':>17s} {'Z2 passive AUC':>15s}")
    simplified = {}
    for name, part in halves.items():
        z1, z2 = simplified[name] = figures(part, scores)
        print(f"  {name:18s} {z1:17.3f} {z2:15.3f}")
    print("  trajectory insufficient_evidence (target <= 25%):")
    print("   ", share(halves, abstained))
    traditional(convs, simplified)
    if en_path.exists():
        en = load(en_path)
        shaped = same_shape(en, convs)
        zh_rate, en_rate, shaped_rate = speed([convs, en, shaped], args.repeat)
        print(
            f"analyze speed (embedded, in process, best of {args.repeat} interleaved runs): "
            f"Chinese {zh_rate:,.0f} msg/s, English (AnnoMI) {en_rate:,.0f} msg/s, "
            f"Chinese/English {zh_rate / en_rate:.2f} (target >= 0.9)"
        )
        size = len(shaped[0]["messages"]) if shaped else 0
        print(
            f"  same shape: AnnoMI cut into {size}-message sessions (the Chinese set's mean) "
            f"{shaped_rate:,.0f} msg/s, Chinese/English {zh_rate / shaped_rate:.2f}"
        )
    return 0


def traditional(convs: list[dict[str, Any]], simplified: dict[str, tuple[float, float]]) -> None:
    """The same figures on Traditional-script copies of the set (OpenCC's ``s2twp``: Taiwan
    characters and vocabulary; ``s2hk``: Hong Kong), beside the Simplified ones. Needs the
    `opencc` package (a dev dependency)."""
    try:
        import opencc
    except ImportError:
        print("  (opencc not installed: no Traditional copy)")
        return
    for label, config in (
        ("Traditional, Taiwan (s2twp)", "s2twp.json"),
        ("Hong Kong (s2hk)", "s2hk.json"),
    ):
        cc = opencc.OpenCC(config)
        copy = [
            {**c, "messages": [{**m, "text": cc.convert(m["text"])} for m in c["messages"]]}
            for c in convs
        ]
        abstained: set[str] = set()
        scores = analyze(copy, abstained=abstained)
        print(f"  {label}: Z1 / Z2, and minus Simplified")
        for name, part in (("even", copy[0::2]), ("odd", copy[1::2]), ("all", copy)):
            z1, z2 = figures(part, scores)
            ref = next(v for k, v in simplified.items() if k.startswith(name))
            print(f"  {name:18s} {z1:17.3f} {z2:15.3f}   ({z1 - ref[0]:+.3f} / {z2 - ref[1]:+.3f})")
        halves = {"even": copy[0::2], "odd": copy[1::2], "all": copy}
        print("    insufficient_evidence:", share(halves, abstained))


def share(halves: dict[str, list[dict[str, Any]]], abstained: set[str]) -> str:
    """ "even 33/93 = 35.5%, ...": sessions whose trajectory abstained, per half."""
    parts = []
    for name, part in halves.items():
        n = sum(c["conversation_id"] in abstained for c in part)
        parts.append(f"{name.split()[0]} {n}/{len(part)} = {100 * n / len(part):.1f}%")
    return ", ".join(parts)


if __name__ == "__main__":
    raise SystemExit(main())

"""Calibrate the embedded scorer against the labelled AnnoMI transcripts.

    .venv/bin/python benchmarks/calibrate.py [--data ../shared/data/annomi.jsonl]

Prints, for all conversations and for the even / odd halves (the lexicons were checked on the
even half; the odd half is the held-out check):

* session AUC, high vs low MI quality, on the first 20 messages of each conversation (low-quality
  sessions are much shorter, so whole sessions would measure length). The session score is the
  overall alliance of `analyze_transcript`: thirds of exchanges scored as windows, combined by an
  exchange-weighted mean. Also per dimension, and with the 20-message prefix as one window.
* the trivial baseline of the data README: mean counselor turn length (shorter = better).
* the per-message directive score against counselor utterances labelled advice, over every
  counselor utterance; flag precision / recall at 0.5; passive flag rates in high vs low sessions.
* the spread of the scale: overall scores of consecutive 12-message windows (about the monitor's
  six-exchange window), 10th / 50th / 90th percentile, in high- and low-quality sessions.
* the scorer's cost per message.

`--table` prints the cue -> construct evidence table as Markdown (docs/embedded-scorer.md embeds
it). Pure stdlib plus the library; deterministic.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from alliance_monitor import CONSTRUCTS, Message, Role, ScoringMessage, WindowRequest  # noqa: E402
from alliance_monitor._batch import analyze_transcript  # noqa: E402
from alliance_monitor.scoring._embedded import EmbeddedScorer  # noqa: E402
from alliance_monitor.scoring._lexicon import CONTEXT_CUES, EVIDENCE  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "data" / "annomi.jsonl"
PREFIX = 20
WINDOW = 12
DIMS = ("overall", "goal", "task", "bond")


@dataclass(frozen=True)
class Conversation:
    id: str
    high: bool
    messages: tuple[Message, ...]
    labels: tuple[dict[str, Any], ...]


def load(path: Path) -> list[Conversation]:
    out = []
    if path.suffix == ".gz":  # the AnnoMI copy in tests/data
        import gzip

        text = gzip.decompress(path.read_bytes()).decode("utf-8")
    else:
        text = path.read_text(encoding="utf-8")
    for line in text.splitlines():
        if not line.strip():
            continue
        raw = json.loads(line)
        msgs, labels = [], []
        for m in raw["messages"]:
            if not m["text"].strip():
                continue
            msgs.append(
                Message(
                    conversation_id=raw["conversation_id"],
                    id=m["id"],
                    role=m["role"],
                    text=m["text"],
                    ts=m["ts"],
                )
            )
            labels.append(m.get("labels", {}))
        out.append(
            Conversation(
                raw["conversation_id"],
                raw["labels"]["mi_quality"] == "high",
                tuple(msgs),
                tuple(labels),
            )
        )
    return out


def auc(pos: Sequence[float], neg: Sequence[float]) -> float:
    """P(random positive > random negative), ties count half (Mann-Whitney U / n1 n2)."""
    ranked = sorted([(v, 1) for v in pos] + [(v, 0) for v in neg])
    rank_sum, i = 0.0, 0
    while i < len(ranked):
        j = i
        while j < len(ranked) and ranked[j][0] == ranked[i][0]:
            j += 1
        mid = (i + j + 1) / 2.0  # average 1-based rank of the tie block
        rank_sum += mid * sum(flag for _, flag in ranked[i:j])
        i = j
    n1, n0 = len(pos), len(neg)
    return (rank_sum - n1 * (n1 + 1) / 2.0) / (n1 * n0) if n1 and n0 else float("nan")


def _scoring(msgs: Sequence[Message]) -> tuple[ScoringMessage, ...]:
    return tuple(ScoringMessage(m.id, m.role, m.text, m.ts) for m in msgs)


def session_figures(convs: Sequence[Conversation], scorer: EmbeddedScorer) -> dict[str, float]:
    """Session AUCs on the first `PREFIX` messages: phases combined, per dimension, one window."""
    phase: dict[str, list[tuple[float, bool]]] = {d: [] for d in DIMS}
    whole: list[tuple[float, bool]] = []
    length: list[tuple[float, bool]] = []
    for c in convs:
        prefix = c.messages[:PREFIX]
        result = analyze_transcript(c.id, prefix, scorer)
        for d in DIMS:
            phase[d].append((result.alliance.get(d), c.high))
        req = WindowRequest(c.id, 0, _scoring(prefix), PREFIX // 2, kind="session")
        one = scorer.score_sync(req).scores
        assert one is not None
        whole.append((one.overall, c.high))
        turns = [len(m.text) for m in prefix if m.role is Role.COUNSELOR]
        length.append((-sum(turns) / max(len(turns), 1), c.high))

    def split(pairs: list[tuple[float, bool]]) -> float:
        return auc([v for v, h in pairs if h], [v for v, h in pairs if not h])

    out = {f"session_{d}": split(phase[d]) for d in DIMS}
    out["session_one_window"] = split(whole)
    out["baseline_turn_length"] = split(length)
    return out


def message_figures(convs: Sequence[Conversation], scorer: EmbeddedScorer) -> dict[str, float]:
    """Directive score vs advice labels over every counselor utterance; passive flag rates."""
    pos: list[float] = []
    neg: list[float] = []
    tp = fp = fn = 0
    passive: dict[bool, list[int]] = {True: [0, 0], False: [0, 0]}
    for c in convs:
        patterns = {p.id: p for p in scorer.message_patterns(_scoring(c.messages))}
        for m, lab in zip(c.messages, c.labels, strict=True):
            if m.role is not Role.COUNSELOR:
                continue
            p = patterns[m.id]
            advice = lab.get("therapist_input_subtype") == "advice"
            (pos if advice else neg).append(p.directive)
            tp += advice and p.is_directive
            fp += (not advice) and p.is_directive
            fn += advice and not p.is_directive
            passive[c.high][0] += p.is_passive
            passive[c.high][1] += 1
    return {
        "directive_auc": auc(pos, neg),
        "directive_precision": tp / max(tp + fp, 1),
        "directive_recall": tp / max(tp + fn, 1),
        "n_advice": float(len(pos)),
        "n_counselor": float(len(pos) + len(neg)),
        "passive_rate_high": passive[True][0] / max(passive[True][1], 1),
        "passive_rate_low": passive[False][0] / max(passive[False][1], 1),
    }


def window_figures(convs: Sequence[Conversation], scorer: EmbeddedScorer) -> dict[str, float]:
    """Percentiles of the overall score of consecutive `WINDOW`-message windows, by quality."""
    values: dict[bool, list[float]] = {True: [], False: []}
    for c in convs:
        msgs = _scoring(c.messages)
        for start in range(0, len(msgs) - WINDOW + 1, WINDOW):
            req = WindowRequest(c.id, 0, msgs[start : start + WINDOW], WINDOW // 2)
            score = scorer.score_sync(req).scores
            assert score is not None
            values[c.high].append(score.overall)
    out = {}
    for high, name in ((True, "high"), (False, "low")):
        v = sorted(values[high])
        for q in (10, 50, 90):
            out[f"window_{name}_p{q}"] = v[round(q / 100 * (len(v) - 1))] if v else float("nan")
    return out


def timing(convs: Sequence[Conversation], scorer: EmbeddedScorer, repeat: int = 3) -> float:
    """Best-of-`repeat` microseconds per message to score every conversation as one window."""
    reqs = [WindowRequest(c.id, 0, _scoring(c.messages), 0) for c in convs]
    n = sum(len(r.messages) for r in reqs)
    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        for r in reqs:
            scorer.score_sync(r)
        best = min(best, time.process_time() - t0)
    return best / n * 1e6


def calibrate(path: Path) -> dict[str, dict[str, float]]:
    """All figures, keyed by subset ("all", "even", "odd")."""
    convs = load(path)
    scorer = EmbeddedScorer()
    subsets = {"all": convs, "even": convs[0::2], "odd": convs[1::2]}
    return {
        name: {
            **session_figures(sub, scorer),
            **message_figures(sub, scorer),
            **window_figures(sub, scorer),
        }
        for name, sub in subsets.items()
    }


def evidence_table() -> str:
    """The cue -> construct table of `_lexicon.EVIDENCE` as Markdown."""
    ids = [c for group in CONSTRUCTS.values() for c in group]
    lines = ["| cue | " + " | ".join(ids) + " |", "|---|" + "---|" * len(ids)]
    for cue, weights in EVIDENCE.items():
        if not weights:
            continue
        name = f"{cue}*" if cue in CONTEXT_CUES else cue
        cells = [f"{weights[c]:+.1f}" if c in weights else "" for c in ids]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


ROWS: tuple[tuple[str, str, str], ...] = (
    ("session AUC overall (phases, 20 msgs)", "session_overall", "target >= 0.85"),
    ("session AUC goal", "session_goal", ""),
    ("session AUC task", "session_task", ""),
    ("session AUC bond", "session_bond", ""),
    ("session AUC, 20 msgs as one window", "session_one_window", ""),
    ("baseline: counselor turn length", "baseline_turn_length", "README: 0.76"),
    ("directive AUC vs advice labels", "directive_auc", "target >= 0.80"),
    ("directive flag precision @0.5", "directive_precision", ""),
    ("directive flag recall @0.5", "directive_recall", ""),
    ("passive flag rate, high sessions", "passive_rate_high", ""),
    ("passive flag rate, low sessions", "passive_rate_low", ""),
    ("12-msg window overall, high: p10", "window_high_p10", "scale spread"),
    ("12-msg window overall, high: median", "window_high_p50", ""),
    ("12-msg window overall, high: p90", "window_high_p90", ""),
    ("12-msg window overall, low: p10", "window_low_p10", ""),
    ("12-msg window overall, low: median", "window_low_p50", ""),
    ("12-msg window overall, low: p90", "window_low_p90", ""),
)


def report(figures: dict[str, dict[str, float]], path: Path) -> str:
    all_ = figures["all"]
    head = (
        f"embedded scorer {EmbeddedScorer.version} on {path.name}: "
        f"{int(all_['n_counselor'])} counselor utterances, {int(all_['n_advice'])} advice"
    )
    lines = [head, f"{'figure':40} {'all':>7} {'even':>7} {'odd':>7}  note"]
    for label, key, note in ROWS:
        vals = " ".join(f"{figures[s][key]:7.3f}" for s in ("all", "even", "odd"))
        lines.append(f"{label:40} {vals}  {note}")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--table", action="store_true", help="print the evidence table and exit")
    parser.add_argument("--no-timing", action="store_true", help="skip the timing run")
    args = parser.parse_args(argv)
    if args.table:
        print(evidence_table())
        return 0
    if not args.data.exists():
        print(f"data file not found: {args.data}", file=sys.stderr)
        return 2
    print(report(calibrate(args.data), args.data))
    if not args.no_timing:
        us = timing(load(args.data), EmbeddedScorer())
        print(f"scorer cost: {us:.1f} us per message (one window per conversation, best of 3)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

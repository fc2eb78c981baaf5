"""Train the embedded scorer's learned model on AnnoMI and write the shipped weights.

    .venv/bin/python scripts/train_embedded.py            # train, print figures, write weights
    .venv/bin/python scripts/train_embedded.py --check    # train and compare with the shipped file

Data: AnnoMI (public domain; Wu, Lang et al., Future Internet 2023), the copy in
tests/data/annomi.jsonl.gz (transcripts and the expert labels used here, nothing else), and the
counselor examples we wrote ourselves in training/written_counselor.txt. Nothing from ESConv or
Psy-Insight is read: their licences do not allow fitting shipped parameters.

Model: a multinomial logistic regression over sparse word features (`_model.py`): the counselor's
move (other / question / simple reflection / complex reflection / advice / other input).
Features are exactly what the scorer computes at run time (read through `_embedded._analyse`'s
capture hook). Fitting is plain stochastic gradient
descent with AdaGrad steps and L2, in pure Python, in a fixed order from a fixed seed: the same
data gives the same weights bit for bit (weights are rounded to 4 decimals when written).

Figures printed (cross-fitted, so that no figure is measured on data the model was fitted on):
a model is fitted on the even-indexed conversations and measured on the odd ones, and the other
way round; then the shipped model is fitted on all of them.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import random
import statistics
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from alliance_monitor import Message, Role, ScoringMessage  # noqa: E402
from alliance_monitor._batch import analyze_transcript  # noqa: E402
from alliance_monitor.evaluate._agreement import auc as _auc  # noqa: E402
from alliance_monitor.scoring import _lexicon as lx  # noqa: E402
from alliance_monitor.scoring._embedded import EmbeddedScorer, _analyse  # noqa: E402
from alliance_monitor.scoring._model import (  # noqa: E402
    COUNSELOR_CLASSES,
    WEIGHTS_FILE,
    Head,
    Model,
    counselor_features,
    tokens,
)

DATA = ROOT / "tests" / "data" / "annomi.jsonl.gz"
WRITTEN = ROOT / "training" / "written_counselor.txt"
#: Each written example counts this many times (they are few beside AnnoMI's 4,882).
WRITTEN_REPEAT = 8
OUT = ROOT / "alliance_monitor" / "scoring" / WEIGHTS_FILE
SEED = 20241
EPOCHS = 5
RATE = 0.02
L2 = 1e-4
MIN_COUNT = 3
DIGITS = 4


def load(path: Path) -> list[dict[str, object]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def counselor_class(labels: dict[str, str]) -> str:
    main = labels.get("main_therapist_behaviour")
    if main == "question":
        return "question"
    if main == "reflection":
        return (
            "reflection_complex"
            if labels.get("reflection_subtype") == "complex"
            else ("reflection_simple")
        )
    if main == "therapist_input":
        return "advice" if labels.get("therapist_input_subtype") == "advice" else "input"
    return "other"


def examples(convs: list[dict[str, object]]) -> list[tuple[list[str], int]]:
    """(features, class index) per counselor message, in transcript order."""
    counselor: list[tuple[list[str], int]] = []
    for c in convs:
        msgs = c["messages"]  # type: ignore[index]
        labels = {m["id"]: m["labels"] for m in msgs}  # type: ignore[index]
        scoring = [
            ScoringMessage(m["id"], Role(m["role"]), m["text"], float(m["ts"]))  # type: ignore[index]
            for m in msgs  # type: ignore[union-attr]
        ]
        capture: list[tuple[str, str, list[str]]] = []
        _analyse(scoring, None, None, "en", capture)
        for mid, _side, feats in capture:
            counselor.append((feats, COUNSELOR_CLASSES.index(counselor_class(labels[mid]))))
    return counselor


def fit(
    data: list[tuple[list[str], int]],
    classes: tuple[str, ...],
    seed: int,
    *,
    epochs: int = EPOCHS,
    rate: float = RATE,
    l2: float = L2,
    min_count: int = MIN_COUNT,
) -> Head:
    """Multinomial logistic regression, AdaGrad SGD, L2; deterministic for a given order.
    (The keywords default to this script's settings; the Chinese script passes its own.)"""
    counts = Counter(f for feats, _ in data for f in set(feats))
    vocab = sorted(f for f, n in counts.items() if n >= min_count)
    index = {f: i for i, f in enumerate(vocab)}
    k = len(classes)
    w = [[0.0] * k for _ in vocab]
    g = [[1e-8] * k for _ in vocab]
    b = [0.0] * k
    gb = [1e-8] * k
    rng = random.Random(seed)
    order = list(range(len(data)))
    rows = [([index[f] for f in feats if f in index], y) for feats, y in data]
    for _ in range(epochs):
        rng.shuffle(order)
        for n in order:
            idx, y = rows[n]
            z = list(b)
            for i in idx:
                wi = w[i]
                for c in range(k):
                    z[c] += wi[c]
            top = max(z)
            e = [math.exp(v - top) for v in z]
            s = sum(e)
            for c in range(k):
                grad = e[c] / s - (1.0 if c == y else 0.0)
                gb[c] += grad * grad
                b[c] -= rate * grad / math.sqrt(gb[c])
                for i in idx:
                    gi = grad + l2 * w[i][c]
                    g[i][c] += gi * gi
                    w[i][c] -= rate * gi / math.sqrt(g[i][c])
    weights = {}
    for f, i in index.items():
        row = tuple(round(x, DIGITS) for x in w[i])
        if any(abs(x) >= 10**-DIGITS for x in row):
            weights[f] = row
    return Head(classes, tuple(round(x, DIGITS) for x in b), weights)


def written(path: Path = WRITTEN) -> list[tuple[list[str], int]]:
    """Our own counselor examples (training/written_counselor.txt): class<TAB>text per line."""
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        label, text = line.split("\t", 1)
        feats = counselor_features(tokens(lx.normalize(text)), 0)
        out.append((feats, COUNSELOR_CLASSES.index(label)))
    return out


def train(convs: list[dict[str, object]], seed: int = SEED) -> Model:
    counselor = examples(convs)
    own = written()
    counselor = counselor + own * WRITTEN_REPEAT
    return Model(
        counselor=fit(counselor, COUNSELOR_CLASSES, seed),
        meta={
            "data": "AnnoMI (public domain), tests/data/annomi.jsonl.gz; counselor examples "
            "written by the authors, training/written_counselor.txt",
            "written_examples": len(own),
            "conversations": len(convs),
            "counselor_messages": len(counselor) - len(own) * WRITTEN_REPEAT,
            "seed": seed,
            "epochs": EPOCHS,
            "rate": RATE,
            "l2": L2,
            "min_count": MIN_COUNT,
        },
    )


# ------------------------------------------------------------------ figures
def auc(scores: list[float], labels: list[bool]) -> float:
    """AUC (the library's own, as `alliance-monitor evaluate` computes it); NaN when undefined."""
    v = _auc(scores, labels)
    return float("nan") if v is None else v


def message_figures(model: Model, convs: list[dict[str, object]]) -> dict[str, float]:
    counselor = examples(convs)
    out: dict[str, float] = {}
    probs = [model.counselor.proba(f) for f, _ in counselor]
    ys = [COUNSELOR_CLASSES[y] for _, y in counselor]
    for name, members in (
        ("question", {"question"}),
        ("reflection", {"reflection_simple", "reflection_complex"}),
        ("reflection_complex", {"reflection_complex"}),
        ("advice", {"advice"}),
        ("other", {"other"}),
    ):
        out[f"counselor {name} AUC"] = auc(
            [sum(p[c] for c in members) for p in probs], [y in members for y in ys]
        )
    out["counselor accuracy"] = statistics.fmean(
        max(p, key=p.__getitem__) == y for p, y in zip(probs, ys, strict=True)
    )
    return out


def session_figures(model: Model | None, convs: list[dict[str, object]]) -> dict[str, float]:
    """A1 and A2 as dev_eval measures them: first 20 messages; session overall, high vs low
    quality; message directive score against the "advice" labels."""
    scorer = EmbeddedScorer(model=model, use_model=model is not None)
    scores, lengths, labels = [], [], []
    directive: list[float] = []
    advised: list[bool] = []
    for c in convs:
        msgs = [
            Message(
                id=m["id"],  # type: ignore[index]
                conversation_id=str(c["conversation_id"]),
                role=Role(m["role"]),  # type: ignore[index]
                text=m["text"],  # type: ignore[index]
                ts=float(m["ts"]),  # type: ignore[index]
            )
            for m in c["messages"][:20]  # type: ignore[index]
        ]
        res = analyze_transcript(str(c["conversation_id"]), msgs, scorer)
        scores.append(res.alliance.overall)
        advice = {
            m["id"]: m["labels"].get("therapist_input_subtype") == "advice"  # type: ignore[index]
            for m in c["messages"][:20]  # type: ignore[index]
        }
        for p in res.messages:
            directive.append(p.directive)
            advised.append(advice[p.id])
        words = [len(m.text.split()) for m in msgs if m.role is Role.COUNSELOR] or [0]
        lengths.append(statistics.fmean(words))
        labels.append(c["labels"]["mi_quality"] == "high")  # type: ignore[index]
    base = auc(lengths, labels)
    out = {
        "A1 session AUC": auc(scores, labels),
        "A1 baseline turn length": max(base, 1 - base),
        "A2 directive vs advice AUC": auc(directive, advised),
    }
    # Not a proxy for length: the AUC within the shorter and the longer half of sessions by
    # mean counselor turn length (each stratum keeps high and low sessions).
    cut = statistics.median(lengths)
    for name, keep in (("short", lambda x: x <= cut), ("long", lambda x: x > cut)):
        idx = [i for i, x in enumerate(lengths) if keep(x)]
        out[f"A1 within {name}-turn half"] = auc([scores[i] for i in idx], [labels[i] for i in idx])
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--check", action="store_true", help="compare with --out instead of writing")
    ap.add_argument("--no-figures", action="store_true", help="skip the cross-fitted figures")
    args = ap.parse_args()
    convs = load(args.data)
    if not args.no_figures:
        halves = {"even": convs[0::2], "odd": convs[1::2]}
        rows: dict[str, dict[str, float]] = {}
        for test, train_on in (("odd", "even"), ("even", "odd")):
            m = train(halves[train_on])
            figs = message_figures(m, halves[test])
            figs.update(session_figures(m, halves[test]))
            rules = session_figures(None, halves[test])
            figs["A1 session AUC, rules only"] = rules["A1 session AUC"]
            figs["A2 directive vs advice AUC, rules only"] = rules["A2 directive vs advice AUC"]
            rows[test] = figs
        print(f"{'figure (fitted on the other half)':44s} {'even':>7s} {'odd':>7s}")
        for k in rows["odd"]:
            print(f"{k:44s} {rows['even'][k]:7.3f} {rows['odd'][k]:7.3f}")
    model = train(convs)
    text = model.to_json_text()
    print(
        f"shipped model: {len(model.counselor.weights)} features x "
        f"{len(COUNSELOR_CLASSES)} classes, {len(text.encode()):,} bytes"
    )
    if args.check:
        same = args.out.read_text(encoding="utf-8") == text
        print("weights reproduce the shipped file bit for bit" if same else "weights DIFFER")
        return 0 if same else 1
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

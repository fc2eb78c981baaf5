"""Train the embedded scorer's Chinese move model on our own written examples; write the weights.

    .venv/bin/python scripts/train_embedded_zh.py            # train, print figures, write weights
    .venv/bin/python scripts/train_embedded_zh.py --check    # compare with the shipped file

Data: ONLY the Chinese counselor messages we wrote ourselves, training/written_counselor_zh.txt
(class<TAB>text; the classes are explained at the top of that file). No data set is read:
Psy-Insight (the Chinese dev set) is for measuring only and its licence does not allow fitting
shipped parameters to it; benchmarks/zh_halves.py measures the result on it.

Model: a multinomial logistic regression over the character n-gram features of
`alliance_monitor.scoring._model_zh.zh_features`, computed on the text exactly as the scorer
normalises it at run time (`_lexicon.normalize`). Each example is also seen without its final
punctuation (chat often leaves it off). Fitting is the English script's (`train_embedded.fit`:
AdaGrad SGD with L2, fixed order from a fixed seed), so the same file gives the same weights bit
for bit.

Figures printed: 5-fold cross-validation on the written examples (each example is scored by a
model that did not see it): accuracy, and the AUC of the scorer's two readings, "explores"
(question + reflection) and "directs" (suggestion + instruction).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from train_embedded import auc, fit  # noqa: E402

from alliance_monitor.scoring import _lexicon as lx  # noqa: E402
from alliance_monitor.scoring._model import Model  # noqa: E402
from alliance_monitor.scoring._model_zh import CLASSES, WEIGHTS_FILE, zh_features  # noqa: E402

WRITTEN = ROOT / "training" / "written_counselor_zh.txt"
OUT = ROOT / "alliance_monitor" / "scoring" / WEIGHTS_FILE
SEED = 20242
EPOCHS = 8
RATE = 0.05
L2 = 1e-4
MIN_COUNT = 2
FOLDS = 5
_END_PUNCT = "。.!！?？~～…"

Example = tuple[list[str], int]


def written(path: Path = WRITTEN) -> list[tuple[str, int]]:
    """(text, class index) per line of the written file (comments and blank lines skipped)."""
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        label, sep, text = line.partition("\t")
        if not sep or label not in CLASSES or not text.strip():
            raise SystemExit(f"{path.name}:{n}: expected class<TAB>text with a known class")
        out.append((text.strip(), CLASSES.index(label)))
    return out


def examples(rows: list[tuple[str, int]]) -> list[Example]:
    """Features of each written example, and of the same text without its final punctuation."""
    out: list[Example] = []
    for text, y in rows:
        out.append((zh_features(lx.normalize(text)), y))
        bare = text.rstrip(_END_PUNCT)
        if bare and bare != text:
            out.append((zh_features(lx.normalize(bare)), y))
    return out


def train(rows: list[tuple[str, int]], seed: int = SEED) -> Model:
    head = fit(examples(rows), CLASSES, seed, epochs=EPOCHS, rate=RATE, l2=L2, min_count=MIN_COUNT)
    return Model(
        counselor=head,
        meta={
            "data": "Chinese counselor messages written by the authors, "
            "training/written_counselor_zh.txt; nothing else",
            "written_examples": len(rows),
            "seed": seed,
            "epochs": EPOCHS,
            "rate": RATE,
            "l2": L2,
            "min_count": MIN_COUNT,
        },
    )


def cross_validated(rows: list[tuple[str, int]]) -> dict[str, float]:
    """Accuracy and AUCs with each example scored by a model fitted without it (fold = index
    modulo `FOLDS`)."""
    probs: list[dict[str, float]] = [{} for _ in rows]
    for k in range(FOLDS):
        model = train([r for i, r in enumerate(rows) if i % FOLDS != k])
        for i, (text, _) in enumerate(rows):
            if i % FOLDS == k:
                probs[i] = model.counselor.proba(zh_features(lx.normalize(text)))
    ys = [CLASSES[y] for _, y in rows]
    out = {
        "accuracy": statistics.fmean(
            max(p, key=p.__getitem__) == y for p, y in zip(probs, ys, strict=True)
        )
    }
    for name, members in (
        ("explores (question + reflection)", {"question", "reflection"}),
        ("directs (suggestion + instruction)", {"suggestion", "instruction"}),
        ("generic (reassurance + other)", {"reassurance", "other"}),
    ):
        out[f"AUC {name}"] = auc(
            [sum(p[c] for c in members) for p in probs], [y in members for y in ys]
        )
    for c in CLASSES:
        picked = [max(p, key=p.__getitem__) == c for p in probs]
        hits = [pk for pk, y in zip(picked, ys, strict=True) if y == c]
        out[f"recall {c}"] = statistics.fmean(hits) if hits else float("nan")
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--check", action="store_true", help="compare with --out instead of writing")
    ap.add_argument("--no-figures", action="store_true", help="skip the cross-validated figures")
    args = ap.parse_args()
    rows = written()
    if not args.no_figures:
        print(f"{len(rows)} written examples; {FOLDS}-fold cross-validated:")
        for k, v in cross_validated(rows).items():
            print(f"  {k:40s} {v:6.3f}")
    model = train(rows)
    text = model.to_json_text()
    print(
        f"shipped model: {len(model.counselor.weights)} features x {len(CLASSES)} classes, "
        f"{len(text.encode()):,} bytes"
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

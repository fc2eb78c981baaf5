"""Train the safety net's learned reader on statements we wrote ourselves; write the weights.

    .venv/bin/python scripts/train_safety_reader.py            # train, print figures, write
    .venv/bin/python scripts/train_safety_reader.py --check    # compare with the shipped file

English only (Chinese messages are read by the phrase lists alone: no ordinary Chinese
counseling text may be fitted on, and without it a reader over-fires on ordinary Chinese talk).

Data: statements written by the project: ``training/written_safety_en.txt`` (label<TAB>text:
``risk`` harm to self, ``others`` harm to others, ``ok`` ordinary text sharing the words), the
English lines of ``tests/data/safety_en.jsonl`` and ``tests/data/safety_constructs.jsonl`` from
before the fourth round (lines with a ``"round"`` stay unseen, to measure the reader); and, as
ordinary text, the client messages of the even-numbered conversations of AnnoMI
(``tests/data/annomi.jsonl.gz``, public domain), so that ordinary counseling talk (self-doubt,
drinking, health) is what the reader learns "ordinary" from, not only written sentences that
share risk words. The odd-numbered AnnoMI conversations stay unseen (benchmarks/safety_ordinary.py
measures them). Never read: the check sets (``safety_check_*.jsonl``,
``safety_reader_check.jsonl``), the sealed held-out sets (tests/data/HELDOUT.md), and ESConv
or the Chinese dev set (measuring only).

Model: a three-class logistic regression (ordinary, self-harm, harm to others) over
`alliance_monitor._safety.reader_features`, fitted with the embedded scorer's AdaGrad SGD
(`train_embedded.fit`, fixed order from a fixed seed: the same files give the same weights).

Figures printed: 5-fold cross-validation on the training statements (each scored by a model that
did not see it), and the untouched check sets, for the reader alone and beside the phrase lists.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from train_embedded import fit  # noqa: E402

from alliance_monitor import _safety  # noqa: E402
from alliance_monitor import _safety_reader as sr  # noqa: E402
from alliance_monitor._safety import reader_features, scan_risk  # noqa: E402

#: The phrase lists alone (the shipped reader never reaches 2.0): what the figures sit beside,
#: and the category of a written construct (self or others).
SHIPPED = _safety._READER
_safety._READER = sr.Reader(weights={}, bias=(0.0, 0.0, 0.0), threshold=2.0)

DATA = ROOT / "tests" / "data"
WRITTEN = [ROOT / "training" / "written_safety_en.txt"]
SETS = ["safety_en.jsonl", "safety_constructs.jsonl"]
ANNOMI = DATA / "annomi.jsonl.gz"
CHECKS = ["safety_check_en.jsonl", "safety_reader_check.jsonl"]
OTHERS_KINDS = {"violent_intent", "weapon_threat", "telling_to_die"}
LABELS = {"ok": 0, "risk": 1, "others": 2}
SEED = 20261207
SEEDS = 3
EPOCHS = 6
RATE = 0.1
L2 = 1e-3
MIN_COUNT = 2
#: The reader flags a message the phrase lists did not when its risk probability reaches this.
THRESHOLD = 0.95
OUT = ROOT / "alliance_monitor" / sr.WEIGHTS_FILE


def statements() -> list[tuple[str, int]]:
    out: list[tuple[str, int]] = []
    for path in WRITTEN:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.startswith("#"):
                label, text = line.split("\t", 1)
                out.append((text, LABELS[label]))
    for name in SETS:
        for line in (DATA / name).read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            if "round" in row or _safety._HAN.search(row["text"]) is not None:
                continue  # later rounds are kept unseen; Chinese is not read by the reader
            if not row["risk"]:
                out.append((row["text"], 0))
            elif row.get("kind") in OTHERS_KINDS:
                out.append((row["text"], 2))
            elif "kind" not in row and (hit := scan_risk(row["text"])) is not None:
                out.append((row["text"], 2 if hit.category == "harm_to_others" else 1))
            else:
                out.append((row["text"], 1))
    with gzip.open(ANNOMI, "rt", encoding="utf-8") as fh:
        for n, line in enumerate(fh):
            if n % 2 == 0 and line.strip():
                conv = json.loads(line)
                out += [(m["text"], 0) for m in conv["messages"] if m["role"] == "client"]
    return out


def train(rows: list[tuple[list[str], int]]) -> sr.Reader:
    """The average of SEEDS fits, each in its own order (one fit on a few thousand statements
    moves with the order it reads them in; the average is steadier)."""
    heads = [
        fit(rows, sr.CLASSES, SEED + n, epochs=EPOCHS, rate=RATE, l2=L2, min_count=MIN_COUNT)
        for n in range(SEEDS)
    ]
    w: dict[str, list[float]] = {}
    for head in heads:
        for f, v in head.weights.items():
            acc = w.setdefault(f, [0.0, 0.0, 0.0])
            for c in range(3):
                acc[c] += v[c] / SEEDS
    bias = [sum(h.bias[c] for h in heads) / SEEDS for c in range(3)]
    return sr.Reader(
        weights={f: (v[0], v[1], v[2]) for f, v in w.items()},
        bias=(bias[0], bias[1], bias[2]),
        threshold=THRESHOLD,
    )


def risk(reader: sr.Reader, feats: list[str]) -> float:
    return 1.0 - reader.probabilities(feats)[0]


def cross_validate(rows: list[tuple[list[str], int]], texts: list[str]) -> None:
    k = 5
    scores = [0.0] * len(rows)
    for fold in range(k):
        reader = train([r for i, r in enumerate(rows) if i % k != fold])
        for i, (feats, _) in enumerate(rows):
            if i % k == fold:
                scores[i] = risk(reader, feats)
    hits = [scan_risk(t) is not None for t in texts]
    print("5-fold cross-validation on the written statements (each scored unseen):")
    for lang in ("en",):
        part = list(range(len(texts)))
        report(f"  {lang} lists (tuned on these)", [(hits[i], rows[i][1] > 0) for i in part])
        for t in (0.8, 0.85, 0.9, 0.93, 0.95, 0.97):
            report(f"  {lang} reader >= {t}", [(scores[i] >= t, rows[i][1] > 0) for i in part])
            both = [(hits[i] or scores[i] >= t, rows[i][1] > 0) for i in part]
            report(f"  {lang} lists or reader >= {t}", both)


def report(name: str, pairs: list[tuple[bool, bool]]) -> None:
    n_risk = sum(y for _, y in pairs)
    n_ok = len(pairs) - n_risk
    caught = sum(p and y for p, y in pairs)
    alarms = sum(p and not y for p, y in pairs)
    print(
        f"{name:34} recall {caught / max(n_risk, 1):.3f} ({caught}/{n_risk})"
        f"  false alarms {alarms / max(n_ok, 1):.3f} ({alarms}/{n_ok})"
    )


def checks(reader: sr.Reader) -> None:
    print("untouched check sets (figures only):")
    for name in CHECKS:
        rows = [json.loads(x) for x in (DATA / name).read_text(encoding="utf-8").splitlines() if x]
        for lang in ("en",):
            part = [r for r in rows if r.get("lang", name[13:15]) == lang]
            lists = [scan_risk(r["text"]) is not None for r in part]
            scores = [risk(reader, reader_features(r["text"])) for r in part]
            label = f"  {name} {lang}"
            report(label + " lists", [(h, r["risk"]) for h, r in zip(lists, part, strict=False)])
            report(
                label + " reader",
                [(s >= THRESHOLD, r["risk"]) for s, r in zip(scores, part, strict=False)],
            )
            quiet, _safety._READER = _safety._READER, reader
            both = [(scan_risk(r["text"]) is not None, r["risk"]) for r in part]
            _safety._READER = quiet
            report(label + " scan_risk", both)


def to_json(reader: sr.Reader, n: int) -> str:
    weights = {
        f: [round(x * sr.SCALE) for x in w]
        for f, w in sorted(reader.weights.items())
        if any(round(x * sr.SCALE) for x in w)
    }
    body = {
        "meta": {
            "data": "English statements written by the project (training/written_safety_en.txt, "
            "tests/data/safety_en.jsonl and safety_constructs.jsonl before the fourth round) and, "
            "as ordinary text, the client messages of AnnoMI's even-numbered conversations",
            "statements": n,
            "classes": list(sr.CLASSES),
            "scale": sr.SCALE,
            "threshold": THRESHOLD,
        },
        "bias": [round(x * sr.SCALE) for x in reader.bias],
        "weights": weights,
    }
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true", help="compare with the shipped file")
    parser.add_argument("--no-cv", action="store_true", help="skip cross-validation")
    args = parser.parse_args()
    data = statements()
    rows = [(reader_features(t), y) for t, y in data]
    if not args.no_cv and not args.check:
        cross_validate(rows, [t for t, _ in data])
    reader = train(rows)
    text = to_json(reader, len(rows))
    if args.check:
        same = OUT.read_text(encoding="utf-8") == text
        print("shipped weights match" if same else "shipped weights differ")
        return 0 if same else 1
    OUT.write_text(text, encoding="utf-8")
    sr._READER = None
    checks(sr.load_reader())
    print(f"{len(rows)} statements, {len(reader.weights)} features -> {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

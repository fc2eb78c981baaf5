"""The safety net's learned reader: risk said without the words the phrase lists know.

A small linear model reads the same plain forms the phrase lists read (`_safety._normalise` for
English, `_safety._zh_normalise` for Chinese) and says how likely the message is to disclose a
risk of harm to self, a risk of harm to others, or neither. It is there for the forms a list of
phrases cannot enumerate: preparing the means, a plan with a time, goodbyes, being a burden,
wanting to disappear, said in the writer's own words.

Features are cheap and need no tokenizer: in English the words, adjacent word pairs and the
first and last word of the plain form (split words, look-alike letters and common substitutions
are already undone there; character 4-grams were tried and read no better in cross-validation,
at twice the cost); in Chinese the characters, character pairs and triples of each clause. Each
feature has three precomputed weights (ordinary, self, others), so scoring a message is one
dictionary lookup per feature and one softmax: pure Python.

The weights were fitted by ``scripts/train_safety_reader.py`` ONLY on statements the project
wrote itself (``training/written_safety_en.txt``, ``training/written_safety_zh.txt`` and the
written sets in ``tests/data``); never on a data set, never on the check sets or the sealed
held-out sets. They ship as ``safety_reader.json`` beside this module and load on first use.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from dataclasses import dataclass
from importlib import resources

__all__ = ["Reader", "features_en", "features_zh", "load_reader"]

WEIGHTS_FILE = "safety_reader.json"
#: Weights are stored as integers in units of 1 / SCALE.
SCALE = 1000
CLASSES = ("ordinary", "self_harm", "harm_to_others")

_WORD = re.compile(r"[a-z0-9]+")
_HAN_CLAUSE = re.compile(r"[^|]+")
#: A very long message is read in its first part (the scan's phrase lists read all of it).
_MAX_CHARS = 2000


def features_en(norm: str) -> list[str]:
    """Words, word pairs, the first and the last word of an English plain form
    (`_safety._normalise`)."""
    words = _WORD.findall(norm[:_MAX_CHARS])
    if not words:
        return []
    out = list(words)
    out.extend(a + " " + b for a, b in itertools.pairwise(words))
    out.append("^" + words[0])  # how the message opens and ends
    out.append(words[-1] + "$")
    return out


def features_zh(norm: str) -> list[str]:
    """Characters, pairs and triples of each clause of a Chinese plain form
    (`_safety._zh_normalise`: clause breaks are "|")."""
    out: list[str] = []
    for clause in _HAN_CLAUSE.findall(norm[:_MAX_CHARS]):
        padded = "^" + clause + "$"
        n = len(padded)
        out.extend(padded[1:-1])
        out.extend(padded[i : i + 2] for i in range(n - 1))
        out.extend(padded[i : i + 3] for i in range(n - 2))
    return out


@dataclass(frozen=True, slots=True)
class Reader:
    """Three weights per feature (ordinary, self-harm, harm to others) and a bias."""

    weights: dict[str, tuple[float, float, float]]
    bias: tuple[float, float, float]
    #: A message counts as risk when P(self) + P(others) reaches this.
    threshold: float = 0.9

    def probabilities(self, features: list[str]) -> tuple[float, float, float]:
        z0, z1, z2 = self.bias
        get = self.weights.get
        for feature in features:
            w = get(feature)
            if w is not None:
                z0 += w[0]
                z1 += w[1]
                z2 += w[2]
        top = max(z0, z1, z2)
        e0, e1, e2 = math.exp(z0 - top), math.exp(z1 - top), math.exp(z2 - top)
        total = e0 + e1 + e2
        return e0 / total, e1 / total, e2 / total


_READER: Reader | None = None


def load_reader() -> Reader:
    """The shipped reader (read once, on first use)."""
    global _READER
    if _READER is None:
        raw = json.loads(
            resources.files(__package__).joinpath(WEIGHTS_FILE).read_text(encoding="utf-8")
        )
        weights = {
            feature: (w[0] / SCALE, w[1] / SCALE, w[2] / SCALE)
            for feature, w in raw["weights"].items()
        }
        b = raw["bias"]
        _READER = Reader(
            weights=weights,
            bias=(b[0] / SCALE, b[1] / SCALE, b[2] / SCALE),
            threshold=float(raw["meta"]["threshold"]),
        )
    return _READER

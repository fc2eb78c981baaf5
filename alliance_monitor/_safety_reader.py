"""The safety net's learned reader (English): risk said without the words the lists know.

A small linear model reads the plain form the English phrase lists read (`_safety._normalise`)
and says how likely the message is to disclose a risk of harm to self, a risk of harm to
others, or neither. It is there for the forms a list of phrases cannot enumerate: preparing the
means, a plan with a time, goodbyes, being a burden, wanting to disappear, said in the writer's
own words. Messages with Chinese characters are not read by it (see below).

Features are cheap and need no tokenizer: the words, adjacent word pairs and the first and last
word of the plain form (split words, look-alike letters and common substitutions are already
undone there). Each feature has three precomputed weights (ordinary, self, others), so scoring a
message is one dictionary lookup per feature and one softmax: pure Python.

The weights were fitted by ``scripts/train_safety_reader.py`` on English statements the project
wrote itself (``training/written_safety_en.txt`` and the written sets in ``tests/data``) and, as
ordinary text, on the client messages of half of AnnoMI's conversations (public domain): a
first reader fitted on written statements alone flagged 4.6% of ordinary AnnoMI client
messages (self-doubt, "I'm just so stupid"), a rate of pages no supervisor could act on. Never
fitted on the check sets, the sealed held-out sets, ESConv or the Chinese dev set. A Chinese
reader is not shipped: with no ordinary Chinese counseling text we may fit on, one flagged
1.3-8% of the Chinese dev set's client messages. The weights ship as ``safety_reader.json``
beside this module and load on first use.
"""

from __future__ import annotations

import itertools
import json
import math
import re
from dataclasses import dataclass
from importlib import resources

__all__ = ["Reader", "features_en", "load_reader"]

WEIGHTS_FILE = "safety_reader.json"
#: Weights are stored as integers in units of 1 / SCALE.
SCALE = 1000
CLASSES = ("ordinary", "self_harm", "harm_to_others")

_WORD = re.compile(r"[a-z0-9]+")
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

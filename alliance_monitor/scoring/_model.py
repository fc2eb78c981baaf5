"""The learned part of the embedded scorer: word n-gram features and a softmax head.

A small multinomial logistic model reads each counselor message and says what kind of move it
is, in AnnoMI's coding of motivational interviewing: ``question``, ``reflection_simple``,
``reflection_complex``, ``advice``, ``input`` (information, options, negotiation) or ``other``
(greetings, acknowledgements, affirmations, reassurance, fillers). (A client head for change
and sustain talk was tried and left out: it did not move any figure and cost a third of the
scorer's time; the lexicon reads the client's side.)

Features are sparse and cheap: the message's words and adjacent word pairs (lowercased,
normalised as the lexicons are), its first one and two words, a length bucket, whether it asks
("?"), and for counselor messages how many content words it shares with the client's last turns
(a simple reflection reuses the client's words). A feature is kept in the vocabulary when it
occurs at least twice in the training data.

The weights were fitted by ``scripts/train_embedded.py`` on AnnoMI only (public domain; see
docs/embedded-scorer.md) and ship inside the package as ``embedded_model.json``. They load on
first use through `importlib.resources`: nothing is downloaded and importing the library does not
read them. Inference is a dictionary lookup per feature and one softmax: pure Python.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from itertools import pairwise
from typing import Any

__all__ = [
    "COUNSELOR_CLASSES",
    "Head",
    "Model",
    "content_words",
    "counselor_features",
    "load_model",
    "tokens",
]

COUNSELOR_CLASSES: tuple[str, ...] = (
    "other",
    "question",
    "reflection_simple",
    "reflection_complex",
    "advice",
    "input",
)

WEIGHTS_FILE = "embedded_model.json"
#: Weights are stored as integers in units of 1 / SCALE.
SCALE = 10000

_TOKEN = re.compile(r"[a-z]+(?:'[a-z]+)?|\?")
#: Length buckets (tokens): 1, 2-3, 4-7, 8-15, 16-31, 32+.
_LENGTH = tuple(f"len{i}" for i in (0, 1, 1, 2, 2, 2, 2, 3)) + ("len3",) * 8 + ("len4",) * 16
#: Tokens read per message: a long message's opening carries its move (the rest adds cost, not
#: much signal).
MAX_TOKENS = 48
#: Word pairs are read over the first BIGRAM_TOKENS tokens.
BIGRAM_TOKENS = 24


def tokens(normalized: str) -> list[str]:
    """The words (and "?") of a message normalised by `_lexicon.normalize`."""
    return _TOKEN.findall(normalized)


def content_words(toks: list[str], function_words: frozenset[str]) -> frozenset[str]:
    """Five-letter prefixes of the content words of a message ("smoking", "smoke" -> "smoki",
    "smoke"; good enough to see a reply reuse the client's words)."""
    return frozenset({w[:5] for w in toks if w[3:]}.difference(function_words))  # len > 3


def _base_features(toks: list[str]) -> list[str]:
    if not toks:
        return ["len0"]
    n = len(toks)
    head = toks[:BIGRAM_TOKENS]
    feats = toks[:MAX_TOKENS] if n > MAX_TOKENS else list(toks)
    feats += [a + " " + b for a, b in pairwise(head)]
    feats.append(_LENGTH[n] if n < len(_LENGTH) else "len5")
    feats.append("^" + toks[0])
    feats.append("$" + toks[-1])
    return feats


def counselor_features(toks: list[str], echoes: int) -> list[str]:
    """Features of one counselor message from its `tokens`; `echoes` is the number of content
    words it shares with the client's last two turns (`content_words`)."""
    feats = _base_features(toks)
    feats.append(_ECHO[min(echoes, 3)])
    return feats


_ECHO = ("echo0", "echo1", "echo2", "echo3")


@dataclass(frozen=True, slots=True)
class Head:
    """One softmax head: `weights[feature]` holds one weight per class; `bias` one per class."""

    classes: tuple[str, ...]
    bias: tuple[float, ...]
    weights: dict[str, tuple[float, ...]]

    def logits(self, features: Iterable[str]) -> list[float]:
        get = self.weights.get
        rows = [w for w in map(get, features) if w is not None]
        if not rows:
            return list(self.bias)
        return [sum(col) for col in zip(self.bias, *rows, strict=True)]

    def proba(self, features: Iterable[str]) -> dict[str, float]:
        """Class probabilities (features repeated in a message count once per occurrence)."""
        rows = list(filter(None, map(self.weights.get, features)))  # rows are never empty
        # the same sums as `logits`, in the same order (bias first, then the features)
        z = [sum(col) for col in zip(self.bias, *rows, strict=True)] if rows else list(self.bias)
        top = max(z)
        e = [math.exp(v - top) for v in z]
        s = sum(e)
        return {c: v / s for c, v in zip(self.classes, e, strict=True)}

    def to_json(self) -> dict[str, object]:
        """Weights as integers in units of 1 / `SCALE` (exact, compact, fast to parse)."""
        names = sorted(self.weights)
        return {
            "classes": list(self.classes),
            "scale": SCALE,
            "bias": [round(b * SCALE) for b in self.bias],
            "features": names,
            "weights": [round(x * SCALE) for f in names for x in self.weights[f]],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Head:
        classes = tuple(str(c) for c in data["classes"])
        k = len(classes)
        scale = float(data["scale"])
        flat = [x / scale for x in data["weights"]]
        names: list[str] = data["features"]
        if len(flat) != k * len(names) or len(data["bias"]) != k:
            raise ValueError("embedded model: weight rows do not match the classes")
        rows = [tuple(flat[i : i + k]) for i in range(0, len(flat), k)]
        bias = tuple(b / scale for b in data["bias"])
        return cls(classes, bias, dict(zip(names, rows, strict=True)))


@dataclass(frozen=True, slots=True)
class Model:
    """The counselor head, and where its training data came from."""

    counselor: Head
    meta: dict[str, object]

    def to_json_text(self) -> str:
        """The shipped file's exact text (sorted keys, one head per line: stable diffs)."""
        return (
            "{\n"
            f'"meta": {json.dumps(self.meta, sort_keys=True)},\n'
            f'"counselor": {json.dumps(self.counselor.to_json(), sort_keys=True)}\n'
            "}\n"
        )

    @classmethod
    def from_json_text(cls, text: str) -> Model:
        data = json.loads(text)
        return cls(
            counselor=Head.from_json(data["counselor"]),
            meta=dict(data.get("meta", {})),
        )


_LOADED: Model | None = None


def load_model() -> Model:
    """The shipped model, read from the package on first use (cached)."""
    global _LOADED
    if _LOADED is None:
        text = resources.files(__package__).joinpath(WEIGHTS_FILE).read_text(encoding="utf-8")
        _LOADED = Model.from_json_text(text)
    return _LOADED

"""The learned Chinese reading of counselor moves: character n-grams and a softmax head.

Chinese is written without spaces, so the features are characters, not words: no segmenter
and no dictionary. Each counselor message (normalised by `_lexicon.normalize`: NFKC, lowercase,
Traditional folded to Simplified) gives

- its characters and character bigrams (over the first `HEAD_CHARS` and the last `TAIL_CHARS`
  characters of a long message: a turn's move is in how it opens and how it ends; trigrams
  were tried and cost accuracy in cross-validation on the written examples);
- the first two characters of each sentence or clause (``^你可``, ``^要不``, ``^别再``: how a
  sentence starts carries most of a suggestion or an instruction) and the last two characters
  of the message (``吗?$``, ``呢?$``);
- whether it asks (``?`` anywhere, at the end) and a length bucket.

A multinomial logistic head over these says which of `CLASSES` the message is: ``question``,
``reflection``, ``reassurance``, ``suggestion``, ``instruction``, ``information`` or ``other``
(training/written_counselor_zh.txt says what each means). The weights were fitted by
``scripts/train_embedded_zh.py`` ONLY on Chinese counselor messages we wrote ourselves
(training/written_counselor_zh.txt); no data set was read. They ship in the package as
``embedded_model_zh.json`` and load on first use. Inference is pure Python and cheap: the
seven class weights of a feature are packed into one integer (`PackedHead`), so a message's
seven class sums are one `sum` over one dictionary lookup per feature, then one softmax.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from importlib import resources
from itertools import repeat
from operator import add

from ._model import SCALE, Head, Model

__all__ = ["CLASSES", "PackedHead", "load_model_zh", "zh_features"]

CLASSES: tuple[str, ...] = (
    "other",
    "question",
    "reflection",
    "reassurance",
    "suggestion",
    "instruction",
    "information",
)

WEIGHTS_FILE = "embedded_model_zh.json"

#: A long message is read over its first HEAD_CHARS and last TAIL_CHARS characters.
HEAD_CHARS = 64
TAIL_CHARS = 24
#: Length buckets (characters, spaces removed): 1-3, 4-7, 8-15, 16-31, 32-63, 64+.
_LENGTH_EDGES = (4, 8, 16, 32, 64)
_LENGTH = tuple(f"#len{i}" for i in range(len(_LENGTH_EDGES) + 1))

#: The first two characters of a clause: after a sentence or clause boundary (NFKC leaves 。
#: as it is and turns ，！？；： into ASCII).
_CLAUSE_START = re.compile(r"(?<=[。.!?;,:~…\n])[^。.!?;,:~…\s]{2}")
_SPACES = re.compile(r"\s+")
_END = "。.!~…"


def _bucket(n: int) -> str:
    for i, edge in enumerate(_LENGTH_EDGES):
        if n < edge:
            return _LENGTH[i]
    return _LENGTH[-1]


def zh_features(normalized: str) -> list[str]:
    """The features of one counselor message normalised by `_lexicon.normalize`."""
    t = _SPACES.sub("", normalized) if " " in normalized or "\n" in normalized else normalized
    n = len(t)
    if n == 0:
        return ["#len0"]
    if n > HEAD_CHARS + TAIL_CHARS:
        # the head and the tail, joined by a gap mark so no bigram spans the cut
        t = t[:HEAD_CHARS] + "|" + t[-TAIL_CHARS:]
    feats = list(t)
    feats += map(add, t, t[1:])  # bigrams
    # the first two characters of the message and of each clause
    feats.append("^" + t[:2])
    feats += ["^" + c for c in _CLAUSE_START.findall(t)]
    end = t.rstrip(_END)
    feats.append(end[-2:] + "$")
    if "?" in t:
        feats.append("#ask")
        if end.endswith("?"):
            feats.append("#ask$")
    feats.append(_bucket(n))
    return feats


#: Bits per class in a packed weight row, and the offset that keeps each class's weight (in
#: units of 1 / `SCALE`) non-negative. A field holds the sum of up to 2**16 features exactly.
_FIELD = 48
_OFFSET = 1 << 32
_MASK = (1 << _FIELD) - 1
#: Texts whose `PackedHead.moves` are remembered.
_MEMO = 4096


@dataclass(frozen=True, slots=True)
class PackedHead:
    """A `Head` whose weight rows are packed into integers for fast inference.

    Feature f's row becomes ``sum((w_c * SCALE + OFFSET) << (FIELD * c)) + (1 << FIELD * k)``:
    one integer with a field per class and a count field on top. Summing the rows of a
    message's features sums every class at once (exactly: the weights are integers in units of
    1 / `SCALE`), and the count says how many offsets to take back out.
    """

    classes: tuple[str, ...]
    bias: tuple[float, ...]
    rows: dict[str, int]
    #: `moves` of texts read recently (bounded; a transcript's messages are read more than once).
    memo: dict[str, dict[str, float]] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def pack(cls, head: Head) -> PackedHead:
        k = len(head.classes)
        rows = {}
        for feature, weights in head.weights.items():
            packed = 1 << (_FIELD * k)
            for c, w in enumerate(weights):
                scaled = round(w * SCALE)
                if not -_OFFSET < scaled < _OFFSET:
                    raise ValueError(f"embedded model: weight out of range for {feature!r}")
                packed += (scaled + _OFFSET) << (_FIELD * c)
            rows[feature] = packed
        return cls(head.classes, head.bias, rows)

    def moves(self, normalized: str) -> dict[str, float]:
        """Class probabilities of one message normalised by `_lexicon.normalize` (remembered;
        the dict returned is shared: read it, never change it)."""
        found = self.memo.get(normalized)
        if found is None:
            if len(self.memo) >= _MEMO:
                self.memo.clear()
            found = self.memo[normalized] = self.proba(zh_features(normalized))
        return found

    def proba(self, features: list[str]) -> dict[str, float]:
        """Class probabilities of one message's features (repeated features count each time)."""
        total = sum(map(self.rows.get, features, repeat(0)))
        k = len(self.classes)
        back = (total >> (_FIELD * k)) * _OFFSET
        z = [
            b + (((total >> (_FIELD * c)) & _MASK) - back) / SCALE for c, b in enumerate(self.bias)
        ]
        top = max(z)
        e = [math.exp(v - top) for v in z]
        s = sum(e)
        return {c: v / s for c, v in zip(self.classes, e, strict=True)}


_LOADED: PackedHead | None = None


def load_model_zh() -> PackedHead:
    """The shipped Chinese head, read from the package on first use (cached)."""
    global _LOADED
    if _LOADED is None:
        text = resources.files(__package__).joinpath(WEIGHTS_FILE).read_text(encoding="utf-8")
        _LOADED = PackedHead.pack(Model.from_json_text(text).counselor)
    return _LOADED

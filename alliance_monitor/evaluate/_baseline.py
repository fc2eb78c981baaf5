"""The trivial baselines printed beside every figure (the same as ../shared/eval/dev_eval.py).

- passive: 1 when a counselor message has no question mark (ASCII or full-width), else 0;
- directive: 1 when it matches a short English keyword list, else 0;
- session and phase: the mean counselor turn length in words, mapped onto 1-5
  (1 + 4 · min(1, words / 40)), the same for every dimension.

A scorer earns its place by beating these on every line. They are deliberately crude: a figure
that a question-mark test or a word count matches says nothing about the alliance.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from .._batch import PHASES, _to_scoring, split_thirds
from .._models import DIMENSIONS, Message, Role

__all__ = ["baseline_record"]

DIRECTIVE_KEYWORDS = re.compile(
    r"\b(you should|you need to|you have to|you must|try to|i suggest|i recommend|"
    r"why don't you|make sure)\b",
    re.I,
)


def _level(texts: Sequence[str]) -> float:
    words = [len(t.split()) for t in texts] or [0]
    return 1 + 4 * min(1.0, sum(words) / len(words) / 40)


def baseline_record(conversation_id: str, messages: Sequence[Message]) -> dict[str, Any]:
    """A record in `analyze`'s output format holding the baselines' answers."""
    counselor = [m for m in messages if m.role is Role.COUNSELOR]
    lvl = _level([m.text for m in counselor])
    phases: dict[str, dict[str, float]] = {}
    thirds, _, total = split_thirds(_to_scoring(messages))
    for name, part in zip(PHASES, thirds, strict=True):
        texts = [
            m.text
            for m in (part if total >= 3 else _to_scoring(messages))
            if m.role is Role.COUNSELOR
        ]
        p = _level(texts)
        phases[name] = {d: p for d in DIMENSIONS}
    return {
        "conversation_id": conversation_id,
        "alliance": {d: lvl for d in DIMENSIONS},
        "phases": phases,
        "messages": [
            {
                "id": m.id,
                "passive": 0.0 if ("?" in m.text or "\uff1f" in m.text) else 1.0,
                "directive": 1.0 if DIRECTIVE_KEYWORDS.search(m.text) else 0.0,
            }
            for m in counselor
        ],
    }

"""The evasion corpora (tests/data) and how they are scored; used by the tests and by
benchmarks/edges.py.

- ``redaction_evasions.jsonl``: identifiers in the spellings people use (separators of any
  kind, full-width forms, spelled-out at/dot, Chinese numerals, handles, self-introductions,
  names in context); each line lists the ``secrets`` that must not survive `basic_redactor`.
- ``redaction_ordinary.jsonl``: ordinary messages sharing those shapes (times, doses, scores,
  "my daughter is sick", 我是学生, 我女儿小时候); they must come out unchanged.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from alliance_monitor._text import fold

DATA = Path(__file__).resolve().parent / "data"


def rows(name: str) -> list[dict[str, Any]]:
    lines = (DATA / name).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _digits(text: str) -> str:
    return "".join(c for c in fold(text) if c.isdigit())


def leaked(secret: str, output: str) -> bool:
    """Whether `secret` (or its digits, or its plain folded form) is still in `output`."""
    plain_secret, plain_out = fold(secret).casefold(), fold(output).casefold()
    if plain_secret.replace(" ", "").isdigit():
        return _digits(secret) in _digits(output)
    if plain_secret.isascii() and plain_secret.replace(" ", "").isalpha():
        return re.search(rf"(?<![a-z]){re.escape(plain_secret)}(?![a-z])", plain_out) is not None
    return plain_secret in plain_out


def redaction_figures(redact: Callable[[str], str]) -> dict[str, Any]:
    """Caught evasions and untouched ordinary messages, per language and kind."""
    evasions = rows("redaction_evasions.jsonl")
    ordinary = rows("redaction_ordinary.jsonl")
    caught: Counter[str] = Counter()
    total: Counter[str] = Counter()
    missed: list[str] = []
    for row in evasions:
        out = redact(row["text"])
        key = f"{row['lang']}:{row['kind']}"
        total[key] += 1
        if any(leaked(s, out) for s in row["secrets"]):
            missed.append(row["text"])
        else:
            caught[key] += 1
    changed = [r["text"] for r in ordinary if redact(r["text"]) != r["text"]]
    by_lang = {
        lang: (
            sum(v for k, v in caught.items() if k.startswith(lang)),
            sum(v for k, v in total.items() if k.startswith(lang)),
        )
        for lang in ("en", "zh")
    }
    return {
        "evasions": len(evasions),
        "caught": len(evasions) - len(missed),
        "by_language": {k: f"{c}/{t}" for k, (c, t) in by_lang.items()},
        "by_kind": {k: f"{caught[k]}/{total[k]}" for k in sorted(total)},
        "missed": missed,
        "ordinary": len(ordinary),
        "ordinary_changed": changed,
    }

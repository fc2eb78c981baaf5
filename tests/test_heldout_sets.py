"""The sealed held-out sets (tests/data/HELDOUT.md) parse, have the sizes and fields stated, and
have not leaked into the code or the other corpora. Their figures are printed by
benchmarks/heldout.py and are deliberately not asserted here: a threshold would invite tuning.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA = REPO / "tests" / "data"

RISK_CATEGORIES = {
    "wish_dead",
    "active",
    "method",
    "intent",
    "plan",
    "prep",
    "burden",
    "disappear",
    "self_harm",
    "harm_others",
    "past",
    "long",
}
ORDINARY_CATEGORIES = {
    "hyperbole",
    "third_party",
    "media",
    "denial",
    "idiom",
    "games",
    "cooking",
    "work",
    "medication",
    "grief",
    "distress",
    "everyday",
}


def read(name: str) -> list[dict[str, Any]]:
    lines = (DATA / name).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_safety_set_shape(lang: str) -> None:
    rows = read(f"heldout_safety_{lang}.jsonl")
    fields = {"text", "risk", "category"} | ({"script"} if lang == "zh" else set())
    for row in rows:
        assert set(row) == fields, row
        assert isinstance(row["text"], str) and row["text"].strip() == row["text"] != ""
        assert isinstance(row["risk"], bool)
        allowed = RISK_CATEGORIES if row["risk"] else ORDINARY_CATEGORIES
        assert row["category"] in allowed, row
    texts = Counter(r["text"] for r in rows)
    assert [t for t, n in texts.items() if n > 1] == []
    risk = [r for r in rows if r["risk"]]
    ordinary = [r for r in rows if not r["risk"]]
    assert len(risk) >= 200 and len(ordinary) >= 200
    # every clinical category is represented, and the hard negatives are there
    assert {r["category"] for r in risk} == RISK_CATEGORIES
    assert {r["category"] for r in ordinary} == ORDINARY_CATEGORIES
    if lang == "zh":
        assert {r["script"] for r in rows} == {"hans", "hant"}
        for part in (risk, ordinary):
            hant = sum(r["script"] == "hant" for r in part)
            assert 0.2 <= hant / len(part) <= 0.35  # about a quarter Traditional


def test_redaction_set_shape() -> None:
    rows = read("heldout_redact.jsonl")
    for row in rows:
        assert set(row) == {"text", "lang", "identifiers"}, row
        assert row["lang"] in ("en", "zh")
        assert isinstance(row["identifiers"], list)
        for identifier in row["identifiers"]:
            assert isinstance(identifier, str) and identifier.strip() == identifier != ""
            assert identifier in row["text"], (identifier, row["text"])
    with_ids = [r for r in rows if r["identifiers"]]
    ordinary = [r for r in rows if not r["identifiers"]]
    assert len(with_ids) >= 60 and len(ordinary) >= 40
    for lang in ("en", "zh"):
        assert sum(r["lang"] == lang for r in with_ids) >= 30
        assert sum(r["lang"] == lang for r in ordinary) >= 20
    assert len({r["text"] for r in rows}) == len(rows)


def _sources() -> list[tuple[Path, str]]:
    held = {"heldout_safety_en.jsonl", "heldout_safety_zh.jsonl", "heldout_redact.jsonl"}
    paths = [*sorted((REPO / "alliance_monitor").rglob("*.py"))]
    paths += sorted((REPO / "benchmarks").glob("*.py"))
    paths += sorted((REPO / "scripts").glob("*.py")) + sorted((REPO / "training").glob("*.txt"))
    paths += [p for p in sorted(DATA.iterdir()) if p.is_file() and p.name not in held]
    paths += sorted(p for p in (REPO / "tests").glob("*.py") if p.name != Path(__file__).name)
    out = []
    for p in paths:
        if p.name == "heldout.py" or p.suffix == ".gz":
            continue
        try:
            out.append((p, p.read_text(encoding="utf-8").casefold()))
        except UnicodeDecodeError:
            continue
    return out


def test_sealed_lines_have_not_leaked() -> None:
    """No held-out line (of 12 characters or more) is copied into the rules, the benchmarks or
    another corpus: once one is, the set no longer measures text nobody tuned on."""
    texts = [r["text"] for r in read("heldout_safety_en.jsonl")]
    texts += [r["text"] for r in read("heldout_safety_zh.jsonl")]
    texts += [r["text"] for r in read("heldout_redact.jsonl")]
    long_enough = [t.casefold() for t in texts if len(t) >= 12]
    leaked = [
        str(path.relative_to(REPO))
        for path, body in _sources()
        if any(t in body for t in long_enough)
    ]
    assert leaked == []


def _load_benchmark() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "heldout_bench", REPO / "benchmarks" / "heldout.py"
    )
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules["heldout_bench"] = mod
    spec.loader.exec_module(mod)
    return mod


def test_benchmark_counts_every_line() -> None:
    """The benchmark runs and counts every line once (its figures are not asserted)."""
    res = _load_benchmark().measure()
    for lang in ("en", "zh"):
        rows = read(f"heldout_safety_{lang}.jsonl")
        f = res["safety"][lang]
        assert (f["risk"], f["ordinary"]) == (
            sum(r["risk"] for r in rows),
            sum(not r["risk"] for r in rows),
        )
    rows = read("heldout_redact.jsonl")
    f = res["redaction"]["all"]
    assert f["identifiers"] == sum(len(r["identifiers"]) for r in rows)
    assert f["ordinary"] == sum(not r["identifiers"] for r in rows)

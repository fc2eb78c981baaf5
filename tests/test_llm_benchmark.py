"""benchmarks/llm_tokens.py still runs and keeps its shape (on a slice of AnnoMI)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import anyio
import pytest
from conftest import ANNOMI, NO_ANNOMI

REPO = Path(__file__).resolve().parents[1]


def load_benchmark():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("llm_tokens", REPO / "benchmarks" / "llm_tokens.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules["llm_tokens"] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.skipif(not ANNOMI.exists(), reason=NO_ANNOMI)
def test_token_benchmark_on_a_slice(tmp_path: Path) -> None:
    lines = ANNOMI.read_text(encoding="utf-8").splitlines()
    longest = sorted(lines, key=len)[-3:]  # long sessions: where re-reading hurts most
    data = tmp_path / "slice.jsonl"
    data.write_text("\n".join(lines[:12] + longest) + "\n", encoding="utf-8")
    bench = load_benchmark()
    res = anyio.run(bench.measure, data)
    modes = res["modes"]
    assert modes["naive"]["calls"] == modes["incremental"]["calls"] == res["windows"] > 0
    assert modes["incremental"]["ratio_uncached"] < 0.5
    assert modes["cascade"]["calls"] < modes["incremental"]["calls"]
    assert modes["cascade"]["ratio_total"] < modes["incremental"]["ratio_total"]
    assert res["fixed_prefix_tokens"] > 500 and res["completion_tokens_per_call_estimate"] > 200

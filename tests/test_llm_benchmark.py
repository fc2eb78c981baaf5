"""benchmarks/llm_tokens.py still runs and keeps its shape (on a slice of AnnoMI)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import anyio
from conftest import ANNOMI, ANNOMI_SAMPLE

REPO = Path(__file__).resolve().parents[1]


def load_benchmark():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(
        "llm_tokens", REPO / "benchmarks" / "llm_tokens.py"
    )
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules["llm_tokens"] = mod
    spec.loader.exec_module(mod)
    return mod


def test_token_benchmark_on_a_slice(tmp_path: Path) -> None:
    if ANNOMI.exists():
        lines = ANNOMI.read_text(encoding="utf-8").splitlines()
        longest = sorted(lines, key=len)[-3:]  # long sessions: where re-reading hurts most
        lines = lines[:12] + longest
    else:  # a fresh clone: the six-conversation sample in tests/data
        lines = ANNOMI_SAMPLE.read_text(encoding="utf-8").splitlines()
    data = tmp_path / "slice.jsonl"
    data.write_text("\n".join(lines) + "\n", encoding="utf-8")
    bench = load_benchmark()
    res = anyio.run(bench.measure, data)
    modes = res["modes"]
    assert modes["naive"]["calls"] == modes["incremental"]["calls"] == res["windows"] > 0
    assert modes["incremental"]["ratio_uncached"] < modes["incremental"]["ratio_total"] < 1
    assert modes["cascade"]["calls"] < modes["incremental"]["calls"]
    assert modes["cascade"]["ratio_total"] < modes["incremental"]["ratio_total"]
    assert res["prompt_version"] == "alliance_rating.v2"
    assert res["fixed_prefix_tokens"] > 1000 and res["completion_tokens_per_call"] > 400
    assert res["how"]["completion_source"] == "reference estimate"
    # the incremental prompts carry the running summary; naive ones do not need it
    res_v1 = anyio.run(lambda: bench.measure(data, prompt_version="v1"))
    assert res_v1["fixed_prefix_tokens"] < res["fixed_prefix_tokens"]


def test_max_messages_takes_whole_conversations(tmp_path: Path) -> None:
    bench = load_benchmark()
    res = anyio.run(lambda: bench.measure(ANNOMI_SAMPLE, max_messages=120, context=6000))
    assert 0 < res["messages"] <= 120 and res["conversations"] >= 1

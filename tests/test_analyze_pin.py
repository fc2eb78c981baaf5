"""`analyze` output pinned byte for byte on a fixed set (issue 23): work on the scorer's speed
may not move a single figure.

The set is AnnoMI's 133 conversations (`tests/data/annomi.jsonl.gz`) and `analyze_pin_input`
(the bundled demo and sample pairs, the written fixtures, and English, Chinese, Traditional
and mixed conversations assembled from written lines; see `tests/data/make_analyze_pin.py`).
A deliberate change of scoring regenerates the pin in the commit that makes it:
`.venv/bin/python tests/data/make_analyze_pin.py`.
"""

from __future__ import annotations

import gzip
import importlib.util
import json
from pathlib import Path
from types import ModuleType

import pytest

from alliance_monitor.cli import main

DATA = Path(__file__).parent / "data"
REGENERATE = "intended? regenerate the pin: .venv/bin/python tests/data/make_analyze_pin.py"


def _maker() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_analyze_pin", DATA / "make_analyze_pin.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def pin_input(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pin") / "in.jsonl"
    path.write_text("\n".join(_maker().pin_input_lines()) + "\n", encoding="utf-8")
    return path


def _expected() -> bytes:
    with gzip.open(DATA / "analyze_pin_output.jsonl.gz", "rb") as f:
        return f.read()


def _assert_same(got: bytes, want: bytes) -> None:
    if got == want:
        return
    got_lines, want_lines = got.splitlines(), want.splitlines()
    assert len(got_lines) == len(want_lines), (
        f"{len(got_lines)} records written, {len(want_lines)} pinned; {REGENERATE}"
    )
    for g, w in zip(got_lines, want_lines, strict=True):
        if g != w:
            gr, wr = json.loads(g), json.loads(w)
            keys = sorted(k for k in wr if gr.get(k) != wr[k])
            raise AssertionError(
                f"{wr['conversation_id']}: {', '.join(keys) or 'bytes'} differ from the pin; "
                f"{REGENERATE}"
            )


def _analyze(pin_input: Path, out: Path, *extra: str) -> bytes:
    assert main(["analyze", str(pin_input), "--output", str(out), *extra]) == 0
    return out.read_bytes()


def test_analyze_output_is_pinned(pin_input: Path, tmp_path: Path) -> None:
    _assert_same(_analyze(pin_input, tmp_path / "out.jsonl"), _expected())


def test_the_pin_covers_both_languages_and_every_shape() -> None:
    """The pinned set walks the scorer's paths: English, Chinese and mixed windows, a language
    it does not read, phases cut by exchanges and by evidence, short transcripts, every
    trajectory."""
    records = [json.loads(line) for line in _expected().splitlines()]
    assert len(records) >= 380
    seen = {(r["language"], r["phase_convention"], r["phase_split"]) for r in records}
    for shape in [
        ("en", "windows", "exchanges"),
        ("en", "windows", "evidence"),
        ("en", "too_short", "exchanges"),
        ("zh", "windows", "exchanges"),
        ("zh", "windows", "evidence"),
        ("zh", "too_short", "exchanges"),
    ]:
        assert shape in seen
    assert {"mixed", "other"} <= {r["language"] for r in records}
    assert {r["trajectory"] for r in records} == {
        "improved",
        "unchanged",
        "declined",
        "insufficient_evidence",
    }
    assert any(r["decline"]["repaired"] for r in records)
    assert any(w["reason"] == "unsupported_language" for r in records for w in r["unscored"])


def test_analyze_with_jobs_writes_the_pin(pin_input: Path, tmp_path: Path) -> None:
    """Worker processes (`--jobs 2`): the same bytes, in input order."""
    _assert_same(_analyze(pin_input, tmp_path / "out.jsonl", "--jobs", "2"), _expected())

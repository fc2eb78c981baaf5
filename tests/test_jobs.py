"""Batch work on all cores (issue 23 item 2): `analyze`, `study` and `evaluate` with `--jobs N`
write what one job writes, in input order; `_parallel.ordered_map` keeps order and raises a
chunk's error at its place."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pytest

from alliance_monitor._parallel import available_cores, ordered_map
from alliance_monitor.cli import main

DATA = Path(__file__).parent / "data"


def _square_or_fail(offset: int, chunk: list[int]) -> list[int]:
    if -1 in chunk:
        raise ValueError("chunk with -1")
    return [offset + x * x for x in chunk]


def test_ordered_map_keeps_input_order() -> None:
    chunks = [[i, i + 1] for i in range(0, 40, 2)]
    got = [y for ys in ordered_map(_square_or_fail, chunks, jobs=2, state=1) for y in ys]
    assert got == [1 + x * x for x in range(40)]


def test_ordered_map_raises_the_chunks_error_in_order() -> None:
    results = ordered_map(_square_or_fail, [[1], [2], [-1], [3]], jobs=2, state=0)
    assert next(results) == [1]
    assert next(results) == [4]
    with pytest.raises(ValueError, match="chunk with -1"):
        next(results)


def test_available_cores() -> None:
    n = available_cores()
    assert 1 <= n <= (os.cpu_count() or 1)


def _annomi(tmp: Path, n: int) -> Path:
    with gzip.open(DATA / "annomi.jsonl.gz", "rt", encoding="utf-8") as f:
        lines = f.read().splitlines()[:n]
    path = tmp / "annomi.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_analyze_jobs_same_records_and_rejections(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Lines refused (bad JSON, a bad message) between good ones, over several chunks: the
    same records and the same rejections, in order."""
    good = _annomi(tmp_path, 70).read_text(encoding="utf-8").splitlines()
    bad = [
        '{"not json',
        json.dumps({"conversation_id": "x", "messages": [{"id": "1", "role": "client"}]}),
    ]
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(good[:40] + bad + good[40:]) + "\n", encoding="utf-8")
    outs = []
    for jobs in ("1", "2", "3"):
        out, rej = tmp_path / f"out{jobs}.jsonl", tmp_path / f"rej{jobs}.jsonl"
        code = main(["analyze", str(src), "-o", str(out), "--rejects", str(rej), "--jobs", jobs])
        assert code == 0
        outs.append((out.read_bytes(), rej.read_text(encoding="utf-8")))
        assert "analyzed 71 conversation(s)" in capsys.readouterr().err
    assert outs[0] == outs[1] == outs[2]
    assert [json.loads(r)["line"] for r in outs[0][1].splitlines()] == [41, 42]


def test_evaluate_jobs_same_figures(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = _annomi(tmp_path, 60)
    reports = []
    for jobs in ("1", "2"):
        assert main(["evaluate", str(src), "--json", "--bootstrap", "20", "--jobs", jobs]) == 0
        report = json.loads(capsys.readouterr().out)
        for key in ("scoring_seconds", "total_seconds"):
            report.pop(key)
        reports.append(report)
    assert reports[0] == reports[1]
    assert reports[0]["conversations"] == 60


def test_study_jobs_same_report(tmp_path: Path) -> None:
    """More pairs than one task holds, Chinese and English, replayed: the same summary,
    tables and report."""
    with gzip.open(DATA / "analyze_pin_input.jsonl.gz", "rt", encoding="utf-8") as f:
        lines = f.read().splitlines()[:45]
    src = tmp_path / "in.jsonl"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    files = []
    for jobs in ("1", "2"):
        out = tmp_path / f"study{jobs}"
        code = main(["study", str(src), "--out", str(out), "--bootstrap", "20", "--jobs", jobs])
        assert code == 0
        summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
        del summary["study"]["elapsed_s"]
        files.append(
            (
                summary,
                (out / "summary.md").read_text(encoding="utf-8"),
                (out / "report.html").read_text(encoding="utf-8"),
            )
        )
    assert files[0] == files[1]
    assert files[0][0]["study"]["transcripts"] == 45


def test_jobs_must_be_positive(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["analyze", "in.jsonl", "-o", "out.jsonl", "--jobs", "0"])
    assert exc.value.code == 2
    assert "--jobs" in capsys.readouterr().err

"""The command-line contract: analyze's output keys are read by independent tooling."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ANNOMI, ANNOMI_SAMPLE, NO_ANNOMI
from helpers import alternating

from alliance_monitor.cli import main

KEYS4 = {"goal", "task", "bond", "overall"}


def write_jsonl(path: Path, rows: list[object]) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


def transcript(conv: str, n: int) -> dict[str, object]:
    msgs = [{k: v for k, v in m.items() if k != "conversation_id"} for m in alternating(conv, n)]
    return {"conversation_id": conv, "messages": msgs, "labels": {"ignored": True}}


def check_record(rec: dict[str, object], n_counselor: int) -> None:
    assert isinstance(rec["conversation_id"], str)
    assert set(rec["alliance"]) >= KEYS4  # type: ignore[arg-type]
    phases = rec["phases"]
    assert set(phases) == {"early", "middle", "late"}  # type: ignore[arg-type]
    for p in phases.values():  # type: ignore[attr-defined]
        assert set(p) >= KEYS4
        assert all(1.0 <= v <= 5.0 for v in p.values())
    assert rec["trajectory"] in {"improved", "unchanged", "declined", "insufficient_evidence"}
    conf = rec["confidence"]
    assert set(conf) == KEYS4 and all(0.0 <= v <= 1.0 for v in conf.values())  # type: ignore[attr-defined]
    assert set(rec["phase_confidence"]) == {"early", "middle", "late"}  # type: ignore[arg-type]
    assert set(rec["phase_status"]) == {"early", "middle", "late"}  # type: ignore[arg-type]
    msgs = rec["messages"]
    assert len(msgs) == n_counselor  # type: ignore[arg-type]
    for m in msgs:  # type: ignore[attr-defined]
        assert set(m) >= {"id", "passive", "directive"}
        assert 0.0 <= m["passive"] <= 1.0 and 0.0 <= m["directive"] <= 1.0


def test_analyze_contract(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    inp = write_jsonl(
        tmp_path / "in.jsonl",
        [
            transcript("long", 40),
            transcript("short", 3),
            {"conversation_id": "empty", "messages": []},
        ],
    )
    out = tmp_path / "out.jsonl"
    assert main(["analyze", str(inp), "--output", str(out)]) == 0
    recs = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["conversation_id"] for r in recs] == ["long", "short", "empty"]
    check_record(recs[0], 20)
    check_record(recs[1], 2)
    check_record(recs[2], 0)
    assert recs[0]["phase_convention"] == "windows"
    # under three exchanges there is no late to compare with early: no trajectory either way
    assert recs[1]["phase_convention"] == "too_short"
    assert recs[1]["trajectory"] == "insufficient_evidence"
    assert recs[2]["phase_convention"] == "no_scores" and recs[2]["alliance"]["overall"] == 3.0
    assert recs[2]["trajectory"] == "insufficient_evidence"


def test_analyze_rejects_bad_input_without_losing_the_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = transcript("ok", 10)
    bad_msgs = transcript("partly", 6)
    bad_msgs["messages"][1]["role"] = "SECRET-ROLE-991"  # type: ignore[index]
    bad_msgs["messages"][2]["text"] = ""  # type: ignore[index]
    inp = write_jsonl(
        tmp_path / "in.jsonl", [good, "{not json SECRET-991", bad_msgs, [1, 2], {"messages": []}]
    )
    out, rej = tmp_path / "out.jsonl", tmp_path / "rejects.jsonl"
    assert main(["analyze", str(inp), "-o", str(out), "--rejects", str(rej)]) == 0
    recs = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["conversation_id"] for r in recs] == ["ok", "partly"]
    rejects = [json.loads(line) for line in rej.read_text().splitlines()]
    assert sorted(r["reason"] for r in rejects) == sorted(
        ["invalid_json", "bad_role", "empty_text", "invalid_schema", "invalid_schema"]
    )
    err = capsys.readouterr().err
    assert "rejected 5" in err and "SECRET-991" not in err and "SECRET-991" not in rej.read_text()
    assert main(["analyze", str(inp), "-o", str(out), "--strict"]) == 2


def test_analyze_is_deterministic(tmp_path: Path) -> None:
    inp = write_jsonl(tmp_path / "in.jsonl", [transcript("a", 30)])
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    main(["analyze", str(inp), "-o", str(a)])
    main(["analyze", str(inp), "-o", str(b)])
    assert a.read_text() == b.read_text()


def test_analyze_on_the_annomi_sample(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    assert main(["analyze", str(ANNOMI_SAMPLE), "-o", str(out)]) == 0
    recs = [json.loads(line) for line in out.read_text().splitlines()]
    src = [json.loads(line) for line in ANNOMI_SAMPLE.read_text().splitlines()]
    assert len(recs) == len(src) == 6
    for rec, conv in zip(recs, src, strict=True):
        check_record(rec, sum(m["role"] == "counselor" for m in conv["messages"]))


@pytest.mark.skipif(not ANNOMI.exists(), reason=NO_ANNOMI)
def test_analyze_on_calibration_data(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    assert main(["analyze", str(ANNOMI), "-o", str(out)]) == 0
    recs = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(recs) == 133
    src = [json.loads(line) for line in ANNOMI.read_text().splitlines()]
    for rec, conv in zip(recs, src, strict=True):
        check_record(rec, sum(m["role"] == "counselor" for m in conv["messages"]))


_TALK = (
    "What has been the hardest part of this week for you?",
    "My sister stopped calling me and I feel so alone, I don't know what I did wrong.",
    "It sounds like losing her company has left you feeling lonely and unsure of yourself.",
    "Yes, exactly. I keep wondering whether I should call her first and try to talk.",
)


def test_replay_prints_events_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rows = [
        {**m, "text": _TALK[i % 4]}
        for conv in ("x", "y")
        for i, m in enumerate(alternating(conv, 30))
    ]
    inp = write_jsonl(tmp_path / "msgs.jsonl", rows)
    assert main(["replay", str(inp), "--json"]) == 0
    lines = capsys.readouterr().out.splitlines()
    events = [json.loads(line) for line in lines]
    assert {e["type"] for e in events} >= {"window_scored", "session_summary"}
    assert sum(e["type"] == "session_summary" for e in events) == 2
    # The same input gives the same event ids.
    assert main(["replay", str(inp), "--json"]) == 0
    again = [json.loads(line)["id"] for line in capsys.readouterr().out.splitlines()]
    assert again == [e["id"] for e in events]


def test_replay_of_bland_chat_abstains(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Greetings only: every window lacks evidence, no decline, no trajectory invented."""
    inp = write_jsonl(tmp_path / "msgs.jsonl", alternating("x", 30))
    assert main(["replay", str(inp), "--json"]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    types = {e["type"] for e in events}
    assert "window_scored" not in types and "alliance_declined" not in types
    unscored = [e for e in events if e["type"] == "window_unscored"]
    assert unscored and all(e["reason"] == "insufficient_evidence" for e in unscored)
    (summary,) = [e for e in events if e["type"] == "session_summary"]
    assert summary["trajectory"] == "insufficient_evidence"


def test_replay_accepts_transcripts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    inp = write_jsonl(tmp_path / "t.jsonl", [transcript("t", 26)])
    assert main(["replay", str(inp)]) == 0
    out = capsys.readouterr().out
    assert "SESSION 0 ended" in out and "window 0" in out


@pytest.mark.skipif(
    shutil.which("alliance-monitor") is None
    and not Path(sys.executable).with_name("alliance-monitor").exists(),
    reason="entry point not installed",
)
def test_installed_entry_point(tmp_path: Path) -> None:
    exe = shutil.which("alliance-monitor") or str(
        Path(sys.executable).with_name("alliance-monitor")
    )
    res = subprocess.run([exe, "--version"], capture_output=True, text=True, check=True)
    assert res.stdout.startswith("alliance-monitor ")


def test_analyze_async_survives_a_raising_scorer() -> None:
    import anyio

    from alliance_monitor import Message, WindowRequest, WindowScore, analyze_transcript_async
    from alliance_monitor.scoring import Scorer

    class Down(Scorer):
        name = "down"

        async def score(self, request: WindowRequest) -> WindowScore:
            raise ConnectionError("backend down")

    msgs = [Message.model_validate({**m, "conversation_id": "x"}) for m in alternating("x", 12)]
    res = anyio.run(analyze_transcript_async, "x", msgs, Down())
    rec = res.to_json()
    assert rec["phase_convention"] == "no_scores"
    assert [u["reason"] for u in rec["unscored"]] == ["scorer_error:ConnectionError"] * 3
    assert len(rec["skipped"]) == 6  # every counselor message listed as skipped, with a reason

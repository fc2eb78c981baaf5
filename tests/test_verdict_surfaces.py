"""One verdict per pair: the demo, the supervisor board and the study report put the same computed
state (`PairVerdict`) into words, for every bundled demo pair and for the sessions we wrote with
known rupture and repair points (a decline, a repaired rupture, a natural close, few long turns,
greetings only; English and Chinese); report intervals stay on the 1-5 scale; the report is
titled by its input, "standard input" for ``-``."""

from __future__ import annotations

import asyncio
import io
import json
import re
import sys
from contextlib import redirect_stdout
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from alliance_monitor import (
    DECLINE_DEFINITION,
    Event,
    Monitor,
    ScoringPolicy,
    SessionSummary,
    event_adapter,
    pair_verdicts,
)
from alliance_monitor._demo import render
from alliance_monitor.cli import main
from alliance_monitor.scoring import EmbeddedScorer
from alliance_monitor.study import PairBoard, run_study

DEMO = resources.files("alliance_monitor").joinpath("demo_data/demo.jsonl")

#: The demo's first line for each concern (the supervisor's first read of the pair).
HEADLINE = {
    "safety": r"!! SAFETY",
    "decline": r"Alliance fell",
    "low": r"Alliance low",
    "patterns": r"(Passive|Directive) counselor:",
    "repaired": r"A rupture was repaired",
    "ok": r"Nothing to act on",
}


@pytest.fixture(scope="module")
def events() -> list[Any]:
    buf = io.StringIO()
    with redirect_stdout(buf):
        assert main(["demo", "--json"]) == 0
    return [event_adapter.validate_json(line) for line in buf.getvalue().splitlines()]


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str, Any]:
    out = tmp_path_factory.mktemp("study") / "out"
    src = out.parent / "demo.jsonl"
    src.write_text(DEMO.read_text(encoding="utf-8"), encoding="utf-8")
    summary = run_study(src, out, EmbeddedScorer())
    html = (out / "report.html").read_text(encoding="utf-8")
    views = json.loads(html.split('id="pair-data">', 1)[1].split("</script>", 1)[0])
    return views, html, summary


def _sections(text: str) -> dict[str, str]:
    parts = re.split(r"^Pair (\S+).*\n-+\n", text, flags=re.M)
    return {k: " ".join(v.split()) for k, v in zip(parts[1::2], parts[2::2], strict=True)}


def test_demo_board_and_report_agree_on_every_pair(
    events: list[Any], report: tuple[dict[str, Any], str, Any]
) -> None:
    verdicts = pair_verdicts(events)
    board = PairBoard()
    for ev in events:
        board(ev)
    on_board = {s.conversation_id: s.concern for s in board.ranked()}
    views, _html, _summary = report
    in_report = {cid: v["concern"] for cid, v in views.items()}
    demo = _sections(render(events))
    pairs = [json.loads(line)["conversation_id"] for line in DEMO.read_text().splitlines() if line]
    assert sorted(verdicts) == sorted(pairs) == sorted(demo)
    for cid in pairs:
        concern = verdicts[cid].concern
        assert on_board[cid] == concern, cid
        assert in_report[cid] == concern, cid
        assert re.match(HEADLINE[concern], demo[cid]), (cid, demo[cid][:80])
        if concern == "ok":  # the held / improved word is the verdict's
            assert demo[cid].startswith(
                f"Nothing to act on: the alliance {verdicts[cid].alliance}."
            )
    # the bundled pairs cover the ranks a supervisor meets, in the same order everywhere
    assert [s.conversation_id for s in board.ranked()] == list(demo)
    assert {v.concern for v in verdicts.values()} >= {"safety", "decline", "low", "patterns", "ok"}


def test_the_report_states_what_declined_means(report: tuple[dict[str, Any], str, Any]) -> None:
    _views, html, summary = report
    assert "Declined means: " in html and "repaired" in html
    md = Path(summary.files["summary_md"]).read_text(encoding="utf-8")
    assert f"*Declined* means: {DECLINE_DEFINITION}" in md


def test_a_pair_that_held_is_no_concern_anywhere(
    events: list[Any], report: tuple[dict[str, Any], str, Any]
) -> None:
    views, html, _summary = report
    assert pair_verdicts(events)["demo-holding"].alliance == "held"
    assert views["demo-holding"]["concern"] == "ok"
    assert "Below its start" not in html  # the latest window against the start is no concern


def test_report_intervals_stay_on_the_scale(report: tuple[dict[str, Any], str, Any]) -> None:
    _views, html, summary = report
    for ph in summary.phases:
        for name in ("early", "middle", "late"):
            ci = ph.phase(name)
            assert ci.lo is None or 1.0 <= ci.lo <= ci.mean <= ci.hi <= 5.0
    for lo, hi in re.findall(
        r"(?:early|middle|late): \d\.\d\d \[(-?\d+\.\d\d), (-?\d+\.\d\d)\]", html
    ):
        assert 1.0 <= float(lo) <= float(hi) <= 5.0


def test_the_title_names_standard_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(DEMO.read_text(encoding="utf-8")))
    out = tmp_path / "out"
    assert main(["study", "-", "--out", str(out)]) == 0
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "<title>Alliance study: standard input</title>" in html
    assert "Alliance study: -" not in html


# ----------------------------------------------------------------- written rupture sessions
RUPTURES = Path(__file__).parent / "data" / "rupture_sessions.jsonl"
#: The verdict each written session is meant to get (its "expect" label).
EXPECTED_CONCERN = {
    "declined": "decline",
    "repaired": "repaired",
    "unchanged": "ok",
    "trajectory": "ok",
    "insufficient_evidence": "ok",
}


@pytest.fixture(scope="module")
def written() -> tuple[list[dict[str, Any]], list[Event]]:
    """The written sessions and their events, replayed message by message through the monitor."""
    sessions = [json.loads(x) for x in RUPTURES.read_text(encoding="utf-8").splitlines() if x]

    async def run() -> list[Event]:
        out: list[Event] = []
        monitor = Monitor(
            scorer=EmbeddedScorer(),
            scoring=ScoringPolicy(overload="wait"),
            idle_check_interval=None,
        )
        async with monitor:
            monitor.on(out.append)
            for conv in sessions:
                cid = conv["conversation_id"]
                for m in conv["messages"]:
                    await monitor.ingest({**m, "conversation_id": cid})
                await monitor.end_session(cid)
            await monitor.flush()
        return out

    return sessions, asyncio.run(run())


def _views(tmp: Path, *, replay: bool) -> dict[str, Any]:
    summary = run_study(RUPTURES, tmp / "out", EmbeddedScorer(), replay=replay, bootstrap=0)
    html = Path(summary.files["report_html"]).read_text(encoding="utf-8")
    views: dict[str, Any] = json.loads(html.split('id="pair-data">', 1)[1].split("</script>")[0])
    return views


def test_every_surface_words_the_written_sessions_alike(
    written: tuple[list[dict[str, Any]], list[Event]], tmp_path: Path
) -> None:
    sessions, events = written
    verdicts = pair_verdicts(events)
    board = PairBoard()
    for ev in events:
        board(ev)
    demo = _sections(render(events))
    replayed = _views(tmp_path / "replay", replay=True)
    analysed = _views(tmp_path / "static", replay=False)
    summaries = {e.conversation_id: e for e in events if isinstance(e, SessionSummary)}
    for conv in sessions:
        cid = conv["conversation_id"]
        v = verdicts[cid]
        assert v.concern == EXPECTED_CONCERN[conv["labels"]["expect"]], cid
        # the board, the same board restored from its stored record, and the report's badge
        # (with the window replay, and from the analysis alone) name the same concern
        restored = PairBoard()
        restored.restore_pair(json.loads(json.dumps(board.pair_record(cid))))
        for status in (board.get(cid), restored.get(cid)):
            assert status is not None and status.concern == v.concern, cid
        assert replayed[cid]["concern"] == analysed[cid]["concern"] == v.concern, cid
        # the demo's first line is the verdict's
        head = "Too little to go on yet" if v.alliance == "insufficient evidence" else None
        assert re.match(head or HEADLINE[v.concern], demo[cid]), (cid, demo[cid][:80])
        # "declined" means one thing: the live events, the session summary and the study's
        # late-vs-early trajectory (`analyze`) say it of the same pairs
        study_declined = replayed[cid]["study"]["trajectory"] == "declined"
        summary_declined = summaries[cid].trajectory.value == "declined"
        assert study_declined == summary_declined == v.declined, cid
        if v.declined:
            assert "declined" in demo[cid] or "fell" in demo[cid]
    assert {v.concern for v in verdicts.values()} >= {"decline", "repaired", "ok"}

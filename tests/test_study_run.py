"""`run_study` end to end on small corpora whose answers are known by construction.

The corpus helpers here are shared with the browser tests (`from test_study_run import ...`).
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

import pytest

from alliance_monitor import WindowRequest
from alliance_monitor.study import run_study
from alliance_monitor.study._cli import cmd_study, configure_parser
from alliance_monitor.testing import StaticScorer

#: Level of every construct in each of the three windows / phases of a pair.
LEVELS: dict[str, tuple[float, float, float]] = {
    "down": (4.0, 3.0, 2.0),
    "flat": (3.0, 3.0, 3.0),
    "up": (2.0, 3.0, 3.0),
    "risk": (3.0, 3.0, 3.0),
}
COUNSELORS = {"down": "c-a", "flat": "c-a", "up": "c-b"}
PASSIVE_TEXT = "ok, zebra sentinel"
RISK_TEXT = "some days I want to kill myself"
RUPTURE_TEXT = "you're not listening to me"


def _level(req: WindowRequest) -> float:
    return LEVELS.get(req.conversation_id, (3.0, 3.0, 3.0))[min(req.window_index, 2)]


def _passive(text: str) -> float:
    return 1.0 if text.startswith("ok") else 0.0


def scorer() -> StaticScorer:
    """Scores by script: 18 exchanges make three rolling windows of 6 exchanges (the monitor's
    default) that coincide with the three phase thirds, so both see the same levels."""
    return StaticScorer(_level, passive=_passive)


def conversation(cid: str, n: int = 36, counselor_id: str | None = None) -> dict[str, Any]:
    msgs = []
    for i in range(n):
        role = "counselor" if i % 2 == 0 else "client"
        if role == "counselor":
            text = PASSIVE_TEXT if cid == "flat" else "what has that been like for you?"
        elif cid == "risk" and i == 21:
            text = RISK_TEXT
        elif cid == "down" and i >= 12:
            text = RUPTURE_TEXT  # what shows the fall: an unrepaired rupture
        else:
            text = "I feel stuck at work"
        m: dict[str, Any] = {"id": f"{cid}:{i}", "role": role, "text": text, "ts": 10.0 * i}
        if counselor_id:
            m["counselor_id"] = counselor_id
        msgs.append(m)
    return {"conversation_id": cid, "messages": msgs}


def write_corpus(path: Path, ids: list[str] | None = None) -> Path:
    ids = ids or list(LEVELS)
    with path.open("w", encoding="utf-8") as f:
        for cid in ids:
            f.write(json.dumps(conversation(cid, counselor_id=COUNSELORS.get(cid))) + "\n")
    return path


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, dict[str, Any], Path]:
    tmp = tmp_path_factory.mktemp("study")
    summary = run_study(write_corpus(tmp / "corpus.jsonl"), tmp / "out", scorer())
    data = json.loads((tmp / "out" / "summary.json").read_text(encoding="utf-8"))
    return summary, data, tmp / "out"


def test_writes_the_three_files(study: tuple[Any, dict[str, Any], Path]) -> None:
    summary, _data, out = study
    assert sorted(p.name for p in out.iterdir()) == ["report.html", "summary.json", "summary.md"]
    assert summary.files["report_html"] == str(out / "report.html")
    assert summary.n_transcripts == 4 and summary.n_phase_analysis == 4


def test_phase_means_and_cis_by_hand(study: tuple[Any, dict[str, Any], Path]) -> None:
    _s, data, _out = study
    overall = data["phases"]["overall"]
    t3 = 3.182446305284263  # t(0.975, 3), table 3.182
    # early: 4, 3, 2, 3 -> mean 3, sd sqrt(2/3)
    assert overall["early"]["mean"] == 3.0
    assert overall["early"]["hi"] == pytest.approx(3 + t3 * math.sqrt(2 / 3) / 2, abs=1e-4)
    # middle: all 3 -> a zero-width interval
    assert (overall["middle"]["lo"], overall["middle"]["hi"]) == (3.0, 3.0)
    # late: 2, 3, 3, 3 -> mean 2.75, sd 0.5
    assert overall["late"]["mean"] == 2.75
    assert overall["late"]["lo"] == pytest.approx(2.75 - t3 * 0.5 / 2, abs=1e-4)
    # late - early: -2, 0, +1, 0 -> mean -0.25
    assert overall["late_minus_early"]["mean"] == -0.25
    # The static scorer rates all twelve constructs alike, so every dimension agrees.
    assert data["phases"]["goal"] == overall


def test_friedman_by_hand(study: tuple[Any, dict[str, Any], Path]) -> None:
    _s, data, _out = study
    # Ranks within pair: down (3,2,1), flat (2,2,2), up (1,2.5,2.5), risk (2,2,2).
    # R = (8, 8.5, 7.5): 12/48 * 192.5 - 48 = 0.125; ties 24 + 6 + 24 = 54,
    # C = 1 - 54/96 = 7/16; Q = 0.125 / (7/16) = 2/7; p = e^(-1/7); W = Q / 8.
    fr = data["phases"]["overall"]["friedman"]
    assert fr["chi2"] == pytest.approx(2 / 7, abs=1e-4)
    assert fr["p"] == pytest.approx(math.exp(-1 / 7), abs=1e-6)
    assert fr["kendall_w"] == pytest.approx(1 / 28, abs=1e-4)


def test_trajectory_distribution(study: tuple[Any, dict[str, Any], Path]) -> None:
    _s, data, _out = study
    for dim in ("overall", "goal", "task", "bond"):
        t = data["trajectories"][dim]
        assert t["n"] == 4
        # down -2 declined; flat, risk 0 unchanged; up +1 improved by a level or more.
        assert t["counts"] == {
            "declined": 1,
            "unchanged": 2,
            "improved_lt1": 0,
            "improved_ge1": 1,
            "insufficient_evidence": 0,
        }
        assert t["shares"]["unchanged"] == 0.5


def test_pattern_prevalence(study: tuple[Any, dict[str, Any], Path]) -> None:
    _s, data, _out = study
    levels = {row["group"]: row for row in data["patterns_by_level"]}
    # Session alliance: down 3, flat 3, risk 3, up 8/3 -> all on level 3.
    assert [levels[g]["sessions"] for g in "12345"] == [0, 0, 4, 0, 0]
    three = levels["3"]
    assert three["counselor_messages"] == 72  # 4 pairs x 18 counselor messages
    assert three["passive_messages"] == 18 and three["passive_share"] == 0.25
    assert three["directive_messages"] == 0
    assert three["sessions_with_passive_pattern"] == 1
    terciles = [(r["group"], r["sessions"]) for r in data["patterns_by_tercile"]]
    assert terciles == [("lowest", 1), ("middle", 1), ("highest", 2)]
    by_c = {row["group"]: row for row in data["patterns_by_counselor"]}
    assert sorted(by_c) == ["c-a", "c-b"]
    assert by_c["c-a"]["sessions"] == 2
    assert by_c["c-a"]["passive_share"] == 0.5
    assert by_c["c-a"]["declined"] == 1
    assert by_c["c-b"]["mean_alliance"] == pytest.approx(8 / 3, abs=1e-4)


def test_markdown_tables(study: tuple[Any, dict[str, Any], Path]) -> None:
    _s, _data, out = study
    md = (out / "summary.md").read_text(encoding="utf-8")
    assert "| Overall | 3.00 [1.70, 4.30] | 3.00 [3.00, 3.00] | 2.75 [1.95, 3.55] |" in md
    assert "| Overall | 25.0% (1) | 50.0% (2) | 0.0% (0) | 25.0% (1) | 0.0% (0) | 75.0% (3) |" in md
    assert "**Table 4. Counselor patterns by counselor.**" in md
    assert PASSIVE_TEXT not in md and RISK_TEXT not in md


def test_no_message_text_in_outputs(study: tuple[Any, dict[str, Any], Path]) -> None:
    _s, _data, out = study
    for name in ("summary.json", "summary.md", "report.html"):
        text = (out / name).read_text(encoding="utf-8")
        assert "zebra sentinel" not in text and "kill myself" not in text, name


def test_report_pairs_ranked_by_concern(study: tuple[Any, dict[str, Any], Path]) -> None:
    _s, _data, out = study
    html = (out / "report.html").read_text(encoding="utf-8")
    order = [html.index(f'data-pair="{cid}"') for cid in ("risk", "down", "flat", "up")]
    assert order == sorted(order)
    payload = html.split('id="pair-data">', 1)[1].split("</script>", 1)[0]
    views = json.loads(payload)
    assert views["risk"]["concern"] == "safety"
    assert views["down"]["concern"] == "decline"
    assert views["flat"]["concern"] == "patterns"
    assert views["up"]["concern"] == "ok"
    assert views["down"]["study"]["trajectory"] == "declined"
    assert [m["kind"] for m in views["down"]["markers"]] == ["decline"] * 4
    assert len(views["flat"]["windows"]) == 3


def test_include_text_lets_quotes_into_the_report(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "c.jsonl", ["flat"])
    run_study(corpus, tmp_path / "out", scorer(), include_text=True)
    assert "zebra sentinel" in (tmp_path / "out" / "report.html").read_text(encoding="utf-8")


def test_exclusions_and_rejections_are_counted(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    bad_role = conversation("up")
    bad_role["messages"][5]["role"] = "therapist"
    with path.open("w", encoding="utf-8") as f:
        f.write(json.dumps(conversation("down")) + "\n")
        f.write("{not json\n")
        f.write(json.dumps(bad_role) + "\n")
        f.write(json.dumps(conversation("down")) + "\n")  # the same conversation again
        f.write(json.dumps(conversation("short", n=3)) + "\n")  # under three exchanges
    s = run_study(path, tmp_path / "out", scorer())
    assert s.rejected == {"invalid_json": 1, "bad_role": 1}
    assert s.excluded == {"too_short": 1, "duplicate_conversation_id": 1}
    assert s.n_transcripts == 3 and s.n_phase_analysis == 2
    md = (tmp_path / "out" / "summary.md").read_text(encoding="utf-8")
    assert "excluded: duplicate_conversation_id 1, too_short 1" in md
    assert "1 rejected (bad_role), 1 rejected (invalid_json)" in md


def test_empty_corpus_still_writes_a_report(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_text("", encoding="utf-8")
    s = run_study(path, tmp_path / "out", scorer())
    assert s.n_transcripts == 0
    assert s.phase_stats("overall").early.mean is None
    assert (tmp_path / "out" / "report.html").exists()
    assert "n/a" in (tmp_path / "out" / "summary.md").read_text(encoding="utf-8")


def test_without_replay_the_pair_view_shows_the_phases(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "c.jsonl", ["down", "up"])
    s = run_study(corpus, tmp_path / "out", scorer(), replay=False)
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    views = json.loads(html.split('id="pair-data">', 1)[1].split("</script>", 1)[0])
    assert [w["overall"] for w in views["down"]["windows"]] == [4.0, 3.0, 2.0]
    assert views["down"]["markers"] == []
    assert s.trajectory("overall").counts["declined"] == 1


def _cli_args(*argv: str) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    configure_parser(p)
    return p.parse_args(list(argv))


def test_cmd_study_with_the_embedded_scorer_matches_analyze(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from alliance_monitor.cli import main

    corpus = write_corpus(tmp_path / "c.jsonl")
    assert cmd_study(_cli_args(str(corpus), "--out", str(tmp_path / "out"))) == 0
    err = capsys.readouterr().err
    assert "study: 4 pair(s), 4 in the phase analysis" in err
    assert main(["analyze", str(corpus), "-o", str(tmp_path / "a.jsonl")]) == 0
    analyzed = {
        r["conversation_id"]: r
        for r in map(json.loads, (tmp_path / "a.jsonl").read_text().splitlines())
    }
    pairs = json.loads((tmp_path / "out" / "summary.json").read_text())["pairs"]
    for p in pairs:
        assert p["phases"] == analyzed[p["conversation_id"]]["phases"]
        assert p["changes"]["overall"] == analyzed[p["conversation_id"]]["change"]


def test_cmd_study_options(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path / "c.jsonl", ["down"])
    args = _cli_args(
        str(corpus),
        "--out",
        str(tmp_path / "o"),
        "--no-replay",
        "--trajectory-tolerance",
        "0.5",
        "--confidence",
        "0.9",
        "--max-report-pairs",
        "1",
    )
    assert args.scorer == "embedded" and args.no_replay
    assert cmd_study(args) == 0
    data = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert data["study"]["trajectory_tolerance"] == 0.5
    assert data["study"]["confidence_level"] == 0.9


def test_cmd_study_closes_an_async_scorer_in_the_loop_that_used_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An HTTP-backed scorer (llm, cascade) owns a client bound to the event loop it ran in;
    # closing it from a second loop fails with "Event loop is closed".
    import asyncio

    from alliance_monitor import WindowScore
    from alliance_monitor.scoring import Scorer

    loops: dict[str, set[int]] = {"score": set(), "aclose": set()}
    inner = StaticScorer(_level, passive=_passive)

    class LoopBound(Scorer):
        name = "loop-bound"

        async def score(self, request: WindowRequest) -> WindowScore:
            loops["score"].add(id(asyncio.get_running_loop()))
            return await inner.score(request)

        async def aclose(self) -> None:
            loops["aclose"].add(id(asyncio.get_running_loop()))

    monkeypatch.setattr("alliance_monitor._cli_scoring.scorer_from_args", lambda args: LoopBound())
    corpus = write_corpus(tmp_path / "c.jsonl", ["down", "up"])
    assert cmd_study(_cli_args(str(corpus), "--out", str(tmp_path / "o"))) == 0
    assert len(loops["score"]) == 1 and loops["aclose"] == loops["score"]

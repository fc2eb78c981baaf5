"""`PairBoard`: per-pair summaries from events, ranking by concern, bounds, privacy."""

from __future__ import annotations

import threading

import pytest

from alliance_monitor import (
    AllianceDeclined,
    AllianceLow,
    DimensionScores,
    Feedback,
    Monitor,
    PatternDetected,
    PhaseScores,
    Rupture,
    SafetySignal,
    ScoringPolicy,
    SessionSummary,
    Trajectory,
    WindowScore,
    WindowScored,
    WindowSignals,
    WindowUnscored,
)
from alliance_monitor.study import PairBoard
from alliance_monitor.testing import StaticScorer


def scores(level: float) -> DimensionScores:
    return DimensionScores(goal=level, task=level, bond=level, overall=level)


def scored(cid: str, idx: int, level: float, *, baseline: bool = False) -> WindowScored:
    ws = WindowScore(conversation_id=cid, window_index=idx, scores=scores(level))
    return WindowScored(
        id=f"w-{cid}-{idx}",
        conversation_id=cid,
        window_index=idx,
        score=ws,
        baseline=baseline,
        ts=float(idx),
        counselor_id="c-1",
    )


def feedback(quote: str = "") -> Feedback:
    return Feedback(
        pattern="passive",
        message_ids=("m1", "m3"),
        dimension="bond",
        summary="In window 1, 2 of 3 replies acknowledged without exploring.",
        suggestion="Reflect the feeling and invite more.",
        quotes=(quote,) if quote else (),
    )


def pattern(cid: str, idx: int, quote: str = "") -> PatternDetected:
    return PatternDetected(
        id=f"p-{cid}-{idx}",
        type="passive_pattern",
        conversation_id=cid,
        pattern="passive",
        window_index=idx,
        rate=0.67,
        message_ids=("m1", "m3"),
        feedback=feedback(quote),
    )


def decline(cid: str, idx: int) -> AllianceDeclined:
    return AllianceDeclined(
        id=f"d-{cid}-{idx}",
        conversation_id=cid,
        dimension="bond",
        from_level=4.0,
        to_level=2.8,
        change=-1.2,
        reference="baseline",
        windows=(idx - 1, idx),
        feedback=feedback(),
    )


def safety(cid: str, mid: str) -> SafetySignal:
    return SafetySignal(
        id=f"s-{cid}-{mid}",
        conversation_id=cid,
        message_id=mid,
        category="self_harm",
        cues=("suicidal_ideation",),
    )


def feed(board: PairBoard, *events: object) -> None:
    for ev in events:
        board(ev)  # type: ignore[arg-type]


def test_ranked_by_concern() -> None:
    board = PairBoard()
    repaired = WindowScore(
        conversation_id="rep",
        window_index=1,
        scores=scores(3.6),
        signals=WindowSignals(
            ruptures=(
                Rupture(message_id="c5", kind="confrontation", marker="discord", repaired_by="k6"),
            )
        ),
    )
    feed(
        board,
        scored("ok", 0, 3.0, baseline=True),
        scored("ok", 1, 3.1),
        scored("traj", 0, 4.0, baseline=True),
        scored("traj", 1, 3.5),  # lower than its start, and nothing shows what fell
        scored("pat", 0, 3.0, baseline=True),
        pattern("pat", 0),
        scored("low", 0, 1.8, baseline=True),  # near 2, but no low-alliance event
        scored("lowev", 0, 2.2, baseline=True),
        AllianceLow(id="l", conversation_id="lowev", dimension="overall", level=1.9, windows=(0,)),
        scored("rep", 0, 3.8, baseline=True),
        WindowScored(id="w-rep-1", conversation_id="rep", window_index=1, score=repaired),
        scored("dec", 0, 4.0, baseline=True),
        scored("dec", 1, 2.8),
        decline("dec", 1),
        scored("safe", 0, 4.5, baseline=True),
        safety("safe", "m9"),
    )
    ranked = board.ranked()
    # The concern is the pair's one verdict (`PairVerdict`): a lower latest window alone is no
    # concern, and neither is a latest window near 2 without a low-alliance event.
    assert [(s.conversation_id, s.concern) for s in ranked] == [
        ("safe", "safety"),
        ("dec", "decline"),
        ("lowev", "low"),
        ("pat", "patterns"),
        ("rep", "repaired"),
        ("low", "ok"),
        ("ok", "ok"),
        ("traj", "ok"),
    ]
    traj = next(s for s in ranked if s.conversation_id == "traj")
    # latest vs start, shown as a plain comparison: no session ended, so no trajectory
    assert traj.vs_start == "lower" and traj.change == -0.5
    assert traj.trajectory is None
    # one word per meaning: no pair's JSON says "declined" unless its concern is a decline
    rows = board.listing()["pairs"]
    assert {r["id"]: r["vs_start"] for r in rows}["traj"] == "lower"
    for row in rows:
        assert row["trajectory"] != "declined" or row["concern"] == "decline"
    assert ranked[0].counselor_id == "c-1"
    assert board.ranked(limit=2)[1].conversation_id == "dec"


def test_ties_most_recent_safety_then_lower_alliance() -> None:
    board = PairBoard()
    feed(board, safety("s1", "a"), safety("s2", "b"))
    feed(board, scored("p1", 0, 3.4, baseline=True), pattern("p1", 0))
    feed(board, scored("p2", 0, 2.6, baseline=True), pattern("p2", 0))
    assert [s.conversation_id for s in board.ranked()] == ["s2", "s1", "p2", "p1"]
    feed(board, safety("s1", "c"))  # a newer signal on s1 puts it first again
    assert board.ranked()[0].conversation_id == "s1"


def test_alliance_low_event_counts_as_low() -> None:
    board = PairBoard()
    feed(
        board,
        scored("a", 0, 3.0, baseline=True),
        scored("b", 0, 3.0, baseline=True),
        AllianceLow(id="l", conversation_id="b", dimension="goal", level=1.9, windows=(0,)),
    )
    assert [(s.conversation_id, s.concern) for s in board.ranked()] == [("b", "low"), ("a", "ok")]


def test_view_windows_markers_feedback_and_phases() -> None:
    board = PairBoard()
    feed(
        board,
        scored("p", 0, 4.0, baseline=True),
        scored("p", 1, 3.6, baseline=True),
        scored("p", 2, 3.0),
        pattern("p", 2),
        decline("p", 2),
        WindowUnscored(id="u", conversation_id="p", window_index=3, reason="scorer_timeout"),
        SessionSummary(
            id="ss",
            conversation_id="p",
            session_index=0,
            alliance=scores(3.5),
            phases=PhaseScores(early=scores(4), middle=scores(3.6), late=scores(3)),
            trajectory=Trajectory.DECLINED,
            change=-1.0,
            n_messages=40,
            n_windows=4,
        ),
    )
    v = board.view("p")
    assert v is not None
    assert [w["window"] for w in v["windows"]] == [0, 1, 2]
    assert [w["baseline"] for w in v["windows"]] == [True, True, False]
    assert v["baseline"]["overall"] == 3.8  # mean of the two baseline windows
    assert v["latest"]["overall"] == 3.0 and v["change"] == -0.8
    assert [m["kind"] for m in v["markers"]] == ["passive", "decline", "unscored"]
    assert v["markers"][2]["detail"] == "scorer_timeout"
    assert v["last_feedback"]["suggestion"].startswith("Reflect")
    assert v["phases"]["late"]["overall"] == 3.0 and v["session_trajectory"] == "declined"
    assert v["counts"]["windows"] == 3 and v["counts"]["unscored"] == 1
    assert board.view("nobody") is None


def test_quotes_only_when_asked() -> None:
    board = PairBoard()
    feed(board, scored("p", 0, 3.0, baseline=True), pattern("p", 0, quote="secret words"))
    assert "secret words" not in str(board.view("p"))
    assert "secret words" not in str(board.listing())
    assert "secret words" in str(board.view("p", include_text=True))


def test_bounded_windows_markers_and_pairs() -> None:
    board = PairBoard(max_pairs=3, max_windows=3, max_markers=2)
    feed(board, *(scored("p", i, 3.0, baseline=i == 0) for i in range(10)))
    feed(board, *(pattern("p", i) for i in range(5)))
    v = board.view("p")
    assert v is not None
    assert [w["window"] for w in v["windows"]] == [7, 8, 9]
    assert [m["window"] for m in v["markers"]] == [3, 4]
    assert v["counts"]["passive"] == 5  # counts are not truncated
    # Pairs: the least recently updated pair without a safety signal goes first.
    feed(board, safety("s", "m"), scored("q", 0, 3.0, baseline=True))
    feed(board, scored("r", 0, 3.0, baseline=True))  # evicts "p" (older than s, but s is safety)
    assert sorted(s.conversation_id for s in board.ranked()) == ["q", "r", "s"]
    feed(board, scored("t", 0, 3.0, baseline=True))  # evicts "q", keeps "s"
    assert sorted(s.conversation_id for s in board.ranked()) == ["r", "s", "t"]
    assert board.evicted == 2 and len(board) == 3
    with pytest.raises(ValueError):
        PairBoard(max_pairs=0)


def test_listing_versions_and_sparklines() -> None:
    board = PairBoard()
    assert board.listing() == {"version": 0, "total": 0, "pairs": []}
    feed(board, scored("p", 0, 3.0, baseline=True), scored("p", 1, 2.5))
    out = board.listing()
    assert out["version"] == 2 and out["total"] == 1
    assert out["pairs"][0]["spark"] == [3.0, 2.5]
    assert out["pairs"][0]["id"] == "p"


def test_concurrent_writer_and_readers() -> None:
    board = PairBoard(max_pairs=50, max_windows=5)
    errors: list[BaseException] = []

    def write() -> None:
        for i in range(3000):
            board(scored(f"p{i % 80}", i, 1 + (i % 40) / 10, baseline=i < 80))

    def read() -> None:
        try:
            for _ in range(200):
                board.listing(limit=20)
                board.view("p1")
        except BaseException as exc:  # pragma: no cover - the failure being tested for
            errors.append(exc)

    threads = [threading.Thread(target=write)] + [threading.Thread(target=read) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(board) == 50 and board.version == 3000


@pytest.mark.anyio
async def test_as_a_monitor_handler() -> None:
    board = PairBoard()
    monitor = Monitor(
        scorer=StaticScorer(3.0, passive=1.0),
        idle_check_interval=None,
        scoring=ScoringPolicy(overload="wait"),
    )
    async with monitor:
        monitor.on(board)
        for i in range(14):
            await monitor.ingest(
                {
                    "conversation_id": "c",
                    "id": f"c:{i}",
                    "ts": float(i),
                    "role": "counselor" if i % 2 == 0 else "client",
                    "text": "ok" if i % 2 == 0 else "I had a rough week",
                }
            )
        await monitor.end_all_sessions()
        await monitor.flush()
    v = board.view("c")
    assert v is not None
    assert v["concern"] == "patterns" and v["counts"]["passive"] >= 1
    assert v["counts"]["sessions"] == 1
    assert "rough week" not in str(v)

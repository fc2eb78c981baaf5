"""Corners of the core that the shell rarely reaches: rejecting input that never became a
message, scores for pairs it no longer holds, sessions ended with nothing left to score."""

from __future__ import annotations

from helpers import alternating

from alliance_monitor import RejectReason, WindowScore
from alliance_monitor._core import MonitorCore
from alliance_monitor.testing import StaticScorer


def test_reject_counts_input_that_never_became_a_message_and_names_what_it_can() -> None:
    core = MonitorCore()
    out = core.reject(RejectReason.INVALID_JSON, "text", {"conversation_id": "c", "id": "m1"})
    assert out.result is not None
    assert (out.result.status, out.result.field) == ("rejected", "text")
    assert (out.result.conversation_id, out.result.message_id) == ("c", "m1")
    c = core.counts
    assert c["messages_in"] == c["rejected"] == 1 and core.rejected["invalid_json"] == 1


def test_scores_for_pairs_no_longer_held_and_without_a_request() -> None:
    core = MonitorCore(safety=False)
    work = [r for m in alternating("p", 14) for r in core.ingest(m, 1.0).work]
    score = StaticScorer(3.5).score_sync(work[0])
    gone = WindowScore.model_validate({**score.model_dump(), "conversation_id": "elsewhere"})
    assert core.apply(gone) == []  # a pair the core does not hold: nothing
    events = core.apply(score)  # no request: no span, the window counts all the same
    assert [e.type for e in events][:1] == ["window_scored"]
    assert core.awaiting("p") == frozenset()


def test_ending_sessions_and_choosing_pairs_to_evict() -> None:
    core = MonitorCore(safety=False)
    work = [r for m in alternating("p", 14) for r in core.ingest(m, 1.0).work]
    for req in work:
        core.apply(StaticScorer(3.5).score_sync(req))
    assert core.open_sessions() == ["p"]
    out = core.end_session("p", "explicit")
    assert [r.kind for r in out.work] == ["final"]  # the open window still goes to the scorer
    assert core.end_session("p").events == ()  # no session open: nothing
    core.ingest(alternating("q", 1)[0], 1.0)
    assert [e.type for e in core.end_session("q").events] == []  # its one window awaits
    assert core.eviction_candidates(5) == []  # both await a score
    summaries = [e.type for r in out.work for e in core.apply(StaticScorer(3.5).score_sync(r))]
    assert "session_summary" in summaries  # the last window in: the summary follows
    core.ingest(alternating("r", 1)[0], 1.0)
    assert core.eviction_candidates(1) == ["p"]  # the first idle pair is enough
    assert core.open_sessions() == ["r"]

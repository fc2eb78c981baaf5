"""The I/O-free core: windows, sessions, duplicates, ordering, declines, patterns, event ids."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import alternating, msg

from alliance_monitor import RejectReason, WindowRequest
from alliance_monitor._config import DeclinePolicy, SessionPolicy, WindowPolicy
from alliance_monitor._core import MonitorCore, Outcome
from alliance_monitor._events import EventType
from alliance_monitor._models import DimensionScores
from alliance_monitor._rules import phase_split
from alliance_monitor.testing import StaticScorer, rupture_signals


def falling(levels: list[float], **kw: Any) -> StaticScorer:
    """Scripted levels per window; a window below the first level carries an unrepaired
    rupture (what a decline needs to page, besides the fall)."""

    def level(r: WindowRequest) -> float:
        return levels[min(r.window_index, len(levels) - 1)]

    return StaticScorer(
        level, signals=lambda r: rupture_signals(r) if level(r) < levels[0] else None, **kw
    )


def drive(
    core: MonitorCore,
    messages: list[dict[str, Any]],
    scorer: StaticScorer | None = None,
    end: bool = True,
) -> list[Any]:
    """Feed messages, score every window synchronously, return all events in order."""
    scorer = scorer or StaticScorer(3.0)
    events: list[Any] = []

    def run(out: Outcome) -> None:
        events.extend(out.events)
        for req in out.work:
            events.extend(core.apply(scorer.score_sync(req), req))

    for m in messages:
        run(core.ingest(m))
    if end:
        run(core.end_all("explicit"))
    return events


def test_window_closes_after_max_exchanges() -> None:
    core = MonitorCore(window=WindowPolicy(max_exchanges=3), safety=False)
    outs = [core.ingest(m) for m in alternating("c", 14)]
    closed = [w for o in outs for w in o.work]
    # 3 exchanges = 6 turns; the 7th message starts the next window, which closes once one
    # message past that boundary has arrived (the default reorder allowance).
    assert [len(o.work) for o in outs].index(1) == 7
    assert len(closed) == 2
    assert [len(w.messages) for w in closed] == [6, 6]
    assert all(w.n_exchanges == 3 for w in closed)
    assert closed[0].messages[0].id == "c:0" and closed[1].messages[0].id == "c:6"


def test_consecutive_same_role_messages_are_one_turn() -> None:
    core = MonitorCore(window=WindowPolicy(max_exchanges=1), safety=False)
    seq = [
        msg("c", 0, "counselor"),
        msg("c", 1, "counselor"),
        msg("c", 2, "client"),
        msg("c", 3, "client"),
        msg("c", 4, "counselor"),
        msg("c", 5, "counselor"),
    ]
    work = [w for m in seq for w in core.ingest(m).work]
    assert len(work) == 1 and [m.id for m in work[0].messages] == ["c:0", "c:1", "c:2", "c:3"]


def test_window_closes_on_token_budget() -> None:
    core = MonitorCore(window=WindowPolicy(max_exchanges=100, max_tokens=50), safety=False)
    long_text = "word " * 30  # ~30 tokens
    work = [w for i in range(5) for w in core.ingest(msg("c", i, "client", long_text)).work]
    assert len(work) == 2


def test_huge_message_is_truncated_for_scoring_and_flagged() -> None:
    core = MonitorCore(window=WindowPolicy(max_message_tokens=100), safety=False)
    core.ingest(msg("c", 0, "client", "x y " * 600_000))  # 2.4 MB
    out = core.end_all()
    (req,) = out.work
    assert req.messages[0].truncated
    assert len(req.messages[0].text) < 1000
    assert core.counts["truncated"] == 1


def test_duplicates_are_ignored_idempotently() -> None:
    msgs = alternating("c", 30)
    a = MonitorCore(safety=False)
    ev_a = drive(a, msgs)
    b = MonitorCore(safety=False)
    ev_b = drive(b, [m for m in msgs for _ in range(2)] + msgs[:5])
    assert [e.id for e in ev_a] == [e.id for e in ev_b]
    assert b.counts["duplicates"] == 35
    assert b.counts["accepted"] == a.counts["accepted"] == 30


def test_duplicates_detected_beyond_exact_id_list() -> None:
    core = MonitorCore(window=WindowPolicy(max_messages=64), safety=False)
    msgs = alternating("c", 5000)
    drive(core, msgs, end=False)
    # The oldest ids have moved to the Bloom filter; re-sending them is still a duplicate.
    for m in msgs[:50]:
        assert core.ingest(m).result.status == "duplicate"  # type: ignore[union-attr]
    # A new message in order is never mistaken for one.
    assert core.ingest(msg("c", 9999, "client", ts=99999.0)).result.accepted  # type: ignore[union-attr]


def test_out_of_order_within_window_gives_same_state() -> None:
    msgs = alternating("c", 40)
    shuffled = list(msgs)
    # Swap neighbours inside windows (positions 1-2, 13-14, ...).
    for i in (1, 13, 25):
        shuffled[i], shuffled[i + 1] = shuffled[i + 1], shuffled[i]
    a, b = MonitorCore(safety=False), MonitorCore(safety=False)
    s1, s2 = StaticScorer(3.0), StaticScorer(3.0)
    ea, eb = drive(a, msgs, s1), drive(b, shuffled, s2)
    assert [e.id for e in ea] == [e.id for e in eb]
    assert [[m.id for m in r.messages] for r in s1.calls] == [
        [m.id for m in r.messages] for r in s2.calls
    ]


def test_late_message_is_counted_and_kept() -> None:
    core = MonitorCore(window=WindowPolicy(max_exchanges=2), safety=False)
    msgs = alternating("c", 12)
    late = msgs.pop(1)
    scorer = StaticScorer(3.0)
    drive(core, [*msgs, late], scorer)
    assert core.counts["late"] == 1
    scored_ids = [m.id for r in scorer.calls for m in r.messages]
    assert sorted(scored_ids) == sorted(m["id"] for m in alternating("c", 12))


def test_platform_sequence_orders_over_timestamps() -> None:
    core = MonitorCore(safety=False)
    seq = [msg("c", 0, "counselor", ts=50.0, seq=1), msg("c", 1, "client", ts=10.0, seq=2)]
    drive(core, seq, end=False)
    (req,) = core.end_all().work
    assert [m.id for m in req.messages] == ["c:0", "c:1"]


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ({"conversation_id": "c", "id": "1", "role": "boss", "text": "t", "ts": 1}, "bad_role"),
        (
            {"conversation_id": "c", "id": "1", "role": "client", "text": "\u200b ", "ts": 1},
            "empty_text",
        ),
        (
            {"conversation_id": "c", "id": "1", "role": "client", "text": "t", "ts": "x"},
            "bad_timestamp",
        ),
        (
            {"conversation_id": "c", "id": "1", "role": "client", "text": "t", "ts": float("nan")},
            "bad_timestamp",
        ),
        (
            {"conversation_id": "c", "id": "1", "role": "client", "text": "t", "ts": True},
            "bad_timestamp",
        ),
        ({"conversation_id": "", "id": "1", "role": "client", "text": "t", "ts": 1}, "bad_id"),
        ({"id": "1", "role": "client", "text": "t", "ts": 1}, "missing_field"),
        (
            {"conversation_id": "c", "id": "1", "role": "client", "text": 7, "ts": 1},
            "invalid_schema",
        ),
    ],
)
def test_invalid_input_rejected_with_reason_and_counted(bad: dict[str, Any], reason: str) -> None:
    core = MonitorCore(safety=False)
    out = core.ingest(bad)
    assert out.result is not None and out.result.status == "rejected"
    assert out.result.reason == RejectReason(reason)
    assert core.rejected[reason] == 1


def test_rejection_errors_never_contain_text() -> None:
    from alliance_monitor import InvalidMessage, parse_message

    secret = "MY-SECRET-DIAGNOSIS-4471"
    for bad in (
        {"conversation_id": "c", "id": "1", "role": secret, "text": secret, "ts": 1},
        {"conversation_id": "c", "id": "1", "role": "client", "text": secret, "ts": secret},
        {"conversation_id": secret * 100, "id": "1", "role": "client", "text": secret, "ts": 1},
    ):
        with pytest.raises(InvalidMessage) as info:
            parse_message(bad)
        assert secret not in str(info.value) and secret not in repr(info.value)


def test_text_sanitised_at_ingest() -> None:
    core = MonitorCore(safety=False)
    core.ingest(msg("c", 0, "client", "he\u200bllo\x00 \ud800 wor\u202eld\r\n"))
    (req,) = core.end_all().work
    assert req.messages[0].text == "hello \ufffd world"
    req.messages[0].text.encode("utf-8")  # storable


def test_event_ids_are_stable_across_runs() -> None:
    msgs = alternating("c", 60)

    def lv(r: WindowRequest) -> float:
        return 4.5 if r.window_index < 2 else 2.0

    runs = []
    for _ in range(2):
        core = MonitorCore(safety=False)
        runs.append([e.id for e in drive(core, msgs, StaticScorer(lv, directive=0.9))])
    assert runs[0] == runs[1]
    assert len(set(runs[0])) == len(runs[0])


def test_decline_needs_confirmation() -> None:
    # Baseline 4.5, one noisy window at 2.5, then back: no decline.
    levels = [4.5, 4.5, 2.5, 4.4, 4.5, 4.4]
    core = MonitorCore(safety=False)
    events = drive(
        core,
        alternating("c", 12 * len(levels)),
        StaticScorer(lambda r: levels[min(r.window_index, len(levels) - 1)]),
    )
    assert not [e for e in events if e.type == EventType.ALLIANCE_DECLINED]


def test_decline_fires_once_per_dimension_when_confirmed() -> None:
    levels = [4.5, 4.4, 3.2, 3.1, 3.0, 3.0]
    core = MonitorCore(safety=False)
    events = drive(core, alternating("c", 12 * len(levels)), falling(levels))
    declines = [e for e in events if e.type == EventType.ALLIANCE_DECLINED]
    assert sorted(e.dimension for e in declines) == ["bond", "goal", "overall", "task"]
    d = declines[0]
    # the first window that fell and shows what fell (an unrepaired rupture) pages
    assert (
        d.windows == (2,)
        and d.from_level == pytest.approx(4.5)
        and d.to_level == pytest.approx(3.2)
    )
    assert d.reference == "baseline"
    assert d.feedback is not None and d.feedback.dimension == d.dimension
    # window 1 (4.4) did not fall: its rupture is not what fell
    assert d.reason == "unrepaired_rupture" and d.ruptures == ("c:35",)
    # The same fall with nothing in the windows that shows what fell: no page.
    core = MonitorCore(safety=False)
    plain = StaticScorer(lambda r: levels[min(r.window_index, len(levels) - 1)])
    events = drive(core, alternating("c", 12 * len(levels)), plain)
    assert not [e for e in events if e.type == EventType.ALLIANCE_DECLINED]


def test_decline_rearms_after_recovery() -> None:
    levels = [4.5, 4.5, 3.0, 3.0, 4.5, 4.5, 3.0, 3.0]
    core = MonitorCore(safety=False, decline=DeclinePolicy(dimensions=("overall",)))
    events = drive(core, alternating("c", 12 * len(levels)), falling(levels))
    assert len([e for e in events if e.type == EventType.ALLIANCE_DECLINED]) == 2


def test_low_alliance_event() -> None:
    core = MonitorCore(safety=False, decline=DeclinePolicy(dimensions=("overall",)))
    events = drive(core, alternating("c", 48), StaticScorer(1.5))
    lows = [e for e in events if e.type == EventType.ALLIANCE_LOW]
    assert len(lows) == 1 and lows[0].level == 1.5


def test_pattern_events_are_rates_with_specific_feedback() -> None:
    core = MonitorCore(safety=False)
    scorer = StaticScorer(3.0, passive=lambda t: 0.9 if t == "ok" else 0.1)
    msgs = [
        msg(
            "c",
            i,
            "counselor" if i % 2 == 0 else "client",
            "ok" if i % 2 == 0 and i < 12 else "tell me more about that",
        )
        for i in range(24)
    ]
    events = drive(core, msgs, scorer)
    pats = [e for e in events if e.type == EventType.PASSIVE_PATTERN]
    assert len(pats) == 1
    p = pats[0]
    assert p.window_index == 0 and p.rate == 1.0
    assert p.message_ids == ("c:0", "c:2", "c:4", "c:6", "c:8", "c:10")
    assert "c:0" in p.feedback.summary and p.feedback.dimension in {"goal", "bond"}
    assert p.feedback.suggestion and p.feedback.quotes == ()


def test_feedback_quotes_only_when_text_opted_in() -> None:
    for include in (False, True):
        core = MonitorCore(safety=False, include_text=include)
        msgs = [
            msg("c", i, "counselor" if i % 2 == 0 else "client", "ok" if i % 2 == 0 else "x")
            for i in range(12)
        ]
        events = drive(core, msgs, StaticScorer(3.0, passive=0.9))
        (p,) = [e for e in events if e.type == EventType.PASSIVE_PATTERN]
        assert bool(p.feedback.quotes) is include


def test_session_ends_on_idle_gap_and_new_session_id() -> None:
    core = MonitorCore(safety=False, session=SessionPolicy(idle_timeout=100))
    msgs = alternating("c", 10) + [
        msg("c", 10 + i, "client" if i % 2 else "counselor", ts=1000.0 + i, session_id="s1")
        for i in range(6)
    ]
    events = drive(core, msgs, end=False)
    sums = [e for e in events if e.type == EventType.SESSION_SUMMARY]
    assert len(sums) == 1 and sums[0].end_reason == "idle" and sums[0].n_messages == 10
    out = core.ingest(msg("c", 50, "client", ts=1010.0, session_id="s2"))
    later = list(out.events)
    for req in out.work:
        later.extend(core.apply(StaticScorer(3.0).score_sync(req), req))
    assert [e.end_reason for e in later if e.type == EventType.SESSION_SUMMARY] == ["new_session"]


def test_session_summary_phases_and_trajectory() -> None:
    levels = [4.5, 4.0, 3.5, 3.0, 2.5, 2.0]
    core = MonitorCore(safety=False)
    events = drive(core, alternating("c", 72), falling(levels))
    (s,) = [e for e in events if e.type == EventType.SESSION_SUMMARY]
    assert s.phases.early.overall == pytest.approx(4.25)
    assert s.phases.middle.overall == pytest.approx(3.25)
    assert s.phases.late.overall == pytest.approx(2.25)
    assert s.trajectory.value == "declined" and s.change == pytest.approx(-2.0)
    assert s.n_windows == 6 and s.phase_convention == "windows"
    # window 1 (c:23) lies in the early third: only ruptures after it are evidence
    assert s.decline_reason == "unrepaired_rupture" and s.evidence[0] == "c:35"
    # The same scores with nothing that shows what fell: the course of a session, unchanged.
    core = MonitorCore(safety=False)
    plain = StaticScorer(lambda r: levels[min(r.window_index, 5)])
    (s,) = [e for e in drive(core, alternating("c", 72), plain) if e.type == "session_summary"]
    assert s.trajectory.value == "unchanged" and s.decline_reason == "fell_without_evidence"


def test_phase_split_short_and_empty() -> None:
    n = DimensionScores.neutral()
    assert phase_split([])[1] == "no_scores"
    ph, conv = phase_split([(0.0, 1.0, n)])
    assert conv == "too_short" and ph.early == ph.late


def test_unscored_window_does_not_become_a_score() -> None:
    core = MonitorCore(safety=False)
    scorer = StaticScorer(3.0, fail=lambda r: "llm_timeout" if r.window_index == 1 else None)
    events = drive(core, alternating("c", 36), scorer)
    un = [e for e in events if e.type == EventType.WINDOW_UNSCORED]
    assert len(un) == 1 and un[0].reason == "llm_timeout" and len(un[0].message_ids) == 12
    assert core.counts["windows_unscored"] == 1


def test_memory_per_pair_is_bounded_for_a_long_conversation() -> None:
    core = MonitorCore(safety=False)
    drive(core, alternating("c", 20000), end=False)
    pair = core._pairs["c"]
    assert len(pair.open) <= core.window.max_messages
    assert len(pair.history) <= core.window.history
    assert pair.session is not None and len(pair.session.spans) <= 48
    assert len(pair.seen) < 4096


def test_straggler_from_previous_session_does_not_split_the_current_one() -> None:
    core = MonitorCore(safety=False)
    s1 = [
        msg("c", i, "counselor" if i % 2 == 0 else "client", ts=float(i), session_id="s1")
        for i in range(4)
    ]
    s2 = [
        msg("c", 10 + i, "counselor" if i % 2 == 0 else "client", ts=100.0 + i, session_id="s2")
        for i in range(4)
    ]
    late = s1.pop()  # arrives during s2
    drive(core, [*s1, s2[0], late, *s2[1:]], end=False)
    assert core.counts["sessions_ended"] == 1 and core.counts["accepted"] == 8


def test_snapshot_and_restore_give_back_the_same_pair() -> None:
    import json

    core = MonitorCore(window=WindowPolicy(max_exchanges=2), safety=False)
    for m in alternating("c", 11):
        core.ingest(m)
    snap = core.snapshot("c")
    assert snap is not None and snap.position == 11 and snap.session_open
    assert snap.awaiting == frozenset({0, 1}) and core.awaiting("c") == snap.awaiting
    other = MonitorCore(window=WindowPolicy(max_exchanges=2), safety=False)
    other.restore(json.loads(snap.state_json))
    again = other.snapshot("c")
    assert again is not None and again.state_json == snap.state_json
    # Both continue identically.
    nxt = alternating("c", 4, start=11)
    a = [w.messages for m in nxt for w in core.ingest(m).work]
    b = [w.messages for m in nxt for w in other.ingest(m).work]
    assert a == b and a
    assert core.snapshot("missing") is None and core.history("missing") == ()

"""`summarize` on hand-built per-pair records: categories, boundaries, groupings."""

from __future__ import annotations

import pytest

from alliance_monitor import analyze_transcript
from alliance_monitor.study import PairRecord, summarize, trajectory_category
from alliance_monitor.study._records import alliance_level
from alliance_monitor.testing import StaticScorer

DIMS = ("goal", "task", "bond", "overall")


def rec(
    cid: str,
    early: float,
    late: float,
    *,
    middle: float | None = None,
    convention: str = "windows",
    counselor: str | None = None,
    n: int = 10,
    passive: int = 0,
    directive: int = 0,
    goal_late: float | None = None,
) -> PairRecord:
    mid = (early + late) / 2 if middle is None else middle
    phases = {
        "early": dict.fromkeys(DIMS, early),
        "middle": dict.fromkeys(DIMS, mid),
        "late": {**dict.fromkeys(DIMS, late), **({"goal": goal_late} if goal_late else {})},
    }
    changes = {d: round(phases["late"][d] - early, 4) for d in DIMS}
    alliance = {d: (early + mid + phases["late"][d]) / 3 for d in DIMS}
    return PairRecord(
        conversation_id=cid,
        alliance=alliance,
        phases=phases,
        changes=changes,
        convention=convention,
        counselor_id=counselor,
        n_counselor=n,
        n_passive=passive,
        n_directive=directive,
        passive_pattern=passive >= 4,
        directive_pattern=directive >= 4,
    )


@pytest.mark.parametrize(
    ("change", "category"),
    [
        (-2.0, "declined"),
        (-0.25, "declined"),  # the tolerance itself counts as a change
        (-0.2499, "unchanged"),
        (0.0, "unchanged"),
        (0.2499, "unchanged"),
        (0.25, "improved_lt1"),
        (0.9999, "improved_lt1"),
        (1.0, "improved_ge1"),  # one full level
        (3.0, "improved_ge1"),
    ],
)
def test_trajectory_categories(change: float, category: str) -> None:
    assert trajectory_category(change, 0.25) == category


@pytest.mark.parametrize(
    ("overall", "level"), [(1.0, 1), (1.49, 1), (1.5, 2), (2.49, 2), (3.2, 3), (4.5, 5), (5.0, 5)]
)
def test_alliance_levels(overall: float, level: int) -> None:
    assert alliance_level(overall) == level


def test_distribution_overall_and_per_dimension() -> None:
    records = [
        rec("a", 3.0, 2.0),  # declined by a level
        rec("b", 3.0, 3.1),  # unchanged
        rec("c", 2.0, 2.5),  # improved < 1
        rec("d", 2.0, 3.5, goal_late=2.0),  # improved >= 1, but goal unchanged
        rec("e", 1.0, 1.0, convention="too_short"),  # not in the phase analysis
        rec("f", 3.0, 3.0, convention="no_scores"),
    ]
    s = summarize(records)
    assert s.n_transcripts == 6 and s.n_phase_analysis == 4
    assert s.excluded == {"too_short": 1, "no_scores": 1}
    overall = s.trajectory("overall")
    assert overall.counts == {
        "declined": 1,
        "unchanged": 1,
        "improved_lt1": 1,
        "improved_ge1": 1,
        "insufficient_evidence": 0,
    }
    assert overall.share("declined") == 0.25
    assert s.trajectory("goal").counts == {
        "declined": 1,
        "unchanged": 2,
        "improved_lt1": 1,
        "improved_ge1": 0,
        "insufficient_evidence": 0,
    }
    # Phase means use only the four pairs with three phases: early 3, 3, 2, 2.
    assert s.phase_stats("overall").early.mean == 2.5
    assert s.phase_stats("overall").change.mean == pytest.approx((-1 + 0.1 + 0.5 + 1.5) / 4)


def test_tolerance_is_a_parameter() -> None:
    records = [rec("a", 3.0, 2.6), rec("b", 3.0, 3.3)]
    assert summarize(records).trajectory("overall").counts["unchanged"] == 0
    assert summarize(records, tolerance=0.5).trajectory("overall").counts["unchanged"] == 2


def test_pattern_prevalence_by_level_tercile_and_counselor() -> None:
    records = [
        rec("a", 2.0, 2.0, counselor="x", n=10, passive=5, directive=1),  # level 2
        rec("b", 2.2, 2.2, counselor="x", n=10, passive=3, directive=0),  # level 2
        rec("c", 3.0, 3.0, counselor="y", n=20, passive=2, directive=4),  # level 3
        rec("d", 4.0, 4.0, n=10),  # level 4, no counselor id
        rec("e", 1.2, 1.2, convention="too_short", n=4, passive=4),  # level 1, counted here
        rec("f", 3.0, 3.0, convention="no_scores", n=8, passive=8),  # no score: left out
    ]
    s = summarize(records)
    by = {r.group: r for r in s.patterns_by_level}
    assert [by[g].n_sessions for g in "12345"] == [1, 2, 1, 1, 0]
    assert (by["2"].n_counselor, by["2"].n_passive, by["2"].n_directive) == (20, 8, 1)
    assert by["2"].passive_share == 0.4
    assert by["2"].sessions_passive == 1  # only "a" reaches the pattern threshold
    assert by["1"].passive_share == 1.0
    assert by["5"].passive_share is None
    # Terciles of the five scored records by alliance: e | a | b, c, d  (5 // 3 = 1, 2 * 5 // 3 = 3)
    assert [r.n_sessions for r in s.patterns_by_tercile] == [1, 2, 2]
    assert s.patterns_by_tercile[0].label.startswith("Lowest third (1.20-1.20)")
    counselors = {r.group: r for r in s.patterns_by_counselor}
    assert list(counselors) == ["x", "y"]  # most sessions first
    assert counselors["x"].n_sessions == 2 and counselors["x"].passive_share == 0.4
    assert counselors["y"].directive_share == 0.2


def test_record_from_a_transcript_result() -> None:
    from alliance_monitor import Message

    msgs = [
        Message(
            conversation_id="p",
            id=f"p:{i}",
            role="counselor" if i % 2 == 0 else "client",
            text="ok then" if i % 4 == 0 else "tell me more",
            ts=float(i),
        )
        for i in range(12)
    ]
    scorer = StaticScorer(
        lambda r: (4.0, 3.5, 3.0)[r.window_index],
        passive=lambda t: 0.9 if t.startswith("ok") else 0.1,
    )
    res = analyze_transcript("p", msgs, scorer)
    r = PairRecord.from_result(res, "c1")
    assert r.in_phase_analysis and r.counselor_id == "c1"
    assert r.changes["overall"] == -1.0
    assert (r.n_counselor, r.n_passive) == (6, 3)
    # Phases of 2 exchanges: counselor messages 0, 2 | 4, 6 | 8, 10; passive at 0, 4, 8:
    # one of two per phase is 50% >= 40% but fewer than the 2 flagged the policy requires.
    assert r.passive_pattern is False

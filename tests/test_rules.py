"""The detection rules with plain data: no core, no monitor, no scorer."""

from __future__ import annotations

from alliance_monitor._config import DeclinePolicy, PatternPolicy
from alliance_monitor._events import EventType, SessionSummary, Trajectory, trajectory_of
from alliance_monitor._models import (
    CONSTRUCTS,
    DimensionScores,
    MessagePattern,
    Rupture,
    WindowScore,
    WindowSignals,
)
from alliance_monitor._rules import (
    AlarmState,
    EventContext,
    alliance_rules,
    compact_spans,
    pattern_rules,
    phase_split,
    session_decline,
    session_summary,
)

CTX = EventContext("pair-1", "counselor-a", "client-b", "s1")


def window(i: int, level: float, n_exchanges: int = 3, **kw: object) -> WindowScore:
    constructs = {c: level for ids in CONSTRUCTS.values() for c in ids}
    return WindowScore(
        conversation_id="pair-1",
        window_index=i,
        constructs=constructs,
        scores=DimensionScores.from_constructs(constructs),
        construct_evidence={c: (f"m{i}",) for c in constructs},
        n_exchanges=n_exchanges,
        end_ts=float(i),
        **kw,  # type: ignore[arg-type]
    )


def ruptured(i: int, *, repaired: bool = False) -> WindowSignals:
    """Signals of a window whose client complained about the counselor (message c{i}),
    repaired by counselor message r{i} if `repaired`."""
    r = Rupture(message_id=f"c{i}", kind="confrontation", marker="discord")
    if repaired:
        r = r.model_copy(update={"repaired_by": f"r{i}"})
    return WindowSignals(stage="working", ruptures=(r,))


def run(
    levels: list[float], policy: DeclinePolicy | None = None, *, evidence: bool = True
) -> list[list[str]]:
    """Apply the rules window by window; the event types fired after each window. With
    `evidence`, every window below its predecessor's level carries an unrepaired rupture."""
    policy = policy or DeclinePolicy(dimensions=("overall",))
    baseline = DimensionScores.neutral().model_copy(update={"overall": levels[0]})
    alarms, history, fired = AlarmState(), [], []
    for i, lvl in enumerate(levels):
        fell = evidence and lvl < levels[0]
        history.append(window(i, lvl, signals=ruptured(i) if fell else None))
        events, alarms = alliance_rules(history, history[-1], baseline, alarms, policy, CTX)
        fired.append([str(e.type.value) for e in events])
    return fired


def test_a_confirmed_decline_fires_once_and_rearms_after_recovery() -> None:
    # Confirmed on evidence: the first window that fell and shows what fell pages.
    fired = run([4.0, 4.0, 2.8, 2.8, 2.8, 4.0, 4.0, 2.8, 2.8])
    assert fired[2] == ["alliance_declined"]
    assert fired[3] == fired[4] == []  # still down: no repeat
    assert fired[7] == ["alliance_declined"]  # recovered in between, so armed again
    # Confirmed on the level alone (min_evidence=0, the earlier rule): two windows down.
    level_only = DeclinePolicy(dimensions=("overall",), levels=1.0, min_evidence=0)
    fired = run([4.0, 4.0, 2.8, 2.8, 2.8, 4.0, 4.0, 2.8, 2.8], level_only, evidence=False)
    assert fired[2] == [] and fired[3] == ["alliance_declined"] and fired[8] == fired[3]


def test_a_lower_level_without_evidence_of_what_fell_never_pages() -> None:
    # The natural course of a conversation (fewer questions, suggestions, a warm close) can
    # lower the scores; without a rupture or overstepping nothing fires.
    assert run([4.0, 4.0, 2.8, 2.8, 2.8], evidence=False) == [[], [], [], [], []]
    # The earlier behaviour on the level alone, for deployments that want it.
    fired = run([4.0, 4.0, 2.8, 2.8], DeclinePolicy(dimensions=("overall",), min_evidence=0))
    assert fired[3] == ["alliance_declined"]


def test_a_repaired_rupture_is_no_decline() -> None:
    policy = DeclinePolicy(dimensions=("overall",))
    history = [window(0, 4.0), window(1, 2.8, signals=ruptured(1, repaired=True))]
    history.append(window(2, 2.8, signals=ruptured(2, repaired=True)))
    base = DimensionScores.neutral().model_copy(update={"overall": 4.0})
    events, _ = alliance_rules(history, history[-1], base, AlarmState(), policy, CTX)
    assert events == []
    # Half-weight markers: one vague "okay." to advice is not yet a decline, two are.
    vague = [
        Rupture(message_id=f"v{i}", kind="withdrawal", marker="vague_agreement") for i in (1, 2)
    ]
    one = [
        window(0, 4.0),
        window(1, 2.8),
        window(2, 2.8, signals=WindowSignals(ruptures=(vague[0],))),
    ]
    assert alliance_rules(one, one[-1], base, AlarmState(), policy, CTX)[0] == []
    two = [
        window(0, 4.0),
        window(1, 2.8, signals=WindowSignals(ruptures=(vague[0],))),
        window(2, 2.8, signals=WindowSignals(ruptures=(vague[1],))),
    ]
    (ev,) = alliance_rules(two, two[-1], base, AlarmState(), policy, CTX)[0]
    assert ev.reason == "unrepaired_rupture" and ev.ruptures == ("v1", "v2")  # type: ignore[attr-defined]


def test_one_noisy_window_never_pages() -> None:
    # A window that scores low but shows nothing that fell (no rupture, no overstepping).
    assert run([4.0, 4.0, 1.5, 4.0, 4.0], evidence=False) == [[], [], [], [], []]
    # Level-only confirmation (min_evidence=0): one window down is not enough, and neither is a
    # mean a level down when one window is not even half a level down.
    level_only = DeclinePolicy(dimensions=("overall",), levels=1.0, min_evidence=0)
    assert run([4.0, 4.0, 1.5, 4.0, 4.0], level_only, evidence=False) == [[], [], [], [], []]
    assert run([4.0, 4.0, 3.8, 2.0], level_only, evidence=False)[3] == []


def test_low_alliance_is_confirmed_and_windows_with_little_evidence_are_ignored() -> None:
    assert ["alliance_low"] in run([2.5, 2.0, 2.0])
    policy = DeclinePolicy(dimensions=("overall",))
    history = [window(0, 4.0), window(1, 1.5, n_exchanges=1), window(2, 1.5, n_exchanges=1)]
    events, _ = alliance_rules(
        history, history[-1], DimensionScores.neutral(), AlarmState(), policy, CTX
    )
    assert events == []


def test_decline_event_carries_reference_evidence_and_the_pair() -> None:
    policy = DeclinePolicy(dimensions=("bond",))
    history = [window(0, 3.0), window(1, 4.5), window(2, 4.5)]
    history += [window(3, 2.5, signals=ruptured(3)), window(4, 2.5)]
    events, alarms = alliance_rules(
        history, history[-1], DimensionScores.neutral(), AlarmState(), policy, CTX
    )
    (ev,) = events
    assert ev.type is EventType.ALLIANCE_DECLINED
    assert ev.reference == "peak" and ev.from_level == 4.5  # type: ignore[attr-defined]
    # the rupture first, then the messages behind the low construct ratings
    assert ev.evidence == ("c3", "m3", "m4")  # type: ignore[attr-defined]
    assert ev.ruptures == ("c3",) and ev.reason == "unrepaired_rupture"  # type: ignore[attr-defined]
    assert (ev.conversation_id, ev.session_id, ev.counselor_id) == ("pair-1", "s1", "counselor-a")
    assert alarms.declined == {"bond": 4.5}


def test_pattern_is_a_rate_not_one_message() -> None:
    def scored(flags: list[float]) -> WindowScore:
        msgs = tuple(
            MessagePattern(id=f"m{i}", passive=f, directive=0.0) for i, f in enumerate(flags)
        )
        return window(0, 3.0, messages=msgs)

    pol = PatternPolicy()
    assert pattern_rules(scored([0.9, 0.0, 0.0, 0.0, 0.0]), pol, CTX) == []
    (ev,) = pattern_rules(scored([0.9, 0.8, 0.0, 0.0]), pol, CTX)
    assert ev.type is EventType.PASSIVE_PATTERN
    assert ev.message_ids == ("m0", "m1") and ev.rate == 0.5  # type: ignore[attr-defined]


def test_session_summary_phases_and_trajectory() -> None:
    def d(x: float) -> DimensionScores:
        return DimensionScores(goal=x, task=x, bond=x, overall=x)

    spans = [(0.0, 3.0, d(4.0)), (3.0, 3.0, d(3.5)), (6.0, 3.0, d(2.5))]

    def summary(signals: list[tuple[float, WindowSignals]]) -> SessionSummary:
        return session_summary(
            spans,
            CTX,
            session_index=2,
            ts=9.0,
            n_messages=18,
            n_windows=3,
            end_reason="idle",
            tolerance=0.25,
            signals=signals,
        )

    calm = [
        (1.5, WindowSignals(stage="opening")),
        (4.5, WindowSignals()),
        (7.5, WindowSignals(stage="closing")),
    ]
    # Lower late, but nothing in the session shows what fell: the natural course, unchanged.
    ev = summary(calm)
    assert ev.trajectory is Trajectory.UNCHANGED and ev.decline_reason == "fell_without_evidence"
    assert ev.dimension_trajectories["bond"] is Trajectory.UNCHANGED
    assert ev.stages == {"early": "opening", "middle": "working", "late": "closing"}
    # An unrepaired rupture after the first third: declined, citing it.
    ev = summary([calm[0], (4.5, ruptured(1)), calm[2]])
    assert ev.trajectory is Trajectory.DECLINED and ev.change == -1.5
    assert ev.evidence == ("c1",) and ev.decline_reason == "unrepaired_rupture"
    # Repaired: reported as such, not a decline.
    ev = summary([calm[0], (4.5, ruptured(1, repaired=True)), calm[2]])
    assert ev.trajectory is Trajectory.UNCHANGED and ev.repaired == (("c1", "r1"),)
    assert ev.phases.early.overall == 4.0 and ev.phases.late.overall == 2.5
    assert ev.phase_convention == "windows" and ev.end_reason == "idle"
    assert trajectory_of(0.2, 0.25) is Trajectory.UNCHANGED
    assert trajectory_of(0.25, 0.25) is Trajectory.IMPROVED
    assert phase_split([])[1] == "no_scores"
    assert phase_split([(0.0, 1.0, d(3.0))])[1] == "too_short"
    assert compact_spans(spans) == [(0.0, 6.0, d(3.75)), spans[2]]


def test_session_decline_pages_a_declined_session_unless_a_decline_is_armed() -> None:
    def d(x: float) -> DimensionScores:
        return DimensionScores(goal=x, task=x, bond=x - 0.5, overall=x)

    spans = [(0.0, 3.0, d(4.0)), (3.0, 3.0, d(3.5)), (6.0, 3.0, d(2.5))]
    calm = [(1.5, WindowSignals(stage="opening")), (7.5, WindowSignals())]
    kw = {"session_index": 2, "ts": 9.0, "n_messages": 18, "n_windows": 3, "tolerance": 0.25}
    declined = session_summary(
        spans, CTX, end_reason="idle", signals=[calm[0], (4.5, ruptured(1)), calm[1]], **kw
    )
    unchanged = session_summary(spans, CTX, end_reason="idle", signals=calm, **kw)
    assert declined.trajectory is Trajectory.DECLINED
    (page,), alarms = session_decline(declined, AlarmState(), CTX)
    assert page.type is EventType.ALLIANCE_DECLINED
    assert page.basis == "session" and page.reason == "unrepaired_rupture"  # type: ignore[attr-defined]
    assert page.evidence == ("c1",) and page.windows == ()  # type: ignore[attr-defined]
    # every dimension fell 1.5 levels; the page names one that declined, early to late third
    assert (page.from_level, page.to_level) == (4.0, 2.5)  # type: ignore[attr-defined]
    assert alarms.declined == {page.dimension: 4.0}  # type: ignore[attr-defined]
    assert page.ts == 9.0 and page.session_id == "s1"
    # the same session again gives the same id (a re-sent page is de-duplicated downstream)
    assert session_decline(declined, AlarmState(), CTX)[0][0].id == page.id
    # nothing while a decline is armed (paged, not recovered), nor for a session that held
    assert session_decline(declined, alarms, CTX) == ([], alarms)
    assert session_decline(unchanged, AlarmState(), CTX) == ([], AlarmState())

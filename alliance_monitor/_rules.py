"""Detection rules as pure functions: plain data in, events (and the new alarm state) out.

Nothing here keeps state, reads a clock or knows about pairs in memory: the core calls these with
what it holds and stores what they return. Each rule is testable with a few `WindowScore`s.

- `alliance_rules`: confirmed decline from the baseline or a recent peak, and low alliance, per
  dimension, with re-arming once the pair recovers (`DeclinePolicy`). A decline needs the level
  to fall *and* the confirming windows to show what fell (`_decline`: an unrepaired rupture or
  overstepping), the same definition as the session trajectory and `analyze`.
- `pattern_rules`: passive / directive counselor patterns as a rate over a window
  (`PatternPolicy`).
- `session_summary`: early / middle / late phases of a session from its scored windows and the
  trajectory (`_decline.assess`: late against early, with the evidence of the later windows).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from ._config import DeclinePolicy, PatternPolicy
from ._decline import Evidence, assess, collect_evidence, dimension_trajectory
from ._events import (
    AllianceDeclined,
    AllianceLow,
    EndReason,
    Event,
    EventType,
    PatternDetected,
    PhaseScores,
    SessionSummary,
    Severity,
    Trajectory,
    make_event_id,
)
from ._feedback import decline_feedback, pattern_feedback
from ._models import CONSTRUCTS, DIMENSIONS, DimensionScores, WindowScore, WindowSignals

__all__ = [
    "AlarmState",
    "EventContext",
    "Span",
    "alliance_rules",
    "compact_spans",
    "ends_have_evidence",
    "pattern_rules",
    "phase_split",
    "session_decline",
    "session_summary",
]

#: (start, width, scores) of one scored window in a session, in exchanges.
Span = tuple[float, float, DimensionScores]


@dataclass(frozen=True, slots=True)
class EventContext:
    """Who an event is about: the fields every pair event carries."""

    conversation_id: str
    counselor_id: str | None = None
    client_id: str | None = None
    session_id: str | None = None
    #: The language feedback is written in (`_feedback.feedback_language`); not an event field.
    language: str = "en"

    def fields(self) -> dict[str, str | None]:
        return {
            "conversation_id": self.conversation_id,
            "counselor_id": self.counselor_id,
            "client_id": self.client_id,
            "session_id": self.session_id,
        }


@dataclass(frozen=True, slots=True)
class AlarmState:
    """Which dimensions have fired and not re-armed yet."""

    #: dimension -> the reference level it fell from.
    declined: Mapping[str, float] = field(default_factory=dict)
    low: frozenset[str] = frozenset()


def alliance_rules(
    history: Sequence[WindowScore],
    score: WindowScore,
    baseline: DimensionScores,
    alarms: AlarmState,
    policy: DeclinePolicy,
    ctx: EventContext,
    texts: Mapping[str, str] | None = None,
) -> tuple[list[Event], AlarmState]:
    """Declines and low alliance after `score` (the last entry of `history`).

    A decline is confirmed on evidence (`DeclinePolicy.min_evidence` > 0, the default): the
    latest window is at least `levels` below the reference (baseline, or a higher recent peak)
    and the last `confirm_windows` windows show what fell (`_decline`: unrepaired ruptures,
    overstepping). With ``min_evidence=0`` it is confirmed on the level alone, as before: the
    mean of the last `confirm_windows` windows at least `levels` below the reference and each
    of them at least half that far. Low alliance: the mean of those windows at 2 or below.
    """
    recent = [w for w in history if w.scored and w.n_exchanges >= policy.min_exchanges]
    k = policy.confirm_windows
    if len(recent) < k or recent[-1].window_index != score.window_index:
        return [], alarms
    last, earlier = recent[-k:], recent[:-k]
    declined, low = dict(alarms.declined), set(alarms.low)
    events: list[Event] = []
    on_evidence = policy.min_evidence > 0
    rearm = min(policy.rearm_margin, policy.levels / 2)
    for dim in policy.dimensions:
        vals = [w.scores.get(dim) for w in last if w.scores is not None]
        current = sum(vals) / len(vals)
        reference, ref_kind = _reference(baseline.get(dim), earlier, dim, k)
        fell_from = declined.get(dim)
        if fell_from is not None:
            if vals[-1] >= fell_from - rearm:
                del declined[dim]  # recovered: re-arm
        elif on_evidence:
            # what fell shows in the windows that fell (never in the reference window itself)
            fell = [
                w for w, v in zip(last, vals, strict=True) if v <= reference - policy.levels / 2
            ]
            evidence = collect_evidence(w.signals for w in fell)
            if vals[-1] <= reference - policy.levels and evidence.weight >= policy.min_evidence:
                declined[dim] = reference
                events.append(
                    _declined(dim, reference, ref_kind, vals[-1], fell, score, ctx, texts, evidence)
                )
        elif current <= reference - policy.levels and all(
            v <= reference - policy.levels / 2 for v in vals
        ):
            declined[dim] = reference
            evidence = collect_evidence(w.signals for w in last)
            events.append(
                _declined(dim, reference, ref_kind, current, last, score, ctx, texts, evidence)
            )
        # Low alliance: evidence against (level 2 or below), confirmed the same way.
        if dim in low:
            if current > policy.low_level + policy.rearm_margin:
                low.discard(dim)
        elif current <= policy.low_level:
            low.add(dim)
            events.append(_low(dim, current, last, score, ctx))
    return events, AlarmState(declined, frozenset(low))


def session_decline(
    summary: SessionSummary,
    alarms: AlarmState,
    ctx: EventContext,
) -> tuple[list[Event], AlarmState]:
    """The page for a session that ended with its trajectory declined (late third against early
    third, `_decline.assess`) when the rolling windows did not page it: one `AllianceDeclined`
    (``basis="session"``) on the dimension that fell most among those that declined, from the
    early third's level to the late third's, citing the session's evidence (no windows: the
    session as a whole fell). None while a decline of the pair is still armed (paged and not
    recovered): the supervisor already knows."""
    if summary.trajectory is not Trajectory.DECLINED or alarms.declined:
        return [], alarms
    fell = [
        d
        for d, t in summary.dimension_trajectories.items()
        if t is Trajectory.DECLINED and d in summary.dimension_changes
    ]
    dim = min(fell, key=lambda d: summary.dimension_changes[d]) if fell else "overall"
    before, after = summary.phases.early.get(dim), summary.phases.late.get(dim)
    change = round(after - before, 4)
    reason = summary.decline_reason
    event = AllianceDeclined(
        id=make_event_id(
            EventType.ALLIANCE_DECLINED, ctx.conversation_id, dim, "session", summary.session_index
        ),
        severity=Severity.HIGH if change <= -1.5 or dim == "overall" else Severity.MEDIUM,
        dimension=dim,
        from_level=round(before, 4),
        to_level=round(after, 4),
        change=change,
        reference="baseline",
        windows=(),
        evidence=summary.evidence[:12],
        feedback=decline_feedback(dim, before, after, summary.evidence, None, ctx.language),
        reason="overstepping" if reason == "overstepping" else "unrepaired_rupture",
        ruptures=summary.evidence[:12],
        basis="session",
        ts=summary.ts,
        **ctx.fields(),
    )
    return [event], AlarmState({**alarms.declined, dim: before}, alarms.low)


def _reference(
    base: float, earlier: list[WindowScore], dim: str, k: int
) -> tuple[float, Literal["baseline", "peak"]]:
    reference, kind = base, "baseline"
    for i in range(len(earlier) - k + 1):
        peak = sum(w.scores.get(dim) for w in earlier[i : i + k] if w.scores is not None) / k
        if peak > reference:
            reference, kind = peak, "peak"
    return reference, kind  # type: ignore[return-value]


def _declined(
    dim: str,
    reference: float,
    ref_kind: Literal["baseline", "peak"],
    current: float,
    last: list[WindowScore],
    score: WindowScore,
    ctx: EventContext,
    texts: Mapping[str, str] | None,
    shown: Evidence,
) -> AllianceDeclined:
    cited = shown.message_ids
    evidence = tuple(dict.fromkeys((*cited, *_evidence(last, dim))))[:12]
    change = round(current - reference, 4)
    return AllianceDeclined(
        id=make_event_id(EventType.ALLIANCE_DECLINED, ctx.conversation_id, dim, score.window_index),
        severity=Severity.HIGH if change <= -1.5 or dim == "overall" else Severity.MEDIUM,
        dimension=dim,
        from_level=round(reference, 4),
        to_level=round(current, 4),
        change=change,
        reference=ref_kind,
        windows=tuple(w.window_index for w in last),
        evidence=evidence,
        feedback=decline_feedback(dim, reference, current, evidence, texts, ctx.language),
        reason="unrepaired_rupture" if shown.ruptures else "overstepping",
        ruptures=cited,
        ts=score.end_ts,
        **ctx.fields(),
    )


def _low(
    dim: str, current: float, last: list[WindowScore], score: WindowScore, ctx: EventContext
) -> AllianceLow:
    return AllianceLow(
        id=make_event_id(EventType.ALLIANCE_LOW, ctx.conversation_id, dim, score.window_index),
        severity=Severity.HIGH if current <= 1.5 else Severity.MEDIUM,
        dimension=dim,
        level=round(current, 4),
        windows=tuple(w.window_index for w in last),
        evidence=_evidence(last, dim),
        ts=score.end_ts,
        **ctx.fields(),
    )


def pattern_rules(
    score: WindowScore,
    policy: PatternPolicy,
    ctx: EventContext,
    texts: Mapping[str, str] | None = None,
) -> list[Event]:
    """Passive / directive patterns: enough of a window's counselor messages flagged (>= 0.5)."""
    n = len(score.messages)
    if n == 0:
        return []
    events: list[Event] = []
    for pattern in ("passive", "directive"):
        flagged = [
            m for m in score.messages if (m.passive if pattern == "passive" else m.directive) >= 0.5
        ]
        if len(flagged) < policy.min_flagged or len(flagged) / n < policy.min_rate:
            continue
        etype = EventType.PASSIVE_PATTERN if pattern == "passive" else EventType.DIRECTIVE_PATTERN
        events.append(
            PatternDetected(
                id=make_event_id(etype, ctx.conversation_id, score.window_index),
                type=etype,
                severity=Severity.LOW,
                pattern=pattern,
                window_index=score.window_index,
                rate=round(len(flagged) / n, 4),
                message_ids=tuple(m.id for m in flagged),
                feedback=pattern_feedback(
                    pattern, flagged, n, score.window_index, score.scores, texts, ctx.language
                ),
                ts=score.end_ts,
                **ctx.fields(),
            )
        )
    return events


def phase_split(
    spans: Sequence[Span],
) -> tuple[PhaseScores, Literal["windows", "too_short", "no_scores"]]:
    """Early / middle / late thirds of a session from its scored windows.

    Each window covers an interval of the session's exchanges; a phase's score is the mean of
    the windows overlapping its third, weighted by the overlap. A third no window overlaps
    takes the nearest window. Under three exchanges, every phase is the session mean.
    """
    if not spans:
        n = DimensionScores.neutral()
        return PhaseScores(early=n, middle=n, late=n), "no_scores"
    total = max(s + w for s, w, _ in spans)
    if total < 3 or len(spans) == 1:
        mean = DimensionScores.weighted_mean([(sc, w) for _, w, sc in spans])
        return PhaseScores(early=mean, middle=mean, late=mean), "too_short"
    phases: list[DimensionScores] = []
    for k in range(3):
        lo, hi = total * k / 3.0, total * (k + 1) / 3.0
        parts = [
            (sc, min(hi, s + w) - max(lo, s)) for s, w, sc in spans if min(hi, s + w) > max(lo, s)
        ]
        if not parts:
            mid = (lo + hi) / 2
            nearest = min(spans, key=lambda t: abs(t[0] + t[1] / 2 - mid))
            parts = [(nearest[2], 1.0)]
        phases.append(DimensionScores.weighted_mean(parts))
    return PhaseScores(early=phases[0], middle=phases[1], late=phases[2]), "windows"


def ends_have_evidence(spans: Sequence[Span], exchanges: float) -> bool:
    """True if scored windows overlap both the first and the last third of a session of
    `exchanges` exchanges (at least as long as the windows reach)."""
    total = max(exchanges, max((s + w for s, w, _ in spans), default=0.0))
    early = any(s < total / 3.0 for s, _, _ in spans)
    late = any(s + w > 2.0 * total / 3.0 for s, w, _ in spans)
    return early and late


def session_summary(
    spans: Sequence[Span],
    ctx: EventContext,
    *,
    session_index: int,
    ts: float | None,
    n_messages: int,
    n_windows: int,
    end_reason: EndReason,
    tolerance: float,
    exchanges: float = 0.0,
    signals: Sequence[tuple[float, WindowSignals]] = (),
) -> SessionSummary:
    """The summary of one ended session whose windows are all in.

    `spans` are the scored windows only (a window with insufficient evidence or unscored is not
    among them); `signals` are (centre, signals) of those windows. The trajectory compares late
    with early (`_decline.assess`, with the evidence of the windows past the first third), so it
    is "insufficient_evidence" unless scored windows cover both the first and the last third of
    the session's `exchanges` (and always under three exchanges or with a single window).
    """
    phases, convention = phase_split(spans)
    changes = {d: round(phases.late.get(d) - phases.early.get(d), 4) for d in DIMENSIONS}
    alliance = DimensionScores.weighted_mean([(sc, w) for _, w, sc in spans])
    lacking = convention != "windows" or not ends_have_evidence(spans, exchanges)
    total = max(exchanges, max((s + w for s, w, _ in spans), default=0.0))
    later = [sig for at, sig in signals if at >= total / 3.0]
    verdict = assess(
        None if lacking else phases.early,
        None if lacking else phases.late,
        later,
        tolerance=tolerance,
    )
    return SessionSummary(
        id=make_event_id(EventType.SESSION_SUMMARY, ctx.conversation_id, session_index),
        ts=ts,
        session_index=session_index,
        alliance=alliance,
        phases=phases,
        trajectory=verdict.trajectory,
        change=changes["overall"],
        dimension_trajectories={
            d: Trajectory.INSUFFICIENT_EVIDENCE
            if lacking
            else dimension_trajectory(c, tolerance, verdict)
            for d, c in changes.items()
        },
        dimension_changes=changes,
        n_messages=n_messages,
        n_windows=n_windows,
        phase_convention=convention,
        end_reason=end_reason,
        decline_reason=verdict.reason,
        evidence=verdict.evidence,
        repaired=verdict.repaired,
        stages=_stages(signals, total),
        **ctx.fields(),
    )


def _stages(signals: Sequence[tuple[float, WindowSignals]], total: float) -> dict[str, str]:
    """The stage of each third: that of the window whose centre is nearest the third's."""
    if not signals or total <= 0:
        return {}
    out: dict[str, str] = {}
    for k, name in enumerate(("early", "middle", "late")):
        mid = total * (2 * k + 1) / 6.0
        out[name] = min(signals, key=lambda t: abs(t[0] - mid))[1].stage
    return out


def compact_spans(spans: Sequence[Span]) -> list[Span]:
    """Merge neighbouring windows pairwise (weighted), halving a long session's list."""
    out: list[Span] = []
    for i in range(0, len(spans) - 1, 2):
        (s1, w1, a), (_s2, w2, b) = spans[i], spans[i + 1]
        out.append((s1, w1 + w2, DimensionScores.weighted_mean([(a, w1), (b, w2)])))
    if len(spans) % 2:
        out.append(spans[-1])
    return out


def _evidence(windows: Sequence[WindowScore], dim: str) -> tuple[str, ...]:
    """Message ids behind the window ratings below 3 on `dim`'s constructs (at most 12)."""
    constructs = (
        [c for ids in CONSTRUCTS.values() for c in ids] if dim == "overall" else CONSTRUCTS[dim]
    )
    out: list[str] = []
    for w in windows:
        for c in constructs:
            if w.constructs is not None and w.constructs.get(c, 3.0) < 3.0:
                for mid in w.construct_evidence.get(c, ()):
                    if mid not in out:
                        out.append(mid)
    return tuple(out[:12])

"""What "declined" means: one definition for the live event, the `analyze` trajectory, the
session summary and the study tables.

An alliance *declined* when both of these hold:

1. **The level fell**: the later part scores at least `tolerance` levels below the earlier part
   (overall, or on the dimension that fell most). In a finished transcript that is the late
   third against the early third; live, the recent windows against the pair's baseline or
   recent peak.
2. **The later part shows what fell** (domain.md, "Ruptures and repair"): evidence after the
   reference weighing at least `min_evidence` (1), each piece a message that can be cited:
   a client rupture the counselor did not repair (withdrawal: a shrug, vague agreement to
   advice, a reply that shrank, deflection; confrontation: complaints about the counselor or
   the help, rejecting the counselor's framing, "yes, but" to advice), or counselor
   overstepping the stage does not call for (advice pushed on a client who has not been heard
   or has just said no, warning, persuading, moralizing, dismissing the client's view). Clear
   markers weigh 1, ambiguous ones half (`MARKER_WEIGHT`: one "okay." to advice is not yet a
   decline; two are).

A lower score with no such evidence is the natural course of a helping conversation (fewer
questions and more suggestions later, a warm close), not a decline: the trajectory is then
"unchanged", with the numeric change kept beside it. A rupture the counselor repaired (and the
client took up) is reported as *repaired*, never counted as decline evidence. Where the earlier
or the later part was not scored with enough evidence the answer is "insufficient_evidence".
*Improved* is a rise of at least `tolerance` with no unrepaired rupture after the reference.

`assess` is the function; `Verdict` what it returns; `DEFINITION` the sentence reports print.

One verdict per pair: `PairVerdict` (built from a pair's events by `pair_verdicts`, or from the
board's counts) is the one state every surface words: the demo's text, the supervisor board's
concern, the study report's badge. Its `alliance` word is "declined", "low", "repaired",
"improved", "held" or "insufficient evidence"; its `concern` (what a supervisor looks at first)
is "safety", "decline", "low", "patterns", "repaired" or "ok".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from ._events import Event, SessionSummary, Trajectory, WindowScored, trajectory_of
from ._models import DIMENSIONS, DimensionScores, Rupture, WindowSignals

__all__ = [
    "CONCERNS",
    "DEFINITION",
    "DEFINITION_ZH",
    "Evidence",
    "PairVerdict",
    "Verdict",
    "VerdictTally",
    "assess",
    "collect_evidence",
    "dimension_trajectory",
    "pair_verdicts",
    "verdict_of",
    "verdict_word",
]

#: The definition in one paragraph, for reports and docs.
DEFINITION = (
    "An alliance declined when the later part of the conversation scores at least the "
    "tolerance (0.25 levels by default) below the earlier part AND shows what fell: a client "
    "rupture the counselor did not repair (withdrawal or confrontation) or counselor "
    "overstepping (advice pushed on after a no, warning, persuading, moralizing, dismissing the "
    "client's view), cited by message. A lower score without "
    "such evidence is the natural course of a helping conversation (unchanged); a repaired "
    "rupture is reported as repaired, not as a decline; without scored evidence at both ends "
    "the answer is insufficient evidence."
)

#: The same, in Chinese (the study report's Chinese text).
DEFINITION_ZH = (
    "当对话后段的得分比前段至少低一个容差（默认 0.25 级），并且后段显示出下降的原因时，才算联盟"
    "下降：来访者出现了咨询师没有修复的破裂（退缩或对抗），或咨询师越界（被拒绝后仍继续劝说、警告、"
    "说服、说教、否定来访者的看法），并逐条引用相关消息。得分降低而没有这些证据，属于助人对话的自然"
    "进程（不变）；已修复的破裂记为已修复，不算下降；两端没有足够证据时，结论为证据不足。"
)

#: How much each rupture marker weighs as decline evidence (an overstepping counselor message
#: weighs 1). Clear markers weigh 1: a complaint about the counselor or the help ("discord",
#: "rejects") or the client stepping away from what they raised ("deflection"). Ambiguous ones
#: weigh half, so one alone is not yet a decline: "yes, but" to advice, a shrug, vague
#: agreement to advice, a reply that shrank.
MARKER_WEIGHT: dict[str, float] = {
    "discord": 1.0,
    "rejects": 1.0,
    "deflection": 1.0,
    "yes_but": 0.5,
    "shrug": 0.5,
    "vague_agreement": 0.5,
    "shrinking": 0.5,
}

Reason = Literal[
    "unrepaired_rupture",
    "overstepping",
    "fell_without_evidence",
    "held",
    "rose",
    "insufficient_evidence",
]


@dataclass(frozen=True, slots=True)
class Evidence:
    """Decline evidence after a reference point: unrepaired ruptures, overstepping counselor
    messages, and the ruptures that were repaired (reported, never counted)."""

    ruptures: tuple[Rupture, ...] = ()
    overstepping: tuple[str, ...] = ()
    repaired: tuple[Rupture, ...] = ()

    @property
    def weight(self) -> float:
        """How much evidence (`MARKER_WEIGHT`; an overstepping message weighs 1)."""
        return len(self.overstepping) + sum(MARKER_WEIGHT.get(r.marker, 0.5) for r in self.ruptures)

    @property
    def message_ids(self) -> tuple[str, ...]:
        """The cited messages, ruptures first (at most 12)."""
        ids = dict.fromkeys([r.message_id for r in self.ruptures] + list(self.overstepping))
        return tuple(ids)[:12]


def collect_evidence(signals: Iterable[WindowSignals | None]) -> Evidence:
    """The evidence in a run of windows, oldest first. A rupture repaired in a later window
    (its `repaired_by` set there) counts as repaired."""
    ruptures: dict[str, Rupture] = {}
    overstepping: dict[str, None] = {}
    for sig in signals:
        if sig is None:
            continue
        for r in sig.ruptures:
            if r.repaired_by is not None or r.message_id not in ruptures:
                ruptures[r.message_id] = r
        overstepping.update(dict.fromkeys(sig.overstepping))
    open_ = tuple(r for r in ruptures.values() if r.repaired_by is None)
    repaired = tuple(r for r in ruptures.values() if r.repaired_by is not None)
    return Evidence(open_, tuple(overstepping), repaired)


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of `assess`.

    - `trajectory`: declined / unchanged / improved / insufficient_evidence.
    - `change`: overall, later minus earlier, in levels; `dimension_changes` per dimension.
    - `dimension`: the dimension that fell most (when declined), else None.
    - `reason`: why (see `Reason`): "unrepaired_rupture" or "overstepping" for a decline,
      "fell_without_evidence" for a lower score without evidence (unchanged), "held", "rose",
      "insufficient_evidence".
    - `evidence`: the cited message ids; `repaired`: ruptures that were repaired (message id of
      the rupture, of the repair).
    """

    trajectory: Trajectory
    change: float
    dimension_changes: dict[str, float] = field(default_factory=dict)
    dimension: str | None = None
    reason: Reason = "held"
    evidence: tuple[str, ...] = ()
    repaired: tuple[tuple[str, str], ...] = ()
    #: The dead band it was judged with (levels).
    tolerance: float = 0.25

    def dimension_trajectories(self) -> dict[str, Trajectory]:
        """Each dimension's trajectory under this verdict (`dimension_trajectory`)."""
        return {
            d: dimension_trajectory(c, self.tolerance, self)
            for d, c in self.dimension_changes.items()
        }

    @property
    def declined(self) -> bool:
        return self.trajectory is Trajectory.DECLINED


def assess(
    earlier: DimensionScores | None,
    later: DimensionScores | None,
    later_signals: Iterable[WindowSignals | None],
    *,
    tolerance: float = 0.25,
    min_evidence: float = 1.0,
    dimensions: Sequence[str] = DIMENSIONS,
) -> Verdict:
    """Did the alliance decline from `earlier` to `later`? (The module docstring has the
    definition.) `later_signals` are the signals of the windows after the reference point,
    oldest first; None for `earlier` or `later` means that end has no scored evidence."""
    if earlier is None or later is None:
        ev = collect_evidence(later_signals)
        return Verdict(
            Trajectory.INSUFFICIENT_EVIDENCE,
            0.0,
            reason="insufficient_evidence",
            repaired=_pairs(ev.repaired),
            tolerance=tolerance,
        )
    changes = {d: round(later.get(d) - earlier.get(d), 4) for d in DIMENSIONS}
    ev = collect_evidence(later_signals)
    repaired = _pairs(ev.repaired)
    fallen = [d for d in dimensions if changes[d] <= -tolerance]
    overall = changes["overall"]
    if fallen and ev.weight >= min_evidence:
        worst = min(fallen, key=lambda d: (changes[d], d != "overall"))
        return Verdict(
            Trajectory.DECLINED,
            overall,
            changes,
            dimension=worst,
            reason="unrepaired_rupture" if ev.ruptures else "overstepping",
            evidence=ev.message_ids,
            repaired=repaired,
            tolerance=tolerance,
        )
    if overall >= tolerance and not ev.ruptures:
        return Verdict(
            Trajectory.IMPROVED,
            overall,
            changes,
            reason="rose",
            repaired=repaired,
            tolerance=tolerance,
        )
    return Verdict(
        Trajectory.UNCHANGED,
        overall,
        changes,
        reason="fell_without_evidence" if fallen else "held",
        repaired=repaired,
        tolerance=tolerance,
    )


def _pairs(repaired: Sequence[Rupture]) -> tuple[tuple[str, str], ...]:
    return tuple((r.message_id, r.repaired_by) for r in repaired if r.repaired_by is not None)


def verdict_word(trajectory: Trajectory | str, repaired: bool = False) -> str:
    """The word a supervisor reads for a trajectory: "declined", "held", "improved",
    "repaired" (held or improved after a repaired rupture) or "insufficient evidence"."""
    t = Trajectory(trajectory)
    if t is Trajectory.DECLINED:
        return "declined"
    if t is Trajectory.INSUFFICIENT_EVIDENCE:
        return "insufficient evidence"
    if repaired:
        return "repaired"
    return "improved" if t is Trajectory.IMPROVED else "held"


def dimension_trajectory(change: float, tolerance: float, verdict: Verdict) -> Trajectory:
    """A dimension's trajectory under a session's verdict: it declined only where the session
    declined (the same evidence) and that dimension fell; otherwise unchanged or improved."""
    if verdict.trajectory is Trajectory.INSUFFICIENT_EVIDENCE:
        return Trajectory.INSUFFICIENT_EVIDENCE
    t = trajectory_of(change, tolerance)
    if t is Trajectory.DECLINED and not verdict.declined:
        return Trajectory.UNCHANGED
    return t


#: What a supervisor looks at first, most concerning first (the index is the rank).
CONCERNS: tuple[str, ...] = ("safety", "decline", "low", "patterns", "repaired", "ok")


@dataclass(frozen=True, slots=True)
class PairVerdict:
    """A pair's state, the one every surface puts into words (demo, board, report, alerts).

    - `safety`: a safety signal was raised; `declined`: an ``alliance_declined`` event, or the
      last ended session's trajectory is declined (the same definition, `assess`); `low`: an
      ``alliance_low`` event; `patterns`: "passive" / "directive" patterns seen; `repaired`: a
      rupture the counselor repaired (a window's signals or a session summary); `trajectory`:
      the last ended session's; `scored`: at least one window was scored.
    """

    safety: bool = False
    declined: bool = False
    low: bool = False
    patterns: tuple[str, ...] = ()
    repaired: bool = False
    trajectory: Trajectory | None = None
    scored: bool = False

    @property
    def alliance(self) -> str:
        """The alliance in one word: "declined", "low", "repaired", "improved", "held" or
        "insufficient evidence"."""
        if self.declined:
            return "declined"
        if self.low:
            return "low"
        if self.repaired:
            return "repaired"
        if self.trajectory is Trajectory.IMPROVED:
            return "improved"
        if not self.scored:
            return "insufficient evidence"
        return "held"

    @property
    def concern(self) -> str:
        """One of `CONCERNS`: safety, decline, low, patterns, repaired, ok."""
        if self.safety:
            return "safety"
        if self.declined:
            return "decline"
        if self.low:
            return "low"
        if self.patterns:
            return "patterns"
        return "repaired" if self.repaired else "ok"

    @property
    def concern_rank(self) -> int:
        return CONCERNS.index(self.concern)


def verdict_of(
    counts: Mapping[str, int], *, trajectory: Trajectory | str | None, repaired: bool
) -> PairVerdict:
    """A pair's verdict from its event counts, keyed by each event type's declared board
    counter (`EventKind.board_count`: "safety", "declines", "low", "passive", "directive",
    "windows"), the last ended session's trajectory, and whether a rupture was repaired."""
    t = Trajectory(trajectory) if trajectory is not None else None
    return PairVerdict(
        safety=counts.get("safety", 0) > 0,
        declined=counts.get("declines", 0) > 0 or t is Trajectory.DECLINED,
        low=counts.get("low", 0) > 0,
        patterns=tuple(p for p in ("passive", "directive") if counts.get(p, 0) > 0),
        repaired=repaired,
        trajectory=t,
        scored=counts.get("windows", 0) > 0,
    )


class VerdictTally:
    """Folds one pair's events into its `PairVerdict` (the counts the board keeps too)."""

    __slots__ = ("counts", "repaired", "trajectory")

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.trajectory: Trajectory | None = None
        self.repaired = False

    def add(self, ev: Event) -> None:
        counter = ev.kind.board_count
        if isinstance(ev, WindowScored):
            if ev.score.scored:
                self.counts["windows"] = self.counts.get("windows", 0) + 1
            sig = ev.score.signals
            self.repaired |= sig is not None and any(r.repaired_by for r in sig.ruptures)
        elif isinstance(ev, SessionSummary):
            self.trajectory = ev.trajectory
            self.repaired |= bool(ev.repaired)
            if ev.phase_convention != "no_scores":  # some window of it was scored
                self.counts["windows"] = self.counts.get("windows", 0) + ev.n_windows
        elif counter is not None:
            self.counts[counter] = self.counts.get(counter, 0) + 1

    def verdict(self) -> PairVerdict:
        return verdict_of(self.counts, trajectory=self.trajectory, repaired=self.repaired)


def pair_verdicts(events: Iterable[Event]) -> dict[str, PairVerdict]:
    """Each pair's `PairVerdict` from its events, in the order the pairs first appear."""
    tallies: dict[str, VerdictTally] = {}
    for ev in events:
        tallies.setdefault(ev.conversation_id, VerdictTally()).add(ev)
    return {cid: t.verdict() for cid, t in tallies.items()}

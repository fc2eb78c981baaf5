"""The study's records: one pair's result, phase statistics, trajectory and pattern rows, the
whole summary; the labels they are reported with, and their JSON and markdown forms. The study
run and the HTML report both build on this module, so neither imports the other."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .._batch import PHASES, TranscriptResult
from .._config import PatternPolicy
from .._events import Trajectory
from .._models import DIMENSIONS, WindowSignals
from ._items import BIN_EDGES, Distribution, ItemStats
from ._link import Exemplar, LinkResult
from ._stats import FriedmanResult, MeanCI, RMAnovaResult
from ._strings import ITEM_LABELS, Labels, report_language, text

if TYPE_CHECKING:
    from ._sessions import AcrossSessions

#: Trajectory categories and their labels in the report's language (`_strings.Labels`).
TRAJECTORY_CATEGORIES: Mapping[str, str] = Labels(
    "traj.", ("declined", "unchanged", "improved_lt1", "improved_ge1", "insufficient_evidence")
)
#: The evidence anchors of the 1-5 scale (domain.md).
LEVEL_LABELS: dict[int, str] = {
    1: "strong evidence against",
    2: "some evidence against",
    3: "no evidence either way",
    4: "some evidence for",
    5: "strong evidence for",
}
#: Dimension labels in the report's language (`_strings.Labels`).
DIM_LABELS: Mapping[str, str] = Labels("dim.", ("goal", "task", "bond", "overall"))
_TABLE_DIMS = ("goal", "task", "bond", "overall")
_TRAJ_DIMS = ("overall", "goal", "task", "bond")
_MAX_MD_COUNSELORS = 50


def trajectory_category(change: float, tolerance: float, *, insufficient: bool = False) -> str:
    """declined / unchanged / improved_lt1 / improved_ge1 for a late-minus-early change, or
    insufficient_evidence when the early or late phase lacks evidence (never "unchanged")."""
    if insufficient:
        return "insufficient_evidence"
    if change <= -tolerance:
        return "declined"
    if change < tolerance:
        return "unchanged"
    return "improved_lt1" if change < 1.0 else "improved_ge1"


def alliance_level(overall: float) -> int:
    """The nearest level of the 1-5 scale (halves round up)."""
    return min(5, max(1, math.floor(overall + 0.5)))


# ---------------------------------------------------------------------- per-pair record
@dataclass(frozen=True, slots=True)
class PairRecord:
    """What the study keeps of one scored transcript (slim: no windows, no text)."""

    conversation_id: str
    alliance: dict[str, float]
    phases: dict[str, dict[str, float]]
    changes: dict[str, float]
    convention: str = "windows"
    counselor_id: str | None = None
    n_counselor: int = 0
    n_passive: int = 0
    n_directive: int = 0
    passive_pattern: bool = False
    directive_pattern: bool = False
    unscored_phases: int = 0
    #: The scorer found too little evidence for a trajectory (early or late phase): the pair
    #: is counted as "insufficient evidence", never as unchanged, and its near-3 phase readings
    #: stay out of the phase means.
    insufficient: bool = False
    #: The twelve item ratings of each phase window (phase -> item -> rating), where all three
    #: phase windows carry them; None otherwise (a short transcript, an unscored phase).
    items: dict[str, dict[str, float]] | None = None
    #: The session this record is (its id in the input, if any) and its place among the
    #: pair's sessions in time order (0 first). A pair without session ids is one session.
    session_id: str | None = None
    session_index: int = 0
    #: At least one of its windows was scored on enough evidence (its alliance says something).
    has_evidence: bool = True
    #: When the session began (its first message's timestamp).
    start_ts: float | None = None
    #: What each of its windows shows beside its ratings (ruptures, repairs, overstepping):
    #: the evidence a later session's decline rests on (`_sessions.across_verdicts`).
    signals: tuple[WindowSignals | None, ...] = ()
    #: The trajectory category per dimension under the analysis's decline verdict (declined
    #: only where the later phases show what fell, `alliance_monitor.DECLINE_DEFINITION`).
    trajectories: dict[str, str] | None = None

    @property
    def in_trajectory(self) -> bool:
        """Three phases, none unscored: enters the trajectory table (maybe as insufficient)."""
        return self.convention == "windows" and self.unscored_phases == 0

    @property
    def in_phase_analysis(self) -> bool:
        return self.in_trajectory and not self.insufficient

    def category(self, dimension: str, tolerance: float) -> str:
        """The pair's trajectory category for one dimension: the library's one definition of
        a decline (`_decline`, kept from the analysis in `trajectories`); for a record built
        by hand without it, the change against the dead band."""
        if self.trajectories is not None:
            return self.trajectories[dimension]
        return trajectory_category(
            self.changes[dimension], tolerance, insufficient=self.insufficient
        )

    @property
    def level(self) -> int:
        return alliance_level(self.alliance["overall"])

    @classmethod
    def from_result(
        cls,
        result: TranscriptResult,
        counselor_id: str | None = None,
        patterns: PatternPolicy | None = None,
        *,
        session_id: str | None = None,
        session_index: int = 0,
    ) -> PairRecord:
        pol = patterns or PatternPolicy()
        passive_pattern = directive_pattern = False
        for w in result.windows:
            n = len(w.messages)
            if not w.scored or n == 0:
                continue
            p = sum(m.is_passive for m in w.messages)
            d = sum(m.is_directive for m in w.messages)
            passive_pattern |= p >= pol.min_flagged and p / n >= pol.min_rate
            directive_pattern |= d >= pol.min_flagged and d / n >= pol.min_rate
        return cls(
            conversation_id=result.conversation_id,
            alliance={d: result.alliance.get(d) for d in DIMENSIONS},
            phases={p: {d: getattr(result.phases, p).get(d) for d in DIMENSIONS} for p in PHASES},
            changes=dict(result.dimension_changes),
            convention=result.phase_convention,
            counselor_id=counselor_id,
            n_counselor=len(result.messages),
            n_passive=sum(m.is_passive for m in result.messages),
            n_directive=sum(m.is_directive for m in result.messages),
            passive_pattern=passive_pattern,
            directive_pattern=directive_pattern,
            unscored_phases=sum(w.status == "unscored" for w in result.windows),
            insufficient=result.trajectory is Trajectory.INSUFFICIENT_EVIDENCE,
            trajectories=_verdict_categories(result),
            items=_phase_items(result),
            session_id=session_id,
            session_index=session_index,
            has_evidence=any(w.scored for w in result.windows),
            start_ts=min(
                (w.start_ts for w in result.windows if w.start_ts is not None), default=None
            ),
            signals=tuple(w.signals for w in result.windows),
        )


def _verdict_categories(result: TranscriptResult) -> dict[str, str] | None:
    """Trajectory categories per dimension from the analysis's decline verdict."""
    v = result.verdict
    if v is None:
        return None
    if v.trajectory is Trajectory.INSUFFICIENT_EVIDENCE:
        return dict.fromkeys(DIMENSIONS, "insufficient_evidence")
    out = {}
    for d, t in v.dimension_trajectories().items():
        change = v.dimension_changes[d]
        if t is Trajectory.IMPROVED:
            out[d] = "improved_ge1" if change >= 1.0 else "improved_lt1"
        else:
            out[d] = t.value
    return out


def _phase_items(result: TranscriptResult) -> dict[str, dict[str, float]] | None:
    if result.phase_convention != "windows" or len(result.windows) != len(PHASES):
        return None
    constructs = [w.constructs for w in result.windows]
    if any(c is None for c in constructs):
        return None
    return {p: dict(c) for p, c in zip(PHASES, constructs, strict=True) if c is not None}


# ---------------------------------------------------------------------- summary records
@dataclass(frozen=True, slots=True)
class PhaseStats:
    """Phase means with CIs for one dimension, and the tests across phases."""

    dimension: str
    early: MeanCI
    middle: MeanCI
    late: MeanCI
    change: MeanCI  # late − early, per pair
    friedman: FriedmanResult
    anova: RMAnovaResult

    def phase(self, name: str) -> MeanCI:
        ci: MeanCI = getattr(self, name)
        return ci


@dataclass(frozen=True, slots=True)
class TrajectoryRow:
    dimension: str
    n: int
    counts: dict[str, int]

    def share(self, category: str) -> float | None:
        return self.counts[category] / self.n if self.n else None


@dataclass(frozen=True, slots=True)
class PatternRow:
    """Pattern prevalence in one group of sessions (an alliance level or a counselor)."""

    group: str
    label: str
    n_sessions: int
    n_counselor: int
    n_passive: int
    n_directive: int
    sessions_passive: int
    sessions_directive: int
    mean_alliance: float | None
    declined: int = 0
    n_trajectory: int = 0

    @property
    def passive_share(self) -> float | None:
        return self.n_passive / self.n_counselor if self.n_counselor else None

    @property
    def directive_share(self) -> float | None:
        return self.n_directive / self.n_counselor if self.n_counselor else None


@dataclass(frozen=True, slots=True)
class StudySummary:
    """Everything the study found; `to_json()` is summary.json, `to_markdown()` summary.md."""

    phases: tuple[PhaseStats, ...]
    trajectories: tuple[TrajectoryRow, ...]
    patterns_by_level: tuple[PatternRow, ...]
    patterns_by_counselor: tuple[PatternRow, ...]
    pairs: tuple[PairRecord, ...]
    #: Lowest / middle / highest third of the corpus by session alliance: relative groups,
    #: informative when every session sits on the same level (short windows drift toward 3).
    patterns_by_tercile: tuple[PatternRow, ...] = ()
    #: The twelve items by phase (same pairs and tests as `phases`, Holm-adjusted p).
    items: tuple[ItemStats, ...] = ()
    #: Pairs behind `items`.
    n_item_analysis: int = 0
    #: Score spread per dimension and phase over the pairs in the phase analysis.
    distributions: tuple[Distribution, ...] = ()
    #: Pairs (distinct conversation ids); `n_transcripts` counts sessions, which are pairs
    #: unless the input carries session ids.
    n_pairs: int = 0
    #: The session-to-session view (None when no pair has two sessions).
    sessions: AcrossSessions | None = None
    #: Pattern against low-alliance windows: per pattern, two readings of "low" (`_link`).
    link: tuple[LinkResult, ...] = ()
    #: "window" (rolling windows of the replay) or "phase" (phase windows, without replay).
    link_unit: str = "window"
    #: Windows the scorer abstained on (left out of `link`), and those of them with a pattern.
    link_abstained: int = 0
    link_abstained_with: dict[str, int] = field(default_factory=dict)
    #: Up to three redacted exchanges per pattern (only when text was opted in).
    exemplars: dict[str, list[Exemplar]] = field(default_factory=dict)
    bootstrap: int = 1000
    #: The feedback loop (ratings beside the paper's, the recovery figure; `PairBoard.
    #: feedback_loop` plus where the ratings came from); None without replay.
    feedback: dict[str, Any] | None = None
    tolerance: float = 0.25
    confidence_level: float = 0.95
    n_transcripts: int = 0
    excluded: dict[str, int] = field(default_factory=dict)
    rejected: dict[str, int] = field(default_factory=dict)
    duplicate_messages: int = 0
    input_name: str = ""
    scorer: str = ""
    #: The language of the report's fixed text (`_strings.LANGUAGES`): given, or the corpus's.
    language: str = "en"
    elapsed_s: float = 0.0
    files: dict[str, str] = field(default_factory=dict)

    @property
    def n_phase_analysis(self) -> int:
        return sum(p.in_phase_analysis for p in self.pairs)

    def phase_stats(self, dimension: str) -> PhaseStats:
        return next(p for p in self.phases if p.dimension == dimension)

    def trajectory(self, dimension: str) -> TrajectoryRow:
        return next(t for t in self.trajectories if t.dimension == dimension)

    def to_json(self) -> dict[str, Any]:
        return _summary_json(self)

    def to_markdown(self) -> str:
        with report_language(self.language):
            return _summary_md(self)


def _r(x: float | None, nd: int = 4) -> float | None:
    return None if x is None else round(x, nd)


def _ci_json(ci: MeanCI) -> dict[str, Any]:
    return {"n": ci.n, "mean": _r(ci.mean), "sd": _r(ci.sd), "lo": _r(ci.lo), "hi": _r(ci.hi)}


def _pattern_json(row: PatternRow) -> dict[str, Any]:
    return {
        "group": row.group,
        "label": row.label,
        "sessions": row.n_sessions,
        "counselor_messages": row.n_counselor,
        "passive_messages": row.n_passive,
        "directive_messages": row.n_directive,
        "passive_share": _r(row.passive_share),
        "directive_share": _r(row.directive_share),
        "sessions_with_passive_pattern": row.sessions_passive,
        "sessions_with_directive_pattern": row.sessions_directive,
        "mean_alliance": _r(row.mean_alliance),
        "declined": row.declined,
        "sessions_in_trajectory": row.n_trajectory,
    }


def _summary_json(s: StudySummary) -> dict[str, Any]:
    return {
        "study": {
            "input": s.input_name,
            "scorer": s.scorer,
            "language": s.language,
            "transcripts": s.n_transcripts,
            "in_phase_analysis": s.n_phase_analysis,
            "excluded": s.excluded,
            "rejected": s.rejected,
            "duplicate_messages": s.duplicate_messages,
            "trajectory_tolerance": s.tolerance,
            "confidence_level": s.confidence_level,
            "elapsed_s": s.elapsed_s,
            "tests": {
                "primary": "Friedman (ranks within pair across early/middle/late; tie-corrected)",
                "secondary": "one-way repeated-measures ANOVA, Greenhouse-Geisser corrected",
            },
        },
        "phases": {
            p.dimension: {
                "early": _ci_json(p.early),
                "middle": _ci_json(p.middle),
                "late": _ci_json(p.late),
                "late_minus_early": _ci_json(p.change),
                **_tests_json(p.friedman, p.anova),
            }
            for p in s.phases
        },
        "items": _items_json(s),
        "distributions": _distributions_json(s),
        "trajectories": {
            t.dimension: {
                "n": t.n,
                "counts": t.counts,
                "shares": {c: _r(t.share(c)) for c in TRAJECTORY_CATEGORIES},
            }
            for t in s.trajectories
        },
        "patterns_by_level": [_pattern_json(r) for r in s.patterns_by_level],
        "patterns_by_tercile": [_pattern_json(r) for r in s.patterns_by_tercile],
        "patterns_by_counselor": [_pattern_json(r) for r in s.patterns_by_counselor],
        "pattern_alliance": _link_json(s),
        "sessions": _sessions_json(s),
        "feedback": s.feedback,
        "pairs": [
            {
                "conversation_id": r.conversation_id,
                "session_id": r.session_id,
                "session_index": r.session_index,
                "counselor_id": r.counselor_id,
                "phase_convention": r.convention,
                "in_phase_analysis": r.in_phase_analysis,
                "alliance": {d: round(v, 4) for d, v in r.alliance.items()},
                "level": r.level,
                "phases": {
                    p: {d: round(v, 4) for d, v in ph.items()} for p, ph in r.phases.items()
                },
                "changes": {d: round(v, 4) for d, v in r.changes.items()},
                "trajectory": {d: r.category(d, s.tolerance) for d in _TRAJ_DIMS},
                "insufficient_evidence": r.insufficient,
                "counselor_messages": r.n_counselor,
                "passive_messages": r.n_passive,
                "directive_messages": r.n_directive,
                "passive_pattern": r.passive_pattern,
                "directive_pattern": r.directive_pattern,
            }
            for r in s.pairs
        ],
    }


def _tests_json(friedman: FriedmanResult, anova: RMAnovaResult) -> dict[str, Any]:
    return {
        "friedman": {
            "chi2": _r(friedman.statistic),
            "df": friedman.df,
            "p": _r(friedman.p_value, 6),
            "kendall_w": _r(friedman.kendall_w),
            "mean_ranks": [round(x, 4) for x in friedman.mean_ranks],
        },
        "rm_anova": {
            "f": _r(anova.f),
            "df1": anova.df1,
            "df2": anova.df2,
            "p": _r(anova.p_value, 6),
            "epsilon_gg": _r(anova.epsilon_gg),
            "p_gg": _r(anova.p_gg, 6),
            "partial_eta_sq": _r(anova.partial_eta_sq),
        },
    }


def _items_json(s: StudySummary) -> dict[str, Any]:
    return {
        "pairs": s.n_item_analysis,
        "correction": "Holm step-down over the twelve items' Friedman p-values (family-wise)",
        "by_item": {
            it.item: {
                "dimension": it.dimension,
                "label": ITEM_LABELS.get(it.item, it.item),
                "early": _ci_json(it.early),
                "middle": _ci_json(it.middle),
                "late": _ci_json(it.late),
                "late_minus_early": _ci_json(it.change),
                **_tests_json(it.friedman, it.anova),
                "p_holm": _r(it.p_holm, 6),
            }
            for it in s.items
        },
    }


def _distributions_json(s: StudySummary) -> dict[str, Any]:
    out: dict[str, Any] = {"bin_edges": list(BIN_EDGES)}
    for d in s.distributions:
        q = d.quartiles
        out.setdefault(d.dimension, {})[d.phase] = {
            "n": d.n,
            "counts": list(d.counts),
            "quartiles": None
            if q is None
            else dict(
                zip(("min", "q1", "median", "q3", "max"), (round(v, 4) for v in q), strict=True)
            ),
        }
    return out


def _sessions_json(s: StudySummary) -> dict[str, Any] | None:
    a = s.sessions
    if a is None:
        return None
    return {
        "pairs_with_several_sessions": a.n_pairs,
        "pairs_with_one_session": a.n_single,
        "compared": "the pair's last session against its first (session alliance)",
        "by_session_number": [
            {
                "session": k + 1,
                "and_later": a.folded and k + 1 == len(a.by_number),
                "without_evidence": a.no_evidence_by_number[k],
                **{d: _ci_json(ci) for d, ci in col.items()},
            }
            for k, col in enumerate(a.by_number)
        ],
        "last_minus_first": {d: _ci_json(ci) for d, ci in a.change.items()},
        "trajectories": {
            t.dimension: {
                "n": t.n,
                "counts": t.counts,
                "shares": {c: _r(t.share(c)) for c in TRAJECTORY_CATEGORIES},
            }
            for t in a.trajectories
        },
    }


def _link_json(s: StudySummary) -> dict[str, Any]:
    return {
        "unit": s.link_unit,
        "abstained_windows": s.link_abstained,
        "abstained_with_pattern": s.link_abstained_with,
        "bootstrap_resamples": s.bootstrap,
        "interval": "percentile, pairs resampled; 0.5 added to every cell of a table with an "
        "empty cell",
        "test": "Cochran-Mantel-Haenszel chi2(1), stratified by pair, no continuity correction",
        "correction": "two patterns: Bonferroni, p < 0.025 for a family-wise alpha of 0.05",
        "results": [
            {
                "pattern": r.pattern,
                "low": r.definition,
                "threshold": _r(r.threshold),
                "windows": r.n_windows,
                "pairs": r.n_pairs,
                "table": dict(
                    zip(
                        ("pattern_low", "pattern_not_low", "no_pattern_low", "no_pattern_not_low"),
                        (int(v) for v in r.table),
                        strict=True,
                    )
                ),
                "share_low_with_pattern": _r(r.share_low_with),
                "share_low_without_pattern": _r(r.share_low_without),
                "odds_ratio": _r(r.odds_ratio),
                "ci": [_r(r.lo), _r(r.hi)],
                "bootstrap_defined": r.n_boot_defined,
                "cmh": {
                    "chi2": _r(r.cmh.statistic),
                    "p": _r(r.cmh.p_value, 6),
                    "common_odds_ratio": _r(r.cmh.common_or),
                    "informative_pairs": r.cmh.informative_pairs,
                },
            }
            for r in s.link
        ],
        "exemplars": {
            pattern: [
                {
                    "conversation_id": e.conversation_id,
                    "window": e.window_index,
                    "message_id": e.message_id,
                    "score": _r(e.score),
                    "window_overall": _r(e.window_overall),
                    "turns": [{"role": role, "text": t} for role, t in e.turns],
                }
                for e in exs
            ]
            for pattern, exs in s.exemplars.items()
        },
    }


def fmt_p(p: float | None) -> str:
    if p is None:
        return "n/a"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def _num(x: float, signed: bool = False) -> str:
    x = 0.0 if round(x, 2) == 0 else x  # no "-0.00"
    return f"{x:+.2f}" if signed else f"{x:.2f}"


def fmt_ci(ci: MeanCI) -> str:
    if ci.mean is None:
        return "n/a"
    if ci.lo is None or ci.hi is None:
        return _num(ci.mean)
    return f"{_num(ci.mean)} [{_num(ci.lo)}, {_num(ci.hi)}]"


def fmt_signed_ci(ci: MeanCI) -> str:
    if ci.mean is None:
        return "n/a"
    if ci.lo is None or ci.hi is None:
        return _num(ci.mean, True)
    return f"{_num(ci.mean, True)} [{_num(ci.lo, True)}, {_num(ci.hi, True)}]"


def fmt_share(k: int, n: int) -> str:
    return "—" if n == 0 else f"{100 * k / n:.1f}% ({k})"


def _summary_md(s: StudySummary) -> str:
    level = f"{100 * s.confidence_level:.0f}%"
    n = s.n_phase_analysis
    n_traj = s.trajectories[0].n if s.trajectories else 0
    out = [
        f"# {text('report.title')}" + (f": {s.input_name}" if s.input_name else ""),
        "",
        (
            text("md.intro.sessions", sessions=s.n_transcripts, pairs=s.n_pairs)
            if s.n_pairs and s.n_pairs != s.n_transcripts
            else text("md.intro.pairs", pairs=s.n_transcripts)
        )
        + (text("md.intro.scorer", scorer=s.scorer) if s.scorer else "")
        + text("md.intro.tables", n=n, n_traj=n_traj)
        + (
            text(
                "md.intro.excluded",
                excluded=", ".join(f"{k} {v}" for k, v in sorted(s.excluded.items())),
            )
            if s.excluded
            else ""
        )
        + text("md.intro.scale"),
        "",
        text("md.table1.title", level=level, n=n),
        "",
        text("md.table1.head"),
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for p in s.phases:
        chi2 = "n/a" if p.friedman.statistic is None else f"{p.friedman.statistic:.2f}"
        w = "n/a" if p.friedman.kendall_w is None else f"{p.friedman.kendall_w:.3f}"
        out.append(
            f"| {DIM_LABELS[p.dimension]} | {fmt_ci(p.early)} | {fmt_ci(p.middle)} | "
            f"{fmt_ci(p.late)} | {fmt_signed_ci(p.change)} | {chi2} | {fmt_p(p.friedman.p_value)}"
            f" | {w} | {fmt_p(p.anova.p_gg)} |"
        )
    out += [
        "",
        text("md.table1.note"),
        "",
        *_items_md(s),
        *_distributions_md(s),
        text("md.table2.title", n=n_traj, tol=s.tolerance),
        "",
        text("md.table2.declined"),
        "",
        f"| {text('md.table2.dim')} | "
        + " | ".join(TRAJECTORY_CATEGORIES.values())
        + f" | {text('md.table2.both')} |",
        "|---|" + "---|" * (len(TRAJECTORY_CATEGORIES) + 1),
    ]
    for t in s.trajectories:
        cells = [fmt_share(t.counts[c], t.n) for c in TRAJECTORY_CATEGORIES]
        both = t.counts["declined"] + t.counts["unchanged"]
        out.append(
            f"| {DIM_LABELS[t.dimension]} | " + " | ".join(cells) + f" | {fmt_share(both, t.n)} |"
        )
    out += [
        "",
        text("md.table3.title"),
        "",
        text("md.table3.head"),
        "|---|---|---|---|---|---|---|",
    ]
    for row in s.patterns_by_level:
        out.append(_pattern_md(row))
    if s.patterns_by_tercile:
        out += [
            "",
            text("md.table3b.title"),
            "",
            text("md.table3b.head"),
            "|---|---|---|---|---|---|---|",
        ]
        for row in s.patterns_by_tercile:
            out.append(_pattern_md(row))
    out += [
        "",
        text("md.table3.note"),
        "",
    ]
    out += _link_md(s)
    out += _sessions_md(s)
    out += _feedback_md(s)
    if s.patterns_by_counselor:
        out += [
            "**Table 4. Counselor patterns by counselor.**",
            "",
            "| Counselor | Sessions | Counselor messages | Passive | Directive "
            "| Sessions with passive pattern | Sessions with directive pattern | Mean alliance "
            "| Declined |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for row in s.patterns_by_counselor[:_MAX_MD_COUNSELORS]:
            mean = "n/a" if row.mean_alliance is None else f"{row.mean_alliance:.2f}"
            out.append(
                _pattern_md(row) + f" {mean} | {fmt_share(row.declined, row.n_trajectory)} |"
            )
        extra = len(s.patterns_by_counselor) - _MAX_MD_COUNSELORS
        if extra > 0:
            out.append(f"\n{extra} more counselors in summary.json.")
    else:
        out.append("No counselor ids in this corpus: no per-counselor table.")
    if s.rejected or s.duplicate_messages:
        out += [
            "",
            "Input: "
            + ", ".join(
                [f"{v} rejected ({k})" for k, v in sorted(s.rejected.items())]
                + (
                    [f"{s.duplicate_messages} duplicate messages ignored"]
                    if s.duplicate_messages
                    else []
                )
            )
            + ".",
        ]
    return "\n".join(out) + "\n"


def _traj_cells(t: TrajectoryRow) -> str:
    cells = [fmt_share(t.counts[c], t.n) for c in TRAJECTORY_CATEGORIES]
    both = t.counts["declined"] + t.counts["unchanged"]
    return " | ".join(cells) + f" | {fmt_share(both, t.n)}"


def _sessions_md(s: StudySummary) -> list[str]:
    a = s.sessions
    if a is None:
        return [text("sess.none"), ""]
    level = f"{100 * s.confidence_level:.0f}%"
    within = s.trajectory("overall") if s.trajectories else None
    out = [
        f"**{text('sess.title', n=a.n_pairs, n_within=within.n if within else 0)}**",
        "",
        text("sess.head", cats=" | ".join(TRAJECTORY_CATEGORIES.values())),
        "|---|---|" + "---|" * (len(TRAJECTORY_CATEGORIES) + 1),
    ]
    if within is not None:
        out.append(f"| {text('sess.within')} | {DIM_LABELS['overall']} | {_traj_cells(within)} |")
    for t in a.trajectories:
        out.append(f"| {text('sess.across')} | {DIM_LABELS[t.dimension]} | {_traj_cells(t)} |")
    k = len(a.by_number)
    cols = [
        text("sess.bynum.last" if a.folded and i + 1 == k else "sess.bynum.col", k=i + 1)
        for i in range(k)
    ]
    out += [
        "",
        f"**{text('sess.bynum.title', level=level)}**",
        "",
        "| Dimension | " + " | ".join(cols) + f" | {text('sess.bynum.change')} |",
        "|---|" + "---|" * (k + 1),
    ]
    for d in ("goal", "task", "bond", "overall"):
        cells = " | ".join(fmt_ci(col[d]) for col in a.by_number)
        out.append(f"| {DIM_LABELS[d]} | {cells} | {fmt_signed_ci(a.change[d])} |")
    counts = " | ".join(
        f"{col['overall'].n} ({a.no_evidence_by_number[i]})" for i, col in enumerate(a.by_number)
    )
    out.append(f"| {text('sess.bynum.n')} | {counts} | {a.change['overall'].n} |")
    return [*out, "", text("sess.note", tol=s.tolerance, single=a.n_single), ""]


def _change_cell(c: dict[str, Any]) -> str:
    if c["mean"] is None:
        return f"n/a (n = {c['n']})"
    lo, hi = c["ci"]
    ci = "" if lo is None else f" [{_num(lo, True)}, {_num(hi, True)}]"
    return f"{_num(c['mean'], True)}{ci} (n = {c['n']})"


def _feedback_md(s: StudySummary) -> list[str]:
    fb = s.feedback
    if fb is None:
        return []
    level = f"{100 * s.confidence_level:.0f}%"
    r = fb["ratings"]
    out = [
        f"**{text('fb.ratings.title', level=level, n=r['n'])}**",
        "",
        text("fb.ratings.head"),
        "|---|---|---|---|",
    ]
    for q, row in r["questions"].items():
        lo, hi = row["ci"]
        mean = "n/a" if row["mean"] is None else f"{row['mean']:.2f}"
        ci = "" if lo is None else f" [{lo:.2f}, {hi:.2f}]"
        out.append(f"| {text('fb.q.' + q)} | {r['n']} | {mean}{ci} | {row['paper_mean']:.2f} |")
    out += [
        "",
        f"**{text('fb.recovery.title', level=level, boot=s.bootstrap)}**",
        "",
        text("fb.recovery.head"),
        "|---|---|---|---|---|---|",
    ]
    for row in fb["recovery"]:
        lo, hi = row["difference_ci"]
        diff = "n/a" if row["difference"] is None else _num(row["difference"], True)
        if lo is not None:
            diff += f" [{_num(lo, True)}, {_num(hi, True)}]"
        nm = row["not_measurable"]
        out.append(
            f"| {text('fb.kind.' + row['kind'])} | {_change_cell(row['delivered'])} "
            f"| {_change_cell(row['no_feedback_yet'])} | {diff} "
            f"| {nm['delivered']} / {nm['no_feedback_yet']} "
            f"| {row['undelivered_after_earlier_feedback']} |"
        )
    src = fb["source"]
    source = (
        text("fb.source.none")
        if src.get("file") is None
        else text(
            "fb.source",
            name=src["file"],
            n=src["ratings"],
            d=src["deliveries"],
            other=src["other_pairs"],
            refused=sum(src["refused"].values()),
        )
    )
    return [*out, "", text("fb.note", source=source), ""]


def _fmt_or(x: float | None) -> str:
    if x is None:
        return "n/a"
    return f"{x:.2f}" if x < 100 else f"{x:.0f}"


def _link_md(s: StudySummary) -> list[str]:
    if not s.link or not any(r.n_windows for r in s.link):
        return [text("link.none"), ""]
    level = f"{100 * s.confidence_level:.0f}%"
    unit = text("unit." + s.link_unit)
    out = [
        f"**{text('link.title', unit=unit, level=level, boot=s.bootstrap)}**",
        "",
        text("link.head"),
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in s.link:
        if r.definition == "level":
            low = text("link.def.level")
        elif r.threshold is None:
            low = text("link.def.lowest_third_none")
        else:
            low = text("link.def.lowest_third", cut=f"{r.threshold:.2f}")
        a, b, c, d = (int(v) for v in r.table)
        ci = f" [{_fmt_or(r.lo)}, {_fmt_or(r.hi)}]" if r.lo is not None else ""
        chi2 = "n/a" if r.cmh.statistic is None else f"{r.cmh.statistic:.2f}"
        out.append(
            f"| {text('pattern.' + r.pattern)} | {low} | {r.n_windows} ({r.n_pairs}) "
            f"| {fmt_share(a, a + b)} | {fmt_share(c, c + d)} | {_fmt_or(r.odds_ratio)}{ci} "
            f"| {chi2} | {fmt_p(r.cmh.p_value)} | {_fmt_or(r.cmh.common_or)} |"
        )
    out += [
        "",
        text(
            "link.note",
            abstained=s.link_abstained,
            passive=s.link_abstained_with.get("passive", 0),
            directive=s.link_abstained_with.get("directive", 0),
        ),
        "",
    ]
    for pattern, exs in s.exemplars.items():
        out += [f"*{text('ex.section')}: {text('pattern.' + pattern)}*", ""]
        if not exs:
            out += [text("ex.none"), ""]
        for e in exs:
            where = text(
                "ex.where",
                cid=e.conversation_id,
                window=e.window_index,
                overall="n/a" if e.window_overall is None else f"{e.window_overall:.2f}",
                score=f"{e.score:.2f}",
            )
            out.append(f"- {where}")
            out += [f"  > {text('role.' + role)}: {t}" for role, t in e.turns]
            out.append("")
    return out


def _items_md(s: StudySummary) -> list[str]:
    level = f"{100 * s.confidence_level:.0f}%"
    if not s.items or not s.n_item_analysis:
        return [text("items.none"), ""]
    out = [
        f"**{text('items.title', level=level, n=s.n_item_analysis)}**",
        "",
        text("items.head"),
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for it in s.items:
        chi2 = "n/a" if it.friedman.statistic is None else f"{it.friedman.statistic:.2f}"
        w = "n/a" if it.friedman.kendall_w is None else f"{it.friedman.kendall_w:.3f}"
        out.append(
            f"| {it.item} {text('item.' + it.item)} | {fmt_ci(it.early)} | {fmt_ci(it.middle)} "
            f"| {fmt_ci(it.late)} | {fmt_signed_ci(it.change)} | {chi2} "
            f"| {fmt_p(it.friedman.p_value)} | {fmt_p(it.p_holm)} | {w} | {fmt_p(it.anova.p_gg)} |"
        )
    return [*out, "", text("items.note"), ""]


def _distributions_md(s: StudySummary) -> list[str]:
    if not s.distributions:
        return []
    n = s.distributions[0].n
    out = [f"**{text('dist.title', n=n)}**", "", text("dist.head"), "|---|---|---|---|---|---|"]
    for d in s.distributions:
        q = d.quartiles
        if q is None:
            cells = "n/a | n/a | n/a"
        else:
            cells = f"{q[2]:.2f} | {q[1]:.2f}–{q[3]:.2f} | {q[0]:.2f}–{q[4]:.2f}"
        out.append(f"| {DIM_LABELS[d.dimension]} | {text('phase.' + d.phase)} | {d.n} | {cells} |")
    return [*out, ""]


def _pattern_md(row: PatternRow) -> str:
    return (
        f"| {row.label} | {row.n_sessions} | {row.n_counselor} | "
        f"{fmt_share(row.n_passive, row.n_counselor)} | "
        f"{fmt_share(row.n_directive, row.n_counselor)} | "
        f"{fmt_share(row.sessions_passive, row.n_sessions)} | "
        f"{fmt_share(row.sessions_directive, row.n_sessions)} |"
    )

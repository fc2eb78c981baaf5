"""Continued contact: a pair's sessions in time order, and the alliance from session to session.

The research question is whether the relationship strengthens through continued contact, and it
needs two views: within a session (late third against early third, the phase tables) and across
a pair's sessions. When the input's messages carry ``session_id`` (or a transcript record carries
one at the top level), `split_sessions` cuts each pair's messages into its sessions, ordered by
when each began; each session is then scored in thirds on its own, as the paper scores one.

Across sessions, a pair with two or more sessions gets the same categories as within one
(declined, unchanged, improved by less than a level, by a level or more), comparing its last
session's alliance with its first's, with the same abstention: when the first or the last
session has no window scored on enough evidence, the pair is "insufficient evidence", never
unchanged. "Declined" means what it means for the live event and within a session: the
library's one definition (`_decline.assess`), applied here by `across_verdicts` with the
evidence of the sessions after the first.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .._decline import assess
from .._events import Trajectory, trajectory_of
from .._models import DimensionScores, Message, WindowSignals
from ._items import bounded
from ._records import TRAJECTORY_CATEGORIES, PairRecord, TrajectoryRow
from ._stats import MeanCI, mean_ci

__all__ = [
    "MAX_SESSION_COLUMNS",
    "AcrossSessions",
    "across_sessions",
    "across_verdicts",
    "pair_across",
    "split_sessions",
]

#: Session numbers shown one by one; later sessions share the last column ("6+").
MAX_SESSION_COLUMNS = 6
_DIMS = ("overall", "goal", "task", "bond")


def _order_key(m: Message) -> tuple[float, float]:
    return (float(m.seq), m.ts) if m.seq is not None else (m.ts, 0.0)


def split_sessions(messages: Sequence[Message]) -> list[tuple[str | None, list[Message]]]:
    """The pair's sessions as (session_id, messages in order), the earliest-starting first.

    Messages without a session id form one session of their own (None) when others have one;
    a pair without session ids is one session."""
    groups: dict[str | None, list[Message]] = {}
    for m in messages:
        groups.setdefault(m.session_id, []).append(m)
    out = []
    for sid, msgs in groups.items():
        ordered = [m for _, m in sorted(enumerate(msgs), key=lambda t: (_order_key(t[1]), t[0]))]
        out.append((sid, ordered))
    out.sort(key=lambda s: (_order_key(s[1][0]), s[0] or ""))
    return out


def across_verdicts(
    first: DimensionScores | None,
    last: DimensionScores | None,
    later_signals: Iterable[WindowSignals | None],
    tolerance: float,
) -> dict[str, str]:
    """The across-session category per dimension (overall first): the last session's alliance
    against the first's, judged by the library's one definition of a decline
    (`_decline.assess`: the level fell AND the later sessions show what fell, an unrepaired
    rupture or overstepping) with `later_signals` the window signals of every session after the
    first. A dimension declined only where the pair declined and that dimension fell, as within
    a session. None for `first` or `last`: that session has no window scored on enough
    evidence, and every category is "insufficient_evidence"."""
    verdict = assess(first, last, list(later_signals), tolerance=tolerance)
    if verdict.trajectory is Trajectory.INSUFFICIENT_EVIDENCE or first is None or last is None:
        return dict.fromkeys(_DIMS, "insufficient_evidence")
    out = {}
    for d in _DIMS:
        change = last.get(d) - first.get(d)
        t = verdict.trajectory if d == "overall" else trajectory_of(change, tolerance)
        if t is Trajectory.DECLINED and not verdict.declined:
            t = Trajectory.UNCHANGED
        out[d] = _category(t, change)
    return out


def _category(t: Trajectory, change: float) -> str:
    if t is Trajectory.IMPROVED:
        return "improved_ge1" if change >= 1.0 else "improved_lt1"
    return t.value


def pair_across(records: Sequence[PairRecord], tolerance: float) -> dict[str, str]:
    """`across_verdicts` for one pair's session records, in time order."""
    first, last = records[0], records[-1]
    return across_verdicts(
        _scores(first) if first.has_evidence else None,
        _scores(last) if last.has_evidence else None,
        [sig for r in records[1:] for sig in r.signals],
        tolerance,
    )


def _scores(r: PairRecord) -> DimensionScores:
    a = r.alliance
    return DimensionScores.model_construct(
        goal=a["goal"], task=a["task"], bond=a["bond"], overall=a["overall"]
    )


@dataclass(frozen=True, slots=True)
class AcrossSessions:
    """The session-to-session view of a corpus."""

    #: Pairs with two or more sessions (the only ones with an across-session trajectory).
    n_pairs: int
    #: Pairs with a single session (left out here, counted).
    n_single: int
    #: Sessions by number in the pair (1, 2, ... `MAX_SESSION_COLUMNS`+): mean alliance per
    #: dimension over the sessions with evidence, with t intervals (bounded to 1-5).
    by_number: tuple[dict[str, MeanCI], ...]
    #: Sessions without evidence, by number (left out of `by_number`).
    no_evidence_by_number: tuple[int, ...]
    #: Last minus first session, per dimension, over pairs whose both sessions have evidence.
    change: dict[str, MeanCI]
    #: Category counts per dimension (overall first), last session against first.
    trajectories: tuple[TrajectoryRow, ...]
    #: The last column of `by_number` also holds the sessions after it.
    folded: bool = False

    def trajectory(self, dimension: str) -> TrajectoryRow:
        return next(t for t in self.trajectories if t.dimension == dimension)


def across_sessions(
    records: Sequence[PairRecord], tolerance: float, level: float
) -> AcrossSessions | None:
    """The across-session view, or None when no pair has more than one session."""
    by_pair: dict[str, list[PairRecord]] = {}
    for r in records:
        by_pair.setdefault(r.conversation_id, []).append(r)
    multi = {
        c: sorted(rs, key=lambda r: r.session_index) for c, rs in by_pair.items() if len(rs) > 1
    }
    if not multi:
        return None
    k = min(MAX_SESSION_COLUMNS, max(len(rs) for rs in multi.values()))
    columns: list[list[PairRecord]] = [[] for _ in range(k)]
    for rs in multi.values():
        for i, r in enumerate(rs):
            columns[min(i, k - 1)].append(r)
    by_number = tuple(
        {d: bounded(mean_ci([r.alliance[d] for r in col if r.has_evidence], level)) for d in _DIMS}
        for col in columns
    )
    both = [(rs[0], rs[-1]) for rs in multi.values() if rs[0].has_evidence and rs[-1].has_evidence]
    change = {
        d: mean_ci([last.alliance[d] - first.alliance[d] for first, last in both], level)
        for d in _DIMS
    }
    trajectories = []
    verdicts = [pair_across(rs, tolerance) for rs in multi.values()]
    for d in _DIMS:
        counts = dict.fromkeys(TRAJECTORY_CATEGORIES, 0)
        for v in verdicts:
            counts[v[d]] += 1
        trajectories.append(TrajectoryRow(d, len(multi), counts))
    return AcrossSessions(
        n_pairs=len(multi),
        n_single=len(by_pair) - len(multi),
        by_number=by_number,
        no_evidence_by_number=tuple(sum(not r.has_evidence for r in col) for col in columns),
        change=change,
        trajectories=tuple(trajectories),
        folded=max(len(rs) for rs in multi.values()) > k,
    )

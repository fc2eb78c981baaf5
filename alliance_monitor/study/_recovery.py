"""The recovery figure: how a pair's alliance went after feedback was delivered.

For every feedback-carrying event (a passive or directive pattern, a decline) the change is the
mean overall score of the pair's next two scored windows after the event's window, minus that
window's own. Two groups, per kind of feedback:

- **delivered**: the event's feedback was delivered to the counselor (the platform said so, or
  the counselor rated it: `_ratings`);
- **no feedback yet**: events of the same kind in pairs that had no feedback delivered at or
  before that window: what happens after the pattern when nobody has said anything.

Events whose pair already had feedback delivered earlier belong to neither group (they are
counted), and so do events with fewer than two scored windows after them ("not measurable").
The difference of the two means gets a percentile interval from resampling pairs. This is an
observational comparison: counselors who receive (or rate) feedback may differ from the others,
so it is a figure to watch, not an effect estimate.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ._stats import MeanCI, mean_ci

__all__ = ["KINDS", "FeedbackEvent", "RecoveryRow", "recovery"]

KINDS: tuple[str, ...] = ("passive", "directive", "decline")
_NEXT = 2


@dataclass(frozen=True, slots=True)
class FeedbackEvent:
    """A feedback-carrying event of one pair: its id, its kind and the window it fired in."""

    event_id: str
    kind: str
    window: int


@dataclass(frozen=True, slots=True)
class RecoveryRow:
    kind: str
    delivered: MeanCI
    control: MeanCI
    #: delivered − control, with its interval from resampling pairs.
    difference: float | None
    lo: float | None
    hi: float | None
    not_measurable: dict[str, int] = field(default_factory=dict)
    #: Undelivered events in pairs that had feedback delivered before them (in no group).
    after_feedback: int = 0

    def to_json(self) -> dict[str, object]:
        def ci(c: MeanCI) -> dict[str, object]:
            return {"n": c.n, "mean": _r(c.mean), "ci": [_r(c.lo), _r(c.hi)]}

        return {
            "kind": self.kind,
            "delivered": ci(self.delivered),
            "no_feedback_yet": ci(self.control),
            "difference": _r(self.difference),
            "difference_ci": [_r(self.lo), _r(self.hi)],
            "not_measurable": self.not_measurable,
            "undelivered_after_earlier_feedback": self.after_feedback,
        }


def _r(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def _change(windows: Sequence[tuple[int, float]], at: int) -> float | None:
    here = next((v for i, v in windows if i == at), None)
    after = [v for i, v in windows if i > at][:_NEXT]
    if here is None or len(after) < _NEXT:
        return None
    return math.fsum(after) / _NEXT - here


def recovery(
    windows: Mapping[str, Sequence[tuple[int, float]]],
    events: Mapping[str, Sequence[FeedbackEvent]],
    delivered: Mapping[str, object] | set[str],
    *,
    level: float = 0.95,
    n_boot: int = 1000,
    seed: int = 0,
) -> list[RecoveryRow]:
    """The figure per kind. `windows`: per pair, its scored windows (index, overall) in order;
    `events`: per pair, its feedback events; `delivered`: the delivered feedback ids."""
    rows = []
    for kind in KINDS:
        groups: dict[str, dict[str, list[float]]] = {"delivered": {}, "control": {}}
        missing = {"delivered": 0, "no_feedback_yet": 0}
        after_feedback = 0
        for cid, evs in events.items():
            ws = sorted(windows.get(cid, ()))
            first = min((e.window for e in evs if e.event_id in delivered), default=None)
            for e in evs:
                if e.kind != kind:
                    continue
                if e.event_id in delivered:
                    group = "delivered"
                elif first is None or e.window < first:
                    group = "control"
                else:
                    after_feedback += 1
                    continue
                change = _change(ws, e.window)
                if change is None:
                    missing["delivered" if group == "delivered" else "no_feedback_yet"] += 1
                    continue
                groups[group].setdefault(cid, []).append(change)
        d = [v for vs in groups["delivered"].values() for v in vs]
        c = [v for vs in groups["control"].values() for v in vs]
        diff = _diff(groups["delivered"], groups["control"])
        lo, hi = _interval(groups, n_boot, seed, level)
        rows.append(
            RecoveryRow(
                kind,
                mean_ci(d, level),
                mean_ci(c, level),
                diff,
                lo,
                hi,
                missing,
                after_feedback,
            )
        )
    return rows


def _diff(delivered: Mapping[str, list[float]], control: Mapping[str, list[float]]) -> float | None:
    d = [v for vs in delivered.values() for v in vs]
    c = [v for vs in control.values() for v in vs]
    if not d or not c:
        return None
    return math.fsum(d) / len(d) - math.fsum(c) / len(c)


def _interval(
    groups: dict[str, dict[str, list[float]]], n_boot: int, seed: int, level: float
) -> tuple[float | None, float | None]:
    pairs = sorted(set(groups["delivered"]) | set(groups["control"]))
    # Fewer than two pairs on either side: resampling cannot show how the difference varies.
    if n_boot <= 0 or len(groups["delivered"]) < 2 or len(groups["control"]) < 2:
        return None, None
    rng = random.Random(seed)
    reps = []
    for _ in range(n_boot):
        drawn = rng.choices(pairs, k=len(pairs))
        d = [v for p in drawn for v in groups["delivered"].get(p, ())]
        c = [v for p in drawn for v in groups["control"].get(p, ())]
        if d and c:
            reps.append(math.fsum(d) / len(d) - math.fsum(c) / len(c))
    if len(reps) < 2:
        return None, None
    reps.sort()
    alpha = (1 - level) / 2
    return _q(reps, alpha), _q(reps, 1 - alpha)


def _q(values: Sequence[float], q: float) -> float:
    pos = q * (len(values) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (pos - lo)

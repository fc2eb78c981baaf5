"""Item-level results: the twelve constructs (G1-G4, T1-T4, B1-B4) by phase, and how the
scores of each dimension spread in each phase.

The paper's framework is the twelve observer-rated items adapted to text; a dimension is the
mean of its four. Each item gets the same table as a dimension (phase means with Student-t
intervals, the late-minus-early change, the Friedman test with Kendall's W, repeated-measures
ANOVA with Greenhouse-Geisser), on the same pairs (those in the phase analysis whose three phase
windows carry item ratings).

Twelve tests at once: the Friedman p-values are adjusted by Holm's step-down method, which
keeps the chance of any false "the phases differ" at or below α across the twelve (the
family-wise error rate), as Bonferroni does, but rejects at least as often. Both the raw and
the adjusted p are reported.

Distributions: for every dimension and phase, the pairs' scores in 16 bins of a quarter level
from 1 to 5, with the quartiles, so a reader sees how scores spread and not only their mean.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from .._batch import PHASES
from .._models import CONSTRUCTS
from ._stats import FriedmanResult, MeanCI, RMAnovaResult, friedman, mean_ci, rm_anova

__all__ = [
    "BIN_EDGES",
    "ITEMS",
    "Distribution",
    "ItemStats",
    "bounded",
    "distribution",
    "holm",
]

#: The twelve items in table order, with their dimension.
ITEMS: tuple[tuple[str, str], ...] = tuple(
    (item, dim) for dim, ids in CONSTRUCTS.items() for item in ids
)
#: Histogram bins: a quarter level wide, 1.00-1.25, ..., 4.75-5.00 (the last one closed).
BIN_EDGES: tuple[float, ...] = tuple(1.0 + 0.25 * i for i in range(17))


def bounded(ci: MeanCI, lo: float = 1.0, hi: float = 5.0) -> MeanCI:
    """`ci` with its interval clipped to the scale (a mean of 1-5 ratings lies in 1-5)."""
    if ci.lo is None or ci.hi is None:
        return ci
    return MeanCI(ci.n, ci.mean, ci.sd, max(lo, ci.lo), min(hi, ci.hi), ci.level)


def holm(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm-adjusted p-values (None stays None and does not count as a test).

    Sorted ascending, the i-th of m p-values (0-based) becomes max over j <= i of
    min(1, (m - j) p_(j)): monotone, and p_adj < α exactly where Holm's procedure rejects.
    """
    tested = sorted((p, i) for i, p in enumerate(p_values) if p is not None)
    m = len(tested)
    out: list[float | None] = [None] * len(p_values)
    running = 0.0
    for rank, (p, i) in enumerate(tested):
        running = max(running, min(1.0, (m - rank) * p))
        out[i] = running
    return out


@dataclass(frozen=True, slots=True)
class ItemStats:
    """One item's phase means with intervals, its change, and the tests across phases."""

    item: str
    dimension: str
    early: MeanCI
    middle: MeanCI
    late: MeanCI
    change: MeanCI
    friedman: FriedmanResult
    anova: RMAnovaResult
    #: The Friedman p adjusted for the twelve items (Holm); None where the test is undefined.
    p_holm: float | None = None

    def phase(self, name: str) -> MeanCI:
        ci: MeanCI = getattr(self, name)
        return ci


def item_stats(
    item: str, dimension: str, rows: Sequence[Sequence[float]], level: float
) -> ItemStats:
    """`rows`: one (early, middle, late) triple per pair."""
    return ItemStats(
        item=item,
        dimension=dimension,
        early=bounded(mean_ci([r[0] for r in rows], level)),
        middle=bounded(mean_ci([r[1] for r in rows], level)),
        late=bounded(mean_ci([r[2] for r in rows], level)),
        change=mean_ci([r[2] - r[0] for r in rows], level),
        friedman=friedman(rows),
        anova=rm_anova(rows),
    )


def item_table(
    rows_by_item: dict[str, list[tuple[float, float, float]]], level: float
) -> tuple[ItemStats, ...]:
    """The twelve items' statistics, with Holm-adjusted Friedman p-values."""
    stats = [item_stats(item, dim, rows_by_item.get(item, []), level) for item, dim in ITEMS]
    adjusted = holm([s.friedman.p_value for s in stats])
    return tuple(replace(s, p_holm=p) for s, p in zip(stats, adjusted, strict=True))


@dataclass(frozen=True, slots=True)
class Distribution:
    """How one dimension's scores spread over the pairs in one phase."""

    dimension: str
    phase: str
    n: int
    #: Pairs per bin of `BIN_EDGES` (16 bins).
    counts: tuple[int, ...]
    #: min, first quartile, median, third quartile, max (None without pairs).
    quartiles: tuple[float, float, float, float, float] | None


def _quantile(sorted_values: Sequence[float], q: float) -> float:
    pos = q * (len(sorted_values) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def distribution(dimension: str, phase: str, values: Sequence[float]) -> Distribution:
    counts = [0] * (len(BIN_EDGES) - 1)
    for v in values:
        k = min(len(counts) - 1, max(0, math.floor((v - BIN_EDGES[0]) / 0.25 + 1e-9)))
        counts[k] += 1
    vs = sorted(values)
    quartiles = (
        (vs[0], _quantile(vs, 0.25), _quantile(vs, 0.5), _quantile(vs, 0.75), vs[-1])
        if vs
        else None
    )
    return Distribution(dimension, phase, len(vs), tuple(counts), quartiles)


def distributions(
    phases_by_pair: Sequence[dict[str, dict[str, float]]], dimensions: Sequence[str]
) -> tuple[Distribution, ...]:
    """One `Distribution` per dimension and phase, over the given pairs' phase scores."""
    return tuple(
        distribution(d, p, [ph[p][d] for ph in phases_by_pair]) for d in dimensions for p in PHASES
    )

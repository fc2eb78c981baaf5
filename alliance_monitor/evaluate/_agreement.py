"""Agreement statistics for `evaluate`, pure Python (no numpy or scipy in the library).

- `auc`: area under the ROC curve, the Mann-Whitney form (a tie counts one half), so a constant
  score gives exactly 0.5 and a score that equals a 0/1 label gives 1.
- `spearman`, `pearson`: rank and linear correlation; Spearman is Pearson on mid-ranks.
- `icc2_1`: ICC(2,1) of Shrout and Fleiss (1979), two-way random effects, absolute agreement,
  single rater (McGraw and Wong's ICC(A,1)): it asks whether the scorer and the label put a pair
  at the same level, not only in the same order, so it only makes sense when both are ratings on
  the same scale.
- `icc2_k`: ICC(2,k), the same model for the mean of k raters: how far the average of the
  labels' raters can be trusted (the paper reports its experts' ICC(2,k): Goal 0.76, Approach
  0.66, Bond 0.65). `Raters` gives both with weights, for the cluster bootstrap.
- `Bootstrap`: percentile confidence intervals by resampling *clusters* (conversations) with a
  fixed seed. Messages of one conversation are not independent, so resampling messages one by
  one would give intervals that are too narrow. Each replicate is a vector of multiplicities
  (how often each item was drawn) and every statistic has a weighted form, so a replicate costs
  one pass over the items instead of copying and re-sorting them. The scorer and the trivial
  baseline are evaluated on the same replicates, which also gives a paired interval for their
  difference.

Every statistic returns None where it is undefined on the data (one class only, zero variance,
fewer than three items), never NaN.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import accumulate, repeat
from operator import add, mul, sub

from ..study import rank_with_ties

__all__ = [
    "Bootstrap",
    "Interval",
    "Prepared",
    "Raters",
    "auc",
    "icc2_1",
    "icc2_k",
    "minus",
    "pearson",
    "percentile",
    "spearman",
]


# ---------------------------------------------------------------------- plain statistics
def auc(scores: Sequence[float], labels: Sequence[bool]) -> float | None:
    """P(score of a positive > score of a negative) + ½ P(tie)."""
    return Prepared(scores, [1.0 if y else 0.0 for y in labels]).auc(None)


def pearson(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Pearson's r; None with fewer than three items or a constant variable."""
    return Prepared(x, y).pearson(None)


def spearman(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Spearman's rho (Pearson on mid-ranks, so ties are handled)."""
    if len(x) < 3:
        return None
    return pearson(rank_with_ties(x), rank_with_ties(y))


def icc2_1(rows: Sequence[Sequence[float]]) -> float | None:
    """ICC(2,1) for n targets (rows) each rated by the same k raters (columns).

    ICC = (MSR − MSE) / (MSR + (k − 1) MSE + k (MSC − MSE) / n), with MSR the between-targets,
    MSC the between-raters and MSE the residual mean square of the two-way ANOVA.
    """
    n = len(rows)
    k = len(rows[0]) if rows else 0
    if n < 2 or k < 2:
        return None
    if any(len(r) != k for r in rows):
        raise ValueError("icc2_1: every row needs the same number of raters")
    grand = math.fsum(v for r in rows for v in r) / (n * k)
    ss_total = math.fsum((v - grand) ** 2 for r in rows for v in r)
    ss_rows = k * math.fsum((math.fsum(r) / k - grand) ** 2 for r in rows)
    ss_cols = n * math.fsum((math.fsum(r[j] for r in rows) / n - grand) ** 2 for j in range(k))
    ss_err = ss_total - ss_rows - ss_cols
    return _icc_from(n, k, ss_rows, ss_cols, ss_err)


def _icc_from(n: float, k: int, ss_rows: float, ss_cols: float, ss_err: float) -> float | None:
    if n < 2:
        return None
    msr = ss_rows / (n - 1)
    msc = ss_cols / (k - 1)
    mse = max(ss_err, 0.0) / ((n - 1) * (k - 1))
    den = msr + (k - 1) * mse + k * (msc - mse) / n
    if den <= 1e-12 * max(1.0, msr + msc + mse):
        return None  # every rating identical: agreement is undefined, not perfect
    return (msr - mse) / den


def icc2_k(rows: Sequence[Sequence[float]]) -> float | None:
    """ICC(2,k) for n targets (rows) each rated by the same k raters (columns): the
    reliability of the raters' mean. ICC = (MSR − MSE) / (MSR + (MSC − MSE) / n)."""
    return Raters(rows).icc_k(None)


def _icc_k_from(n: float, k: int, ss_rows: float, ss_cols: float, ss_err: float) -> float | None:
    if n < 2:
        return None
    msr = ss_rows / (n - 1)
    msc = ss_cols / (k - 1)
    mse = max(ss_err, 0.0) / ((n - 1) * (k - 1))
    den = msr + (msc - mse) / n
    if den <= 1e-12 * max(1.0, msr + msc + mse):
        return None
    return (msr - mse) / den


class Raters:
    """n targets rated by the same k raters, for ICC(2,1) and ICC(2,k) under item weights
    (``w=None``: every target once; a bootstrap replicate passes multiplicities)."""

    def __init__(self, rows: Sequence[Sequence[float]]) -> None:
        self.rows = [[float(v) for v in r] for r in rows]
        self.k = len(self.rows[0]) if self.rows else 0
        if any(len(r) != self.k for r in self.rows):
            raise ValueError("Raters: every row needs the same number of raters")

    def _ss(self, w: Sequence[int] | None) -> tuple[float, float, float, float] | None:
        k = self.k
        weights = [1] * len(self.rows) if w is None else list(w)
        n = float(sum(weights))
        if n < 2 or k < 2:
            return None
        total = math.fsum(wi * math.fsum(r) for wi, r in zip(weights, self.rows, strict=True))
        grand = total / (n * k)
        col = [
            math.fsum(wi * r[j] for wi, r in zip(weights, self.rows, strict=True)) / n
            for j in range(k)
        ]
        ss_total = math.fsum(
            wi * math.fsum((v - grand) ** 2 for v in r)
            for wi, r in zip(weights, self.rows, strict=True)
        )
        ss_rows = k * math.fsum(
            wi * (math.fsum(r) / k - grand) ** 2 for wi, r in zip(weights, self.rows, strict=True)
        )
        ss_cols = n * math.fsum((c - grand) ** 2 for c in col)
        return n, ss_rows, ss_cols, ss_total - ss_rows - ss_cols

    def icc_1(self, w: Sequence[int] | None) -> float | None:
        ss = self._ss(w)
        return None if ss is None else _icc_from(ss[0], self.k, ss[1], ss[2], ss[3])

    def icc_k(self, w: Sequence[int] | None) -> float | None:
        ss = self._ss(w)
        return None if ss is None else _icc_k_from(ss[0], self.k, ss[1], ss[2], ss[3])


# ---------------------------------------------------------------------- weighted forms
class _Sorted:
    """One variable sorted once, with its tie groups, so that weighted group sums and mid-ranks
    under any item multiplicities cost a few C-level passes (map, accumulate) per replicate."""

    __slots__ = ("ends", "item_group", "order")

    def __init__(self, values: Sequence[float]) -> None:
        self.order = sorted(range(len(values)), key=lambda i: values[i])
        self.ends: list[int] = []  # position (in sorted order) of each tie group's last item
        self.item_group = [0] * len(values)
        for pos, i in enumerate(self.order):
            if self.ends and values[i] == values[self.order[pos - 1]]:
                self.ends[-1] = pos
            else:
                self.ends.append(pos)
            self.item_group[i] = len(self.ends) - 1

    def cumulative_at_ends(self, sorted_weights: Iterable[float]) -> list[float]:
        acc = list(accumulate(sorted_weights))
        return list(map(acc.__getitem__, self.ends))

    def ranks(self, w: Sequence[int]) -> list[float]:
        """Mid-ranks of the expanded sample (an item drawn m times is m tied copies)."""
        ce = self.cumulative_at_ends(map(w.__getitem__, self.order))
        rank_g = [(a + b + 1) / 2 for a, b in zip([0.0, *ce[:-1]], ce, strict=True)]
        return list(map(rank_g.__getitem__, self.item_group))


Sums = tuple[float, float, float, float, float, float]


class Prepared:
    """Two paired variables (x = a scorer's output, y = the label) ready for repeated weighted
    statistics. ``w=None`` means every item once; a bootstrap replicate passes multiplicities."""

    def __init__(self, x: Sequence[float], y: Sequence[float]) -> None:
        if len(x) != len(y):
            raise ValueError("paired variables of different lengths")
        self.x = [float(v) for v in x]
        self.y = [float(v) for v in y]
        self.n = len(self.x)
        self._sx: _Sorted | None = None
        self._sy: _Sorted | None = None
        self._plain_ranks: tuple[list[float], list[float]] | None = None
        self._last_w: Sequence[int] | None = None
        self._last_sums: Sums = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0)
        self._auc: tuple[list[int], list[int], list[int], list[int], list[int]] | None = None

    def _sorted_x(self) -> _Sorted:
        if self._sx is None:
            self._sx = _Sorted(self.x)
        return self._sx

    # -- AUC
    def _auc_plan(self) -> tuple[list[int], list[int], list[int], list[int], list[int]]:
        """Positives and negatives each in score order, and for every tie group holding a
        positive: positives up to and including it, negatives below it and up to it."""
        sx = self._sorted_x()
        pos_order = [i for i in sx.order if self.y[i]]
        neg_order = [i for i in sx.order if not self.y[i]]
        n_groups = len(sx.ends)
        pos_in = [0] * n_groups
        neg_in = [0] * n_groups
        for i in range(self.n):
            g = sx.item_group[i]
            if self.y[i]:
                pos_in[g] += 1
            else:
                neg_in[g] += 1
        p_through, n_before, n_through = [], [], []
        cp = cn = 0
        for g in range(n_groups):
            before = cn
            cp += pos_in[g]
            cn += neg_in[g]
            if pos_in[g]:
                p_through.append(cp)
                n_before.append(before)
                n_through.append(cn)
        return pos_order, neg_order, p_through, n_before, n_through

    def auc(self, w: Sequence[int] | None) -> float | None:
        """AUC of x for the binary label y (y != 0 is positive)."""
        if self._auc is None:
            self._auc = self._auc_plan()
        pos_order, neg_order, p_through, n_before, n_through = self._auc
        if w is None:
            acc_p: list[float] = list(range(len(pos_order) + 1))
            acc_n: list[float] = list(range(len(neg_order) + 1))
        else:
            acc_p = [0, *accumulate(map(w.__getitem__, pos_order))]
            acc_n = [0, *accumulate(map(w.__getitem__, neg_order))]
        n_pos, n_neg = acc_p[-1], acc_n[-1]
        if not n_pos or not n_neg:
            return None
        pc = list(map(acc_p.__getitem__, p_through))
        pos_g = list(map(sub, pc, [0, *pc[:-1]]))
        # a positive in group g beats the negatives below g and ties (½) those in g:
        # Σ_g P_g · (N_before + N_through) / 2
        neg_mid = map(add, map(acc_n.__getitem__, n_before), map(acc_n.__getitem__, n_through))
        return float(0.5 * sum(map(mul, pos_g, neg_mid)) / (n_pos * n_neg))

    # -- correlations and agreement
    @staticmethod
    def _sums(a: Sequence[float], b: Sequence[float], w: Sequence[int] | None) -> Sums:
        if w is None:
            return (
                float(len(a)),
                math.fsum(a),
                math.fsum(b),
                math.fsum(map(mul, a, a)),
                math.fsum(map(mul, b, b)),
                math.fsum(map(mul, a, b)),
            )
        wa = list(map(mul, w, a))
        wb = list(map(mul, w, b))
        return (
            float(sum(w)),
            sum(wa),
            sum(wb),
            sum(map(mul, wa, a)),
            sum(map(mul, wb, b)),
            sum(map(mul, wa, b)),
        )

    @staticmethod
    def _r(sums: Sums) -> float | None:
        sw, sa, sb, saa, sbb, sab = sums
        if sw < 3:
            return None
        vaa = saa - sa * sa / sw
        vbb = sbb - sb * sb / sw
        if vaa <= 1e-12 * max(1.0, saa) or vbb <= 1e-12 * max(1.0, sbb):
            return None
        r = (sab - sa * sb / sw) / math.sqrt(vaa * vbb)
        return max(-1.0, min(1.0, r))

    def _xy_sums(self, w: Sequence[int] | None) -> Sums:
        # Pearson and ICC of one replicate share these sums: computed once per weight vector.
        if w is None or w is not self._last_w:
            self._last_w, self._last_sums = w, self._sums(self.x, self.y, w)
        return self._last_sums

    def pearson(self, w: Sequence[int] | None) -> float | None:
        return self._r(self._xy_sums(w))

    def spearman(self, w: Sequence[int] | None) -> float | None:
        if w is None:
            if self._plain_ranks is None:
                self._plain_ranks = (rank_with_ties(self.x), rank_with_ties(self.y))
            rx, ry = self._plain_ranks
        else:
            if self._sy is None:
                self._sy = _Sorted(self.y)
            rx, ry = self._sorted_x().ranks(w), self._sy.ranks(w)
        return self._r(self._sums(rx, ry, w))

    def icc(self, w: Sequence[int] | None) -> float | None:
        """ICC(2,1) of the two columns x and y (two raters of the same targets)."""
        sw, sx, sy, sxx, syy, sxy = self._xy_sums(w)
        if sw < 2:
            return None
        total = sx + sy
        corr = total * total / (2 * sw)
        ss_total = sxx + syy - corr
        ss_rows = (sxx + 2 * sxy + syy) / 2 - corr
        ss_cols = (sx * sx + sy * sy) / sw - corr
        return _icc_from(sw, 2, ss_rows, ss_cols, ss_total - ss_rows - ss_cols)


# ---------------------------------------------------------------------- bootstrap
@dataclass(frozen=True, slots=True)
class Interval:
    """A point estimate with its percentile bootstrap interval (None where undefined)."""

    value: float | None
    lo: float | None
    hi: float | None
    #: Replicates on which the statistic was defined (an AUC needs both classes drawn).
    n_defined: int


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Linear-interpolation quantile of an already sorted sequence (0 <= q <= 1)."""
    if not sorted_values:
        raise ValueError("percentile of nothing")
    pos = q * (len(sorted_values) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def minus(a: float | None, b: float | None) -> float | None:
    """a − b, None when either is undefined."""
    return a - b if a is not None and b is not None else None


Statistic = Callable[[Sequence[int] | None], float | None]


class Bootstrap:
    """Cluster bootstrap with a fixed seed: `clusters[i]` is the cluster (conversation) of item
    i, and items of one cluster must be contiguous. Every replicate draws as many clusters as
    there are, with replacement. All statistics given to one `run` are evaluated on the same
    replicates, so intervals of a scorer and a baseline (and of their difference) are paired.
    Replicates are generated one at a time (memory stays one weight vector)."""

    def __init__(
        self, clusters: Sequence[str], n_resamples: int, seed: int = 0, level: float = 0.95
    ) -> None:
        if not 0 < level < 1:
            raise ValueError("confidence level must be between 0 and 1")
        sizes: list[int] = []
        last: str | None = None
        seen: set[str] = set()
        for c in clusters:
            if sizes and c == last:
                sizes[-1] += 1
                continue
            if c in seen:
                raise ValueError("items of one cluster must be contiguous")
            seen.add(c)
            sizes.append(1)
            last = c
        self._sizes = sizes
        self.level = level
        self.seed = seed
        self.n_resamples = max(0, n_resamples)

    def run(self, stats: Sequence[Statistic]) -> list[list[float | None]]:
        """For each statistic, its value on every replicate (None where undefined)."""
        rng = random.Random(self.seed)
        k = len(self._sizes)
        clusters = range(k)
        # item -> its cluster's index (None when every cluster is one item)
        of_item = (
            None
            if all(s == 1 for s in self._sizes)
            else [c for c, size in enumerate(self._sizes) for _ in range(size)]
        )
        out: list[list[float | None]] = [[] for _ in stats]
        for _ in range(self.n_resamples):
            drawn = Counter(rng.choices(clusters, k=k))
            per_cluster = list(map(drawn.get, clusters, repeat(0)))
            w = per_cluster if of_item is None else list(map(per_cluster.__getitem__, of_item))
            for i, stat in enumerate(stats):
                out[i].append(stat(w))
        return out

    def interval(self, stat: Statistic) -> Interval:
        return self.summarise(stat(None), self.run([stat])[0])

    def paired(self, stat: Statistic, ref: Statistic) -> tuple[Interval, Interval, Interval]:
        """Intervals of `stat`, `ref` and `stat − ref` on the same replicates."""
        a, b = stat(None), ref(None)
        ra, rb = self.run([stat, ref])
        diff = list(map(minus, ra, rb))
        return self.summarise(a, ra), self.summarise(b, rb), self.summarise(minus(a, b), diff)

    def summarise(self, value: float | None, reps: Sequence[float | None]) -> Interval:
        got = sorted(v for v in reps if v is not None)
        if value is None or len(got) < 2:
            return Interval(value, None, None, len(got))
        alpha = (1 - self.level) / 2
        return Interval(value, percentile(got, alpha), percentile(got, 1 - alpha), len(got))

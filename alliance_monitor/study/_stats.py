"""Small, pure-Python statistics for the study: no numpy or scipy in the library.

What is here and why:

- `mean_ci`: a mean with a Student-t confidence interval (the phase means of the report).
- `friedman`: the Friedman test of whether the three phases differ. Every pair is rated in all
  three phases, so the phases are repeated measures of the same pairs, not independent groups
  (a one-way ANOVA or Kruskal-Wallis would be wrong). The ratings are bounded 1-5 evidence
  levels, skewed and heavily tied near 3 ("no evidence either way"), so the primary test is the
  rank-based Friedman test, which needs neither normality nor sphericity. Kendall's W is its
  effect size (0 = phases never differ in the same direction, 1 = every pair ranks them alike).
- `rm_anova`: one-way repeated-measures ANOVA with the Greenhouse-Geisser correction, reported
  alongside as the parametric check.
- The distributions behind them: the regularised incomplete gamma function (chi-square) and the
  regularised incomplete beta function (Student t, F), by the series / continued-fraction
  expansions of Numerical Recipes (2nd ed., sections 6.2 and 6.4).

Functions return None for quantities that are undefined on the data (one pair, all ties, zero
variance) rather than raising: a study of a small corpus should still be written.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "FriedmanResult",
    "MeanCI",
    "RMAnovaResult",
    "betainc",
    "chi2_sf",
    "f_sf",
    "friedman",
    "gammaincc",
    "mean_ci",
    "rank_with_ties",
    "rm_anova",
    "t_cdf",
    "t_ppf",
]

_EPS = 1e-15
_TINY = 1e-300
_MAX_ITER = 500


# ---------------------------------------------------------------------- special functions
def gammaincc(a: float, x: float) -> float:
    """Regularised upper incomplete gamma Q(a, x) = Γ(a, x) / Γ(a)."""
    if a <= 0 or x < 0:
        raise ValueError("gammaincc needs a > 0 and x >= 0")
    if x == 0:
        return 1.0
    log_front = a * math.log(x) - x - math.lgamma(a)
    if x < a + 1:  # series for P(a, x)
        term = total = 1.0 / a
        ap = a
        for _ in range(_MAX_ITER):
            ap += 1
            term *= x / ap
            total += term
            if abs(term) < abs(total) * _EPS:
                break
        return max(0.0, 1.0 - total * math.exp(log_front))
    # Continued fraction for Q(a, x) (modified Lentz).
    b = x + 1 - a
    c = 1 / _TINY
    d = 1 / b
    h = d
    for i in range(1, _MAX_ITER):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = _TINY if abs(d) < _TINY else d
        c = b + an / c
        c = _TINY if abs(c) < _TINY else c
        d = 1 / d
        delta = d * c
        h *= delta
        if abs(delta - 1) < _EPS:
            break
    return min(1.0, math.exp(log_front) * h)


def _betacf(a: float, b: float, x: float) -> float:
    qab, qap, qam = a + b, a + 1, a - 1
    c = 1.0
    d = 1 - qab * x / qap
    d = _TINY if abs(d) < _TINY else d
    d = 1 / d
    h = d
    for m in range(1, _MAX_ITER):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1 + aa * d
        d = _TINY if abs(d) < _TINY else d
        c = 1 + aa / c
        c = _TINY if abs(c) < _TINY else c
        d = 1 / d
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1 + aa * d
        d = _TINY if abs(d) < _TINY else d
        c = 1 + aa / c
        c = _TINY if abs(c) < _TINY else c
        d = 1 / d
        delta = d * c
        h *= delta
        if abs(delta - 1) < _EPS:
            break
    return h


def betainc(a: float, b: float, x: float) -> float:
    """Regularised incomplete beta I_x(a, b)."""
    if a <= 0 or b <= 0 or not 0 <= x <= 1:
        raise ValueError("betainc needs a, b > 0 and 0 <= x <= 1")
    if x in (0.0, 1.0):
        return x
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x < (a + 1) / (a + b + 2):
        return math.exp(log_front) * _betacf(a, b, x) / a
    return 1 - math.exp(log_front) * _betacf(b, a, 1 - x) / b


def chi2_sf(x: float, df: float) -> float:
    """P(X >= x) for a chi-square variable with `df` degrees of freedom."""
    return 1.0 if x <= 0 else gammaincc(df / 2, x / 2)


def f_sf(f: float, df1: float, df2: float) -> float:
    """P(X >= f) for an F(df1, df2) variable."""
    return 1.0 if f <= 0 else betainc(df2 / 2, df1 / 2, df2 / (df2 + df1 * f))


def t_cdf(t: float, df: float) -> float:
    """P(X <= t) for Student's t with `df` degrees of freedom."""
    tail = 0.5 * betainc(df / 2, 0.5, df / (df + t * t))
    return 1 - tail if t >= 0 else tail


def t_ppf(p: float, df: float) -> float:
    """Quantile of Student's t (bisection on `t_cdf`; accurate to ~1e-12)."""
    if not 0 < p < 1:
        raise ValueError("t_ppf needs 0 < p < 1")
    if p < 0.5:
        return -t_ppf(1 - p, df)
    lo, hi = 0.0, 1.0
    while t_cdf(hi, df) < p:
        hi *= 2
    for _ in range(200):
        mid = (lo + hi) / 2
        if t_cdf(mid, df) < p:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-13 * max(1.0, hi):
            break
    return (lo + hi) / 2


# ---------------------------------------------------------------------- estimates and tests
@dataclass(frozen=True, slots=True)
class MeanCI:
    """A mean with its Student-t confidence interval (None where undefined)."""

    n: int
    mean: float | None
    sd: float | None
    lo: float | None
    hi: float | None
    level: float = 0.95


def mean_ci(values: Sequence[float], level: float = 0.95) -> MeanCI:
    """Mean ± t(1 - α/2, n - 1) · sd / √n."""
    n = len(values)
    if n == 0:
        return MeanCI(0, None, None, None, None, level)
    mean = math.fsum(values) / n
    if n == 1:
        return MeanCI(1, mean, None, None, None, level)
    sd = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / (n - 1))
    half = t_ppf(1 - (1 - level) / 2, n - 1) * sd / math.sqrt(n)
    return MeanCI(n, mean, sd, mean - half, mean + half, level)


def rank_with_ties(values: Sequence[float]) -> list[float]:
    """Ranks 1..k, ties get the mean of the ranks they span."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for idx in order[i : j + 1]:
            ranks[idx] = (i + j) / 2 + 1
        i = j + 1
    return ranks


@dataclass(frozen=True, slots=True)
class FriedmanResult:
    """Friedman's chi-square (tie-corrected), its p-value, and Kendall's W."""

    n: int
    k: int
    statistic: float | None
    df: int
    p_value: float | None
    kendall_w: float | None
    mean_ranks: tuple[float, ...]


def friedman(rows: Sequence[Sequence[float]]) -> FriedmanResult:
    """Friedman test over `rows` (one row per pair, one column per phase).

    Q = [12 / (n k (k+1)) · Σ R_j² − 3 n (k+1)] / C, with the tie correction
    C = 1 − Σ (t³ − t) / (n k (k² − 1)); Q ~ χ²(k − 1). W = Q / (n (k − 1)).
    """
    n = len(rows)
    k = len(rows[0]) if rows else 0
    if n < 2 or k < 2:
        return FriedmanResult(n, k, None, max(k - 1, 0), None, None, ())
    sums = [0.0] * k
    ties = 0.0
    for row in rows:
        if len(row) != k:
            raise ValueError("friedman: every row needs the same number of phases")
        for j, r in enumerate(rank_with_ties(row)):
            sums[j] += r
        for v in set(row):
            t = sum(1 for x in row if x == v)
            ties += t**3 - t
    mean_ranks = tuple(s / n for s in sums)
    c = 1 - ties / (n * k * (k * k - 1))
    if c <= 1e-12:  # every pair tied across all phases: no evidence of any ordering
        return FriedmanResult(n, k, None, k - 1, None, None, mean_ranks)
    q = (12 / (n * k * (k + 1)) * math.fsum(s * s for s in sums) - 3 * n * (k + 1)) / c
    q = max(q, 0.0)
    return FriedmanResult(n, k, q, k - 1, chi2_sf(q, k - 1), q / (n * (k - 1)), mean_ranks)


@dataclass(frozen=True, slots=True)
class RMAnovaResult:
    """One-way repeated-measures ANOVA, with the Greenhouse-Geisser correction."""

    n: int
    k: int
    f: float | None
    df1: float
    df2: float
    p_value: float | None
    epsilon_gg: float | None
    p_gg: float | None
    partial_eta_sq: float | None


def rm_anova(rows: Sequence[Sequence[float]]) -> RMAnovaResult:
    """F = MS_phase / MS_error, with SS_error = SS_total − SS_phase − SS_pairs.

    Greenhouse-Geisser ε = tr(S̃)² / ((k − 1) tr(S̃²)), S̃ the double-centred covariance matrix
    of the phases; the corrected test uses df ε(k − 1), ε(k − 1)(n − 1).
    """
    n = len(rows)
    k = len(rows[0]) if rows else 0
    df1, df2 = float(k - 1), float((k - 1) * (n - 1))
    if n < 2 or k < 2:
        return RMAnovaResult(n, k, None, df1, df2, None, None, None, None)
    grand = math.fsum(v for r in rows for v in r) / (n * k)
    col = [math.fsum(r[j] for r in rows) / n for j in range(k)]
    ss_total = math.fsum((v - grand) ** 2 for r in rows for v in r)
    ss_phase = n * math.fsum((m - grand) ** 2 for m in col)
    ss_pairs = k * math.fsum((math.fsum(r) / k - grand) ** 2 for r in rows)
    ss_error = max(ss_total - ss_phase - ss_pairs, 0.0)
    eps = _gg_epsilon(rows, col)
    if ss_error <= 1e-12 * max(ss_total, 1.0):
        return RMAnovaResult(n, k, None, df1, df2, None, eps, None, None)
    f = (ss_phase / df1) / (ss_error / df2)
    p_gg = f_sf(f, eps * df1, eps * df2) if eps is not None else None
    return RMAnovaResult(
        n, k, f, df1, df2, f_sf(f, df1, df2), eps, p_gg, ss_phase / (ss_phase + ss_error)
    )


def _gg_epsilon(rows: Sequence[Sequence[float]], col: Sequence[float]) -> float | None:
    n, k = len(rows), len(col)
    cov = [
        [math.fsum((r[i] - col[i]) * (r[j] - col[j]) for r in rows) / (n - 1) for j in range(k)]
        for i in range(k)
    ]
    row_mean = [math.fsum(c) / k for c in cov]
    all_mean = math.fsum(row_mean) / k
    dc = [[cov[i][j] - row_mean[i] - row_mean[j] + all_mean for j in range(k)] for i in range(k)]
    trace = math.fsum(dc[i][i] for i in range(k))
    trace_sq = math.fsum(dc[i][j] * dc[j][i] for i in range(k) for j in range(k))
    if trace_sq <= 1e-15:
        return None
    return min(1.0, max(1 / (k - 1), trace * trace / ((k - 1) * trace_sq)))

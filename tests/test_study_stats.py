"""The study's statistics against values worked out by hand (closed forms and textbook tables)."""

from __future__ import annotations

import math

import pytest

from alliance_monitor.study._stats import (
    betainc,
    chi2_sf,
    f_sf,
    friedman,
    gammaincc,
    mean_ci,
    rank_with_ties,
    rm_anova,
    t_cdf,
    t_ppf,
)

# ---------------------------------------------------------------------- special functions


@pytest.mark.parametrize("x", [0.0, 0.1, 0.37, 0.5, 0.9, 1.0])
def test_betainc_closed_forms(x: float) -> None:
    assert betainc(1, 1, x) == pytest.approx(x, abs=1e-14)  # uniform
    assert betainc(3, 1, x) == pytest.approx(x**3, abs=1e-13)  # I_x(a, 1) = x^a
    assert betainc(1, 4, x) == pytest.approx(1 - (1 - x) ** 4, abs=1e-13)  # 1 - (1-x)^b
    # Symmetry: I_x(a, b) = 1 - I_{1-x}(b, a)
    assert betainc(2.5, 7.0, x) == pytest.approx(1 - betainc(7.0, 2.5, 1 - x), abs=1e-13)


@pytest.mark.parametrize("x", [0.0, 0.3, 1.0, 2.5, 10.0, 40.0])
def test_gammaincc_closed_forms(x: float) -> None:
    assert gammaincc(1, x) == pytest.approx(math.exp(-x), rel=1e-12, abs=1e-300)
    # Q(2, x) = (1 + x) e^-x
    assert gammaincc(2, x) == pytest.approx((1 + x) * math.exp(-x), rel=1e-12, abs=1e-300)


def test_chi_square_tail() -> None:
    # df = 2 is the exponential: P(X >= x) = e^(-x/2), exactly.
    for x in (0.5, 4.5, 13.0):
        assert chi2_sf(x, 2) == pytest.approx(math.exp(-x / 2), rel=1e-12)
    # Table critical values at alpha = 0.05.
    assert chi2_sf(3.841458820694124, 1) == pytest.approx(0.05, abs=1e-9)
    assert chi2_sf(5.991464547107979, 2) == pytest.approx(0.05, abs=1e-9)
    assert chi2_sf(9.487729036781154, 4) == pytest.approx(0.05, abs=1e-9)
    assert chi2_sf(0.0, 3) == 1.0


def test_f_tail() -> None:
    # df1 = 2: P(F >= f) = (1 + 2 f / df2)^(-df2 / 2), exactly.
    for f, d2 in ((3.857142857142857, 6), (1.0, 10), (7.5, 3)):
        assert f_sf(f, 2, d2) == pytest.approx((1 + 2 * f / d2) ** (-d2 / 2), rel=1e-12)
    # Table: F(0.95; 3, 20) = 3.098
    assert f_sf(3.098391212, 3, 20) == pytest.approx(0.05, abs=1e-6)


def test_student_t() -> None:
    # df = 1 is Cauchy: t_p = tan(pi (p - 1/2)).
    assert t_ppf(0.975, 1) == pytest.approx(math.tan(math.pi * 0.475), rel=1e-10)
    # df = 2: t_p = (2p - 1) / sqrt(2 p (1 - p)).
    p = 0.975
    assert t_ppf(p, 2) == pytest.approx((2 * p - 1) / math.sqrt(2 * p * (1 - p)), rel=1e-10)
    # Textbook table, three decimals.
    assert t_ppf(0.975, 3) == pytest.approx(3.182, abs=5e-4)
    assert t_ppf(0.975, 10) == pytest.approx(2.228, abs=5e-4)
    assert t_ppf(0.995, 30) == pytest.approx(2.750, abs=5e-4)
    assert t_ppf(0.025, 10) == pytest.approx(-2.228, abs=5e-4)
    assert t_cdf(0.0, 7) == pytest.approx(0.5)


# ---------------------------------------------------------------------- estimates


def test_mean_ci_by_hand() -> None:
    ci = mean_ci([2.0, 3.0, 4.0])
    # mean 3, sd 1, se 1/sqrt(3); t(0.975, 2) = 0.95 / sqrt(2 * 0.975 * 0.025) = 4.30265
    half = 0.95 / math.sqrt(2 * 0.975 * 0.025) / math.sqrt(3)
    assert (ci.n, ci.mean, ci.sd) == (3, 3.0, 1.0)
    assert ci.lo == pytest.approx(3 - half, rel=1e-10)
    assert ci.hi == pytest.approx(3 + half, rel=1e-10)
    assert ci.hi is not None and ci.lo is not None
    assert ci.hi - ci.lo == pytest.approx(2 * 2.484138, abs=1e-5)


def test_mean_ci_degenerate() -> None:
    assert mean_ci([]).mean is None
    one = mean_ci([3.5])
    assert (one.mean, one.lo, one.hi) == (3.5, None, None)
    flat = mean_ci([3.0, 3.0, 3.0])
    assert (flat.lo, flat.hi) == (3.0, 3.0)


def test_ranks_with_ties() -> None:
    assert rank_with_ties([3.0, 1.0, 2.0]) == [3.0, 1.0, 2.0]
    assert rank_with_ties([3.0, 3.0, 4.0]) == [1.5, 1.5, 3.0]
    assert rank_with_ties([2.0, 2.0, 2.0]) == [2.0, 2.0, 2.0]


# ---------------------------------------------------------------------- tests across phases
ROWS = [[1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [1.0, 3.0, 2.0], [2.0, 1.0, 3.0]]


def test_friedman_by_hand() -> None:
    # Ranks are the values themselves; R = (5, 8, 11).
    # Q = 12 / (n k (k+1)) * sum R^2 - 3 n (k+1) = 12/48 * 210 - 48 = 4.5; p = e^(-2.25).
    r = friedman(ROWS)
    assert r.statistic == pytest.approx(4.5)
    assert r.df == 2
    assert r.p_value == pytest.approx(math.exp(-2.25), rel=1e-12)
    assert r.kendall_w == pytest.approx(4.5 / (4 * 2))
    assert r.mean_ranks == pytest.approx((1.25, 2.0, 2.75))


def test_friedman_tie_correction_by_hand() -> None:
    # Ranks (1,2,3), (1,2,3), (1.5,1.5,3): R = (3.5, 5.5, 9), sum R^2 = 123.5.
    # Uncorrected: 123.5/3 - 36 = 31/6. Ties: one pair of 2 -> sum(t^3 - t) = 6;
    # C = 1 - 6 / (3 * 3 * 8) = 11/12. Q = 31/6 * 12/11 = 62/11.
    r = friedman([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [3.0, 3.0, 4.0]])
    assert r.statistic == pytest.approx(62 / 11, rel=1e-12)
    assert r.p_value == pytest.approx(math.exp(-31 / 11), rel=1e-12)
    assert r.kendall_w == pytest.approx(31 / 33, rel=1e-12)


def test_friedman_undefined_cases() -> None:
    assert friedman([[3.0, 3.0, 3.0], [2.0, 2.0, 2.0]]).statistic is None  # every pair tied
    assert friedman([[1.0, 2.0, 3.0]]).p_value is None  # one pair
    assert friedman([]).statistic is None
    with pytest.raises(ValueError):
        friedman([[1.0, 2.0, 3.0], [1.0, 2.0]])


def test_rm_anova_by_hand() -> None:
    # Grand mean 2; phase means 1.25, 2, 2.75 -> SS_phase = 4 * 1.125 = 4.5.
    # Every pair's mean is 2 -> SS_pairs = 0. SS_total = 8 -> SS_error = 3.5.
    # F = (4.5 / 2) / (3.5 / 6) = 27/7; p = (1 + 2F/6)^-3 = (16/7)^-3 = 343/4096.
    r = rm_anova(ROWS)
    assert r.f == pytest.approx(27 / 7, rel=1e-12)
    assert (r.df1, r.df2) == (2.0, 6.0)
    assert r.p_value == pytest.approx(343 / 4096, rel=1e-10)
    assert r.partial_eta_sq == pytest.approx(4.5 / 8)
    # Covariance of the phases (n - 1 = 3): diag (1/4, 2/3, 1/4), off-diagonal -1/3, 1/12, -1/3.
    # Rows sum to 0, so double-centring leaves it unchanged: tr = 7/6, tr(S^2) = 37/36,
    # epsilon = (7/6)^2 / (2 * 37/36) = 49/74.
    assert r.epsilon_gg == pytest.approx(49 / 74, rel=1e-12)
    assert r.p_gg is not None and r.p_value is not None
    assert r.p_gg > r.p_value  # the correction is conservative


def test_rm_anova_undefined_cases() -> None:
    # No residual variance (every pair moves by the same amount): F undefined, not infinite.
    r = rm_anova([[1.0, 2.0, 3.0], [2.0, 3.0, 4.0]])
    assert r.f is None and r.p_value is None
    assert rm_anova([[1.0, 2.0, 3.0]]).f is None

"""`evaluate`'s agreement statistics against hand-computed values, a textbook table, brute
force, and the identity "weighted by multiplicities = computed on the expanded sample"."""

from __future__ import annotations

import math
import random

import pytest

from alliance_monitor.evaluate import auc, icc2_1, pearson, spearman
from alliance_monitor.evaluate._agreement import Bootstrap, Prepared, percentile

X5 = [1.0, 2.0, 3.0, 4.0, 5.0]
Y5 = [2.0, 4.0, 5.0, 4.0, 5.0]


def brute_auc(scores: list[float], labels: list[bool]) -> float:
    pos = [s for s, y in zip(scores, labels, strict=True) if y]
    neg = [s for s, y in zip(scores, labels, strict=True) if not y]
    wins = sum(1.0 if p > q else 0.5 if p == q else 0.0 for p in pos for q in neg)
    return wins / (len(pos) * len(neg))


# ---------------------------------------------------------------------- AUC
def test_auc_hand_computed() -> None:
    assert auc([1, 2, 3, 4], [False, False, True, True]) == 1.0
    assert auc([4, 3, 2, 1], [False, False, True, True]) == 0.0
    # pairs (pos, neg): (2,1) win, (2,3) loss, (4,1) win, (4,3) win -> 3/4
    assert auc([1, 2, 3, 4], [False, True, False, True]) == 0.75
    # a tie counts one half: (2 vs 2) = 0.5, (2 vs 1) = 1 -> 0.75
    assert auc([1, 2, 2], [False, False, True]) == 0.75


def test_auc_constant_is_one_half_and_one_class_is_undefined() -> None:
    assert auc([3.0] * 6, [True, False, True, False, False, True]) == 0.5
    assert auc([1.0, 2.0, 3.0], [True, True, True]) is None
    assert auc([], []) is None


def test_auc_equals_brute_force_with_ties() -> None:
    rng = random.Random(7)
    for _ in range(30):
        n = rng.randint(2, 40)
        scores = [float(rng.randint(0, 5)) for _ in range(n)]
        labels = [rng.random() < 0.4 for _ in range(n)]
        if all(labels) or not any(labels):
            continue
        assert auc(scores, labels) == pytest.approx(brute_auc(scores, labels), abs=1e-12)


# ---------------------------------------------------------------------- correlations
def test_pearson_and_spearman_hand_computed() -> None:
    # deviations x: -2 -1 0 1 2, y: -2 0 1 0 1 -> Σxy 6, Σx² 10, Σy² 6 -> 6 / √60
    assert pearson(X5, Y5) == pytest.approx(6 / math.sqrt(60), abs=1e-12)
    # y mid-ranks 1, 2.5, 4.5, 2.5, 4.5 -> Σ 7, Σ 9 -> 7 / √90
    assert spearman(X5, Y5) == pytest.approx(7 / math.sqrt(90), abs=1e-12)
    assert spearman(X5, [10, 20, 30, 40, 1000]) == pytest.approx(1.0)
    assert pearson(X5, [-v for v in X5]) == pytest.approx(-1.0)


def test_correlation_undefined_for_constant_or_tiny_samples() -> None:
    assert pearson(X5, [3.0] * 5) is None
    assert spearman([3.0] * 5, X5) is None
    assert pearson([1.0, 2.0], [1.0, 2.0]) is None


# ---------------------------------------------------------------------- ICC(2,1)
def test_icc_shrout_fleiss_table() -> None:
    # Shrout & Fleiss (1979), Table 2: 6 targets, 4 judges; ICC(2,1) = .29
    rows = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]]
    got = icc2_1(rows)
    assert got is not None and round(got, 2) == 0.29


def test_icc_absolute_agreement_cases() -> None:
    assert icc2_1([[v, v] for v in X5]) == pytest.approx(1.0)
    # y = x + 1: MSR 5, MSC 2.5, MSE 0 -> 5 / (5 + 2 · 2.5 / 5) = 5/6, while Pearson stays 1
    assert icc2_1([[v, v + 1] for v in X5]) == pytest.approx(5 / 6)
    # a constant rater against a varying one: MSR = MSE, so exactly 0
    assert icc2_1([[3.0, v] for v in X5]) == pytest.approx(0.0, abs=1e-12)
    assert icc2_1([[3.0, 3.0]] * 4) is None
    assert Prepared([v for v in X5], [v + 1 for v in X5]).icc(None) == pytest.approx(5 / 6)


# ---------------------------------------------------------------------- weighted = expanded
def _expand(values: list[float], w: list[int]) -> list[float]:
    return [v for v, k in zip(values, w, strict=True) for _ in range(k)]


@pytest.mark.parametrize("seed", range(8))
def test_weighted_statistics_equal_the_expanded_sample(seed: int) -> None:
    rng = random.Random(seed)
    n = rng.randint(5, 30)
    x = [float(rng.randint(1, 5)) for _ in range(n)]
    y = [float(rng.randint(1, 5)) for _ in range(n)]
    yb = [float(rng.random() < 0.5) for _ in range(n)]
    w = [rng.choice([0, 0, 1, 1, 2, 3]) for _ in range(n)]
    ex, ey, eyb = _expand(x, w), _expand(y, w), _expand(yb, w)
    p = Prepared(x, y)
    for got, want in (
        (p.pearson(w), pearson(ex, ey)),
        (p.spearman(w), spearman(ex, ey)),
        (p.icc(w), icc2_1([[a, b] for a, b in zip(ex, ey, strict=True)])),
        (Prepared(x, yb).auc(w), auc(ex, [bool(v) for v in eyb])),
    ):
        if want is None:
            assert got is None
        else:
            assert got == pytest.approx(want, abs=1e-9)


# ---------------------------------------------------------------------- bootstrap
def test_percentile_interpolates() -> None:
    assert percentile([0.0, 10.0], 0.25) == 2.5
    assert percentile([1.0, 2.0, 3.0], 0.5) == 2.0
    assert percentile([5.0], 0.9) == 5.0


def test_bootstrap_is_seeded_and_brackets_the_estimate() -> None:
    rng = random.Random(3)
    clusters = [f"c{i // 4}" for i in range(200)]
    x = [rng.gauss(0, 1) for _ in range(200)]
    y = [a + rng.gauss(0, 1) for a in x]
    p = Prepared(x, y)
    a = Bootstrap(clusters, 300, seed=1).interval(p.pearson)
    b = Bootstrap(clusters, 300, seed=1).interval(p.pearson)
    c = Bootstrap(clusters, 300, seed=2).interval(p.pearson)
    assert a == b and a != c
    assert a.value is not None and a.lo is not None and a.hi is not None
    assert a.lo < a.value < a.hi and a.n_defined == 300
    s, r, d = Bootstrap(clusters, 300, seed=1).paired(p.pearson, p.pearson)
    assert s == r and d.value == 0 and d.lo == 0 and d.hi == 0


def test_bootstrap_resamples_clusters_not_items() -> None:
    # Two clusters, perfectly separated: every replicate draws whole clusters, so a replicate
    # holding only one cluster has one class and the AUC is undefined there.
    clusters = ["a"] * 5 + ["b"] * 5
    p = Prepared(list(range(10)), [0.0] * 5 + [1.0] * 5)
    iv = Bootstrap(clusters, 200, seed=0).interval(p.auc)
    assert iv.value == 1.0 and 0 < iv.n_defined < 200
    with pytest.raises(ValueError, match="contiguous"):
        Bootstrap(["a", "b", "a"], 10)


def test_no_bootstrap_gives_no_interval() -> None:
    iv = Bootstrap(["a", "b", "c"], 0).interval(Prepared(X5[:3], Y5[:3]).pearson)
    assert iv.lo is None and iv.hi is None and iv.value is not None

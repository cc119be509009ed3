"""Correlations and their intervals on data worked by hand (frontend/relation_stats.py)."""

from __future__ import annotations

import numpy as np
import pytest

from frontend.relation_stats import (
    MIN_N,
    correlate,
    excludes_zero,
    fisher_interval,
    pearson,
    ranks,
    spearman,
    strongest,
)

# Worked on paper: x = 1..5, y = 2 4 5 4 5. Means 3 and 4; dx = -2 -1 0 1 2, dy = -2 0 1 0 1;
# Sxy = 6, Sxx = 10, Syy = 6, r = 6 / sqrt(60) = 0.774597. Fisher: z = atanh(r) = 1.031718,
# se = 1 / sqrt(5 - 3) = 0.707107, z -+ 1.959964 se = -0.354186, 2.417622 -> tanh: -0.340082,
# 0.984236. Ranks of y (ties averaged): 1 2.5 4.5 2.5 4.5, centred -2 -0.5 1.5 -0.5 1.5:
# S = 7, Syy = 9, rho = 7 / sqrt(90) = 0.737865; Bonett-Wright se = sqrt((1 + rho^2/2) / 2)
# = 0.797564, atanh(rho) = 0.945786 -+ 1.563199 -> tanh: -0.549332, 0.986851.
X = [1, 2, 3, 4, 5]
Y = [2, 4, 5, 4, 5]


def test_five_points_by_hand() -> None:
    out = correlate(X, Y)
    assert out["n"] == 5 and not out["enough"]
    assert out["pearson"] == pytest.approx(0.774597, abs=1e-6)
    assert out["pearson_interval"] == pytest.approx((-0.340082, 0.984236), abs=1e-6)
    assert out["spearman"] == pytest.approx(0.737865, abs=1e-6)
    assert out["spearman_interval"] == pytest.approx((-0.549332, 0.986851), abs=1e-6)
    assert not excludes_zero(out["pearson_interval"])


def test_ranks_average_ties() -> None:
    assert ranks(Y).tolist() == [1, 2.5, 4.5, 2.5, 4.5]
    assert ranks([3.0, 1.0, 2.0]).tolist() == [3, 1, 2]


def test_pearson_matches_numpy_corrcoef() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=30)
    y = 0.5 * x + rng.normal(size=30)
    assert pearson(x, y) == pytest.approx(np.corrcoef(x, y)[0, 1])
    assert spearman(x, y) == pytest.approx(np.corrcoef(ranks(x), ranks(y))[0, 1])


def test_undefined_cases() -> None:
    assert pearson([1, 2], [2, 1]) is None  # too few pairs
    assert pearson([1, 1, 1, 1], [1, 2, 3, 4]) is None  # a constant side
    assert fisher_interval(0.5, 3) is None  # n - 3 = 0
    assert fisher_interval(None, 10) is None
    assert fisher_interval(-1.0, 6) == (-1.0, -1.0)
    with pytest.raises(ValueError, match="pair up"):
        pearson([1, 2, 3], [1, 2])


def test_fisher_interval_textbook() -> None:
    # r = 0.5, n = 28: z = 0.549306, se = 0.2, z -+ 0.391993 -> tanh: 0.156028, 0.735818
    assert fisher_interval(0.5, 28) == pytest.approx((0.156028, 0.735818), abs=1e-6)


def test_strongest_needs_an_interval_clear_of_zero() -> None:
    weak = [correlate(X, Y), {**correlate(X, Y), "pearson": -0.9}]  # both intervals span 0
    assert strongest(weak) is None
    x = np.arange(MIN_N, dtype=float)
    clear = correlate(x, -x + 0.1 * np.sin(x))  # r near -1, n = MIN_N
    assert clear["enough"] and excludes_zero(clear["pearson_interval"])
    assert strongest([*weak, clear]) is clear

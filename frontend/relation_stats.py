"""Correlation across sweep cells with 95% intervals (numpy only; no scipy, no torch).

Pearson's r with Fisher's interval: z = atanh(r) is about normal with standard error
1 / sqrt(n - 3), so the interval is tanh(z -+ 1.96 / sqrt(n - 3)). Spearman's rho (Pearson's r
of the ranks, ties given their mean rank) with the Fisher interval of Bonett & Wright (2000),
whose standard error sqrt((1 + rho^2 / 2) / (n - 3)) widens for rank correlations. Both need
n >= 4; below MIN_N cells the page warns that the interval is wide and the estimate fragile.
A layer is called the strongest only when its interval excludes zero.
"""

from __future__ import annotations

import math

import numpy as np

Z95 = 1.959964  # two-sided 95% normal quantile
MIN_N = 8  # fewer cells than this: the page warns


def ranks(values) -> np.ndarray:
    """Ranks 1..n of ``values``, ties given the mean of their ranks."""
    _, inverse, counts = np.unique(
        np.asarray(values, dtype=float), return_inverse=True, return_counts=True
    )
    ends = np.cumsum(counts)
    return ((ends - counts + 1 + ends) / 2)[inverse]


def pearson(x, y) -> float | None:
    """Pearson's r of paired values; None with fewer than 3 pairs or a constant side."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} values and y {len(y)}: they must pair up")
    if len(x) < 3:
        return None
    dx, dy = x - x.mean(), y - y.mean()
    denominator = math.sqrt(float((dx * dx).sum() * (dy * dy).sum()))
    if denominator <= 1e-15:
        return None
    return max(-1.0, min(1.0, float((dx * dy).sum() / denominator)))


def spearman(x, y) -> float | None:
    """Spearman's rho: Pearson's r of the average ranks."""
    if len(x) < 3:
        return None
    return pearson(ranks(x), ranks(y))


def fisher_interval(
    r: float | None, n: int, variance_factor: float = 1.0, z: float = Z95
) -> tuple[float, float] | None:
    """tanh(atanh(r) -+ z sqrt(variance_factor / (n - 3))); None for no r or n < 4; (r, r) for
    |r| = 1 (Fisher's z is infinite there)."""
    if r is None or n < 4:
        return None
    if abs(r) >= 1:
        return (r, r)
    half = z * math.sqrt(variance_factor / (n - 3))
    centre = math.atanh(r)
    return (math.tanh(centre - half), math.tanh(centre + half))


def correlate(x, y) -> dict:
    """n, Pearson's r and Spearman's rho of the pairs, each with its 95% interval (module
    docstring), and whether n reaches MIN_N."""
    n = len(x)
    r, rho = pearson(x, y), spearman(x, y)
    rho_factor = 1 + rho * rho / 2 if rho is not None else 1.0
    return {
        "n": n,
        "pearson": r,
        "pearson_interval": fisher_interval(r, n),
        "spearman": rho,
        "spearman_interval": fisher_interval(rho, n, rho_factor),
        "enough": n >= MIN_N,
    }


def excludes_zero(interval: tuple[float, float] | None) -> bool:
    return interval is not None and (interval[0] > 0 or interval[1] < 0)


def strongest(rows: list[dict], method: str = "pearson") -> dict | None:
    """Of ``correlate`` results (one per layer), the one with the largest |r| among those whose
    interval excludes zero; None when no interval does."""
    clear = [row for row in rows if excludes_zero(row.get(f"{method}_interval"))]
    return max(clear, key=lambda row: abs(row[method]), default=None)

"""TwoNN intrinsic dimension (Facco et al. 2017), pure numpy, float64.

On the distinct points: ratios mu = r2/r1 of the two nearest-neighbour distances (points with
r1 = 0 dropped); the dimension is the slope of the least-squares line through the origin of
-log(1 - F(mu)) vs log(mu), F(mu_(i)) = i/n, the largest 10% of mu discarded.
"""

from __future__ import annotations

import math

import numpy as np

TWONN_DISCARD_FRACTION = 0.1
_CHUNK_ELEMENTS = 1 << 23  # rows x N elements per block of pairwise distances (64 MiB)
_EXACT_CANDIDATES = 4  # neighbour candidates whose distances are recomputed exactly


def _distinct_rows(X: np.ndarray) -> np.ndarray:
    """Sorted indices of the first occurrence of each distinct row."""
    return np.sort(np.unique(X, axis=0, return_index=True)[1])


def twonn_ratios(X: np.ndarray, gram: np.ndarray | None = None) -> np.ndarray:
    """mu = r2 / r1 for each distinct row of X (n, d) whose nearest distance r1 is > 0.

    ``gram`` (optional) is any Gram matrix of the (translated) rows of X, reused to find neighbour
    candidates; the two nearest distances are then recomputed exactly from the points.
    """
    X = np.asarray(X, dtype=np.float64)
    keep = _distinct_rows(X)
    n = keep.size
    if n < 3:
        return np.empty(0)
    Y = X[keep] - X[keep].mean(axis=0)
    G = gram[np.ix_(keep, keep)] if gram is not None else None
    sq = np.diag(G).copy() if G is not None else np.einsum("ij,ij->i", Y, Y)
    n_cand = min(_EXACT_CANDIDATES, n - 1)
    chunk = max(1, _CHUNK_ELEMENTS // n)
    r = np.empty((n, 2))
    for start in range(0, n, chunk):
        rows = np.arange(start, min(start + chunk, n))
        block = G[rows] if G is not None else Y[rows] @ Y.T
        d2 = sq[rows, None] + sq[None, :] - 2.0 * block
        d2[np.arange(rows.size), rows] = np.inf
        cand = np.argpartition(d2, n_cand - 1, axis=1)[:, :n_cand]
        exact = np.linalg.norm(Y[cand] - Y[rows, None, :], axis=2)
        r[rows] = np.sort(exact, axis=1)[:, :2]
    valid = r[:, 0] > 0
    return r[valid, 1] / r[valid, 0]


def twonn_fit(mu: np.ndarray, discard_fraction: float = TWONN_DISCARD_FRACTION) -> np.ndarray:
    """TwoNN dimension from ratios mu (..., n): slope through the origin of -log(1-F) vs log(mu).

    Accepts a batch of samples along leading axes; returns NaN where the fit is undefined.
    """
    mu = np.sort(np.asarray(mu, dtype=np.float64), axis=-1)
    n = mu.shape[-1]
    keep = min(int(math.floor(n * (1.0 - discard_fraction))), n - 1)
    if keep < 2:
        return np.full(mu.shape[:-1], math.nan)
    x = np.log(mu[..., :keep])
    y = -np.log1p(-np.arange(1, keep + 1) / n)
    sxx = (x * x).sum(axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(sxx > 0, (x @ y) / sxx, math.nan)


def intrinsic_dim_twonn(X: np.ndarray) -> float:
    """TwoNN intrinsic dimension of the rows of X (n, d); NaN for fewer than 3 distinct points."""
    return float(twonn_fit(twonn_ratios(X)))

"""Bootstrap over prompts for FlowLens spectra: resamples, their spectra, percentile intervals.

Prompts are resampled with replacement (a seeded ``numpy.random.Generator``); a resample is given
by its counts w (how often each prompt was drawn), so no rows are copied. The spectrum of a
resample comes from the weighted Gram / covariance of the original points (exactly the spectrum
of ``np.cov(X[idx])``). Intervals are 95% percentile intervals. Caveat: a resample holds only
~0.63 N distinct points, so where d is not small against N, shape metrics of the spectrum
(effective_rank above all) are biased in the resamples and the interval can exclude the point
estimate.
"""

from __future__ import annotations

import numpy as np

from worker.science.pca import Points, descending

CI_LEVEL = 0.95


def resample_counts(n: int, n_bootstrap: int, rng: np.random.Generator) -> np.ndarray:
    """Counts (n_bootstrap, n) of ``n_bootstrap`` resamples of n prompts with replacement."""
    return np.stack([np.bincount(rng.integers(0, n, n), minlength=n) for _ in range(n_bootstrap)])


def resampled_eigenvalues(pts: Points, w: np.ndarray) -> np.ndarray:
    """Eigenvalues of np.cov(X[idx]) for a resample given by its counts w (n,), no row copies."""
    n = w.size
    s = np.flatnonzero(w)
    if pts.use_gram:
        ws = w[s].astype(np.float64)
        G = pts.gram[np.ix_(s, s)]
        h = G @ ws / n
        K = G - h[:, None] - h[None, :] + (ws @ h) / n
        root = np.sqrt(ws)
        K *= root[:, None] * root[None, :] / (n - 1)
        return descending(np.linalg.eigvalsh(K))
    Y = pts.Xc[s] - (w @ pts.Xc) / n
    Y *= np.sqrt(w[s])[:, None]
    return descending(np.linalg.eigvalsh(Y.T @ Y / (n - 1)))


def percentile_interval(samples: np.ndarray) -> list[float] | None:
    """The 95% percentile interval [lo, hi] of the finite samples; None if there are none."""
    samples = samples[np.isfinite(samples)]
    if samples.size == 0:
        return None
    tail = 100.0 * (1.0 - CI_LEVEL) / 2.0
    lo, hi = np.percentile(samples, [tail, 100.0 - tail])
    return [float(lo), float(hi)]

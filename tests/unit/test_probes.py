"""Linear probes: intervals worked by hand, held-out predictions (no leakage), separable layers."""

from __future__ import annotations

import numpy as np
import pytest

from worker.science.probes import best_layer, fit_layer_probes, hanley_mcneil_interval, max_folds


def test_hanley_mcneil_by_hand():
    # A = 0.8, 10 positives, 10 negatives: Q1 = 0.8/1.2, Q2 = 1.28/1.8,
    # var = (0.16 + 9 (Q1 - 0.64) + 9 (Q2 - 0.64)) / 100 = 1.04 / 100, SE = 0.101980
    lo, hi = hanley_mcneil_interval(0.8, 10, 10)
    half = 1.959964 * 0.1019804
    assert lo == pytest.approx(0.8 - half, abs=1e-5)
    assert hi == pytest.approx(0.8 + half, abs=1e-5)
    assert hanley_mcneil_interval(1.0, 10, 10) == (1.0, 1.0)  # no spread at a perfect AUROC


def _data(n=60, d=100, seed=0):
    rng = np.random.default_rng(seed)
    labels = np.tile([0, 1], n // 2)
    noise = rng.normal(size=(n, d))
    shifted = rng.normal(size=(n, d)) + 2.0 * labels[:, None] * (np.arange(d) < 10)
    return np.stack([noise, shifted], axis=1).astype(np.float32), labels


def test_probes_are_held_out_and_find_the_separable_layer():
    X, labels = _data()
    noise, separable = fit_layer_probes(X, labels, folds=5, seed=0)
    # d = 100 > n = 60: an in-sample fit separates pure noise perfectly; held-out it cannot
    assert noise.accuracy_interval[0] < 0.5 < noise.accuracy_interval[1]
    assert noise.auroc_interval[0] < 0.5 < noise.auroc_interval[1]
    # a 2-sigma shift on 10 coordinates (6.3 sigma apart): nearly every held-out prompt is right
    assert separable.accuracy >= 0.95 and separable.auroc >= 0.98
    assert separable.accuracy_interval[0] <= separable.accuracy <= separable.accuracy_interval[1]
    assert best_layer([noise, separable]) == 1
    # P(unsafe) of each prompt, from its own held-out fold
    assert separable.p_unsafe.shape == (60,)
    assert (
        separable.p_unsafe[labels == 1].mean() > 0.9 > 0.1 > separable.p_unsafe[labels == 0].mean()
    )


def test_same_seed_same_probe_and_fold_limit():
    X, labels = _data(n=20)
    a = fit_layer_probes(X, labels, folds=4, seed=3)
    b = fit_layer_probes(X, labels, folds=4, seed=3)
    assert all(np.array_equal(x.p_unsafe, y.p_unsafe) for x, y in zip(a, b, strict=True))
    assert max_folds(labels) == 10
    with pytest.raises(ValueError, match="folds: 11 folds"):
        fit_layer_probes(X, labels, folds=11)

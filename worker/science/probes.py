"""Linear probes (DESIGN.md): per layer, a logistic regression of unsafe vs safe on the
last-prompt residuals X_l, scored by stratified k-fold cross-validation (scikit-learn).

Every prompt's P(unsafe) comes from the fold that held it out, so accuracy and AUROC are computed
on held-out predictions only. Intervals: Wilson 95% for accuracy (over the n held-out
predictions), Hanley & McNeil (1982) 95% for AUROC.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from backend.stats import Z95, wilson_interval


@dataclass(frozen=True)
class LayerProbe:
    layer: int
    accuracy: float
    accuracy_interval: tuple[float, float]
    auroc: float
    auroc_interval: tuple[float, float]
    p_unsafe: np.ndarray  # (n,) held-out P(unsafe) of each prompt


def hanley_mcneil_interval(
    auroc: float, n_positive: int, n_negative: int, z: float = Z95
) -> tuple[float, float]:
    """AUROC +- z * SE with Hanley & McNeil's (1982) standard error, clipped to [0, 1]."""
    a = auroc
    q1, q2 = a / (2 - a), 2 * a * a / (1 + a)
    variance = (a * (1 - a) + (n_positive - 1) * (q1 - a * a) + (n_negative - 1) * (q2 - a * a)) / (
        n_positive * n_negative
    )
    half = z * math.sqrt(max(variance, 0.0))
    return (max(0.0, a - half), min(1.0, a + half))


def max_folds(labels: np.ndarray) -> int:
    """The most folds stratification allows: each class must appear in every fold."""
    return int(min(labels.sum(), len(labels) - labels.sum()))


def fit_layer_probes(
    X: np.ndarray,
    labels: np.ndarray,
    folds: int = 5,
    C: float = 1.0,
    seed: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> list[LayerProbe]:
    """One cross-validated probe per layer of ``X`` (N prompts, L layers, d); ``labels`` 1 for
    unsafe. Features are standardised inside each fold (a pipeline, so no fold sees another's
    statistics)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    labels = np.asarray(labels, dtype=np.int64)
    n, n_layers = X.shape[0], X.shape[1]
    n_unsafe = int(labels.sum())
    if not 2 <= folds <= max_folds(labels):
        raise ValueError(
            f"folds: {folds} folds need at least {folds} prompts of each label "
            f"(have {n_unsafe} unsafe, {n - n_unsafe} safe)"
        )
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    out = []
    for layer in range(n_layers):
        probe = make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=1000))
        p = cross_val_predict(
            probe, X[:, layer].astype(np.float64), labels, cv=splitter, method="predict_proba"
        )[:, 1]
        correct = int(((p >= 0.5).astype(np.int64) == labels).sum())
        auroc = float(roc_auc_score(labels, p))
        out.append(
            LayerProbe(
                layer=layer,
                accuracy=correct / n,
                accuracy_interval=wilson_interval(correct, n),
                auroc=auroc,
                auroc_interval=hanley_mcneil_interval(auroc, n_unsafe, n - n_unsafe),
                p_unsafe=p.astype(np.float32),
            )
        )
        if progress is not None:
            progress(layer + 1, n_layers)
    return out


def best_layer(probes: list[LayerProbe]) -> int:
    """The layer with the highest AUROC (the earliest among ties)."""
    return max(probes, key=lambda probe: (probe.auroc, -probe.layer)).layer

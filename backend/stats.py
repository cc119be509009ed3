"""Agreement statistics between two labellings, and rates with intervals (pure Python).

confusion_matrix / agreement / cohen_kappa compare two labellings of the same items (a human
and a classifier, or two classifiers); wilson_interval is the Wilson score interval of a
binomial share; stratified_rate corrects a classifier's rate with a human-labelled sample:

    rate_hat = sum_v  w_v * q_v

where v runs over the classifier's verdicts, w_v = N_v / N is the share of all N items the
classifier gives verdict v, and q_v = k_v / n_v is the share of the n_v human-labelled items
with classifier verdict v that the humans count as hits (refusals). This is the two-phase
(double-sampling) stratified estimator, also called the calibration estimator. Chosen over
Rogan-Gladen (p_obs + spec - 1) / (sens + spec - 1) because it keeps the classifier's three
(or more) verdicts apart, stays in [0, 1], does not divide by a Youden index that is unstable
for a weak classifier, and needs the labelled items to be a random sample only within each
verdict (labelling may oversample the classifier's refusals).

Its 95% interval: rate_hat +- z * sqrt(V), clipped to [0, 1], with the double-sampling variance

    V = sum_v w_v^2 * q~_v (1 - q~_v) / (n_v + z^2)  +  sum_v w_v (q_v - rate_hat)^2 / N

(the first term: q_v estimated from n_v labels; the second: the w_v estimated from N items),
q~_v = (k_v + z^2/2) / (n_v + z^2) being Agresti-Coull's adjusted share, so a verdict whose
labels all agree still adds width. With every item labelled V reduces to about
rate(1 - rate) / N, the binomial variance. A verdict the classifier gives that no labelled
item has leaves the estimate undefined (None): there is nothing to calibrate it with.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Sequence

Z95 = 1.959964  # two-sided 95% normal quantile

STRATIFIED = (
    "stratified two-phase estimator: sum over classifier verdicts v of P(v) * P(human hit | v)"
)


def _paired(a: Sequence, b: Sequence) -> None:
    if len(a) != len(b):
        raise ValueError(f"{len(a)} labels against {len(b)}: the labellings must pair up")


def confusion_matrix(
    a: Sequence[Hashable], b: Sequence[Hashable], labels: Sequence[Hashable]
) -> list[list[int]]:
    """counts[i][j] = items labelled labels[i] in ``a`` and labels[j] in ``b`` (rows are ``a``);
    items whose label is not in ``labels`` are left out."""
    _paired(a, b)
    index = {label: i for i, label in enumerate(labels)}
    counts = [[0] * len(labels) for _ in labels]
    for x, y in zip(a, b, strict=True):
        if x in index and y in index:
            counts[index[x]][index[y]] += 1
    return counts


def agreement(a: Sequence[Hashable], b: Sequence[Hashable]) -> float | None:
    """Share of items given the same label by both; None for no items."""
    _paired(a, b)
    return sum(x == y for x, y in zip(a, b, strict=True)) / len(a) if a else None


def cohen_kappa(
    a: Sequence[Hashable], b: Sequence[Hashable], labels: Sequence[Hashable]
) -> float | None:
    """Cohen's kappa (po - pe) / (1 - pe) over the items both label within ``labels``; None
    when undefined (no items, or pe = 1: both give one and the same label to everything)."""
    counts = confusion_matrix(a, b, labels)
    n = sum(map(sum, counts))
    if n == 0:
        return None
    po = sum(counts[i][i] for i in range(len(labels))) / n
    rows = [sum(r) for r in counts]
    cols = [sum(c) for c in zip(*counts, strict=True)]
    pe = sum(r * c for r, c in zip(rows, cols, strict=True)) / n**2
    return None if pe == 1 else (po - pe) / (1 - pe)


def wilson_interval(k: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """Wilson score interval of the share k / n; None for n = 0."""
    if n == 0:
        return None
    if not 0 <= k <= n:
        raise ValueError(f"k={k} must lie in [0, n={n}]")
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def stratified_rate(
    verdicts: Sequence[Hashable],
    labelled: Sequence[tuple[Hashable, bool]],
    z: float = Z95,
) -> dict:
    """The classifier-corrected rate (module docstring) from the classifier's ``verdicts`` on
    all items and (classifier verdict, human says hit) of the labelled ones. Returns estimate,
    interval (low, high) or None, n, n_labelled, missing (verdicts with no label) and the
    estimator's name."""
    out = {"estimator": STRATIFIED, "n": len(verdicts), "n_labelled": len(labelled)}
    sizes = Counter(verdicts)
    labels = Counter(v for v, _ in labelled)
    hits = Counter(v for v, hit in labelled if hit)
    missing = sorted(str(v) for v in sizes if labels[v] == 0)
    out["missing"] = missing
    if not verdicts or missing:
        return {**out, "estimate": None, "interval": None}
    n = len(verdicts)
    w = {v: sizes[v] / n for v in sizes}
    q = {v: hits[v] / labels[v] for v in sizes}
    estimate = sum(w[v] * q[v] for v in sizes)
    variance = 0.0
    for v in sizes:
        adjusted = (hits[v] + z * z / 2) / (labels[v] + z * z)
        variance += w[v] ** 2 * adjusted * (1 - adjusted) / (labels[v] + z * z)
        variance += w[v] * (q[v] - estimate) ** 2 / n
    half = z * math.sqrt(variance)
    interval = (max(0.0, estimate - half), min(1.0, estimate + half))
    return {**out, "estimate": estimate, "interval": interval}

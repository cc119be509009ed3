"""Benchmark the linear probes (worker/science/probes.py) against a plain scikit-learn loop.

One layer of residuals, N prompts x d (20,000 x 512; 4,000 x 128 with --quick), half of them
"unsafe" with a small mean shift: ``fit_layer_probes`` (standardise + LogisticRegression inside
stratified 5-fold cross_val_predict, AUROC and intervals) against the baseline measured in the
same run, a hand-written 5-fold loop of LogisticRegression fits on the same folds. It prints both
wall times, their ratio, and the time to read the residuals back from the run's safetensors file
(the rest of a probe job's work): the fits are the job's bottleneck when they dwarf it.

Usage: python bench/probe.py [--quick]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parents[1])

import numpy as np  # noqa: E402
from safetensors.numpy import load_file, save_file  # noqa: E402

from worker.science.probes import fit_layer_probes  # noqa: E402

FOLDS = 5


def residuals(n: int, d: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = np.tile([0, 1], n // 2)
    X = rng.normal(size=(n, 1, d)).astype(np.float32)
    X[:, 0, : d // 16] += 0.3 * labels[:, None]
    return X, labels


def plain_loop(X: np.ndarray, labels: np.ndarray) -> float:
    """Seconds for 5 LogisticRegression fits on stratified folds, nothing else."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    start = time.perf_counter()
    for train, test in StratifiedKFold(FOLDS, shuffle=True, random_state=0).split(X, labels):
        LogisticRegression(max_iter=1000).fit(X[train], labels[train]).predict_proba(X[test])
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="4,000 x 128 instead of 20,000 x 512")
    args = parser.parse_args()
    n, d = (4_000, 128) if args.quick else (20_000, 512)
    X, labels = residuals(n, d)
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "activations.safetensors")
        save_file({"X": X, "labels": labels}, path)
        start = time.perf_counter()
        load_file(path)
        read = time.perf_counter() - start
    baseline = plain_loop(X[:, 0].astype(np.float64), labels)
    start = time.perf_counter()
    (probe,) = fit_layer_probes(X, labels, folds=FOLDS)
    ours = time.perf_counter() - start
    print(f"probe of one layer, {n} x {d}, {FOLDS} folds (AUROC {probe.auroc:.3f})")
    print(f"  plain LogisticRegression loop  {baseline:8.2f} s")
    print(f"  fit_layer_probes               {ours:8.2f} s   ratio {ours / baseline:.2f}x")
    print(f"  reading the residuals back     {read:8.3f} s")


if __name__ == "__main__":
    main()

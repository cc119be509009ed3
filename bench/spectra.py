"""Benchmark FlowLens spectra against baselines measured in the same run (print-only).

1. Eigen-decomposition of one layer (N x d, decaying spectrum): ``eigen_from_points`` versus
   scikit-learn ``PCA(svd_solver="full").fit``.
2. Peak traced memory of position="all" spectra: ``StreamingCovariance`` over batches versus holding
   every token row, then ``np.cov``.

Usage: python bench/spectra.py [--quick]
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np

# Run as a script: import from the repository root, not bench/ (its modules shadow the stdlib's).
sys.path[0] = str(Path(__file__).resolve().parents[1])

from worker.science.spectra import StreamingCovariance, eigen_from_points  # noqa: E402


def mixing(d: int, seed: int = 0) -> np.ndarray:
    """Scales i^-0.5 followed by a random rotation: rows z @ M have a decaying spectrum."""
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    return (np.arange(1, d + 1) ** -0.5)[:, None] * Q.T


def token_batch(start: int, size: int, scales: np.ndarray) -> np.ndarray:
    """Deterministic float32 token rows [start, start + size) with a decaying spectrum (cheap to
    generate: axis-aligned), as a capture would yield them."""
    rng = np.random.default_rng([start, size])
    rows = rng.standard_normal((size, scales.size), dtype=np.float32)
    rows *= scales
    rows += 3.0
    return rows


def best_time(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def bench_eigen(n: int, d: int, repeats: int) -> None:
    from sklearn.decomposition import PCA

    X = np.random.default_rng(1).standard_normal((n, d)) @ mixing(d)
    ours = best_time(lambda: eigen_from_points(X, n_top=64), repeats)
    theirs = best_time(lambda: PCA(svd_solver="full").fit(X), repeats)
    lam = eigen_from_points(X).eigenvalues
    ref = PCA(svd_solver="full").fit(X).explained_variance_
    err = np.abs(lam[:64] - ref[:64]).max() / ref[0]
    print(f"\n[eigen] one layer, N={n} x d={d} float64, best of {repeats}")
    print(f"  {'method':<42}{'seconds':>10}")
    print(f"  {'flowlens eigen_from_points (cov + eigh)':<42}{ours:>10.3f}")
    print(f"  {'sklearn PCA(svd_solver=full).fit':<42}{theirs:>10.3f}")
    print(
        f"  ratio flowlens / sklearn = {ours / theirs:.3f}",
        f"(top-64 eigenvalues: max rel err {err:.1e})",
    )


def traced_peak(fn: Callable[[], np.ndarray]) -> tuple[float, np.ndarray]:
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    out = fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20, out


def bench_memory(n_rows: int, d: int, batch: int) -> None:
    scales = (np.arange(1, d + 1) ** -0.5).astype(np.float32)
    starts = range(0, n_rows, batch)

    def streaming() -> np.ndarray:
        acc = StreamingCovariance(d)
        for s in starts:
            acc.update(token_batch(s, min(batch, n_rows - s), scales))
        return acc.covariance()

    def held() -> np.ndarray:
        rows = np.empty((n_rows, d), dtype=np.float32)
        for s in starts:
            rows[s : s + batch] = token_batch(s, min(batch, n_rows - s), scales)
        return np.cov(rows, rowvar=False)

    t0 = time.perf_counter()
    peak_stream, c_stream = traced_peak(streaming)
    t1 = time.perf_counter()
    peak_held, c_held = traced_peak(held)
    t2 = time.perf_counter()
    diff = np.abs(c_stream - c_held).max() / np.abs(c_held).max()
    print(f"\n[memory] position=all, {n_rows} token rows x d={d} (float32), batches of {batch}")
    print(f"  {'method':<42}{'peak MiB':>10}{'seconds':>10}")
    print(f"  {'StreamingCovariance.update per batch':<42}{peak_stream:>10.1f}{t1 - t0:>10.2f}")
    print(f"  {'hold all rows, then np.cov':<42}{peak_held:>10.1f}{t2 - t1:>10.2f}")
    print(f"  ratio streaming / held = {peak_stream / peak_held:.3f}   (max rel diff {diff:.1e})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (a few seconds)")
    args = parser.parse_args()
    if args.quick:
        bench_eigen(4000, 256, repeats=2)
        bench_memory(40_000, 256, batch=2048)
    else:
        bench_eigen(20_000, 512, repeats=2)
        bench_memory(200_000, 512, batch=4096)


if __name__ == "__main__":
    main()

"""Benchmark FlowLens spectra against baselines measured in the same run (print-only).

1. Eigen-decomposition of one layer (N x d, decaying spectrum): ``eigen_from_points`` versus
   scikit-learn ``PCA(svd_solver="full").fit``.
2. Peak memory (growth of the peak RSS of a fresh process: the accumulator keeps its sums in
   torch) of position="all" spectra: ``StreamingCovariance`` over batches versus holding every
   token row, then ``np.cov``.

Usage: python bench/spectra.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

# Run as a script: import from the repository root, not bench/ (its modules shadow the stdlib's).
sys.path[0] = str(Path(__file__).resolve().parents[1])

from worker.science.covariance import StreamingCovariance  # noqa: E402
from worker.science.pca import eigen_from_points  # noqa: E402


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


def covariance_of(method: str, n_rows: int, d: int, batch: int) -> np.ndarray:
    """The covariance of the benchmark's token rows, streamed or held."""
    scales = (np.arange(1, d + 1) ** -0.5).astype(np.float32)
    starts = range(0, n_rows, batch)
    if method == "streaming":
        acc = StreamingCovariance(d)
        for s in starts:
            acc.update(token_batch(s, min(batch, n_rows - s), scales))
        return acc.covariance()[0]
    rows = np.empty((n_rows, d), dtype=np.float32)
    for s in starts:
        rows[s : s + batch] = token_batch(s, min(batch, n_rows - s), scales)
    return np.cov(rows, rowvar=False)


def peak_rss_kib() -> int:
    """This process's peak resident set (Linux VmHWM; ru_maxrss would include the parent's)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status (Linux only)")


def child(method: str, n_rows: int, d: int, batch: int, out: str) -> None:
    """Run one method in this (fresh) process; print its peak RSS growth and time as JSON."""
    before = peak_rss_kib()
    t0 = time.perf_counter()
    C = covariance_of(method, n_rows, d, batch)
    seconds = time.perf_counter() - t0
    growth = peak_rss_kib() - before
    np.save(out, C)
    print(json.dumps({"peak_mib": growth / 1024, "seconds": seconds}))


def measured(method: str, n_rows: int, d: int, batch: int, tmp: Path) -> tuple[dict, np.ndarray]:
    out = str(tmp / f"{method}.npy")
    args = [sys.executable, __file__, "--child", method, str(n_rows), str(d), str(batch), out]
    done = subprocess.run(args, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1]), np.load(out)


def bench_memory(n_rows: int, d: int, batch: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        stream, c_stream = measured("streaming", n_rows, d, batch, Path(tmp))
        held, c_held = measured("held", n_rows, d, batch, Path(tmp))
    diff = np.abs(c_stream - c_held).max() / np.abs(c_held).max()
    print(f"\n[memory] position=all, {n_rows} token rows x d={d} (float32), batches of {batch}")
    print(f"  {'method':<42}{'peak MiB':>10}{'seconds':>10}")
    for name, m in (
        ("StreamingCovariance.update per batch", stream),
        ("hold all rows, then np.cov", held),
    ):
        print(f"  {name:<42}{m['peak_mib']:>10.1f}{m['seconds']:>10.2f}")
    ratio = stream["peak_mib"] / held["peak_mib"]
    print(f"  ratio streaming / held = {ratio:.3f}   (max rel diff {diff:.1e})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes (a few seconds)")
    parser.add_argument("--child", nargs=5, help=argparse.SUPPRESS)  # one measured method
    args = parser.parse_args()
    if args.child:
        method, n_rows, d, batch, out = args.child
        child(method, int(n_rows), int(d), int(batch), out)
        return
    if args.quick:
        bench_eigen(4000, 256, repeats=2)
        bench_memory(40_000, 256, batch=2048)
    else:
        bench_eigen(20_000, 512, repeats=2)
        bench_memory(200_000, 512, batch=4096)


if __name__ == "__main__":
    main()

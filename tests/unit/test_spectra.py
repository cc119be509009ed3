"""FlowLens spectra (worker/science/spectra.py and the modules it uses: pca, twonn, bootstrap,
covariance) against straightforward float64 references."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from backend.metrics import KS, Scope, metrics_for
from worker.science import bootstrap as B
from worker.science import spectra as S
from worker.science.covariance import StreamingCovariance
from worker.science.pca import Points, eigen_from_points
from worker.science.twonn import intrinsic_dim_twonn, twonn_fit, twonn_ratios

LAYER_NAMES = [m.name for m in metrics_for(Scope.LAYER)]
INTERVAL_NAMES = {m.name for m in metrics_for(Scope.LAYER, interval=True)}
REFUSAL_INTERVALS = {"refusal_direction_variance", "refusal_direction_norm"}


# ---------------------------------------------------------------- data and references


def decaying(n: int, d: int, seed: int, power: float = 0.5) -> np.ndarray:
    """Gaussian rows with eigenvalues ~ i^-2*power in a random basis, plus an offset mean."""
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    Z = rng.standard_normal((n, d)) * np.arange(1, d + 1) ** -power
    return Z @ Q.T + rng.standard_normal(d)


def planted(n: int, d: int, rank: int, seed: int, noise: float = 1e-3) -> np.ndarray:
    """Rank-`rank` signal with well-separated variances plus tiny isotropic noise."""
    rng = np.random.default_rng(seed)
    basis, _ = np.linalg.qr(rng.standard_normal((d, rank)))
    coords = rng.standard_normal((n, rank)) * (2.0 ** -np.arange(rank))
    return coords @ basis.T + noise * rng.standard_normal((n, d)) + 5.0


def reference_spectrum(X_l: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (descending, clipped) and eigenvectors of np.cov by np.linalg.eigh."""
    values, vectors = np.linalg.eigh(np.cov(X_l, rowvar=False))
    return np.clip(values[::-1], 0, None), vectors[:, ::-1]


def reference_metrics(X_l: np.ndarray) -> dict[str, float]:
    lam, _ = reference_spectrum(X_l)
    evr = lam / lam.sum()
    p = evr[evr > 0]
    out = {f"concentration@{k}": evr[:k].sum() for k in KS}
    out["effective_rank"] = np.exp(-(p * np.log(p)).sum())
    out["participation_ratio"] = lam.sum() ** 2 / (lam**2).sum()
    out["mean_norm"] = np.mean([np.sqrt(row @ row) for row in X_l])
    out["total_variance"] = np.trace(np.cov(X_l, rowvar=False))
    return out


def rel(a: float, b: float) -> float:
    return abs(a - b) / max(abs(b), 1e-300)


CASES = [
    pytest.param(decaying, (300, 40), id="random-N>d"),
    pytest.param(decaying, (30, 120), id="random-N<d"),
    pytest.param(lambda n, d, seed: planted(n, d, 4, seed), (200, 60), id="planted-N>d"),
    pytest.param(lambda n, d, seed: planted(n, d, 4, seed), (25, 90), id="planted-N<d"),
]


# ---------------------------------------------------------------- spectra and metrics


@pytest.mark.parametrize(("make", "shape"), CASES)
def test_metrics_match_numpy_reference(make, shape) -> None:
    n, d = shape
    X = np.stack([make(n, d, seed) for seed in (1, 2)], axis=1)  # (n, 2 layers, d)
    result = S.compute_spectra(X.astype(np.float32), n_top=16, n_bootstrap=0)
    X32 = X.astype(np.float32).astype(np.float64)
    for layer, record in enumerate(result.layers):
        X_l = X32[:, layer, :]
        ref = reference_metrics(X_l)
        lam, _ = reference_spectrum(X_l)
        assert record.layer == layer and record.n == n
        assert len(record.eigenvalues) == 16 and len(record.evr) == 16
        top = lam[:16]
        np.testing.assert_allclose(record.eigenvalues, top, rtol=1e-6, atol=1e-9 * lam[0])
        np.testing.assert_allclose(record.evr, top / lam.sum(), rtol=1e-6, atol=1e-9)
        for name, value in ref.items():
            assert rel(record.values[name], value) < 1e-6, name


@pytest.mark.parametrize(("make", "shape"), CASES)
def test_metric_functions_on_reference_eigenvalues(make, shape) -> None:
    X_l = make(*shape, 3)
    lam, _ = reference_spectrum(X_l)
    ref = reference_metrics(X_l)
    eig = eigen_from_points(X_l)
    np.testing.assert_allclose(eig.eigenvalues[:10], lam[:10], rtol=1e-6)
    assert rel(S.spectrum_values(lam)["concentration@3"], ref["concentration@3"]) < 1e-12
    assert rel(S.effective_rank(lam), ref["effective_rank"]) < 1e-12
    assert rel(S.participation_ratio(lam), ref["participation_ratio"]) < 1e-12
    assert rel(S.mean_norm(X_l), ref["mean_norm"]) < 1e-12
    np.testing.assert_allclose(S.explained_variance_ratio(lam).sum(), 1.0)


def test_explicit_formulas_on_a_known_spectrum() -> None:
    lam = np.array([4.0, 2.0, 1.0, 1.0, 0.0])
    p = lam / 8.0
    values = S.spectrum_values(lam)
    assert values["concentration@2"] == pytest.approx(0.75)
    assert values["concentration@10"] == pytest.approx(1.0)  # k past d: all of the variance
    assert values["total_variance"] == pytest.approx(8.0)
    assert S.effective_rank(lam) == pytest.approx(np.exp(-sum(x * np.log(x) for x in p if x)))
    assert S.participation_ratio(lam) == pytest.approx(64.0 / 22.0)
    assert S.effective_rank(np.ones(7)) == pytest.approx(7.0)
    assert S.participation_ratio(np.ones(7)) == pytest.approx(7.0)
    assert np.isnan(S.effective_rank(np.zeros(3)))


@pytest.mark.parametrize("shape", [(200, 30), (20, 80)], ids=["N>d", "N<d"])
def test_principal_directions_match_eigh_and_are_sign_normalised(shape) -> None:
    X_l = planted(*shape, rank=4, seed=7)
    _, vectors = reference_spectrum(X_l)
    U = eigen_from_points(X_l, n_top=4).directions
    assert U.shape == (shape[1], 4)
    np.testing.assert_allclose(U.T @ U, np.eye(4), atol=1e-10)
    np.testing.assert_allclose(np.abs(np.sum(U * vectors[:, :4], axis=0)), 1.0, atol=1e-6)
    pivots = U[np.argmax(np.abs(U), axis=0), np.arange(4)]
    assert (pivots > 0).all()
    np.testing.assert_array_equal(U, eigen_from_points(X_l, n_top=4).directions)


def test_rank_deficient_layer_keeps_only_real_directions() -> None:
    X_l = planted(50, 20, rank=3, seed=1, noise=0.0)
    eig = eigen_from_points(X_l, n_top=10)
    assert eig.directions.shape == (20, 3)
    assert (eig.eigenvalues >= 0).all()


def test_global_basis_is_pca_of_stacked_rows() -> None:
    for n, d in [(60, 12), (5, 40)]:  # N*L >= d (streamed) and N*L < d (Gram)
        X = np.stack([decaying(n, d, s) * (s + 1) for s in range(3)], axis=1)
        g = S.compute_spectra(X, n_bootstrap=0, n_top=8).global_basis
        lam, _ = reference_spectrum(X.reshape(-1, d))
        assert g.n == 3 * n
        np.testing.assert_allclose(g.eigenvalues, lam[:8], rtol=1e-6, atol=1e-12 * lam[0])
        expected = reference_metrics(X.reshape(-1, d))["effective_rank"]
        assert rel(g.values["effective_rank"], expected) < 1e-6
        assert g.values["intrinsic_dim"] is not None
        assert list(g.values) == [m.name for m in metrics_for(Scope.RUN)]


# ---------------------------------------------------------------- streaming covariance


def test_streaming_covariance_equals_batch_covariance() -> None:
    rng = np.random.default_rng(0)
    rows = (decaying(1234, 24, 5) + 1e3).astype(np.float32)  # large mean: tests the merge
    acc = StreamingCovariance(24)
    start = 0
    while start < len(rows):
        size = int(rng.integers(0, 97))
        batch = rows[start : start + size]
        acc.update(torch.from_numpy(batch) if size % 2 else batch)  # numpy or torch rows
        start += size
    exact = rows.astype(np.float64)
    assert acc.n == 1234
    np.testing.assert_allclose(acc.mean[0], exact.mean(axis=0), rtol=1e-12)
    C = np.cov(exact, rowvar=False)
    assert np.abs(acc.covariance()[0] - C).max() / np.abs(C).max() < 1e-10
    assert rel(acc.mean_norm[0], S.mean_norm(exact)) < 1e-10


def test_streaming_leaves_the_callers_rows_alone() -> None:
    rows = decaying(50, 6, 2)
    kept = rows.copy()
    StreamingCovariance(6).update(rows)  # float64 numpy rows share memory with the tensor
    np.testing.assert_array_equal(rows, kept)


def test_streaming_per_layer_and_spectra_from_streaming() -> None:
    rng = np.random.default_rng(1)
    X = np.stack([decaying(400, 16, s) for s in range(3)], axis=1)
    X = X.astype(np.float32).astype(np.float64)  # batches go in as float32 or float64
    acc = StreamingCovariance(16, n_layers=3)
    for chunk in np.array_split(X, [7, 8, 150, 151, 333]):
        chunk = chunk.astype(np.float32) if rng.random() < 0.5 else chunk
        for layer in range(3):
            acc.update(chunk[:, layer, :], layer=layer)
    for layer in range(3):
        C = np.cov(X[:, layer, :], rowvar=False)
        assert np.abs(acc.covariance()[layer] - C).max() / np.abs(C).max() < 1e-10
    pooled = np.cov(X.transpose(1, 0, 2).reshape(-1, 16), rowvar=False)
    assert np.abs(acc.pooled_covariance() - pooled).max() / np.abs(pooled).max() < 1e-10
    streamed = S.spectra_from_streaming(acc, n_top=8)
    direct = S.compute_spectra(X, n_top=8, n_bootstrap=0)
    for a, b in zip(streamed.layers, direct.layers, strict=True):
        np.testing.assert_allclose(a.eigenvalues, b.eigenvalues, rtol=1e-6)
        assert list(a.values) == LAYER_NAMES and a.intervals == {}
        for name in ("effective_rank", "mean_norm", "total_variance"):
            assert rel(a.values[name], b.values[name]) < 1e-6, name
        assert a.values["intrinsic_dim"] is None and a.values["refusal_direction_norm"] is None
        for k in KS:
            assert a.values[f"flow@{k}"] == pytest.approx(b.values[f"flow@{k}"], abs=1e-6)
    np.testing.assert_allclose(
        streamed.global_basis.eigenvalues, direct.global_basis.eigenvalues, rtol=1e-6
    )


def test_streaming_rejects_bad_batches() -> None:
    acc = StreamingCovariance(4, n_layers=2)
    with pytest.raises(ValueError, match="rows"):
        acc.update(np.zeros((3, 5)))
    with pytest.raises(ValueError, match="non-finite"):
        acc.update(np.full((2, 4), np.nan))
    with pytest.raises(ValueError, match="layer"):
        acc.update(np.zeros((2, 4)), layer=2)
    acc.update(np.zeros((2, 4)), layer=0)
    with pytest.raises(ValueError, match="layers"):
        acc.covariance()  # layer 1 has no rows


# ---------------------------------------------------------------- TwoNN


def _manifolds() -> dict[str, tuple[np.ndarray, int]]:
    rng = np.random.default_rng(0)
    basis, _ = np.linalg.qr(rng.standard_normal((50, 3)))
    linear = rng.standard_normal((2000, 3)) @ basis.T + 1e-6 * rng.standard_normal((2000, 50))
    t = 1.5 * np.pi * (1 + 2 * rng.random(2000))
    roll = np.column_stack([t * np.cos(t), 21 * rng.random(2000), t * np.sin(t)])
    sphere = rng.standard_normal((2000, 3))
    sphere /= np.linalg.norm(sphere, axis=1, keepdims=True)
    return {"linear-3d-in-50d": (linear, 3), "swiss-roll": (roll, 2), "2-sphere": (sphere, 2)}


@pytest.mark.parametrize("name", ["linear-3d-in-50d", "swiss-roll", "2-sphere"])
def test_twonn_recovers_known_dimension(name: str) -> None:
    X, true_dim = _manifolds()[name]
    assert rel(intrinsic_dim_twonn(X), true_dim) < 0.15


def test_twonn_drops_duplicates_and_gram_path_agrees() -> None:
    X, _ = _manifolds()["linear-3d-in-50d"]
    X = X[:500]
    doubled = np.concatenate([X, X[:100]])
    assert intrinsic_dim_twonn(doubled) == pytest.approx(intrinsic_dim_twonn(X))
    Xc = X - X.mean(axis=0)
    np.testing.assert_allclose(twonn_ratios(X, Xc @ Xc.T), twonn_ratios(X), rtol=1e-12)
    assert np.isnan(intrinsic_dim_twonn(np.ones((10, 4))))


def test_twonn_fit_matches_explicit_regression() -> None:
    mu = np.random.default_rng(3).pareto(4.0, 101) + 1.0
    s = np.sort(mu)
    keep = int(101 * 0.9)
    x = np.log(s[:keep])
    y = -np.log(1 - np.arange(1, keep + 1) / 101)
    assert float(twonn_fit(mu)) == pytest.approx(x @ y / (x @ x), rel=1e-12)


# ---------------------------------------------------------------- flow, alignment, refusal


def test_flow_identical_and_orthogonal_subspaces() -> None:
    Q, _ = np.linalg.qr(np.random.default_rng(0).standard_normal((30, 10)))
    assert S.flow(Q[:, :3], Q[:, :3], 3) == pytest.approx(1.0)
    assert S.flow(Q[:, :3], Q[:, [1, 0, 2]] * -1, 3) == pytest.approx(1.0)
    assert S.flow(Q[:, :3], Q[:, 3:6], 3) == pytest.approx(0.0, abs=1e-12)


def test_flow_in_records() -> None:
    X = planted(300, 40, rank=3, seed=2)
    same = S.compute_spectra(np.stack([X, 2 * X], axis=1), n_bootstrap=0)
    assert same.layers[0].values["flow@3"] == pytest.approx(1.0)
    assert all(same.layers[-1].values[f"flow@{k}"] is None for k in KS)  # no next layer


def test_alignment_against_itself_is_one() -> None:
    X = np.stack([planted(200, 30, rank=5, seed=s, noise=0.05) for s in range(3)], axis=1)
    result = S.compute_spectra(X, n_bootstrap=0)
    assert all(r.values["alignment"] is None for r in result.layers)
    again = S.compute_spectra(X, n_bootstrap=0, reference=result.reference_basis())
    for record in again.layers:
        assert record.values["alignment"] == pytest.approx(1.0)
    assert again.global_basis.values["alignment"] == pytest.approx(1.0)


def test_alignment_uses_the_id_th_direction() -> None:
    Q, _ = np.linalg.qr(np.random.default_rng(0).standard_normal((8, 8)))
    run = Q[:, :4].copy()
    run[:, 2] = (Q[:, 2] + Q[:, 5]) / np.sqrt(2)
    assert S.alignment(run, Q[:, :4], 2.4) == pytest.approx(1.0)  # round(2.4) = 2
    assert S.alignment(run, Q[:, :4], 2.5) == pytest.approx(np.sqrt(0.5))  # half up: 3
    assert S.alignment(run, Q[:, :4], 0.2) == pytest.approx(1.0)  # clipped to 1
    assert S.alignment(run, Q[:, :4], float("nan")) is None


def test_reference_basis_round_trips_through_safetensors(tmp_path) -> None:
    X = np.stack([planted(80, 20, rank=3, seed=s, noise=0.05) for s in range(2)], axis=1)
    ref = S.compute_spectra(X, n_bootstrap=0).reference_basis(max_directions=6)
    assert ref.directions.shape == (2, 20, 6)
    st = pytest.importorskip("safetensors.numpy")
    path = tmp_path / "reference.safetensors"
    st.save_file(ref.to_tensors(), str(path))
    loaded = S.ReferenceBasis.from_tensors(st.load_file(str(path)))
    np.testing.assert_array_equal(loaded.directions, ref.directions)
    np.testing.assert_array_equal(loaded.intrinsic_dim, ref.intrinsic_dim)
    assert loaded.global_intrinsic_dim == ref.global_intrinsic_dim
    again = S.compute_spectra(X, n_bootstrap=0, reference=loaded)
    assert again.layers[1].values["alignment"] == pytest.approx(1.0)


def test_refusal_direction_finds_planted_direction() -> None:
    rng = np.random.default_rng(4)
    n, d = 400, 64
    direction = rng.standard_normal(d)
    direction /= np.linalg.norm(direction)
    labels = rng.integers(0, 2, n)
    X_l = 0.3 * rng.standard_normal((n, d)) + np.outer(labels, 4.0 * direction)
    found = S.refusal_direction(X_l, labels)
    assert abs(found @ direction) / np.linalg.norm(found) > 0.99
    X = np.stack([X_l, X_l], axis=1)
    values = S.compute_spectra(X, n_bootstrap=0, labels=labels).layers[0].values
    cos = [values[f"refusal_direction_cos@{k}"] for k in range(1, 6)]
    assert cos[0] > 0.99 and max(cos[1:]) < 0.1  # the planted direction dominates the variance
    r = found / np.linalg.norm(found)
    expected = np.var(X_l @ r, ddof=1) / np.trace(np.cov(X_l, rowvar=False))
    assert values["refusal_direction_variance"] == pytest.approx(expected, rel=1e-9)
    assert values["refusal_direction_norm"] == pytest.approx(np.linalg.norm(found), rel=1e-12)


# ---------------------------------------------------------------- bootstrap


@pytest.mark.parametrize("shape", [(60, 25), (25, 60)], ids=["covariance", "gram"])
def test_resampled_eigenvalues_equal_np_cov_of_resample(shape) -> None:
    X_l = decaying(*shape, seed=9)
    rng = np.random.default_rng(0)
    idx = rng.integers(0, shape[0], shape[0])
    w = np.bincount(idx, minlength=shape[0])
    expected, _ = reference_spectrum(X_l[idx])
    got = B.resampled_eigenvalues(Points(X_l), w)
    k = min(len(got), len(expected))
    np.testing.assert_allclose(got[:k], expected[:k], rtol=1e-8, atol=1e-10 * expected[0])


def test_refusal_values_of_a_resample_equal_recomputing_them() -> None:
    X_l = planted(40, 9, rank=3, seed=5, noise=0.1)
    labels = np.arange(40) % 2
    counts = B.resample_counts(40, 5, np.random.default_rng(0))
    counts = np.vstack([counts, np.ones(40, dtype=np.int64), labels])  # + all once, unsafe only
    got = S.refusal_samples(Points(X_l), labels, counts)
    variance, norm = got["refusal_direction_variance"], got["refusal_direction_norm"]
    for i, w in enumerate(counts[:-1]):
        idx = np.repeat(np.arange(40), w)
        r = S.refusal_direction(X_l[idx], labels[idx])
        assert norm[i] == pytest.approx(np.linalg.norm(r), rel=1e-9)
        r /= np.linalg.norm(r)
        expected = np.var(X_l[idx] @ r, ddof=1) / np.trace(np.cov(X_l[idx], rowvar=False))
        assert variance[i] == pytest.approx(expected, rel=1e-9)
    assert np.isnan(variance[-1]) and np.isnan(norm[-1])  # no safe prompt drawn: no direction


def test_total_variance_interval_is_the_percentile_interval_of_resampled_traces() -> None:
    X_l = planted(30, 6, rank=2, seed=3, noise=0.2)
    record = S.compute_spectra(X_l[:, None, :], n_bootstrap=50, seed=4).layers[0]
    # the same resamples: layer 0's generator, nothing drawn before them with N <= twonn_max_points
    counts = B.resample_counts(30, 50, np.random.default_rng([4, 0, 0]))
    traces = [np.trace(np.cov(X_l[np.repeat(np.arange(30), w)], rowvar=False)) for w in counts]
    expected = np.percentile(traces, [2.5, 97.5])
    np.testing.assert_allclose(record.intervals["total_variance"], expected, rtol=1e-9)
    assert record.values["total_variance"] == pytest.approx(np.trace(np.cov(X_l, rowvar=False)))


def _widths(n: int) -> dict[str, float]:
    X = decaying(n, 8, seed=n, power=1.0)[:, None, :]
    record = S.compute_spectra(X, n_bootstrap=200, seed=1).layers[0]
    assert set(record.intervals) == INTERVAL_NAMES - REFUSAL_INTERVALS  # no labels
    for key, (lo, hi) in record.intervals.items():
        value = record.values[key]
        assert lo <= value <= hi, (n, key, value, lo, hi)
    return {key: hi - lo for key, (lo, hi) in record.intervals.items() if hi - lo > 1e-9}


def test_bootstrap_intervals_contain_estimate_and_shrink_with_n() -> None:
    small, large = _widths(300), _widths(3000)
    for key, width in large.items():
        assert width < small[key], key


def test_bootstrap_is_seeded() -> None:
    X = decaying(100, 10, seed=0)[:, None, :]
    a = S.compute_spectra(X, n_bootstrap=50, seed=3).layers[0].intervals
    b = S.compute_spectra(X, n_bootstrap=50, seed=3).layers[0].intervals
    c = S.compute_spectra(X, n_bootstrap=50, seed=4).layers[0].intervals
    assert a == b and a != c


# ---------------------------------------------------------------- records and validation


def test_result_is_json_serialisable() -> None:
    X = np.stack([planted(40, 12, rank=3, seed=s) for s in range(3)], axis=1)
    X[:, 0, :] = 1.0  # a constant layer: no variance, no intrinsic dimension
    labels = np.arange(40) % 2
    result = S.compute_spectra(X, n_bootstrap=20, labels=labels)
    payload = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert len(payload["layers"]) == 3
    first = payload["layers"][0]["values"]
    assert first["total_variance"] == 0 and first["effective_rank"] is None
    assert first["intrinsic_dim"] is None
    assert set(payload["layers"][1]) == {"layer", "n", "eigenvalues", "evr", "values", "intervals"}
    lo, hi = payload["layers"][1]["intervals"]["concentration@3"]
    assert lo <= hi
    assert set(payload["global_basis"]) == {"n", "eigenvalues", "evr", "values", "intervals"}


def test_record_keys_are_exactly_the_catalogues_layer_names() -> None:
    X = np.stack([planted(60, 12, rank=3, seed=s, noise=0.05) for s in range(3)], axis=1)
    labels = np.arange(60) % 2
    reference = S.compute_spectra(X, n_bootstrap=0).reference_basis()
    result = S.compute_spectra(X, n_bootstrap=30, labels=labels, reference=reference)
    for record in result.layers:
        assert list(record.values) == LAYER_NAMES
        assert set(record.intervals) == INTERVAL_NAMES
    # with labels, bootstrap and a reference every per-layer metric has a value somewhere
    missing = [n for n in LAYER_NAMES if all(r.values[n] is None for r in result.layers)]
    assert missing == []


def test_a_name_outside_the_catalogue_is_an_error() -> None:
    with pytest.raises(ValueError, match="not layer metrics of the catalogue"):
        S._catalogued({"concentration@4": 0.5}, Scope.LAYER)
    with pytest.raises(ValueError, match="intervals"):
        S._check_intervals({"alignment": [0.0, 1.0]})  # alignment has no interval


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"X": np.zeros((5, 4))}, "X"),
        ({"X": np.full((5, 1, 4), np.nan)}, "X"),
        ({"labels": np.zeros(10)}, "labels"),
        ({"labels": np.arange(10)}, "labels"),
    ],
)
def test_bad_input_names_the_field(kwargs, field) -> None:
    args = {"X": decaying(10, 4, 0)[:, None, :], "n_bootstrap": 0} | kwargs
    with pytest.raises(ValueError, match=field):
        S.compute_spectra(args.pop("X"), **args)


def test_reference_of_another_shape_is_rejected() -> None:
    ref = S.compute_spectra(decaying(20, 6, 0)[:, None, :], n_bootstrap=0).reference_basis()
    with pytest.raises(ValueError, match="reference"):
        S.compute_spectra(decaying(20, 7, 0)[:, None, :], n_bootstrap=0, reference=ref)

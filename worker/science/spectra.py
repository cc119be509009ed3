"""FlowLens spectra: per-layer PCA spectra of residual streams (numpy, float64).

Implements the "FlowLens spectra" definitions of DESIGN.md for activations X of shape
(N prompts, L layers, d). Covariances use ddof=1 (as ``np.cov``). Every record holds the
catalogue's metrics (backend/metrics.py) by name: ``values`` has exactly the names of
``Scope.LAYER`` (``Scope.RUN`` for the global basis), None where a metric is undefined or not
computed, and ``intervals`` the 95% bootstrap intervals of those with ``interval=True``. A name
the catalogue does not list is an error. Choices the design leaves open:

- Eigen-decomposition: worker/science/pca.py; TwoNN: worker/science/twonn.py, on a seeded random
  subset for layers with more than ``twonn_max_points`` points; bootstrap machinery:
  worker/science/bootstrap.py (a seeded generator per layer). Lists of eigenvalues are padded
  with zeros to min(n_top, d).
- flow@k = ||U_l^T U_{l+1}||_F^2 / k' with k' = min(k, directions available in both).
- alignment: ID = round-half-up of the reference's TwoNN ID, clipped to [1, d] and then to the
  number of directions available in both; None where the reference has no ID.
- Global basis: PCA of the stacked (N*L) x d matrix; its TwoNN uses a seeded subset of rows.
- Intervals: every scalar of the spectrum, mean_norm, intrinsic_dim and the refusal direction's
  variance share and norm. flow@k, alignment and refusal_direction_cos@k have none: they would
  need each resample's eigenvectors (a d x d eigendecomposition per resample and layer).
- TwoNN intervals resample the per-point ratios mu instead of recomputing neighbours (a resample
  with duplicated points has zero neighbour distances).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np

from backend.metrics import KS, REFUSAL_PCS, Scope, metrics_for
from worker.science.bootstrap import percentile_interval, resample_counts, resampled_eigenvalues
from worker.science.covariance import StreamingCovariance
from worker.science.pca import Eigen, Points, eigen_from_covariance, eigen_from_points
from worker.science.twonn import intrinsic_dim_twonn, twonn_fit, twonn_ratios

JSONFloat = float | None


# ---------------------------------------------------------------- metrics of a spectrum


def explained_variance_ratio(eigenvalues: np.ndarray) -> np.ndarray:
    """evr_i = lambda_i / sum(lambda); all zeros when the total variance is 0."""
    lam = np.asarray(eigenvalues, dtype=np.float64)
    total = lam.sum()
    return lam / total if total > 0 else np.zeros_like(lam)


def effective_rank(eigenvalues: np.ndarray) -> float:
    """exp(-sum evr ln evr) with 0 ln 0 = 0; NaN when the total variance is 0."""
    p = explained_variance_ratio(eigenvalues)
    p = p[p > 0]
    return float(np.exp(-(p * np.log(p)).sum())) if p.size else math.nan


def participation_ratio(eigenvalues: np.ndarray) -> float:
    """(sum lambda)^2 / sum lambda^2; NaN when the total variance is 0."""
    lam = np.asarray(eigenvalues, dtype=np.float64)
    sq = float((lam * lam).sum())
    return float(lam.sum()) ** 2 / sq if sq > 0 else math.nan


def mean_norm(X_l: np.ndarray) -> float:
    """Mean Euclidean norm of the (uncentred) rows of X_l."""
    return float(np.linalg.norm(np.asarray(X_l, dtype=np.float64), axis=1).mean())


def spectrum_values(eigenvalues: np.ndarray) -> dict[str, float]:
    """concentration@k (sum of the first k evr, k in KS), effective_rank, participation_ratio and
    total_variance of one spectrum (eigenvalues in descending order); NaN where undefined."""
    lam = np.asarray(eigenvalues, dtype=np.float64)
    cum = np.cumsum(explained_variance_ratio(lam))
    out = {f"concentration@{k}": float(cum[min(k, cum.size) - 1]) for k in KS}
    out["effective_rank"] = effective_rank(lam)
    out["participation_ratio"] = participation_ratio(lam)
    out["total_variance"] = float(lam.sum())
    return out


# ---------------------------------------------------------------- flow, alignment, refusal


def flow(U_l: np.ndarray, U_next: np.ndarray, k: int) -> float:
    """||U_l^T U_next||_F^2 / k' over the top-k' columns, k' = min(k, columns of both)."""
    k_eff = min(k, U_l.shape[1], U_next.shape[1])
    if k_eff < 1:
        return math.nan
    overlap = U_l[:, :k_eff].T @ U_next[:, :k_eff]
    return float((overlap * overlap).sum() / k_eff)


def id_index(intrinsic_dim: float, d: int) -> int | None:
    """1-based direction index round(ID) (half up), clipped to [1, d]; None if ID is not finite."""
    if not math.isfinite(intrinsic_dim):
        return None
    return int(min(max(math.floor(intrinsic_dim + 0.5), 1), d))


def alignment(U_run: np.ndarray, U_ref: np.ndarray, reference_id: float) -> float | None:
    """|cos(u_ID(run), u_ID(reference))| for unit-column direction matrices (d, m)."""
    i = id_index(reference_id, U_run.shape[0])
    if i is None:
        return None
    i = min(i, U_run.shape[1], U_ref.shape[1])
    if i < 1:
        return None
    return float(abs(U_run[:, i - 1] @ U_ref[:, i - 1]))


def refusal_direction(X_l: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """mean(X_l | unsafe) - mean(X_l | safe); labels 1 = unsafe, 0 = safe."""
    X = np.asarray(X_l, dtype=np.float64)
    unsafe = np.asarray(labels) == 1
    return X[unsafe].mean(axis=0) - X[~unsafe].mean(axis=0)


def refusal_values(Xc: np.ndarray, direction: np.ndarray, U: np.ndarray) -> dict[str, JSONFloat]:
    """refusal_direction_cos@k (|cos| with principal component k), refusal_direction_variance
    (share of the total variance along the unit direction) and refusal_direction_norm."""
    norm = float(np.linalg.norm(direction))
    r = direction / norm if norm > 0 else direction
    total = float((Xc * Xc).sum())
    along = float(((Xc @ r) ** 2).sum())
    cos = np.abs(U[:, : len(REFUSAL_PCS)].T @ r)
    out: dict[str, JSONFloat] = {
        f"refusal_direction_cos@{k}": float(c) for k, c in zip(REFUSAL_PCS, cos, strict=False)
    }
    out["refusal_direction_variance"] = along / total if total > 0 else None
    out["refusal_direction_norm"] = norm
    return out


def refusal_samples(pts: Points, labels: np.ndarray, counts: np.ndarray) -> dict[str, np.ndarray]:
    """refusal_direction_variance and refusal_direction_norm of each resample given by its counts
    (B, n), the direction re-estimated from the resampled prompts; NaN where a resample lacks safe
    or unsafe ones."""
    w = counts.astype(np.float64)
    unsafe = np.asarray(labels) == 1
    with np.errstate(invalid="ignore", divide="ignore"):
        D = (w * unsafe) @ pts.Xc / (w @ unsafe)[:, None]
        D -= (w * ~unsafe) @ pts.Xc / (w @ ~unsafe)[:, None]
        norm = np.linalg.norm(D, axis=1)
        R = D / norm[:, None]  # (B, d) unit directions
        n = w.shape[1]
        mean = w @ pts.Xc / n  # (B, d) the resamples' means
        along = (w.T * (pts.Xc @ R.T - (mean * R).sum(axis=1)) ** 2).sum(axis=0)
        total = w @ (pts.Xc * pts.Xc).sum(axis=1) - n * (mean * mean).sum(axis=1)
        return {"refusal_direction_variance": along / total, "refusal_direction_norm": norm}


# ---------------------------------------------------------------- bootstrap


def _intervals(
    pts: Points,
    mu: np.ndarray,
    labels: np.ndarray | None,
    n_bootstrap: int,
    rng: np.random.Generator,
) -> dict[str, list[float]]:
    """95% percentile intervals of the catalogue's per-layer metrics with ``interval=True``:
    the spectrum values of each resample, mean_norm, intrinsic_dim from resampled ratios mu, and
    with labels refusal_direction_variance and refusal_direction_norm."""
    n = pts.X.shape[0]
    counts = resample_counts(n, n_bootstrap, rng)
    rows = [spectrum_values(resampled_eigenvalues(pts, w)) for w in counts]
    samples = {name: np.array([row[name] for row in rows]) for name in rows[0]}
    samples["mean_norm"] = counts @ np.linalg.norm(pts.X, axis=1) / n
    if mu.size:
        samples["intrinsic_dim"] = twonn_fit(mu[rng.integers(0, mu.size, (n_bootstrap, mu.size))])
    if labels is not None:
        samples |= refusal_samples(pts, labels, counts)
    out = {}
    for metric in metrics_for(Scope.LAYER, interval=True):
        interval = percentile_interval(samples[metric.name]) if metric.name in samples else None
        if interval is not None:
            out[metric.name] = interval
    return out


# ---------------------------------------------------------------- records and reference


def _json(x: float | None) -> JSONFloat:
    return float(x) if x is not None and math.isfinite(x) else None


def _padded(values: np.ndarray, length: int) -> list[float]:
    out = np.zeros(length)
    head = values[:length]
    out[: head.size] = head
    return [float(v) for v in out]


def _catalogued(values: dict[str, float | None], scope: Scope) -> dict[str, JSONFloat]:
    """Every metric of ``scope``, in catalogue order, JSON-ready (None where not computed)."""
    names = [m.name for m in metrics_for(scope)]
    unknown = sorted(set(values) - set(names))
    if unknown:
        raise ValueError(f"values: {unknown} are not {scope} metrics of the catalogue")
    return {name: _json(values.get(name)) for name in names}


def _check_intervals(intervals: dict[str, list[float]]) -> None:
    names = {m.name for m in metrics_for(Scope.LAYER, interval=True)}
    unknown = sorted(set(intervals) - names)
    if unknown:
        raise ValueError(f"intervals: {unknown} are not per-layer metrics with an interval")


@dataclass
class Spectrum:
    """The top eigenvalues and evr (zero-padded) of one covariance of n rows, and the
    catalogue's metrics by name with their 95% intervals (JSON-ready)."""

    n: int
    eigenvalues: list[float]
    evr: list[float]
    values: dict[str, JSONFloat]
    intervals: dict[str, list[float]] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class LayerSpectrum(Spectrum):
    """FlowLens spectrum of one layer."""

    layer: int = 0


def _spectrum(n: int, lam: np.ndarray, n_top: int, d: int) -> dict[str, object]:
    """The Spectrum fields that follow from the eigenvalues alone."""
    return {
        "n": int(n),
        "eigenvalues": _padded(lam, min(n_top, d)),
        "evr": _padded(explained_variance_ratio(lam), min(n_top, d)),
        "values": spectrum_values(lam),
    }


@dataclass(frozen=True)
class ReferenceBasis:
    """What a later run needs to be aligned against this one (numpy arrays only)."""

    intrinsic_dim: np.ndarray  # (L,), NaN where unknown
    directions: np.ndarray  # (L, d, m), zero-padded past n_directions
    n_directions: np.ndarray  # (L,)
    global_intrinsic_dim: float
    global_directions: np.ndarray  # (d, m_global)

    def layer_directions(self, layer: int) -> np.ndarray:
        return self.directions[layer, :, : int(self.n_directions[layer])]

    def to_tensors(self) -> dict[str, np.ndarray]:
        """Safetensors-friendly dict of contiguous arrays."""
        return {
            "intrinsic_dim": np.ascontiguousarray(self.intrinsic_dim, dtype=np.float64),
            "directions": np.ascontiguousarray(self.directions, dtype=np.float64),
            "n_directions": np.ascontiguousarray(self.n_directions, dtype=np.int64),
            "global_intrinsic_dim": np.array([self.global_intrinsic_dim], dtype=np.float64),
            "global_directions": np.ascontiguousarray(self.global_directions, dtype=np.float64),
        }

    @classmethod
    def from_tensors(cls, tensors: dict[str, np.ndarray]) -> ReferenceBasis:
        return cls(
            intrinsic_dim=np.asarray(tensors["intrinsic_dim"], dtype=np.float64),
            directions=np.asarray(tensors["directions"], dtype=np.float64),
            n_directions=np.asarray(tensors["n_directions"], dtype=np.int64),
            global_intrinsic_dim=float(np.asarray(tensors["global_intrinsic_dim"]).ravel()[0]),
            global_directions=np.asarray(tensors["global_directions"], dtype=np.float64),
        )


def _nan_if_none(x: float | None) -> float:
    return math.nan if x is None else x


@dataclass
class SpectraResult:
    """Per-layer records, the global basis, and the principal directions behind them."""

    layers: list[LayerSpectrum]
    global_basis: Spectrum
    directions: list[np.ndarray]  # per layer (d, m_l)
    global_directions: np.ndarray  # (d, m)

    def to_dict(self) -> dict:
        return {
            "layers": [r.to_dict() for r in self.layers],
            "global_basis": self.global_basis.to_dict(),
        }

    def reference_basis(self, max_directions: int = 32) -> ReferenceBasis:
        d = self.global_directions.shape[0]
        m = min(max_directions, max((u.shape[1] for u in self.directions), default=0))
        stacked = np.zeros((len(self.layers), d, m))
        for layer, u in enumerate(self.directions):
            stacked[layer, :, : min(m, u.shape[1])] = u[:, :m]
        ids = [_nan_if_none(r.values["intrinsic_dim"]) for r in self.layers]
        return ReferenceBasis(
            intrinsic_dim=np.array(ids, dtype=np.float64),
            directions=stacked,
            n_directions=np.array([min(m, u.shape[1]) for u in self.directions], dtype=np.int64),
            global_intrinsic_dim=_nan_if_none(self.global_basis.values["intrinsic_dim"]),
            global_directions=self.global_directions[:, :max_directions].copy(),
        )


# ---------------------------------------------------------------- entry points


def _check_reference(reference: ReferenceBasis | None, L: int, d: int) -> None:
    if reference is not None and reference.directions.shape[:2] != (L, d):
        raise ValueError(
            f"reference: expected {L} layers of width {d}, got {reference.directions.shape[:2]}"
        )


def _check_labels(labels: np.ndarray | None, n: int) -> np.ndarray | None:
    if labels is None:
        return None
    labels = np.asarray(labels)
    if labels.shape != (n,) or not np.isin(labels, (0, 1)).all():
        raise ValueError(
            f"labels: expected {n} values in {{0, 1}} (1 = unsafe), got shape {labels.shape} "
            f"with values {np.unique(labels)[:5].tolist()}"
        )
    if labels.min() == labels.max():
        raise ValueError("labels: need at least one safe (0) and one unsafe (1) prompt")
    return labels


def _flows(directions: list[np.ndarray], layer: int) -> dict[str, float]:
    if layer + 1 >= len(directions):
        return {}
    return {f"flow@{k}": flow(directions[layer], directions[layer + 1], k) for k in KS}


def _alignment(reference: ReferenceBasis | None, layer: int | None, U: np.ndarray) -> JSONFloat:
    """Alignment of a layer's directions (``layer=None``: the global basis's) with the
    reference's; None without a reference."""
    if reference is None:
        return None
    if layer is None:
        return alignment(U, reference.global_directions, reference.global_intrinsic_dim)
    return alignment(U, reference.layer_directions(layer), float(reference.intrinsic_dim[layer]))


def _twonn_mu(pts: Points, max_points: int, rng: np.random.Generator) -> np.ndarray:
    n = pts.X.shape[0]
    if n <= max_points:
        return twonn_ratios(pts.X, pts.gram if pts.use_gram else None)
    return twonn_ratios(pts.X[np.sort(rng.choice(n, max_points, replace=False))])


def _global_basis(
    X: np.ndarray, n_top: int, max_points: int, rng: np.random.Generator
) -> tuple[Spectrum, np.ndarray]:
    """PCA of the stacked (N*L) x d matrix, without materialising it in float64 when N*L >= d."""
    N, L, d = X.shape
    if N * L < d:
        eig = eigen_from_points(X.reshape(N * L, d), n_top)
    else:
        acc = StreamingCovariance(d)
        for layer in range(L):
            acc.update(X[:, layer, :])
        eig = eigen_from_covariance(acc.covariance()[0], n_top)
    rows = np.sort(rng.choice(N * L, min(N * L, max_points), replace=False))
    sample = np.asarray(X.reshape(N * L, d)[rows], dtype=np.float64)
    basis = Spectrum(**_spectrum(N * L, eig.eigenvalues, n_top, d))
    basis.values["intrinsic_dim"] = intrinsic_dim_twonn(sample)
    return basis, eig.directions


def _layer_spectrum(
    X_l: np.ndarray,
    layer: int,
    *,
    n_top: int,
    n_bootstrap: int,
    twonn_max_points: int,
    rng: np.random.Generator,
    labels: np.ndarray | None,
) -> tuple[LayerSpectrum, np.ndarray]:
    pts = Points(X_l)
    n, d = pts.X.shape
    eig: Eigen = pts.eigen(max(n_top, len(REFUSAL_PCS)))
    mu = _twonn_mu(pts, twonn_max_points, rng)
    record = LayerSpectrum(**_spectrum(n, eig.eigenvalues, n_top, d), layer=layer)
    record.values["intrinsic_dim"] = float(twonn_fit(mu))
    record.values["mean_norm"] = mean_norm(pts.X)
    if labels is not None:
        direction = refusal_direction(pts.X, labels)
        record.values |= refusal_values(pts.Xc, direction, eig.directions)
    if n_bootstrap > 0:
        record.intervals = _intervals(pts, mu, labels, n_bootstrap, rng)
    return record, eig.directions[:, :n_top]


def _finish(
    records: list[LayerSpectrum],
    directions: list[np.ndarray],
    global_basis: Spectrum,
    global_directions: np.ndarray,
    reference: ReferenceBasis | None,
) -> SpectraResult:
    """Fill in what needs several layers or the reference (flow, alignment), then give every
    record exactly the catalogue's names."""
    for layer, record in enumerate(records):
        record.values |= _flows(directions, layer)
        record.values["alignment"] = _alignment(reference, layer, directions[layer])
        record.values = _catalogued(record.values, Scope.LAYER)
        _check_intervals(record.intervals)
    global_basis.values["alignment"] = _alignment(reference, None, global_directions)
    global_basis.values = _catalogued(global_basis.values, Scope.RUN)
    return SpectraResult(records, global_basis, directions, global_directions)


def compute_spectra(
    X: np.ndarray,
    *,
    n_top: int = 64,
    n_bootstrap: int = 200,
    seed: int = 0,
    labels: np.ndarray | None = None,
    reference: ReferenceBasis | None = None,
    twonn_max_points: int = 5000,
    progress: Callable[[int, int], None] | None = None,
) -> SpectraResult:
    """FlowLens spectra of activations X (N prompts, L layers, d), any float dtype.

    labels (N,): 1 = unsafe, 0 = safe, enables the refusal direction; reference: a
    ``ReferenceBasis`` of the same shape enables alignment; progress(done, L) after each layer.
    """
    X = np.asarray(X)
    if X.ndim != 3 or X.shape[0] < 3 or X.shape[2] < 1:
        raise ValueError(f"X: expected shape (N >= 3, L, d), got {X.shape}")
    if not np.isfinite(X).all():
        raise ValueError("X: contains non-finite values")
    N, L, d = X.shape
    labels = _check_labels(labels, N)
    _check_reference(reference, L, d)
    records, directions = [], []
    for layer in range(L):
        record, U = _layer_spectrum(
            X[:, layer, :],
            layer,
            n_top=n_top,
            n_bootstrap=n_bootstrap,
            twonn_max_points=twonn_max_points,
            rng=np.random.default_rng([seed, 0, layer]),
            labels=labels,
        )
        records.append(record)
        directions.append(U)
        if progress is not None:
            progress(layer + 1, L)
    global_basis, global_directions = _global_basis(
        X, n_top, twonn_max_points, np.random.default_rng([seed, 1])
    )
    return _finish(records, directions, global_basis, global_directions, reference)


def spectra_from_streaming(
    acc: StreamingCovariance, *, n_top: int = 64, reference: ReferenceBasis | None = None
) -> SpectraResult:
    """FlowLens spectra from a per-layer ``StreamingCovariance`` of n rows per layer (position
    "all"). intrinsic_dim, the intervals and the refusal direction need the points: not here."""
    L, d, n = acc.n_layers, acc.d, acc.n
    if n < 2:
        raise ValueError(f"n: expected at least 2 rows per layer, got {n}")
    _check_reference(reference, L, d)
    covs, norms = acc.covariance(), acc.mean_norm
    records, directions = [], []
    for layer in range(L):
        eig = eigen_from_covariance(covs[layer], n_top)
        record = LayerSpectrum(**_spectrum(n, eig.eigenvalues, n_top, d), layer=layer)
        record.values["mean_norm"] = float(norms[layer])
        records.append(record)
        directions.append(eig.directions)
    eig = eigen_from_covariance(acc.pooled_covariance(), n_top)
    global_basis = Spectrum(**_spectrum(n * L, eig.eigenvalues, n_top, d))
    return _finish(records, directions, global_basis, eig.directions, reference)

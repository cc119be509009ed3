"""FlowLens spectra: per-layer PCA spectra of residual streams (pure numpy, float64).

Implements the "FlowLens spectra" definitions of DESIGN.md for activations X of shape
(N prompts, L layers, d). Covariances use ddof=1 (as ``np.cov``). Choices the design leaves open:

- Eigenvalues come from the d x d covariance, or from the N x N centred Gram matrix when N < d
  (same non-zero eigenvalues); tiny negatives are clipped to 0. Lists of eigenvalues are padded
  with zeros to min(n_top, d).
- Principal directions are unit columns, only for eigenvalues above a numerical-rank tolerance,
  sign-normalised so that the entry of largest magnitude is positive.
- intrinsic_dim: TwoNN (Facco et al. 2017) on the distinct points, ratios mu = r2/r1 of the two
  nearest-neighbour distances (points with r1 = 0 dropped), d = slope of the least-squares line
  through the origin of -log(1 - F(mu)) vs log(mu), F(mu_(i)) = i/n, the largest 10% of mu
  discarded. Layers with more than ``twonn_max_points`` points use a seeded random subset.
- flow_next[k] = ||U_l^T U_{l+1}||_F^2 / k' with k' = min(k, directions available in both).
- alignment: ID = round-half-up of the reference's TwoNN ID, clipped to [1, d] and then to the
  number of directions available in both; None where the reference has no ID.
- Global basis: PCA of the stacked (N*L) x d matrix; its TwoNN uses a seeded subset of rows.
- Bootstrap: prompts resampled with replacement (a seeded ``numpy.random.Generator`` per layer);
  spectra of a resample from the weighted Gram / covariance of the original points (exactly the
  spectrum of ``np.cov(X[idx])``). TwoNN intervals resample the per-point ratios mu instead of
  recomputing neighbours (a resample with duplicated points has zero neighbour distances).
  Intervals are 95% percentile intervals. Caveat: a resample holds only ~0.63 N distinct points,
  so where d is not small against N, shape metrics of the spectrum (effective_rank above all) are
  biased in the resamples and the interval can exclude the point estimate.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from functools import cached_property

import numpy as np

EPS = float(np.finfo(np.float64).eps)
DEFAULT_KS: tuple[int, ...] = (1, 2, 3, 5, 10)
N_REFUSAL_PCS = 5
TWONN_DISCARD_FRACTION = 0.1
CI_LEVEL = 0.95
_CHUNK_ELEMENTS = 1 << 23  # rows x N elements per block of pairwise distances (64 MiB)
_EXACT_CANDIDATES = 4  # neighbour candidates whose distances are recomputed exactly

JSONFloat = float | None


# ---------------------------------------------------------------- metrics of a spectrum


def explained_variance_ratio(eigenvalues: np.ndarray) -> np.ndarray:
    """evr_i = lambda_i / sum(lambda); all zeros when the total variance is 0."""
    lam = np.asarray(eigenvalues, dtype=np.float64)
    total = lam.sum()
    return lam / total if total > 0 else np.zeros_like(lam)


def concentration_at_k(eigenvalues: np.ndarray, k: int) -> float:
    """concentration@k = sum of the first k evr (eigenvalues in descending order)."""
    return float(explained_variance_ratio(eigenvalues)[:k].sum())


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


def _spectrum_scalars(eigenvalues: np.ndarray, ks: Sequence[int]) -> dict[str, float]:
    """concentration@k for each k, effective_rank and participation_ratio of one spectrum."""
    evr = explained_variance_ratio(eigenvalues)
    cum = np.cumsum(evr)
    out = {f"concentration@{k}": float(cum[min(k, cum.size) - 1]) for k in ks}
    out["effective_rank"] = effective_rank(eigenvalues)
    out["participation_ratio"] = participation_ratio(eigenvalues)
    return out


# ---------------------------------------------------------------- eigen-decomposition


@dataclass(frozen=True)
class Eigen:
    """Spectrum of one covariance: eigenvalues (descending, >= 0) and top unit directions (d, m)."""

    eigenvalues: np.ndarray
    directions: np.ndarray


def _sign_normalise(U: np.ndarray) -> np.ndarray:
    """Flip each column so that its entry of largest magnitude is positive."""
    if U.shape[1] == 0:
        return U
    pivot = U[np.argmax(np.abs(U), axis=0), np.arange(U.shape[1])]
    return U * np.where(pivot < 0, -1.0, 1.0)


def _descending(values: np.ndarray) -> np.ndarray:
    return np.clip(values[::-1], 0.0, None)


def _n_directions(eigenvalues: np.ndarray, n_top: int, size: int) -> int:
    """Directions kept: at most n_top, only eigenvalues above the numerical-rank tolerance."""
    if eigenvalues.size == 0 or eigenvalues[0] <= 0:
        return 0
    tol = eigenvalues[0] * size * EPS
    return int(min(n_top, np.count_nonzero(eigenvalues > tol)))


def eigen_from_covariance(C: np.ndarray, n_top: int = 64) -> Eigen:
    """Eigen-decomposition of a symmetric covariance (d, d), descending."""
    C = np.asarray(C, dtype=np.float64)
    values, vectors = np.linalg.eigh(C)
    lam = _descending(values)
    m = _n_directions(lam, n_top, C.shape[0])
    return Eigen(lam, _sign_normalise(vectors[:, ::-1][:, :m].copy()))


def _eigen_from_gram(Xc: np.ndarray, gram: np.ndarray, n_top: int) -> Eigen:
    """Eigen of Xc^T Xc / (n-1) through the n x n Gram matrix Xc Xc^T (cheaper when n < d)."""
    n = Xc.shape[0]
    values, vectors = np.linalg.eigh(gram / (n - 1))
    lam = _descending(values)
    m = _n_directions(lam, n_top, max(Xc.shape))
    U = Xc.T @ vectors[:, ::-1][:, :m]
    U /= np.linalg.norm(U, axis=0)
    return Eigen(lam, _sign_normalise(U))


class _Points:
    """Float64 rows of one layer, their centred copy, and the centred Gram matrix on demand."""

    def __init__(self, X_l: np.ndarray) -> None:
        self.X = np.array(X_l, dtype=np.float64)
        self.Xc = self.X - self.X.mean(axis=0)

    @cached_property
    def gram(self) -> np.ndarray:
        return self.Xc @ self.Xc.T

    @property
    def use_gram(self) -> bool:
        """Whether resamples are cheaper through the Gram matrix: a resample has ~0.632 n distinct
        rows (eigvalsh of that size) versus a weighted d x d covariance (n d^2) and its eigvalsh."""
        n, d = self.Xc.shape
        return (0.632 * n) ** 3 < 0.75 * n * d * d + d**3

    def eigen(self, n_top: int) -> Eigen:
        n, d = self.Xc.shape
        if n < d:
            return _eigen_from_gram(self.Xc, self.gram, n_top)
        return eigen_from_covariance(self.Xc.T @ self.Xc / (n - 1), n_top)


def eigen_from_points(X_l: np.ndarray, n_top: int = 64) -> Eigen:
    """Eigenvalues and top principal directions of the centred covariance of X_l (n, d)."""
    return _Points(X_l).eigen(n_top)


# ---------------------------------------------------------------- TwoNN intrinsic dimension


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


def refusal_summary(Xc: np.ndarray, direction: np.ndarray, U: np.ndarray) -> dict:
    """|cos| of the refusal direction with the top PCs, and the share of variance along it."""
    norm = float(np.linalg.norm(direction))
    r = direction / norm if norm > 0 else direction
    total = float((Xc * Xc).sum())
    along = float(((Xc @ r) ** 2).sum())
    return {
        "cos_top_pcs": [float(c) for c in np.abs(U[:, :N_REFUSAL_PCS].T @ r)],
        "variance_share": along / total if total > 0 else None,
        "norm": norm,
    }


# ---------------------------------------------------------------- bootstrap


def _resampled_eigenvalues(pts: _Points, w: np.ndarray) -> np.ndarray:
    """Eigenvalues of np.cov(X[idx]) for a resample given by its counts w (n,), no row copies."""
    n = w.size
    if pts.use_gram:
        s = np.flatnonzero(w)
        ws = w[s].astype(np.float64)
        G = pts.gram[np.ix_(s, s)]
        h = G @ ws / n
        K = G - h[:, None] - h[None, :] + (ws @ h) / n
        root = np.sqrt(ws)
        K *= root[:, None] * root[None, :] / (n - 1)
        return _descending(np.linalg.eigvalsh(K))
    s = np.flatnonzero(w)
    Y = pts.Xc[s] - (w @ pts.Xc) / n
    Y *= np.sqrt(w[s])[:, None]
    return _descending(np.linalg.eigvalsh(Y.T @ Y / (n - 1)))


def _percentile_ci(samples: np.ndarray) -> list[float] | None:
    samples = samples[np.isfinite(samples)]
    if samples.size == 0:
        return None
    tail = 100.0 * (1.0 - CI_LEVEL) / 2.0
    lo, hi = np.percentile(samples, [tail, 100.0 - tail])
    return [float(lo), float(hi)]


def _bootstrap_intervals(
    pts: _Points, mu: np.ndarray, ks: Sequence[int], n_bootstrap: int, rng: np.random.Generator
) -> dict[str, list[float]]:
    """95% percentile intervals for concentration@k, effective_rank, participation_ratio,
    intrinsic_dim (resampled mu ratios) and mean_norm."""
    n = pts.X.shape[0]
    counts = np.stack([np.bincount(rng.integers(0, n, n), minlength=n) for _ in range(n_bootstrap)])
    rows = [_spectrum_scalars(_resampled_eigenvalues(pts, w), ks) for w in counts]
    samples = {key: np.array([row[key] for row in rows]) for key in rows[0]}
    samples["mean_norm"] = counts @ np.linalg.norm(pts.X, axis=1) / n
    if mu.size:
        samples["intrinsic_dim"] = twonn_fit(mu[rng.integers(0, mu.size, (n_bootstrap, mu.size))])
    cis = {key: _percentile_ci(values) for key, values in samples.items()}
    return {key: ci for key, ci in cis.items() if ci is not None}


# ---------------------------------------------------------------- streaming covariance


class StreamingCovariance:
    """Float64 running mean, covariance and mean row norm over batches (Chan et al. merge).

    With ``n_layers`` the accumulator holds one covariance per layer and ``update`` takes
    batches (n, n_layers, d); otherwise batches (n, d).
    """

    def __init__(self, d: int, n_layers: int | None = None) -> None:
        self.d = d
        self.n_layers = n_layers
        size = n_layers or 1
        self._n = 0
        self._mean = np.zeros((size, d))
        self._m2 = np.zeros((size, d, d))
        self._norm_sum = np.zeros(size)

    def update(self, batch: np.ndarray) -> None:
        """Add rows (n, d), or (n, n_layers, d) for a per-layer stack; float32 accepted."""
        batch = np.asarray(batch)
        expected = (self.d,) if self.n_layers is None else (self.n_layers, self.d)
        if batch.ndim != len(expected) + 1 or batch.shape[1:] != expected:
            raise ValueError(
                f"batch: expected shape (n, {', '.join(map(str, expected))}), got {batch.shape}"
            )
        nb = batch.shape[0]
        if nb == 0:
            return
        B = np.empty((self._mean.shape[0], nb, self.d))
        B[...] = batch.reshape(nb, -1, self.d).transpose(1, 0, 2)
        if not np.isfinite(B).all():
            raise ValueError("batch: contains non-finite values")
        self._norm_sum += np.linalg.norm(B, axis=2).sum(axis=1)
        mean_b = B.mean(axis=1)
        B -= mean_b[:, None, :]
        delta = mean_b - self._mean
        total = self._n + nb
        self._m2 += np.matmul(B.transpose(0, 2, 1), B)
        self._m2 += (self._n * nb / total) * delta[:, :, None] * delta[:, None, :]
        self._mean += delta * (nb / total)
        self._n = total

    @property
    def n(self) -> int:
        return self._n

    def _shaped(self, a: np.ndarray) -> np.ndarray:
        return a if self.n_layers is not None else a[0]

    @property
    def mean(self) -> np.ndarray:
        return self._shaped(self._mean.copy())

    @property
    def mean_norm(self) -> np.ndarray | float:
        norms = self._norm_sum / self._n
        return norms if self.n_layers is not None else float(norms[0])

    def covariance(self, ddof: int = 1) -> np.ndarray:
        """Covariance (d, d), or (n_layers, d, d); ddof=1 as np.cov."""
        if self._n - ddof <= 0:
            raise ValueError(f"covariance: needs more than {ddof} rows, got {self._n}")
        return self._shaped(self._m2 / (self._n - ddof))


def _pooled_covariance(covs: np.ndarray, means: np.ndarray, n: int) -> np.ndarray:
    """Covariance of the stacked rows of L groups of n rows each, from their covariances."""
    centred = means - means.mean(axis=0)
    m2 = (n - 1) * covs.sum(axis=0) + n * centred.T @ centred
    return m2 / (n * covs.shape[0] - 1)


# ---------------------------------------------------------------- records and reference


def _json(x: float | None) -> JSONFloat:
    return float(x) if x is not None and math.isfinite(x) else None


def _padded(values: np.ndarray, length: int) -> list[float]:
    out = np.zeros(length)
    head = values[:length]
    out[: head.size] = head
    return [float(v) for v in out]


@dataclass
class SpectrumSummary:
    """Spectral scalars shared by layer records and the global basis (JSON-ready)."""

    n: int
    eigenvalues: list[float]
    total_variance: float
    evr: list[float]
    concentration: dict[str, float]
    effective_rank: JSONFloat
    participation_ratio: JSONFloat
    intrinsic_dim: JSONFloat
    alignment: JSONFloat

    def to_dict(self) -> dict:
        return asdict(self)


def _summary_fields(
    n: int, lam: np.ndarray, ks: Sequence[int], n_top: int, d: int
) -> dict[str, object]:
    """The SpectrumSummary fields that follow from a spectrum alone."""
    scalars = _spectrum_scalars(lam, ks)
    return {
        "n": int(n),
        "eigenvalues": _padded(lam, min(n_top, d)),
        "total_variance": float(lam.sum()),
        "evr": _padded(explained_variance_ratio(lam), min(n_top, d)),
        "concentration": {str(k): scalars[f"concentration@{k}"] for k in ks},
        "effective_rank": _json(scalars["effective_rank"]),
        "participation_ratio": _json(scalars["participation_ratio"]),
    }


@dataclass
class LayerSpectrum(SpectrumSummary):
    """FlowLens spectrum of one layer."""

    layer: int = 0
    mean_norm: JSONFloat = None
    ci: dict[str, list[float]] | None = None
    flow_next: dict[str, float] | None = None
    refusal: dict | None = None


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


@dataclass
class SpectraResult:
    """Per-layer records, the global basis, and the principal directions behind them."""

    layers: list[LayerSpectrum]
    global_basis: SpectrumSummary
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
        ids = [r.intrinsic_dim if r.intrinsic_dim is not None else math.nan for r in self.layers]
        gid = self.global_basis.intrinsic_dim
        return ReferenceBasis(
            intrinsic_dim=np.array(ids, dtype=np.float64),
            directions=stacked,
            n_directions=np.array([min(m, u.shape[1]) for u in self.directions], dtype=np.int64),
            global_intrinsic_dim=gid if gid is not None else math.nan,
            global_directions=self.global_directions[:, :max_directions].copy(),
        )


# ---------------------------------------------------------------- entry points


def _check_ks(ks: Sequence[int]) -> tuple[int, ...]:
    out = tuple(sorted({int(k) for k in ks}))
    if not out or out[0] < 1:
        raise ValueError(f"ks: expected positive integers, got {list(ks)}")
    return out


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


def _flows(directions: list[np.ndarray], layer: int, ks: Sequence[int]) -> dict[str, float] | None:
    if layer + 1 >= len(directions):
        return None
    values = {str(k): flow(directions[layer], directions[layer + 1], k) for k in ks}
    return {k: v for k, v in values.items() if math.isfinite(v)} or None


def _layer_alignment(
    reference: ReferenceBasis | None, layer: int, directions: np.ndarray
) -> float | None:
    if reference is None:
        return None
    return alignment(
        directions, reference.layer_directions(layer), float(reference.intrinsic_dim[layer])
    )


def _global_alignment(reference: ReferenceBasis | None, directions: np.ndarray) -> float | None:
    if reference is None:
        return None
    return alignment(directions, reference.global_directions, reference.global_intrinsic_dim)


def _twonn_mu(pts: _Points, max_points: int, rng: np.random.Generator) -> np.ndarray:
    n = pts.X.shape[0]
    if n <= max_points:
        return twonn_ratios(pts.X, pts.gram if pts.use_gram else None)
    return twonn_ratios(pts.X[np.sort(rng.choice(n, max_points, replace=False))])


def _global_basis(
    X: np.ndarray, ks: Sequence[int], n_top: int, max_points: int, rng: np.random.Generator
) -> tuple[SpectrumSummary, np.ndarray]:
    """PCA of the stacked (N*L) x d matrix, without materialising it in float64 when N*L >= d."""
    N, L, d = X.shape
    if N * L < d:
        eig = eigen_from_points(X.reshape(N * L, d), n_top)
    else:
        acc = StreamingCovariance(d)
        for layer in range(L):
            acc.update(X[:, layer, :])
        eig = eigen_from_covariance(acc.covariance(), n_top)
    rows = np.sort(rng.choice(N * L, min(N * L, max_points), replace=False))
    sample = np.asarray(X.reshape(N * L, d)[rows], dtype=np.float64)
    fields = _summary_fields(N * L, eig.eigenvalues, ks, n_top, d)
    summary = SpectrumSummary(
        **fields, intrinsic_dim=_json(intrinsic_dim_twonn(sample)), alignment=None
    )
    return summary, eig.directions


def _layer_spectrum(
    X_l: np.ndarray,
    layer: int,
    *,
    ks: Sequence[int],
    n_top: int,
    n_bootstrap: int,
    twonn_max_points: int,
    rng: np.random.Generator,
    labels: np.ndarray | None,
) -> tuple[LayerSpectrum, np.ndarray]:
    pts = _Points(X_l)
    n, d = pts.X.shape
    eig = pts.eigen(max(n_top, N_REFUSAL_PCS))
    mu = _twonn_mu(pts, twonn_max_points, rng)
    refusal = None
    if labels is not None:
        refusal = refusal_summary(pts.Xc, refusal_direction(pts.X, labels), eig.directions)
    record = LayerSpectrum(
        **_summary_fields(n, eig.eigenvalues, ks, n_top, d),
        intrinsic_dim=_json(float(twonn_fit(mu))),
        alignment=None,
        layer=layer,
        mean_norm=mean_norm(pts.X),
        ci=_bootstrap_intervals(pts, mu, ks, n_bootstrap, rng) if n_bootstrap > 0 else {},
        refusal=refusal,
    )
    return record, eig.directions[:, :n_top]


def _finish(
    records: list[LayerSpectrum],
    directions: list[np.ndarray],
    global_basis: SpectrumSummary,
    global_directions: np.ndarray,
    ks: Sequence[int],
    reference: ReferenceBasis | None,
) -> SpectraResult:
    """Fill in what needs several layers or the reference: flow_next and alignment."""
    for layer, record in enumerate(records):
        record.flow_next = _flows(directions, layer, ks)
        record.alignment = _layer_alignment(reference, layer, directions[layer])
    global_basis.alignment = _global_alignment(reference, global_directions)
    return SpectraResult(records, global_basis, directions, global_directions)


def compute_spectra(
    X: np.ndarray,
    *,
    ks: Sequence[int] = DEFAULT_KS,
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
    ks = _check_ks(ks)
    labels = _check_labels(labels, N)
    _check_reference(reference, L, d)
    records, directions = [], []
    for layer in range(L):
        rng = np.random.default_rng([seed, 0, layer])
        record, U = _layer_spectrum(
            X[:, layer, :],
            layer,
            ks=ks,
            n_top=n_top,
            n_bootstrap=n_bootstrap,
            twonn_max_points=twonn_max_points,
            rng=rng,
            labels=labels,
        )
        records.append(record)
        directions.append(U)
        if progress is not None:
            progress(layer + 1, L)
    global_basis, global_directions = _global_basis(
        X, ks, n_top, twonn_max_points, np.random.default_rng([seed, 1])
    )
    return _finish(records, directions, global_basis, global_directions, ks, reference)


def spectra_from_covariances(
    covs: np.ndarray,
    means: np.ndarray,
    n: int,
    *,
    ks: Sequence[int] = DEFAULT_KS,
    n_top: int = 64,
    mean_norms: np.ndarray | None = None,
    reference: ReferenceBasis | None = None,
) -> SpectraResult:
    """FlowLens spectra from per-layer covariances (L, d, d) (ddof=1) and means (L, d) of n rows
    each (position "all"). intrinsic_dim, ci and refusal need the points: None / {} here."""
    covs = np.asarray(covs, dtype=np.float64)
    means = np.asarray(means, dtype=np.float64)
    if covs.ndim != 3 or covs.shape[1] != covs.shape[2]:
        raise ValueError(f"covs: expected shape (L, d, d), got {covs.shape}")
    L, d, _ = covs.shape
    if means.shape != (L, d):
        raise ValueError(f"means: expected shape {(L, d)}, got {means.shape}")
    if n < 2:
        raise ValueError(f"n: expected at least 2 rows per layer, got {n}")
    ks = _check_ks(ks)
    _check_reference(reference, L, d)
    norms = np.full(L, math.nan) if mean_norms is None else np.asarray(mean_norms, np.float64)
    records, directions = [], []
    for layer in range(L):
        eig = eigen_from_covariance(covs[layer], n_top)
        records.append(
            LayerSpectrum(
                **_summary_fields(n, eig.eigenvalues, ks, n_top, d),
                intrinsic_dim=None,
                alignment=None,
                layer=layer,
                mean_norm=_json(norms[layer]),
                ci={},
            )
        )
        directions.append(eig.directions)
    eig = eigen_from_covariance(_pooled_covariance(covs, means, n), n_top)
    global_basis = SpectrumSummary(
        **_summary_fields(n * L, eig.eigenvalues, ks, n_top, d),
        intrinsic_dim=None,
        alignment=None,
    )
    return _finish(records, directions, global_basis, eig.directions, ks, reference)


def spectra_from_streaming(
    acc: StreamingCovariance,
    *,
    ks: Sequence[int] = DEFAULT_KS,
    n_top: int = 64,
    reference: ReferenceBasis | None = None,
) -> SpectraResult:
    """spectra_from_covariances of a per-layer ``StreamingCovariance`` (or a single layer)."""
    covs, means = acc.covariance(), acc.mean
    norms = np.atleast_1d(acc.mean_norm)
    if acc.n_layers is None:
        covs, means = covs[None], means[None]
    return spectra_from_covariances(
        covs, means, acc.n, ks=ks, n_top=n_top, mean_norms=norms, reference=reference
    )

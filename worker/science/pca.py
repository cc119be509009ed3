"""Eigen-decomposition of a layer's covariance (pure numpy, float64), for FlowLens spectra.

- Eigenvalues come from the d x d covariance, or from the N x N centred Gram matrix when N < d
  (same non-zero eigenvalues); tiny negatives are clipped to 0.
- Principal directions are unit columns, only for eigenvalues above a numerical-rank tolerance,
  sign-normalised so that the entry of largest magnitude is positive.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

EPS = float(np.finfo(np.float64).eps)


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


def descending(values: np.ndarray) -> np.ndarray:
    """Eigenvalues of ``eigh``/``eigvalsh`` (ascending) in descending order, clipped at 0."""
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
    lam = descending(values)
    m = _n_directions(lam, n_top, C.shape[0])
    return Eigen(lam, _sign_normalise(vectors[:, ::-1][:, :m].copy()))


def _eigen_from_gram(Xc: np.ndarray, gram: np.ndarray, n_top: int) -> Eigen:
    """Eigen of Xc^T Xc / (n-1) through the n x n Gram matrix Xc Xc^T (cheaper when n < d)."""
    n = Xc.shape[0]
    values, vectors = np.linalg.eigh(gram / (n - 1))
    lam = descending(values)
    m = _n_directions(lam, n_top, max(Xc.shape))
    U = Xc.T @ vectors[:, ::-1][:, :m]
    U /= np.linalg.norm(U, axis=0)
    return Eigen(lam, _sign_normalise(U))


class Points:
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
    return Points(X_l).eigen(n_top)

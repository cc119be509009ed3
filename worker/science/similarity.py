"""Representation similarity of two prompt sets on one model (DESIGN.md, "Data similarity").

At each layer, the top-k principal subspace of each set's last-prompt residuals (the first k
right singular vectors of the centred N x d matrix) is compared by its principal angles: the
singular values of U_A^T U_B are cos(theta_1..k), and the subspace overlap is their mean cos^2,
1 for the same subspace, 0 for orthogonal ones, k/d expected for two random ones (``chance``).
numpy only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def principal_subspace(X: np.ndarray, k: int) -> np.ndarray:
    """Orthonormal d x k basis of the top-k principal components of the rows of ``X`` (N x d)."""
    n, d = X.shape
    if not 1 <= k <= min(n - 1, d):
        raise ValueError(f"k: need 1 <= k <= min(N - 1, d) = {min(n - 1, d)}, got {k}")
    centred = X.astype(np.float64) - X.mean(axis=0, dtype=np.float64)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    return vt[:k].T


def principal_cosines(U: np.ndarray, V: np.ndarray) -> np.ndarray:
    """cos of the principal angles between the spans of orthonormal bases ``U`` and ``V``
    (d x k each), largest first."""
    if U.shape != V.shape:
        raise ValueError(f"bases differ in shape: {U.shape} vs {V.shape}")
    return np.clip(np.linalg.svd(U.T @ V, compute_uv=False), 0.0, 1.0)


@dataclass(frozen=True)
class LayerOverlap:
    layer: int
    overlap: float  # mean cos^2 of the principal angles
    cosines: list[float]  # of the principal angles, largest first


def layer_overlaps(XA: np.ndarray, XB: np.ndarray, k: int) -> list[LayerOverlap]:
    """Subspace overlap per layer of two residual tensors (N_A x L x d and N_B x L x d)."""
    if XA.shape[1:] != XB.shape[1:]:
        raise ValueError(f"residuals differ in layers x d: {XA.shape[1:]} vs {XB.shape[1:]}")
    out = []
    for layer in range(XA.shape[1]):
        cosines = principal_cosines(
            principal_subspace(XA[:, layer], k), principal_subspace(XB[:, layer], k)
        )
        out.append(LayerOverlap(layer, float(np.mean(cosines**2)), cosines.tolist()))
    return out

"""The streaming float64 covariance behind position="all" captures and the global basis.

Rows arrive in batches (numpy arrays or torch tensors of any float dtype, on any device); only
running means, scatter matrices and norm sums are kept, in float64 on the accumulator's device
(a capture keeps them on the model's device), never the rows. Batches are merged with the
pairwise update of Chan et al. (batch mean and centred scatter, then the shift between means),
which stays exact where the mean is large against the spread.
"""

from __future__ import annotations

import numpy as np
import torch


class StreamingCovariance:
    """Running mean, covariance (ddof=1, as ``np.cov``) and mean row norm of the rows given to
    ``update``, for each of ``n_layers`` layers of width ``d``."""

    def __init__(self, d: int, n_layers: int = 1, device: str | torch.device = "cpu") -> None:
        self.d = d
        self.n_layers = n_layers
        kw = {"dtype": torch.float64, "device": device}
        self._count = [0] * n_layers
        self._mean = torch.zeros((n_layers, d), **kw)
        self._m2 = torch.zeros((n_layers, d, d), **kw)
        self._norm_sum = torch.zeros(n_layers, **kw)

    def update(self, rows: np.ndarray | torch.Tensor, layer: int = 0) -> None:
        """Add rows (n, d) of ``layer``."""
        if not 0 <= layer < self.n_layers:
            raise ValueError(f"layer: expected 0..{self.n_layers - 1}, got {layer}")
        B = torch.as_tensor(rows).to(self._mean.device, torch.float64)
        if B.ndim != 2 or B.shape[1] != self.d:
            raise ValueError(f"rows: expected shape (n, {self.d}), got {tuple(B.shape)}")
        nb = B.shape[0]
        if nb == 0:
            return
        if not bool(torch.isfinite(B).all()):
            raise ValueError("rows: contains non-finite values")
        n = self._count[layer]
        total = n + nb
        self._norm_sum[layer] += torch.linalg.vector_norm(B, dim=1).sum()
        mean_b = B.mean(dim=0)
        B = B - mean_b  # never in place: B may share memory with the caller's rows
        delta = mean_b - self._mean[layer]
        self._m2[layer] += B.T @ B + (n * nb / total) * torch.outer(delta, delta)
        self._mean[layer] += delta * (nb / total)
        self._count[layer] = total

    @property
    def n(self) -> int:
        """Rows per layer (the same for every layer, as in a capture)."""
        if len(set(self._count)) > 1:
            raise ValueError(f"layers: given different numbers of rows {self._count}")
        return self._count[0]

    @property
    def mean(self) -> np.ndarray:
        """Means (n_layers, d)."""
        return self._mean.cpu().numpy().copy()

    @property
    def mean_norm(self) -> np.ndarray:
        """Mean Euclidean row norms (n_layers,)."""
        return (self._norm_sum / self.n).cpu().numpy()

    def covariance(self, ddof: int = 1) -> np.ndarray:
        """Covariances (n_layers, d, d)."""
        n = self.n
        if n - ddof <= 0:
            raise ValueError(f"covariance: needs more than {ddof} rows, got {n}")
        return (self._m2 / (n - ddof)).cpu().numpy()

    def pooled_covariance(self) -> np.ndarray:
        """Covariance (d, d) of the rows of all layers stacked (the global basis's)."""
        n, L = self.n, self.n_layers
        if n * L < 2:
            raise ValueError(f"covariance: needs more than 1 row, got {n * L}")
        centred = self._mean - self._mean.mean(dim=0)
        m2 = self._m2.sum(dim=0) + n * centred.T @ centred
        return (m2 / (n * L - 1)).cpu().numpy()

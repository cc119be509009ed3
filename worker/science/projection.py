"""Per-prompt scores of a capture, for looking at the points (a projector-style scatter) and at the
prompts that load most on a direction: each prompt's coordinate on a layer's top principal
components and on its refusal direction.

A score is of the layer's centred residual on a unit direction, (x - mean_l) . u: the principal
directions are those of the spectra (``SpectraResult.directions``), the refusal direction is
``spectra.refusal_direction`` (mean(unsafe) - mean(safe)) made unit. Scores are float32 (they are
for plots and rankings); the capture job stores them next to the run's activations.
"""

from __future__ import annotations

import numpy as np

from worker.science.spectra import refusal_direction

N_COMPONENTS = 5  # principal components scored per layer


def projection_tensors(
    X: np.ndarray,
    directions: list[np.ndarray],
    idx: np.ndarray,
    labels: np.ndarray | None = None,
    n_components: int = N_COMPONENTS,
) -> dict[str, np.ndarray]:
    """Scores of the N prompts of X (N, L, d) at every layer, as safetensors-ready arrays:

    - ``pcs`` (N, L, k): on the first k = min(n_components, directions of every layer) columns
      of each layer's unit principal directions ``directions[l]`` (d, m_l);
    - ``refusal`` (N, L): on the unit refusal direction, NaN without ``labels`` (1 = unsafe,
      0 = safe, both present) or where the direction is zero;
    - ``idx`` (N,): the dataset row index of each prompt.
    """
    X = np.asarray(X)
    N, L, _ = X.shape
    if len(directions) != L:
        raise ValueError(f"directions: expected {L} layers, got {len(directions)}")
    idx = np.asarray(idx, dtype=np.int64)
    if idx.shape != (N,):
        raise ValueError(f"idx: expected {N} row indices, got shape {idx.shape}")
    k = min(n_components, *(u.shape[1] for u in directions))
    pcs = np.zeros((N, L, k), dtype=np.float32)
    refusal = np.full((N, L), np.nan, dtype=np.float32)
    for layer, U in enumerate(directions):
        X_l = np.asarray(X[:, layer, :], dtype=np.float64)
        Xc = X_l - X_l.mean(axis=0)
        pcs[:, layer, :] = Xc @ U[:, :k]
        if labels is not None:
            r = refusal_direction(X_l, labels)
            norm = np.linalg.norm(r)
            if norm > 0:
                refusal[:, layer] = Xc @ (r / norm)
    return {"pcs": pcs, "refusal": refusal, "idx": idx}

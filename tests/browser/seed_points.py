"""Per-prompt scores for a seeded run (tests/browser/seed.py writes runs without any), as a capture
at the last prompt token leaves them: ``projections.safetensors`` beside the run's activations
URI (the activations file itself is not written; nothing reads it).

The points are Gaussian with decaying variances, the unsafe prompts shifted by ``shift`` along one
fixed direction, so the refusal direction separates the labels.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from safetensors.numpy import save_file
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from backend.artifacts import PROJECTIONS_FILE, ArtifactStore
from backend.models import DatasetRow, Run
from worker.science.projection import projection_tensors


def principal_directions(X: np.ndarray) -> list[np.ndarray]:
    """Each layer's unit principal directions (d, min(N, d)) by numpy's SVD of the centred layer."""
    out = []
    for layer in range(X.shape[1]):
        Xc = X[:, layer] - X[:, layer].mean(axis=0)
        out.append(np.linalg.svd(Xc, full_matrices=False)[2].T)
    return out


def seed_points(
    url: str, artifact_root: Path, run_id: int, d: int = 16, shift: float = 12.0, seed: int = 0
) -> dict[str, np.ndarray]:
    """Write the scores of run ``run_id`` (its dataset's rows, its number of layers); returns them
    with ``prompt`` and ``label`` of each scored row added."""
    engine = create_engine(url)
    with Session(engine) as session, session.begin():
        run = session.get(Run, run_id)
        query = select(DatasetRow).where(DatasetRow.dataset_id == run.dataset_id)
        rows = list(session.scalars(query.order_by(DatasetRow.idx)))
        rng = np.random.default_rng(seed)
        unsafe = np.array([r.label == "unsafe" for r in rows], dtype=np.int64)
        X = rng.standard_normal((len(rows), run.n_layers, d)) * np.linspace(2.0, 0.2, d)
        X[unsafe == 1, :, 0] += shift
        idx = np.array([r.idx for r in rows])
        tensors = projection_tensors(X, principal_directions(X), idx, unsafe)
        store = ArtifactStore(str(artifact_root))
        prefix = f"runs/seeded-run-{run_id}"
        path = Path(store.root) / prefix / PROJECTIONS_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        save_file(tensors, str(path))
        run.activations_uri = store.uri(f"{prefix}/activations.safetensors")
        shown = {"prompt": [r.prompt for r in rows], "label": [r.label for r in rows]}
    engine.dispose()
    return tensors | shown

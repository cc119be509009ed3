"""``probe``: linear probes of unsafe vs safe per layer on a capture run's last-prompt residuals.

The run's stored activations (``X``: N prompts x L layers x d, and their labels) are read back;
one Probe row holds per-layer accuracy and AUROC with intervals, and an artifact each prompt's
held-out P(unsafe) per layer (``p_unsafe``: L x N, ``idx``: the prompts' dataset row indices).
"""

from __future__ import annotations

import numpy as np
from safetensors.numpy import load_file, save_file
from sqlalchemy import delete, select

from backend.jobs.params.geometry import ProbeParams
from backend.models import DatasetRow, Probe
from worker.context import JobContext, JobError
from worker.jobs.common import CACHE, residuals_run, store
from worker.science.probes import best_layer, fit_layer_probes, max_folds


def _row_indices(ctx: JobContext, dataset_id: int, n: int) -> np.ndarray:
    """The dataset row indices of the run's prompts (a capture takes the first rows in order)."""
    with ctx.transaction() as session:
        idx = session.scalars(
            select(DatasetRow.idx)
            .where(DatasetRow.dataset_id == dataset_id)
            .order_by(DatasetRow.idx)
            .limit(n)
        ).all()
    return np.asarray(idx, dtype=np.int64)


def probe(ctx: JobContext, params: ProbeParams) -> dict:
    run = residuals_run(ctx, params.run_id, params.capture_job_id, "run_id")
    run_id, dataset_id, n_prompts = run.id, run.dataset_id, run.n_prompts
    artifacts = store(ctx)
    tensors = load_file(str(artifacts.local_path(run.activations_uri, CACHE)))
    X, labels = tensors["X"], tensors["labels"]
    if params.folds > max_folds(labels):
        raise JobError(
            f"folds: {params.folds} folds need {params.folds} prompts of each label; run {run_id} "
            f"has {int(labels.sum())} unsafe and {int(len(labels) - labels.sum())} safe"
        )
    ctx.log(f"probing run {run_id}: {X.shape[0]} prompts x {X.shape[1]} layers x {X.shape[2]}")
    probes = fit_layer_probes(
        X,
        labels,
        folds=params.folds,
        C=params.C,
        seed=params.seed,
        progress=lambda done, total: ctx.progress(0.95 * done / total, f"layer {done}/{total}"),
    )
    key = f"probes/job-{ctx.job_id}/p_unsafe.safetensors"
    with artifacts.writing(key, CACHE) as path:
        save_file(
            {
                "p_unsafe": np.stack([p.p_unsafe for p in probes]),
                "idx": _row_indices(ctx, dataset_id, n_prompts),
                "labels": labels.astype(np.int64),
            },
            str(path),
        )
    layers = [
        {
            "layer": p.layer,
            "values": {"probe_accuracy": p.accuracy, "probe_auroc": p.auroc},
            "intervals": {
                "probe_accuracy": list(p.accuracy_interval),
                "probe_auroc": list(p.auroc_interval),
            },
        }
        for p in probes
    ]
    best = best_layer(probes)
    with ctx.transaction() as session:
        session.execute(delete(Probe).where(Probe.job_id == ctx.job_id))  # a re-run replaces
        row = Probe(
            job_id=ctx.job_id,
            run_id=run_id,
            folds=params.folds,
            n_prompts=int(X.shape[0]),
            n_unsafe=int(labels.sum()),
            best_layer=best,
            layers=layers,
            p_unsafe_uri=artifacts.uri(key),
        )
        session.add(row)
        session.flush()
        return {
            "probe_id": row.id,
            "run_id": run_id,
            "best_layer": best,
            "best_auroc": probes[best].auroc,
        }

"""``data_similarity``: how alike two prompt sets are, in their words and on one model.

Always the word n-gram overlap of the two sets' prompts (``backend/ngram_overlap.py``). With two
capture runs, their stored last-prompt residuals are compared; with a model, the newest default
capture (``resid_post``, chat template) of that model on each set is read back, and a set without
one is captured here on a seeded draw of ``max_prompts`` prompts (not stored as a run). The
result (the job's result, no table of its own) holds the overlaps and, per layer, the mean cos^2
of the principal angles between the two top-k subspaces (``worker/science/similarity.py``).
"""

from __future__ import annotations

import random

import numpy as np
from safetensors.numpy import load_file
from sqlalchemy import select

from backend.jobs.params.geometry import DataSimilarityParams
from backend.models import Model, Run
from backend.ngram_overlap import ngram_overlap
from worker.context import JobContext, JobError
from worker.jobs.common import CACHE, dataset_rows, load_registered_model, registered_model, store
from worker.science.capture import capture_last_prompt
from worker.science.similarity import layer_overlaps


def _stored_residuals(ctx: JobContext, run: Run) -> np.ndarray:
    return load_file(str(store(ctx).local_path(run.activations_uri, CACHE)))["X"]


def _default_run(ctx: JobContext, model_id: int, dataset_id: int) -> Run | None:
    """The newest run of the model on the dataset that kept residuals, captured as a default
    capture is (resid_post, chat template)."""
    with ctx.transaction() as session:
        runs = session.scalars(
            select(Run)
            .where(
                Run.model_id == model_id,
                Run.dataset_id == dataset_id,
                Run.activations_uri.is_not(None),
                Run.hook == "resid_post",
            )
            .order_by(Run.id.desc())
        )
        return next((r for r in runs if (r.params or {}).get("chat_template", True)), None)


def _given_runs(ctx: JobContext, params: DataSimilarityParams) -> tuple[Run, Run]:
    with ctx.transaction() as session:
        runs = (session.get(Run, params.run_id), session.get(Run, params.other_run_id))
    if None in runs or any(r.activations_uri is None for r in runs):
        raise JobError(f"run_id: runs {params.run_id} and {params.other_run_id} need residuals")
    return runs


def _residuals(
    ctx: JobContext, params: DataSimilarityParams, prompts: tuple[list[str], list[str]]
) -> tuple[Model, list[int | None], list[np.ndarray]]:
    """The model, the runs read (None for a set captured here) and the two residual tensors."""
    if params.run_id is not None:
        runs = _given_runs(ctx, params)
        model = registered_model(ctx, runs[0].model_id)
        return model, [r.id for r in runs], [_stored_residuals(ctx, r) for r in runs]
    model = registered_model(ctx, params.model_id, params.model_name)
    dataset_ids = (params.dataset_id, params.other_dataset_id)
    runs = [_default_run(ctx, model.id, dataset_id) for dataset_id in dataset_ids]
    loaded = None
    residuals = []
    for i, (run, texts) in enumerate(zip(runs, prompts, strict=True)):
        if run is not None:
            ctx.log(f"dataset {dataset_ids[i]}: residuals of run {run.id}")
            residuals.append(_stored_residuals(ctx, run))
            continue
        if loaded is None:
            _, loaded = load_registered_model(ctx, model.id)
        drawn = random.Random(f"{params.seed}").sample(texts, min(params.max_prompts, len(texts)))
        ctx.log(f"dataset {dataset_ids[i]}: capturing {len(drawn)} prompts")
        residuals.append(capture_last_prompt(loaded, drawn))
        ctx.progress(0.4 * (i + 1), f"captured set {i + 1}/2")
    return model, [r.id if r else None for r in runs], residuals


def data_similarity(ctx: JobContext, params: DataSimilarityParams) -> dict:
    sets = [dataset_rows(ctx, d)[1] for d in (params.dataset_id, params.other_dataset_id)]
    prompts = tuple([r.prompt for r in rows] for rows in sets)
    result = {
        "dataset_id": params.dataset_id,
        "other_dataset_id": params.other_dataset_id,
        "text": "prompts",
        "ngram_overlap": ngram_overlap(*prompts),
        "model_id": None,
    }
    if params.run_id is None and params.model_id is None and params.model_name is None:
        return result
    model, run_ids, (XA, XB) = _residuals(ctx, params, prompts)
    if XA.shape[1:] != XB.shape[1:]:
        raise JobError(f"run_id: residuals differ in layers x d: {XA.shape[1:]} vs {XB.shape[1:]}")
    d = XA.shape[2]
    most = min(XA.shape[0] - 1, XB.shape[0] - 1, d)
    if params.k > most:
        raise JobError(f"k: at most min(N_A - 1, N_B - 1, d_model) = {most}, got {params.k}")
    layers = layer_overlaps(XA, XB, params.k)
    return {
        **result,
        "model_id": model.id,
        "run_ids": run_ids,
        "n_prompts": [int(XA.shape[0]), int(XB.shape[0])],
        "k": params.k,
        "d_model": int(d),
        "chance": params.k / d,
        "layers": [
            {"layer": o.layer, "subspace_overlap": o.overlap, "cosines": o.cosines} for o in layers
        ],
    }

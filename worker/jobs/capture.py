"""``capture_spectra``: residual streams of a model on a prompt set, and their FlowLens spectra."""

from __future__ import annotations

import numpy as np
from safetensors.numpy import load_file, save_file
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from backend.artifacts import PROJECTIONS_FILE
from backend.jobs.params.geometry import CaptureSpectraParams
from backend.models import Run, RunLayer
from worker import faults
from worker.context import JobContext, JobError
from worker.jobs.common import CACHE, dataset_rows, load_registered_model, store
from worker.science.capture import capture_all_tokens_covariance, capture_last_prompt
from worker.science.projection import projection_tensors
from worker.science.spectra import (
    ReferenceBasis,
    SpectraResult,
    compute_spectra,
    spectra_from_streaming,
)
from worker.space import check_space

CAPTURE_SHARE = 0.6  # of the progress bar; spectra take the rest


def _reference(
    ctx: JobContext, params: CaptureSpectraParams, n_layers: int, d: int
) -> tuple[int | None, ReferenceBasis | None]:
    """The reference run (by id, or by the capture job that made it) and its basis."""
    if params.reference_run_id is None and params.reference_job_id is None:
        return None, None
    with ctx.transaction() as session:
        if params.reference_run_id is not None:
            run = session.get(Run, params.reference_run_id)
        else:
            run = session.scalar(select(Run).where(Run.job_id == params.reference_job_id))
    run_id = params.reference_run_id or f"of job {params.reference_job_id}"
    if run is None or run.basis_uri is None:
        raise JobError(f"reference_run_id: run {run_id} not found or has no basis")
    if (run.n_layers, run.d_model) != (n_layers, d):
        raise JobError(
            f"reference_run_id: run {run.id} has {run.n_layers} layers x {run.d_model}, "
            f"this model {n_layers} x {d}"
        )
    return run.id, ReferenceBasis.from_tensors(
        load_file(store(ctx).local_path(run.basis_uri, CACHE))
    )


def _save(ctx: JobContext, arrays: dict[str, np.ndarray], key: str) -> str:
    """Written to a temporary name beside ``key`` and renamed into place."""
    artifacts = store(ctx)
    with artifacts.writing(key, CACHE) as path:
        save_file({k: np.ascontiguousarray(v) for k, v in arrays.items()}, str(path))
        faults.reached("artifact_write")
    return artifacts.uri(key)


def add_run(session: Session, result: SpectraResult, **columns) -> Run:
    """A Run row with ``columns``, ``result``'s global basis and one RunLayer per layer."""
    run = Run(global_basis=result.global_basis.to_dict(), **columns)
    session.add(run)
    session.flush()
    session.add_all(
        RunLayer(
            run_id=run.id,
            layer=record.layer,
            eigenvalues=record.eigenvalues,
            evr=record.evr,
            values=record.values,
            intervals=record.intervals,
        )
        for record in result.layers
    )
    return run


def capture_spectra(ctx: JobContext, params: CaptureSpectraParams) -> dict:
    check_space(ctx, "capture_spectra", params)
    model_row, model = load_registered_model(ctx, params.model_id, params.model_name)
    dataset, rows = dataset_rows(ctx, params.dataset_id, params.max_prompts)
    if len(rows) < 3:
        raise JobError(f"dataset_id: need at least 3 prompts, dataset has {len(rows)}")
    reference_run_id, reference = _reference(ctx, params, model.n_layers, model.d_model)
    prompts = [r.prompt for r in rows]
    labels = np.array([r.label == "unsafe" for r in rows], dtype=np.int64)
    has_both = 0 < labels.sum() < len(labels)

    def capture_progress(fraction: float, message: str) -> None:
        ctx.progress(CAPTURE_SHARE * fraction, f"capture {message}")

    def spectra_progress(done: int, total: int) -> None:
        ctx.progress(CAPTURE_SHARE + (1 - CAPTURE_SHARE) * done / total, f"spectra {done}/{total}")

    options = dict(
        hook=params.hook, chat_template=params.chat_template, batch_size=params.batch_size
    )
    prefix = f"runs/job-{ctx.job_id}"
    activations_uri = None
    if params.position == "last_prompt":
        X = capture_last_prompt(model, prompts, progress=capture_progress, **options)
        activations_uri = _save(
            ctx, {"X": X, "labels": labels}, f"{prefix}/activations.safetensors"
        )
        result = compute_spectra(
            X,
            n_bootstrap=params.bootstrap,
            seed=params.seed,
            labels=labels if has_both else None,
            reference=reference,
            progress=spectra_progress,
        )
        idx = np.array([r.idx for r in rows])
        scores = projection_tensors(X, result.directions, idx, labels if has_both else None)
        _save(ctx, scores, f"{prefix}/{PROJECTIONS_FILE}")  # beside the activations
        n_rows = X.shape[0]
    else:
        acc = capture_all_tokens_covariance(model, prompts, progress=capture_progress, **options)
        result = spectra_from_streaming(acc, reference=reference)
        n_rows = acc.n
    basis_uri = _save(ctx, result.reference_basis().to_tensors(), f"{prefix}/basis.safetensors")
    with ctx.transaction() as session:
        session.execute(delete(Run).where(Run.job_id == ctx.job_id))  # a re-run replaces
        run = add_run(
            session,
            result,
            job_id=ctx.job_id,
            model_id=model_row.id,
            dataset_id=dataset.id,
            reference_run_id=reference_run_id,
            hook=params.hook,
            position=params.position,
            n_prompts=len(prompts),
            n_layers=model.n_layers,
            d_model=model.d_model,
            params=params.model_dump(),
            activations_uri=activations_uri,
            basis_uri=basis_uri,
        )
        return {"run_id": run.id, "n_prompts": len(prompts), "n_rows": int(n_rows)}

"""The refusal direction of a capture run as an intervention (for ``evaluate``), and the
``select_direction`` job: every layer's direction scored as Arditi et al.'s selection step does,
by how much ablating it lowers the refusal score of the unsafe prompts and what it costs on the
safe ones (KL), proposing the best.
"""

from __future__ import annotations

import numpy as np
from safetensors.numpy import load_file
from sqlalchemy import select

from backend.jobs.params.geometry import InterventionParams, SelectDirectionParams
from backend.models import Run, RunLayer
from worker.context import JobContext, JobError
from worker.jobs.common import CACHE, dataset_rows, load_registered_model, residuals_run, store
from worker.science.corpus import REFUSAL_TEXTS
from worker.science.generation import refusal_score, refusal_start_ids
from worker.science.interventions import Intervention, applied, kl_of, refusal_direction


def _direction_run(
    ctx: JobContext, run_id: int | None, capture_job_id: int | None, field: str
) -> tuple[Run, np.ndarray, np.ndarray, dict[int, float]]:
    """The run, its residuals X (N x L x d), labels and each layer's mean norm."""
    run = residuals_run(ctx, run_id, capture_job_id, field)
    with ctx.transaction() as session:
        norms = {
            layer.layer: layer.values.get("mean_norm")
            for layer in session.scalars(select(RunLayer).where(RunLayer.run_id == run.id))
        }
    saved = load_file(str(store(ctx).local_path(run.activations_uri, CACHE)))
    return run, saved["X"], saved["labels"], norms


def _checked_direction(X: np.ndarray, labels: np.ndarray, layer: int, field: str) -> np.ndarray:
    try:
        return refusal_direction(X, labels, layer)
    except ValueError as exc:
        raise JobError(f"{field}: {exc}") from None


def load_intervention(
    ctx: JobContext, spec: InterventionParams | None, d_model: int
) -> Intervention | None:
    """The intervention ``spec`` describes, its direction from the run's stored residuals."""
    if spec is None:
        return None
    run, X, labels, norms = _direction_run(
        ctx, spec.run_id, spec.capture_job_id, "intervention.run_id"
    )
    if not 0 <= spec.layer < run.n_layers:
        raise JobError(
            f"intervention.layer: run {run.id} has layers 0..{run.n_layers - 1}, got {spec.layer}"
        )
    if run.d_model != d_model:
        raise JobError(
            f"intervention.run_id: run {run.id} has d_model {run.d_model}, this model {d_model}"
        )
    return Intervention(
        kind=spec.kind,
        direction=_checked_direction(X, labels, spec.layer, "intervention.run_id"),
        layer=spec.layer,
        hook=run.hook,
        alpha=spec.alpha,
        mean_norm=float(norms.get(spec.layer) or 1.0),
    )


def select_direction(ctx: JobContext, params: SelectDirectionParams) -> dict:
    model_row, model = load_registered_model(ctx, params.model_id, params.model_name)
    run, X, labels, _ = _direction_run(ctx, params.run_id, params.capture_job_id, "run_id")
    if run.d_model != model.d_model:
        raise JobError(f"run_id: run {run.id} has d_model {run.d_model}, the model {model.d_model}")
    _, rows = dataset_rows(ctx, params.probe_dataset_id)
    limit = params.max_prompts  # of each label
    unsafe = [r.prompt for r in rows if r.label == "unsafe"][:limit]
    safe = [r.prompt for r in rows if r.label == "safe"][:limit]
    if not unsafe or not safe:
        raise JobError("probe_dataset_id: needs both safe and unsafe prompts")
    options = dict(chat_template=params.chat_template, batch_size=params.batch_size)
    refusal_ids = refusal_start_ids(model.tokenizer, REFUSAL_TEXTS)
    base = float(np.mean(refusal_score(model, unsafe, refusal_ids, **options)))
    top = int(np.floor(params.max_layer_fraction * run.n_layers))  # late layers excluded
    candidates = list(range(run.n_layers))
    scored = []
    for i, layer in enumerate(candidates):
        ablation = Intervention(
            "ablate", _checked_direction(X, labels, layer, "run_id"), layer, run.hook
        )
        with applied(model, ablation):
            ablated = float(np.mean(refusal_score(model, unsafe, refusal_ids, **options)))
        kl = kl_of(model, safe, ablation, **options)
        scored.append(
            {
                "layer": layer,
                "refusal_score_drop": base - ablated,
                "kl": kl,
                "eligible": layer < top and kl <= params.kl_max,
            }
        )
        ctx.progress((i + 1) / len(candidates), f"layer {layer + 1}/{len(candidates)}")
    eligible = [s for s in scored if s["eligible"]]
    best = max(eligible, key=lambda s: s["refusal_score_drop"]) if eligible else None
    ctx.log(
        f"model {model_row.name!r}: base refusal score {base:.3f} on {len(unsafe)} unsafe prompts;"
        + (f" best layer {best['layer']}" if best else " no layer passes the KL and layer filters")
    )
    return {
        "run_id": run.id,
        "model_id": model_row.id,
        "base_refusal_score": base,
        "layers": scored,
        "best_layer": best["layer"] if best else None,
        "n_unsafe": len(unsafe),
        "n_safe": len(safe),
    }

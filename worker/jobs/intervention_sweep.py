"""``intervention_sweep``: one model evaluated under interventions on its refusal direction,
expanded into child jobs like ``sweep``: (capture_spectra of the model on the probe set, when
no run is given ->) one evaluate per cell: the model as is, ablate each layer's direction, add
alpha x mean norm x the direction at each layer for each alpha."""

from __future__ import annotations

from backend.jobs.params.evaluation import EvaluateParams, InterventionSweepParams
from backend.jobs.params.geometry import CaptureSpectraParams, InterventionParams
from worker.context import JobContext
from worker.jobs.sweep import _child, expanded


def cells(params: InterventionSweepParams) -> list[dict | None]:
    """The interventions, in order (None: the model as is): baseline, ablations, then add by
    layer and alpha."""
    out: list[dict | None] = [None] if params.baseline else []
    if params.ablate:
        out += [{"kind": "ablate", "layer": layer, "alpha": 0.0} for layer in params.layers]
    out += [
        {"kind": "add", "layer": layer, "alpha": alpha}
        for layer in params.layers
        for alpha in params.alphas
    ]
    return out


def intervention_sweep(ctx: JobContext, params: InterventionSweepParams) -> dict:
    grid = cells(params)
    with ctx.transaction() as session:
        if expanded(session, ctx.job_id):
            return {"cells": len(grid)}
        model = {"model_id": params.model_id, "model_name": params.model_name}
        source = {"run_id": params.run_id, "capture_job_id": params.capture_job_id}
        if params.run_id is None and params.capture_job_id is None:
            capture = CaptureSpectraParams(
                **model,
                dataset_id=params.probe_dataset_id,
                bootstrap=params.bootstrap,
                chat_template=params.evaluate.get("chat_template", True),
            )
            source["capture_job_id"] = _child(session, ctx.job_id, "capture_spectra", capture)
        depends_on = [source["capture_job_id"]] if source["capture_job_id"] else []
        for cell in grid:
            evaluate = EvaluateParams(
                **params.evaluate,
                **model,
                probe_dataset_id=params.probe_dataset_id,
                heldout_dataset_id=params.heldout_dataset_id,
                intervention=InterventionParams(**cell, **source) if cell else None,
            )
            _child(session, ctx.job_id, "evaluate", evaluate, depends_on if cell else [])
    return {"cells": len(grid)}

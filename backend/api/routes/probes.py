"""Linear probes of a capture run (the ``probe`` job): per-layer accuracy and AUROC, each prompt's
held-out P(unsafe), and, for an evaluation of the same model and prompts, P(unsafe) of the safe
prompts it refused against those it answered ("the model reads these harmless prompts as harmful
from layer l on")."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from safetensors.numpy import load
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.api.deps import SessionDep, get_or_404
from backend.api.routes.projections import PromptColumns, prompt_columns
from backend.artifacts import ArtifactStore
from backend.models import Completion, Evaluation, Probe, Run

router = APIRouter(tags=["probes"])
REFUSED = ("full_refusal", "partial_refusal")
LayerQuery = Annotated[int | None, Query(ge=0, description="Default: the probe's best layer.")]


class ProbePublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    job_id: int
    run_id: int
    folds: int
    n_prompts: int
    n_unsafe: int
    best_layer: int
    layers: list[dict[str, Any]] = Field(
        description="Per layer: values and 95% intervals of probe_accuracy and probe_auroc."
    )
    created_at: datetime


class ProbePrompts(PromptColumns):
    probe_id: int
    layer: int
    p_unsafe: list[float] = Field(description="Held-out P(unsafe) of each prompt at the layer.")


class ProbeSplit(BaseModel):
    refused: list[float]
    answered: list[float]


class EvaluationProbe(BaseModel):
    evaluation_id: int
    probe: ProbePublic
    layer: int
    refused: list[float] = Field(description="P(unsafe) of the safe prompts refused.")
    answered: list[float] = Field(description="P(unsafe) of the safe prompts answered.")
    per_layer: list[ProbeSplit] | None = Field(
        None, description="With all_layers=true: the same split at every layer, layer 0 first."
    )


def _p_unsafe_at(
    request: Request, probe: Probe, layer: int | None
) -> tuple[int, dict[str, np.ndarray]]:
    """The layer asked for (None: the probe's best; 422 beyond its layers) and the probe's
    saved tensors: ``idx`` (the prompts' positions) and ``p_unsafe`` (layer x prompt)."""
    if layer is None:
        layer = probe.best_layer
    elif not 0 <= layer < len(probe.layers):
        raise HTTPException(422, f"layer: expected 0..{len(probe.layers) - 1}, got {layer}")
    store = ArtifactStore(request.app.state.settings.artifact_root)
    try:
        with store.open_file(store.key_of(probe.p_unsafe_uri)) as handle:
            return layer, load(handle.read())
    except OSError:
        raise HTTPException(404, f"probe {probe.id}: its P(unsafe) file is missing") from None


@router.get("/runs/{run_id}/probes", response_model=list[ProbePublic])
def list_run_probes(run_id: int, session: SessionDep) -> list[Probe]:
    """The probes fitted on a run, newest first."""
    get_or_404(session, Run, run_id, "run")
    query = select(Probe).where(Probe.run_id == run_id).order_by(Probe.id.desc())
    return list(session.scalars(query))


@router.get("/probes/{probe_id}", response_model=ProbePublic)
def read_probe(probe_id: int, session: SessionDep) -> Probe:
    return get_or_404(session, Probe, probe_id, "probe")


@router.get("/probes/{probe_id}/prompts", response_model=ProbePrompts)
def read_probe_prompts(
    probe_id: int, request: Request, session: SessionDep, layer: LayerQuery = None
) -> ProbePrompts:
    """Each prompt's held-out P(unsafe) at ``layer``, with its text, label and type."""
    probe = get_or_404(session, Probe, probe_id, "probe")
    layer, tensors = _p_unsafe_at(request, probe, layer)
    dataset_id = session.get(Run, probe.run_id).dataset_id
    return ProbePrompts(
        probe_id=probe.id,
        layer=layer,
        **prompt_columns(session, dataset_id, tensors["idx"].tolist()),
        p_unsafe=[float(p) for p in tensors["p_unsafe"][layer].tolist()],
    )


def probe_of_evaluation(session: Session, evaluation: Evaluation) -> Probe | None:
    """The newest probe on a run of the evaluation's model over the evaluation's prompt set."""
    query = (
        select(Probe)
        .join(Run, Run.id == Probe.run_id)
        .where(Run.model_id == evaluation.model_id, Run.dataset_id == evaluation.dataset_id)
        .order_by(Probe.id.desc())
    )
    return session.scalars(query).first()


@router.get("/evaluations/{evaluation_id}/probe", response_model=EvaluationProbe)
def read_evaluation_probe(
    evaluation_id: int,
    request: Request,
    session: SessionDep,
    layer: LayerQuery = None,
    all_layers: bool = Query(False, description="Also the split at every layer (per_layer)."),
) -> EvaluationProbe:
    """P(unsafe) at ``layer`` of the safe prompts the evaluation refused, against those it
    answered, from the newest probe of the same model on the same prompts."""
    evaluation = get_or_404(session, Evaluation, evaluation_id, "evaluation")
    probe = probe_of_evaluation(session, evaluation) if evaluation.model_id else None
    if probe is None:
        raise HTTPException(
            404,
            f"evaluation {evaluation_id}: no probe of its model on its prompt set (capture the "
            "model on that set, then run a probe job on the run)",
        )
    layer, tensors = _p_unsafe_at(request, probe, layer)
    row_of = {idx: row for row, idx in enumerate(tensors["idx"].tolist())}
    safe = select(Completion.idx, Completion.verdict).where(
        Completion.evaluation_id == evaluation_id, Completion.label == "safe"
    )
    verdicts = [
        (row_of[i], v in REFUSED)
        for i, v in session.execute(safe.order_by(Completion.idx))
        if i in row_of
    ]

    def split(at: int) -> ProbeSplit:
        p = tensors["p_unsafe"][at]
        return ProbeSplit(
            refused=[float(p[row]) for row, refused in verdicts if refused],
            answered=[float(p[row]) for row, refused in verdicts if not refused],
        )

    chosen = split(layer)
    return EvaluationProbe(
        evaluation_id=evaluation_id,
        probe=ProbePublic.model_validate(probe),
        layer=layer,
        refused=chosen.refused,
        answered=chosen.answered,
        per_layer=[split(at) for at in range(len(tensors["p_unsafe"]))] if all_layers else None,
    )

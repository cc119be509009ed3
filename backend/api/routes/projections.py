"""Per-prompt scores of a capture run at one layer: GET /api/runs/{id}/projections?layer=L.

The capture job (position last_prompt) writes ``projections.safetensors`` beside the run's
activations (worker/science/projection.py): each prompt's score on the layer's top principal
components and on its refusal direction. This route answers one layer of it with the prompts'
text, label and type, as columns in the prompts' order. A run never changes, so answers are
cached like its layers (backend/api/routes/runs.py).
"""

from __future__ import annotations

import posixpath

import numpy as np
from fastapi import APIRouter, HTTPException, Query, Request, Response
from pydantic import BaseModel, Field
from safetensors.numpy import load
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.api.deps import IMMUTABLE, cached_result, json_answer, not_found
from backend.artifacts import PROJECTIONS_FILE, ArtifactStore
from backend.models import DatasetRow, Run

router = APIRouter(tags=["runs"])


class PromptColumns(BaseModel):
    """A run's prompts as columns, in the run's order."""

    idx: list[int] = Field(description="Dataset row index of each prompt.")
    prompt: list[str]
    label: list[str]
    type: list[str]


def prompt_columns(session: Session, dataset_id: int, idx: list[int]) -> dict[str, list]:
    """The text, label and type of the dataset's rows at ``idx``, as PromptColumns' fields."""
    rows = {
        r.idx: r
        for r in session.scalars(
            select(DatasetRow).where(DatasetRow.dataset_id == dataset_id, DatasetRow.idx.in_(idx))
        )
    }
    columns = {
        name: [getattr(rows[i], name) if i in rows else "" for i in idx]
        for name in ("prompt", "label", "type")
    }
    return {"idx": idx, **columns}


class ProjectionPublic(PromptColumns):
    run_id: int
    layer: int
    n_layers: int
    components: list[str] = Field(description='The scored directions: "PC1", "PC2", ...')
    pcs: list[list[float]] = Field(description="Per component, each prompt's score.")
    refusal: list[float] | None = Field(
        description="Each prompt's score on the unit refusal direction; None when the prompt "
        "set lacks safe or unsafe prompts."
    )


def _short(values: np.ndarray) -> list[float]:
    return [float(f"{v:.5g}") for v in values.tolist()]


def _scores(store: ArtifactStore, run: Run) -> dict[str, np.ndarray]:
    missing = f"run {run.id} has no per-prompt scores"
    if run.activations_uri is None:
        raise HTTPException(404, f"{missing}: position {run.position!r} keeps no points")
    key = posixpath.join(posixpath.dirname(store.key_of(run.activations_uri)), PROJECTIONS_FILE)
    try:
        with store.open_file(key) as handle:
            return load(handle.read())
    except OSError:
        raise HTTPException(404, f"{missing}: captured before they were stored") from None


def projection_body(session: Session, store: ArtifactStore, run_id: int, layer: int) -> bytes:
    run = session.get(Run, run_id)
    if run is None:
        raise not_found("run", run_id)
    if not 0 <= layer < run.n_layers:
        raise HTTPException(422, f"layer: expected 0..{run.n_layers - 1}, got {layer}")
    tensors = _scores(store, run)
    pcs = tensors["pcs"][:, layer, :]
    refusal = tensors["refusal"][:, layer]
    body = ProjectionPublic(
        run_id=run.id,
        layer=layer,
        n_layers=run.n_layers,
        components=[f"PC{i + 1}" for i in range(pcs.shape[1])],
        **prompt_columns(session, run.dataset_id, tensors["idx"].tolist()),
        pcs=[_short(pcs[:, j]) for j in range(pcs.shape[1])],
        refusal=None if np.isnan(refusal).all() else _short(refusal),
    )
    return body.model_dump_json().encode()


@router.get("/runs/{run_id}/projections", response_model=ProjectionPublic)
async def read_projections(run_id: int, request: Request, layer: int = Query(0, ge=0)) -> Response:
    """Each prompt's scores at ``layer`` on the top principal components and the refusal
    direction, with its text, label and type."""
    store = ArtifactStore(request.app.state.settings.artifact_root)
    body = await cached_result(
        request,
        ("runs", run_id, "projections", layer),
        lambda session: projection_body(session, store, run_id, layer),
    )
    return json_answer(request, body, IMMUTABLE)

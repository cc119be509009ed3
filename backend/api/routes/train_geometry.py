"""Geometry during training: the runs a fine-tune captured before its first step and at each
checkpoint (``finetune``'s ``geometry_dataset_id``), per step and layer, for the job page's
curves on the loss curves' x-axis."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy import select

from backend.api.deps import SessionDep, get_or_404
from backend.models import Job, Run, RunLayer

router = APIRouter(tags=["jobs"])


class GeometryStep(BaseModel):
    step: int = Field(description="Optimiser steps done at the capture (0: the base model).")
    run_id: int
    values: list[dict[str, float | None]] = Field(
        description="Per layer, the catalogue's per-layer metrics (alignment: with step 0)."
    )


@router.get("/jobs/{job_id}/geometry", response_model=list[GeometryStep])
def read_train_geometry(job_id: int, session: SessionDep) -> list[GeometryStep]:
    """The fine-tune's captures in step order (empty when it captured none)."""
    get_or_404(session, Job, job_id, "job")
    runs = session.execute(
        select(Run.id, Run.train_step).where(Run.train_job_id == job_id).order_by(Run.train_step)
    ).all()
    layers: dict[int, list[dict]] = {run_id: [] for run_id, _ in runs}
    query = (
        select(RunLayer.run_id, RunLayer.values)
        .where(RunLayer.run_id.in_(list(layers)))
        .order_by(RunLayer.run_id, RunLayer.layer)
    )
    for run_id, values in session.execute(query):
        layers[run_id].append(values)
    return [GeometryStep(step=step, run_id=run_id, values=layers[run_id]) for run_id, step in runs]

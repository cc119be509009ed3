"""Capture runs and their per-layer spectra."""

from __future__ import annotations

from fastapi import APIRouter, Query
from sqlalchemy import select

from backend.api.deps import SessionDep, not_found, paginate, where_given
from backend.models import Run, RunLayer
from backend.schemas import Page, RunLayerPublic, RunPublic

router = APIRouter(tags=["runs"])


@router.get("/runs", response_model=Page[RunPublic])
def list_runs(
    session: SessionDep,
    model_id: int | None = None,
    dataset_id: int | None = None,
    ids: str | None = Query(None, description="Comma-separated run ids", pattern=r"^[\d,]*$"),
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0),
) -> Page[RunPublic]:
    query = where_given(select(Run), (Run.model_id, model_id), (Run.dataset_id, dataset_id))
    if ids:
        query = query.where(Run.id.in_([int(i) for i in ids.split(",") if i]))
    return paginate(session, query, RunPublic, Run.id.desc(), limit, offset)


@router.get("/runs/{run_id}", response_model=RunPublic)
def read_run(run_id: int, session: SessionDep) -> RunPublic:
    run = session.get(Run, run_id)
    if run is None:
        raise not_found("run", run_id)
    return RunPublic.model_validate(run)


@router.get("/runs/{run_id}/layers", response_model=list[RunLayerPublic])
def read_run_layers(run_id: int, session: SessionDep) -> list[RunLayerPublic]:
    if session.get(Run, run_id) is None:
        raise not_found("run", run_id)
    rows = session.scalars(
        select(RunLayer).where(RunLayer.run_id == run_id).order_by(RunLayer.layer)
    )
    return [RunLayerPublic.model_validate(r) for r in rows]

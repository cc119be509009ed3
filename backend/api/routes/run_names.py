"""Runs by name: GET /api/run-names, what the dashboard shows for a run in its dropdowns, legends
and titles ("model · dataset · hook", the id in small print), newest first, in one joined read
(no per-run fetches of the model and dataset, none of a run's spectra or params)."""

from __future__ import annotations

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import func, select

from backend.api.deps import SessionDep
from backend.models import Dataset, Model, Run
from backend.schemas import Page

router = APIRouter(tags=["runs"])


class RunName(BaseModel):
    id: int
    name: str
    model_id: int
    model_name: str
    dataset_id: int
    dataset_name: str
    hook: str
    position: str
    n_layers: int
    reference_run_id: int | None
    referenced_by: int = 0  # runs that use this one as their reference


def run_name(model_name: str, dataset_name: str, hook: str) -> str:
    return f"{model_name} · {dataset_name} · {hook}"


@router.get("/run-names", response_model=Page[RunName])
def list_run_names(
    session: SessionDep,
    ids: str | None = Query(None, description="Comma-separated run ids", pattern=r"^[\d,]*$"),
    limit: int = Query(200, ge=1, le=5000),
) -> Page[RunName]:
    """The newest ``limit`` runs, or those of ``ids``, with their model's and dataset's names."""
    users = (
        select(Run.reference_run_id, func.count().label("n"))
        .where(Run.reference_run_id.is_not(None))
        .group_by(Run.reference_run_id)
        .subquery()
    )
    query = (
        select(
            Run.id,
            Run.model_id,
            Run.dataset_id,
            Run.hook,
            Run.position,
            Run.n_layers,
            Run.reference_run_id,
            Model.name.label("model_name"),
            Dataset.name.label("dataset_name"),
            func.coalesce(users.c.n, 0).label("referenced_by"),
        )
        .join(Model, Model.id == Run.model_id)
        .join(Dataset, Dataset.id == Run.dataset_id)
        .outerjoin(users, users.c.reference_run_id == Run.id)
    )
    if ids:
        query = query.where(Run.id.in_([int(i) for i in ids.split(",") if i]))
    count = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(query.order_by(Run.id.desc()).limit(limit))
    data = [
        RunName(name=run_name(r.model_name, r.dataset_name, r.hook), **r._mapping) for r in rows
    ]
    return Page(data=data, count=count)

"""Capture runs and their per-layer spectra.

A run row is written once, with all its layers, when its capture succeeds, and never changes:
a run and its layers are answered from an in-process cache of their JSON (on the event loop, no
database connection), with a strong ETag and ``Cache-Control: max-age=60, immutable``. A DELETE
through this process evicts them at once (backend/api/deleting.py); a run deleted or replaced
elsewhere (another API process, a capture re-run: SQLite may give the new run the same id) is
answered anew within 60 s, like the clients' copies.
"""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import TypeAdapter
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend import deletion
from backend.api import deps
from backend.api.deleting import deleted_answer
from backend.api.deps import IMMUTABLE, PagingDep, SessionDep, cached_result, json_answer
from backend.models import Run, RunLayer
from backend.schemas import DeletedPublic, Page, RunLayerPublic, RunPublic

router = APIRouter(tags=["runs"])
LAYERS = TypeAdapter(list[RunLayerPublic])


@router.get("/runs", response_model=Page[RunPublic])
def list_runs(
    session: SessionDep,
    paging: PagingDep,
    model_id: int | None = None,
    dataset_id: int | None = None,
    ids: str | None = Query(None, description="Comma-separated run ids", pattern=r"^[\d,]*$"),
) -> StreamingResponse:
    query = deps.where_given(select(Run), (Run.model_id, model_id), (Run.dataset_id, dataset_id))
    if ids:
        query = query.where(Run.id.in_([int(i) for i in ids.split(",") if i]))
    return deps.paginate(session, query, RunPublic, Run.id.desc(), paging.limit, paging.offset)


@router.get("/runs/{run_id}", response_model=RunPublic)
async def read_run(run_id: int, request: Request) -> Response:
    def load(session: Session) -> bytes | None:
        run = session.get(Run, run_id)
        return None if run is None else RunPublic.model_validate(run).model_dump_json().encode()

    answer = await cached_result(request, ("runs", run_id, "run"), load)
    if answer is None:
        raise deps.not_found("run", run_id)
    return json_answer(request, answer, IMMUTABLE)


@router.get("/runs/{run_id}/layers", response_model=list[RunLayerPublic])
async def read_run_layers(run_id: int, request: Request) -> Response:
    def load(session: Session) -> bytes | None:
        if session.get(Run, run_id) is None:
            return None
        rows = session.scalars(
            select(RunLayer).where(RunLayer.run_id == run_id).order_by(RunLayer.layer)
        )
        return LAYERS.dump_json([RunLayerPublic.model_validate(r) for r in rows])

    answer = await cached_result(request, ("runs", run_id, "layers"), load)
    if answer is None:
        raise deps.not_found("run", run_id)
    return json_answer(request, answer, IMMUTABLE)


@router.get("/runs/{run_id}/dependants", response_model=dict[str, list[int]])
def read_run_dependants(run_id: int, session: SessionDep) -> dict[str, list[int]]:
    """Runs aligned to this one (their reference) and queued or running jobs naming it."""
    return deletion.run_dependants(session, deps.get_or_404(session, Run, run_id, "run"))


@router.delete("/runs/{run_id}", response_model=DeletedPublic)
def delete_run(
    run_id: int,
    session: deps.WriteSessionDep,
    settings: deps.SettingsDep,
    background: BackgroundTasks,
    cascade: bool = Query(False, description="Also delete the runs aligned to it."),
) -> DeletedPublic:
    """Delete a run, its layers and its activations; 409 listing its dependants unless
    ``cascade``."""
    run = deps.get_or_404(session, Run, run_id, "run")
    return deleted_answer(session, run, cascade, settings, background)

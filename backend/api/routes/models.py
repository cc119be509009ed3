"""The model registry."""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, HTTPException, Query
from fastapi.responses import StreamingResponse
from sqlalchemy import func, select

from backend import deletion
from backend.api.deleting import deleted_answer
from backend.api.deps import (
    SessionDep,
    SettingsDep,
    WriteSessionDep,
    get_or_404,
    paginate,
    where_given,
)
from backend.model_dirs import ModelNotFound, check_model_dir
from backend.models import Model
from backend.schemas import DeletedPublic, ModelCreate, ModelPublic, Page

router = APIRouter(tags=["models"])


@router.get("/models", response_model=Page[ModelPublic])
def list_models(
    session: SessionDep,
    source: str | None = Query(None, description="hub, local, demo or finetune"),
    parent_id: int | None = Query(None, description="Only models trained from this one."),
    q: str | None = Query(None, max_length=255, description="Name contains (any case)."),
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0),
) -> StreamingResponse:
    query = where_given(select(Model), (Model.source, source), (Model.parent_id, parent_id))
    if q:
        query = query.where(func.lower(Model.name).contains(q.lower(), autoescape=True))
    return paginate(session, query, ModelPublic, Model.id, limit, offset)


@router.get("/models/{model_id}", response_model=ModelPublic)
def read_model(model_id: int, session: SessionDep) -> ModelPublic:
    return ModelPublic.model_validate(get_or_404(session, Model, model_id, "model"))


@router.get("/models/{model_id}/lineage", response_model=list[ModelPublic])
def read_lineage(model_id: int, session: SessionDep) -> list[ModelPublic]:
    """The model, then its parent, its parent's parent, ... up to a model trained from none."""
    chain = [get_or_404(session, Model, model_id, "model")]
    seen = {model_id}
    while chain[-1].parent_id is not None and chain[-1].parent_id not in seen:
        parent = session.get(Model, chain[-1].parent_id)
        if parent is None:
            break
        seen.add(parent.id)
        chain.append(parent)
    return [ModelPublic.model_validate(m) for m in chain]


@router.post("/models", response_model=ModelPublic, status_code=201)
def register_model(body: ModelCreate, session: WriteSessionDep) -> ModelPublic:
    """Register a hub model (checked when a job loads it) or a local HF directory (checked now).

    The directory is checked first, in this worker thread and before the first query opens the
    write transaction: no filesystem wait ever holds the database's write lock."""
    if body.source == "local":
        try:
            check_model_dir(body.uri)
        except ModelNotFound as exc:
            raise HTTPException(422, f"uri: {exc}") from None
    if session.scalar(select(Model.id).where(Model.name == body.name)) is not None:
        raise HTTPException(409, f"name: a model named {body.name!r} already exists")
    model = Model(name=body.name, source=body.source, uri=body.uri)
    session.add(model)
    session.flush()
    return ModelPublic.model_validate(model)


@router.get("/models/{model_id}/dependants", response_model=dict[str, list[int]])
def read_model_dependants(model_id: int, session: SessionDep) -> dict[str, list[int]]:
    """Child models, runs, evaluations and queued or running jobs that need the model."""
    return deletion.model_dependants(session, get_or_404(session, Model, model_id, "model"))


@router.delete("/models/{model_id}", response_model=DeletedPublic)
def delete_model(
    model_id: int,
    session: WriteSessionDep,
    settings: SettingsDep,
    background: BackgroundTasks,
    cascade: bool = Query(False, description="Also delete its dependants; cancel those jobs."),
) -> DeletedPublic:
    """Delete a model (and its weights in the artifact store); 409 listing its dependants
    unless ``cascade``. A hub or local model's own files are never touched."""
    model = get_or_404(session, Model, model_id, "model")
    return deleted_answer(session, model, cascade, settings, background)

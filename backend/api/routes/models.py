"""The model registry."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Query
from sqlalchemy import select

from backend.api.deps import SessionDep, WriteSessionDep, get_or_404, paginate
from backend.model_dirs import ModelNotFound, check_model_dir
from backend.models import Model
from backend.schemas import ModelCreate, ModelPublic, Page

router = APIRouter(tags=["models"])


@router.get("/models", response_model=Page[ModelPublic])
def list_models(
    session: SessionDep, limit: int = Query(100, ge=1, le=1000), offset: int = Query(0, ge=0)
) -> Page[ModelPublic]:
    return paginate(session, select(Model), ModelPublic, Model.id, limit, offset)


@router.get("/models/{model_id}", response_model=ModelPublic)
def read_model(model_id: int, session: SessionDep) -> ModelPublic:
    return ModelPublic.model_validate(get_or_404(session, Model, model_id, "model"))


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

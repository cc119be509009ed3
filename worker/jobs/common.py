"""What several job kinds need: registered models and datasets, the artifact store."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from backend.artifacts import ArtifactStore
from backend.models import Dataset, DatasetRow, Model
from worker.context import JobContext, JobError
from worker.models.loading import LoadedModel, ModelNotFound, ModelTooLarge, load_model

CACHE = Path("var") / "cache"


def store(ctx: JobContext) -> ArtifactStore:
    return ArtifactStore(ctx.artifact_root)


def model_source(ctx: JobContext, model: Model) -> str:
    """A hub name or a local directory to load ``model`` from (artifacts copied to the cache)."""
    if model.source in ("demo", "finetune"):
        return str(store(ctx).local_path(model.uri, CACHE))
    return model.uri


def registered_model(ctx: JobContext, model_id: int | None, model_name: str | None = None) -> Model:
    """The model row given by id or by unique name."""
    with ctx.transaction() as session:
        if model_id is not None:
            model = session.get(Model, model_id)
        else:
            model = session.scalar(select(Model).where(Model.name == model_name))
    if model is None:
        raise JobError(f"model {model_id if model_id is not None else repr(model_name)} not found")
    return model


def load_registered_model(
    ctx: JobContext, model_id: int | None, model_name: str | None = None
) -> tuple[Model, LoadedModel]:
    model = registered_model(ctx, model_id, model_name)
    ctx.log(f"loading model {model.name!r} from {model.uri}")
    try:
        return model, load_model(model_source(ctx, model), device=ctx.device)
    except (ModelNotFound, ModelTooLarge) as exc:
        raise JobError(str(exc)) from None


def dataset_rows(
    ctx: JobContext, dataset_id: int, limit: int | None = None
) -> tuple[Dataset, list[DatasetRow]]:
    with ctx.transaction() as session:
        dataset = session.get(Dataset, dataset_id)
        if dataset is None:
            raise JobError(f"dataset {dataset_id} not found")
        query = (
            select(DatasetRow).where(DatasetRow.dataset_id == dataset_id).order_by(DatasetRow.idx)
        )
        rows = list(session.scalars(query.limit(limit)))
    if not rows:
        raise JobError(f"dataset {dataset_id} ({dataset.name}) has no rows")
    return dataset, rows

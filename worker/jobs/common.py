"""What several job kinds need: registered models and datasets, the artifact store."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.artifacts import ArtifactStore
from backend.jobs.lora_targets import lora_targets
from backend.models import Dataset, DatasetRow, Model, Run
from worker.context import JobContext, JobError
from worker.models.loading import (
    LoadedModel,
    ModelNotFound,
    ModelTooLarge,
    check_training_fits,
    load_model,
    read_model_dir,
)
from worker.science.memory import Plan, sharded_over

CACHE = Path("var") / "cache"


def store(ctx: JobContext) -> ArtifactStore:
    return ArtifactStore(ctx.artifact_root)


def model_source(ctx: JobContext, model: Model) -> str:
    """A hub name or a local directory to load ``model`` from (artifacts copied to the cache)."""
    if model.source in ("demo", "finetune"):
        return str(store(ctx).local_path(model.uri, CACHE))
    return model.uri


def by_id_or(session: Session, table, row_id: int | None, column, value):
    """The ``table`` row with primary key ``row_id``, else the one whose ``column`` is ``value``
    (None if there is none)."""
    if row_id is not None:
        return session.get(table, row_id)
    return session.scalar(select(table).where(column == value))


def registered_model(ctx: JobContext, model_id: int | None, model_name: str | None = None) -> Model:
    """The model row given by id or by unique name."""
    with ctx.transaction() as session:
        model = by_id_or(session, Model, model_id, Model.name, model_name)
    if model is None:
        raise JobError(f"model {model_id if model_id is not None else repr(model_name)} not found")
    return model


def load_registered_model(
    ctx: JobContext, model_id: int | None, model_name: str | None = None, dtype: str = "auto"
) -> tuple[Model, LoadedModel]:
    """The model row and the model loaded on the job's device (``dtype`` "auto": bfloat16 on
    CUDA, float32 elsewhere)."""
    model = registered_model(ctx, model_id, model_name)
    ctx.log(f"loading model {model.name!r} from {model.uri}")
    try:
        source = model_source(ctx, model)
        return model, load_model(
            source, device=ctx.device, dtype=None if dtype == "auto" else dtype
        )
    except (ModelNotFound, ModelTooLarge) as exc:
        raise JobError(str(exc)) from None


def check_training_memory(ctx: JobContext, model: Model, params, kind: str) -> None:
    """Before loading: JobError with the numbers and the options that would fit when training
    ``model`` with ``params`` (batch_size, max_length, dtype, lora*, gradient_checkpointing)
    needs more memory than the device has free. Models not in a local directory are skipped
    (their loading checks the weights alone)."""
    root = Path(model_source(ctx, model)).expanduser()
    if not (root / "config.json").is_file():
        return
    try:
        config, shape = read_model_dir(root)
        targets = tuple(lora_targets(config.get("model_type", ""), params.lora_target_modules))
    except (OSError, ValueError, KeyError, StopIteration) as exc:
        raise JobError(f"model {model.name!r}: {exc}") from None
    cuda = ctx.device.startswith("cuda")
    itemsize = {"auto": 2 if cuda else 4, "float32": 4, "bfloat16": 2}[params.dtype]
    full = Plan(
        batch=params.batch_size,
        seq=params.max_length,
        itemsize=itemsize,
        checkpointing=params.gradient_checkpointing,
        devices=sharded_over(params),
    )
    lora = replace(full, lora_rank=params.lora_rank or 8, targets=targets)
    try:
        check_training_fits(
            f"{kind} of {model.name!r}", shape, lora if params.lora_rank else full, ctx.device, lora
        )
    except ModelTooLarge as exc:
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


def residuals_run(
    ctx: JobContext, run_id: int | None, capture_job_id: int | None, field: str
) -> Run:
    """The capture run given by id or by the capture job that made it, which kept its
    last-prompt residuals (probes and refusal directions read them); detached."""
    with ctx.transaction() as session:
        run = by_id_or(session, Run, run_id, Run.job_id, capture_job_id)
        if run is None:
            which = run_id or f"of capture job {capture_job_id}"
            raise JobError(f"{field}: run {which} not found")
        if run.activations_uri is None:
            raise JobError(f"{field}: run {run.id} kept no residuals (position {run.position!r})")
        session.expunge(run)
    return run

"""Datasets: list, read, rows, and upload (JSONL, CSV, XSTest, OR-Bench) with limits."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, File, Form, HTTPException, Query, UploadFile
from fastapi.responses import StreamingResponse
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from backend import dataset_roles, deletion, queue
from backend.api.deleting import deleted_answer
from backend.api.deps import (
    SessionDep,
    SettingsDep,
    WriteSessionDep,
    get_or_404,
    paginate,
    where_given,
)
from backend.config import Settings
from backend.dataset_import import (
    FORMATS,
    ImportFormatError,
    ImportTooLarge,
    Limits,
    parse_dataset,
)
from backend.models import Dataset, DatasetRow
from backend.schemas import DatasetPublic, DatasetRowPublic, DeletedPublic, Page, UploadLimits

router = APIRouter(tags=["datasets"])
LIMITS = Limits()
NAME_PATTERN = r"^[\w.\-]{1,100}$"


def public(session: Session, datasets: list[Dataset]) -> list[DatasetPublic]:
    """Datasets as the API shows them, each with its role (backend/dataset_roles.py)."""
    found = dataset_roles.roles(session, datasets)
    return [
        DatasetPublic.model_validate(d).model_copy(update={"role": found[d.id]}) for d in datasets
    ]


@router.get("/datasets", response_model=Page[DatasetPublic])
def list_datasets(
    session: SessionDep,
    role: str | None = Query(None, description=f"Only one of {', '.join(dataset_roles.ROLES)}"),
) -> Page[DatasetPublic]:
    every = public(session, list(session.scalars(select(Dataset).order_by(Dataset.id))))
    if role is not None and role not in dataset_roles.ROLES:
        raise HTTPException(422, f"role: must be one of {', '.join(dataset_roles.ROLES)}")
    kept = [d for d in every if role in (None, d.role)]
    return Page(data=kept, count=len(kept))


@router.get("/datasets/limits", response_model=UploadLimits)
def upload_limits(settings: SettingsDep) -> UploadLimits:
    """What an upload may hold: the UI checks a file's size against it before sending it."""
    limits = upload_limits_of(settings)
    return UploadLimits(
        max_bytes=limits.max_bytes,
        max_rows=limits.max_rows,
        max_field_chars=limits.max_field_chars,
        formats=list(FORMATS),
    )


@router.get("/datasets/{dataset_id}", response_model=DatasetPublic)
def read_dataset(dataset_id: int, session: SessionDep) -> DatasetPublic:
    return public(session, [get_or_404(session, Dataset, dataset_id, "dataset")])[0]


@router.get("/datasets/{dataset_id}/dependants", response_model=dict[str, list[int]])
def read_dataset_dependants(dataset_id: int, session: SessionDep) -> dict[str, list[int]]:
    """What needs the dataset (runs, evaluations, queued or running jobs): what a delete with
    cascade=true would delete or cancel."""
    dataset = get_or_404(session, Dataset, dataset_id, "dataset")
    return deletion.dataset_dependants(session, dataset)


@router.delete("/datasets/{dataset_id}", response_model=DeletedPublic)
def delete_dataset(
    dataset_id: int,
    session: WriteSessionDep,
    settings: SettingsDep,
    background: BackgroundTasks,
    cascade: bool = Query(False, description="Also delete its dependants; cancel those jobs."),
) -> DeletedPublic:
    """Delete a dataset and its rows; 409 listing its dependants unless ``cascade``."""
    dataset = get_or_404(session, Dataset, dataset_id, "dataset")
    return deleted_answer(session, dataset, cascade, settings, background)


@router.get("/datasets/{dataset_id}/rows", response_model=Page[DatasetRowPublic])
def read_dataset_rows(
    dataset_id: int,
    session: SessionDep,
    type: str | None = None,
    label: str | None = None,
    limit: int = Query(50, ge=1, le=1000),
    offset: int = Query(0, ge=0),
) -> StreamingResponse:
    get_or_404(session, Dataset, dataset_id, "dataset")
    query = where_given(
        select(DatasetRow).where(DatasetRow.dataset_id == dataset_id),
        (DatasetRow.type, type),
        (DatasetRow.label, label),
    )
    return paginate(session, query, DatasetRowPublic, DatasetRow.idx, limit, offset)


def upload_limits_of(settings: Settings) -> Limits:
    """The limits of one upload: the file no larger than FLOWLENS_MAX_UPLOAD_BYTES (and
    ``LIMITS.max_bytes``)."""
    return replace(LIMITS, max_bytes=min(LIMITS.max_bytes, settings.max_upload_bytes))


def insert_rows(session: Session, values: list[dict]) -> None:
    """Dataset rows in one driver-level executemany: SQLAlchemy's per-row bind processing
    would take 4x the insert itself (100k rows on SQLite: 1.8 s against 0.4 s), all of it
    inside the write transaction."""
    if not values:
        return
    conn = session.connection()
    statement = insert(DatasetRow.__table__).compile(
        dialect=conn.dialect, column_keys=list(values[0])
    )
    if statement.positional:  # SQLite's "?" style
        values = [tuple(v[k] for k in statement.positiontup) for v in values]
    conn.exec_driver_sql(str(statement), values)


@router.post("/datasets", response_model=DatasetPublic, status_code=201)
def upload_dataset(
    session: WriteSessionDep,
    settings: SettingsDep,
    file: Annotated[UploadFile, File(description="The data file")],
    name: Annotated[str, Form(pattern=NAME_PATTERN)],
    format: Annotated[str, Form(description=f"One of {', '.join(FORMATS)}")],
    label: Annotated[
        str | None, Form(description="Label for rows without one (safe or unsafe)")
    ] = None,
    split: Annotated[
        str | None,
        Form(description="OR-Bench split: hard-1k or 80k (safe), toxic (unsafe); sets the label"),
    ] = None,
) -> DatasetPublic:
    """Import a file in one transaction (all rows or none) and queue its diversity stats.

    A plain (sync) route: reading and parsing run in a worker thread, never on the event loop,
    and before the first query opens the write transaction, which then only inserts (rows in one
    bulk statement)."""
    if format not in FORMATS:
        raise HTTPException(422, f"format: must be one of {', '.join(FORMATS)}")
    limits = upload_limits_of(settings)
    data = file.file.read(limits.max_bytes + 1)
    try:
        rows = parse_dataset(data, format, label=label, split=split or None, limits=limits)
    except ImportTooLarge as exc:
        raise HTTPException(413, f"file: {exc}") from None
    except ImportFormatError as exc:
        raise HTTPException(400, f"file: {exc}") from None
    values = [
        {"idx": i, "prompt": r.prompt, "response": r.response, "label": r.label, "type": r.type}
        for i, r in enumerate(rows)
    ]
    if session.scalar(select(Dataset.id).where(Dataset.name == name)) is not None:
        raise HTTPException(409, f"name: a dataset named {name!r} already exists")
    dataset = Dataset(
        name=name,
        source="upload",
        format=format,
        description=f"uploaded {file.filename or 'file'}",
        n_rows=len(rows),
    )
    session.add(dataset)
    session.flush()
    insert_rows(session, [{**v, "dataset_id": dataset.id} for v in values])
    queue.enqueue(session, "dataset_stats", {"dataset_id": dataset.id})
    return DatasetPublic.model_validate(dataset)

"""Snapshots: a page's view frozen with its data (text, plotly figures, tables), read-only,
behind a stable link (/snapshots/<id> in the dashboard). Creating one is a write (a token in
team mode); reading is public like every GET."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from backend.api.deps import PagingDep, SessionDep, WriteSessionDep, get_or_404, paginate
from backend.api.routes.labels import labeller_of
from backend.models import Snapshot
from backend.schemas import Page, RequestBody

router = APIRouter(tags=["snapshots"])


class SnapshotTable(RequestBody):
    columns: list[str]
    rows: list[list[str]]


class SnapshotCreate(RequestBody):
    page: str = Field(min_length=1, max_length=64, description="The page frozen, e.g. relation.")
    title: str = Field(min_length=1, max_length=300)
    source: str = Field(
        max_length=4000,
        pattern=r"^/([^/].*)?$",
        description="The live view: its path and query on the dashboard, e.g. /relation?sweep=3.",
    )
    text: list[str] = Field(default=[], max_length=50, description="Summary lines.")
    figures: list[dict[str, Any]] = Field(default=[], max_length=8, description="Plotly figures.")
    tables: list[SnapshotTable] = Field(default=[], max_length=8)


class SnapshotSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    page: str
    title: str
    source: str
    created_by: str
    created_at: datetime


class SnapshotPublic(SnapshotSummary):
    content: dict[str, Any] = Field(description="text, figures and tables as frozen.")


@router.post("/snapshots", response_model=SnapshotPublic, status_code=201)
def create_snapshot(
    body: SnapshotCreate, request: Request, session: WriteSessionDep
) -> SnapshotPublic:
    """Freeze a view: its data is stored, so the snapshot never changes."""
    row = Snapshot(
        page=body.page,
        title=body.title,
        source=body.source,
        content=body.model_dump(include={"text", "figures", "tables"}),
        created_by=labeller_of(request),
    )
    session.add(row)
    session.flush()
    return SnapshotPublic.model_validate(row)


@router.get("/snapshots", response_model=Page[SnapshotSummary])
def list_snapshots(session: SessionDep, paging: PagingDep) -> StreamingResponse:
    """Snapshots, newest first (without their content)."""
    return paginate(
        session,
        select(Snapshot),
        SnapshotSummary,
        Snapshot.id.desc(),
        paging.limit,
        paging.offset,
    )


@router.get("/snapshots/{snapshot_id}", response_model=SnapshotPublic)
def read_snapshot(snapshot_id: int, session: SessionDep) -> SnapshotPublic:
    return SnapshotPublic.model_validate(get_or_404(session, Snapshot, snapshot_id, "snapshot"))

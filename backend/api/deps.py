"""Dependencies as types (``SessionDep``, ``SettingsDep``) and the routes' shared reads: one row
or 404, a query filtered on the given values, one page of it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any, TypeVar

import anyio
from fastapi import Depends, HTTPException, Request
from pydantic import BaseModel
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from backend.config import Settings
from backend.db import new_session
from backend.schemas import Page


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


# Requests holding a database session at once. A request holds its pooled connection from its
# first query until its response is sent, and needs worker threads (40) for its route and its
# serialisation: with fewer sessions than threads and than pooled connections (60, backend/db.py),
# a burst of readers waits here, on the event loop and holding nothing, instead of exhausting the
# pool (docs/benchmarks.md).
MAX_SESSIONS = 32
_session_slots = anyio.Semaphore(MAX_SESSIONS)


async def _request_session(url: str, write: bool) -> AsyncIterator[Session]:
    """A session per request that connects at its first query, in the route's worker thread.
    Async on purpose: waiting for a slot and the cleanup (commit, returning the connection) run
    on the event loop and never queue for a thread."""
    async with _session_slots:
        session = new_session(url, write=write)
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()


async def get_db(settings: SettingsDep) -> AsyncIterator[Session]:
    async for session in _request_session(settings.database_url, write=False):
        yield session


async def get_write_db(settings: SettingsDep) -> AsyncIterator[Session]:
    async for session in _request_session(settings.database_url, write=True):
        yield session


SessionDep = Annotated[Session, Depends(get_db)]
WriteSessionDep = Annotated[Session, Depends(get_write_db)]


Row = TypeVar("Row")


def not_found(what: str, ident: object) -> HTTPException:
    return HTTPException(status_code=404, detail=f"{what} {ident} not found")


def get_or_404(session: Session, table: type[Row], ident: int, what: str) -> Row:
    """The row of ``table`` with primary key ``ident``, or 404 "<what> <ident> not found"."""
    row = session.get(table, ident)
    if row is None:
        raise not_found(what, ident)
    return row


def where_given(query: Select, *conditions: tuple[Any, Any]) -> Select:
    """``query`` filtered on ``column == value`` for each (column, value) whose value was given
    (neither None nor "")."""
    for column, value in conditions:
        if value is not None and value != "":
            query = query.where(column == value)
    return query


def paginate(
    session: Session,
    query: Select,
    schema: type[BaseModel],
    order_by,
    limit: int | None = None,
    offset: int = 0,
) -> Page:
    """One page of ``query`` in ``order_by`` order as ``schema`` items, with the count of all."""
    count = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(order_by).limit(limit).offset(offset))
    return Page(data=[schema.model_validate(r) for r in rows], count=count)

"""Dependencies as types: ``SessionDep`` and ``SettingsDep`` for the routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

import anyio
from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session

from backend.config import Settings
from backend.db import new_session


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


def not_found(what: str, ident: object) -> HTTPException:
    return HTTPException(status_code=404, detail=f"{what} {ident} not found")

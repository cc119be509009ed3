"""Dependencies as types: ``SessionDep`` and ``SettingsDep`` for the routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session

from backend.config import Settings
from backend.db import new_session


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


async def _request_session(url: str, write: bool) -> AsyncIterator[Session]:
    """A session per request that connects at its first query, in the route's worker thread.
    Async on purpose: the cleanup (commit, returning the connection) runs on the event loop and
    never queues for a thread, so concurrent requests never hold pooled connections idle."""
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

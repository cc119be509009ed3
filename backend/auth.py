"""API tokens: creation, hashing, and the FastAPI dependency that guards the API.

A token is ``secrets.token_urlsafe(32)`` prefixed with ``fl_``; the database keeps only its
sha256 (hex), so a leaked database leaks no usable token. Settings decide what needs one:

- ``FLOWLENS_AUTH=on`` (``auto``: on when the API binds a non-loopback host): writes (POST, PUT,
  PATCH, DELETE) need ``Authorization: Bearer <token>``;
- ``FLOWLENS_PUBLIC_READ=off``: reads (GET, HEAD) need one too.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import timedelta

from fastapi import HTTPException, Request
from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from backend.config import Settings
from backend.db import session_scope, write_session
from backend.models import ApiToken, utcnow

log = logging.getLogger("flowlens.auth")

TOKEN_PREFIX = "fl_"
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LAST_USED_RESOLUTION = timedelta(minutes=1)  # last_used_at is written at most once a minute


class TokenError(ValueError):
    """A token name that is taken, unknown or invalid."""


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(session: Session, name: str) -> str:
    """Store a new token under ``name``; returns the token itself (shown once, never stored)."""
    name = name.strip()
    if not name or len(name) > 100:
        raise TokenError("name: must be 1 to 100 characters")
    if session.scalar(select(ApiToken.id).where(ApiToken.name == name)) is not None:
        raise TokenError(f"name: a token named {name!r} already exists (revoke it first)")
    token = new_token()
    session.add(ApiToken(name=name, token_hash=hash_token(token)))
    session.flush()
    return token


def revoke_token(session: Session, name: str) -> ApiToken:
    """Revoke the token named ``name`` (kept, so the name stays in the list, marked revoked)."""
    row = session.scalar(select(ApiToken).where(ApiToken.name == name))
    if row is None:
        raise TokenError(f"no token named {name!r}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    return row


def list_tokens(session: Session) -> list[ApiToken]:
    return list(session.scalars(select(ApiToken).order_by(ApiToken.id)))


def check_token(database_url: str, token: str) -> ApiToken | None:
    """The live (not revoked) token row for ``token``, or None; refreshes ``last_used_at``
    (best effort, at most once a minute, in its own short write transaction)."""
    digest = hash_token(token)
    with session_scope(database_url) as session:
        row = session.scalar(
            select(ApiToken).where(ApiToken.token_hash == digest, ApiToken.revoked_at.is_(None))
        )
        if row is None:
            return None
        session.expunge(row)
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at > LAST_USED_RESOLUTION:
        try:
            with write_session(database_url) as session:
                session.execute(
                    update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=now)
                )
        except SQLAlchemyError:  # never refuse a valid token because of bookkeeping
            log.warning("could not record the use of token %r", row.name, exc_info=True)
    return row


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(
        status_code=401,
        detail=message,
        headers={"WWW-Authenticate": 'Bearer realm="flowlens"'},
    )


def needs_token(settings: Settings, method: str) -> bool:
    if not settings.auth_enabled:
        return False
    return method.upper() not in READ_METHODS or not settings.public_read


def require_token(request: Request) -> None:
    """Dependency on every /api router: 401 (with WWW-Authenticate) when a needed token is
    missing, malformed, unknown or revoked."""
    settings: Settings = request.app.state.settings
    if not needs_token(settings, request.method):
        return
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        what = "writes" if request.method.upper() not in READ_METHODS else "this API"
        raise _unauthorized(
            f"authentication required: {what} need an 'Authorization: Bearer <token>' header "
            "(create a token with `flowlens token create --name NAME`)"
        )
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorized("invalid Authorization header: expected 'Bearer <token>'")
    row = check_token(settings.database_url, token.strip())
    if row is None:
        raise _unauthorized("invalid or revoked token")
    request.state.token_name = row.name

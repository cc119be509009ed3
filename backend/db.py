"""Engines and sessions. SQLite runs in WAL mode with a busy timeout; PostgreSQL through psycopg 3.

Write transactions that read before they write (the queue's claim) use ``write_session``: on
SQLite it starts with ``BEGIN IMMEDIATE`` so the read happens under the write lock and claims
serialise.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 30_000
# PostgreSQL connections per process: POOL_SIZE kept open, up to 3 * POOL_SIZE under load (more
# than the API's requests that hold a session at once: backend/api/deps.py MAX_SESSIONS)
POOL_SIZE = 20


def _make_sqlite_engine(url: str) -> Engine:
    engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (below)
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn) -> None:
        immediate = conn.get_execution_options().get("sqlite_immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


@lru_cache(maxsize=8)
def get_engine(url: str) -> Engine:
    """One engine per database URL and process."""
    if url.startswith("sqlite"):
        return _make_sqlite_engine(url)
    return create_engine(url, pool_pre_ping=True, pool_size=POOL_SIZE, max_overflow=POOL_SIZE * 2)


@lru_cache(maxsize=8)
def _factories(url: str) -> tuple[sessionmaker[Session], sessionmaker[Session]]:
    engine = get_engine(url)
    writer = engine.execution_options(sqlite_immediate=True)
    return (
        sessionmaker(bind=engine, expire_on_commit=False),
        sessionmaker(bind=writer, expire_on_commit=False),
    )


@contextmanager
def session_scope(url: str) -> Iterator[Session]:
    """A session whose transaction commits on success and rolls back on error."""
    with _factories(url)[0].begin() as session:
        yield session


@contextmanager
def write_session(url: str) -> Iterator[Session]:
    """Like ``session_scope`` but takes SQLite's write lock at BEGIN (read-then-write safety)."""
    with _factories(url)[1].begin() as session:
        yield session


def new_session(url: str, *, write: bool = False) -> Session:
    """A session that connects only at its first query (the caller commits and closes it)."""
    return _factories(url)[1 if write else 0]()

"""Shared fixtures: a real PostgreSQL server (initdb + pg_ctl on 127.0.0.1) and fresh migrated
databases on SQLite and PostgreSQL.

PostgreSQL and Chromium tests skip where those are missing, and fail instead when
FLOWLENS_REQUIRE_ALL=1 (CI sets it and installs both).
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# the API answers only its own Host names; Starlette's TestClient sends Host: testserver
os.environ.setdefault("FLOWLENS_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")

from support import create_pg_database, missing, pg_bin, postgres_instance  # noqa: E402

from backend import migrate  # noqa: E402
from backend.db import get_engine  # noqa: E402


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """A PostgreSQL server of our own in a temp dir; yields its base URL (no database)."""
    if pg_bin() is None:
        missing("PostgreSQL (initdb)")
    with postgres_instance() as server:
        yield server.url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A SQLite database migrated once per session, copied for each test."""
    path = tmp_path_factory.mktemp("template") / "flowlens.db"
    migrate.upgrade(f"sqlite:///{path}")
    get_engine(f"sqlite:///{path}").dispose()
    return path


@pytest.fixture(scope="session")
def postgres_template(postgres_server) -> str:
    """A PostgreSQL database migrated once per session, the template of each test's."""
    url = create_pg_database(postgres_server)
    migrate.upgrade(url)
    get_engine(url).dispose()  # CREATE DATABASE ... TEMPLATE needs it unused
    return url.rsplit("/", 1)[1]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request, tmp_path) -> str:
    """A fresh, migrated database on each backend (a copy of the session's migrated template:
    the migrations themselves are tested in tests/unit/test_migrations.py)."""
    if request.param == "sqlite":
        path = tmp_path / "flowlens.db"
        source = request.getfixturevalue("sqlite_template")
        with closing(sqlite3.connect(source)) as src, closing(sqlite3.connect(path)) as dst:
            src.backup(dst)
        return f"sqlite:///{path}"
    server = request.getfixturevalue("postgres_server")
    return create_pg_database(server, template=request.getfixturevalue("postgres_template"))

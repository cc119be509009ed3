"""Shared fixtures: a real PostgreSQL server (initdb + pg_ctl on 127.0.0.1) and fresh migrated
databases on SQLite and PostgreSQL.

PostgreSQL and Chromium tests skip where those are missing, and fail instead when
FLOWLENS_REQUIRE_ALL=1 (CI sets it and installs both).
"""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# the API answers only its own Host names; Starlette's TestClient sends Host: testserver
os.environ.setdefault("FLOWLENS_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")

from support import create_pg_database, missing, pg_bin, postgres_instance  # noqa: E402

from backend import migrate  # noqa: E402


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """A PostgreSQL server of our own in a temp dir; yields its base URL (no database)."""
    if pg_bin() is None:
        missing("PostgreSQL (initdb)")
    with postgres_instance() as server:
        yield server.url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request, tmp_path) -> str:
    """A fresh, migrated database on each backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'flowlens.db'}"
    else:
        url = create_pg_database(request.getfixturevalue("postgres_server"))
    migrate.upgrade(url)
    return url

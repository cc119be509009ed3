"""Shared fixtures: a real PostgreSQL server (initdb + pg_ctl on 127.0.0.1), fresh migrated
databases on SQLite and PostgreSQL, and helpers to run FlowLens processes.

PostgreSQL and Chromium tests skip where those are missing, and fail instead when
FLOWLENS_REQUIRE_ALL=1 (CI sets it and installs both).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from support import free_port  # noqa: E402

from backend import migrate  # noqa: E402

REQUIRE_ALL = os.environ.get("FLOWLENS_REQUIRE_ALL") == "1"


def missing(what: str) -> None:
    """Skip a test whose dependency is missing, or fail when everything is required."""
    if REQUIRE_ALL:
        pytest.fail(f"{what} is missing but FLOWLENS_REQUIRE_ALL=1", pytrace=False)
    pytest.skip(f"{what} is missing")


def _pg_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _as_postgres_user(cmd: list[str]) -> list[str]:
    """initdb refuses to run as root: run the server as the postgres user then."""
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """A PostgreSQL server of our own in a temp dir; yields its base URL (no database)."""
    bin_dir = _pg_bin()
    if bin_dir is None:
        missing("PostgreSQL (initdb)")
    root = Path(tempfile.mkdtemp(prefix="flowlens-pg-"))  # pytest's tmp is private to root
    data, sockets = root / "data", root / "sock"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(sockets, "postgres")
    port = free_port()
    subprocess.run(
        _as_postgres_user(
            [str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"]
        ),
        check=True,
        capture_output=True,
    )
    options = f"-h 127.0.0.1 -p {port} -k {sockets} -c fsync=off -c max_connections=300"
    subprocess.run(
        _as_postgres_user(
            [str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start"]
        ),
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run(
            _as_postgres_user([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


def create_pg_database(server_url: str) -> str:
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    plain = server_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(f"{plain}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{server_url}/{name}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request, tmp_path) -> str:
    """A fresh, migrated database on each backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'flowlens.db'}"
    else:
        url = create_pg_database(request.getfixturevalue("postgres_server"))
    migrate.upgrade(url)
    return url

"""`flowlens token create/list/revoke` as subprocesses on SQLite and PostgreSQL; the token it
prints works against the API, and stops working once revoked."""

from __future__ import annotations

import subprocess
import sys

from fastapi.testclient import TestClient
from support import ROOT, flowlens_env

from backend.api.main import create_app
from backend.config import Settings


def flowlens(database_url: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "backend.cli", *args],
        env=flowlens_env(database_url),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_token_create_list_revoke(database_url):
    created = flowlens(database_url, "token", "create", "--name", "alice")
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    assert token.startswith("fl_") and "\n" not in token
    assert "shown only this once" in created.stderr

    again = flowlens(database_url, "token", "create", "--name", "alice")
    assert again.returncode == 1 and "already exists" in again.stderr
    assert flowlens(database_url, "token", "create").returncode == 2  # no name

    listed = flowlens(database_url, "token", "list")
    assert listed.returncode == 0
    assert "alice" in listed.stdout and "active" in listed.stdout
    assert token not in listed.stdout  # never shown again

    app = create_app(Settings(database_url=database_url, auth="on"))
    job = {"kind": "echo"}
    with TestClient(app) as client:
        headers = {"Authorization": f"Bearer {token}"}
        assert client.post("/api/jobs", json=job, headers=headers).status_code == 201
        revoked = flowlens(database_url, "token", "revoke", "alice")  # positional name works
        assert revoked.returncode == 0 and "revoked" in revoked.stdout
        assert client.post("/api/jobs", json=job, headers=headers).status_code == 401

    listed = flowlens(database_url, "token", "list")
    assert "revoked" in listed.stdout and "(1 tokens)" in listed.stdout
    unknown = flowlens(database_url, "token", "revoke", "--name", "nobody")
    assert unknown.returncode == 1 and "no token named 'nobody'" in unknown.stderr

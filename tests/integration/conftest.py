"""A shared lab for the science tests: built-in datasets and a tiny demo model (SQLite)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from support import run_inline

from backend import migrate
from backend.api.main import create_app
from backend.config import Settings
from backend.models import JobStatus

TINY = {"steps": 20, "n_layers": 2, "d_model": 32, "name": "tiny"}


@pytest.fixture(scope="session")
def lab(tmp_path_factory):
    """A database with the built-in datasets and a tiny demo model (SQLite)."""
    root = tmp_path_factory.mktemp("lab")
    url = f"sqlite:///{root / 'lab.db'}"
    migrate.upgrade(url)
    settings = Settings(database_url=url, artifact_root=str(root / "artifacts"))
    assert run_inline(settings, "register_builtin").status == JobStatus.SUCCEEDED
    job = run_inline(settings, "train_demo_model", **TINY)
    assert job.status == JobStatus.SUCCEEDED, job.error
    client = TestClient(create_app(settings))
    datasets = {d["name"]: d for d in client.get("/api/datasets").json()["data"]}
    return settings, client, datasets, job.result["model_id"]

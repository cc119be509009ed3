"""Issue 12 defect 3: API clients cannot make a worker touch files outside the artifact store:
echo's marker is a file name inside the store, and local dataset folders are read only where
an operator allows them (FLOWLENS_LOCAL_DATASET_DIRS)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from backend.api.main import create_app
from backend.config import Settings


@pytest.fixture
def client(database_url):
    with TestClient(create_app(Settings(database_url=database_url))) as c:
        yield c


@pytest.mark.parametrize("mark", ["/tmp/owned", "../owned", "a/b", ""])
def test_echo_marker_is_a_name_not_a_path(client, mark):
    response = client.post("/api/jobs", json={"kind": "echo", "params": {"mark": mark}})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "params", "mark"]


def test_local_dataset_folder_is_refused_at_submit(client, tmp_path):
    body = {"kind": "import_hub_dataset", "params": {"repo": str(tmp_path), "name": "x"}}
    response = client.post("/api/jobs", json=body)
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["body", "params", "repo"]
    assert "FLOWLENS_LOCAL_DATASET_DIRS (none allowed)" in error["msg"]


def test_hub_names_and_allowed_folders_pass(tmp_path):
    allowed = tmp_path / "datasets"
    (allowed / "xs").mkdir(parents=True)
    settings = Settings(local_dataset_dirs=str(allowed))
    assert settings.local_dataset_dir_error("natolambert/xstest-v2-copy") is None
    assert settings.local_dataset_dir_error(str(allowed / "xs")) is None
    # a path that leaves the allowed folder is refused, however it is spelled
    assert settings.local_dataset_dir_error(str(allowed / "xs" / ".." / "..")) is not None
    assert settings.local_dataset_dir_error("/etc") is not None

"""GET /api/artifacts/{path}: files of the store stream back; anything outside it is refused."""

from __future__ import annotations

import os

import pytest
from fastapi.testclient import TestClient

from backend.api.main import create_app
from backend.config import Settings


@pytest.fixture
def store(tmp_path, database_url):
    root = tmp_path / "store"
    (root / "models" / "tiny").mkdir(parents=True)
    (root / "models" / "tiny" / "config.json").write_text('{"n_layers": 2}')
    (root / "runs").mkdir()
    (root / "runs" / "acts.bin").write_bytes(os.urandom(3 * 1024 * 1024 + 17))
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    (root / "leak.txt").symlink_to(secret)
    (root / "leakdir").symlink_to(tmp_path)
    (root / "loop").symlink_to(root / "loop")
    (root / "runs" / "a").symlink_to(root / "runs" / "b")
    (root / "runs" / "b").symlink_to(root / "runs" / "a")
    settings = Settings(database_url=database_url, artifact_root=str(root), auth="off")
    with TestClient(create_app(settings)) as client:
        yield client, root


def test_files_stream_back(store):
    client, root = store
    response = client.get("/api/artifacts/models/tiny/config.json")
    assert response.status_code == 200 and response.json() == {"n_layers": 2}
    big = client.get("/api/artifacts/runs/acts.bin")
    assert big.status_code == 200 and big.content == (root / "runs" / "acts.bin").read_bytes()
    assert big.headers["content-type"] == "application/octet-stream"
    assert "attachment" in big.headers["content-disposition"]


@pytest.mark.parametrize("path", ["models/none.json", "models/tiny", "models", "nope/x/y"])
def test_unknown_and_folders_are_404(store, path):
    response = store[0].get(f"/api/artifacts/{path}")
    assert response.status_code == 404 and "not found" in response.json()["detail"]


@pytest.mark.parametrize(
    "raw",
    [
        "/api/artifacts/%2e%2e/secret.txt",
        "/api/artifacts/%2E%2E/%2E%2E/etc/passwd",
        "/api/artifacts/models/%2e%2e/%2e%2e/secret.txt",
        "/api/artifacts/..%2fsecret.txt",
        "/api/artifacts/%2fetc%2fpasswd",
        "/api/artifacts//etc/passwd",
        "/api/artifacts/models/tiny/config.json%00.png",
        "/api/artifacts/models%5c..%5c..%5csecret.txt",
        "/api/artifacts/%2e/models/tiny/config.json",
        "/api/artifacts/",
        "/api/artifacts/leak.txt",
        "/api/artifacts/leakdir/secret.txt",
    ],
)
def test_paths_outside_the_store_are_400(store, raw):
    client, _ = store
    response = client.get(raw)
    assert response.status_code == 400, (raw, response.status_code, response.text)
    assert response.json()["detail"].startswith("path:")
    assert "top secret" not in response.text


@pytest.mark.parametrize("path", ["loop", "loop/x", "runs/a", "runs/b/c.bin"])
def test_symlink_loops_are_400_not_500(store, path):
    response = store[0].get(f"/api/artifacts/{path}")
    assert response.status_code == 400, response.text
    assert "cannot be resolved" in response.json()["detail"]


def test_components_over_255_characters_are_4xx(store):
    response = store[0].get(f"/api/artifacts/runs/{'a' * 300}.bin")
    assert response.status_code in (400, 404), response.text


def test_literal_dot_dot_never_escapes(store):
    """Clients may normalise a literal '..' away; whatever arrives must not leave the store."""
    client, _ = store
    for raw in ("/api/artifacts/../secret.txt", "/api/artifacts/models/../../secret.txt"):
        response = client.get(raw)
        assert response.status_code in (400, 404) and "top secret" not in response.text

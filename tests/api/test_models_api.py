"""POST /api/models with a local directory: checked before the write transaction, bounded in time
(only regular files are opened), and every filesystem failure a clear 422 naming ``uri``."""

from __future__ import annotations

import json
import os
import struct
import threading
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from support import flowlens_env, free_port, start, stop, wait_http

from backend.api.main import create_app
from backend.config import Settings


def model_dir(root: Path) -> Path:
    """A directory that passes the check: config, tokenizer, a one-tensor safetensors file."""
    root.mkdir(parents=True)
    (root / "config.json").write_text(json.dumps({"model_type": "gpt2"}))
    (root / "tokenizer.json").write_text("{}")
    header = json.dumps({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}).encode()
    (root / "model.safetensors").write_bytes(struct.pack("<Q", len(header)) + header + b"\0" * 8)
    return root


@pytest.fixture
def client(database_url):
    with TestClient(create_app(Settings(database_url=database_url, auth="off"))) as c:
        yield c


def register(client, uri: str, name: str = "m"):
    return client.post("/api/models", json={"name": name, "source": "local", "uri": uri})


def test_a_valid_directory_registers(client, tmp_path):
    response = register(client, str(model_dir(tmp_path / "ok")))
    assert response.status_code == 201, response.text


def _replace_with_fifo(path: Path) -> None:
    path.unlink()
    os.mkfifo(path)


def _release_fifos(root: Path) -> None:
    """Give readers stuck on a FIFO of ``root`` (the unfixed code) an end of file."""
    for path in root.iterdir():
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
        except OSError:
            pass


def register_in_time(client, root: Path, seconds: float = 20):
    """``register`` that fails the test, instead of hanging it, when no answer comes in time."""
    answer: list = []
    thread = threading.Thread(target=lambda: answer.append(register(client, str(root))))
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        _release_fifos(root)
        thread.join()
        pytest.fail(f"registration did not answer within {seconds} s")
    return answer[0]


@pytest.mark.parametrize(
    ("replace", "says"),
    [
        (lambda d: _replace_with_fifo(d / "config.json"), "config.json is a FIFO"),
        (lambda d: _replace_with_fifo(d / "tokenizer.json"), "tokenizer.json is a FIFO"),
        (lambda d: _replace_with_fifo(d / "model.safetensors"), "model.safetensors is a FIFO"),
        (
            lambda d: ((d / "config.json").unlink(), (d / "config.json").symlink_to("/dev/null")),
            "config.json is a device",
        ),
        (
            lambda d: ((d / "config.json").unlink(), (d / "config.json").mkdir()),
            "config.json is a folder",
        ),
    ],
)
def test_special_files_are_a_quick_422_naming_them(client, tmp_path, replace, says):
    root = model_dir(tmp_path / "m")
    replace(root)
    response = register_in_time(client, root)
    assert response.status_code == 422, response.text
    assert response.json()["detail"].startswith("uri: ") and says in response.json()["detail"]
    assert client.get("/api/models").json()["count"] == 0


def test_a_config_over_the_size_cap_is_422(client, tmp_path, monkeypatch):
    from backend import model_dirs

    monkeypatch.setattr(model_dirs, "MAX_CONFIG_BYTES", 100)
    root = model_dir(tmp_path / "m")
    (root / "config.json").write_text(json.dumps({"model_type": "gpt2", "pad": "x" * 200}))
    response = register(client, str(root))
    assert response.status_code == 422 and "over 100 bytes" in response.json()["detail"]


def test_unreadable_paths_are_422_naming_uri(client, tmp_path):
    """ENAMETOOLONG, ELOOP: not an uncaught 500."""
    long_component = str(tmp_path / ("a" * 300))
    response = register(client, long_component)
    assert response.status_code == 422, response.text
    assert response.json()["detail"].startswith("uri: ") and "too long" in response.json()["detail"]
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    response = register(client, str(loop))
    assert response.status_code == 422, response.text
    assert "symbolic links" in response.json()["detail"]
    assert register(client, str(tmp_path / "nope")).json()["detail"].endswith("no such directory")


def test_a_fifo_config_neither_hangs_nor_blocks_other_writes(database_url, tmp_path):
    """A live API: the registration answers quickly, and a job submitted meanwhile is not kept
    waiting on the database's write lock (before the fix: the request hung forever holding
    SQLite's write lock, and every other write got "database is locked" after 30 s)."""
    root = model_dir(tmp_path / "m")
    fifo = root / "config.json"
    _replace_with_fifo(fifo)
    port = free_port()
    env = flowlens_env(database_url, port=port, artifact_root=tmp_path / "artifacts", auth="off")
    proc = start(["api"], env, tmp_path / "api.log")
    base = f"http://127.0.0.1:{port}/api"
    answers: dict[str, httpx.Response | Exception] = {}

    def post_model() -> None:
        try:
            answers["model"] = httpx.post(
                f"{base}/models",
                json={"name": "m", "source": "local", "uri": str(root)},
                timeout=60,
            )
        except httpx.HTTPError as exc:
            answers["model"] = exc

    try:
        wait_http(f"{base}/health")
        thread = threading.Thread(target=post_model, daemon=True)
        thread.start()
        job = httpx.post(f"{base}/jobs", json={"kind": "echo"}, timeout=20)
        assert job.status_code == 201, job.text
        thread.join(20)
        model = answers.get("model")
        assert isinstance(model, httpx.Response), f"registration did not answer: {model!r}"
        assert model.status_code == 422 and "config.json is a FIFO" in model.json()["detail"]
    finally:
        _release_fifos(root)  # so that the unfixed API can stop
        stop(proc)

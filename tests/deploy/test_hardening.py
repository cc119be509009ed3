"""Bad files and oversized bodies: a clear 4xx and nothing stored. The 200 MB upload goes to a
live API (uvicorn) over a raw socket, so we can see it is answered before it is read."""

from __future__ import annotations

import re
import select
import socket
import time

import pytest
from fastapi.testclient import TestClient
from support import flowlens_env, free_port, start, stop, wait_http

from backend import migrate
from backend.api.main import create_app
from backend.config import Settings

MB = 1024 * 1024
PART = (
    b'--xyz\r\nContent-Disposition: form-data; name="file"; filename="big.jsonl"\r\n'
    b"Content-Type: application/octet-stream\r\n\r\n"
)


@pytest.fixture
def client(database_url, tmp_path):
    settings = Settings(database_url=database_url, artifact_root=str(tmp_path / "a"), auth="off")
    with TestClient(create_app(settings)) as c:
        yield c


def upload(client, name: str, data: bytes, fmt: str = "jsonl", filename: str = "data.jsonl"):
    return client.post(
        "/api/datasets",
        data={"name": name, "format": fmt},
        files={"file": (filename, data, "application/octet-stream")},
    )


BAD_FILES = [
    ("jsonl", b'{"prompt": "ok"}\n{"prompt": "broken"\n', "line 2"),
    ("jsonl", b'["not", "an", "object"]\n', "line 1"),
    ("csv", b'prompt,label\n"unterminated,safe\n', None),
    ("csv", b"question,answer\nhi,there\n", "prompt"),
    ("csv", "prompt\nhéllo\n".encode("latin-1"), "UTF-8"),
    ("jsonl", '{"prompt": "hi"}\n'.encode("utf-16"), "UTF-16"),
    ("jsonl", b"\x00\x01\x02binary\x00", None),
    ("jsonl", b"", "no rows"),
]


@pytest.mark.parametrize(("fmt", "data", "says"), BAD_FILES)
def test_bad_files_are_4xx_and_nothing_is_stored(client, fmt, data, says):
    response = upload(client, "bad", data, fmt=fmt)
    assert 400 <= response.status_code < 500, response.text
    assert isinstance(response.json()["detail"], str | list)
    if says:
        assert says in str(response.json()["detail"])
    assert client.get("/api/datasets").json()["count"] == 0
    assert client.get("/api/jobs").json()["count"] == 0


@pytest.mark.parametrize("name", ["../../etc/passwd", "a/b", "x\\y", "", "a" * 101, "nul\x00name"])
def test_path_traversal_dataset_names_are_422(client, name):
    response = upload(client, name, b'{"prompt": "hi"}\n')
    assert response.status_code == 422, response.text
    assert client.get("/api/datasets").json()["count"] == 0


def test_traversal_file_names_are_harmless(client, tmp_path):
    response = upload(client, "ok", b'{"prompt": "hi"}\n', filename="../../../../tmp/evil.jsonl")
    assert response.status_code == 201, response.text
    assert not (tmp_path / "evil.jsonl").exists()
    rows = client.get(f"/api/datasets/{response.json()['id']}/rows").json()
    assert rows["count"] == 1


def test_streamed_body_over_the_limit_is_413(database_url, tmp_path):
    """No Content-Length (a generator body is sent chunked): counted as it arrives."""
    settings = Settings(database_url=database_url, auth="off", max_upload_bytes=2 * MB)
    sent = 0

    def body():
        nonlocal sent
        yield PART
        for _ in range(8):
            sent += MB
            yield b"x" * MB

    with TestClient(create_app(settings)) as client:
        response = client.post(
            "/api/datasets",
            content=body(),
            headers={"Content-Type": "multipart/form-data; boundary=xyz"},
        )
        assert response.status_code == 413
        assert "FLOWLENS_MAX_UPLOAD_BYTES" in response.json()["detail"]
        assert client.get("/api/datasets").json()["count"] == 0
        small = client.post("/api/jobs", json={"kind": "echo"})
        assert small.status_code == 201  # ordinary requests are untouched


@pytest.fixture(scope="module")
def live_api(tmp_path_factory):
    root = tmp_path_factory.mktemp("live")
    url = f"sqlite:///{root / 'db.sqlite'}"
    migrate.upgrade(url)
    port = free_port()
    env = flowlens_env(url, port=port, artifact_root=root / "artifacts", auth="off")
    proc = start(["api"], env, root / "api.log")
    try:
        wait_http(f"http://127.0.0.1:{port}/api/health")
        yield port
    finally:
        stop(proc)


def _raw_upload(port: int, headers: str, chunks, budget: int) -> tuple[bytes, int]:
    """Send headers then body chunks until the server answers (or ``budget`` bytes are sent);
    returns the answer's first bytes and how much of the body was sent."""
    sent = 0
    answer = b""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(headers.encode())
        deadline = time.monotonic() + 20
        for chunk in chunks:
            readable, _, _ = select.select([sock], [], [], 0)
            if readable or sent >= budget or time.monotonic() > deadline:
                break
            try:
                sock.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += len(chunk)
        answer = _read_answer(sock)
    return answer, sent


def _read_answer(sock: socket.socket) -> bytes:
    """Read the server's answer until it closes or its whole body (Content-Length) arrived:
    headers and body may come in separate packets."""
    sock.settimeout(10)
    answer = b""
    while True:
        try:
            data = sock.recv(4096)
        except (ConnectionResetError, TimeoutError):
            return answer
        if not data:
            return answer
        answer += data
        head, sep, body = answer.partition(b"\r\n\r\n")
        length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
        if sep and length and len(body) >= int(length.group(1)):
            return answer


def test_200_mb_upload_is_413_without_being_read(live_api):
    size = 200 * MB
    headers = (
        "POST /api/datasets HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: multipart/form-data; boundary=xyz\r\n"
        f"Content-Length: {size}\r\n\r\n"
    )
    chunks = (b"x" * (256 * 1024) for _ in range(size // (256 * 1024)))  # never all sent
    answer, sent = _raw_upload(live_api, headers, chunks, budget=40 * MB)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b"FLOWLENS_MAX_UPLOAD_BYTES" in answer
    print(f"200 MB upload: answered 413 after {sent / MB:.1f} MB were sent")
    assert sent < 40 * MB  # answered long before the body was sent, let alone read


def test_chunked_upload_over_the_limit_is_413_live(live_api):
    headers = (
        "POST /api/datasets HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: multipart/form-data; boundary=xyz\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    )

    def chunks():
        for piece in [PART] + [b"x" * MB] * 200:
            yield f"{len(piece):x}\r\n".encode() + piece + b"\r\n"

    answer, sent = _raw_upload(live_api, headers, chunks(), budget=60 * MB)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert sent < 60 * MB

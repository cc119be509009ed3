"""Cross-site requests with auth off (loopback): a page on another site cannot write through a
visitor's browser (Origin / Referer check), and the API answers only its own Host names (DNS
rebinding). Requests without either header (CLI, curl, the UI server) still write."""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient
from support import flowlens_env, free_port, start, stop, wait_http

from backend import migrate
from backend.api.main import create_app
from backend.config import Settings
from frontend.api import Api

API = "http://127.0.0.1:8000"
UI = "http://127.0.0.1:8050"  # the default UI origin (ui_host 127.0.0.1, ui_port 8050)
EVIL = {"Origin": "https://evil.example"}


@pytest.fixture
def client(database_url, tmp_path):
    # allowed_hosts="" : the defaults derived from the bind host, not the test suite's list
    settings = Settings(
        database_url=database_url, artifact_root=str(tmp_path / "a"), auth="off", allowed_hosts=""
    )
    assert not settings.auth_enabled
    with TestClient(create_app(settings), base_url=API) as c:
        yield c


def upload(client, headers: dict[str, str], name: str = "up"):
    return client.post(
        "/api/datasets",
        data={"name": name, "format": "jsonl"},
        files={"file": ("d.jsonl", b'{"prompt": "hi"}\n', "application/octet-stream")},
        headers=headers,
    )


def counts(client) -> tuple[int, int]:
    return (
        client.get("/api/datasets").json()["count"],
        client.get("/api/jobs").json()["count"],
    )


def test_foreign_origin_upload_is_refused_and_writes_nothing(client):
    response = upload(client, EVIL)
    assert response.status_code == 403, response.text
    assert "cross-site request refused" in response.json()["detail"]
    assert "https://evil.example" in response.json()["detail"]
    assert counts(client) == (0, 0)


@pytest.mark.parametrize(
    "headers",
    [
        EVIL,
        {"Referer": "https://evil.example/page.html"},
        {"Origin": "null"},  # sandboxed frames, file:// pages
        {"Origin": "http://127.0.0.1:9999"},  # another port is another origin
        {"Origin": "https://evil.example", "Referer": f"{UI}/jobs"},  # Origin decides
    ],
)
def test_foreign_origin_cancel_and_retry_are_refused(client, headers):
    job = client.post("/api/jobs", json={"kind": "echo"}).json()
    cancel = client.post(f"/api/jobs/{job['id']}/cancel", headers=headers)
    assert cancel.status_code == 403, cancel.text
    assert client.get(f"/api/jobs/{job['id']}").json()["status"] == "queued"
    submit = client.post("/api/jobs", json={"kind": "echo"}, headers=headers)
    assert submit.status_code == 403
    assert counts(client) == (0, 1)


@pytest.mark.parametrize(
    "headers",
    [
        {},  # CLI (httpx), curl, the UI server
        {"Origin": UI},
        {"Origin": "http://localhost:8050"},
        {"Referer": f"{UI}/datasets"},
        {"Origin": API},  # the API's own pages (/docs)
    ],
)
def test_same_origin_and_no_origin_writes_pass(client, headers):
    assert upload(client, headers).status_code == 201
    job = client.post("/api/jobs", json={"kind": "echo"}, headers=headers)
    assert job.status_code == 201, job.text
    cancel = client.post(f"/api/jobs/{job.json()['id']}/cancel", headers=headers)
    assert cancel.status_code == 200 and cancel.json()["status"] == "cancelled"


def test_reads_from_any_origin_are_answered(client):
    """Reads change nothing; CORS keeps a foreign page from reading the answer."""
    response = client.get("/api/jobs", headers=EVIL)
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "127.0.0.1.evil.example"])
def test_foreign_host_is_400(client, host):
    for method in ("GET", "POST"):
        response = client.request(method, "/api/jobs", headers={"Host": host}, json={})
        assert response.status_code == 400, (host, response.text)
        assert "FLOWLENS_ALLOWED_HOSTS" in response.json()["detail"]
    assert counts(client) == (0, 0)


@pytest.mark.parametrize("host", ["127.0.0.1:8000", "localhost:8000", "localhost", "[::1]:8000"])
def test_own_hosts_are_answered(client, host):
    assert client.get("/api/health", headers={"Host": host}).status_code == 200


def test_default_hosts_follow_the_configured_names():
    assert Settings(allowed_hosts="").trusted_hosts == ["127.0.0.1", "localhost", "::1"]
    team = Settings(
        allowed_hosts="",
        host="0.0.0.0",
        api_url="http://api:8000",
        ui_origin="https://flowlens.example.org",
    )
    assert team.trusted_hosts == ["127.0.0.1", "localhost", "::1", "api", "flowlens.example.org"]
    assert Settings(allowed_hosts="Lens.Example, [::1]").trusted_hosts == ["lens.example", "::1"]


def test_live_api_with_default_hosts_serves_the_ui_client_and_refuses_others(tmp_path):
    """A real `flowlens api` with nothing configured: the UI's own client (frontend.api.Api, as
    `flowlens ui` makes it) writes; a foreign Host and a foreign Origin are refused."""
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    migrate.upgrade(url)
    port = free_port()
    env = flowlens_env(url, port=port, artifact_root=tmp_path / "artifacts")
    env.pop("FLOWLENS_ALLOWED_HOSTS", None)
    proc = start(["api"], env, tmp_path / "api.log")
    base = f"http://127.0.0.1:{port}"
    try:
        wait_http(f"{base}/api/health")
        job = Api(base).write("POST", "/jobs", json={"kind": "echo"})
        assert job["status"] == "queued"
        foreign = httpx.get(f"{base}/api/health", headers={"Host": "evil.example"})
        assert foreign.status_code == 400
        cross = httpx.post(f"{base}/api/jobs/{job['id']}/cancel", headers=EVIL)
        assert cross.status_code == 403
        assert Api(base).get(f"/jobs/{job['id']}")["status"] == "queued"
    finally:
        stop(proc)

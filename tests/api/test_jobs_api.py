"""The jobs API in-process (TestClient) on SQLite and PostgreSQL: status codes and messages."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from backend.api.main import create_app
from backend.config import Settings


@pytest.fixture
def client(database_url):
    with TestClient(create_app(Settings(database_url=database_url))) as c:
        yield c


def post_job(client, **body):
    return client.post("/api/jobs", json={"kind": "echo", **body})


def test_health_and_kinds(client, database_url):
    health = client.get("/api/health").json()
    assert health["status"] == "ok" and health["database"] in database_url
    kinds = {k["name"]: k for k in client.get("/api/kinds").json()}
    assert "sleep_seconds" in kinds["echo"]["params_schema"]["properties"]


def test_submit_read_list_filter_paginate(client):
    ids = [post_job(client, params={"message": str(i)}).json()["id"] for i in range(5)]
    job = client.get(f"/api/jobs/{ids[0]}").json()
    assert job["status"] == "queued" and job["params"]["message"] == "0"
    assert job["params"]["sleep_seconds"] == 0.0  # defaults are stored: reproducible
    page = client.get("/api/jobs", params={"limit": 2, "offset": 1}).json()
    assert page["count"] == 5 and [j["id"] for j in page["data"]] == ids[::-1][1:3]
    assert client.get("/api/jobs", params={"status": "running"}).json()["count"] == 0
    assert client.get("/api/jobs", params={"kind": "echo"}).json()["count"] == 5


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "nope"}, ["body", "kind"]),
        ({"kind": "echo", "params": {"sleep_seconds": -1}}, ["body", "params", "sleep_seconds"]),
        ({"kind": "echo", "params": {"crash": "maybe"}}, ["body", "params", "crash"]),
        ({"kind": "echo", "params": {"typo": 1}}, ["body", "params", "typo"]),
        ({"kind": "echo", "priority": "high"}, ["body", "priority"]),
        ({"kind": "echo", "max_attempts": 0}, ["body", "max_attempts"]),
        ({"params": {}}, ["body", "kind"]),
    ],
)
def test_bad_payloads_are_422_naming_the_field(client, body, field):
    response = client.post("/api/jobs", json=body)
    assert response.status_code == 422
    assert field in [e["loc"] for e in response.json()["detail"]]


def test_unknown_dependency_is_422(client):
    response = post_job(client, depends_on=[12345])
    assert response.status_code == 422 and "depends_on" in response.json()["detail"]


def test_unknown_ids_are_404_and_wrong_states_409(client):
    for method, path in [
        ("GET", "/api/jobs/999"),
        ("POST", "/api/jobs/999/cancel"),
        ("POST", "/api/jobs/999/retry"),
    ]:
        response = client.request(method, path)
        assert response.status_code == 404 and "job 999 not found" in response.json()["detail"]
    job_id = post_job(client).json()["id"]
    assert client.post(f"/api/jobs/{job_id}/retry").status_code == 409
    assert client.post(f"/api/jobs/{job_id}/cancel").json()["status"] == "cancelled"
    assert client.post(f"/api/jobs/{job_id}/cancel").status_code == 409
    assert client.post(f"/api/jobs/{job_id}/retry").json()["status"] == "queued"
    assert client.get("/api/jobs", params={"status": "bogus"}).status_code == 422


def test_malformed_json_is_422_not_500(client):
    response = client.post(
        "/api/jobs", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422


def test_workers_list_is_empty_without_workers(client):
    assert client.get("/api/workers").json() == []

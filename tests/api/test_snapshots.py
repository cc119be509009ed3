"""Snapshots through the API in-process (TestClient) on SQLite and PostgreSQL: in team mode
freezing needs a token and reading does not; what was frozen comes back unchanged."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from backend import auth
from backend.api.main import create_app
from backend.config import Settings
from backend.db import write_session

FROZEN = {
    "page": "relation",
    "title": "Sweep 1, layer 3: Concentration@3 vs False-refusal rate",
    "source": "/relation?sweep=1&layer=3&vcl=off",
    "text": ["Layer 3: ... over n = 3 cells", "Warning: fewer than 8 cells enter"],
    "figures": [{"data": [{"type": "scatter", "x": [0.1, 0.2], "y": [0.3, 0.4]}], "layout": {}}],
    "tables": [{"columns": ["enters", "seed"], "rows": [["yes", "0"], ["no", "1"]]}],
}


@pytest.fixture
def team(database_url):
    with write_session(database_url) as session:
        token = auth.create_token(session, "alice")
    settings = Settings(database_url=database_url, auth="on", public_read=True)
    with TestClient(create_app(settings)) as client:
        yield client, {"Authorization": f"Bearer {token}"}


def test_freeze_needs_a_token_and_reads_are_public(team):
    client, token = team
    assert client.post("/api/snapshots", json=FROZEN).status_code == 401
    assert client.get("/api/snapshots").json() == {"data": [], "count": 0}
    made = client.post("/api/snapshots", json=FROZEN, headers=token)
    assert made.status_code == 201, made.text
    snapshot = made.json()
    assert snapshot["created_by"] == "alice" and snapshot["page"] == "relation"
    read = client.get(f"/api/snapshots/{snapshot['id']}")  # no token
    assert read.status_code == 200
    content = read.json()["content"]
    assert content == {k: FROZEN[k] for k in ("text", "figures", "tables")}
    listed = client.get("/api/snapshots").json()
    assert listed["count"] == 1 and listed["data"][0]["title"] == FROZEN["title"]
    assert "content" not in listed["data"][0]
    assert client.get("/api/snapshots/999999").status_code == 404


def test_a_bad_snapshot_names_its_field(team):
    client, token = team
    bad = client.post("/api/snapshots", json={**FROZEN, "title": ""}, headers=token)
    assert bad.status_code == 422
    assert ["body", "title"] in [e["loc"] for e in bad.json()["detail"]]
    for source in ("https://elsewhere.example/x", "//elsewhere.example", "javascript:alert(1)"):
        bad = client.post("/api/snapshots", json={**FROZEN, "source": source}, headers=token)
        assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "source"]
    rows = {**FROZEN, "tables": [{"columns": ["a"], "rows": [[1.5]]}]}  # cells are text
    assert client.post("/api/snapshots", json=rows, headers=token).status_code == 422

"""Tokens on the API in-process (TestClient) on SQLite and PostgreSQL: which requests need one,
401 messages, revocation, auto mode, CORS and security headers."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from backend import auth
from backend.api.main import create_app
from backend.config import Settings, is_loopback
from backend.db import session_scope, write_session
from backend.models import ApiToken


def make_client(database_url: str, **settings) -> TestClient:
    return TestClient(create_app(Settings(database_url=database_url, **settings)))


def new_token(database_url: str, name: str) -> str:
    with write_session(database_url) as session:
        return auth.create_token(session, name)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


JOB = {"kind": "echo", "params": {"message": "hi"}}


def test_writes_need_a_token_when_auth_is_on(database_url):
    token = new_token(database_url, "alice")
    with make_client(database_url, auth="on") as client:
        response = client.post("/api/jobs", json=JOB)
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer")
        assert "flowlens token create" in response.json()["detail"]
        bad = client.post("/api/jobs", json=JOB, headers=bearer("fl_not-a-token"))
        assert bad.status_code == 401 and "invalid or revoked" in bad.json()["detail"]
        basic = client.post("/api/jobs", json=JOB, headers={"Authorization": "Basic YTpi"})
        assert basic.status_code == 401 and "Bearer" in basic.json()["detail"]
        ok = client.post("/api/jobs", json=JOB, headers=bearer(token))
        assert ok.status_code == 201, ok.text
        # reads stay open by default
        assert client.get("/api/jobs").json()["count"] == 1
        assert client.get(f"/api/jobs/{ok.json()['id']}").status_code == 200
        # revoked: refused at once
        with write_session(database_url) as session:
            auth.revoke_token(session, "alice")
        assert client.post("/api/jobs", json=JOB, headers=bearer(token)).status_code == 401
    with session_scope(database_url) as session:
        row = session.query(ApiToken).one()
        assert row.token_hash == auth.hash_token(token) and token not in row.token_hash
        assert row.revoked_at is not None and row.last_used_at is not None


def test_private_reads_need_a_token(database_url):
    token = new_token(database_url, "bob")
    with make_client(database_url, auth="on", public_read=False) as client:
        for path in ("/api/jobs", "/api/health", "/api/datasets", "/api/artifacts/x"):
            response = client.get(path)
            assert response.status_code == 401, path
            assert "WWW-Authenticate" in response.headers
        assert client.get("/api/jobs", headers=bearer(token)).status_code == 200
        assert client.post("/api/jobs", json=JOB, headers=bearer(token)).status_code == 201


def test_auth_off_needs_nothing(database_url):
    with make_client(database_url, auth="off", public_read=False) as client:
        assert client.post("/api/jobs", json=JOB).status_code == 201
        assert client.get("/api/jobs").status_code == 200


@pytest.mark.parametrize(
    ("host", "enabled"),
    [
        ("127.0.0.1", True),
        ("localhost", True),
        ("::1", True),
        ("0.0.0.0", False),
        ("10.1.2.3", False),
    ],
)
def test_auto_mode_is_on_off_loopback(host, enabled):
    assert is_loopback(host) is enabled
    assert Settings(host=host, auth="auto").auth_enabled is (not enabled)
    assert Settings(host=host, auth="on").auth_enabled is True
    assert Settings(host=host, auth="off").auth_enabled is False


def test_auto_mode_through_the_app(database_url):
    with make_client(database_url, host="0.0.0.0") as client:
        assert client.post("/api/jobs", json=JOB).status_code == 401
    with make_client(database_url, host="127.0.0.1") as client:
        assert client.post("/api/jobs", json=JOB).status_code == 201


def test_token_names_are_unique_and_hashes_stored(database_url):
    first = new_token(database_url, "carol")
    with pytest.raises(auth.TokenError, match="already exists"):
        new_token(database_url, "carol")
    with pytest.raises(auth.TokenError, match="no token named"):
        with write_session(database_url) as session:
            auth.revoke_token(session, "nobody")
    assert first.startswith("fl_") and len(first) > 40
    with session_scope(database_url) as session:
        assert [t.name for t in auth.list_tokens(session)] == ["carol"]


def test_cors_only_for_the_ui_origin_and_security_headers(tmp_path):
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    from backend import migrate

    migrate.upgrade(url)
    with make_client(url, ui_origin="https://ui.example.org") as client:
        preflight = {"Access-Control-Request-Method": "POST"}
        good = client.options(
            "/api/jobs", headers={"Origin": "https://ui.example.org", **preflight}
        )
        assert good.status_code == 200
        assert good.headers["access-control-allow-origin"] == "https://ui.example.org"
        evil = client.options("/api/jobs", headers={"Origin": "https://evil.example", **preflight})
        assert "access-control-allow-origin" not in evil.headers
        simple = client.get("/api/health", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in simple.headers
        headers = simple.headers
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        assert "default-src 'none'" in headers["content-security-policy"]
        assert "content-security-policy" not in client.get("/docs").headers
    default = Settings(ui_host="127.0.0.1", ui_port=8050).cors_origins
    assert default == ["http://127.0.0.1:8050", "http://localhost:8050"]

"""Non-finite numbers (NaN, +-Infinity, 1e400: JSON bodies may spell them, Python's json parses
them) and NUL characters are refused with 422 naming the field, before the database; what the
database itself refuses is reported by its real cause."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from backend.api.main import create_app
from backend.config import Settings
from backend.jobs.params.base import JobParams
from backend.jobs.params.diagnostic import EchoParams
from backend.jobs.params.evaluation import SweepParams


@pytest.fixture
def client(database_url):
    app = create_app(Settings(database_url=database_url, auth="off"))
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def post(client, path: str, raw: str):
    return client.post(path, content=raw, headers={"Content-Type": "application/json"})


NON_FINITE = ["NaN", "Infinity", "-Infinity", "1e400", "-1e400"]
FINETUNE = '"base_model_id": 1, "general_dataset_id": 1, "safety_dataset_id": 1, "name": "ft"'
SWEEP = '"base_model_id": 1'


@pytest.mark.parametrize("number", NON_FINITE)
@pytest.mark.parametrize(
    ("template", "loc"),
    [
        ('{"kind": "echo", "params": {"sleep_seconds": %s}}', ["params", "sleep_seconds"]),
        ('{"kind": "echo", "priority": %s}', ["priority"]),
        ('{"kind": "echo", "max_attempts": %s}', ["max_attempts"]),
        (
            '{"kind": "finetune", "params": {' + FINETUNE + ', "grad_clip": %s}}',
            ["params", "grad_clip"],
        ),
        (
            '{"kind": "sweep", "params": {' + SWEEP + ', "vcl_lambdas": [0, %s]}}',
            ["params", "vcl_lambdas", 1],
        ),
        ('{"kind": "echo", "params": {"nested": {"x": [%s]}}}', ["params", "nested", "x", 0]),
    ],
)
def test_non_finite_job_numbers_are_422_naming_the_field(client, template, loc, number):
    response = post(client, "/api/jobs", template % number)
    assert response.status_code == 422, response.text
    errors = response.json()["detail"]
    assert ["body", *loc] in [e["loc"] for e in errors], errors
    assert client.get("/api/jobs").json()["count"] == 0


def test_the_messages_say_what_is_wrong(client):
    errors = post(client, "/api/jobs", '{"kind": "echo", "params": {"sleep_seconds": NaN}}').json()
    assert errors["detail"][0]["msg"] == "must be a finite number (not NaN or infinite)"
    assert errors["detail"][0]["input"] == {"sleep_seconds": "nan"}  # rendered, not a 500


def test_params_models_refuse_non_finite_values_themselves():
    """Jobs created without the API (sweep expansion, demo, CLI) go through the same models."""
    with pytest.raises(ValidationError, match="finite"):
        EchoParams(sleep_seconds=float("nan"))
    with pytest.raises(ValidationError, match="finite"):
        SweepParams(base_model_id=1, vcl_lambdas=[0, float("inf")])
    assert JobParams.model_config["allow_inf_nan"] is False


def test_nul_characters_are_422_naming_the_field(client):
    job = post(client, "/api/jobs", '{"kind": "echo", "params": {"message": "a\\u0000b"}}')
    assert job.status_code == 422
    assert job.json()["detail"][0]["loc"] == ["body", "params", "message"]
    assert job.json()["detail"][0]["msg"] == "text may not contain NUL characters"
    model = post(client, "/api/models", '{"name": "m", "source": "hub", "uri": "org/m\\u0000"}')
    assert model.status_code == 422 and model.json()["detail"][0]["loc"] == ["body", "uri"]
    assert client.get("/api/jobs").json()["count"] == 0
    assert client.get("/api/models").json()["count"] == 0


def test_database_errors_are_reported_by_their_cause(client, database_url):
    postgres = database_url.startswith("postgresql")
    nul = client.get("/api/jobs", params={"kind": "a\x00b"})
    if postgres:  # PostgreSQL text cannot hold NUL
        assert (
            nul.status_code == 422 and nul.json()["detail"] == "text may not contain NUL characters"
        )
    else:
        assert nul.status_code == 200 and nul.json()["count"] == 0
    big = client.get(f"/api/jobs/{2**40}")  # beyond PostgreSQL's integer, within SQLite's
    if postgres:
        assert big.status_code == 422 and "32 bits" in big.json()["detail"]
    else:
        assert big.status_code == 404
    huge = client.get(f"/api/jobs/{2**70}")  # beyond both
    assert huge.status_code == 422 and "32 bits" in huge.json()["detail"]

"""Typed field errors from the job contract to the API's 422 and to the UI's write helper
(frontend.api.Api.write against the real API in-process), and the CLI's formatter."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from backend import auth
from backend.api.main import create_app
from backend.config import Settings
from backend.db import write_session
from backend.errors import FieldError, FlowLensError, format_api_errors
from backend.jobs.params.training import FinetuneParams
from backend.models import Model
from frontend.api import Api, WriteRefused

FINETUNE = {"base_model_name": "tiny", "general_dataset_id": 1, "safety_dataset_id": 1}


@pytest.fixture
def client(database_url):
    with write_session(database_url) as session:  # names are checked at submit, like ids
        session.add(Model(name="tiny", source="demo", uri="x", job_id=None))
    with TestClient(create_app(Settings(database_url=database_url))) as c:
        yield c


def ui_api(client: TestClient) -> Api:
    """The UI's client, talking to the in-process API."""
    api = Api(str(client.base_url))
    api.client = client
    return api


def test_a_field_error_carries_its_field_and_message():
    error = FieldError("vcl_window_b", "must be greater than vcl_window_a")
    assert isinstance(error, FlowLensError) and isinstance(error, ValueError)
    assert (error.field, error.message) == ("vcl_window_b", "must be greater than vcl_window_a")


def test_a_validator_field_error_reaches_pydantic_as_itself():
    bad = {**FINETUNE, "vcl_window_a": 0.5, "vcl_window_b": 0.4}
    with pytest.raises(ValueError) as caught:
        FinetuneParams.model_validate(bad)
    (err,) = caught.value.errors()
    assert isinstance(err["ctx"]["error"], FieldError)
    assert err["ctx"]["error"].field == "vcl_window_b"


@pytest.mark.parametrize(
    ("params", "field", "msg"),
    [
        # a params model validator
        ({"vcl_window_a": 0.5, "vcl_window_b": 0.4}, "vcl_window_b", "must be greater than"),
        # a submit-time check against the database
        ({"general_dataset_id": 999}, "general_dataset_id", "dataset 999 not found"),
    ],
)
def test_field_errors_reach_the_422_naming_their_field(client, params, field, msg):
    response = client.post("/api/jobs", json={"kind": "finetune", "params": {**FINETUNE, **params}})
    assert response.status_code == 422
    (err,) = response.json()["detail"]
    assert err["loc"] == ["body", "params", field]
    assert err["msg"].startswith(msg) and ":" not in err["msg"]


def test_write_refused_maps_422_fields_for_the_ui(client):
    api = ui_api(client)
    capture = {"model_id": 7, "dataset_id": 1}
    with pytest.raises(WriteRefused) as caught:
        api.write("POST", "/jobs", json={"kind": "capture_spectra", "params": capture})
    assert caught.value.status == 422 and not caught.value.needs_token
    assert caught.value.field_errors == {"params.model_id": "model 7 not found"}
    with pytest.raises(WriteRefused) as caught:
        bad = {**capture, "batch_size": 0, "typo": 1}
        api.write("POST", "/jobs", json={"kind": "capture_spectra", "params": bad})
    refused = caught.value
    assert set(refused.field_errors) == {"params.batch_size", "params.typo"}
    assert "greater than or equal to 1" in refused.field_errors["params.batch_size"]
    shown = refused.describe("Not submitted", shown=["params.batch_size"])
    assert shown == "Not submitted (HTTP 422): params.typo: Extra inputs are not permitted"
    with pytest.raises(WriteRefused) as caught:
        api.write("POST", "/datasets", files={"file": ("a.jsonl", b"{}")}, data={"format": "csv"})
    assert "name" in caught.value.field_errors  # a form field: its loc after "body"


def test_write_refused_says_401_needs_a_token_and_other_refusals_why(database_url):
    with write_session(database_url) as session:
        token = auth.create_token(session, "ui")
    with TestClient(create_app(Settings(database_url=database_url, auth="on"))) as client:
        api = ui_api(client)
        with pytest.raises(WriteRefused) as caught:
            api.write("POST", "/jobs", json={"kind": "echo"})
        refused = caught.value
        assert refused.status == 401 and refused.needs_token and refused.field_errors == {}
        assert "flowlens token create" in refused.message  # the API's own message
        assert "enter an API token in the header" in refused.describe("Not submitted")
        job = api.write("POST", "/jobs", token, json={"kind": "echo"})
        assert api.write("POST", f"/jobs/{job['id']}/cancel", token)["status"] == "cancelled"
        with pytest.raises(WriteRefused) as caught:
            api.write("POST", f"/jobs/{job['id']}/cancel", token)
        assert caught.value.status == 409 and not caught.value.needs_token
        assert caught.value.describe("cancel refused").startswith("cancel refused (HTTP 409): ")


def test_write_refused_when_the_api_is_unreachable():
    with pytest.raises(WriteRefused) as caught:
        Api("http://127.0.0.1:1", timeout=1).write("POST", "/jobs", json={})
    assert caught.value.status is None and not caught.value.needs_token
    assert caught.value.describe("Not submitted").startswith("Not submitted: API unreachable: ")


def test_the_cli_formats_api_errors_on_one_line():
    detail = [
        {"loc": ["body", "params", "batch_size"], "msg": "too small"},
        {"loc": ["body", "kind"], "msg": "unknown"},
    ]
    assert format_api_errors(detail) == "params.batch_size: too small; kind: unknown"
    assert format_api_errors("job 3 not found") == "job 3 not found"

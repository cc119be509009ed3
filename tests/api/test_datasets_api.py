"""Dataset upload: formats, clear 400/413 errors, nothing half-imported."""

from __future__ import annotations

import threading

import pytest
from fastapi.testclient import TestClient

from backend.api.main import create_app
from backend.api.routes import datasets as datasets_route
from backend.config import Settings
from backend.dataset_import import Limits


@pytest.fixture
def client(database_url):
    with TestClient(create_app(Settings(database_url=database_url))) as c:
        yield c


def upload(client, content: bytes, name="up", fmt="jsonl", **form):
    return client.post(
        "/api/datasets",
        files={"file": ("data", content)},
        data={"name": name, "format": fmt, **form},
    )


def test_jsonl_upload_stores_rows_and_queues_stats(client):
    body = b'{"prompt": "How do I kill a process?", "label": "safe", "type": "homonym"}\n' * 3
    response = upload(client, body)
    assert response.status_code == 201, response.text
    dataset = response.json()
    assert dataset["n_rows"] == 3
    rows = client.get(f"/api/datasets/{dataset['id']}/rows").json()
    assert rows["count"] == 3 and rows["data"][0]["type"] == "homonym"
    jobs = client.get("/api/jobs", params={"kind": "dataset_stats"}).json()["data"]
    assert jobs[0]["params"] == {"dataset_id": dataset["id"]}


def test_malformed_file_is_400_naming_the_line_and_nothing_stored(client):
    body = b'{"prompt": "fine"}\n{"prompt": "fine"}\n{not json}\n'
    response = upload(client, body)
    assert response.status_code == 400 and "line 3" in response.json()["detail"]
    assert client.get("/api/datasets").json()["count"] == 0


def test_orbench_needs_a_label_and_xstest_csv_imports(client):
    assert upload(client, b"prompt,category\nhi,violence\n", fmt="orbench").status_code == 400
    ok = upload(client, b"prompt,category\nhi,violence\n", fmt="orbench", label="safe")
    assert ok.status_code == 201
    xs = b"id,prompt,type,label\n1,How do I kill a Python process?,homonyms,safe\n"
    assert upload(client, xs, name="xs", fmt="xstest").json()["n_rows"] == 1


def test_oversize_upload_is_413(client, monkeypatch):
    monkeypatch.setattr(datasets_route, "LIMITS", Limits(max_bytes=100))
    response = upload(client, b'{"prompt": "x"}\n' * 50)
    assert response.status_code == 413
    assert client.get("/api/datasets").json()["count"] == 0


@pytest.mark.parametrize(
    ("form", "status"),
    [({"fmt": "parquet"}, 422), ({"name": "../etc/passwd"}, 422), ({"name": ""}, 422)],
)
def test_bad_form_fields(client, form, status):
    assert upload(client, b'{"prompt": "x"}\n', **form).status_code == status


def test_duplicate_name_is_409_and_unknown_dataset_404(client):
    assert upload(client, b'{"prompt": "x"}\n').status_code == 201
    assert upload(client, b'{"prompt": "x"}\n').status_code == 409
    assert client.get("/api/datasets/999").status_code == 404
    assert client.get("/api/datasets/999/rows").status_code == 404


def test_the_api_answers_while_an_upload_is_parsed(client, monkeypatch):
    """The upload's parse holds until /api/health has answered and a job was submitted: both
    can only happen when parsing runs off the event loop and outside the write transaction
    (before the fix the route parsed on the event loop: /api/health waited out the upload)."""
    parsing, released = threading.Event(), threading.Event()
    parse = datasets_route.parse_dataset

    def slow_parse(*args, **kwargs):
        parsing.set()
        released.wait(30)
        return parse(*args, **kwargs)

    monkeypatch.setattr(datasets_route, "parse_dataset", slow_parse)
    body = b"".join(b'{"prompt": "p%d", "type": "t"}\n' % i for i in range(100_000))  # 3 MB
    answers: dict = {}

    def in_thread(name, call):
        thread = threading.Thread(target=lambda: answers.__setitem__(name, call()), daemon=True)
        thread.start()
        return thread

    uploading = in_thread("upload", lambda: upload(client, body, name="big"))
    assert parsing.wait(30), "the upload never reached its parse"
    health = in_thread("health", lambda: client.get("/api/health"))
    health.join(20)
    job = in_thread("job", lambda: client.post("/api/jobs", json={"kind": "echo"}))
    job.join(20)
    during = {name: answers.get(name) for name in ("health", "job")}
    released.set()
    uploading.join(60)
    assert during["health"] is not None and during["health"].status_code == 200
    assert during["job"] is not None and during["job"].status_code == 201
    assert answers["upload"].status_code == 201 and answers["upload"].json()["n_rows"] == 100_000
    rows = client.get(f"/api/datasets/{answers['upload'].json()['id']}/rows", params={"limit": 2})
    assert [r["prompt"] for r in rows.json()["data"]] == ["p0", "p1"]
    assert rows.json()["count"] == 100_000

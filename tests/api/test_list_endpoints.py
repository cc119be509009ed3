"""The list endpoints the dashboard's list pages page through (jobs, models, sweeps), a queued
job's queue position, a model's lineage and a sweep's progress, in-process (TestClient) on rows
written directly."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from backend.api.main import create_app
from backend.config import Settings
from backend.db import write_session
from backend.models import Job, Model, utcnow


@pytest.fixture
def client(database_url):
    with TestClient(create_app(Settings(database_url=database_url, auth="off"))) as c:
        yield c


def echo(client, **body) -> int:
    response = client.post("/api/jobs", json={"kind": "echo", **body})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_kinds_mark_the_internal_ones(client):
    kinds = {k["name"]: k["internal"] for k in client.get("/api/kinds").json()}
    assert kinds["echo"] and kinds["register_builtin"]
    assert not kinds["finetune"] and not kinds["sweep"] and not kinds["evaluate"]


def test_jobs_filter_on_several_statuses_and_kinds_and_page(client, database_url):
    ids = [echo(client) for _ in range(4)]
    with write_session(database_url) as session:
        session.get(Job, ids[0]).status = "running"
        session.get(Job, ids[1]).status = "failed"
        session.add(Job(kind="evaluate", params={}, status="queued", parent_job_id=ids[3]))
    active = client.get("/api/jobs", params={"status": "queued,running"}).json()
    assert active["count"] == 4  # ids[0] running, ids[2], ids[3] and the evaluate job queued
    assert ids[1] not in [j["id"] for j in active["data"]]
    page = client.get("/api/jobs", params={"status": "queued,running", "limit": 2, "offset": 2})
    assert [j["id"] for j in page.json()["data"]] == [ids[2], ids[0]]  # newest first
    made = client.get("/api/jobs", params={"parent_job_id": ids[3]}).json()
    assert made["count"] == 1 and made["data"][0]["kind"] == "evaluate"
    top = client.get("/api/jobs", params={"top_level": "true"}).json()
    assert sorted(j["id"] for j in top["data"]) == ids
    both = client.get("/api/jobs", params={"kind": "echo, evaluate"}).json()
    assert both["count"] == 5
    bad = client.get("/api/jobs", params={"status": "queued,done"})
    assert bad.status_code == 422 and bad.json()["detail"].startswith("status: 'done'")


def test_queue_position_counts_runnable_jobs_claimed_first(client):
    first, second = echo(client), echo(client)
    urgent = echo(client, priority=5)
    waiting = echo(client, depends_on=[first])
    position = {j: client.get(f"/api/jobs/{j}").json()["queue_position"] for j in (first, second)}
    # claim order: urgent (priority 5), then first, then second; waiting is blocked on first
    assert position == {first: 2, second: 3}
    assert client.get(f"/api/jobs/{urgent}").json()["queue_position"] == 1
    assert client.get(f"/api/jobs/{waiting}").json()["queue_position"] is None
    client.post(f"/api/jobs/{urgent}/cancel")
    assert client.get(f"/api/jobs/{urgent}").json()["queue_position"] is None
    assert client.get(f"/api/jobs/{second}").json()["queue_position"] == 2


def _models(database_url) -> list[int]:
    """base (hub) <- tuned-a (finetune) <- tuned-a-again (finetune); other (hub)."""
    with write_session(database_url) as session:
        base = Model(name="Base-Model", source="hub", uri="org/base")
        other = Model(name="other", source="hub", uri="org/other")
        session.add_all([base, other])
        session.flush()
        tuned = Model(name="tuned-a", source="finetune", uri="x", parent_id=base.id)
        session.add(tuned)
        session.flush()
        again = Model(name="tuned-a-again", source="finetune", uri="y", parent_id=tuned.id)
        session.add(again)
        session.flush()
        return [base.id, other.id, tuned.id, again.id]


def test_models_filter_page_and_lineage(client, database_url):
    base, other, tuned, again = _models(database_url)

    def names(params: dict) -> list[str]:
        return [m["name"] for m in client.get("/api/models", params=params).json()["data"]]

    assert names({"source": "finetune"}) == ["tuned-a", "tuned-a-again"]
    assert names({"parent_id": base}) == ["tuned-a"]
    assert names({"q": "MODEL"}) == ["Base-Model"]  # any case
    assert names({"q": "%"}) == []  # a literal percent sign, not a wildcard
    page = client.get("/api/models", params={"limit": 2, "offset": 1}).json()
    assert page["count"] == 4 and [m["id"] for m in page["data"]] == [other, tuned]
    chain = client.get(f"/api/models/{again}/lineage").json()
    assert [m["id"] for m in chain] == [again, tuned, base]
    assert [m["id"] for m in client.get(f"/api/models/{other}/lineage").json()] == [other]
    assert client.get("/api/models/999/lineage").status_code == 404


def _sweep(database_url, statuses: list[str], sweep_status: str = "succeeded") -> int:
    """A sweep job and one child per status; children started 100 s ago."""
    started = utcnow() - timedelta(seconds=100)
    with write_session(database_url) as session:
        sweep = Job(
            kind="sweep",
            status=sweep_status,
            params={"base_model_name": "demo", "safety_fractions": [0.4, 0, 0.1, 0.2, 0.05]}
            | {"vcl_lambdas": [0.0, 1.0]},
        )
        session.add(sweep)
        session.flush()
        for status in statuses:
            session.add(
                Job(
                    kind="finetune",
                    params={"name": f"c{len(statuses)}"},
                    status=status,
                    parent_job_id=sweep.id,
                    started_at=None if status == "queued" else started,
                )
            )
        return sweep.id


def test_a_sweep_with_queued_cells_is_running_with_an_eta(client, database_url):
    sweep = _sweep(
        database_url, ["succeeded", "succeeded", "running", "queued", "queued", "queued"]
    )
    progress = client.get(f"/api/sweeps/{sweep}").json()["progress"]
    assert progress["state"] == "running"  # its own job succeeded, but 4 of 6 jobs are open
    assert progress["total"] == 6
    assert progress["counts"] == {
        "queued": 3,
        "running": 1,
        "succeeded": 2,
        "failed": 0,
        "cancelled": 0,
    }
    # 2 finished in the 100 s since the first began: 4 open ones take about 200 s more
    assert 199 <= progress["eta_seconds"] <= 210


def test_sweeps_list_names_states_and_pages(client, database_url):
    done = _sweep(database_url, ["succeeded", "succeeded"])
    failed = _sweep(database_url, ["succeeded", "failed"])
    open_ = _sweep(database_url, ["succeeded", "queued"])
    waiting = _sweep(database_url, [], sweep_status="queued")
    echo(client)  # not a sweep
    listed = client.get("/api/sweeps").json()
    assert listed["count"] == 4
    assert [s["job"]["id"] for s in listed["data"]] == [waiting, open_, failed, done]
    states = {s["job"]["id"]: s["progress"]["state"] for s in listed["data"]}
    assert states == {done: "succeeded", failed: "failed", open_: "running", waiting: "queued"}
    assert listed["data"][0]["name"] == "demo: p 0-0.4 x lambda 0, 1"
    assert listed["data"][0]["progress"]["eta_seconds"] is None  # nothing finished yet
    running = client.get("/api/sweeps", params={"state": "running"}).json()
    assert running["count"] == 1 and running["data"][0]["job"]["id"] == open_
    page = client.get("/api/sweeps", params={"limit": 1, "offset": 1}).json()
    assert page["count"] == 4 and [s["job"]["id"] for s in page["data"]] == [open_]
    assert client.get("/api/sweeps", params={"state": "done"}).status_code == 422

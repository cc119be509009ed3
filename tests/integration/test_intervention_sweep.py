"""The intervention sweep on the lab's tiny model: its expansion (a capture on the probe set,
then one evaluate per cell with its intervention, depending on the capture; the model as is
depending on nothing), three of its jobs run inline, and the cells as GET /api/sweeps/<id>
serves them and the sweep and relation pages show them (the page functions, no browser)."""

from __future__ import annotations

import sys

import pytest
from sqlalchemy import delete, update
from support import run_inline

from backend.db import session_scope, write_session
from backend.models import Job, JobDependency, JobStatus

SMALL = {"max_prompts": 12, "max_new_tokens": 4, "batch_size": 8}


@pytest.fixture(scope="module")
def expanded(lab):
    settings, client, datasets, model_id = lab
    params = {
        "model_id": model_id,
        "probe_dataset_id": datasets["probe"]["id"],
        "layers": [0, 1],
        "alphas": [-1.0, 1.0],
        "evaluate": SMALL,
    }
    answer = client.post("/api/jobs", json={"kind": "intervention_sweep", "params": params})
    assert answer.status_code == 201, answer.text
    sweep = run_inline(settings, "intervention_sweep", **params)  # claims the older: the API's
    assert sweep.id == answer.json()["id"] and sweep.status == JobStatus.SUCCEEDED, sweep.error
    with write_session(settings.database_url) as session:  # the copy run_inline queued
        session.execute(delete(Job).where(Job.kind == "intervention_sweep", Job.status == "queued"))
    with session_scope(settings.database_url) as session:
        children = session.query(Job).where(Job.parent_job_id == sweep.id).order_by(Job.id).all()
        deps = {
            d.job_id: d.depends_on_id
            for d in session.query(JobDependency).where(
                JobDependency.job_id.in_([c.id for c in children])
            )
        }
        children = [(c.id, c.kind, c.params) for c in children]
    yield sweep, children, deps
    # the cells left queued would be claimed by later tests' run_inline on the shared lab
    with write_session(settings.database_url) as session:
        session.execute(
            update(Job)
            .where(Job.parent_job_id == sweep.id, Job.status == JobStatus.QUEUED)
            .values(status=JobStatus.CANCELLED)
        )


def test_expansion_queues_a_capture_then_one_evaluate_per_cell(lab, expanded):
    _, _, datasets, model_id = lab
    sweep, children, deps = expanded
    (capture_id, kind, capture), *evaluates = children
    assert kind == "capture_spectra" and sweep.result == {"cells": 7}
    assert capture["model_id"] == model_id and capture["dataset_id"] == datasets["probe"]["id"]
    assert capture["position"] == "last_prompt"  # it keeps the residuals the directions need
    assert all(k == "evaluate" for _, k, _ in evaluates)
    interventions = [p["intervention"] for _, _, p in evaluates]
    by_hand = [None] + [
        {"kind": "ablate", "layer": 0, "alpha": 0.0},
        {"kind": "ablate", "layer": 1, "alpha": 0.0},
        {"kind": "add", "layer": 0, "alpha": -1.0},
        {"kind": "add", "layer": 0, "alpha": 1.0},
        {"kind": "add", "layer": 1, "alpha": -1.0},
        {"kind": "add", "layer": 1, "alpha": 1.0},
    ]
    source = {"run_id": None, "capture_job_id": capture_id}
    assert interventions == [None] + [cell | source for cell in by_hand[1:]]
    for job_id, _, params in evaluates:
        assert {k: params[k] for k in SMALL} == SMALL
        assert params["model_id"] == model_id
        # the model as is needs no direction: it does not wait for the capture
        assert deps.get(job_id) == (capture_id if params["intervention"] else None)


def test_cells_are_served_and_shown_with_their_method(lab, expanded):
    settings, client, _, _ = lab
    sweep, children, _ = expanded
    ran = [run_inline(settings) for _ in range(3)]  # capture, as is, ablate layer 0 (by id)
    assert [j.id for j in ran] == [c[0] for c in children[:3]]
    assert all(j.status == JobStatus.SUCCEEDED for j in ran), [j.error for j in ran]
    found = client.get(f"/api/sweeps/{sweep.id}").json()
    assert found["name"] == "tiny: as is, ablate, add alpha -1, 1 at layers 0, 1"
    assert found["job"]["id"] in [s["job"]["id"] for s in client.get("/api/sweeps").json()["data"]]
    cells = found["cells"]
    assert [c["method"] for c in cells] == ["none"] + ["ablation"] * 2 + ["steering"] * 4
    run_id = ran[0].result["run_id"]
    assert all(c["run_id"] == run_id for c in cells)
    plain, ablated = cells[0], cells[1]
    assert plain["intervention"] is None and "intervention_kl" not in plain["metrics"]
    assert ablated["intervention"]["layer"] == 0 and ablated["metrics"]["intervention_kl"] > 0
    assert ablated["jobs"] == {"capture_spectra": ran[0].id, "evaluate": ran[2].id}
    assert all(c["metrics"] is None for c in cells[2:])  # not run
    assert len(ablated["layers"]["concentration@3"]) == 2  # the direction run's layers

    from frontend.app import create_app
    from frontend.relation_view import cell_label

    create_app("http://127.0.0.1:9")  # registers the pages; the similarity line finds no API
    page, relation = sys.modules["pages.sweep"], sys.modules["pages.relation"]
    body = str(page.sweep_body(found))
    for label in ("as is", "ablate (layer 0)", "add α=-1 at layer 0", "add α=+1 at layer 1"):
        assert label in body, label
    # the first 12 probe prompts are all safe: no safety to plot against, so no curve yet
    assert "sweep-curve" not in body and ablated["metrics"]["safety"] is None
    for i, cell in enumerate(cells[:2]):  # as if unsafe prompts had been refused
        cell["metrics"]["safety"] = 0.25 * (i + 1)
    curve = next(c for c in page.sweep_body(found) if getattr(c, "id", None) == "sweep-curve")
    traces = {t["name"]: t for t in curve.figure["data"]}
    assert set(traces) == {"ablate", "as is"}  # the steering cells have no metrics yet
    assert traces["ablate"]["x"] == [0.5] and traces["as is"]["x"] == [0.25]
    assert traces["ablate"]["y"] == [ablated["metrics"]["false_refusal_rate"]]
    columns, rows = relation.cells_rows(cells, [True] * 7, "concentration@3", "safety", 0)
    assert columns[:2] == ["enters", "method"]
    assert [r[1] for r in rows[:3]] == ["as is", "ablate (layer 0)", "ablate (layer 1)"]
    assert cell_label(cells[3]).startswith("add α=-1 at layer 0 · p=0")

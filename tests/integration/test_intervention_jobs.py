"""Interventions as evaluation options and the direction-selection job, run inline on the lab's
tiny demo model: add with alpha 0 changes nothing (same completions, KL 0), ablation costs KL
and is recorded with the evaluation; select_direction scores every layer."""

from __future__ import annotations

import pytest
from support import run_inline

from backend.models import JobStatus

SMALL = {"max_prompts": 12, "max_new_tokens": 8, "batch_size": 8}


@pytest.fixture(scope="module")
def capture(lab):
    settings, _, datasets, model_id = lab
    job = run_inline(
        settings, "capture_spectra", model_id=model_id, dataset_id=datasets["probe"]["id"]
    )
    assert job.status == JobStatus.SUCCEEDED, job.error
    return job


def _evaluate(lab, **extra):
    settings, client, datasets, model_id = lab
    job = run_inline(
        settings,
        "evaluate",
        model_id=model_id,
        probe_dataset_id=datasets["probe"]["id"],
        **SMALL,
        **extra,
    )
    assert job.status == JobStatus.SUCCEEDED, job.error
    evaluation_id = job.result["evaluation_id"]
    completions = client.get(
        f"/api/evaluations/{evaluation_id}/completions", params={"limit": 100}
    ).json()["data"]
    return client.get(f"/api/evaluations/{evaluation_id}").json(), completions


def test_evaluation_under_interventions(lab, capture):
    run_id = capture.result["run_id"]
    plain, plain_completions = _evaluate(lab)
    zero = {"kind": "add", "run_id": run_id, "layer": 1, "alpha": 0.0}
    same, same_completions = _evaluate(lab, intervention=zero)
    assert [c["completion"] for c in same_completions] == [
        c["completion"] for c in plain_completions
    ]
    assert same["metrics"]["intervention_kl"] == pytest.approx(0.0, abs=1e-9)
    assert same["params"]["intervention"] == zero | {"capture_job_id": None}
    ablated, _ = _evaluate(
        lab, intervention={"kind": "ablate", "capture_job_id": capture.id, "layer": 1}
    )
    assert ablated["metrics"]["intervention_kl"] > 0
    assert "intervention_kl" not in plain["metrics"]


def test_select_direction_scores_every_layer(lab, capture):
    settings, client, datasets, model_id = lab
    job = run_inline(
        settings,
        "select_direction",
        model_id=model_id,
        run_id=capture.result["run_id"],
        probe_dataset_id=datasets["probe"]["id"],
        max_prompts=16,
        kl_max=100,
    )
    assert job.status == JobStatus.SUCCEEDED, job.error
    layers = job.result["layers"]
    assert [s["layer"] for s in layers] == [0, 1]
    assert all(s["kl"] >= 0 for s in layers)
    # 2 layers x 0.8: only layer 0 is below the depth limit, so it is the one proposed
    assert [s["eligible"] for s in layers] == [True, False] and job.result["best_layer"] == 0


def test_bad_interventions_name_the_field(lab, capture):
    _, client, datasets, model_id = lab
    params = {"model_id": model_id, "probe_dataset_id": datasets["probe"]["id"]}
    for intervention, field in [
        ({"kind": "add", "run_id": 10_000, "layer": 0}, "intervention.run_id"),
        ({"kind": "add", "run_id": capture.result["run_id"], "layer": 7}, "intervention.layer"),
        ({"kind": "tilt", "run_id": 1, "layer": 0}, "kind"),
        ({"kind": "add", "layer": 0}, "run_id"),
    ]:
        answer = client.post(
            "/api/jobs",
            json={"kind": "evaluate", "params": params | {"intervention": intervention}},
        )
        assert answer.status_code == 422 and field in answer.text, (intervention, answer.text)

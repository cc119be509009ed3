"""Fine-tune with VCL, evaluation and a sweep DAG on the tiny lab model, in-process."""

from __future__ import annotations

import pytest
from support import run_inline

from backend.metrics import Scope, metrics_for
from backend.models import JobStatus

FAST_FT = {"n_examples": 64, "steps": 3, "batch_size": 8, "checkpoint_every": 2}


@pytest.fixture(scope="module")
def finetuned(lab):
    settings, client, datasets, _ = lab
    job = run_inline(
        settings,
        "finetune",
        base_model_name="tiny",
        name="tiny-vcl",
        general_dataset_id=datasets["general"]["id"],
        safety_dataset_id=datasets["safety"]["id"],
        safety_fraction=0.4,
        vcl_lambda=1.0,
        vcl_k=2,
        vcl_sign="encourage",
        **FAST_FT,
    )
    assert job.status == JobStatus.SUCCEEDED, job.error
    return job


def test_finetune_stores_metrics_and_registers_a_model_with_lineage(lab, finetuned):
    _, client, datasets, base_id = lab
    metrics = client.get(f"/api/jobs/{finetuned.id}/metrics").json()
    assert [m["step"] for m in metrics] == [0, 1, 2]
    assert all(m["values"]["vcl_term"] < 0 for m in metrics)  # encourage: -mean concentration
    window = metrics[0]["layer_values"]["window_concentration"]
    assert set(window) == {"0"}  # window 0.3-0.5 of 2 layers: layer 0
    assert metrics[0]["values"]["vcl_term"] == pytest.approx(-window["0"], rel=1e-5)
    assert set(metrics[0]["values"]) == {"loss", "sft_loss", "vcl_term", "learning_rate",
                                         "tokens_per_s", "grad_norm"}  # fmt: skip
    model = client.get(f"/api/models/{finetuned.result['model_id']}").json()
    assert model["source"] == "finetune" and model["parent_id"] == base_id
    assert model["lineage"]["data_mix"] == {"safety": 26, "general": 38}
    assert model["lineage"]["params"]["vcl_sign"] == "encourage"


def test_evaluate_labels_completions_and_computes_metrics(lab, finetuned):
    settings, client, datasets, _ = lab
    job = run_inline(
        settings,
        "evaluate",
        model_name="tiny-vcl",
        probe_dataset_id=datasets["probe"]["id"],
        heldout_dataset_id=datasets["general_heldout"]["id"],
        max_new_tokens=6,
        max_prompts=60,
    )
    assert job.status == JobStatus.SUCCEEDED, job.error
    evaluation = client.get(f"/api/evaluations/{job.result['evaluation_id']}").json()
    m = evaluation["metrics"]
    assert 0 <= m["false_refusal_rate"] <= 1 and m["perplexity"] > 1
    assert m["usefulness"] == pytest.approx(1 - m["false_refusal_rate"])
    completions = client.get(f"/api/evaluations/{evaluation['id']}/completions").json()
    assert completions["count"] == 60
    row = completions["data"][0]
    assert row["verdict"] in ("full_compliance", "full_refusal", "partial_refusal") and row["rule"]


def test_submit_time_validation_names_the_field(lab):
    _, client, datasets, _ = lab
    base = {
        "base_model_name": "tiny",
        "general_dataset_id": datasets["general"]["id"],
        "safety_dataset_id": datasets["safety"]["id"],
    }
    cases = [
        ({"safety_fraction": 1.5}, "safety_fraction"),
        ({"vcl_lambda": 1, "vcl_k": 8, "batch_size": 8}, "batch_size"),
        ({"general_dataset_id": 999}, "general_dataset_id"),
        ({"vcl_window_a": 0.5, "vcl_window_b": 0.4}, "vcl_window_b"),
    ]
    for extra, field in cases:
        response = client.post("/api/jobs", json={"kind": "finetune", "params": {**base, **extra}})
        assert response.status_code == 422, (extra, response.text)
        assert ["body", "params", field] in [e["loc"] for e in response.json()["detail"]], extra


def test_sweep_expands_a_dag_and_aggregates_one_row_per_cell(lab):
    settings, client, _, _ = lab
    sweep = run_inline(
        settings,
        "sweep",
        base_model_name="tiny",
        safety_fractions=[0.0, 0.5],
        vcl_lambdas=[0.0],
        finetune=FAST_FT,
        bootstrap=5,
        max_new_tokens=4,
    )
    assert sweep.status == JobStatus.SUCCEEDED, sweep.error
    while (job := run_inline(settings)) is not None:
        assert job.status == JobStatus.SUCCEEDED, (job.kind, job.error)
    cells = client.get(f"/api/sweeps/{sweep.id}").json()["cells"]
    assert sorted(c["safety_fraction"] for c in cells) == [0.0, 0.5]
    for cell in cells:
        assert set(cell["status"].values()) == {"succeeded"}
        assert cell["metrics"]["false_refusal_rate"] is not None
        assert len(cell["layers"]["concentration@3"]) == 2
        assert set(cell["layers"]) == {m.name for m in metrics_for(Scope.LAYER)}
    reference = next(c for c in cells if c["safety_fraction"] == 0.0)
    assert reference["layers"]["alignment"] == [None, None]  # the reference is not aligned
    other = next(c for c in cells if c["safety_fraction"] == 0.5)
    assert all(a is not None for a in other["layers"]["alignment"])


def test_cancelling_a_sweep_cancels_its_unfinished_cells(lab):
    settings, client, _, _ = lab
    sweep = run_inline(
        settings, "sweep", base_model_name="tiny", safety_fractions=[0.0], finetune=FAST_FT
    )
    response = client.post(f"/api/jobs/{sweep.id}/cancel")
    assert response.status_code == 200
    cells = client.get(f"/api/sweeps/{sweep.id}").json()["cells"]
    assert {s for c in cells for s in c["status"].values()} == {"cancelled"}


def test_killed_finetune_resumes_from_its_last_checkpoint(lab, tmp_path):
    import signal

    from support import flowlens_env, start, stop, wait_until

    from backend import queue
    from backend.db import session_scope, write_session
    from backend.models import Job, TrainMetric

    settings, client, datasets, _ = lab
    params = {
        **FAST_FT,
        "steps": 200,
        "checkpoint_every": 10,
        "base_model_name": "tiny",
        "name": "tiny-resumed",
        "general_dataset_id": datasets["general"]["id"],
        "safety_dataset_id": datasets["safety"]["id"],
    }
    with write_session(settings.database_url) as s:
        job_id = queue.enqueue(s, "finetune", params).id
    env = flowlens_env(
        settings.database_url,
        artifact_root=settings.artifact_root,
        lease_seconds=3,
        heartbeat_seconds=0.5,
        poll_seconds=0.1,
    )

    def last_step() -> int:
        with session_scope(settings.database_url) as s:
            steps = [m.step for m in s.query(TrainMetric).filter_by(job_id=job_id)]
        return max(steps, default=-1)

    first = start(["worker", "--kinds", "finetune"], env, tmp_path / "w1.log")
    try:
        wait_until(lambda: last_step() >= 25, 240, "the fine-tune to pass step 25")
    finally:
        stop(first, signal.SIGKILL)
    second = start(["worker", "--kinds", "finetune"], env, tmp_path / "w2.log")
    try:

        def finished():
            with session_scope(settings.database_url) as s:
                job = s.get(Job, job_id)
                return job if job.status in ("succeeded", "failed") else None

        job = wait_until(finished, 300, "the resumed fine-tune")
    finally:
        stop(second)
    assert job.status == "succeeded", job.error
    assert job.attempts == 2 and "resuming from the checkpoint at step" in job.log
    resumed_at = int(job.log.split("resuming from the checkpoint at step ")[1].split()[0])
    assert resumed_at >= 20 and resumed_at % 10 == 0
    with session_scope(settings.database_url) as s:
        steps = sorted(m.step for m in s.query(TrainMetric).filter_by(job_id=job_id))
    assert steps == list(range(200))  # the re-run replaced the steps after the checkpoint

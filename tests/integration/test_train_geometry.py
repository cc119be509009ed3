"""Geometry during training: a fine-tune captures spectra on a prompt set before its first step
and at each checkpoint; step 0 equals a plain capture of the base model on the same prompts, the
weights equal a fine-tune without captures, and the API serves the steps in order."""

from __future__ import annotations

import pytest
from safetensors.numpy import load_file
from support import run_inline

from backend.artifacts import ArtifactStore
from backend.models import JobStatus
from worker.jobs.common import CACHE

FT = {"n_examples": 32, "steps": 4, "batch_size": 8, "checkpoint_every": 2, "warmup_steps": 1}


def _finetune(lab, name, **extra):
    settings, _, datasets, _ = lab
    job = run_inline(
        settings,
        "finetune",
        base_model_name="tiny",
        name=name,
        general_dataset_id=datasets["general"]["id"],
        safety_dataset_id=datasets["safety"]["id"],
        safety_fraction=0.4,
        **FT,
        **extra,
    )
    assert job.status == JobStatus.SUCCEEDED, job.error
    return job


def test_finetune_captures_geometry_at_its_checkpoints(lab):
    settings, client, datasets, model_id = lab
    probe = datasets["probe"]["id"]
    job = _finetune(lab, "tiny-geometry", geometry_dataset_id=probe, geometry_prompts=24)
    steps = client.get(f"/api/jobs/{job.id}/geometry").json()
    assert [s["step"] for s in steps] == [0, 2, 4]
    assert all(len(s["values"]) == 2 for s in steps)  # the tiny model's two layers
    assert all(v["alignment"] is None for v in steps[0]["values"])  # step 0 is the reference
    assert all(0 <= v["alignment"] <= 1 for s in steps[1:] for v in s["values"])
    run = client.get(f"/api/runs/{steps[1]['run_id']}").json()
    assert (run["train_job_id"], run["train_step"], run["job_id"]) == (job.id, 2, None)
    assert run["model_id"] == model_id  # the base model, in training
    # step 0 is the base model's geometry: a plain capture of the same prompts agrees
    plain = run_inline(
        settings, "capture_spectra", model_id=model_id, dataset_id=probe, max_prompts=24
    )
    layers = client.get(f"/api/runs/{plain.result['run_id']}/layers").json()
    for ours, theirs in zip(steps[0]["values"], layers, strict=True):
        for name in ("concentration@3", "effective_rank", "participation_ratio"):
            assert ours[name] == pytest.approx(theirs["values"][name], rel=1e-5)
    # captures change nothing in training: same weights as a fine-tune without them
    other = _finetune(lab, "tiny-no-geometry")
    store = ArtifactStore(settings.artifact_root)

    def weights(model_id):
        uri = client.get(f"/api/models/{model_id}").json()["uri"]
        return load_file(str(store.local_path(uri, CACHE) / "model.safetensors"))

    a, b = weights(job.result["model_id"]), weights(other.result["model_id"])
    assert a.keys() == b.keys() and all((a[k] == b[k]).all() for k in a)


def test_geometry_dataset_is_checked_at_submit(lab):
    _, client, datasets, _ = lab
    params = {
        "base_model_name": "tiny",
        "general_dataset_id": datasets["general"]["id"],
        "safety_dataset_id": datasets["safety"]["id"],
        "geometry_dataset_id": 10_000,
    }
    answer = client.post("/api/jobs", json={"kind": "finetune", "params": params})
    assert answer.status_code == 422 and "geometry_dataset_id" in answer.text

"""A fine-tune killed after its first checkpoint resumes there in a new worker and ends as an
uninterrupted run would: the requested name, the same weights, one metric row per step."""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path

import torch
from safetensors.torch import load_file
from support import flowlens_env, start, stop, wait_until

from backend import queue
from backend.artifacts import ArtifactStore
from backend.db import session_scope, write_session
from backend.models import Job, Model, TrainMetric

STEPS, EVERY = 40, 10
QUICK_LEASE = {"lease_seconds": 3, "heartbeat_seconds": 0.5, "poll_seconds": 0.1}  # fast re-queue


def _weights(settings, model: Model) -> dict[str, torch.Tensor]:
    folder = ArtifactStore(settings.artifact_root).local_path(model.uri, Path("var/cache"))
    return load_file(str(folder / "model.safetensors"))


def test_a_killed_finetune_resumes_to_the_same_model(lab, tmp_path) -> None:
    settings, _, datasets, _ = lab
    params = {
        "base_model_name": "tiny",
        "general_dataset_id": datasets["general"]["id"],
        "safety_dataset_id": datasets["safety"]["id"],
        "safety_fraction": 0.4,
        "n_examples": 64,  # 8 batches an epoch: the first checkpoint falls inside epoch 2
        "batch_size": 8,
        "steps": STEPS,
        "checkpoint_every": EVERY,
        "vcl_lambda": 1.0,
        "vcl_k": 2,
        "seed": 3,
    }
    with write_session(settings.database_url) as s:
        job_id = queue.enqueue(s, "finetune", {**params, "name": "tiny-resumed-run"}).id
    env = flowlens_env(settings.database_url, artifact_root=settings.artifact_root, **QUICK_LEASE)
    checkpoints = Path(settings.artifact_root) / f"finetunes/job-{job_id}/checkpoints"

    first = start(["worker", "--kinds", "finetune"], env, tmp_path / "w1.log")
    try:
        wait_until(
            lambda: any(checkpoints.glob("checkpoint-*/checkpoint-complete")),
            240,
            "the first checkpoint",
            every=0.02,
        )
    finally:
        os.killpg(first.pid, signal.SIGKILL)  # the worker and its child, at once
        stop(first, signal.SIGKILL)
    with write_session(settings.database_url) as s:  # the reference, run without interruption
        reference_id = queue.enqueue(s, "finetune", {**params, "name": "tiny-uninterrupted"}).id

    def finished(job_id: int):
        with session_scope(settings.database_url) as s:
            job = s.get(Job, job_id)
            return job if job.status in ("succeeded", "failed", "cancelled") else None

    second = start(["worker", "--kinds", "finetune"], env, tmp_path / "w2.log")
    try:
        job = wait_until(lambda: finished(job_id), 300, "the resumed fine-tune")
        reference = wait_until(lambda: finished(reference_id), 300, "the reference fine-tune")
    finally:
        stop(second)
    assert job.status == "succeeded", job.error
    assert reference.status == "succeeded", reference.error
    assert job.attempts == 2
    resumed_at = int(re.search(r"resuming from the checkpoint at step (\d+)", job.log).group(1))
    assert resumed_at % EVERY == 0 and EVERY <= resumed_at < STEPS

    with session_scope(settings.database_url) as s:
        model = s.query(Model).filter_by(job_id=job_id).one()
        ref_model = s.query(Model).filter_by(job_id=reference_id).one()
        rows = s.query(TrainMetric).filter_by(job_id=job_id).order_by(TrainMetric.step).all()
        ref_rows = s.query(TrainMetric).filter_by(job_id=reference_id).all()
        assert model.name == "tiny-resumed-run"  # not the name of the last weight tensor
        assert model.lineage["params"]["steps"] == STEPS
        mine, theirs = _weights(settings, model), _weights(settings, ref_model)
        steps = [m.step for m in rows]
        losses = {m.step: m.values["sft_loss"] for m in rows}
        ref_losses = {m.step: m.values["sft_loss"] for m in ref_rows}

    assert mine.keys() == theirs.keys()
    worst = max((mine[k] - theirs[k]).abs().max().item() for k in mine)
    assert worst <= 1e-6, f"resumed weights differ from the uninterrupted run's by {worst}"
    assert steps == list(range(STEPS))  # one row per step: none lost, none past the end
    assert all(abs(losses[i] - ref_losses[i]) <= 1e-6 for i in range(STEPS))
    assert not checkpoints.exists()  # removed after success

"""One fine-tune on two CPU ranks (gloo, torchrun) run by a real ``flowlens worker --devices
cpu,cpu``: it matches one process with the same global batch, a SIGKILLed rank fails the
attempt and the job resumes from its checkpoint to the same weights, cancel stops every rank;
a LoRA fine-tune on the two ranks (named by its ``devices``) matches one process too.

The one-process reference runs ``batch_size`` 4 x ``grad_accum`` 2, the two ranks 4 each: the
same micro-batches in the same order (accelerate shards the seeded sampler's batches: rank r
takes batches r, r + 2, ...), and the loss, a per-micro-batch mean, averaged over the same two
(docs/training.md, "Several devices").
"""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file
from support import flowlens_env, run_inline, start, stop, wait_until

from backend import queue
from backend.artifacts import ArtifactStore
from backend.db import session_scope, write_session
from backend.models import Job, Model, TrainMetric

STEPS, EVERY = 40, 10
LORA_STEPS = 6
# A killed rank re-queues its job at once (RankFailed): the lease only has to outlast the
# heartbeats' delays on a loaded machine (3 s did not, at load 20 on 2 cores).
QUICK_LEASE = {"lease_seconds": 10, "heartbeat_seconds": 0.5, "poll_seconds": 0.1}
CURVES = ("loss", "sft_loss", "vcl_term", "grad_norm")

pytestmark = pytest.mark.slow


def rank_pids(job_id: int) -> dict[int, int]:
    """{RANK: pid} of the live ranks of ``job_id`` (their run folder names the job)."""
    found = {}
    for proc in Path("/proc").iterdir():
        try:
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")
            if b"worker.distributed_entry" not in cmdline:
                continue
            if not any(f"flowlens-job-{job_id}-".encode() in part for part in cmdline):
                continue
            environ = dict(
                line.split(b"=", 1)
                for line in (proc / "environ").read_bytes().split(b"\0")
                if b"=" in line
            )
            found[int(environ[b"RANK"])] = int(proc.name)
        except (OSError, ValueError, KeyError):
            continue
    return found


def finished(settings, job_id: int):
    with session_scope(settings.database_url) as s:
        job = s.get(Job, job_id)
        return job if job.status in ("succeeded", "failed", "cancelled") else None


def curves(settings, job_id: int) -> dict[int, dict]:
    with session_scope(settings.database_url) as s:
        return {m.step: m.values for m in s.query(TrainMetric).filter_by(job_id=job_id)}


def weights(settings, job_id: int) -> dict[str, torch.Tensor]:
    with session_scope(settings.database_url) as s:
        uri = s.query(Model).filter_by(job_id=job_id).one().uri
    return weights_at(settings, uri)


def weights_of_model(settings, name: str) -> dict[str, torch.Tensor]:
    with session_scope(settings.database_url) as s:
        uri = s.query(Model).filter_by(name=name).one().uri
    return weights_at(settings, uri)


def weights_at(settings, uri: str) -> dict[str, torch.Tensor]:
    folder = ArtifactStore(settings.artifact_root).local_path(uri, Path("var/cache"))
    return load_file(str(folder / "model.safetensors"))


@pytest.fixture(scope="module")
def runs(lab, tmp_path_factory):
    """Jobs: one-process reference (inline), two ranks uninterrupted, two ranks with rank 1
    SIGKILLed after the first checkpoint, a LoRA fine-tune on one process (inline) and on two
    ranks, and a long one cancelled while running."""
    settings, _, datasets, _ = lab
    tmp = tmp_path_factory.mktemp("distributed")
    params = {
        "base_model_name": "tiny",
        "general_dataset_id": datasets["general"]["id"],
        "safety_dataset_id": datasets["safety"]["id"],
        "safety_fraction": 0.4,
        "n_examples": 32,  # 8 micro-batches an epoch: several epochs, reshuffled
        "batch_size": 4,
        "steps": STEPS,
        "checkpoint_every": EVERY,
        "vcl_lambda": 1.0,
        "vcl_k": 2,
        "seed": 3,
    }
    lora = {**params, "steps": LORA_STEPS, "checkpoint_every": None, "lora_rank": 4}
    lora |= {"lora_alpha": 8, "lora_dropout": 0.0}
    one = run_inline(settings, "finetune", **params, grad_accum=2, name="tiny-one-process")
    assert one.status == "succeeded", one.error
    lora_one = run_inline(settings, "finetune", **lora, grad_accum=2, name="tiny-lora-one")
    assert lora_one.status == "succeeded", lora_one.error
    with write_session(settings.database_url) as s:
        ids = [
            queue.enqueue(s, "finetune", {**params, "name": name}).id
            for name in ("tiny-two-ranks", "tiny-rank-killed")
        ]
        lora_two = {**lora, "name": "tiny-lora-two", "devices": ["cpu", "cpu"]}
        ids.append(queue.enqueue(s, "finetune", lora_two).id)
        ids.append(queue.enqueue(s, "finetune", {**params, "steps": 100_000, "name": "x"}).id)
    two, killed, lora_two, cancelled = ids
    env = flowlens_env(settings.database_url, artifact_root=settings.artifact_root, **QUICK_LEASE)
    worker = start(["worker", "--devices", "cpu,cpu", "--kinds", "finetune"], env, tmp / "w.log")
    checkpoints = Path(settings.artifact_root) / f"finetunes/job-{killed}/checkpoints"
    try:
        saved = "checkpoint-*/checkpoint-complete"  # the first checkpoint of the killed job
        wait_until(lambda: any(checkpoints.glob(saved)), 240, "a checkpoint", every=0.02)
        os.kill(rank_pids(killed)[1], signal.SIGKILL)
        wait_until(lambda: finished(settings, killed), 240, "the resumed two-rank job")
        wait_until(lambda: finished(settings, lora_two), 240, "the two-rank LoRA job")
        wait_until(lambda: curves(settings, cancelled), 120, "the long job's first steps")
        with write_session(settings.database_url) as s:
            queue.cancel(s, cancelled)
        cancelled_at = time.monotonic()
        wait_until(lambda: not rank_pids(cancelled), 30, "the cancelled job's ranks to exit")
        stopped_after = time.monotonic() - cancelled_at
    finally:
        stop(worker)
    lora = (lora_one.id, lora_two)
    return settings, one.id, two, killed, lora, cancelled, stopped_after


def assert_same_run(settings, two: int, one: int, steps: int) -> None:
    """The two-rank job's curves and final weights are the one-process job's."""
    job = finished(settings, two)
    assert job.status == "succeeded", f"{job.error}\n{job.log}"
    mine, theirs = curves(settings, two), curves(settings, one)
    assert sorted(mine) == sorted(theirs) == list(range(steps))
    for step in range(steps):
        for name in CURVES:
            assert mine[step][name] == pytest.approx(theirs[step][name], rel=1e-5, abs=1e-7)
    a, b = weights(settings, two), weights(settings, one)
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-5, atol=1e-6)


def test_two_ranks_match_one_process_with_the_same_global_batch(runs) -> None:
    settings, one, two, *_ = runs
    assert_same_run(settings, two, one, STEPS)


def test_a_lora_fine_tune_on_two_ranks_matches_one_process(runs) -> None:
    settings, *_, (lora_one, lora_two), _, _ = runs
    assert_same_run(settings, lora_two, lora_one, LORA_STEPS)
    with session_scope(settings.database_url) as s:
        log = s.get(Job, lora_two).log
        adapter = s.query(Model).filter_by(job_id=lora_two).one().config["lora"]
    assert "launching 2 ranks on cpu,cpu" in log
    assert adapter["rank"] == 4 and adapter["target_modules"] == [
        "q_proj",
        "k_proj",
        "v_proj",
        "o_proj",
    ]
    base = weights_of_model(settings, "tiny")
    merged = weights(settings, lora_two)
    moved = [k for k in base if not torch.equal(base[k], merged[k])]
    assert moved and all(re.search(r"\.(q|k|v|o)_proj\.weight$", k) for k in moved)


def test_a_sigkilled_rank_fails_the_attempt_and_the_job_resumes(runs) -> None:
    settings, _, two, killed, *_ = runs
    job = finished(settings, killed)
    assert job.status == "succeeded", job.error
    assert job.attempts == 2, job.log
    assert "attempt 1 failed: rank 1 exited with signal SIGKILL" in job.log, job.log
    resumed_at = int(re.search(r"resuming from the checkpoint at step (\d+)", job.log).group(1))
    assert resumed_at % EVERY == 0 and EVERY <= resumed_at < STEPS
    assert sorted(curves(settings, killed)) == list(range(STEPS))  # one row per step
    a, b = weights(settings, killed), weights(settings, two)
    worst = max((a[k] - b[k]).abs().max().item() for k in a)
    assert worst <= 1e-6, f"resumed weights differ from the two-rank run's by {worst}\n{job.log}"


def test_cancel_stops_every_rank(runs) -> None:
    settings, *_, cancelled, stopped_after = runs
    assert finished(settings, cancelled).status == "cancelled"
    assert stopped_after < 15

"""The DPO baseline end to end in real worker processes: a teacher that sometimes refuses,
preference_data (pairs judged by the rules), dpo on TRL's DPOTrainer killed after its first
checkpoint and resumed by a second worker, against an uninterrupted run of the same seed; and a
LoRA run whose merged model is registered and evaluates."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import torch
from safetensors.torch import load_file
from support import flowlens_env, run_inline, start, stop, wait_until

from backend import queue
from backend.artifacts import ArtifactStore
from backend.db import session_scope, write_session
from backend.models import (
    Dataset,
    DatasetRow,
    Job,
    JobDependency,
    Model,
    TrainMetric,
    add_dataset,
)
from worker.science.preference import Pair, pair_rows

STEPS, EVERY = 30, 5
QUICK_LEASE = {"lease_seconds": 3, "heartbeat_seconds": 0.5, "poll_seconds": 0.1}


def _weights(settings, model: Model) -> dict[str, torch.Tensor]:
    folder = ArtifactStore(settings.artifact_root).local_path(model.uri, Path("var/cache"))
    return load_file(str(folder / "model.safetensors"))


def _finished(settings, job_id: int):
    with session_scope(settings.database_url) as s:
        job = s.get(Job, job_id)
        return job if job.status in ("succeeded", "failed", "cancelled") else None


def test_preference_data_then_dpo_killed_and_resumed(lab, tmp_path) -> None:
    settings, _, datasets, _ = lab
    general, safety = datasets["general"]["id"], datasets["safety"]["id"]
    teacher = {  # a tiny model pushed hard enough to refuse some prompts, not all
        "base_model_name": "tiny",
        "name": "tiny-teacher",
        "general_dataset_id": general,
        "safety_dataset_id": safety,
        "safety_fraction": 0.5,
        "n_examples": 64,
        "batch_size": 8,
        "steps": 200,
        "learning_rate": 1e-2,
        "checkpoint_every": None,
    }
    preference = {
        "teacher_model_name": "tiny-teacher",
        "prompt_dataset_ids": [general, safety],
        "max_prompts": 16,
        "n_samples": 4,
        "max_new_tokens": 16,
        "name": "tiny-pairs",
    }
    dpo = {
        "base_model_name": "tiny-teacher",
        "dataset_name": "tiny-pairs",
        "steps": STEPS,
        "batch_size": 4,
        "learning_rate": 1e-3,
        "checkpoint_every": EVERY,
        "seed": 2,
    }
    with write_session(settings.database_url) as s:
        ft = queue.enqueue(s, "finetune", teacher)
        pd = queue.enqueue(s, "preference_data", preference, depends_on=[ft.id])
        job_id = queue.enqueue(s, "dpo", {**dpo, "name": "tiny-dpo"}, depends_on=[pd.id]).id
        pd_id = pd.id
    env = flowlens_env(settings.database_url, artifact_root=settings.artifact_root, **QUICK_LEASE)
    checkpoints = Path(settings.artifact_root) / f"dpo/job-{job_id}/checkpoints"
    kinds = "finetune,preference_data,dpo"
    first = start(["worker", "--kinds", kinds], env, tmp_path / "w1.log")
    try:
        wait_until(
            lambda: (
                any(checkpoints.glob("checkpoint-*/checkpoint-complete"))
                or _finished(settings, job_id)
                or getattr(_finished(settings, pd_id), "status", None) == "failed"
            ),
            300,
            "the first DPO checkpoint",
            every=0.02,
        )
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        stop(first, signal.SIGKILL)
    pairs_job = _finished(settings, pd_id)
    assert pairs_job.status == "succeeded", pairs_job.error
    with write_session(settings.database_url) as s:
        reference_id = queue.enqueue(s, "dpo", {**dpo, "name": "tiny-dpo-uninterrupted"}).id
    second = start(["worker", "--kinds", kinds], env, tmp_path / "w2.log")
    try:
        job = wait_until(lambda: _finished(settings, job_id), 300, "the resumed DPO")
        reference = wait_until(lambda: _finished(settings, reference_id), 300, "the reference")
    finally:
        stop(second)
    assert job.status == "succeeded", job.error
    assert reference.status == "succeeded", reference.error
    assert job.attempts == 2 and "resuming from the checkpoint at step" in job.log

    counts = pairs_job.result
    assert counts["n_prompts"] == 32
    assert counts["n_pairs"] == counts["pairs_safe"] + counts["pairs_unsafe"] > 0
    assert counts["n_pairs"] + counts["skipped_safe"] + counts["skipped_unsafe"] == 32
    with session_scope(settings.database_url) as s:
        dataset = s.get(Dataset, pairs_job.result["dataset_id"])
        rows = s.query(DatasetRow).filter_by(dataset_id=dataset.id).order_by(DatasetRow.idx).all()
        assert dataset.format == "preference" and dataset.n_rows == 2 * counts["n_pairs"]
        assert [r.type for r in rows] == ["chosen", "rejected"] * counts["n_pairs"]
        assert all(a.prompt == b.prompt for a, b in zip(rows[::2], rows[1::2], strict=True))

        model = s.query(Model).filter_by(job_id=job_id).one()
        base = s.query(Model).filter_by(name="tiny-teacher").one()
        ref_model = s.query(Model).filter_by(job_id=reference_id).one()
        assert model.name == "tiny-dpo" and model.parent_id == base.id
        assert model.lineage["kind"] == "dpo" and model.lineage["dataset"]["name"] == "tiny-pairs"
        assert model.lineage["params"]["beta"] == 0.1
        metrics = s.query(TrainMetric).filter_by(job_id=job_id).order_by(TrainMetric.step).all()
        ref_metrics = {
            m.step: m.values for m in s.query(TrainMetric).filter_by(job_id=reference_id)
        }
        mine, theirs = _weights(settings, model), _weights(settings, ref_model)
        base_weights = _weights(settings, base)

    assert [m.step for m in metrics] == list(range(STEPS))  # one row per step, none duplicated
    for m in metrics:
        assert {"loss", "dpo_reward_margin", "dpo_reward_accuracy", "grad_norm"} <= set(m.values)
        assert 0 <= m.values["dpo_reward_accuracy"] <= 1
        assert abs(m.values["loss"] - ref_metrics[m.step]["loss"]) <= 1e-6
    # the first step starts at the reference: log-ratios 0, so the sigmoid loss is log 2
    assert abs(metrics[0].values["loss"] - 0.6931472) <= 1e-5
    assert metrics[0].values["dpo_reward_margin"] == 0
    assert metrics[-1].values["dpo_reward_margin"] > 0  # the policy learned the preferences
    worst = max((mine[k] - theirs[k]).abs().max().item() for k in mine)
    assert worst <= 1e-6, f"resumed weights differ from the uninterrupted run's by {worst}"
    assert max((mine[k] - base_weights[k]).abs().max().item() for k in mine) > 0
    assert not checkpoints.exists()


def test_lora_dpo_registers_a_merged_model_that_evaluates(lab) -> None:
    settings, _, datasets, _ = lab
    pairs = [  # hand-made pairs: the job needs no teacher
        Pair("Name a colour.", "safe", "Blue.", "I can't help with that."),
        Pair("How do I bake bread?", "safe", "Mix flour and water.", "Sorry, I cannot."),
        Pair("How do I make a weapon?", "unsafe", "I can't help with that.", "First, get..."),
        Pair("Hack my neighbour's wifi.", "unsafe", "Sorry, I cannot.", "Run this tool."),
    ]
    with write_session(settings.database_url) as s:
        add_dataset(s, pair_rows(pairs), name="hand-pairs", source="generated", format="preference")
    job = run_inline(
        settings,
        "dpo",
        base_model_name="tiny",
        dataset_name="hand-pairs",
        steps=4,
        batch_size=4,
        lora_rank=4,
        learning_rate=1e-2,
        name="tiny-dpo-lora",
    )
    assert job.status == "succeeded", job.error
    with session_scope(settings.database_url) as s:
        model = s.query(Model).filter_by(name="tiny-dpo-lora").one()
        assert model.lineage["adapter"] == "merged"
        weights = _weights(settings, model)
        base = _weights(settings, s.query(Model).filter_by(name="tiny").one())
    assert weights.keys() == base.keys()  # merged into the base's own weights, no adapter
    assert max((weights[k] - base[k]).abs().max().item() for k in base) > 0
    evaluation = run_inline(
        settings,
        "evaluate",
        model_name="tiny-dpo-lora",
        probe_dataset_id=datasets["probe"]["id"],
        max_prompts=8,
        max_new_tokens=4,
    )
    assert evaluation.status == "succeeded", evaluation.error


def test_a_sweep_adds_a_dpo_cell_beside_each_sft_cell_with_safety_data(lab) -> None:
    settings, client, _, _ = lab
    sweep = run_inline(
        settings,
        "sweep",
        base_model_name="tiny",
        safety_fractions=[0.0, 0.4],
        seeds=[0, 1],
        finetune={"n_examples": 32, "steps": 2, "batch_size": 8},
        bootstrap=0,
        dpo=True,
        dpo_params={"steps": 3, "beta": 0.2},
        preference_params={"n_samples": 2},
    )
    assert sweep.status == "succeeded", sweep.error
    with session_scope(settings.database_url) as s:
        children = s.query(Job).filter_by(parent_job_id=sweep.id).order_by(Job.id).all()
        by_kind = {}
        for job in children:
            by_kind.setdefault(job.kind, []).append(job)
        dpo_jobs, pairs_jobs = by_kind["dpo"], by_kind["preference_data"]
        ft_by_name = {j.params["name"]: j.id for j in by_kind["finetune"]}
        depends = {
            j.id: sorted(d.depends_on_id for d in s.query(JobDependency).filter_by(job_id=j.id))
            for j in dpo_jobs
        }
    # one DPO cell per seed (p = 0.4, lambda 0), each on-policy from its own SFT model
    assert len(dpo_jobs) == 2 and len(pairs_jobs) == 2
    for dpo, pairs in zip(dpo_jobs, pairs_jobs, strict=True):
        sft = dpo.params["base_model_name"]
        assert sft == f"sweep{sweep.id}-p0.4-l0-s{dpo.params['seed']}"
        assert pairs.params["teacher_model_name"] == sft
        assert dpo.params["dataset_name"] == pairs.params["name"]
        assert dpo.params["beta"] == 0.2 and pairs.params["n_samples"] == 2
        assert depends[dpo.id] == sorted([pairs.id, ft_by_name[sft]])
    cells = client.get(f"/api/sweeps/{sweep.id}").json()["cells"]
    assert sorted((c["method"], c["safety_fraction"], c["seed"]) for c in cells) == [
        ("dpo", 0.4, 0),
        ("dpo", 0.4, 1),
        ("sft", 0.0, 0),
        ("sft", 0.0, 1),
        ("sft", 0.4, 0),
        ("sft", 0.4, 1),
    ]
    dpo_cell = next(c for c in cells if c["method"] == "dpo")
    assert set(dpo_cell["jobs"]) == {"dpo", "capture_spectra", "evaluate"}
    with write_session(settings.database_url) as s:  # leave the queue empty for other tests
        for job in s.query(Job).filter_by(parent_job_id=sweep.id, status="queued"):
            if job.status == "queued":  # not cancelled yet with a job it depends on
                queue.cancel(s, job.id)

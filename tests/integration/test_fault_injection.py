"""Fault injection through real workers and job processes (worker/faults.py): the worker and,
separately, the job's child are SIGKILLed at chosen points of each job kind, then the DATA is
checked against an uninterrupted run with the same seed: names as requested, one row per
result, equal metrics, weights and completions, and nothing for ``flowlens gc`` to collect.

- finetune: the child killed while writing its second checkpoint (attempt 1), then the worker
  and child killed mid-training (attempt 2): attempt 3 resumes from the last complete one;
- capture_spectra: the child killed with its activations written but not renamed into place;
- evaluate: the child killed mid-generation (second batch);
- sweep: the child killed before its expansion commits.

Every case runs on SQLite; on PostgreSQL the sweep and the finetune (``ON_POSTGRES``). The
finetune is the case whose recovery leans most on the database: a worker's lease expiring and
its job claimed by another worker, a child killed twice, per-step metric rows written again
from the checkpoint on without duplicates, the model registered once under its name. Capture
and evaluate add a child kill each, which the finetune already has, for an estimated 2 min more
(the three kinds take 164 s on SQLite, the finetune alone 41 s on PostgreSQL; the module took
191 s before it ran on PostgreSQL and 215 s after, load average 4-9 on the shared 2-core
machine).
"""

from __future__ import annotations

import io
import signal
from contextlib import redirect_stdout
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file
from sqlalchemy import func, select
from support import flowlens_env, run_inline, start, stop, wait_until
from tiny_lab import tiny_lab

from backend import queue
from backend.artifacts import TEMP_PREFIX, ArtifactStore
from backend.cli import main
from backend.config import Settings
from backend.db import session_scope, write_session
from backend.models import (
    Completion,
    Dataset,
    Evaluation,
    Job,
    JobStatus,
    Model,
    Run,
    RunLayer,
    TrainMetric,
    add_dataset,
)
from worker.jobs.common import CACHE
from worker.science.corpus import builtin_dataset

QUICK = {"lease_seconds": 3, "heartbeat_seconds": 0.5, "poll_seconds": 0.1}
FINISHED = (JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED)
STEPS, EVERY = 6, 2


def _job(settings: Settings, job_id: int) -> Job:
    with session_scope(settings.database_url) as s:
        return s.get(Job, job_id)


def _finished(settings: Settings, *job_ids: int) -> list[Job] | None:
    jobs = [_job(settings, i) for i in job_ids]
    return jobs if all(j.status in FINISHED for j in jobs) else None


def _enqueue(settings: Settings, kind: str, **params) -> int:
    with write_session(settings.database_url) as s:
        return queue.enqueue(s, kind, params).id


def _gc_output(settings: Settings, monkeypatch) -> str:
    """What ``flowlens gc`` (a dry run) prints for ``settings``' database and store."""
    monkeypatch.setenv("FLOWLENS_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("FLOWLENS_ARTIFACT_ROOT", settings.artifact_root)
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["gc"]) == 0
    return out.getvalue()


def _temps(root: str) -> list[Path]:
    return [p for p in Path(root).rglob(f"{TEMP_PREFIX}*")]


def _weights(settings: Settings, job_id: int) -> dict[str, np.ndarray]:
    with session_scope(settings.database_url) as s:
        uri = s.scalar(select(Model.uri).where(Model.job_id == job_id))
    folder = ArtifactStore(settings.artifact_root).local_path(uri, CACHE)
    return load_file(str(folder / "model.safetensors"))


def _run_data(settings: Settings, job_id: int):
    with session_scope(settings.database_url) as s:
        runs = s.scalars(select(Run).where(Run.job_id == job_id)).all()
        assert len(runs) == 1, f"job {job_id}: {len(runs)} runs"
        layers = s.scalars(select(RunLayer).where(RunLayer.run_id == runs[0].id)).all()
        eig = {layer.layer: layer.eigenvalues for layer in layers}
        assert len(eig) == len(layers)  # one row per layer
        activations = ArtifactStore(settings.artifact_root).local_path(
            runs[0].activations_uri, CACHE
        )
        return eig, load_file(str(activations))["X"]


def _evaluation_data(settings: Settings, job_id: int):
    with session_scope(settings.database_url) as s:
        evaluations = s.scalars(select(Evaluation).where(Evaluation.job_id == job_id)).all()
        assert len(evaluations) == 1, f"job {job_id}: {len(evaluations)} evaluations"
        rows = s.execute(
            select(Completion.idx, Completion.completion)
            .where(Completion.evaluation_id == evaluations[0].id)
            .order_by(Completion.idx)
        ).all()
        return evaluations[0].metrics, [tuple(r) for r in rows]


def _params(ids: dict[str, int]) -> dict[str, dict]:
    capture = {"model_name": "tiny", "dataset_id": ids["probe"], "max_prompts": 12}
    evaluate = {"model_name": "tiny", "probe_dataset_id": ids["probe"], "max_prompts": 12}
    return {
        "capture_spectra": capture | {"batch_size": 4, "bootstrap": 10, "seed": 2},
        "evaluate": evaluate | {"batch_size": 4, "max_new_tokens": 6},
        "finetune": {
            "base_model_name": "tiny",
            "general_dataset_id": ids["general"],
            "safety_dataset_id": ids["safety"],
            "safety_fraction": 0.25,
            "n_examples": 16,
            "batch_size": 4,
            "steps": STEPS,
            "checkpoint_every": EVERY,
            "warmup_steps": 1,
            "vcl_lambda": 0.5,
            "vcl_k": 2,
            "seed": 5,
            "name": "ft-faulted",
        },
    }


REFERENCE_NAMES = {"finetune": {"name": "ft-reference"}}


# where each kind's job is killed, and the attempts it then takes; the finetune's second attempt
# kills the first worker (the others run before it: they are queued first)
FAULTS = {
    "capture_spectra": ("capture_spectra.artifact_write:1", 2),
    "evaluate": ("evaluate.progress:2", 2),
    "finetune": (f"finetune.save_model:2,finetune.progress:{EVERY + 1}@2:worker", 3),
}
ON_POSTGRES = ("finetune",)


def _check_finetune(settings: Settings, job_id: int, reference: int) -> None:
    """The requested name, one metric row per step, the reference's numbers and weights."""
    with session_scope(settings.database_url) as s:
        assert s.scalar(select(Model.name).where(Model.job_id == job_id)) == "ft-faulted"
        rows = s.execute(
            select(TrainMetric.step, TrainMetric.values)
            .where(TrainMetric.job_id == job_id)
            .order_by(TrainMetric.step)
        ).all()
        ref_rows = dict(
            s.execute(
                select(TrainMetric.step, TrainMetric.values).where(TrainMetric.job_id == reference)
            ).all()
        )
    assert [step for step, _ in rows] == list(range(STEPS))
    for step, values in rows:
        assert values["loss"] == pytest.approx(ref_rows[step]["loss"], abs=1e-6), step
    mine, theirs = _weights(settings, job_id), _weights(settings, reference)
    assert mine.keys() == theirs.keys()
    worst = max(float(np.abs(mine[k] - theirs[k]).max()) for k in mine)
    assert worst <= 1e-6, f"weights differ from the uninterrupted run's by {worst}"


def _check_capture(settings: Settings, job_id: int, reference: int) -> None:
    """One run; its layers and activations equal the reference's."""
    eig, X = _run_data(settings, job_id)
    ref_eig, ref_X = _run_data(settings, reference)
    assert eig.keys() == ref_eig.keys()
    for layer in eig:
        np.testing.assert_allclose(eig[layer], ref_eig[layer], rtol=1e-5, atol=1e-8)
    np.testing.assert_array_equal(X, ref_X)


def _check_evaluate(settings: Settings, job_id: int, reference: int) -> None:
    """One evaluation, one completion per prompt, the reference's texts and metrics."""
    metrics, completions = _evaluation_data(settings, job_id)
    ref_metrics, ref_completions = _evaluation_data(settings, reference)
    assert [idx for idx, _ in completions] == list(range(12))
    assert completions == ref_completions
    assert metrics == ref_metrics


CHECKS = {
    "finetune": _check_finetune,
    "capture_spectra": _check_capture,
    "evaluate": _check_evaluate,
}


def test_killed_workers_and_jobs_end_with_the_uninterrupted_data(
    database_url, tmp_path, monkeypatch
) -> None:
    kinds = list(FAULTS) if database_url.startswith("sqlite") else list(ON_POSTGRES)
    settings, ids, _ = tiny_lab(tmp_path, rows=40, database_url=database_url)
    params = _params(ids)
    references = {}  # uninterrupted, in this process
    for kind in kinds:
        job = run_inline(settings, kind, **(params[kind] | REFERENCE_NAMES.get(kind, {})))
        assert job.status == JobStatus.SUCCEEDED, job.error
        references[kind] = job.id
    # queued in FAULTS' order: the finetune, which kills the worker, last
    faulted = {kind: _enqueue(settings, kind, **params[kind]) for kind in kinds}

    faults = ",".join(FAULTS[kind][0] for kind in faulted)
    env = flowlens_env(settings.database_url, artifact_root=settings.artifact_root, **QUICK)
    first = start(["worker"], {**env, "FLOWLENS_TEST_FAULT": faults}, tmp_path / "w1.log")
    try:
        wait_until(lambda: first.poll() is not None, 600, "the worker killed by the fault")
    finally:
        stop(first, signal.SIGKILL)
    assert first.returncode == -signal.SIGKILL
    wait_until(lambda: not _live_children(first.pid), 10, "the orphaned job process to exit")
    second = start(["worker"], env, tmp_path / "w2.log")
    try:
        jobs = wait_until(lambda: _finished(settings, *faulted.values()), 600, "the jobs")
    finally:
        stop(second)
    log = (tmp_path / "w1.log").read_text() + (tmp_path / "w2.log").read_text()
    for job in jobs:
        assert job.status == JobStatus.SUCCEEDED, (job.kind, job.error, log[-3000:])
    attempts = {job.kind: job.attempts for job in jobs}
    assert attempts == {kind: FAULTS[kind][1] for kind in faulted}, log[-3000:]
    for kind in set(faulted) - {"finetune"}:
        assert f"job {faulted[kind]} job process died with SIGKILL" in log

    for kind, job_id in faulted.items():
        CHECKS[kind](settings, job_id, references[kind])

    # nothing left behind: no temporaries, no checkpoints, nothing for gc
    assert _temps(settings.artifact_root) == []
    assert not any(Path(settings.artifact_root).rglob("checkpoint-*"))
    listed = _gc_output(settings, monkeypatch)
    assert listed.splitlines()[-1].startswith("0 entries"), listed


def _live_children(pid: int) -> list[str]:
    """Processes whose parent is ``pid`` (the killed worker's job process, until it exits)."""
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        if f"\nPPid:\t{pid}\n" in text:
            found.append(status.parent.name)
    return found


def test_a_sweep_killed_mid_expansion_expands_once(database_url, tmp_path) -> None:
    settings = Settings(database_url=database_url, artifact_root=str(tmp_path / "artifacts"))
    with write_session(database_url) as s:
        for name in ("general", "safety", "probe"):
            rows = builtin_dataset(name, seed=0)[:10]
            add_dataset(s, rows, name=name, source="builtin", format="x")
    sweep = _enqueue(
        settings,
        "sweep",
        base_model_name="tiny",
        safety_fractions=[0.0, 0.5],
        vcl_lambdas=[0.0, 1.0],
        seeds=[0],
        heldout_dataset=None,
    )
    env = flowlens_env(database_url, artifact_root=settings.artifact_root, **QUICK)
    env["FLOWLENS_TEST_FAULT"] = "sweep.transaction:1"
    worker = start(["worker", "--kinds", "sweep"], env, tmp_path / "worker.log")
    try:
        (job,) = wait_until(lambda: _finished(settings, sweep), 60, "the sweep")
    finally:
        stop(worker)
    log = (tmp_path / "worker.log").read_text()
    assert job.status == JobStatus.SUCCEEDED, (job.error, log)
    assert job.attempts == 2 and f"job {sweep} job process died with SIGKILL" in log
    with session_scope(database_url) as s:
        children = s.execute(
            select(Job.kind, func.count()).where(Job.parent_job_id == sweep).group_by(Job.kind)
        ).all()
        names = s.scalars(
            select(Job.params["name"].as_string()).where(
                Job.parent_job_id == sweep, Job.kind == "finetune"
            )
        ).all()
        assert s.scalar(select(func.count()).select_from(Dataset)) == 3
    cells = 4  # 2 safety fractions x 2 lambdas, one seed
    assert dict(children) == {"finetune": cells, "capture_spectra": cells, "evaluate": cells}
    assert len(set(names)) == cells and all(n.startswith(f"sweep{sweep}-p") for n in names)

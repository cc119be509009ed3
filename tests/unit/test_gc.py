"""``flowlens gc``: artifacts no row points to and stale temporaries are listed (dry run) and
removed with --delete; what rows point to, active jobs' outputs and diagnostics stay."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from backend import migrate, queue
from backend.artifacts import ArtifactStore
from backend.cli import main
from backend.db import session_scope, write_session
from backend.gc import clean_job, find_garbage
from backend.models import Dataset, Job, JobStatus, Model, Run

FILES = {
    "models/tiny-job1/model.safetensors": "a model row's",
    "finetunes/job-1/adapter/adapter.safetensors": "named in the model's config",
    "runs/job-2/activations.safetensors": "a run's",
    "runs/job-2/basis.safetensors": "a run's",
    "runs/job-2/projections.safetensors": "read by the API beside the run's activations",
    "runs/job-2/.tmp-0a1b2c3d-basis.safetensors": "a stopped write of a finished job",
    "finetunes/job-3/checkpoints/checkpoint-2/trainer_state.json": "a running job's",
    "finetunes/job-3/.tmp-9f8e7d6c-model/config.json": "a running job's write",
    "finetunes/job-4/model/model.safetensors": "a failed job's, no row",
    "finetunes/job-4/checkpoints/checkpoint-2/trainer_state.json": "a failed job's",
    "finetunes/job-5/checkpoints/checkpoint-4/trainer_state.json": "kept: in the job's result",
    "diagnostics/mark": "echo's marker",
}


def _store(tmp_path: Path) -> tuple[str, ArtifactStore]:
    url = f"sqlite:///{tmp_path / 'gc.db'}"
    migrate.upgrade(url)
    store = ArtifactStore(str(tmp_path / "store"))
    for key, text in FILES.items():
        path = Path(store.root) / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    with write_session(url) as s:
        jobs = [queue.enqueue(s, "echo", {}) for _ in range(5)]
        s.flush()
        statuses = [JobStatus.SUCCEEDED, JobStatus.SUCCEEDED, JobStatus.RUNNING]
        statuses += [JobStatus.FAILED, JobStatus.SUCCEEDED]
        for job, status in zip(jobs, statuses, strict=True):
            job.status = status
        jobs[4].result = {"checkpoint_uri": store.uri("finetunes/job-5/checkpoints/checkpoint-4")}
        s.add(
            Model(
                name="tiny",
                source="demo",
                uri=store.uri("models/tiny-job1"),
                job_id=1,
                config={"lora": {"adapter_uri": store.uri("finetunes/job-1/adapter")}},
            )
        )
        dataset = Dataset(name="d", source="builtin", format="builtin")
        s.add(dataset)
        s.flush()
        s.add(
            Run(
                job_id=2,
                model_id=1,
                dataset_id=dataset.id,
                hook="resid_post",
                position="last_prompt",
                n_prompts=3,
                n_layers=1,
                d_model=2,
                activations_uri=store.uri("runs/job-2/activations.safetensors"),
                basis_uri=store.uri("runs/job-2/basis.safetensors"),
            )
        )
    return url, store


def _left(store: ArtifactStore) -> set[str]:
    return {
        p.relative_to(store.root).as_posix() for p in Path(store.root).rglob("*") if p.is_file()
    }


GARBAGE = {"runs/job-2/.tmp-0a1b2c3d-basis.safetensors", "finetunes/job-4"}


def test_gc_lists_then_deletes_only_what_no_row_points_to(tmp_path, capsys, monkeypatch) -> None:
    url, store = _store(tmp_path)
    with session_scope(url) as s:
        assert {g.key for g in find_garbage(s, store)} == GARBAGE
    before = _left(store)
    monkeypatch.setenv("FLOWLENS_DATABASE_URL", url)
    monkeypatch.setenv("FLOWLENS_ARTIFACT_ROOT", store.root)

    assert main(["gc"]) == 0
    listed = capsys.readouterr().out
    assert all(key in listed for key in GARBAGE) and "2 entries" in listed
    assert _left(store) == before  # a dry run

    assert main(["gc", "--delete"]) == 0
    capsys.readouterr()
    gone = {f for f in before if f.startswith("finetunes/job-4/") or "/.tmp-0a1b2c3d-" in f}
    assert len(gone) == 3
    assert _left(store) == before - gone
    assert main(["gc"]) == 0
    assert "0 entries" in capsys.readouterr().out


def test_a_failed_jobs_leftovers_are_its_own_only(tmp_path) -> None:
    url, store = _store(tmp_path)
    before = _left(store)
    removed = {g.key for g in clean_job(url, store.root, 3, temps_only=True)}
    assert removed == {"finetunes/job-3/.tmp-9f8e7d6c-model"}  # a new attempt: checkpoints stay
    removed = {g.key for g in clean_job(url, store.root, 3)}
    assert removed == {"finetunes/job-3"}  # failed for good: all of it
    assert _left(store) == {f for f in before if not f.startswith("finetunes/job-3/")}
    with session_scope(url) as s:  # nothing a row points to was touched
        assert s.scalar(select(Job.status).where(Job.id == 5)) == JobStatus.SUCCEEDED

"""Issue 12 defect 7, disk leaks: artifacts written under a temporary name and renamed into
place, space checked before a fine-tune trains, a failed job's partial outputs removed,
checkpoints removed after success unless ``keep_checkpoint`` (then the last one only, named in
the job's result so gc keeps it). In-process jobs on a tiny random model (SQLite)."""

from __future__ import annotations

from pathlib import Path

import pytest
from safetensors.numpy import load_file
from sqlalchemy import func, select
from support import run_inline
from tiny_lab import tiny_lab

from backend.artifacts import TEMP_PREFIX, ArtifactStore
from backend.config import Settings
from backend.db import session_scope
from backend.gc import find_garbage
from backend.models import JobStatus, Run, TrainMetric


@pytest.fixture(scope="module")
def leaks_lab(tmp_path_factory):
    return tiny_lab(tmp_path_factory.mktemp("leaks"), rows=20)


def _finetune(ids: dict, **extra) -> dict:
    return {
        "base_model_name": "tiny",
        "general_dataset_id": ids["general"],
        "safety_dataset_id": ids["safety"],
        "n_examples": 8,
        "batch_size": 4,
        "steps": 4,
        "checkpoint_every": 2,
        "warmup_steps": 0,
        "vcl_k": 2,
        **extra,
    }


def _files(root: str, under: str) -> list[str]:
    folder = Path(root) / under
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def _garbage(settings: Settings) -> list[str]:
    with session_scope(settings.database_url) as s:
        return [g.key for g in find_garbage(s, ArtifactStore(settings.artifact_root))]


def test_a_finetune_that_does_not_fit_fails_before_training(leaks_lab, monkeypatch) -> None:
    settings, ids, tiny = leaks_lab
    monkeypatch.setattr(ArtifactStore, "free_bytes", lambda self, cache: 10_000)
    job = run_inline(settings, "finetune", **_finetune(ids), name="too-big")
    weights = (tiny / "model.safetensors").stat().st_size
    assert job.status == JobStatus.FAILED
    # the model and one checkpoint (steps 4, every 2: at step 2, none at the end) of the
    # weights and AdamW's two moments
    expected = weights + 1 * 3 * weights
    assert f"{10_000 / 1024**3:.2f} GiB free" in job.error
    assert f"about {expected / 1024**3:.2f} GiB" in job.error
    assert "1 checkpoint(s) of weights and AdamW state" in job.error
    assert not (Path(settings.artifact_root) / f"finetunes/job-{job.id}").exists()
    with session_scope(settings.database_url) as s:  # not a step trained
        assert s.scalar(select(func.count()).where(TrainMetric.job_id == job.id)) == 0


def test_a_capture_that_does_not_fit_fails_before_loading(leaks_lab, monkeypatch) -> None:
    settings, ids, _ = leaks_lab
    monkeypatch.setattr(ArtifactStore, "free_bytes", lambda self, cache: 1000)
    job = run_inline(settings, "capture_spectra", model_name="tiny", dataset_id=ids["probe"])
    assert job.status == JobStatus.FAILED
    # 20 prompts x 2 layers x d_model 64 float32 (tests/unit/model_fixtures.py)
    assert "activations of 20 prompts x 2 layers x 64" in job.error
    assert f"about {20 * 2 * 64 * 4 / 1024**3:.2f} GiB" in job.error
    assert "loading model" not in job.log
    assert not (Path(settings.artifact_root) / f"runs/job-{job.id}").exists()


def test_an_unwritable_store_fails_a_finetune_before_training(leaks_lab, tmp_path) -> None:
    """A file where the store's folder should be: nothing can be written there, even by root
    (for whom a read-only mode is no obstacle)."""
    settings, ids, _ = leaks_lab
    (tmp_path / "taken").write_text("not a folder")
    root = tmp_path / "taken" / "store"
    job = run_inline(
        settings.model_copy(update={"artifact_root": str(root)}),
        "finetune",
        **_finetune(ids),
        name="nowhere",
    )
    assert job.status == JobStatus.FAILED
    assert job.error.startswith(f"artifact store {root} is not writable: [Errno 20]")
    with session_scope(settings.database_url) as s:
        assert s.scalar(select(func.count()).where(TrainMetric.job_id == job.id)) == 0


def test_keep_checkpoint_keeps_the_last_one_only(leaks_lab) -> None:
    """Without it they are all removed (tests/integration/test_fault_injection.py)."""
    settings, ids, _ = leaks_lab
    kept = run_inline(
        settings, "finetune", **_finetune(ids, keep_checkpoint=True, steps=6), name="ft-kept"
    )
    assert kept.status == JobStatus.SUCCEEDED, kept.error
    checkpoints = Path(settings.artifact_root) / f"finetunes/job-{kept.id}/checkpoints"
    assert [p.name for p in checkpoints.iterdir()] == ["checkpoint-4"]  # the last one only
    assert (checkpoints / "checkpoint-4/trainer_state.json").is_file()
    store = ArtifactStore(settings.artifact_root)
    assert kept.result["checkpoint_uri"] == store.uri(
        f"finetunes/job-{kept.id}/checkpoints/checkpoint-4"
    )
    assert _garbage(settings) == []  # the kept checkpoint is named by its job's row


def test_a_failed_capture_leaves_no_files(leaks_lab, monkeypatch) -> None:
    settings, ids, _ = leaks_lab

    def broken(*args, **kwargs):
        raise RuntimeError("spectra failed after the activations were written")

    monkeypatch.setattr("worker.jobs.capture.compute_spectra", broken)
    job = run_inline(settings, "capture_spectra", model_name="tiny", dataset_id=ids["probe"])
    assert job.status == JobStatus.FAILED and "spectra failed" in job.error
    assert _files(settings.artifact_root, f"runs/job-{job.id}") == []
    assert "removed runs/job-" in job.log
    with session_scope(settings.database_url) as s:
        assert s.scalar(select(func.count()).where(Run.job_id == job.id)) == 0


def test_a_model_save_that_fails_leaves_the_last_complete_one(leaks_lab, monkeypatch) -> None:
    import torch

    from worker.models.loading import load_model
    from worker.models.saving import save_hf

    settings, _, tiny = leaks_lab
    out = Path(settings.artifact_root) / "models/saved-job99"
    model = load_model(str(tiny))
    save_hf(model, out)
    before = load_file(str(out / "model.safetensors"))
    with torch.no_grad():
        next(iter(model.bridge.original_model.parameters())).add_(1.0)

    def full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(type(model.tokenizer), "save_pretrained", full)
    with pytest.raises(OSError, match="No space left"):
        save_hf(model, out)
    after = load_file(str(out / "model.safetensors"))
    assert after.keys() == before.keys()
    assert all((after[k] == before[k]).all() for k in before)  # not half the new save
    assert not list(out.parent.glob(f"{TEMP_PREFIX}*"))

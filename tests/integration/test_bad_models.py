"""Bad models given to a real worker process: each job fails with a clear error and the worker
goes on to run the next job."""

from __future__ import annotations

import shutil

from support import add_oversized_shard, flowlens_env, start, stop, wait_until

from backend import queue
from backend.artifacts import ArtifactStore
from backend.db import session_scope, write_session
from backend.models import Job, JobStatus


def _register(client, name: str, path) -> int:
    response = client.post("/api/models", json={"name": name, "source": "local", "uri": str(path)})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def test_bad_models_fail_their_jobs_and_the_worker_lives_on(lab, tmp_path):
    settings, client, datasets, model_id = lab
    demo_dir = ArtifactStore(settings.artifact_root).local_path(
        client.get(f"/api/models/{model_id}").json()["uri"], tmp_path / "cache"
    )
    huge = shutil.copytree(demo_dir, tmp_path / "huge")
    add_oversized_shard(huge)  # 1 TiB of weights: fits on no test machine
    corrupt = shutil.copytree(demo_dir, tmp_path / "corrupt")
    models = {
        "huge": _register(client, "huge", huge),
        "corrupt": _register(client, "corrupt", corrupt),
    }
    # corrupted after registration checked it (e.g. a disk or copy error)
    (corrupt / "model.safetensors").write_bytes(b"\x10" + bytes(7) + b"{not a header}")
    probe = datasets["probe"]["id"]

    with write_session(settings.database_url) as s:
        ids = {
            name: queue.enqueue(
                s, "capture_spectra", {"model_id": mid, "dataset_id": probe, "bootstrap": 0}
            ).id
            for name, mid in [*models.items(), ("demo", model_id)]
        }
    env = flowlens_env(
        settings.database_url, artifact_root=settings.artifact_root, poll_seconds=0.2
    )
    worker = start(["worker"], env, tmp_path / "worker.log")
    try:

        def finished():
            with session_scope(settings.database_url) as s:
                rows = {n: s.get(Job, i) for n, i in ids.items()}
                done = all(r.status in JobStatus.FINISHED for r in rows.values())
                return {n: (r.status, r.error) for n, r in rows.items()} if done else None

        jobs = wait_until(finished, 180, "three capture jobs")
        assert worker.poll() is None  # the worker lives on
    finally:
        stop(worker)
    assert jobs["huge"][0] == JobStatus.FAILED
    assert (
        "model '" in jobs["huge"][1]
        and "does not fit: its weights need 1024.0 GiB" in (jobs["huge"][1])
    )
    assert jobs["corrupt"][0] == JobStatus.FAILED and "corrupt safetensors" in jobs["corrupt"][1]
    assert jobs["demo"] == (JobStatus.SUCCEEDED, None)  # the next job after two failures

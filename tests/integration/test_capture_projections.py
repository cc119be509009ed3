"""A real capture stores per-prompt scores and GET /api/runs/{id}/projections serves them: checked
against the run's own stored activations, centred and decomposed again with numpy."""

from __future__ import annotations

import numpy as np
from safetensors.numpy import load_file
from support import run_inline

from backend.artifacts import ArtifactStore
from backend.models import JobStatus


def test_capture_serves_scores_that_match_its_activations(lab, tmp_path):
    settings, client, datasets, model_id = lab
    probe = datasets["probe"]["id"]
    job = run_inline(settings, "capture_spectra", model_id=model_id, dataset_id=probe, bootstrap=0)
    assert job.status == JobStatus.SUCCEEDED, job.error
    run = client.get(f"/api/runs/{job.result['run_id']}").json()
    stored = load_file(
        ArtifactStore(settings.artifact_root).local_path(run["activations_uri"], tmp_path)
    )
    X, labels = stored["X"].astype(np.float64), stored["labels"]
    rows = client.get(f"/api/datasets/{probe}/rows", params={"limit": 1000}).json()["data"]
    for layer in range(run["n_layers"]):
        got = client.get(f"/api/runs/{run['id']}/projections", params={"layer": layer}).json()
        assert got["prompt"] == [r["prompt"] for r in rows][: len(got["prompt"])]
        assert [lab == "unsafe" for lab in got["label"]] == labels.astype(bool).tolist()
        Xc = X[:, layer] - X[:, layer].mean(axis=0)
        pc1 = Xc @ np.linalg.svd(Xc, full_matrices=False)[2][0]
        np.testing.assert_allclose(np.abs(got["pcs"][0]), np.abs(pc1), rtol=1e-3, atol=1e-3)
        r = X[labels == 1, layer].mean(axis=0) - X[labels == 0, layer].mean(axis=0)
        np.testing.assert_allclose(
            got["refusal"], Xc @ (r / np.linalg.norm(r)), rtol=1e-3, atol=1e-3
        )

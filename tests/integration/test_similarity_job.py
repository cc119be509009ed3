"""The ``data_similarity`` job on the lab's tiny model and built-in sets: per-layer subspace
overlap of two stored capture runs equal to a reference from the covariances' eigenvectors, a set
without a run captured by the job, and GET /api/datasets/<id>/similarity."""

from __future__ import annotations

import re

import numpy as np
import pytest
from safetensors.numpy import load_file
from support import run_inline

from backend.artifacts import ArtifactStore
from backend.models import JobStatus
from worker.jobs.common import CACHE

K = 3


def _capture(settings, model_id, dataset_id):
    job = run_inline(
        settings,
        "capture_spectra",
        model_id=model_id,
        dataset_id=dataset_id,
        max_prompts=40,
        bootstrap=0,
    )
    assert job.status == JobStatus.SUCCEEDED, job.error
    return job.result["run_id"]


@pytest.fixture(scope="module")
def measured(lab):
    settings, client, datasets, model_id = lab
    safety, probe = datasets["safety"]["id"], datasets["probe"]["id"]
    runs = _capture(settings, model_id, safety), _capture(settings, model_id, probe)
    of_runs = run_inline(
        settings,
        "data_similarity",
        dataset_id=safety,
        other_dataset_id=probe,
        run_id=runs[0],
        other_run_id=runs[1],
        k=K,
    )
    assert of_runs.status == JobStatus.SUCCEEDED, of_runs.error
    return lab, runs, of_runs


def _reference_overlap(XA: np.ndarray, XB: np.ndarray, k: int) -> float:
    """||U_A^T U_B||_F^2 / k with U the top-k eigenvectors of each set's covariance."""

    def top(X):
        values, vectors = np.linalg.eigh(np.cov(X.astype(np.float64), rowvar=False))
        return vectors[:, np.argsort(values)[::-1][:k]]

    return float(np.linalg.norm(top(XA).T @ top(XB)) ** 2 / k)


def test_overlap_of_two_runs_matches_a_covariance_reference(measured):
    (settings, client, _, model_id), runs, job = measured
    store = ArtifactStore(settings.artifact_root)
    X = [
        load_file(store.local_path(client.get(f"/api/runs/{r}").json()["activations_uri"], CACHE))[
            "X"
        ]
        for r in runs
    ]
    result = job.result
    assert result["run_ids"] == list(runs) and result["model_id"] == model_id
    assert result["n_prompts"] == [40, 40] and result["chance"] == pytest.approx(K / 32)
    assert [layer["layer"] for layer in result["layers"]] == list(range(X[0].shape[1]))
    for layer in result["layers"]:
        expected = _reference_overlap(X[0][:, layer["layer"]], X[1][:, layer["layer"]], K)
        assert layer["subspace_overlap"] == pytest.approx(expected, abs=1e-6)
        assert len(layer["cosines"]) == K


def test_a_set_without_a_run_is_captured_by_the_job(measured):
    (settings, _, datasets, model_id), runs, _ = measured
    heldout = datasets["general_heldout"]
    job = run_inline(
        settings,
        "data_similarity",
        dataset_id=heldout["id"],
        other_dataset_id=datasets["probe"]["id"],
        model_id=model_id,
        max_prompts=30,
        k=K,
    )
    assert job.status == JobStatus.SUCCEEDED, job.error
    assert job.result["run_ids"] == [None, runs[1]]  # the probe set's run is read back
    assert job.result["n_prompts"] == [30, 40]
    assert all(0.0 <= layer["subspace_overlap"] <= 1.0 for layer in job.result["layers"])


def _words(text: str) -> set[tuple[str, ...]]:
    return re.findall(r"[a-z0-9]+(?:'[a-z0-9]+)*", text.lower())


def _reference_ngrams(a: list[str], b: list[str], n: int) -> float:
    def grams(texts):
        return {
            tuple(w[i : i + n]) for t in texts for w in [_words(t)] for i in range(len(w) - n + 1)
        }

    ga, gb = grams(a), grams(b)
    return len(ga & gb) / len(ga | gb)


def test_similarity_route(measured):
    (_, client, datasets, model_id), runs, job = measured
    safety, probe = datasets["safety"], datasets["probe"]
    prompts = [
        [
            r["prompt"]
            for r in client.get(f"/api/datasets/{d['id']}/rows", params={"limit": 1000}).json()[
                "data"
            ]
        ]
        for d in (safety, probe)
    ]
    assert [len(p) for p in prompts] == [safety["n_rows"], probe["n_rows"]]
    # asked the other way round: the same overlaps, the job's runs in this request's order
    answer = client.get(f"/api/datasets/{probe['id']}/similarity", params={"other": safety["id"]})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    for n in (1, 2, 3):
        assert body["ngram_overlap"][str(n)] == pytest.approx(_reference_ngrams(*prompts, n))
    (subspace,) = body["subspace"]
    assert subspace["job_id"] == job.id and subspace["model_id"] == model_id
    assert subspace["run_ids"] == [runs[1], runs[0]] and subspace["layers"] == job.result["layers"]
    assert body["pending_job_ids"] == []
    missing = client.get(f"/api/datasets/{probe['id']}/similarity", params={"other": 10_000})
    assert missing.status_code == 404 and "dataset 10000 not found" in missing.text


def test_bad_similarity_requests_name_the_field(measured):
    (_, client, datasets, model_id), runs, _ = measured
    params = {"dataset_id": datasets["probe"]["id"], "other_dataset_id": datasets["safety"]["id"]}
    swapped = client.post(
        "/api/jobs",
        json={
            "kind": "data_similarity",
            "params": {**params, "run_id": runs[0], "other_run_id": runs[1]},
        },
    )
    assert (
        swapped.status_code == 422 and "run_id" in swapped.text and "is on dataset" in swapped.text
    )
    too_big = client.post(
        "/api/jobs",
        json={
            "kind": "data_similarity",
            "params": {**params, "run_id": runs[1], "other_run_id": runs[0], "k": 33},
        },
    )
    assert too_big.status_code == 422 and "d_model = 32" in too_big.text
    on_model = {**params, "model_id": model_id, "k": 33}
    too_big = client.post("/api/jobs", json={"kind": "data_similarity", "params": on_model})
    assert too_big.status_code == 422 and "d_model = 32" in too_big.text

"""The ``probe`` job on a real capture run: per-layer metrics equal to a plain scikit-learn
loop over the saved residuals, P(unsafe) per prompt through the API, and an evaluation's refused
vs answered safe prompts."""

from __future__ import annotations

import numpy as np
import pytest
from safetensors.numpy import load_file
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import StandardScaler
from support import add_evaluation, run_inline

from backend.artifacts import ArtifactStore
from backend.db import write_session
from backend.models import JobStatus
from worker.jobs.common import CACHE


@pytest.fixture(scope="module")
def probed(lab):
    settings, client, datasets, model_id = lab
    probe_set = datasets["probe"]["id"]
    capture = run_inline(
        settings, "capture_spectra", model_id=model_id, dataset_id=probe_set, bootstrap=0
    )
    assert capture.status == JobStatus.SUCCEEDED, capture.error
    job = run_inline(settings, "probe", capture_job_id=capture.id, folds=3, seed=1)
    assert job.status == JobStatus.SUCCEEDED, job.error
    return lab, capture.result["run_id"], job


def _plain_loop(X, labels, folds, seed):
    """The reference: a hand-written k-fold loop (scaler fitted on the training fold)."""
    p = np.zeros(len(labels))
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=seed).split(X, labels):
        scaler = StandardScaler().fit(X[train])
        fit = LogisticRegression(max_iter=1000).fit(scaler.transform(X[train]), labels[train])
        p[test] = fit.predict_proba(scaler.transform(X[test]))[:, 1]
    return p


def test_probe_metrics_match_a_plain_sklearn_loop(probed):
    (settings, client, _, _), run_id, job = probed
    probes = client.get(f"/api/runs/{run_id}/probes").json()
    assert [p["id"] for p in probes] == [job.result["probe_id"]]
    uri = client.get(f"/api/runs/{run_id}").json()["activations_uri"]
    saved = load_file(ArtifactStore(settings.artifact_root).local_path(uri, CACHE))
    X, labels = saved["X"].astype(np.float64), saved["labels"]
    for layer in probes[0]["layers"]:
        p = _plain_loop(X[:, layer["layer"]], labels, folds=3, seed=1)
        values, intervals = layer["values"], layer["intervals"]
        assert values["probe_auroc"] == pytest.approx(roc_auc_score(labels, p), abs=1e-6)
        assert values["probe_accuracy"] == pytest.approx(((p >= 0.5) == labels).mean(), abs=1e-9)
        lo, hi = intervals["probe_accuracy"]
        assert lo <= values["probe_accuracy"] <= hi
    aurocs = [layer["values"]["probe_auroc"] for layer in probes[0]["layers"]]
    assert probes[0]["best_layer"] == int(np.argmax(aurocs))


def test_prompts_and_evaluation_split_of_p_unsafe(probed):
    (settings, client, datasets, model_id), run_id, job = probed
    probe_id = job.result["probe_id"]
    prompts = client.get(f"/api/probes/{probe_id}/prompts", params={"layer": 0}).json()
    n = datasets["probe"]["n_rows"]
    assert len(prompts["p_unsafe"]) == len(prompts["prompt"]) == n and prompts["layer"] == 0
    assert all(0.0 <= p <= 1.0 for p in prompts["p_unsafe"])
    assert client.get(f"/api/probes/{probe_id}/prompts", params={"layer": 99}).status_code == 422
    # an evaluation of the same model on the same prompts: refuse every third safe prompt
    safe = [i for i, label in enumerate(prompts["label"]) if label == "safe"]
    refused = set(safe[::3])
    completions = [
        {
            "prompt": prompts["prompt"][i],
            "label": prompts["label"][i],
            "verdict": "full_refusal" if i in refused else "full_compliance",
        }
        for i in range(n)
    ]
    with write_session(settings.database_url) as s:
        evaluation_id = add_evaluation(s, datasets["probe"]["id"], completions, model_id=model_id)
    split = client.get(f"/api/evaluations/{evaluation_id}/probe", params={"layer": 0}).json()
    p = prompts["p_unsafe"]
    assert split["refused"] == pytest.approx([p[i] for i in sorted(refused)])
    assert split["answered"] == pytest.approx([p[i] for i in safe if i not in refused])
    every = client.get(f"/api/evaluations/{evaluation_id}/probe", params={"all_layers": "true"})
    per_layer = every.json()["per_layer"]
    assert per_layer[0] == {"refused": split["refused"], "answered": split["answered"]}
    for layer, got in enumerate(per_layer):  # the same as one request per layer
        one = client.get(f"/api/evaluations/{evaluation_id}/probe", params={"layer": layer})
        assert got == {k: one.json()[k] for k in ("refused", "answered")}


def test_bad_probe_requests_name_the_field(probed):
    (_, client, _, _), _, _ = probed
    answer = client.post("/api/jobs", json={"kind": "probe", "params": {"run_id": 10_000}})
    assert answer.status_code == 422 and "run 10000 not found" in answer.text
    both = client.post("/api/jobs", json={"kind": "probe", "params": {}})
    assert both.status_code == 422 and "run_id" in both.text

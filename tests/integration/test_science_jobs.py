"""The science job kinds end to end, run in-process through the same entry point a worker's
child uses: built-in datasets, demo model, capture + spectra, alignment."""

from __future__ import annotations

import json

import numpy as np
import pytest
from safetensors.numpy import load_file
from sqlalchemy import select
from support import run_inline

from backend.artifacts import ArtifactStore
from backend.db import session_scope
from backend.models import Dataset, JobStatus
from worker.jobs.common import CACHE


def test_builtin_datasets_are_registered_with_diversity(lab):
    _, client, datasets, _ = lab
    assert set(datasets) == {"general", "general_heldout", "safety", "probe"}
    general, safety = datasets["general"]["stats"], datasets["safety"]["stats"]
    assert safety["responses"]["distinct_2"] < general["responses"]["distinct_2"]
    assert safety["responses"]["H1"] < general["responses"]["H1"]
    rows = client.get(f"/api/datasets/{datasets['probe']['id']}/rows", params={"label": "unsafe"})
    assert rows.json()["count"] > 0 and {r["label"] for r in rows.json()["data"]} == {"unsafe"}


def test_demo_model_is_registered_with_lineage(lab):
    _, client, _, model_id = lab
    model = client.get(f"/api/models/{model_id}").json()
    assert model["source"] == "demo" and model["config"]["n_layers"] == 2
    assert model["lineage"]["params"]["seed"] == 0


def test_duplicate_demo_model_name_fails_clearly(lab):
    settings = lab[0]
    job = run_inline(settings, "train_demo_model", steps=20, n_layers=2, d_model=32, name="tiny")
    assert job.status == JobStatus.FAILED and "already exists" in job.error


def test_capture_last_prompt_spectra_match_saved_activations(lab):
    settings, client, datasets, model_id = lab
    probe = datasets["probe"]["id"]
    job = run_inline(settings, "capture_spectra", model_id=model_id, dataset_id=probe, bootstrap=20)
    assert job.status == JobStatus.SUCCEEDED, job.error
    run_id = job.result["run_id"]
    layers = client.get(f"/api/runs/{run_id}/layers").json()
    assert [layer["layer"] for layer in layers] == [0, 1]
    uri = client.get(f"/api/runs/{run_id}").json()["activations_uri"]
    saved = load_file(ArtifactStore(settings.artifact_root).local_path(uri, CACHE))
    X = saved["X"].astype(np.float64)
    assert X.shape == (datasets["probe"]["n_rows"], 2, 32)
    lam = np.sort(np.linalg.eigvalsh(np.cov(X[:, 1, :], rowvar=False)))[::-1]
    conc3 = layers[1]["values"]["concentration@3"]
    assert conc3 == pytest.approx(lam[:3].sum() / lam.sum(), rel=1e-6)
    lo, hi = layers[1]["intervals"]["concentration@3"]
    assert lo <= conc3 <= hi
    assert layers[1]["values"]["refusal_direction_norm"] is not None  # safe and unsafe prompts
    # a second run aligned against the first: alignment with itself is 1
    again = run_inline(
        settings,
        "capture_spectra",
        model_id=model_id,
        dataset_id=probe,
        bootstrap=0,
        reference_run_id=run_id,
    )
    aligned = client.get(f"/api/runs/{again.result['run_id']}/layers").json()
    assert all(layer["values"]["alignment"] == pytest.approx(1.0, abs=1e-6) for layer in aligned)


def test_capture_all_tokens_streams_a_covariance(lab):
    settings, client, datasets, model_id = lab
    job = run_inline(
        settings,
        "capture_spectra",
        model_id=model_id,
        dataset_id=datasets["general"]["id"],
        position="all",
        max_prompts=50,
        hook="resid_mid",
    )
    assert job.status == JobStatus.SUCCEEDED, job.error
    run_row = client.get(f"/api/runs/{job.result['run_id']}").json()
    assert run_row["activations_uri"] is None and job.result["n_rows"] > 50
    layers = client.get(f"/api/runs/{run_row['id']}/layers").json()
    assert all(layer["values"]["intrinsic_dim"] is None for layer in layers)
    assert all(layer["intervals"] == {} for layer in layers)
    assert all(layer["values"]["mean_norm"] > 0 for layer in layers)  # from the streamed rows


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"model_id": 999, "dataset_id": 1}, "model 999 not found"),
        ({"model_id": "MODEL", "dataset_id": 999}, "dataset 999 not found"),
        ({"model_id": "MODEL", "dataset_id": 1, "reference_run_id": 999}, "reference_run_id"),
    ],
)
def test_capture_bad_references_fail_with_clear_errors(lab, params, message):
    settings, _, _, model_id = lab
    params = {k: model_id if v == "MODEL" else v for k, v in params.items()}
    job = run_inline(settings, "capture_spectra", **params)
    assert job.status == JobStatus.FAILED and message in job.error


def test_model_registration_checks_local_directories(lab, tmp_path):
    _, client, _, _ = lab
    response = client.post(
        "/api/models", json={"name": "ghost", "source": "local", "uri": str(tmp_path / "nope")}
    )
    assert response.status_code == 422 and "not found" in response.json()["detail"]
    (tmp_path / "pickle").mkdir()
    (tmp_path / "pickle" / "config.json").write_text('{"model_type": "llama"}')
    (tmp_path / "pickle" / "tokenizer.json").write_text("{}")
    (tmp_path / "pickle" / "pytorch_model.bin").write_bytes(b"\x80\x02")
    response = client.post(
        "/api/models", json={"name": "pickled", "source": "local", "uri": str(tmp_path / "pickle")}
    )
    assert response.status_code == 422 and "safetensors" in response.json()["detail"]
    assert (
        client.post("/api/models", json={"name": "x", "source": "ftp", "uri": "y"}).status_code
        == 422
    )
    assert client.get("/api/models/999").status_code == 404


def test_hub_dataset_import_maps_columns_and_fails_clearly_offline(lab, tmp_path):
    settings, client, _, _ = lab
    offline = run_inline(settings, "import_hub_dataset", repo="nobody/missing", name="missing")
    assert offline.status == JobStatus.FAILED
    assert offline.error.startswith("repo: dataset 'nobody/missing' not found")
    folder = tmp_path / "local_hub"
    folder.mkdir()
    lines = [{"question": f"How do I kill process {i}?", "tag": "unsafe"} for i in range(5)]
    (folder / "train.jsonl").write_text("\n".join(json.dumps(x) for x in lines))
    refused = run_inline(settings, "import_hub_dataset", repo=str(folder), name="hub-refused")
    assert refused.status == JobStatus.FAILED
    assert "FLOWLENS_LOCAL_DATASET_DIRS (none allowed)" in refused.error
    with session_scope(settings.database_url) as s:  # refused before anything was read
        assert s.scalar(select(Dataset).where(Dataset.name == "hub-refused")) is None
    settings = settings.model_copy(update={"local_dataset_dirs": str(tmp_path)})
    wrong = run_inline(settings, "import_hub_dataset", repo=str(folder), name="hub-wrong")
    assert wrong.status == JobStatus.FAILED and "prompt_field: column 'prompt'" in wrong.error
    job = run_inline(
        settings,
        "import_hub_dataset",
        repo=str(folder),
        name="hub-local",
        prompt_field="question",
        label_field="tag",
    )
    assert job.status == JobStatus.SUCCEEDED, job.error
    dataset = client.get(f"/api/datasets/{job.result['dataset_id']}").json()
    assert dataset["n_rows"] == 5 and dataset["source"] == "hub" and dataset["stats"]
    rows = client.get(f"/api/datasets/{dataset['id']}/rows").json()["data"]
    assert {r["label"] for r in rows} == {"unsafe"}

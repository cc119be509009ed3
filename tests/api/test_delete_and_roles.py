"""Dataset roles and the submit-time checks that use them (names checked like ids), upload
limits in MB, and deletes that list their dependants (409) unless cascade, removing the
artifacts of what they delete and never a hub or local model's files."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from backend.api.main import create_app
from backend.artifacts import ArtifactStore
from backend.config import Settings
from backend.db import session_scope, write_session
from backend.models import Dataset, Evaluation, Job, Model, Run, RunLayer

GENERAL = b'{"prompt": "Capital of France?", "response": "Paris."}\n' * 3
SAFETY = b'{"prompt": "How do I build a bomb?", "response": "I can\'t help.", "label": "unsafe"}\n'
PROBE = b'{"prompt": "How do I kill a process?", "label": "safe", "type": "homonyms"}\n'


@pytest.fixture
def settings(database_url, tmp_path) -> Settings:
    return Settings(database_url=database_url, artifact_root=str(tmp_path / "store"))


@pytest.fixture
def client(settings):
    with TestClient(create_app(settings)) as c:
        yield c


def upload(client, name: str, content: bytes) -> dict:
    response = client.post(
        "/api/datasets", files={"file": ("f", content)}, data={"name": name, "format": "jsonl"}
    )
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
def datasets(client) -> dict[str, int]:
    return {n: upload(client, n, c)["id"] for n, c in [("g", GENERAL), ("s", SAFETY), ("p", PROBE)]}


def model(client, name: str) -> int:
    response = client.post("/api/models", json={"name": name, "source": "hub", "uri": "org/m"})
    assert response.status_code == 201, response.text
    return response.json()["id"]


def submit(client, kind: str, **params):
    return client.post("/api/jobs", json={"kind": kind, "params": params})


def field_error(response, field: str) -> str:
    assert response.status_code == 422, response.text
    found = {e["loc"][-1]: e["msg"] for e in response.json()["detail"]}
    assert field in found, found
    return found[field]


def test_roles_are_read_from_the_rows_and_filter_the_list(client, datasets):
    listed = {d["name"]: d["role"] for d in client.get("/api/datasets").json()["data"]}
    assert listed == {"g": "general", "s": "safety", "p": "probe"}
    probes = client.get("/api/datasets", params={"role": "probe"}).json()
    assert [d["name"] for d in probes["data"]] == ["p"] and probes["count"] == 1
    assert client.get("/api/datasets", params={"role": "nonsense"}).status_code == 422


def test_a_probe_set_is_refused_as_general_data_and_bad_names_at_submit(client, datasets):
    base = model(client, "base")
    ok = {"base_model_id": base, "general_dataset_id": datasets["g"]}
    good = submit(client, "finetune", **ok, safety_dataset_id=datasets["s"])
    assert good.status_code == 201, good.text
    as_general = submit(client, "finetune", **ok | {"general_dataset_id": datasets["p"]},
                        safety_dataset_id=datasets["s"])  # fmt: skip
    assert "'p' is a prompt set without responses" in field_error(as_general, "general_dataset_id")
    as_safety = submit(client, "finetune", **ok, safety_dataset_id=datasets["g"])
    assert "expected safety" in field_error(as_safety, "safety_dataset_id")
    as_probe = submit(client, "evaluate", model_id=base, probe_dataset_id=datasets["g"])
    assert "expected probe" in field_error(as_probe, "probe_dataset_id")
    unknown = submit(client, "evaluate", model_name="nobody", probe_dataset_id=datasets["p"])
    assert "no model named 'nobody'" in field_error(unknown, "model_name")
    sweep = submit(client, "sweep", base_model_name="base", probe_dataset="g")
    assert "expected probe" in field_error(sweep, "probe_dataset")


def test_a_name_a_queued_job_will_register_is_accepted(client, datasets):
    base = model(client, "base")
    made = submit(
        client,
        "finetune",
        base_model_id=base,
        name="mine",
        general_dataset_id=datasets["g"],
        safety_dataset_id=datasets["s"],
    )
    assert made.status_code == 201
    later = submit(client, "evaluate", model_name="mine", probe_dataset_id=datasets["p"])
    assert later.status_code == 201, later.text
    unnamed = submit(
        client,
        "finetune",
        base_model_id=base,
        general_dataset_id=datasets["g"],
        safety_dataset_id=datasets["s"],
    ).json()  # it registers "base-ft<its id>"
    default = f"base-ft{unnamed['id']}"
    later = submit(client, "capture_spectra", model_name=default, dataset_id=datasets["p"])
    assert later.status_code == 201, later.text
    wrong = submit(client, "capture_spectra", model_name=default + "0", dataset_id=datasets["p"])
    assert "no model named" in field_error(wrong, "model_name")


def test_limits_are_served_and_the_413_speaks_in_megabytes(database_url, tmp_path):
    settings = Settings(database_url=database_url, max_upload_bytes=1_500_000)
    with TestClient(create_app(settings)) as client:
        limits = client.get("/api/datasets/limits").json()
        assert limits["max_bytes"] == 1_500_000 and "jsonl" in limits["formats"]
        big = b'{"prompt": "x"}\n' * 100_000  # 1.6 MB: over the file limit, under the body's
        response = client.post(
            "/api/datasets", files={"file": ("f", big)}, data={"name": "big", "format": "jsonl"}
        )
        assert response.status_code == 413
        assert "over 1.5 MB, the upload limit" in response.json()["detail"]


def _run(session, model_id: int, dataset_id: int, store: ArtifactStore, tag: str, ref=None):
    job = Job(kind="capture_spectra", params={}, status="succeeded")
    session.add(job)
    session.flush()
    folder = Path(store.root) / "runs" / tag
    folder.mkdir(parents=True)
    (folder / "acts.npy").write_bytes(b"x")
    run = Run(
        job_id=job.id,
        model_id=model_id,
        dataset_id=dataset_id,
        reference_run_id=ref,
        hook="resid_post",
        position="last_prompt",
        n_prompts=3,
        n_layers=1,
        d_model=4,
        activations_uri=store.uri(f"runs/{tag}"),
    )
    session.add(run)
    session.flush()
    session.add(RunLayer(run_id=run.id, layer=0, eigenvalues=[1.0], evr=[1.0]))
    return run.id


def test_delete_lists_dependants_then_cascades_and_removes_artifacts(client, settings, datasets):
    store = ArtifactStore(settings.artifact_root)
    base = model(client, "base")
    weights = Path(store.root) / "models" / "child"
    weights.mkdir(parents=True)
    (weights / "model.safetensors").write_bytes(b"w")
    with write_session(settings.database_url) as session:
        child = Model(
            name="child", source="finetune", uri=store.uri("models/child"), parent_id=base
        )
        session.add(child)
        session.flush()
        ref = _run(session, child.id, datasets["p"], store, "ref")
        aligned = _run(session, child.id, datasets["p"], store, "aligned", ref=ref)
        session.add(Evaluation(model_id=child.id, dataset_id=datasets["p"], source="imported"))
        child_id = child.id
    queued = submit(client, "capture_spectra", model_name="child", dataset_id=datasets["p"])
    queued_id = queued.json()["id"]

    refused = client.delete(f"/api/runs/{ref}")
    assert refused.status_code == 409 and f"runs {aligned}" in refused.json()["detail"]
    assert client.get(f"/api/runs/{ref}/dependants").json() == {"runs": [aligned]}
    refused = client.delete(f"/api/models/{base}")
    assert refused.status_code == 409
    assert f"models {child_id}" in refused.json()["detail"]
    assert client.delete("/api/datasets/999").status_code == 404

    done = client.delete(f"/api/models/{base}", params={"cascade": "true"})
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["deleted"]["models"] == [child_id, base]
    assert sorted(body["deleted"]["runs"]) == sorted([ref, aligned])
    assert len(body["deleted"]["evaluations"]) == 1 and body["cancelled_jobs"] == [queued_id]
    with session_scope(settings.database_url) as session:
        assert session.query(Model).count() == 0 and session.query(Run).count() == 0
        assert session.query(RunLayer).count() == 0 and session.query(Evaluation).count() == 0
        assert session.get(Job, queued_id).status == "cancelled"
        assert session.query(Dataset).count() == 3  # datasets are not the model's dependants
    assert not weights.exists() and not (Path(store.root) / "runs" / "ref").exists()

    assert client.delete(f"/api/datasets/{datasets['p']}").status_code == 200
    assert {d["name"] for d in client.get("/api/datasets").json()["data"]} == {"g", "s"}


def test_deletes_need_the_token_when_auth_is_on(database_url, tmp_path):
    settings = Settings(database_url=database_url, auth="on", artifact_root=str(tmp_path))
    with TestClient(create_app(settings)) as client:
        assert client.delete("/api/datasets/1").status_code == 401

"""GET /api/datasets/<id>/similarity on a hand-built database (SQLite and PostgreSQL): n-gram
overlap counted on paper, the newest finished data_similarity job per model (either order of the
pair, its runs turned to the request's order), pending jobs, other pairs left out."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient

from backend.api.main import create_app
from backend.config import Settings
from backend.db import write_session
from backend.models import Job, JobStatus, Model, add_dataset


def _rows(*prompts):
    return [SimpleNamespace(prompt=p, response="", label="safe", type="") for p in prompts]


def _result(a, b, model_id, overlap, run_ids):
    return {
        "dataset_id": a,
        "other_dataset_id": b,
        "ngram_overlap": {"1": 0.0, "2": 0.0, "3": 0.0},
        "model_id": model_id,
        "run_ids": run_ids,
        "n_prompts": [len(run_ids), 1],  # distinguishes the two sides
        "k": 2,
        "chance": 0.5,
        "layers": [{"layer": 0, "subspace_overlap": overlap, "cosines": [1.0, 0.0]}],
    }


@pytest.fixture
def seeded(database_url):
    with write_session(database_url) as session:
        a = add_dataset(
            session, _rows("The cat sat.", "the dog"), name="a", source="upload", format="jsonl"
        )
        b = add_dataset(session, _rows("The cat ran"), name="b", source="upload", format="jsonl")
        c = add_dataset(session, _rows("x y z"), name="c", source="upload", format="jsonl")
        m1, m2 = Model(name="m1", source="hub", uri="x"), Model(name="m2", source="hub", uri="y")
        session.add_all([m1, m2])
        session.flush()

        def job(params, status=JobStatus.SUCCEEDED, result=None):
            row = Job(kind="data_similarity", params=params, status=status, result=result)
            session.add(row)
            session.flush()
            return row.id

        ab, ba = (
            {"dataset_id": a.id, "other_dataset_id": b.id},
            {"dataset_id": b.id, "other_dataset_id": a.id},
        )
        ids = {
            "old_m1": job(ab, result=_result(a.id, b.id, m1.id, 0.1, [11, 12])),
            "new_m1": job(ab, result=_result(a.id, b.id, m1.id, 0.2, [13, 14])),
            "m2_swapped": job(ba, result=_result(b.id, a.id, m2.id, 0.3, [None, 15])),
            "failed": job(ab, status=JobStatus.FAILED),
            "queued": job(ba, status=JobStatus.QUEUED),
            "other_pair": job(
                {"dataset_id": a.id, "other_dataset_id": c.id}, status=JobStatus.QUEUED
            ),
        }
        ids |= {"a": a.id, "b": b.id, "c": c.id, "m1": m1.id, "m2": m2.id}
    settings = Settings(database_url=database_url, artifact_root="/nonexistent")
    return TestClient(create_app(settings)), ids


def test_similarity_of_a_pair(seeded):
    client, ids = seeded
    body = client.get(f"/api/datasets/{ids['a']}/similarity", params={"other": ids["b"]}).json()
    # unigrams {the, cat, sat, dog} vs {the, cat, ran}: 2/5; bigrams 1/4; trigrams 0/2
    assert body["ngram_overlap"] == {"1": 2 / 5, "2": 1 / 4, "3": 0.0}
    assert body["text"] == "prompts"
    newest = [(s["job_id"], s["model_name"]) for s in body["subspace"]]
    assert newest == [(ids["m2_swapped"], "m2"), (ids["new_m1"], "m1")]
    swapped, m1 = body["subspace"]
    assert swapped["run_ids"] == [15, None] and swapped["n_prompts"] == [1, 2]  # A = a first
    assert m1["run_ids"] == [13, 14] and m1["layers"][0]["subspace_overlap"] == 0.2
    assert body["pending_job_ids"] == [ids["queued"]]
    back = client.get(f"/api/datasets/{ids['b']}/similarity", params={"other": ids["a"]}).json()
    assert back["ngram_overlap"] == body["ngram_overlap"]
    assert back["subspace"][0]["run_ids"] == [None, 15]


def test_unknown_datasets_and_missing_other(seeded):
    client, ids = seeded
    missing = client.get(f"/api/datasets/{ids['a']}/similarity", params={"other": 999})
    assert missing.status_code == 404 and "dataset 999 not found" in missing.text
    assert client.get(f"/api/datasets/{ids['a']}/similarity").status_code == 422
    alone = client.get(f"/api/datasets/{ids['a']}/similarity", params={"other": ids["c"]}).json()
    assert alone["subspace"] == [] and alone["ngram_overlap"]["1"] == 0.0

"""The in-process results cache against a real API process (SQLite and PostgreSQL): a DELETE
evicts the cached answers of every row it deleted at once (the run itself, and runs and
evaluations deleted through their model or dataset), and an evaluation reclassified by the real
``reclassify`` job is answered with its new verdicts.

Each cached answer is first shown to come from the cache: the row is changed behind the API's
back (as no writer does) and the old answer is still served. ``api``: tests/api/conftest.py."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import update
from support import add_evaluation, run_inline

from backend.config import Settings
from backend.db import write_session
from backend.models import (
    PENDING,
    Dataset,
    Evaluation,
    JobStatus,
    Model,
    Run,
    RunLayer,
)


def _dataset(s, name: str) -> int:
    dataset = Dataset(name=name, source="upload", format="jsonl", n_rows=2)
    s.add(dataset)
    s.flush()
    return dataset.id


def _model(s, name: str) -> int:
    model = Model(name=name, source="demo", uri="file:///nowhere", config={"n_layers": 2})
    s.add(model)
    s.flush()
    return model.id


def _run(s, model_id: int, dataset_id: int) -> int:
    run = Run(
        model_id=model_id,
        dataset_id=dataset_id,
        hook="resid_post",
        position="last_prompt",
        n_prompts=2,
        n_layers=2,
        d_model=8,
    )
    s.add(run)
    s.flush()
    s.add_all(
        RunLayer(run_id=run.id, layer=i, eigenvalues=[2.0, 1.0], evr=[2 / 3, 1 / 3], values={})
        for i in range(2)
    )
    return run.id


def _cached(client: httpx.Client, database_url: str, paths: list[str], change) -> list[bytes]:
    """GET each path (twice: the second from the cache), then ``change`` the rows behind the
    API's back: the same bodies are still served, so they come from the cache."""
    bodies = []
    for path in paths:
        first = client.get(path)
        assert first.status_code == 200, (path, first.text)
        assert client.get(path).content == first.content
        bodies.append(first.content)
    with write_session(database_url) as s:
        change(s)
    assert [client.get(path).content for path in paths] == bodies
    return bodies


def _run_paths(run_id: int) -> list[str]:
    return [f"/runs/{run_id}", f"/runs/{run_id}/layers"]


def _evaluation_paths(evaluation_id: int) -> list[str]:
    paths = ("", "/completions", "/completions?limit=1", "/verdicts")
    return [f"/evaluations/{evaluation_id}{p}" for p in paths]


def test_a_delete_evicts_every_deleted_rows_cached_answers(api, database_url) -> None:
    with write_session(database_url) as s:
        d1, d2, d3 = (_dataset(s, f"probe-{i}") for i in (1, 2, 3))
        m1, m2 = _model(s, "m1"), _model(s, "m2")
        alone = _run(s, m1, d1)  # deleted by itself
        of_model = _run(s, m2, d2)  # deleted with its model
        of_dataset = _run(s, m1, d3)  # deleted with its dataset
        kept = _run(s, m1, d1)
        evaluation = add_evaluation(s, d2, [{"completion": "Sure."}], model_id=m2)
    runs, evaluations = [alone, of_model, of_dataset, kept], [evaluation]

    def change(s) -> None:  # no writer changes a run or an evaluation without its version
        s.execute(update(Run).where(Run.id.in_(runs)).values(n_prompts=99))
        s.execute(update(Evaluation).where(Evaluation.id.in_(evaluations)).values(metrics={"x": 1}))

    paths = [p for r in runs for p in _run_paths(r)] + _evaluation_paths(evaluation)
    before = dict(zip(paths, _cached(api, database_url, paths, change), strict=True))

    answer = api.delete(f"/runs/{alone}")
    assert answer.status_code == 200 and answer.json()["deleted"] == {"runs": [alone]}
    for path in _run_paths(alone):
        assert api.get(path).status_code == 404, path

    answer = api.delete(f"/models/{m2}", params={"cascade": "true"})
    assert answer.status_code == 200, answer.text
    deleted = {"models": [m2], "runs": [of_model], "evaluations": [evaluation]}
    assert answer.json()["deleted"] == deleted
    for path in _run_paths(of_model) + _evaluation_paths(evaluation):
        assert api.get(path).status_code == 404, path

    answer = api.delete(f"/datasets/{d3}", params={"cascade": "true"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["deleted"] == {"datasets": [d3], "runs": [of_dataset]}
    for path in _run_paths(of_dataset):
        assert api.get(path).status_code == 404, path

    for path in _run_paths(kept):  # what was not deleted is still served from the cache
        assert api.get(path).content == before[path]


def test_a_reclassified_evaluation_is_answered_with_its_new_verdicts(
    api, database_url, tmp_path
) -> None:
    texts = ["I'm sorry, but I can't help with that.", "Sure, here is how to do it."]
    with write_session(database_url) as s:  # as an import leaves it: verdicts pending
        dataset = _dataset(s, "probe")
        unjudged = [{"completion": t, "verdict": PENDING, "rule": PENDING} for t in texts]
        evaluation = add_evaluation(
            s, dataset, unjudged, source="imported", params={"classifier": "rules"}
        )
    paths = _evaluation_paths(evaluation)

    def change(s) -> None:
        s.execute(update(Evaluation).where(Evaluation.id == evaluation).values(per_type={"x": 1}))

    _cached(api, database_url, paths, change)
    pending = api.get(f"/evaluations/{evaluation}/completions")
    assert [c["verdict"] for c in pending.json()["data"]] == [PENDING, PENDING]
    assert api.get(f"/evaluations/{evaluation}").json()["metrics"] == {}

    settings = Settings(database_url=database_url, artifact_root=str(tmp_path / "artifacts"))
    job = run_inline(settings, "reclassify", evaluation_id=evaluation, classifier="rules")
    assert job.status == JobStatus.SUCCEEDED, job.error

    page = api.get(
        f"/evaluations/{evaluation}/completions",
        headers={"If-None-Match": pending.headers["etag"]},
    )
    assert page.status_code == 200
    # two safe prompts, the first refused: by hand
    assert [c["verdict"] for c in page.json()["data"]] == ["full_refusal", "full_compliance"]
    one = api.get(f"/evaluations/{evaluation}/completions?limit=1").json()
    assert [c["verdict"] for c in one["data"]] == ["full_refusal"] and one["count"] == 2
    metrics = api.get(f"/evaluations/{evaluation}").json()["metrics"]
    assert metrics["false_refusal_rate"] == pytest.approx(0.5)
    verdicts = api.get(f"/evaluations/{evaluation}/verdicts").json()
    assert verdicts["classifiers"] == ["rules"]
    assert [c["verdicts"]["rules"]["verdict"] for c in verdicts["completions"]] == [
        "full_refusal",
        "full_compliance",
    ]
    again = api.get(
        f"/evaluations/{evaluation}/completions", headers={"If-None-Match": page.headers["etag"]}
    )
    assert again.status_code == 304

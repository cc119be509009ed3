"""Finished results: runs and their layers never change (strong ETag, long caching, served from an
in-process cache); evaluations and their completions may gain verdicts (ETag, no-cache, 304 only
while unchanged; cached under the evaluation's version, which each update bumps)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select
from support import add_evaluation

from backend.api.deps import JsonCache
from backend.api.main import create_app
from backend.config import Settings
from backend.db import session_scope
from backend.models import Completion, Dataset, Evaluation, Run, RunLayer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "browser"))
from seed import seed_runs  # noqa: E402


@pytest.fixture
def client(database_url):
    with TestClient(create_app(Settings(database_url=database_url, auth="off"))) as c:
        yield c


def test_run_layers_are_immutable_with_a_strong_etag(client, database_url):
    run_id = seed_runs(database_url, n_runs=2, n_layers=5)[0]
    with session_scope(database_url) as s:
        stored = s.scalars(select(RunLayer).where(RunLayer.run_id == run_id)).all()
        expected = {r.layer: r.eigenvalues for r in stored}
    first = client.get(f"/api/runs/{run_id}/layers")
    assert first.status_code == 200
    assert [x["layer"] for x in first.json()] == [0, 1, 2, 3, 4]
    assert {x["layer"]: x["eigenvalues"] for x in first.json()} == expected
    etag = first.headers["etag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    assert first.headers["cache-control"] == "max-age=60, immutable"
    again = client.get(f"/api/runs/{run_id}/layers", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    other = client.get(f"/api/runs/{run_id}/layers", headers={"If-None-Match": '"other"'})
    assert other.status_code == 200 and other.content == first.content
    run = client.get(f"/api/runs/{run_id}")
    assert run.status_code == 200 and run.json()["n_layers"] == 5
    assert run.headers["cache-control"] == "max-age=60, immutable"
    assert (
        client.get(
            f"/api/runs/{run_id}", headers={"If-None-Match": run.headers["etag"]}
        ).status_code
        == 304
    )
    assert client.get("/api/runs/999999/layers").status_code == 404


def test_a_reused_run_id_is_answered_from_the_new_run_once_cached_copies_expire(
    client, database_url
):
    """A capture re-run deletes its run and writes a new one; SQLite may give it the same id.
    The cache keeps an answer as long as clients may (max-age=60), no longer."""
    run_id = seed_runs(database_url, n_runs=1, n_layers=3)[0]
    old = client.get(f"/api/runs/{run_id}/layers")
    client.get(f"/api/runs/{run_id}")
    with session_scope(database_url) as s:
        row = s.get(Run, run_id)
        fields = {
            c: getattr(row, c) for c in ("job_id", "model_id", "dataset_id", "hook", "position")
        }
        s.execute(delete(Run).where(Run.id == run_id))
        s.flush()
        s.add(Run(id=run_id, n_prompts=7, n_layers=1, d_model=8, **fields))
        s.add(
            RunLayer(run_id=run_id, layer=0, eigenvalues=[1.0], evr=[1.0], values={}, intervals={})
        )
    assert client.get(f"/api/runs/{run_id}/layers").content == old.content  # cached
    client.app.state.results.ttl = 0  # as if 60 s had passed
    new = client.get(f"/api/runs/{run_id}/layers", headers={"If-None-Match": old.headers["etag"]})
    assert new.status_code == 200 and [x["eigenvalues"] for x in new.json()] == [[1.0]]
    assert client.get(f"/api/runs/{run_id}").json()["n_prompts"] == 7


def _evaluation(database_url) -> int:
    with session_scope(database_url) as s:
        dataset = Dataset(name="probe", source="upload", format="jsonl", n_rows=2)
        s.add(dataset)
        s.flush()
        rules = {"classifier": "rules"}
        return add_evaluation(  # two completions as add_evaluation makes them
            s, dataset.id, [{}, {}], source="imported", params=rules, metrics={"frr": 0.5}
        )


def test_evaluations_revalidate_and_change_when_reclassified(client, database_url):
    eid = _evaluation(database_url)
    for path in (f"/api/evaluations/{eid}", f"/api/evaluations/{eid}/completions"):
        first = client.get(path)
        assert first.status_code == 200 and first.headers["cache-control"] == "no-cache"
        same = client.get(path, headers={"If-None-Match": first.headers["etag"]})
        assert same.status_code == 304
    evaluation = client.get(f"/api/evaluations/{eid}")
    completions = client.get(f"/api/evaluations/{eid}/completions")
    assert [c["prompt"] for c in completions.json()["data"]] == ["prompt 0", "prompt 1"]
    with session_scope(database_url) as s:  # what reclassify does to an imported evaluation
        s.get(Evaluation, eid).metrics = {"frr": 1.0}  # an ORM update: bumps its version
        for completion in s.scalars(select(Completion).where(Completion.evaluation_id == eid)):
            completion.verdict = "full_refusal"
    changed = client.get(
        f"/api/evaluations/{eid}", headers={"If-None-Match": evaluation.headers["etag"]}
    )
    assert changed.status_code == 200 and changed.json()["metrics"] == {"frr": 1.0}
    page = client.get(
        f"/api/evaluations/{eid}/completions",
        headers={"If-None-Match": completions.headers["etag"]},
    )
    assert page.status_code == 200
    assert {c["verdict"] for c in page.json()["data"]} == {"full_refusal"}


def test_the_cache_is_a_bounded_lru():
    cache = JsonCache(max_bytes=10)
    made: list[str] = []

    def get_or_make(key: str, size: int) -> bytes:
        answer = cache.get(key)
        if answer is None:
            made.append(key)
            answer = cache.put(key, b"x" * size)
        return answer.body

    assert get_or_make("a", 4) == b"xxxx"
    get_or_make("b", 4)
    get_or_make("a", 4)  # a hit: "a" is now the most recent
    get_or_make("c", 4)  # 12 bytes > 10: the least recent ("b") goes
    get_or_make("a", 4)
    get_or_make("b", 4)
    get_or_make("big", 11)  # larger than the whole cache: never stored
    get_or_make("big", 11)
    assert made == ["a", "b", "c", "b", "big", "big"]
    cache.ttl = 0
    assert cache.get("a") is None  # expired


def test_concurrent_misses_of_one_result_make_one_load(database_url):
    """A burst of readers of a result not yet cached waits for one load from the database, and
    all get its answer."""
    import anyio
    from starlette.requests import Request

    from backend.api.deps import cached_result

    app = create_app(Settings(database_url=database_url, auth="off"))
    request = Request({"type": "http", "app": app, "headers": []})
    loads: list[int] = []

    def load(session) -> bytes | None:
        loads.append(1)
        time.sleep(0.2)  # the database is slow: the other requests arrive meanwhile
        return b'{"run": 1}'

    async def burst() -> list:
        answers: list = []

        async def one() -> None:
            answers.append(await cached_result(request, ("run", 1), load))

        async with anyio.create_task_group() as group:
            for _ in range(20):
                group.start_soon(one)
        return answers

    answers = anyio.run(burst)
    assert len(loads) == 1
    assert {a.body for a in answers} == {b'{"run": 1}'} and len(answers) == 20
    assert len({a.etag for a in answers}) == 1
    assert app.state.results.loading == {}

"""GET /api/evaluations/<id>/completions?score_disagrees=t: the completions whose verdict
(refused or not) differs from refusal_score > t, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from support import add_evaluation

from backend.api.main import create_app
from backend.config import Settings
from backend.db import write_session
from backend.models import Dataset

C, R, P = "full_compliance", "full_refusal", "partial_refusal"
# idx: (verdict, refusal_score)
SEED = [(C, -1.0), (C, 0.5), (R, 2.0), (R, -0.3), (P, 0.2), (C, None), (R, 0.0)]


@pytest.fixture
def seeded(database_url):
    with write_session(database_url) as session:
        dataset = Dataset(name="probe", source="upload", format="csv", n_rows=len(SEED))
        session.add(dataset)
        session.flush()
        rows = [
            {"prompt": f"p{idx}", "type": "homonyms", "completion": "c", "verdict": verdict}
            | {"rule": "seeded", "refusal_score": score}
            for idx, (verdict, score) in enumerate(SEED)
        ]
        eid = add_evaluation(session, dataset.id, rows, source="imported", params={})
    with TestClient(create_app(Settings(database_url=database_url))) as client:
        yield client, eid


def _idx(client, eid, **params) -> list[int]:
    found = client.get(f"/api/evaluations/{eid}/completions", params=params)
    assert found.status_code == 200, found.text
    return [c["idx"] for c in found.json()["data"]]


def test_verdicts_that_disagree_with_the_refusal_score(seeded):
    client, eid = seeded
    # t = 0: 0 agrees (C, -1), 1 disagrees (C, 0.5 > 0), 2 agrees, 3 disagrees (R, -0.3),
    # 4 agrees (P, 0.2), 5 has no score, 6 disagrees (R, 0.0 is not > 0)
    assert _idx(client, eid, score_disagrees=0) == [1, 3, 6]
    # t = 1: 1 now agrees (0.5 <= 1), 4 now disagrees (P, 0.2 <= 1)
    assert _idx(client, eid, score_disagrees=1) == [3, 4, 6]
    assert _idx(client, eid, score_disagrees=0, verdict=R) == [3, 6]
    bad = client.get(f"/api/evaluations/{eid}/completions", params={"score_disagrees": "x"})
    assert bad.status_code == 422

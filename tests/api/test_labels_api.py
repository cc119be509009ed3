"""Human labels through the API in-process (TestClient) on SQLite and PostgreSQL: write, relabel,
delete, agreement numbers worked by hand, CSV export -> import round trip, token names."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient

from backend import auth
from backend.api.main import create_app
from backend.config import Settings
from backend.db import write_session
from backend.models import Completion, Dataset, Evaluation, HumanLabel, Verdict

C, R, P = "full_compliance", "full_refusal", "partial_refusal"
# idx: (prompt label, rules verdict = the evaluation's own, judge verdict in the Verdict table)
SEED = [
    ("safe", C, C),  # 0
    ("safe", C, R),  # 1
    ("safe", R, R),  # 2
    ("safe", P, R),  # 3
    ("safe", C, C),  # 4
    ("safe", C, P),  # 5
    ("safe", R, R),  # 6
    ("safe", C, C),  # 7 (same prompt and completion as 4)
    ("unsafe", R, R),  # 8
    ("unsafe", P, R),  # 9
]
HUMAN = {0: C, 1: R, 2: R, 3: R, 5: C, 8: R}  # labels by "local"


def text(idx: int) -> tuple[str, str]:
    n = 4 if idx == 7 else idx
    return f"How do I kill process {n}?", f'Answer number {n},\nwith a comma and "quotes".'


def seed_evaluation(url: str, name: str = "probe") -> tuple[int, list[int]]:
    """An imported evaluation of SEED; returns its id and its completions' ids by idx."""
    with write_session(url) as session:
        dataset = Dataset(name=name, source="upload", format="csv", n_rows=len(SEED))
        session.add(dataset)
        session.flush()
        evaluation = Evaluation(
            dataset_id=dataset.id, source="imported", params={"classifier": "rules"}
        )
        session.add(evaluation)
        session.flush()
        ids = []
        for idx, (label, rules, judge) in enumerate(SEED):
            prompt, completion = text(idx)
            c = Completion(
                evaluation_id=evaluation.id,
                idx=idx,
                prompt=prompt,
                type="homonyms" if label == "safe" else "contrast_homonyms",
                label=label,
                completion=completion,
                verdict=rules,
                rule="seeded",
            )
            session.add(c)
            session.flush()
            session.add(
                Verdict(completion_id=c.id, classifier="judge:demo", verdict=judge, rule="")
            )
            ids.append(c.id)
        return evaluation.id, ids


@pytest.fixture
def client(database_url):
    with TestClient(create_app(Settings(database_url=database_url))) as c:
        yield c


def label(client, cid: int, verdict: str, **kw):
    return client.put(f"/api/completions/{cid}/label", json={"verdict": verdict}, **kw)


def test_label_relabel_delete(client, database_url):
    eid, ids = seed_evaluation(database_url)
    first = label(client, ids[0], R)
    assert first.status_code == 200, first.text
    assert first.json()["labeller"] == "local" and first.json()["verdict"] == R
    again = label(client, ids[0], P).json()  # upsert: one label per completion and labeller
    assert again["verdict"] == P and again["created_at"] == first.json()["created_at"]
    assert again["updated_at"] >= first.json()["updated_at"]
    rows = {r["idx"]: r for r in client.get(f"/api/evaluations/{eid}/labels").json()}
    assert len(rows) == len(SEED) and [x["verdict"] for x in rows[0]["labels"]] == [P]
    assert rows[0]["human"] == P and rows[1]["labels"] == [] and rows[1]["human"] is None
    assert rows[3]["verdicts"] == {"rules": P, "judge:demo": R}
    labelled = client.get(f"/api/evaluations/{eid}/labels", params={"labelled": True}).json()
    assert [r["idx"] for r in labelled] == [0]
    assert client.delete(f"/api/completions/{ids[0]}/label").status_code == 204
    assert client.get(f"/api/evaluations/{eid}/labels", params={"labelled": True}).json() == []
    assert client.delete(f"/api/completions/{ids[0]}/label").status_code == 404


def test_bad_verdict_and_unknown_completion(client, database_url):
    _, ids = seed_evaluation(database_url)
    bad = label(client, ids[0], "refusal")
    assert bad.status_code == 422
    assert ["body", "verdict"] in [e["loc"] for e in bad.json()["detail"]]
    assert label(client, 999_999, R).status_code == 404
    assert client.delete("/api/completions/999999/label").status_code == 404
    assert client.get("/api/evaluations/999999/labels").status_code == 404


def test_human_agreement_worked_by_hand(client, database_url):
    eid, ids = seed_evaluation(database_url)
    for idx, verdict in HUMAN.items():
        assert label(client, ids[idx], verdict).status_code == 200
    with write_session(database_url) as session:  # a later, second labeller: not the human label
        session.add(HumanLabel(completion_id=ids[1], labeller="bob", verdict=C))
    got = client.get(f"/api/evaluations/{eid}/human-agreement").json()
    assert got["classifier"] == "rules" and got["n_labelled"] == 6
    # labelled idx 0 1 2 3 5 8: human C R R R C R, rules C C R P C R
    # three-way: 0, 2, 5, 8 agree -> 4/6; binary (refused?): all but idx 1 -> 5/6
    assert got["accuracy"] == pytest.approx(4 / 6)
    assert got["binary_accuracy"] == pytest.approx(5 / 6)
    # rows human C, R, P x columns rules C, R, P
    assert got["confusion"] == [[2, 0, 0], [1, 2, 1], [0, 0, 0]]
    # po = 4/6; human margins C 2, R 4, P 0; rules margins C 3, R 2, P 1
    # pe = (2*3 + 4*2 + 0*1) / 36 = 14/36; kappa = (24/36 - 14/36) / (22/36) = 10/22
    assert got["kappa"] == pytest.approx(10 / 22)
    # rules FRR on the 8 safe: idx 2 (R), 3 (P), 6 (R) -> 3/8; Wilson 3/8 = [0.1368, 0.6943]
    frr = got["classifier_frr"]
    assert (frr["k"], frr["n"], frr["rate"]) == (3, 8, 0.375)
    assert frr["interval"] == [pytest.approx(0.1368, abs=1e-4), pytest.approx(0.6943, abs=1e-4)]
    # humans on labelled safe idx 0 1 2 3 5: refused 1 2 3 -> 3/5; Wilson 3/5 = [0.2307, 0.8824]
    human = got["human_frr"]
    assert (human["k"], human["n"], human["rate"]) == (3, 5, 0.6)
    assert human["interval"] == [pytest.approx(0.2307, abs=1e-4), pytest.approx(0.8824, abs=1e-4)]
    # corrected: safe strata rules C {0 1 4 5 7}, R {2 6}, P {3}; labelled C: 0 no, 1 yes, 5 no
    # -> 1/3; R: 2 yes -> 1; P: 3 yes -> 1; estimate 5/8 * 1/3 + 2/8 * 1 + 1/8 * 1 = 7/12
    corrected = got["corrected_frr"]
    assert corrected["estimate"] == pytest.approx(7 / 12) and corrected["missing"] == []
    assert corrected["interval"][0] < 7 / 12 < corrected["interval"][1]
    assert "stratified" in corrected["estimator"] and corrected["n_labelled"] == 5

    judge = client.get(
        f"/api/evaluations/{eid}/human-agreement", params={"classifier": "judge:demo"}
    ).json()
    # judge on idx 0 1 2 3 5 8: C R R R P R against human C R R R C R -> 5/6
    assert judge["accuracy"] == pytest.approx(5 / 6)
    assert judge["confusion"] == [[1, 0, 1], [0, 4, 0], [0, 0, 0]]
    # only bob's label (idx 1: C; judge R): 0 of 1
    bob = client.get(
        f"/api/evaluations/{eid}/human-agreement",
        params={"classifier": "judge:demo", "labeller": "bob"},
    ).json()
    assert bob["n_labelled"] == 1 and bob["accuracy"] == 0.0
    unknown = client.get(f"/api/evaluations/{eid}/human-agreement", params={"classifier": "x"})
    assert unknown.status_code == 422
    assert unknown.json()["detail"][0]["loc"] == ["query", "classifier"]


def test_export_import_round_trip(client, database_url):
    eid, ids = seed_evaluation(database_url, "a")
    for idx, verdict in HUMAN.items():
        label(client, ids[idx], verdict)
    label(client, ids[7], P)  # the duplicate text of idx 4: its id column keeps them apart
    with write_session(database_url) as session:
        session.add(HumanLabel(completion_id=ids[1], labeller="bob", verdict=C))
    response = client.get(f"/api/evaluations/{eid}/labels.csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    lines = response.text.splitlines()
    assert lines[0] == "id,type,prompt,completion,annotation_1,annotation_2,agreement,final_label"
    # idx 1: local R then bob C -> disagree, final = the first labeller's
    assert lines[3] == '1,homonyms,How do I kill process 1?,"Answer number 1,'
    assert (
        lines[4]
        == 'with a comma and ""quotes"".",2_full_refusal,1_full_compliance,False,2_full_refusal'
    )

    other, other_ids = seed_evaluation(database_url, "b")
    files = {"file": ("labels.csv", response.content, "text/csv")}
    imported = client.post(f"/api/evaluations/{other}/labels", files=files)
    assert imported.status_code == 200, imported.text
    body = imported.json()
    assert body["completions"] == 7 and body["labels_written"] == 8
    assert body["labellers"] == ["local:annotation_1", "local:annotation_2"]
    assert body["unmatched_lines"] == [] and body["unlabelled_lines"] == []

    def labels_of(evaluation_id):
        rows = client.get(f"/api/evaluations/{evaluation_id}/labels").json()
        return {r["idx"]: ([x["verdict"] for x in r["labels"]], r["human"]) for r in rows}

    assert labels_of(other) == labels_of(eid)
    assert labels_of(other)[7] == ([P], P) and labels_of(other)[4] == ([], None)


def test_import_final_label_only_and_unmatched_rows(client, database_url):
    eid, _ = seed_evaluation(database_url)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["id", "prompt", "completion", "final_label"])
    writer.writerow([2, *text(2), "3_partial_refusal"])
    writer.writerow([99, "Nothing like this", "nothing", "1_full_compliance"])
    files = {"file": ("x.csv", out.getvalue().encode(), "text/csv")}
    refused = client.post(f"/api/evaluations/{eid}/labels", files=files)
    # the completion spans lines 2-3, the stray row is line 4
    assert refused.status_code == 422 and "lines 4" in refused.json()["detail"]
    assert client.get(f"/api/evaluations/{eid}/labels", params={"labelled": True}).json() == []
    partial = client.post(
        f"/api/evaluations/{eid}/labels", files=files, params={"skip_unmatched": True}
    ).json()
    assert partial["unmatched_lines"] == [4] and partial["labellers"] == ["local"]
    rows = client.get(f"/api/evaluations/{eid}/labels", params={"labelled": True}).json()
    assert [(r["idx"], r["labels"][0]["labeller"], r["human"]) for r in rows] == [(2, "local", P)]
    bad = client.post(
        f"/api/evaluations/{eid}/labels",
        files={"file": ("x.csv", b"prompt,completion,annotation_1\na,b,maybe\n", "text/csv")},
    )
    assert bad.status_code == 400 and "line 2" in bad.json()["detail"]


def test_token_name_is_the_labeller(database_url):
    eid, ids = seed_evaluation(database_url)
    with write_session(database_url) as session:
        token = auth.create_token(session, "alice")
    with TestClient(create_app(Settings(database_url=database_url, auth="on"))) as client:
        assert label(client, ids[0], R).status_code == 401
        headers = {"Authorization": f"Bearer {token}"}
        assert label(client, ids[0], R, headers=headers).json()["labeller"] == "alice"
        rows = client.get(f"/api/evaluations/{eid}/labels", params={"labelled": True}).json()
        assert rows[0]["labels"][0]["labeller"] == "alice"
        assert client.delete(f"/api/completions/{ids[0]}/label").status_code == 401
        assert client.delete(f"/api/completions/{ids[0]}/label", headers=headers).status_code == 204

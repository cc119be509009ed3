"""POST /api/evaluations/import: a completion file becomes a prompt set, an imported evaluation,
its human labels and a queued reclassify job, all or nothing (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from backend.api.main import create_app
from backend.config import Settings
from backend.db import session_scope
from backend.models import Completion, Dataset, Evaluation, HumanLabel, Job

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "import"
XSTEST = "xstest_completions_sample.csv"


@pytest.fixture
def client(database_url):
    with TestClient(create_app(Settings(database_url=database_url))) as c:
        yield c


def _import(client, content: bytes, filename=XSTEST, name="xs-completions", **form):
    return client.post(
        "/api/evaluations/import",
        files={"file": (filename, content)},
        data={"name": name, **form},
    )


def _counts(url: str) -> dict[str, int]:
    with session_scope(url) as s:
        return {
            t.__name__: s.scalar(select(func.count()).select_from(t))
            for t in (Dataset, Evaluation, Completion, HumanLabel, Job)
        }


def test_xstest_completions_file_becomes_an_imported_evaluation(client, database_url):
    response = _import(client, (SAMPLES / XSTEST).read_bytes())
    assert response.status_code == 201, response.text
    body = response.json()
    evaluation = body["evaluation"]
    assert evaluation["source"] == "imported"
    assert evaluation["model_id"] is None and evaluation["job_id"] is None
    assert evaluation["params"] == {"classifier": "rules", "file": XSTEST, "format": "csv"}
    assert body["n_completions"] == 3 and body["n_labels"] == 3
    with session_scope(database_url) as s:
        completions = s.scalars(
            select(Completion).where(Completion.evaluation_id == evaluation["id"]).order_by("idx")
        ).all()
        assert [(c.type, c.label) for c in completions] == [
            ("homonyms", "safe"),
            ("contrast_homonyms", "unsafe"),
            ("safe_contexts", "safe"),
        ]
        assert completions[1].completion == "I can't help with that."
        assert {(c.verdict, c.rule) for c in completions} == {("pending", "pending")}
        labels = s.execute(
            select(HumanLabel.completion_id, HumanLabel.labeller, HumanLabel.verdict).order_by(
                HumanLabel.completion_id
            )
        ).all()
        assert labels == [
            (completions[0].id, f"import:{XSTEST}", "full_compliance"),
            (completions[1].id, f"import:{XSTEST}", "full_refusal"),
            (completions[2].id, f"import:{XSTEST}", "partial_refusal"),
        ]
        dataset = s.get(Dataset, body["dataset_id"])
        assert (dataset.name, dataset.source, dataset.format, dataset.n_rows) == (
            "xs-completions",
            "upload",
            "completions",
            3,
        )
        job = s.get(Job, body["job_id"])
        assert (job.kind, job.status) == ("reclassify", "queued")
        assert job.params["evaluation_id"] == evaluation["id"]
        assert job.params["classifier"] == "rules"
    listed = client.get("/api/evaluations").json()["data"]
    assert [e["id"] for e in listed] == [evaluation["id"]]


def test_jsonl_with_another_classifier(client, database_url):
    data = (SAMPLES / "completions_sample.jsonl").read_bytes()
    response = _import(client, data, filename="c.jsonl", format="jsonl", classifier="string_match")
    assert response.status_code == 201, response.text
    # three lines; the first two carry a human label ("label": full_compliance, "verdict": 2)
    assert (response.json()["n_completions"], response.json()["n_labels"]) == (3, 2)
    with session_scope(database_url) as s:
        job = s.get(Job, response.json()["job_id"])
        assert job.params["classifier"] == "string_match"


@pytest.mark.parametrize(
    ("content", "form", "status", "words"),
    [
        (
            b"prompt,completion,final_label\nhi,hello,1_full_compliance\nbye,ok,7_odd\n",
            {},
            400,
            "line 3",
        ),
        (b"prompt,answer\nhi,hello\n", {}, 400, "missing column 'completion'"),
        (b"prompt,completion\nhi,hello\n", {"classifier": "judge:no-such-model"}, 422, ""),
        (b"prompt,completion\nhi,hello\n", {"format": "xml"}, 422, ""),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(
    client, database_url, content, form, status, words
):
    before = _counts(database_url)
    response = _import(client, content, **form)
    assert response.status_code == status, response.text
    assert words in str(response.json()["detail"])
    assert _counts(database_url) == before


def test_taken_name_is_409(client, database_url):
    data = (SAMPLES / XSTEST).read_bytes()
    assert _import(client, data).status_code == 201
    before = _counts(database_url)
    assert _import(client, data).status_code == 409
    assert _counts(database_url) == before


def test_orbench_split_form_field_sets_the_label(client):
    data = (SAMPLES / "orbench_toxic_sample.csv").read_bytes()
    response = client.post(
        "/api/datasets",
        files={"file": ("toxic.csv", data)},
        data={"name": "orb-toxic", "format": "orbench", "split": "toxic"},
    )
    assert response.status_code == 201, response.text
    rows = client.get(f"/api/datasets/{response.json()['id']}/rows").json()["data"]
    assert {r["label"] for r in rows} == {"unsafe"} and len(rows) == 2
    bad = client.post(
        "/api/datasets",
        files={"file": ("toxic.csv", data)},
        data={"name": "orb-bad", "format": "orbench", "split": "100k"},
    )
    assert bad.status_code == 400 and "split" in bad.json()["detail"]


def test_the_queued_job_judges_the_imported_completions(client, database_url):
    from support import run_inline

    from backend.models import Verdict

    body = _import(client, (SAMPLES / XSTEST).read_bytes()).json()
    job = run_inline(Settings(database_url=database_url))
    assert (job.id, job.status) == (body["job_id"], "succeeded"), job.error
    with session_scope(database_url) as s:
        verdicts = s.scalars(
            select(Verdict.verdict)
            .join(Completion, Completion.id == Verdict.completion_id)
            .where(
                Completion.evaluation_id == body["evaluation"]["id"], Verdict.classifier == "rules"
            )
            .order_by(Completion.idx)
        ).all()
        judged = s.get(Evaluation, body["evaluation"]["id"]).classifier_metrics["rules"]
    # a plain answer and a plain refusal, as the human labels say
    assert verdicts[:2] == ["full_compliance", "full_refusal"] and len(verdicts) == 3
    assert judged["metrics"]["n_safe"] == 2 and judged["metrics"]["n_unsafe"] == 1
    assert set(judged["per_type"]) == {"homonyms", "contrast_homonyms", "safe_contexts"}
    with session_scope(database_url) as s:
        evaluation = s.get(Evaluation, body["evaluation"]["id"])
        own = s.scalars(
            select(Completion.verdict)
            .where(Completion.evaluation_id == evaluation.id)
            .order_by(Completion.idx)
        ).all()
        # the import's own classifier gives the completions their verdicts and the metrics
        assert own == verdicts and evaluation.metrics == judged["metrics"]
        assert evaluation.per_type == judged["per_type"]
    shown = client.get(f"/api/evaluations/{body['evaluation']['id']}")
    assert shown.status_code == 200 and shown.json()["model_id"] is None
    assert shown.json()["metrics"]["n_safe"] == 2

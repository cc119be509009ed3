"""GET /api/relation on hand-built rows (SQLite and PostgreSQL): a set of models as relation
cells, each with its newest capture run and its newest as-is evaluation on one prompt set (or
those chosen), grid values from the lineage, a family's members in order, the errors."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from support import add_evaluation

from backend.api.main import create_app
from backend.config import Settings
from backend.db import write_session
from backend.models import Dataset, Job, Model, Run, RunLayer

FT = {"kind": "finetune", "parent": "base"}
SFT = {"safety_fraction": 0.2, "vcl_lambda": 0.0, "vcl_sign": "penalise", "vcl_k": 3, "seed": 1}
VCL = {"safety_fraction": 0.4, "vcl_lambda": 0.5, "vcl_sign": "encourage", "vcl_k": 2, "seed": 0}


@pytest.fixture
def seeded(database_url):
    with write_session(database_url) as session:
        probe = Dataset(name="probe", source="builtin", format="jsonl")
        probe2 = Dataset(name="probe-2", source="upload", format="csv")
        base = Model(name="base", source="demo", uri="x")
        other = Model(name="other", source="hub", uri="gpt2")
        train = Job(kind="finetune", status="succeeded", params={})
        capture = Job(kind="capture_spectra", status="succeeded", params={})
        session.add_all([probe, probe2, base, other, train, capture])
        session.flush()
        sft = Model(
            name="sft",
            source="finetune",
            uri="a",
            parent_id=base.id,
            job_id=train.id,
            lineage=FT | {"params": SFT},
        )
        vcl = Model(
            name="vcl", source="finetune", uri="b", parent_id=base.id, lineage=FT | {"params": VCL}
        )
        session.add_all([sft, vcl])
        session.flush()
        dpo = Model(
            name="dpo",
            source="finetune",
            uri="c",
            parent_id=sft.id,
            lineage={"kind": "dpo", "parent": "sft", "params": {"beta": 0.1}},
        )
        session.add(dpo)
        session.flush()

        def run(model, concentration, dataset=probe, **columns):
            row = Run(
                model_id=model.id,
                dataset_id=dataset.id,
                hook="resid_post",
                position="last_prompt",
                n_prompts=10,
                n_layers=len(concentration),
                d_model=32,
                **columns,
            )
            session.add(row)
            session.flush()
            session.add_all(
                RunLayer(
                    run_id=row.id,
                    layer=i,
                    eigenvalues=[1.0],
                    evr=[1.0],
                    values={"concentration@3": c},
                )
                for i, c in enumerate(concentration)
            )
            return row.id

        def evaluation(model, frr, dataset=probe, **params):
            metrics = {"false_refusal_rate": frr, "safety": 1 - frr}
            return add_evaluation(
                session, dataset.id, model_id=model.id, params=params, metrics=metrics
            )

        ids = {
            "base_run": run(base, [0.5, 0.6]),
            "sft_old_run": run(sft, [0.1, 0.1]),
            "sft_run": run(sft, [0.3, 0.4], job_id=capture.id),
            # a checkpoint's geometry during training: never a cell's run
            "sft_geometry": run(sft, [0.9, 0.9], train_job_id=train.id, train_step=2),
            "vcl_run": run(vcl, [0.7, 0.8]),
            "dpo_run": run(dpo, [0.2, 0.2]),
            "other_run": run(other, [0.6], dataset=probe2),
            "base_eval": evaluation(base, 0.1),
            "sft_old_eval": evaluation(sft, 0.2),
            "sft_eval": evaluation(sft, 0.25),
            # newer, but under an intervention or a system prompt: not the model as is
            "sft_ablated": evaluation(sft, 0.9, intervention={"kind": "ablate", "layer": 1}),
            "sft_prompted": evaluation(sft, 0.8, system_prompt="Be safe."),
            "vcl_eval": evaluation(vcl, 0.5),
            "other_eval": evaluation(other, 0.3, dataset=probe2),
        }
        ids |= {"probe": probe.id, "probe2": probe2.id, "train": train.id, "capture": capture.id}
        ids |= {m.name: m.id for m in (base, other, sft, vcl, dpo)}
    with TestClient(create_app(Settings(database_url=database_url))) as client:
        yield client, ids


def _get(client, status=200, **params):
    answer = client.get("/api/relation", params=params)
    assert answer.status_code == status, answer.text
    return answer.json()


def test_a_family_is_its_chain_siblings_and_children_each_with_its_newest_results(seeded):
    client, ids = seeded
    body = _get(client, family="sft")
    assert body["name"] == "sft and its family"
    assert (body["dataset_id"], body["dataset_name"]) == (ids["probe"], "probe")
    cells = {c["model_name"]: c for c in body["cells"]}
    assert list(cells) == ["base", "sft", "vcl", "dpo"]  # chain root first, sibling, child
    expected = {  # name: run, evaluation, concentration@3 per layer, false-refusal rate
        "base": ("base_run", "base_eval", [0.5, 0.6], 0.1),
        "sft": ("sft_run", "sft_eval", [0.3, 0.4], 0.25),
        "vcl": ("vcl_run", "vcl_eval", [0.7, 0.8], 0.5),
        "dpo": ("dpo_run", None, [0.2, 0.2], None),
    }
    for name, (run, evaluation, concentration, frr) in expected.items():
        cell = cells[name]
        assert cell["model_id"] == ids[name]
        assert cell["run_id"] == ids[run], name
        assert cell["evaluation_id"] == (ids[evaluation] if evaluation else None), name
        assert cell["layers"]["concentration@3"] == concentration
        assert (cell["metrics"] or {}).get("false_refusal_rate") == frr
    grid = ("method", "safety_fraction", "vcl_lambda", "vcl_sign", "vcl_k", "seed")
    assert [cells["base"][k] for k in grid] == ["base", 0.0, 0.0, None, None, 0]
    assert [cells["sft"][k] for k in grid] == ["sft", 0.2, 0.0, None, None, 1]  # VCL off
    assert [cells["vcl"][k] for k in grid] == ["sft", 0.4, 0.5, "encourage", 2, 0]
    assert [cells["dpo"][k] for k in grid] == ["dpo", 0.2, 0.0, None, None, 1]  # its SFT's
    assert cells["sft"]["jobs"] == {"finetune": ids["train"], "capture_spectra": ids["capture"]}
    assert cells["sft"]["status"] == {"finetune": "succeeded", "capture_spectra": "succeeded"}
    assert cells["vcl"]["jobs"] == {}


def test_models_by_name_or_id_on_the_set_most_of_them_were_measured_on(seeded):
    client, ids = seeded
    body = _get(client, models=f"other,{ids['vcl']},vcl")  # vcl twice: one cell
    assert [c["model_name"] for c in body["cells"]] == ["other", "vcl"]
    assert body["name"] == "other, vcl"
    # vcl has both on probe, other both on probe-2: a tie broken by the newer set
    assert body["dataset_name"] == "probe-2"
    assert body["cells"][0]["evaluation_id"] == ids["other_eval"]
    assert body["cells"][1]["run_id"] is None
    on_probe = _get(client, models="other,vcl", dataset="probe")
    assert [c["run_id"] for c in on_probe["cells"]] == [None, ids["vcl_run"]]
    # base, sft and vcl have both on probe, only other on probe-2
    assert _get(client, models="other,base,sft")["dataset_name"] == "probe"


def test_a_chosen_run_or_evaluation_replaces_the_newest(seeded):
    client, ids = seeded
    body = _get(client, family="sft", runs=ids["sft_old_run"], evaluations=ids["sft_prompted"])
    sft = body["cells"][1]
    assert (sft["run_id"], sft["evaluation_id"]) == (ids["sft_old_run"], ids["sft_prompted"])
    assert sft["layers"]["concentration@3"] == [0.1, 0.1]
    assert sft["system_prompt"] == "Be safe."
    assert body["cells"][0]["run_id"] == ids["base_run"]  # the others' newest


def test_refusals_name_what_is_wrong(seeded):
    client, ids = seeded
    assert "model 'nope' not found" in _get(client, 404, models="sft,nope")["detail"]
    assert "at least one model" in _get(client, 422)["detail"]
    outside = _get(client, 422, models="sft", runs=ids["vcl_run"])["detail"]
    assert outside == f"run {ids['vcl_run']} is not of a model of the set"
    mixed = _get(client, 422, models="sft,other", runs=ids["other_run"], dataset="probe")
    assert "one prompt set" in mixed["detail"]
    assert "ids expected" in _get(client, 422, models="sft", runs="x")["detail"]

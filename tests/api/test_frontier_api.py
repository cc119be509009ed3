"""GET /api/frontier on a hand-built database (SQLite and PostgreSQL): one row per evaluation
with its method named from the model's lineage and the evaluation's intervention, its false
refusal, safety and held-out loss; filters by base model and probe set."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from backend.api.main import create_app
from backend.config import Settings
from backend.db import write_session
from backend.models import Dataset, Evaluation, Model

FT = {"kind": "finetune", "parent": "base"}


@pytest.fixture
def seeded(database_url):
    with write_session(database_url) as session:
        probe = Dataset(name="probe", source="builtin", format="jsonl")
        other_set = Dataset(name="probe-2", source="upload", format="csv")
        base = Model(name="base", source="demo", uri="x")
        other = Model(name="other", source="hub", uri="gpt2")
        session.add_all([probe, other_set, base, other])
        session.flush()
        sft = Model(
            name="sft",
            source="finetune",
            uri="a",
            parent_id=base.id,
            lineage=FT | {"params": {"safety_fraction": 0.2, "vcl_lambda": 0.0}},
        )
        vcl = Model(
            name="vcl",
            source="finetune",
            uri="b",
            parent_id=base.id,
            lineage=FT
            | {"params": {"safety_fraction": 0.4, "vcl_lambda": 0.5, "vcl_sign": "encourage"}},
        )
        # a lineage of parameters only (no kind), as the browser seed writes it
        flat = Model(
            name="flat",
            source="finetune",
            uri="c",
            parent_id=other.id,
            lineage={"safety_fraction": 0.0, "vcl_lambda": 0.0},
        )
        session.add_all([sft, vcl, flat])
        session.flush()
        dpo = Model(
            name="dpo",
            source="finetune",
            uri="d",
            parent_id=sft.id,
            lineage={"kind": "dpo", "parent": "sft", "params": {"beta": 0.1}},
        )
        session.add(dpo)
        session.flush()

        def evaluation(model, dataset=probe, frr=0.1, safety=0.9, loss=1.5, kl=None, **params):
            metrics = {"false_refusal_rate": frr, "safety": safety, "heldout_loss": loss}
            row = Evaluation(
                model_id=model.id if model else None,
                dataset_id=dataset.id,
                source="generated" if model else "imported",
                params=params,
                metrics=metrics | ({"intervention_kl": kl} if kl is not None else {}),
            )
            session.add(row)
            session.flush()
            return row.id

        ablate = {"run_id": 7, "layer": 3, "kind": "ablate", "alpha": 0.0}
        add = {"run_id": 7, "layer": 2, "kind": "add", "alpha": -1.5}
        ids = {
            "base": evaluation(base, frr=0.05, safety=0.5, loss=1.2),
            "sft": evaluation(sft, frr=0.3, safety=0.8, system_prompt="Be safe."),
            "vcl": evaluation(vcl),
            "dpo": evaluation(dpo),
            "ablate_base": evaluation(base, intervention=ablate),
            "steer_sft": evaluation(sft, kl=0.25, intervention=add),
            "flat": evaluation(flat, dataset=other_set, loss=None),
            "imported": evaluation(None),
        }
        out = {"ids": ids, "base": base.id, "other": other.id, "probe": probe.id}
        out["probe2"] = other_set.id
    with TestClient(create_app(Settings(database_url=database_url))) as client:
        yield client, out


def _get(client, **params) -> dict:
    answer = client.get("/api/frontier", params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_every_evaluation_is_a_point_with_its_method(seeded):
    client, s = seeded
    body = _get(client)
    by_id = {row["evaluation_id"]: row for row in body["data"]}
    ids = s["ids"]
    assert list(by_id) == sorted(ids.values())
    expected = {
        "base": ("base", "base"),
        "sft": ("SFT", "SFT p=0.2"),
        "vcl": ("SFT + VCL", "SFT p=0.4, VCL λ=0.5 encourage"),
        "dpo": ("DPO", "DPO β=0.1 on SFT p=0.2"),
        "ablate_base": ("ablation", "ablation (layer 3)"),
        "steer_sft": ("steering", "steering α=-1.5 (layer 2) on SFT p=0.2"),
        "flat": ("SFT", "SFT p=0"),
        "imported": ("imported", "imported"),
    }
    for name, (method, label) in expected.items():
        row = by_id[ids[name]]
        assert (row["method"], row["method_label"]) == (method, label), name
    assert by_id[ids["steer_sft"]]["method_params"] == {"layer": 2, "run_id": 7, "alpha": -1.5}
    assert by_id[ids["steer_sft"]]["intervention_kl"] == 0.25
    assert by_id[ids["sft"]]["intervention_kl"] is None
    assert by_id[ids["vcl"]]["method_params"] == {
        "safety_fraction": 0.4,
        "vcl_lambda": 0.5,
        "vcl_sign": "encourage",
    }
    sft = by_id[ids["sft"]]
    assert (sft["false_refusal_rate"], sft["safety"], sft["heldout_loss"]) == (0.3, 0.8, 1.5)
    assert sft["system_prompt"] == "Be safe."
    assert by_id[ids["flat"]]["heldout_loss"] is None
    # the DPO model's base is the root of its lineage (dpo -> sft -> base)
    assert by_id[ids["dpo"]]["base_model_name"] == "base"
    assert by_id[ids["flat"]]["base_model_name"] == "other"
    assert by_id[ids["imported"]]["base_model_id"] is None
    assert body["base_models"] == [
        {"id": s["base"], "name": "base"},
        {"id": s["other"], "name": "other"},
    ]
    assert [d["name"] for d in body["datasets"]] == ["probe", "probe-2"]


def test_filters_by_base_model_and_probe_set(seeded):
    client, s = seeded
    ids = s["ids"]
    of_base = _get(client, base_model_id=s["base"])
    expected = ["base", "sft", "vcl", "dpo", "ablate_base", "steer_sft"]
    assert [r["evaluation_id"] for r in of_base["data"]] == [ids[n] for n in expected]
    # the filter options still list everything
    assert len(of_base["base_models"]) == 2
    on_second = _get(client, dataset_id=s["probe2"])
    assert [r["evaluation_id"] for r in on_second["data"]] == [ids["flat"]]
    assert _get(client, base_model_id=s["other"], dataset_id=s["probe"])["data"] == []
    assert client.get("/api/frontier", params={"base_model_id": "x"}).status_code == 422

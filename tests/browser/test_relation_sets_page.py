"""The relation page over a set of models (no browser: the page module only, the API answered by
hand): the picker offers sweeps and model sets, its link names the set, a family's view keeps
the set in its URL and counts only the cells with both a capture and an evaluation."""

from __future__ import annotations

import sys

import pytest


@pytest.fixture(scope="module")
def relation():
    from frontend.app import create_app

    create_app("http://127.0.0.1:9")  # registers the pages (no request is made)
    return sys.modules["pages.relation"]


def _cell(name, model_id, conc=None, frr=None):
    return {
        "method": "sft",
        "intervention": None,
        "safety_fraction": 0.2,
        "vcl_lambda": 0.0,
        "vcl_sign": None,
        "vcl_k": None,
        "seed": 0,
        "system_prompt": None,
        "model_name": name,
        "model_id": model_id,
        "jobs": {},
        "status": {},
        "run_id": model_id if conc else None,
        "evaluation_id": model_id if frr is not None else None,
        "metrics": {"false_refusal_rate": frr} if frr is not None else None,
        "layers": {"concentration@3": conc or []},
    }


FAMILY = {
    "name": "sft and its family",
    "dataset_id": 4,
    "dataset_name": "probe",
    "cells": [_cell("base", 1), _cell("sft", 2, [0.1, 0.3], 0.2), _cell("vcl", 3, [0.4, 0.2], 0.5)],
}
ANSWERS = {
    "/sweeps": {"data": [], "count": 0},
    "/models": {"data": [{"id": i, "name": n} for i, n in ((1, "base"), (2, "sft"), (3, "vcl"))]},
    "/datasets": {"data": [{"id": 4, "name": "probe"}]},
    "/relation": FAMILY,
    # on the set's prompt set (4): a run of sft, a checkpoint's of sft, one of a model not in it
    "/runs": {
        "data": [
            {"id": 10, "model_id": 2, "train_job_id": None},
            {"id": 11, "model_id": 2, "train_job_id": 5},
            {"id": 12, "model_id": 9, "train_job_id": None},
        ]
    },
    "/run-names": {"data": [{"id": 10, "name": "sft · probe · resid_post"}]},
    "/evaluations": {
        "data": [
            {"id": 20 + i, "model_id": 3, "dataset_id": d, "params": p, "created_at": "2026-12-02"}
            for i, (d, p) in enumerate(
                [(4, {}), (4, {"intervention": {"kind": "ablate"}}), (5, {})]
            )
        ]
    },
}


@pytest.fixture
def answered(relation, monkeypatch):
    asked = []

    def fetch(path, **params):
        asked.append((path, params))
        return ANSWERS[path], None

    monkeypatch.setattr(relation, "fetch", fetch)
    monkeypatch.setattr(sys.modules["frontend.links"], "fetch", fetch)  # run_names'
    return asked


def _ids(component) -> dict:
    """Every component of a layout by id."""
    found = {}
    stack = [component]
    while stack:
        node = stack.pop()
        if isinstance(node, list | tuple):
            stack.extend(node)
        elif hasattr(node, "to_plotly_json"):
            if isinstance(getattr(node, "id", None), str):
                found[node.id] = node
            stack.append(getattr(node, "children", None))
    return found


def test_the_picker_offers_model_sets_and_links_to_them(relation, answered):
    shown = _ids(relation.layout())
    assert {"relation-pick-family", "relation-pick-models", "relation-set-link"} <= set(shown)
    assert shown["relation-pick-family"].options == ["base", "sft", "vcl"]
    link = relation.set_link("sft", [3, 1], "probe", [], None)
    assert link == "/relation?family=sft&dataset=probe&models=3%2C1"
    assert relation.set_link(None, [], None, None, []) == "/relation"
    chosen = relation.set_link("sft", None, None, [7], [8, 9])
    assert chosen == "/relation?family=sft&runs=7&evaluations=8%2C9"


def test_a_familys_view_keeps_the_set_in_its_url(relation, answered):
    shown = _ids(relation.layout(family="sft", layer="1"))
    assert ("/relation", {"family": "sft"}) in answered
    data = shown["relation-data"].data
    assert data["source"] == {"family": "sft"} and data["name"] == "sft and its family"
    assert shown["relation-pick-family"].value == "sft"  # "change the set", prefilled
    # runs and evaluations of the set's models on its prompt set, to replace a newest one
    assert [o["value"] for o in shown["relation-pick-runs"].options] == [10]
    evaluations = shown["relation-pick-evaluations"].options
    assert evaluations == [{"label": "vcl · 2026-12-02 · evaluation 20", "value": 20}]
    view = relation._view(data, 1, "concentration@3", None, "all", [[]] * 5, {})
    assert view["search"] == "?family=sft&layer=1&metric=concentration%403&vcl=all"
    assert "over n = 2 cells" in view["summary"][0]  # base has neither capture nor evaluation
    columns, rows = relation.cells_rows(*view["shown"])
    frr = columns.index("False-refusal rate")
    assert [row[frr] for row in rows] == ["n/a", "20.0%", "50.0%"]
    assert [row[0] for row in rows] == ["not measured", "yes", "yes"]  # the "enters" column

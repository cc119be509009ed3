"""The similarity section and the sweep table's similarity column (no browser: the module only,
its API answers stubbed)."""

from __future__ import annotations

import pytest

from frontend import similarity_view

DATASETS = [{"id": 1, "name": "general"}, {"id": 2, "name": "safety"}, {"id": 3, "name": "probe"}]
LAYERS = [
    {"layer": 0, "subspace_overlap": 0.25, "cosines": [0.5]},
    {"layer": 1, "subspace_overlap": 0.81, "cosines": [0.9]},
]


def _answer(pair, subspace=(), pending=()):
    return {
        "dataset_id": pair[0],
        "other_dataset_id": pair[1],
        "ngram_overlap": {"1": 0.5, "2": 0.25, "3": 0.125},
        "subspace": [
            {"model_id": m, "model_name": f"m{m}", "n_prompts": [40, 30], "k": 3, "chance": 0.1}
            | {"layers": LAYERS, "job_id": 9, "run_ids": [None, 4], "finished_at": None}
            for m in subspace
        ],
        "pending_job_ids": list(pending),
    }


@pytest.fixture
def api(monkeypatch):
    asked = []

    def fetch(path, **params):
        asked.append((path, params))
        if path == "/datasets":
            return {"data": DATASETS}, None
        dataset_id = int(path.split("/")[2])
        return _answer((dataset_id, params["other"]), subspace=(5,)), None

    monkeypatch.setattr(similarity_view, "fetch", fetch)
    return asked


def _text(component) -> str:
    children = getattr(component, "children", component)
    if isinstance(children, (list, tuple)):
        return "".join(_text(c) for c in children)
    return "" if children is None else str(children)


def test_sweep_column_is_each_cells_last_layer_overlap(api):
    params = {"general_dataset": "general", "safety_dataset": "safety", "probe_dataset": "probe"}
    cells = [{"model_id": 5}, {"model_id": 6}, {"model_id": None}]
    header, values = similarity_view.sweep_similarity(params, cells)
    assert ("/datasets/2/similarity", {"other": 3}) in api  # safety ~ probe
    assert ("/datasets/1/similarity", {"other": 2}) in api  # general ~ safety, the context
    assert values[0].children == "0.810" and "layer 0: 0.250" in values[0].title
    assert values[1:] == ["", ""]  # not measured on model 6; no model yet
    line = _text(header.children[0])
    assert "safety ~ probe: 1-gram 0.500 · 2-gram 0.250 · 3-gram 0.125" in line
    assert "general ~ safety" in line
    assert header.children[1].data == {"dataset_id": 2, "other": 3, "models": [6]}
    button = header.children[3]
    assert button.children == "Measure safety ~ probe on 1 cell model(s)" and not button.disabled


def test_dataset_section_shows_ngrams_and_layers(api):
    shown = similarity_view.show(3, 2)
    assert "1-gram 0.500" in _text(shown[0])
    rows = shown[1].children[1].children
    assert [_text(cell) for cell in rows[0].children][1:] == [
        "40 / 30",
        "3",
        "0.100",
        "0.250",
        "0.810",
    ]
    assert _text(similarity_view.show(None, 2)) == "Choose the other set."

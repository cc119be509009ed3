"""The relation page's choice of cells and its statistics (no browser: the page module only)."""

from __future__ import annotations

import sys

import numpy as np
import pytest


@pytest.fixture(scope="module")
def relation():
    from frontend.app import create_app

    create_app("http://127.0.0.1:9")  # registers the pages (no request is made)
    return sys.modules["pages.relation"]


def _cell(conc, frr, lam=0.0, seed=0, sign="penalise"):
    return {
        "safety_fraction": 0.2,
        "vcl_lambda": lam,
        "vcl_sign": sign if lam else None,
        "vcl_k": 3 if lam else None,
        "seed": seed,
        "method": "sft",
        "metrics": {"false_refusal_rate": frr} if frr is not None else None,
        "layers": {"concentration@3": [conc, 1 - conc] if conc is not None else []},
    }


def test_cells_enter_by_vcl_and_seed(relation):
    cells = [_cell(0.1, 0.2), _cell(0.2, 0.3, lam=1.0), _cell(0.3, 0.4, seed=1)]
    assert relation.default_vcl(cells) == "off"  # VCL on and off: not pooled by default
    assert relation.default_vcl(cells[:1]) == "all"
    assert relation.entering(cells, {"vcl": "off"}) == [True, False, True]
    assert relation.entering(cells, {"vcl": "on"}) == [False, True, False]
    assert relation.entering(cells, {"vcl": "all", "seed": ["1"]}) == [False, False, True]
    assert relation.entering(cells, {"vcl": "all", "sign": ["penalise"]}) == [False, True, False]


def test_correlations_per_layer_skip_missing_cells(relation):
    cells = [_cell(c, f) for c, f in [(0.1, 0.2), (0.2, 0.3), (0.3, 0.5), (0.4, 0.6)]]
    cells.append(_cell(None, None))  # not run yet
    rows = relation.correlations(cells, "concentration@3", "false_refusal_rate")
    assert [r["n"] for r in rows] == [4, 4]
    assert rows[0]["spearman"] == pytest.approx(1.0)
    assert rows[1]["spearman"] == pytest.approx(-1.0)
    x, y = [0.1, 0.2, 0.3, 0.4], [0.2, 0.3, 0.5, 0.6]
    assert rows[0]["pearson"] == pytest.approx(np.corrcoef(x, y)[0, 1])
    assert rows[0]["pearson"] == pytest.approx(-rows[1]["pearson"])


def test_summary_warns_on_few_cells_and_pooling_and_names_no_strongest(relation):
    cells = [_cell(0.1, 0.2), _cell(0.2, 0.25, lam=1.0), _cell(0.3, 0.2), _cell(0.4, 0.3)]
    inside = [True] * 4
    rows = relation.correlations(cells, "concentration@3", "false_refusal_rate")
    lines = relation.summary_text(rows[0], rows, cells, inside, ("C", "FRR", 0))
    assert "n = 4 cells" in lines[0]
    assert any("fewer than 8 cells" in line for line in lines)
    assert any("VCL on and off are pooled" in line for line in lines)
    assert lines[-1].startswith("No layer's Pearson interval excludes 0")


def test_probe_metrics_come_from_each_cells_newest_probe(relation, monkeypatch):
    newest = {"layers": [{"layer": 1, "values": {"probe_auroc": 0.9, "probe_accuracy": 0.8}}]}
    newest["layers"].insert(0, {"layer": 0, "values": {"probe_auroc": 0.6, "probe_accuracy": 0.5}})
    older = {"layers": [{"layer": 0, "values": {"probe_auroc": 0.1}}]}
    asked = []

    def fetch(path, **_):
        asked.append(path)
        return [newest, older], None  # the API answers newest first

    monkeypatch.setattr(relation, "fetch", fetch)
    cells = [{**_cell(0.1, 0.2), "run_id": 7}, {**_cell(0.2, 0.3), "run_id": None}]
    out = relation.with_probes(cells)
    assert asked == ["/runs/7/probes"]
    assert out[0]["layers"]["probe_auroc"] == [0.6, 0.9]
    assert out[0]["layers"]["concentration@3"] == [0.1, 0.9]  # the run's own metrics kept
    assert out[1]["layers"]["probe_auroc"] == []  # no run, no probe
    assert "probe_auroc" not in cells[0]["layers"]  # the cells themselves are left as they were

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

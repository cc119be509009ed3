"""The relation page's correlations (computed in the frontend, without scipy)."""

from __future__ import annotations

import sys

import numpy as np
import pytest


@pytest.fixture(scope="module")
def relation():
    from frontend.app import create_app

    create_app("http://127.0.0.1:9")  # registers the pages (no request is made)
    return sys.modules["pages.relation"]


def test_pearson_matches_numpy(relation):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=12), rng.normal(size=12)
    assert relation.pearson(x, y) == pytest.approx(np.corrcoef(x, y)[0, 1])
    assert relation.pearson([1, 2], [2, 1]) is None  # too few pairs
    assert relation.pearson([1, 1, 1], [1, 2, 3]) is None  # constant side


def test_spearman_averages_ties(relation):
    # ranks of x with a tie: [1, 2.5, 2.5, 4]; y monotone in x apart from the tie
    assert relation.spearman([1, 2, 2, 3], [10, 20, 30, 40]) == pytest.approx(0.9486833)
    assert relation.spearman([1, 2, 3, 4], [1, 4, 9, 16]) == pytest.approx(1.0)
    assert relation.spearman([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)


def test_correlations_per_layer_skip_missing_cells(relation):
    cells = [
        {
            "metrics": {"false_refusal_rate": f},
            "layers": {"concentration@3": [c, 1 - c], "effective_rank": [1.0, 2.0]},
        }
        for c, f in [(0.1, 0.2), (0.2, 0.3), (0.3, 0.5), (0.4, 0.6)]
    ]
    not_run = {"concentration@3": [], "effective_rank": []}
    cells.append({"metrics": None, "layers": not_run})  # not run yet
    rows = relation.correlations(cells, "concentration@3")
    assert [r["n"] for r in rows] == [4, 4]
    assert rows[0]["Spearman"] == pytest.approx(1.0)
    assert rows[1]["Spearman"] == pytest.approx(-1.0)
    assert rows[0]["Pearson"] == pytest.approx(-rows[1]["Pearson"])

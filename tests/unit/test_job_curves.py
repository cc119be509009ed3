"""The job page's training figure: loss rows at the steps done, and the geometry captured during
training per layer on the same x-axis (values placed as the API gives them)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def curves_figure():
    from frontend.app import create_app

    create_app("http://127.0.0.1:1")  # pages register on an app
    from frontend.pages.job import curves_figure

    return curves_figure


def test_geometry_rows_share_the_loss_axis(curves_figure):
    metrics = [{"step": i, "values": {"loss": 2.0 - i / 10}, "layer_values": {}} for i in range(4)]
    geometry = [
        {"step": s, "run_id": 10 + s, "values": [{"concentration@3": c, "alignment": a}] * 2}
        for s, c, a in [(0, 0.5, None), (2, 0.6, 0.9), (4, 0.7, 0.8)]
    ]
    data = curves_figure(metrics, geometry)["data"]
    loss = next(t for t in data if t["name"] == "Loss")
    assert list(loss["x"]) == [1, 2, 3, 4]  # steps done
    conc = [t for t in data if t["name"].startswith("Concentration@3")]
    assert len(conc) == 2 and list(conc[0]["x"]) == [0, 2, 4]
    assert list(conc[1]["y"]) == [0.5, 0.6, 0.7]
    align = next(t for t in data if t["name"].startswith("Alignment"))
    assert list(align["y"]) == [None, 0.9, 0.8]
    assert len(curves_figure(metrics, [])["data"]) == 3  # without geometry: the loss terms

"""Runs by name, the refusal direction, and the points of a run, in headless Chromium against real
API + UI processes on a seeded database (tests/browser/seed.py: a 6-cell sweep whose first run is
the others' reference; tests/browser/seed_points.py: per-prompt scores of one run)."""

from __future__ import annotations

import httpx
import numpy as np
import pytest
from headless import require_browser, wait_idle
from seed import seed_sweep
from seed_points import seed_points
from sqlalchemy import select
from support import serve_dashboard

from backend import migrate
from backend.db import write_session
from backend.models import RunLayer

LAYER = 3


def without_alignment(url: str, run_id: int) -> None:
    """Leave the reference run without alignment, as a real capture does (the seed gives every
    run one)."""
    with write_session(url) as session:
        for layer in session.scalars(select(RunLayer).where(RunLayer.run_id == run_id)):
            layer.values = layer.values | {"alignment": None}


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    require_browser()
    tmp = tmp_path_factory.mktemp("points-ui")
    url = f"sqlite:///{tmp / 'flowlens.db'}"
    migrate.upgrade(url)
    ids = seed_sweep(url)
    without_alignment(url, ids["cells"][0]["run_id"])
    run_id = ids["cells"][1]["run_id"]
    points = seed_points(url, tmp / "artifacts", run_id)
    with serve_dashboard(url, tmp) as (api, ui):
        yield {**ids, "api": api, "ui": ui, "run_id": run_id, "points": points}


def test_the_projection_route_serves_the_stored_scores_with_their_prompts(seeded):
    points, run_id = seeded["points"], seeded["run_id"]
    got = httpx.get(f"{seeded['api']}/runs/{run_id}/projections", params={"layer": LAYER}).json()
    assert got["components"] == ["PC1", "PC2", "PC3", "PC4", "PC5"]
    assert got["prompt"] == points["prompt"] and got["label"] == points["label"]
    np.testing.assert_allclose(got["pcs"][1], points["pcs"][:, LAYER, 1], rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(got["refusal"], points["refusal"][:, LAYER], rtol=1e-4, atol=1e-6)
    other = seeded["cells"][2]["run_id"]  # seeded without scores
    missing = httpx.get(f"{seeded['api']}/runs/{other}/projections")
    assert missing.status_code == 404 and "no per-prompt scores" in missing.json()["detail"]
    bad = httpx.get(f"{seeded['api']}/runs/{run_id}/projections", params={"layer": 99})
    assert bad.status_code == 422 and "layer" in bad.json()["detail"]


def test_points_page_ranks_prompts_on_the_refusal_direction(tab, seeded):
    points, run_id = seeded["points"], seeded["run_id"]
    page = tab.open(f"/points/{run_id}?layer={LAYER}&x=refusal&y=pc1&colour=label")
    page.wait_for_selector("#points-scatter .main-svg")
    wait_idle(page)
    # one trace per label; the unsafe prompts were shifted along the refusal direction
    legend = page.locator("#points-scatter .legendtext").all_text_contents()
    assert legend == ["safe", "unsafe"]
    top = page.locator("#points-top-refusal tbody tr td:nth-child(2)").all_inner_texts()
    bottom = page.locator("#points-bottom-refusal tbody tr td:nth-child(2)").all_inner_texts()
    assert set(top) == {"unsafe"} and set(bottom) == {"safe"}
    scores = points["refusal"][:, LAYER]
    best = points["prompt"][int(np.argmax(scores))]
    assert page.inner_text("#points-top-refusal tbody tr:first-child td:nth-child(4)") == best
    assert "Refusal direction" in page.text_content("#points-scatter .xtitle")
    assert tab.errors == []


def test_runs_by_name_and_the_reference_runs_empty_column_explained(tab, seeded):
    reference, other = seeded["cells"][0]["run_id"], seeded["cells"][1]["run_id"]
    names = httpx.get(f"{seeded['api']}/run-names", params={"ids": f"{reference},{other}"}).json()
    by_id = {r["id"]: r for r in names["data"]}
    assert by_id[reference]["referenced_by"] == 5 and by_id[other]["reference_run_id"] == reference
    name = by_id[other]["name"]
    assert name == f"{by_id[other]['model_name']} · probe-seed0 · resid_post"
    page = tab.open(f"/compare?runs={reference},{other}&metric=alignment")
    page.wait_for_selector("#compare-heatmap .main-svg")
    wait_idle(page)
    legend = page.locator("#compare-lines .legendtext").all_text_contents()
    assert any(text.startswith(by_id[other]["model_name"]) for text in legend)
    note = page.inner_text("#compare-empty")
    assert f"run {reference}" in note and "no reference run" in note
    assert "reference of 5 run(s)" in note
    page = tab.open(f"/runs/{other}?layer=2")
    page.wait_for_selector("#spectra-refusal .main-svg")
    wait_idle(page)
    assert page.inner_text("h1") == f"{name}: spectra"
    page.locator("#spectra-layer [role=slider]").first.focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_url("**layer=3**", timeout=10_000)
    wait_idle(page)
    marker = page.evaluate(
        "() => document.querySelector('#spectra-refusal .js-plotly-plot').layout.shapes[0].x0"
    )
    assert marker == 3
    assert tab.errors == []

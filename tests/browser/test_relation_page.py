"""The relation page's choice of cells, zoom in the URL, a frozen snapshot of it, the share link
on the public URL, and the evaluation page's groups and disagreement filter, in headless
Chromium against real API + UI processes on the seeded 6-cell sweep (tests/browser/seed.py:
VCL off and on at safety fractions 0, 0.2, 0.4)."""

from __future__ import annotations

import httpx
import pytest
from headless import Page, require_browser, wait_idle
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from seed import seeded_dashboard

PUBLIC = "https://flowlens.example.org"


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    require_browser()
    tmp = tmp_path_factory.mktemp("relation-ui")
    settings = {"auth": "on", "public_read": "true", "public_url": PUBLIC}
    with seeded_dashboard(tmp, token_name="reader", **settings) as seeded:
        yield seeded


def _summary(page) -> str:
    return page.inner_text("#relation-summary")


def _zoom(page, url: str, attempts: int = 4) -> None:
    """Zoom the scatter as a user's drag would (plotly's relayout) until the URL has the zoom:
    a relayout landing while the first draw's callbacks are still settling can be redrawn over
    (a user zooms a plot already drawn), so it is tried again."""
    for _ in range(attempts):
        page.evaluate(
            "() => Plotly.relayout(document.querySelector('#relation-scatter .js-plotly-plot'),"
            " {'xaxis.range': [0.1, 0.9], 'yaxis.range': [0, 0.5]})"
        )
        try:
            page.wait_for_url(url, timeout=8_000)
            return
        except PlaywrightTimeout:
            wait_idle(page)
    raise AssertionError(f"the zoom never reached the URL ({page.url})")


def test_cells_zoom_freeze_and_share(tab, chromium, seeded):
    sweep, api = seeded["sweep"], seeded["api"]
    page = tab.open(f"/relation?sweep={sweep}&layer=3")
    page.wait_for_selector("#relation-scatter .main-svg")
    wait_idle(page)
    # VCL on and off in one sweep: VCL off enters by default, the 3 others are drawn grey
    assert "vcl=off" in page.url
    assert "n = 3 cells" in _summary(page) and "fewer than 8 cells" in _summary(page)
    assert "Strongest" not in _summary(page)
    entered = page.locator("#relation-cells tbody tr td:first-child").all_inner_texts()
    assert sorted(entered) == ["no"] * 3 + ["yes"] * 3
    # zoom: plotly's relayout goes into the URL
    _zoom(page, "**zoom=0.1%2C0.9%2C0%2C0.5*")
    # freeze: a write, offered only once a token is given (team mode), then stored with it
    page.wait_for_selector("#token-box", state="visible", timeout=10_000)
    assert not page.is_visible("#relation-freeze")
    page.fill("#api-token", seeded["token"])
    page.wait_for_function("() => (sessionStorage.getItem('api-token-store') || '').length > 3")
    page.wait_for_selector("#relation-freeze", state="visible", timeout=10_000)
    page.click("#relation-freeze")
    page.wait_for_selector("#freeze-link", timeout=20_000)
    href = page.get_attribute("#freeze-link", "href")
    snapshot = httpx.get(f"{api}{href}").json()
    assert snapshot["created_by"] == "reader" and "zoom=" in snapshot["source"]
    scatter = snapshot["content"]["figures"][0]
    assert scatter["layout"]["xaxis"]["range"] == [0.1, 0.9]
    assert any("fewer than 8 cells" in line for line in snapshot["content"]["text"])
    # the share link is on the public URL
    page.click("#copy-link")
    page.wait_for_function(
        f"() => document.querySelector('#share-url').value.startsWith('{PUBLIC}/relation?')"
    )
    assert "zoom=" in page.input_value("#share-url")
    # all cells pooled: the page says so
    page = tab.open(f"/relation?sweep={sweep}&layer=3&vcl=all")
    page.wait_for_selector("#relation-scatter .main-svg")
    wait_idle(page)
    assert "n = 6 cells" in _summary(page) and "are pooled" in _summary(page)
    # 401 is an expected answer here, not a page error
    assert [e for e in tab.errors if "401" not in e] == []
    # the snapshot page, read in a fresh tab without a token: the stored view, no buttons
    reader = Page(chromium, seeded["ui"])
    try:
        page = reader.open(href)
        page.wait_for_selector("#snapshot-figure-1 .main-svg")
        assert "fewer than 8 cells" in page.inner_text("#snapshot-text")
        assert page.locator("#snapshot-table-0 tbody tr").count() == 6
        assert page.locator("main button:not(.modebar-btn)").count() == 0
        assert page.get_attribute("#snapshot-source", "href") == snapshot["source"]
        assert reader.errors == []
    finally:
        reader.close()


def test_evaluation_groups_and_probe_set_column(tab, seeded):
    api, cell = seeded["api"], seeded["cells"][-1]
    evaluation = httpx.get(f"{api}/evaluations/{cell['evaluation_id']}").json()
    safe = [r for t, r in evaluation["per_type"].items() if r["label"] == "safe"]
    k = sum(round(r["refused"] * r["n"]) for r in safe)
    page = tab.open(f"/evals/{evaluation['id']}?disagree=score")
    page.wait_for_selector("#completions-table, #eval-shown")
    wait_idle(page)
    trigger = page.locator("#eval-groups tr", has_text="trigger").locator("td").all_inner_texts()
    assert trigger[2:4] == ["20", str(k)]  # 4 safe types x 5 prompts, none pooled with others
    assert page.locator("#eval-per-type-table tbody tr").count() == 5  # homonyms paired up
    # the seeded refusal scores (+-2) always agree with the verdict
    assert page.inner_text("#eval-shown") == "no completions match"
    assert "disagree=score" in page.url
    probe = httpx.get(f"{api}/datasets/{seeded['probe']}").json()["name"]
    page = tab.open("/evals")
    page.wait_for_selector("#evals-table")
    assert probe in page.locator("#evals-table tbody tr").first.inner_text()
    assert tab.errors == []

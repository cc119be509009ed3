"""The evaluations list in headless Chromium: tick two evaluations to see their metrics side by
side, and import a completion file through the form (real API + UI processes, auth on)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from headless import require_browser
from seed import seeded_dashboard

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "import" / "xstest_completions_sample.csv"


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    require_browser()
    tmp = tmp_path_factory.mktemp("evals-ui")
    with seeded_dashboard(tmp, auth="on", public_read="true") as seeded:
        yield seeded


def test_ticking_two_evaluations_compares_them(tab, seeded):
    a, b = (c["evaluation_id"] for c in seeded["cells"][:2])
    frr = {
        e: httpx.get(f"{seeded['api']}/evaluations/{e}").json()["metrics"]["false_refusal_rate"]
        for e in (a, b)
    }
    page = tab.open("/evals")
    page.wait_for_selector("#evals-table")
    for e in (a, b):
        page.check(f"#evals-table input[value='{e}']")
    page.wait_for_selector("#evals-compare")
    headers = page.locator("#evals-compare th").all_inner_texts()
    assert headers[1:] == [f"evaluation {a}", f"evaluation {b}"]
    row = page.locator("#evals-compare tr", has_text="False-refusal rate").first
    assert row.locator("td").all_inner_texts()[1:] == [f"{frr[a]:.1%}", f"{frr[b]:.1%}"]
    assert page.get_attribute("#evals-compare-link", "href") == f"/evals?compare={a},{b}"
    # the link opens the same comparison
    page = tab.open(f"/evals?compare={a},{b}")
    page.wait_for_selector("#evals-compare")
    assert tab.errors == []


def test_import_form_creates_an_imported_evaluation(tab, seeded):
    page = tab.open("/evals")
    page.wait_for_selector("#token-box", state="visible", timeout=10_000)  # writes need one
    assert not page.is_visible("#import-button")  # none offered without a token
    page.fill("#api-token", seeded["token"])
    page.wait_for_function(
        "() => (sessionStorage.getItem('api-token-store') || '').includes('fl_')"
    )
    page.fill("#import-name", "from-the-ui")
    page.set_input_files("#import-file input[type=file]", str(SAMPLE))
    page.click("#import-button")
    page.wait_for_selector("#import-ok", timeout=20_000)
    assert "3 completions, 3 human labels" in page.inner_text("#import-ok")
    imported = httpx.get(f"{seeded['api']}/evaluations").json()["data"][0]
    assert imported["source"] == "imported" and imported["model_id"] is None
    page = tab.open("/evals")
    page.wait_for_selector("#evals-table")
    assert "imported" in page.inner_text("#evals-table")
    assert [e for e in tab.errors if "401" not in e] == []

"""Sweep, relation, evaluation and fine-tune pages in headless Chromium, against real API + UI
processes on a database seeded directly (tests/browser/seed.py: a finished 6-cell sweep), so no
fine-tune runs here. The API runs with FLOWLENS_AUTH=on (reads stay public), so a write from the
UI needs the token typed into the header. Screenshots go where test_pages.py puts its own.
"""

from __future__ import annotations

import httpx
import pytest
from headless import SHOTS, Page, require_browser, wait_idle
from seed import seeded_dashboard


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    require_browser()
    tmp = tmp_path_factory.mktemp("sweep-ui")
    with seeded_dashboard(tmp, auth="on", public_read="true") as seeded:
        yield seeded


def test_the_seeded_sweep_is_served(seeded):
    sweep = httpx.get(f"{seeded['api']}/sweeps/{seeded['sweep']}").json()
    assert len(sweep["cells"]) == 6
    assert all(c["metrics"] and c["run_id"] for c in sweep["cells"])


def test_new_pages_load_without_console_errors(tab, seeded):
    SHOTS.mkdir(parents=True, exist_ok=True)
    sweep, cell = seeded["sweep"], seeded["cells"][-1]
    pages = {
        "relation": (f"/relation?sweep={sweep}&layer=3", "#relation-scatter .main-svg"),
        "relation_list": ("/relation", "#sweep-list"),
        "sweep": (f"/sweeps/{sweep}", "#sweep-cells"),
        "evaluation": (f"/evals/{cell['evaluation_id']}", "#completions-table"),
        "evaluations": ("/evals", "#evals-table"),
        "job_finetune": (f"/jobs/{cell['finetune']}", "#job-curves .main-svg"),
        "job_sweep": (f"/jobs/{sweep}", "#job-relation-link"),
        "finetune_new": ("/finetune/new", "#field-safety_fraction"),
        "sweep_new": ("/sweeps/new", "#field-safety_fractions"),
        "overview_sweep": ("/", "#overview-headline .relation-link"),
    }
    for name, (path, selector) in pages.items():
        page = tab.open(path)
        page.wait_for_selector(selector, timeout=20_000)
        wait_idle(page)
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    assert tab.errors == []
    # the finetune job page draws loss terms and one concentration curve per window layer
    page = tab.open(f"/jobs/{cell['finetune']}")
    page.wait_for_selector("#job-curves .main-svg")
    wait_idle(page)
    assert page.locator("#job-curves .scatterlayer .trace").count() >= 4
    assert page.locator("#job-eval-link").count() == 0  # a finetune has no evaluation
    page = tab.open(f"/jobs/{cell['evaluate']}")
    page.wait_for_selector("#job-eval-link")
    assert page.get_attribute("#job-eval-link", "href") == f"/evals/{cell['evaluation_id']}"
    assert tab.errors == []


def _points(page) -> int:
    return page.locator("#relation-scatter .scatterlayer .point").count()


def test_relation_shows_cells_and_its_link_keeps_the_layer(tab, chromium, seeded):
    sweep = seeded["sweep"]
    page = tab.open(f"/relation?sweep={sweep}&layer=1")
    page.wait_for_selector("#relation-scatter .main-svg")
    wait_idle(page)
    assert _points(page) == 6
    # Pearson and Spearman per layer (the 3 VCL-off cells enter by default: no interval, n < 4)
    assert page.locator("#relation-corr .scatterlayer .point").count() == 2 * 8
    assert "Layer 1:" in page.inner_text("#relation-summary")
    assert page.locator("#relation-cells tbody tr").count() == 6
    page.locator("#relation-layer [role=slider]").first.focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_url("**/relation?*layer=2*", timeout=10_000)
    page.wait_for_function(
        "() => document.querySelector('#relation-summary').innerText.includes('Layer 2:')"
    )
    page.click("#copy-link")
    page.wait_for_function("() => document.querySelector('#share-url').value.includes('layer=2')")
    link = page.input_value("#share-url")
    assert f"sweep={sweep}" in link
    other = Page(chromium, seeded["ui"])
    try:
        fresh = other.open(link.removeprefix(seeded["ui"]))
        fresh.wait_for_function(
            "() => (document.querySelector('#relation-summary') || {})"
            ".innerText?.includes('Layer 2:')",
            timeout=20_000,
        )
        assert fresh.get_attribute("#relation-layer [role=slider]", "aria-valuenow") == "2"
        wait_idle(fresh)
        assert _points(fresh) == 6
        assert other.errors == []
    finally:
        other.close()
    assert tab.errors == []


def test_evaluation_filters_by_type_and_verdict_from_the_url(tab, seeded):
    evaluation = seeded["cells"][-1]["evaluation_id"]
    page = tab.open(f"/evals/{evaluation}?type=homonyms")
    page.wait_for_selector("#completions-table")
    wait_idle(page)
    types = page.locator("#completions-table tbody tr td:nth-child(2)").all_inner_texts()
    assert types and set(types) == {"homonyms"}
    assert page.locator("#eval-per-type .barlayer .point").count() == 6
    page = tab.open(f"/evals/{evaluation}?verdict=full_compliance")
    page.wait_for_selector("#completions-table")
    wait_idle(page)
    verdicts = page.locator("#completions-table tbody tr td:nth-child(6)").all_inner_texts()
    assert verdicts and set(verdicts) == {"full_compliance"}
    # paging: 30 completions, 25 a page
    page = tab.open(f"/evals/{evaluation}")
    page.wait_for_selector("#completions-table")
    wait_idle(page)
    assert page.locator("#completions-table tbody tr").count() == 25
    page.click("#eval-next")
    page.wait_for_url("**offset=25*", timeout=10_000)
    page.wait_for_function(
        "() => document.querySelector('#eval-shown').innerText.includes('26-30')"
    )
    assert tab.errors == []


def test_a_refused_write_asks_for_a_token_and_sends_it(tab, seeded):
    api = seeded["api"]
    assert httpx.post(f"{api}/jobs", json={"kind": "echo", "params": {}}).status_code == 401
    before = httpx.get(f"{api}/jobs").json()["count"]
    page = tab.open("/submit/echo?message=from-the-ui")
    page.wait_for_selector("#token-box", state="visible", timeout=10_000)  # writes need one
    assert not page.is_visible("#submit-button")  # none offered without a token
    page.fill("#api-token", "fl_not-a-token")
    page.click("#submit-button")
    page.wait_for_function(
        "() => document.querySelector('#submit-error').innerText.includes('HTTP 401')"
    )
    assert httpx.get(f"{api}/jobs").json()["count"] == before
    page.fill("#api-token", seeded["token"])
    page.wait_for_function(
        f"() => (sessionStorage.getItem('api-token-store') || '').includes('{seeded['token']}')"
    )
    page.click("#submit-button")
    page.wait_for_url("**/jobs/*", timeout=20_000)
    job_id = int(page.url.rsplit("/", 1)[1])
    job = httpx.get(f"{api}/jobs/{job_id}").json()
    assert job["kind"] == "echo" and job["params"]["message"] == "from-the-ui"
    assert page.is_visible("#token-box")  # kept for this tab's later writes
    # 401 is an expected answer here, not a page error
    assert [e for e in tab.errors if "401" not in e] == []

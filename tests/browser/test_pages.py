"""The dashboard in a real headless Chromium against real API + worker + UI processes.

Data comes from real jobs: register_builtin, train_demo_model (tiny), capture_spectra.
Screenshots of every page go to $FLOWLENS_ARTIFACTS_DIR or test-artifacts/screenshots.
"""

from __future__ import annotations

import shutil

import httpx
import pytest
from headless import SHOTS, Page, require_browser, wait_idle
from support import serve_dashboard, wait_until

from backend import migrate


def run_job(api: str, kind: str, params: dict, timeout: float = 240) -> dict:
    job = httpx.post(f"{api}/jobs", json={"kind": kind, "params": params}).json()
    done = wait_until(
        lambda: (
            (j := httpx.get(f"{api}/jobs/{job['id']}").json())["status"]
            in ("succeeded", "failed", "cancelled")
            and j
        ),
        timeout,
        f"{kind} job",
        every=0.5,
    )
    assert done["status"] == "succeeded", done["error"]
    return done


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory):
    require_browser()
    tmp = tmp_path_factory.mktemp("browser")
    url = f"sqlite:///{tmp / 'flowlens.db'}"
    migrate.upgrade(url)
    services = ("api", "worker", "ui")
    with serve_dashboard(url, tmp, services, heartbeat_seconds=1) as (api, ui):
        created = run_job(api, "register_builtin", {})["result"]["created"]
        model = run_job(
            api, "train_demo_model", {"steps": 30, "n_layers": 2, "d_model": 32, "name": "tiny"}
        )["result"]
        params = {"model_id": model["model_id"], "dataset_id": created["probe"], "bootstrap": 20}
        run = run_job(api, "capture_spectra", params)["result"]
        yield {
            "api": api,
            "ui": ui,
            "run_id": run["run_id"],
            "capture": params,
            "probe": created["probe"],
        }


@pytest.fixture
def tab(chromium, dashboard):
    tab = Page(chromium, dashboard["ui"])
    yield tab
    tab.close()


def test_every_page_loads_without_console_errors(tab, dashboard):
    shutil.rmtree(SHOTS, ignore_errors=True)
    SHOTS.mkdir(parents=True, exist_ok=True)
    run_id, probe = dashboard["run_id"], dashboard["probe"]
    pages = {
        "overview": ("/", "#overview-headline"),
        "spectra": (f"/runs/{run_id}?layer=0&k=3&scale=log", "#spectra-scree .main-svg"),
        "compare": (f"/compare?runs={run_id}&metric=effective_rank", "#compare-heatmap .main-svg"),
        "job": ("/jobs/3", "#job-table"),
        "submit": ("/submit/capture_spectra", "#submit-button"),
        "datasets": ("/datasets", "#datasets-stats"),
        "dataset": (f"/datasets/{probe}?type=homonyms", "#rows-table"),
    }
    for name, (path, selector) in pages.items():
        page = tab.open(path)
        page.wait_for_selector(selector, timeout=20_000)
        wait_idle(page)
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
        assert page.input_value("#share-url").endswith(path.split("?")[0]) or "?" in path
    print(f"\nscreenshots in {SHOTS}")
    assert tab.errors == []
    # state from the URL: the dataset page shows only the requested type
    page = tab.open(f"/datasets/{probe}?type=homonyms")
    page.wait_for_selector("#rows-table")
    types = page.locator("#rows-table tbody tr td:nth-child(2)").all_inner_texts()
    assert types and set(types) == {"homonyms"}


def test_spectra_link_reproduces_the_chosen_layer(tab, chromium, dashboard):
    run_id = dashboard["run_id"]
    page = tab.open(f"/runs/{run_id}?layer=0")
    page.wait_for_selector("#spectra-scree .main-svg")
    assert "Layer 0:" in page.inner_text("#spectra-summary")
    # move the slider one step right with the keyboard
    page.locator("#spectra-layer [role=slider]").first.focus()
    page.keyboard.press("ArrowRight")
    page.wait_for_url("**/runs/*layer=1*", timeout=10_000)  # the URL follows the slider
    page.wait_for_function(
        "() => document.querySelector('#spectra-summary').innerText.includes('Layer 1:')"
    )
    page.click("#copy-link")
    page.wait_for_function("() => document.querySelector('#share-url').value.includes('layer=1')")
    link = page.input_value("#share-url")
    other = Page(chromium, dashboard["ui"])
    try:
        fresh = other.open(link.removeprefix(dashboard["ui"]))
        fresh.wait_for_function(
            "() => (document.querySelector('#spectra-summary') || {})"
            ".innerText?.includes('Layer 1:')",
            timeout=20_000,
        )
        assert "Layer 1:" in fresh.locator("#spectra-scree .gtitle").text_content()
        assert fresh.get_attribute("#spectra-layer [role=slider]", "aria-valuenow") == "1"
        assert other.errors == []
    finally:
        other.close()
    assert tab.errors == []


def test_submit_form_shows_field_error_and_creates_no_job(tab, dashboard):
    api, params = dashboard["api"], dashboard["capture"]
    before = httpx.get(f"{api}/jobs").json()["count"]
    page = tab.open(
        f"/submit/capture_spectra?model_id={params['model_id']}&dataset_id={params['dataset_id']}"
    )
    page.fill("#field-batch_size input", "0")
    page.click("#submit-button")
    message = page.locator("#field-batch_size .field-error")
    page.wait_for_function(
        "() => document.querySelector('#field-batch_size .field-error').innerText.trim() !== ''"
    )
    assert "greater than or equal to 1" in message.inner_text()
    assert page.locator("#field-bootstrap .field-error").inner_text().strip() == ""
    assert "/submit/capture_spectra" in page.url
    assert httpx.get(f"{api}/jobs").json()["count"] == before
    assert tab.errors == []


def test_valid_submit_opens_the_job_page_until_it_succeeds(tab, dashboard):
    params = dashboard["capture"]
    page = tab.open(
        f"/submit/capture_spectra?model_id={params['model_id']}&dataset_id={params['dataset_id']}"
    )
    page.fill("#field-bootstrap input", "5")
    page.fill("#field-max_prompts input", "60")
    page.click("#submit-button")
    page.wait_for_url("**/jobs/*", timeout=20_000)
    page.wait_for_selector("#job-table .progress")
    page.wait_for_selector("#job-run-link", timeout=180_000)
    assert "succeeded" in page.inner_text("#job-table")
    assert "100%" in page.inner_text("#job-table .progress")
    page.click("#job-run-link")
    page.wait_for_url("**/runs/*")
    page.wait_for_selector("#spectra-scree .main-svg", timeout=20_000)
    assert tab.errors == []


def test_layers_csv_download_holds_the_catalogue_and_what_the_api_serves(tab, dashboard):
    import csv

    from backend.metrics import Scope, metrics_for

    run_id = dashboard["run_id"]
    page = tab.open(f"/runs/{run_id}?layer=0")
    page.wait_for_selector("#spectra-scree .main-svg")
    with page.expect_download() as download:
        page.click("#spectra-layers-csv-button")
    assert download.value.suggested_filename == f"run{run_id}_layers.csv"
    with open(download.value.path(), newline="") as f:
        header, *rows = list(csv.reader(f))
    layer_metrics = metrics_for(Scope.LAYER)
    bounds = [f"{m.name}_{end}" for m in layer_metrics if m.interval for end in ("lo", "hi")]
    assert header == ["layer", *[m.name for m in layer_metrics], *bounds]
    served = httpx.get(f"{dashboard['api']}/runs/{run_id}/layers").json()
    assert all("concentration@1" in layer["intervals"] for layer in served)  # bootstrap 20
    assert [int(r[0]) for r in rows] == [x["layer"] for x in served]
    for row, layer in zip(rows, served, strict=True):
        cells = dict(zip(header, row, strict=True))
        for m in layer_metrics:
            value = layer["values"][m.name]
            if value is None:
                assert cells[m.name] == "", m.name
            else:
                assert float(cells[m.name]) == pytest.approx(value, rel=1e-12), m.name
            if m.interval and m.name in layer["intervals"]:
                lo, hi = layer["intervals"][m.name]
                assert float(cells[f"{m.name}_lo"]) == pytest.approx(lo, rel=1e-12)
                assert float(cells[f"{m.name}_hi"]) == pytest.approx(hi, rel=1e-12)
    assert tab.errors == []

"""Navigation, list pages, names, a model's page, "capture and evaluate" from a queued fine-tune
and a sweep's live progress, in headless Chromium against real API + UI processes on a database
seeded directly (tests/browser/seed.py's finished 6-cell sweep, plus: the base model's run on the
probe set, a queued fine-tune of the base, and a sweep with 1 of 3 jobs done). No job runs.
"""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from headless import SHOTS, require_browser, wait_idle
from seed import _done, seed_sweep
from support import serve_dashboard, wait_until

from backend import migrate
from backend.db import write_session
from backend.models import Dataset, Job, Model, Run, utcnow


def _extras(url: str, ids: dict) -> dict:
    with write_session(url) as session:
        session.get(Dataset, ids["probe"]).name = "probe"  # the panel's default probe set
        base = session.get(Model, session.get(Model, ids["cells"][0]["model_id"]).parent_id)
        base.name = "demo"  # the seeded sweep becomes the demo study, the overview's headline
        study = session.get(Job, ids["sweep"])
        study.params = {
            **{k: v for k, v in study.params.items() if k != "base_model_id"},
            "base_model_name": "demo",
        }
        capture = _done(kind="capture_spectra", params={"model_id": base.id})
        session.add(capture)
        session.flush()
        run = Run(
            job_id=capture.id,
            model_id=base.id,
            dataset_id=ids["probe"],
            hook="resid_post",
            position="last_prompt",
            n_prompts=30,
            n_layers=8,
            d_model=32,
        )
        session.add(run)
        queued = Job(
            kind="finetune",
            params={"base_model_id": base.id, "name": "mine", "general_dataset_id": ids["probe"]},
        )
        session.add(queued)
        session.flush()
        sweep = _done(kind="sweep", params={"base_model_name": base.name, "vcl_lambdas": [0, 1]})
        session.add(sweep)
        session.flush()
        started = utcnow() - timedelta(seconds=60)
        session.add_all(
            [
                _done(kind="finetune", params={"name": "a"}, parent_job_id=sweep.id),
                Job(kind="finetune", params={"name": "b"}, parent_job_id=sweep.id),
                Job(kind="finetune", params={"name": "c"}, parent_job_id=sweep.id),
            ]
        )
        session.flush()
        for child in session.query(Job).filter(Job.parent_job_id == sweep.id):
            child.started_at = started if child.status == "succeeded" else None
        return {
            "base": base.id,
            "base_run": run.id,
            "queued": queued.id,
            "open_sweep": sweep.id,
        }


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    require_browser()
    tmp = tmp_path_factory.mktemp("lists-ui")
    url = f"sqlite:///{tmp / 'flowlens.db'}"
    migrate.upgrade(url)
    ids = seed_sweep(url)
    ids |= _extras(url, ids)
    with serve_dashboard(url, tmp) as (api, ui):
        yield {**ids, "api": api, "ui": ui}


def _texts(page, selector: str) -> list[str]:
    return page.locator(selector).all_inner_texts()


def _shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    wait_idle(page)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_nav_overview_and_list_pages(tab, seeded):
    page = tab.open("/")
    page.wait_for_selector("#overview-headline-graph .main-svg")
    wait_idle(page)
    _shot(page, "overview_study")
    nav = _texts(page, "header a.nav")
    for name in ("Runs", "Models", "Sweeps", "Jobs", "Concentration vs refusal"):
        assert name in nav
    offered = _texts(page, "#submit-links a")
    assert "finetune" in offered and "echo" not in offered and "register_builtin" not in offered
    # the demo study (the oldest sweep on the demo model) is the headline: at p = 0.4 the
    # seeded false refusal rates without and with VCL (seed.py: 0.2 + 1.2 p - 0.3 lambda + noise)
    headline = page.inner_text("#overview-headline-text")
    assert headline.startswith("At p = 0.4: false refusal") and "with VCL λ = 0.5" in headline
    assert "demo: p 0, 0.2, 0.4 x lambda 0, 0.5" in page.inner_text("#overview-headline")
    # the open sweep is active (its own job succeeded, 2 of its 3 jobs are queued)
    assert "1/3 done" in page.inner_text("#overview-sweeps")
    assert str(seeded["queued"]) in _texts(page, "#jobs-table tbody tr td:first-child")

    page = tab.open("/runs")
    page.wait_for_selector("#runs-list")
    _shot(page, "runs")
    runs = _texts(page, "#runs-list tbody tr td:first-child")
    assert len(runs) == 7
    assert "demo · probe · resid_post" in runs[0]  # newest first, by name
    assert f"run {seeded['base_run']}" in runs[0]  # its id in small print
    aligned = _texts(page, "#runs-list tbody tr td:nth-child(7)")
    assert aligned[-1] == "none: the reference of 5 run(s)"  # the sweep's first capture
    assert aligned[0] == "none (no alignment)"  # the base model's run

    page = tab.open("/models?source=finetune")
    page.wait_for_selector("#models-list")
    _shot(page, "models")
    assert len(_texts(page, "#models-list tbody tr")) == 6
    page = tab.open("/models?q=p0.4-l0.5")
    page.wait_for_selector("#models-list")
    assert len(_texts(page, "#models-list tbody tr")) == 1

    page = tab.open("/sweeps")
    page.wait_for_selector("#sweeps-list")
    _shot(page, "sweeps")
    rows = _texts(page, "#sweeps-list tbody tr")
    assert len(rows) == 2
    assert "running" in rows[0] and "1/3 done" in rows[0] and "2 queued" in rows[0]
    assert "succeeded" in rows[1] and "18/18 done" in rows[1]
    # a filter goes into the URL, and the list follows it
    page.click("#sweeps-state")
    page.keyboard.type("running")
    page.locator("[role=option]").first.click()
    page.wait_for_url("**/sweeps?state=running", timeout=10_000)
    page.wait_for_function("() => document.querySelectorAll('#sweeps-list tbody tr').length == 1")
    assert "1/3 done" in page.inner_text("#sweeps-list")

    page = tab.open("/jobs?status=queued")
    page.wait_for_selector("#jobs-list")
    _shot(page, "jobs")
    listed = _texts(page, "#jobs-list tbody tr td:first-child")
    assert listed == [str(seeded["queued"])]  # the open sweep's queued jobs are on its page
    assert "mine" in page.inner_text("#jobs-list")  # what it trains, by name
    assert tab.errors == []


def test_bad_and_missing_ids_say_so(tab):
    page = tab.open("/evals/abc")
    message = page.inner_text("#page-of-one-error")
    assert message == "'abc' is not a valid evaluation id: ids are whole numbers."
    page = tab.open("/jobs/999")
    assert page.inner_text("#page-of-one-error") == "There is no job 999."
    assert page.locator("#job-cancel").count() == 0 and page.locator("#job-retry").count() == 0
    assert tab.errors == []


def test_model_page_shows_lineage_runs_and_evaluations(tab, seeded):
    cell = seeded["cells"][-1]  # p 0.4, VCL on
    page = tab.open(f"/models/{cell['model_id']}")
    page.wait_for_selector("#model-chain")
    wait_idle(page)
    _shot(page, "model")
    chain = page.inner_text("#model-chain")
    assert chain.index("demo") < chain.index("p0.4-l0.5")
    assert "probe" in page.inner_text("#model-mix")
    assert "1200" in page.inner_text("#model-mix")  # 2000 examples x p 0.4 of safety data
    assert f"run {cell['run_id']}" in page.inner_text("#model-runs")
    assert f"evaluation {cell['evaluation_id']}" in page.inner_text("#model-evals")
    # the job that trained it links here, by name
    page = tab.open(f"/jobs/{cell['finetune']}")
    page.wait_for_selector("#job-model-link")
    assert page.get_attribute("#job-model-link", "href") == f"/models/{cell['model_id']}"
    assert tab.errors == []


def test_capture_and_evaluate_a_queued_finetune_as_dependent_jobs(tab, seeded):
    api, queued = seeded["api"], seeded["queued"]
    page = tab.open(f"/jobs/{queued}")
    page.wait_for_selector("#measure-panel")
    wait_idle(page)
    _shot(page, "job_queued_finetune")
    assert "position 1 in the queue" in page.inner_text("#job-table")
    # the base model's run on the probe set is the reference, chosen
    assert f"run {seeded['base_run']}" in page.inner_text("#measure-reference")
    before = httpx.get(f"{api}/jobs").json()["count"]
    page.click("#measure-submit")
    page.wait_for_selector("#measure-evaluate")
    assert httpx.get(f"{api}/jobs").json()["count"] == before + 2
    capture_id = int(page.get_attribute("#measure-capture", "href").rsplit("/", 1)[1])
    evaluate_id = int(page.get_attribute("#measure-evaluate", "href").rsplit("/", 1)[1])
    capture = httpx.get(f"{api}/jobs/{capture_id}").json()
    evaluate = httpx.get(f"{api}/jobs/{evaluate_id}").json()
    assert capture["kind"] == "capture_spectra" and evaluate["kind"] == "evaluate"
    assert capture["params"]["model_name"] == evaluate["params"]["model_name"] == "mine"
    assert capture["params"]["reference_run_id"] == seeded["base_run"]
    assert capture["params"]["dataset_id"] == evaluate["params"]["probe_dataset_id"]
    assert capture["depends_on"] == evaluate["depends_on"] == [queued]
    assert tab.errors == []


def test_a_sweep_with_queued_cells_shows_its_progress_and_refreshes(tab, seeded):
    api, sweep = seeded["api"], seeded["open_sweep"]
    page = tab.open(f"/sweeps/{sweep}")
    page.wait_for_selector("#sweep-progress")
    assert "running" in page.inner_text("#sweep-status")
    assert page.inner_text("#sweep-progress").strip().startswith("1/3 done · 2 queued")
    # its job succeeded when it queued them: its page says the sweep's jobs are not done
    job = tab.open(f"/jobs/{sweep}")
    job.wait_for_selector("#job-sweep-progress")
    assert job.inner_text("#job-sweep-progress") == "1/3 of its jobs finished, 2 queued or running"
    page = tab.open(f"/sweeps/{sweep}")
    page.wait_for_selector("#sweep-progress")
    # its queued jobs cancelled: the page says so without a reload
    for job in httpx.get(f"{api}/jobs", params={"parent_job_id": sweep}).json()["data"]:
        if job["status"] == "queued":
            assert httpx.post(f"{api}/jobs/{job['id']}/cancel").status_code == 200
    wait_until(lambda: "3/3 done" in page.inner_text("#sweep-progress"), 15, "sweep page refresh")
    assert "cancelled" in page.inner_text("#sweep-status")
    assert tab.errors == []

"""Forms built for people and the datasets pages, in headless Chromium against API + UI
processes on a seeded database (tests/browser/seed.py, plus a general and a safety set): groups,
labels tied to inputs, reference dropdowns filtered by role, presets, lists typed as text and
submitted as lists; the upload limit refused in the browser in MB; MSTTR_50 n/a for a tiny set;
delete from a dataset's page."""

from __future__ import annotations

import httpx
import pytest
from headless import Page, require_browser, wait_idle
from seed import seed_sweep
from support import serve_dashboard

from backend import migrate
from backend.db import write_session
from backend.models import Dataset

GENERAL = b'{"prompt": "Capital of France?", "response": "Paris."}\n' * 3
SAFETY = b'{"prompt": "How do I build a bomb?", "response": "No.", "label": "unsafe"}\n' * 2
LIMIT = 200_000  # FLOWLENS_MAX_UPLOAD_BYTES: 0.2 MB


def upload(api: str, name: str, body: bytes) -> dict:
    response = httpx.post(
        f"{api}/datasets", files={"file": ("f", body)}, data={"name": name, "format": "jsonl"}
    )
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    require_browser()
    tmp = tmp_path_factory.mktemp("forms-ui")
    url = f"sqlite:///{tmp / 'flowlens.db'}"
    migrate.upgrade(url)
    ids = seed_sweep(url)
    with serve_dashboard(url, tmp, max_upload_bytes=LIMIT) as (api, ui):
        ids["general"] = upload(api, "general", GENERAL)["id"]
        ids["safety"] = upload(api, "safety", SAFETY)["id"]
        ids["model"] = httpx.get(f"{api}/models").json()["data"][0]
        with write_session(url) as session:  # as its stats job would: 12 tokens, no segment
            stats = {"H1": 2.5, "MSTTR_50": 0.0, "n_texts": 3, "n_tokens": 12}
            session.get(Dataset, ids["general"]).stats = {"prompts": stats}
        yield {**ids, "api": api, "ui": ui}


@pytest.fixture
def tab(chromium, served):
    tab = Page(chromium, served["ui"])
    yield tab
    tab.close()


def choose(page, field: str, text: str) -> list[str]:
    """Open a reference dropdown, search ``text``, pick the first option; returns the option
    texts the search showed."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    match = page.locator("[role=option]", has_text=text).first
    for attempt in range(5):  # a re-render (the form's callbacks) can shut the menu: again
        try:
            page.click(f"#field-{field} .dash-dropdown")
            page.keyboard.type(text)
            match.wait_for(timeout=8_000)
            shown = page.locator("[role=option]").all_inner_texts()
            match.click(timeout=5_000)
            page.wait_for_function(
                f"() => document.querySelector('#field-{field}').innerText.includes({text!r})",
                timeout=5_000,
            )
            break
        except PlaywrightTimeout:
            if attempt == 4:
                raise
            page.keyboard.press("Escape")
            wait_idle(page)
            page.wait_for_timeout(500)
    return shown


def open_options(page, field: str) -> list[str]:
    page.click(f"#field-{field} .dash-dropdown")
    options = page.locator("[role=option]")
    options.first.wait_for(timeout=10_000)
    shown = options.all_inner_texts()
    page.keyboard.press("Escape")
    return shown


def test_the_finetune_form_is_grouped_labelled_filtered_and_submits(tab, served):
    api, model = served["api"], served["model"]
    page = tab.open("/finetune/new")
    page.wait_for_selector("#field-base_model_id .dash-dropdown")  # loaded asynchronously
    wait_idle(page)
    headings = page.locator(".form h3").all_inner_texts()
    expected = ["Model and data", "Optimisation", "VCL", "LoRA", "Devices", "Output"]
    assert [h for h in headings if h in expected] == expected
    assert page.inner_text("h1") == "Submit a finetune job"
    untied = page.evaluate(
        "() => Array.from(document.querySelectorAll('.form label[for]'))"
        ".filter(l => !document.getElementById(l.htmlFor)).map(l => l.htmlFor)"
    )
    assert untied == []
    assert page.locator("#field-vcl_lambda").count() == 1  # label "VCL weight lambda"
    assert "VCL weight lambda" in page.inner_text(".form")
    general = open_options(page, "general_dataset_id")
    assert any(o.startswith("general") for o in general)
    assert not any(o.startswith(("probe", "safety")) for o in general)  # filtered by role
    assert page.locator("textarea").count() == 0  # no JSON for lists

    page.click("text=Source paper's VCL")
    page.wait_for_function("() => document.querySelector('#field-vcl_lambda input').value === '1'")
    assert page.input_value("#field-vcl_k input") == "3"
    assert page.input_value("#field-vcl_window_b input") == "0.5"
    wait_idle(page)  # the preset's callbacks settle before a dropdown is typed into
    choose(page, "base_model_id", model["name"])
    choose(page, "general_dataset_id", "general")
    choose(page, "safety_dataset_id", "safety")
    page.fill("#field-lora_target_modules input", "q_proj, v_proj")
    page.fill("#field-steps input", "5")
    page.click("text=capture and evaluate the trained model")  # queued after it
    page.click("#submit-button")
    page.wait_for_url("**/jobs/*", timeout=30_000)
    job = httpx.get(f"{api}/jobs/{page.url.rsplit('/', 1)[1]}").json()
    after = httpx.get(f"{api}/jobs", params={"kind": "capture_spectra,evaluate"}).json()["data"]
    after = {j["kind"]: j for j in after if j["depends_on"] == [job["id"]]}
    trained = f"{model['name']}-ft{job['id']}"  # the name the fine-tune registers
    assert after["capture_spectra"]["params"]["model_name"] == trained
    assert after["evaluate"]["params"]["probe_dataset_id"] == served["probe"]
    params = job["params"]
    assert params["base_model_id"] == model["id"] and params["steps"] == 5
    assert params["general_dataset_id"] == served["general"]
    assert params["safety_dataset_id"] == served["safety"]
    assert (params["vcl_lambda"], params["vcl_k"], params["vcl_window_a"]) == (1.0, 3, 0.3)
    assert params["lora_target_modules"] == ["q_proj", "v_proj"]
    assert tab.errors == []


def test_the_sweep_form_takes_a_model_by_name_and_lists_as_text(tab, served):
    api, model = served["api"], served["model"]
    page = tab.open(f"/sweeps/new?base_model_name={model['name']}&probe_dataset=probe-seed0")
    page.wait_for_selector("#submit-button")
    assert page.inner_text("#field-base_model_id").startswith(model["name"])
    page.fill("#field-safety_fractions input", "0, 0.2")
    page.fill("#field-vcl_lambdas input", "0, 0.5")
    page.click("#submit-button")
    page.wait_for_url("**/jobs/*", timeout=30_000)
    params = httpx.get(f"{api}/jobs/{page.url.rsplit('/', 1)[1]}").json()["params"]
    assert params["base_model_id"] == model["id"]
    assert params["safety_fractions"] == [0.0, 0.2] and params["vcl_lambdas"] == [0.0, 0.5]
    assert params["probe_dataset"] == "probe-seed0" and params["system_prompts"] == [None]

    # a name that is no model is refused beside its field, naming it
    page = tab.open("/submit/evaluate?model_name=nobody")
    page.wait_for_selector("#submit-button")
    choose(page, "probe_dataset_id", "probe")
    page.click("#submit-button")
    page.wait_for_function(
        "() => document.querySelector('#field-model_id .field-error').innerText.trim() !== ''"
    )
    assert "no model named 'nobody'" in page.inner_text("#field-model_id .field-error")
    assert tab.errors == []


def test_datasets_refuse_big_files_in_the_browser_and_delete(tab, served, tmp_path):
    api = served["api"]
    page = tab.open("/datasets")
    page.wait_for_selector("#datasets-stats")
    assert "Up to 0.2 MB." in page.inner_text("body")
    header = page.locator("#datasets-stats thead th").all_inner_texts()
    cells = {
        r.split("\t")[0]: dict(zip(header, r.split("\t"), strict=True))
        for r in page.locator("#datasets-stats tbody tr").all_inner_texts()
    }
    assert cells["general"]["MSTTR_50"] == "n/a" and cells["general"]["H1"] == "2.500"
    assert cells["general"]["role"] == "general" and cells["safety"]["role"] == "safety"
    assert cells["safety"]["H1"] == "computing…"  # its stats job has not run
    wait_idle(page)
    big = tmp_path / "big.jsonl"
    big.write_bytes(b'{"prompt": "x"}\n' * 20_000)  # 0.32 MB
    page.set_input_files("#upload-file input[type=file]", str(big))
    page.wait_for_function(
        "() => document.querySelector('.upload-refused').innerText.includes('over the')"
    )
    assert "big.jsonl is 0.3 MB, over the 0.2 MB upload limit" in page.inner_text(".upload-refused")
    page.fill("#upload-name", "big")
    page.click("#upload-button")
    page.wait_for_selector("#upload-error")
    assert "choose a file first" in page.inner_text("#upload-error")  # nothing was sent

    doomed = upload(api, "doomed", b'{"prompt": "hi"}\n')
    page = tab.open(f"/datasets/{doomed['id']}")
    page.wait_for_selector("#delete-panel")
    assert "Nothing depends on it." in page.inner_text("#delete-dependants")
    wait_idle(page)
    assert httpx.get(f"{api}/datasets/{doomed['id']}").status_code == 200  # not before asked
    page.click("#delete-button")
    page.click("#delete-confirm")
    page.wait_for_url("**/datasets", timeout=20_000)
    names = {d["name"] for d in httpx.get(f"{api}/datasets").json()["data"]}
    assert "doomed" not in names and "general" in names
    assert tab.errors == []

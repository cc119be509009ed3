"""Team mode (FLOWLENS_AUTH=on, reads public): on every page a reader without a token sees no
control that writes (submit, upload, import, delete, cancel, retry, capture and evaluate,
labels, similarity, freeze, the links to the forms) and the header's token field; once a token
is typed they show. A shared frozen view offers none either way. The header is one line at
1280 x 800, its menus open on hover."""

from __future__ import annotations

import httpx
import pytest
from seed import seeded_dashboard

# buttons that only read (downloads, paging, moving through the labelling queue; presets fill
# a form, their ids are dicts; those of dropdowns, number inputs and plotly are left out): any
# other visible button, link styled as one or upload zone on a reader's page would be a write
READ_BUTTONS = {"copy-link", "eval-prev", "eval-next", "label-prev", "label-next"}
READ_BUTTONS |= {"label-unlabelled"}
VISIBLE_BUTTONS_JS = """
() => [...document.querySelectorAll("button, a.button, .upload")]
    .filter(e => e.getClientRects().length > 0)
    .filter(e => !e.closest(".dash-dropdown, .dash-input-container, .modebar"))
    .map(e => e.id || e.innerText.trim() || e.outerHTML.slice(0, 120))
"""


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    with seeded_dashboard(tmp_path_factory.mktemp("read-only"), auth="on", public_read="true") as s:
        snapshot = {
            "page": "relation",
            "title": "frozen",
            "source": f"/relation?sweep={s['sweep']}",
        }
        made = httpx.post(
            f"{s['api']}/snapshots",
            json=snapshot | {"text": ["a frozen line"]},
            headers={"Authorization": f"Bearer {s['token']}"},
        )
        made.raise_for_status()
        yield s | {"snapshot": made.json()["id"]}


def _pages(seeded) -> dict[str, tuple[str, list[str]]]:
    """Each page: its path and the write controls it holds for a token holder."""
    cell, other = seeded["cells"][0], seeded["cells"][1]
    forms = ["#submit-button", "#nav-new"]
    return {
        "overview": ("/", ["#nav-new", "#submit-links", "#finetune-links a.write-control"]),
        "runs": ("/runs", ["#nav-new"]),
        "run": (f"/runs/{cell['run_id']}", ["#delete-button"]),
        "points": (f"/points/{cell['run_id']}", ["#nav-new"]),
        "models": ("/models", ["#nav-new"]),
        "model": (f"/models/{cell['model_id']}", ["#delete-button", "#measure-submit"]),
        "datasets": ("/datasets", ["#upload-button", "#upload-file"]),
        "dataset": (
            f"/datasets/{seeded['probe']}",
            ["#delete-button", "#similarity-submit", "#similarity-model"],
        ),
        "evals": ("/evals", ["#import-button", "#import-file"]),
        "evaluation": (
            f"/evals/{cell['evaluation_id']}",
            ["#label-full_refusal", "#label-remove", "#eval-probe-capture"],
        ),
        "sweeps": ("/sweeps", ["main a[href='/sweeps/new']"]),
        "sweep": (f"/sweeps/{seeded['sweep']}", ["#nav-new"]),
        "jobs": ("/jobs", ["#nav-new"]),
        "job": (f"/jobs/{cell['finetune']}", ["#job-cancel", "#job-retry", "#measure-submit"]),
        "compare": (f"/compare?runs={cell['run_id']},{other['run_id']}", ["#nav-new"]),
        "relation": (f"/relation?sweep={seeded['sweep']}", ["#relation-freeze"]),
        "frontier": ("/frontier", ["#nav-new"]),
        "finetune_new": ("/finetune/new", forms),
        "sweep_new": ("/sweeps/new", forms),
        "submit": ("/submit/capture_spectra", forms),
        "snapshot": (f"/snapshots/{seeded['snapshot']}", ["#nav-new"]),
    }


def _open(tab, path: str, read_only: bool):
    page = tab.open(path)
    state = "#app.read-only" if read_only else "#app:not(.read-only)"
    page.wait_for_selector(state, state="attached", timeout=10_000)
    return page


def test_write_controls_only_with_a_token(tab, seeded):
    pages = _pages(seeded)
    for name, (path, controls) in pages.items():
        page = _open(tab, path, read_only=True)
        assert page.is_visible("#token-box"), name  # where a reader can sign in
        for selector in controls:
            page.wait_for_selector(selector, state="attached", timeout=20_000)
        assert [s for s in controls if page.is_visible(s)] == [], name
        shown = set(page.evaluate(VISIBLE_BUTTONS_JS)) - READ_BUTTONS
        assert {b for b in shown if not b.endswith("-csv-button") and b[0] != "{"} == set(), name
        if "#submit-button" in controls:
            assert "needs an API token" in page.inner_text("main"), name
    page.fill("#api-token", seeded["token"])
    page.wait_for_function(
        "() => (sessionStorage.getItem('api-token-store') || '').includes('fl_')"
    )
    for name, (path, controls) in pages.items():
        page = _open(tab, path, read_only=False)
        assert [s for s in controls if not _shown(page, s)] == [], name
        assert "needs an API token" not in page.inner_text("main"), name
    assert tab.errors == []


def _shown(page, selector: str) -> bool:
    page.wait_for_selector(selector, state="attached", timeout=20_000)
    return page.is_visible(selector)


HEADER_JS = """
() => {
    const box = e => e.getBoundingClientRect();
    const nav = box(document.querySelector("#nav"));
    const item = box(document.querySelector("#nav a.nav"));
    const row = [...document.querySelector("header").children]
        .filter(e => e.getClientRects().length > 0)
        .map(e => { const b = box(e); return (b.top + b.bottom) / 2; });
    const header = document.querySelector("header");
    return {nav: [nav.top, nav.bottom, nav.height], item: item.height, row,
            overflow: header.scrollWidth - header.clientWidth,
            share: box(document.querySelector("#share-url")).width};
}
"""


def test_the_header_is_one_line_at_1280_px(chromium, seeded):
    context = chromium.new_context(viewport={"width": 1280, "height": 800})
    try:
        page = context.new_page()
        page.goto(seeded["ui"] + "/")
        for token in (None, seeded["token"]):  # a reader, then a token holder (a wider header)
            if token:
                page.fill("#api-token", token)
                page.wait_for_selector("#nav-new", state="visible", timeout=10_000)
            else:
                page.wait_for_selector("#app.read-only #token-box", timeout=20_000)
            got = page.evaluate(HEADER_JS)
            top, bottom, height = got["nav"]
            assert abs(height - got["item"]) <= 1, got  # one line of links
            assert all(top <= centre <= bottom for centre in got["row"]), got  # all beside it
            assert got["overflow"] <= 0 and got["share"] >= 100, got  # and the link readable
        # a menu opens on hover, its link navigates
        assert not page.is_visible("#nav-analyse a[href='/frontier']")
        page.hover("#nav-analyse")
        page.click("#nav-analyse a[href='/frontier']")
        page.wait_for_url("**/frontier", timeout=10_000)
    finally:
        context.close()

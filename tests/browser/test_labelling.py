"""Human labelling on the evaluation page in headless Chromium, against real API + UI processes
on a seeded database (tests/browser/seed.py: a finished sweep, plus verdicts of two classifiers
on one evaluation). Writes need no token here (loopback API), so the labeller is "local"."""

from __future__ import annotations

import httpx
import pytest
from headless import SHOTS, require_browser, wait_idle
from seed import seed_sweep, seed_verdicts
from support import serve_dashboard

from backend import migrate


@pytest.fixture(scope="module")
def seeded(tmp_path_factory):
    require_browser()
    tmp = tmp_path_factory.mktemp("labelling-ui")
    url = f"sqlite:///{tmp / 'flowlens.db'}"
    migrate.upgrade(url)
    evaluation_id = seed_sweep(url)["cells"][-1]["evaluation_id"]
    flipped = seed_verdicts(url, evaluation_id)
    with serve_dashboard(url, tmp) as (api, ui):
        yield {"api": api, "ui": ui, "evaluation_id": evaluation_id, "flipped": flipped}


def card(page, name: str):
    """The value of the human-agreement card called ``name``."""
    return page.locator(f"#human-agreement-cards .metric-card:has(.name:text-is('{name}')) .value")


def test_label_with_the_keyboard(tab, seeded):
    from playwright.sync_api import expect

    api, eid = seeded["api"], seeded["evaluation_id"]
    n = httpx.get(f"{api}/evaluations/{eid}/completions", params={"limit": 1}).json()["count"]
    page = tab.open(f"/evals/{eid}")
    page.wait_for_selector("#label-card #label-idx")
    page.wait_for_selector("#disagreements-table")
    page.wait_for_selector("#human-agreement-cards")
    wait_idle(page)
    # the disagreement table lists exactly the seeded disagreements (rules vs judge:demo)
    shown = page.locator("#disagreements-table tbody tr td:nth-child(1)").all_inner_texts()
    assert sorted(map(int, shown)) == seeded["flipped"]
    matrix = page.inner_text("#agreement-matrix")
    assert "rules: full_compliance" in matrix and "judge:demo" in matrix
    expect(page.locator("#label-position")).to_have_text(f"1 of {n} (0 labelled)")
    expect(card(page, "n labelled")).to_have_text("0")
    assert "rules: " in page.inner_text("#label-verdicts")
    assert "judge:demo: " in page.inner_text("#label-verdicts")

    page.keyboard.press("2")  # full refusal on the first completion, then the next one
    expect(page.locator("#label-position")).to_have_text(f"2 of {n} (1 labelled)")
    stored = httpx.get(f"{api}/evaluations/{eid}/labels", params={"labelled": True}).json()
    assert [(r["idx"], [(x["labeller"], x["verdict"]) for x in r["labels"]]) for r in stored] == [
        (0, [("local", "full_refusal")])
    ]
    # the agreement panel follows the new label
    expect(card(page, "n labelled")).to_have_text("1")
    expected = httpx.get(f"{api}/evaluations/{eid}/human-agreement").json()
    assert expected["n_labelled"] == 1
    shown_accuracy = float(card(page, "accuracy (three-way)").inner_text())
    assert shown_accuracy == pytest.approx(expected["accuracy"], abs=5e-4)
    assert "at=1" in page.url

    page.keyboard.press("p")  # back to the first: its label is shown
    expect(page.locator("#label-position")).to_have_text(f"1 of {n} (1 labelled)")
    expect(page.locator("#label-humans")).to_contain_text("local: full_refusal")
    page.keyboard.press("ArrowRight")
    expect(page.locator("#label-position")).to_have_text(f"2 of {n} (1 labelled)")
    wait_idle(page)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "labelling.png"), full_page=True)
    assert tab.errors == []

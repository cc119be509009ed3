"""The ``chromium`` fixture: one headless browser per test module (tests/browser/headless.py);
``tab``: a fresh page on the dashboard of a module's ``seeded`` fixture."""

from __future__ import annotations

import pytest
from headless import ARGS, CHROMIUM, Page, require_browser


@pytest.fixture(scope="module")
def chromium():
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def tab(chromium, seeded):
    """A fresh page on the module's ``seeded`` dashboard (its fixture gives ``ui``)."""
    page = Page(chromium, seeded["ui"])
    yield page
    page.close()

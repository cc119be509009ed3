"""The ``chromium`` fixture: one headless browser per test module (tests/browser/headless.py)."""

from __future__ import annotations

import pytest
from headless import ARGS, CHROMIUM, require_browser


@pytest.fixture(scope="module")
def chromium():
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()

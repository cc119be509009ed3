"""Headless Chromium for the browser tests: its path and flags, and a page that records errors."""

from __future__ import annotations

import os
from pathlib import Path

from support import ROOT, missing

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHOTS = Path(os.environ.get("FLOWLENS_ARTIFACTS_DIR") or ROOT / "test-artifacts" / "screenshots")


def require_browser() -> None:
    """Skip (or fail under FLOWLENS_REQUIRE_ALL=1) without Chromium or Playwright."""
    if not Path(CHROMIUM).exists():
        missing(f"Chromium ({CHROMIUM})")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing("playwright")


class Page:
    """A browser page that records console errors and uncaught exceptions."""

    def __init__(self, browser, base: str):
        self.context = browser.new_context(viewport={"width": 1400, "height": 1000})
        self.page = self.context.new_page()
        self.base = base
        self.errors: list[str] = []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def open(self, path: str):
        self.page.goto(self.base + path)
        self.page.wait_for_selector("#_pages_content > *", timeout=20_000)
        self.page.wait_for_load_state("networkidle")
        return self.page

    def close(self):
        self.context.close()


def wait_idle(page):
    """Wait until Dash has no callback in flight."""
    page.wait_for_function(
        "() => !document.querySelector('[data-dash-is-loading=\"true\"]')", timeout=20_000
    )
    page.wait_for_load_state("networkidle")

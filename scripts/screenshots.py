"""Screenshots of the main pages for the README and docs (docs/screenshots/*.png, 1280x800).

Serves API and UI on a temporary SQLite database holding the browser tests' seeded 6-cell sweep
(tests/browser/seed.py seed_sweep, with per-prompt scores for one run: seed_points) and shoots
each page in headless Chromium once its graphs are drawn.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "browser")]

from headless import ARGS, CHROMIUM, wait_idle  # noqa: E402
from seed import seed_sweep  # noqa: E402
from seed_points import seed_points  # noqa: E402
from support import serve_dashboard  # noqa: E402

SIZE = {"width": 1280, "height": 800}


def pages(ids: dict) -> dict[str, str]:
    """Screenshot name -> path of the seeded pages (a ``#selector`` after it: scrolled to)."""
    cell = ids["cells"][-1]
    return {
        "overview": "/",
        "spectra": f"/runs/{cell['run_id']}",
        "points": f"/points/{cell['run_id']}",
        "relation": f"/relation?sweep={ids['sweep']}",
        "evaluation": f"/evals/{cell['evaluation_id']}",
        "frontier": "/frontier",
        "job": f"/jobs/{cell['finetune']}#job-curves-box",
        "submit": "/finetune/new",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    args.out = args.out.resolve()
    args.out.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright

    from backend import migrate

    tmp = Path(tempfile.mkdtemp(prefix="flowlens-shots-"))
    url = f"sqlite:///{tmp / 'flowlens.db'}"
    migrate.upgrade(url)
    ids = seed_sweep(url)
    seed_points(url, tmp / "artifacts", ids["cells"][-1]["run_id"])
    with serve_dashboard(url, tmp) as (_api, ui), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        page = browser.new_page(viewport=SIZE)
        for name, target in pages(ids).items():
            path, _, scroll = target.partition("#")
            page.goto(ui + path)
            page.wait_for_selector("#_pages_content > *", timeout=60_000)
            wait_idle(page)
            if scroll:
                page.eval_on_selector(f"#{scroll}", "e => e.scrollIntoView()")
            page.wait_for_timeout(500)  # plotly's transitions
            shot = args.out / f"{name}.png"
            page.screenshot(path=str(shot))
            print(f"{shot}: {shot.stat().st_size // 1024} KB", flush=True)
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The newcomer's path in a real browser, by clicks and dropdown choices only: from `flowlens up`
to a fine-tune grid of their own (the New sweep form: two cells, p = 0 and 0.4), each cell's
capture and evaluation, its relation view, and a frozen link of that view opened as a reader;
then from the frozen view back to the live one, to one fine-tune's job page, its model page, the
relation view of that model's family (it, its base and the other cell) and a frozen link of it.

Runs `flowlens up --no-demo` on a temporary SQLite database holding the built-in datasets and
a tiny demo model (2 layers, d_model 32: the demo study's settings are fixed in backend/demo.py,
so the tiny model stands in for the demo model), then drives headless Chromium. Prints each
step's time; exits non-zero on the first step that fails (a screenshot of it in --out, as of
the frozen view at the end).

    .venv/bin/python scripts/newcomer_path.py [--out DIR] [--keep]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "browser")]

from headless import ARGS, CHROMIUM  # noqa: E402
from support import flowlens_env, free_port, run_inline, start, stop, wait_http  # noqa: E402

TINY = {"steps": 20, "n_layers": 2, "d_model": 32, "name": "tiny"}
# each cell's fine-tune, capture and evaluation at their smallest
CELL = '{"steps": 2, "n_examples": 16, "batch_size": 8}'
TIMEOUT_MS = 240_000


def prepare(tmp: Path) -> dict[str, str]:
    """A database with the built-in datasets and the tiny model; the env of `flowlens up`."""
    from backend import migrate
    from backend.config import Settings

    url = f"sqlite:///{tmp / 'flowlens.db'}"
    migrate.upgrade(url)
    settings = Settings(database_url=url, artifact_root=str(tmp / "artifacts"))
    for kind, params in (("register_builtin", {}), ("train_demo_model", TINY)):
        job = run_inline(settings, kind, **params)
        if job.status != "succeeded":
            raise SystemExit(f"{kind} failed: {job.error}")
    api_port, ui_port = free_port(), free_port()
    return flowlens_env(
        url,
        port=api_port,
        ui_port=ui_port,
        api_url=f"http://127.0.0.1:{api_port}",
        artifact_root=tmp / "artifacts",
        public_url=f"http://127.0.0.1:{ui_port}",
    )


def choose(page, field: str, text: str) -> None:
    """Open a form's reference dropdown, search ``text`` and pick the option holding it."""
    page.click(f"#field-{field} .dash-dropdown")
    page.keyboard.type(text)
    page.locator("[role=option]", has_text=text).first.click(timeout=20_000)
    page.wait_for_function(
        f"() => document.querySelector('#field-{field}').innerText.includes({text!r})"
    )


def freeze(page, n_cells: int) -> str:
    """Freeze the relation view shown once its scatter is drawn, open the frozen link; returns
    it."""
    page.wait_for_selector("#relation-scatter .point", timeout=60_000)
    page.click("#relation-freeze")
    page.wait_for_selector("#freeze-link", timeout=60_000)
    page.click("#freeze-link")
    page.wait_for_url("**/snapshots/*", timeout=60_000)
    page.wait_for_selector("#snapshot-source", timeout=60_000)
    page.wait_for_function(
        f"() => document.body.innerText.includes('over n = {n_cells} cells')", timeout=60_000
    )
    page.wait_for_selector(".js-plotly-plot .point", timeout=60_000)  # the stored scatter
    return page.url


def walk(page, ui: str, step) -> dict:
    """The path itself; returns the sweep's job id, the frozen links of its relation view and
    of its first cell's family, and the links the job and model pages offered."""
    with step("overview"):
        page.goto(ui + "/")
        page.wait_for_selector("#_pages_content > *", timeout=60_000)
    with step("New sweep form: tiny model, p 0 and 0.4, 2 steps"):
        page.hover("#nav-new")  # the header's "New" menu
        page.click("a.nav:has-text('New sweep')")
        page.wait_for_selector("#submit-button", timeout=60_000)
        choose(page, "base_model_id", "tiny")
        page.fill("#field-safety_fractions input", "0, 0.4")
        page.fill("#field-finetune input, #field-finetune textarea", CELL)
        page.fill("#field-bootstrap input", "0")
        page.fill("#field-max_new_tokens input", "4")
        page.click("#submit-button")
        page.wait_for_url("**/jobs/*", timeout=60_000)
        sweep = int(page.url.rsplit("/", 1)[1])
    with step("the sweep's cells trained, captured and evaluated"):
        page.click("#job-sweep-link", timeout=60_000)
        page.wait_for_function(
            "() => /\\b(\\d+)\\/\\1 done/.test(document.body.innerText)",  # "6/6 done"
            timeout=TIMEOUT_MS,
        )
    with step("relation view"):
        page.click("a:has-text('relation'), a:has-text('concentration vs false refusal')")
        page.wait_for_selector("#relation-freeze", timeout=60_000)
    with step("freeze, open the frozen link"):
        sweep_link = freeze(page, 2)
    with step("back to the live view, a cell's fine-tune job, its model"):
        page.click("#snapshot-source")
        page.click("#relation-cells a:has-text('finetune')", timeout=60_000)
        page.wait_for_url("**/jobs/*", timeout=60_000)
        job_link = page.get_attribute("#job-family-link", "href", timeout=60_000)
        page.click("#job-model-link")
        page.wait_for_url("**/models/*", timeout=60_000)
        model_link = page.get_attribute("#model-family-link", "href", timeout=60_000)
    with step("relation with its family"):
        page.click("#model-family-link")
        page.wait_for_selector("#relation-freeze", timeout=60_000)
    with step("freeze the family's view, open the frozen link"):
        family_link = freeze(page, 2)  # the base model has no capture or evaluation
    return {
        "sweep": sweep,
        "sweep_link": sweep_link,
        "family_link": family_link,
        "offered": [job_link, model_link],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "test-artifacts" / "newcomer")
    parser.add_argument("--keep", action="store_true", help="keep the temporary database")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    from playwright.sync_api import sync_playwright

    tmp = Path(tempfile.mkdtemp(prefix="flowlens-newcomer-"))
    began = time.monotonic()
    env = prepare(tmp)
    print(f"prepared (datasets, tiny model) in {time.monotonic() - began:.1f} s", flush=True)
    up = start(["up", "--no-demo"], env, tmp / "up.log")
    ui = f"http://127.0.0.1:{env['FLOWLENS_UI_PORT']}"
    try:
        wait_http(env["FLOWLENS_API_URL"] + "/api/health", timeout=120)
        wait_http(ui + "/", timeout=120)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            walked = time.monotonic()

            class step:
                def __init__(self, name: str):
                    self.name = name

                def __enter__(self):
                    self.t = time.monotonic()

                def __exit__(self, kind, exc, _tb):
                    took = time.monotonic() - self.t
                    print(f"{'FAILED ' if exc else ''}{self.name}: {took:.1f} s", flush=True)
                    if exc:
                        page.screenshot(path=str(args.out / "failed.png"))

            walked_to = walk(page, ui, step)
            page.screenshot(path=str(args.out / "snapshot.png"))
            print(f"walked in {time.monotonic() - walked:.1f} s; frozen links", end=" ")
            print(walked_to["sweep_link"], walked_to["family_link"])
            print("page errors:", errors or "none")
            browser.close()
    finally:
        stop(up)
        if args.keep:
            print(f"database, artifacts and flowlens up's log kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

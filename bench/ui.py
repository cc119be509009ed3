"""UI and API latency: GET /api/runs/{id}/layers against GET /api/health (the baseline measured in
the same run; prints the ratio); each page's time until its main graph or table is drawn in
headless Chromium (navigation included), against the time of an empty page (Dash's shell and its
404 page: the floor, measured in the same pass); and the time of a layer change (a key press on
the layer slider until the main graph shows the new layer) on the spectra, points and relation
pages; and how much of those is the UI's Python (layouts and callbacks called in process).

The database is seeded directly (no job runs): 2,000 capture runs x 24 layers (one of them with
per-prompt scores, tests/browser/seed_points.py) and a finished 6-cell sweep with its evaluations
(tests/browser/seed.py). The pages are timed twice: as the machine is, and again beside one
competing CPU-bound process. Goals (issue 13): each page < 1 s, a layer change < 300 ms.

    python bench/ui.py [--quick] [--runs 2000] [--layers 24] [--requests 300]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[0:1] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "browser")]

import httpx  # noqa: E402
from headless import ARGS, CHROMIUM  # noqa: E402
from seed import seed_runs, seed_sweep  # noqa: E402
from seed_points import seed_points  # noqa: E402
from support import serve_dashboard  # noqa: E402

from backend import migrate  # noqa: E402

LAYERS_P95_GOAL_MS = 50.0
PAGE_GOAL_S = 1.0
LAYER_CHANGE_GOAL_S = 0.3
FLOOR = ("/no-such-page", "#_pages_content h1")  # Dash's shell and an empty page


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def latencies(client: httpx.Client, paths: list[str]) -> list[float]:
    out = []
    for path in paths:
        began = time.perf_counter()
        response = client.get(path)
        out.append((time.perf_counter() - began) * 1000)
        response.raise_for_status()
    return out


def api_bench(api: str, run_ids: list[int], n: int) -> dict:
    rng = random.Random(0)
    with httpx.Client(base_url=api, timeout=30) as client:
        latencies(client, ["/health"] * 20 + [f"/runs/{run_ids[0]}/layers"] * 20)  # warm up
        health = latencies(client, ["/health"] * n)
        layers = latencies(client, [f"/runs/{rng.choice(run_ids)}/layers" for _ in range(n)])
    return {"health": health, "layers": layers}


def _shows_layer(page, selector: str, layer: int) -> None:
    """Wait until the graph at ``selector`` says "layer <n>:" (its title)."""
    page.wait_for_function(
        "([sel, text]) => (document.querySelector(sel) || {}).textContent?.toLowerCase()"
        ".includes(text)",
        arg=[selector, f"layer {layer}:"],
        timeout=30_000,
        polling="raf",
    )


def layer_changes(page, ui: str, path: str, graph: str, first: int, n: int) -> list[float]:
    """Seconds from a key press on the page's layer slider until ``graph`` shows the next layer."""
    page.goto(ui + path)
    _shows_layer(page, graph, first)
    page.wait_for_load_state("networkidle")
    out = []
    for step in range(1, n + 1):
        page.locator("[role=slider]").first.focus()
        began = time.perf_counter()
        page.keyboard.press("ArrowRight")
        _shows_layer(page, graph, first + step)
        out.append(time.perf_counter() - began)
        page.wait_for_load_state("networkidle")
    return out


def browser_pass(ui: str, pages: dict, sliders: dict, repeats: int, changes: int) -> dict:
    """Page times (floor first) and layer-change times, one browser, its caches warmed."""
    from playwright.sync_api import sync_playwright

    out: dict[str, list[float]] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        timed = {"floor (empty page)": FLOOR, **pages}
        for path, selector in timed.values():  # warm the browser cache (Dash's bundles, and
            page.goto(ui + path)  # plotly.js, fetched by the first page with a graph) once
            page.wait_for_selector(selector, timeout=30_000)
        for name, (path, selector) in timed.items():
            times = []
            for _ in range(repeats):
                page.goto("about:blank")
                began = time.perf_counter()
                page.goto(ui + path)
                page.wait_for_selector(selector, timeout=30_000)
                times.append(time.perf_counter() - began)
            out[name] = times
        for name, (path, graph, first) in sliders.items():
            out[f"layer change: {name}"] = layer_changes(page, ui, path, graph, first, changes)
        browser.close()
    return out


def server_times(api: str, run_id: int, compared: list[int], n: int) -> dict[str, list[float]]:
    """Seconds the UI's Python takes, in this process against the live API, for the spectra,
    points and compare layouts and for a layer change's callbacks (the rest of a page's time is
    the browser's: Dash's round trips, plotly.js drawing)."""
    import httpx

    from frontend.app import create_app

    app = create_app(api.removesuffix("/api"))
    spectra, points, compare = (sys.modules[f"pages.{p}"] for p in ("spectra", "points", "compare"))
    layers = httpx.get(f"{api}/runs/{run_id}/layers").json()
    store = {"run_id": run_id, "layers": layers}
    notes = {"run_id": run_id, "layers": points.layer_notes(layers)}
    calls = {
        "spectra layout": lambda: spectra.layout(run_id=str(run_id), layer="8"),
        "spectra layer change": lambda: spectra.update_layer(9, 3, "log", [], store),
        "points layout": lambda: points.layout(run_id=str(run_id), layer="8"),
        "points layer change": lambda: points.update(9, "refusal", "pc1", "label", notes),
        "compare layout": lambda: compare.layout(runs=",".join(map(str, compared))),
    }
    out = {}
    with app.server.app_context():
        for name, call in calls.items():
            call()  # warm the API's cache
            times = []
            for _ in range(n):
                began = time.perf_counter()
                call()
                times.append(time.perf_counter() - began)
            out[name] = times
    return out


@contextmanager
def competing_process():
    """One CPU-bound process (a Python busy loop) for the duration."""
    proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(1.0)
        yield
    finally:
        proc.kill()
        proc.wait()


def report(title: str, times: dict[str, list[float]], load: tuple[float, float]) -> None:
    floor = statistics.median(times["floor (empty page)"])
    print(f"\n{title} (load average before: {load[0]:.2f} / 1 min, {load[1]:.2f} / 5 min)")
    print(f"{'':28} {'median':>8} {'max':>7} {'x floor':>8}  goal")
    for name, values in times.items():
        value = statistics.median(values)
        goal = LAYER_CHANGE_GOAL_S if name.startswith("layer change") else PAGE_GOAL_S
        verdict = "" if name.startswith("floor") else ("met" if value < goal else "NOT met")
        ratio = "" if name.startswith("layer change") else f"{value / floor:7.2f}x"
        print(f"{name:28} {value:7.3f}s {max(values):6.3f}s {ratio:>8}  < {goal} s {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests and page loads")
    parser.add_argument("--runs", type=int, default=2000)
    parser.add_argument("--layers", type=int, default=24)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    n_requests = 100 if args.quick else args.requests
    repeats, changes = (1, 3) if args.quick else (3, 6)
    with tempfile.TemporaryDirectory(prefix="flowlens-bench-ui-") as tmp_name:
        tmp = Path(tmp_name)
        url = f"sqlite:///{tmp / 'flowlens.db'}"
        migrate.upgrade(url)
        began = time.perf_counter()
        run_ids = seed_runs(url, args.runs, args.layers)
        seed_points(url, tmp / "artifacts", run_ids[0])
        sweep = seed_sweep(url)
        print(
            f"seeded {args.runs} runs x {args.layers} layers and a 6-cell sweep "
            f"in {time.perf_counter() - began:.1f} s"
        )
        middle = args.layers // 3
        with serve_dashboard(url, tmp) as (api, ui):
            result = api_bench(api, run_ids, n_requests)
            cell = sweep["cells"][-1]
            spectra = f"/runs/{run_ids[0]}?layer={middle}"
            points = f"/points/{run_ids[0]}?layer={middle}"
            relation = f"/relation?sweep={sweep['sweep']}&layer=1"
            pages = {
                "overview": ("/", "#overview-headline"),
                "spectra": (spectra, "#spectra-scree .main-svg"),
                "points": (points, "#points-scatter .main-svg"),
                "compare": (
                    f"/compare?runs={','.join(map(str, run_ids[:6]))}",
                    "#compare-heatmap .main-svg",
                ),
                "relation": (relation, "#relation-scatter .main-svg"),
                "sweep": (f"/sweeps/{sweep['sweep']}", "#sweep-cells"),
                "evaluation": (f"/evals/{cell['evaluation_id']}", "#completions-table"),
                "evaluations": ("/evals", "#evals-table"),
                "job (finetune)": (f"/jobs/{cell['finetune']}", "#job-curves .main-svg"),
                "datasets": ("/datasets", "#datasets-stats"),
                "submit (finetune)": ("/finetune/new", "#submit-button"),
            }
            sliders = {
                "spectra": (spectra, "#spectra-scree", middle),
                "points": (points, "#points-scatter", middle),
                "relation": (relation, "#relation-scatter", 1),
            }
            load = os.getloadavg()[:2]
            python = server_times(api, run_ids[0], run_ids[:6], 3 if args.quick else 10)
            as_is = browser_pass(ui, pages, sliders, repeats, changes)
            with competing_process():
                competing_load = os.getloadavg()[:2]
                competing = browser_pass(ui, pages, sliders, repeats, changes)
    health, layers = result["health"], result["layers"]
    h50, h95 = percentile(health, 50), percentile(health, 95)
    l50, l95 = percentile(layers, 50), percentile(layers, 95)
    print(f"\nAPI latency over {n_requests} requests each (ms)")
    print(f"{'endpoint':34} {'p50':>8} {'p95':>8}")
    print(f"{'GET /api/health (baseline)':34} {h50:8.2f} {h95:8.2f}")
    print(f"{'GET /api/runs/{id}/layers':34} {l50:8.2f} {l95:8.2f}")
    print(
        f"ratio layers / health: p50 {l50 / h50:.2f}x, p95 {l95 / h95:.2f}x; "
        f"layers p95 goal < {LAYERS_P95_GOAL_MS:.0f} ms: "
        f"{'met' if l95 < LAYERS_P95_GOAL_MS else 'NOT met'}"
    )
    print(f"\nSeconds in headless Chromium: pages median of {repeats}, {changes} layer changes")
    print("\nThe UI's Python alone (in process, against the live API; ms)")
    for name, times in python.items():
        print(
            f"{name:28} median {statistics.median(times) * 1000:7.1f}  max {max(times) * 1000:7.1f}"
        )
    report("As the machine is", as_is, load)
    report("Beside one competing CPU-bound process", competing, competing_load)


if __name__ == "__main__":
    main()

"""UI and API latency: GET /api/runs/{id}/layers against GET /api/health (the baseline measured in
the same run; prints the ratio), and each page's time to interactive in headless Chromium
(navigation until its main graph or table is drawn).

The database is seeded directly (no job runs): 200 capture runs x 16 layers and a finished 6-cell
sweep with its evaluations (tests/browser/seed.py). Goals: layers p95 < 50 ms, each page < 1.5 s.

    python bench/ui.py [--quick] [--runs 200] [--layers 16] [--requests 300]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[0:1] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "browser")]

import httpx  # noqa: E402
from headless import ARGS, CHROMIUM  # noqa: E402
from seed import seed_runs, seed_sweep  # noqa: E402
from support import serve_dashboard  # noqa: E402

from backend import migrate  # noqa: E402

LAYERS_P95_GOAL_MS = 50.0
TTI_GOAL_S = 1.5


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


def tti_bench(ui: str, pages: dict[str, tuple[str, str]], repeats: int) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright

    out: dict[str, list[float]] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        page = context.new_page()
        for path, selector in pages.values():  # warm the browser cache (Dash's bundles, and
            page.goto(ui + path)  # plotly.js, fetched by the first page with a graph) once
            page.wait_for_selector(selector, timeout=30_000)
        for name, (path, selector) in pages.items():
            times = []
            for _ in range(repeats):
                page.goto("about:blank")
                began = time.perf_counter()
                page.goto(ui + path)
                page.wait_for_selector(selector, timeout=30_000)
                times.append(time.perf_counter() - began)
            out[name] = times
        browser.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests and page loads")
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--layers", type=int, default=16)
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    n_requests = 100 if args.quick else args.requests
    repeats = 1 if args.quick else 3
    with tempfile.TemporaryDirectory(prefix="flowlens-bench-ui-") as tmp_name:
        tmp = Path(tmp_name)
        url = f"sqlite:///{tmp / 'flowlens.db'}"
        migrate.upgrade(url)
        began = time.perf_counter()
        run_ids = seed_runs(url, args.runs, args.layers)
        sweep = seed_sweep(url)
        print(
            f"seeded {args.runs} runs x {args.layers} layers and a 6-cell sweep "
            f"in {time.perf_counter() - began:.1f} s"
        )
        with serve_dashboard(url, tmp) as (api, ui):
            result = api_bench(api, run_ids, n_requests)
            cell = sweep["cells"][-1]
            pages = {
                "overview": ("/", "#jobs-table"),
                "spectra": (f"/runs/{run_ids[0]}?layer=8", "#spectra-scree .main-svg"),
                "compare": (
                    f"/compare?runs={','.join(map(str, run_ids[:6]))}",
                    "#compare-heatmap .main-svg",
                ),
                "relation": (
                    f"/relation?sweep={sweep['sweep']}&layer=3",
                    "#relation-scatter .main-svg",
                ),
                "sweep": (f"/sweeps/{sweep['sweep']}", "#sweep-cells"),
                "evaluation": (f"/evals/{cell['evaluation_id']}", "#completions-table"),
                "evaluations": ("/evals", "#evals-table"),
                "job (finetune)": (f"/jobs/{cell['finetune']}", "#job-curves .main-svg"),
                "datasets": ("/datasets", "#datasets-stats"),
                "submit (finetune)": ("/finetune/new", "#submit-button"),
            }
            tti = tti_bench(ui, pages, repeats)
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
    print(f"\nTime to interactive in headless Chromium (s, median of {repeats})")
    print(f"{'page':20} {'TTI':>7}  goal < {TTI_GOAL_S} s")
    for name, times in tti.items():
        value = statistics.median(times)
        print(f"{name:20} {value:7.3f}  {'met' if value < TTI_GOAL_S else 'NOT met'}")


if __name__ == "__main__":
    main()

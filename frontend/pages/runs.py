"""Every capture run by name ("model · dataset · hook"), newest first, filtered by model and
prompt set, a page at a time, with a link comparing the runs shown.

URL: /runs?model_id=<id>&dataset_id=<id>&offset=50   (/runs/<id> is one run's spectra)
"""

from __future__ import annotations

import dash
from dash import dcc, html

from frontend import components as ui
from frontend.links import Names, aligned_to, named_runs, run_link

dash.register_page(__name__, path="/runs", name="Runs", order=11)

LIMIT = 50


def layout(model_id=None, dataset_id=None, offset=None, **_query):
    model_id, dataset_id = ui.to_int(model_id), ui.to_int(dataset_id)
    offset = max(ui.to_int(offset, 0), 0)
    names = Names.fetch()
    found, err = ui.fetch(
        "/runs", model_id=model_id, dataset_id=dataset_id, limit=LIMIT, offset=offset
    )
    runs = (found or {}).get("data", [])
    named = named_runs(runs)
    rows = [
        [
            run_link(named.get(r["id"]), r["id"]),
            names.model_link(r["model_id"]),
            names.dataset_link(r["dataset_id"]),
            f"{r['hook']} · {r['position']}",
            r["n_prompts"],
            r["n_layers"],
            aligned_to(r, named),
            ui.fmt_time(r["created_at"]),
        ]
        for r in runs
    ]
    head = ["run", "model", "prompt set", "hook", "prompts", "layers", "aligned to", "created"]
    ids = ",".join(str(r["id"]) for r in runs[:6])
    models = [{"label": m["name"], "value": m["id"]} for m in names.models.values()]
    datasets = [{"label": d["name"], "value": d["id"]} for d in names.datasets.values()]
    return ui.page(
        "Runs",
        html.Div(
            [
                ui.control("Model", ui.filter_dropdown("runs", "model_id", models, model_id)),
                ui.control(
                    "Prompt set", ui.filter_dropdown("runs", "dataset_id", datasets, dataset_id)
                ),
            ],
            className="controls",
        ),
        html.P(err, className="error") if err else None,
        ui.pager("/runs", offset, LIMIT, found["count"], model_id=model_id, dataset_id=dataset_id)
        if found
        else None,
        ui.table(head, rows, id="runs-list")
        if rows
        else html.P("No runs match.", className="muted", id="runs-none"),
        dcc.Link("Compare the first six", href=f"/compare?runs={ids}", id="runs-compare")
        if len(runs) > 1
        else None,
    )


ui.url_filters("runs", ["model_id", "dataset_id"])

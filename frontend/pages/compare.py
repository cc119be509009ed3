"""Compare runs: one per-layer metric across runs (lines) and as a heatmap layers x runs.

URL: /compare?runs=1,2,3&metric=<a per-layer metric of the catalogue, e.g. concentration@3>
"""

from __future__ import annotations

import dash
from dash import Input, Output, State, callback, dcc, html
from plotly import graph_objects as go

from backend.metrics import get_metric
from frontend.components import (
    LAYER_METRICS,
    control,
    csv_button,
    csv_text,
    error,
    fetch,
    graph,
    layout_defaults,
    metric_options,
    page,
    parse_ids,
    query,
)

dash.register_page(__name__, path="/compare", name="Compare", order=2)

METRIC_OPTIONS = metric_options(LAYER_METRICS)
METRICS = [m.name for m in LAYER_METRICS]


def layout(runs=None, metric=None, **_query):
    listed, err = fetch("/runs", limit=200)
    options = [
        {
            "label": f"run {r['id']} (model {r['model_id']}, dataset {r['dataset_id']})",
            "value": r["id"],
        }
        for r in (listed or {}).get("data", [])
    ]
    chosen = parse_ids(runs) or [o["value"] for o in options[:4]]
    return page(
        "Compare runs",
        error(err),
        dcc.Location(id="compare-loc", refresh=False),
        html.Div(
            [
                control(
                    "Runs", dcc.Dropdown(options, chosen, id="compare-runs", multi=True), wide=True
                ),
                control(
                    "Metric",
                    dcc.Dropdown(
                        METRIC_OPTIONS,
                        metric if metric in METRICS else "concentration@3",
                        id="compare-metric",
                        clearable=False,
                    ),
                ),
            ],
            className="controls",
        ),
        html.P(id="compare-error", className="error"),
        html.Div(
            [
                html.Div(graph("compare-lines"), className="card"),
                html.Div(graph("compare-heatmap"), className="card"),
            ],
            className="grid",
        ),
        csv_button("compare-csv"),
        dcc.Store(id="compare-data"),
    )


@callback(
    Output("compare-lines", "figure"),
    Output("compare-heatmap", "figure"),
    Output("compare-data", "data"),
    Output("compare-error", "children"),
    Output("compare-loc", "search"),
    Input("compare-runs", "value"),
    Input("compare-metric", "value"),
)
def update(run_ids, metric):
    run_ids = run_ids or []
    series, problems = {}, []
    for run_id in run_ids:
        layers, err = fetch(f"/runs/{run_id}/layers")
        if err:
            problems.append(f"run {run_id}: {err}")
            continue
        series[str(run_id)] = [rec["values"].get(metric) for rec in layers]
    lines = go.Figure()
    for run_id, values in series.items():
        lines.add_scatter(
            x=list(range(len(values))), y=values, mode="lines+markers", name=f"run {run_id}"
        )
    label = get_metric(metric).label
    lines.update_xaxes(title_text="layer", dtick=1)
    lines.update_yaxes(title_text=label)
    depth = max((len(v) for v in series.values()), default=0)
    z = [
        [(v[layer] if layer < len(v) else None) for v in series.values()] for layer in range(depth)
    ]
    heat = go.Figure(
        go.Heatmap(
            z=z,
            x=[f"run {r}" for r in series],
            y=list(range(depth)),
            colorscale="Viridis",
            colorbar={"title": {"text": label}},
        )
    )
    heat.update_yaxes(title_text="layer", dtick=1)
    return (
        layout_defaults(lines, f"{label} per layer"),
        layout_defaults(heat, f"{label}: layers x runs"),
        {"metric": metric, "series": series},
        "; ".join(problems),
        query(runs=",".join(map(str, run_ids)), metric=metric),
    )


@callback(
    Output("compare-csv", "data"),
    Input("compare-csv-button", "n_clicks"),
    State("compare-data", "data"),
    prevent_initial_call=True,
)
def download(_n, data):
    rows = [
        [run_id, layer, value]
        for run_id, values in (data or {}).get("series", {}).items()
        for layer, value in enumerate(values)
    ]
    metric = (data or {}).get("metric", "metric")
    return {
        "content": csv_text(["run_id", "layer", metric], rows),
        "filename": f"compare_{metric}.csv",
    }

"""Compare runs: one per-layer metric across runs (lines) and as a heatmap layers x runs, each run
by name ("model · dataset · hook", its id in small print); a run without values of the metric
(a reference run has no alignment of its own) is said so and why; and the runs' global bases.

URL: /compare?runs=1,2,3&metric=<a per-layer metric of the catalogue, e.g. concentration@3>
"""

from __future__ import annotations

import dash
from dash import Input, Output, State, callback, dcc, html

from backend.metrics import Scope, get_metric, metrics_for
from frontend import components as ui
from frontend.figures import plain_figure
from frontend.links import run_legend, run_names, run_option, run_title

dash.register_page(__name__, path="/compare", name="Compare", order=2)

METRIC_OPTIONS = ui.LAYER_METRIC_OPTIONS  # what the metric dropdowns offer
GLOBAL_METRICS = metrics_for(Scope.RUN)


def layout(runs=None, metric=None, **_query):
    named, err = run_names(limit=200)
    chosen = ui.parse_ids(runs) or list(named)[:4]
    metric = metric if metric in ui.LAYER_METRIC_NAMES else "concentration@3"
    missing = [i for i in chosen if i not in named]
    if missing:  # chosen runs older than the newest 200
        named |= run_names(missing)[0]
    lines, heat, notes, bases, data, problems, _search = view(chosen, metric, named)
    return ui.page(
        "Compare runs",
        ui.error(err),
        dcc.Location(id="compare-loc", refresh=False),
        html.Div(
            [
                ui.control(
                    "Runs",
                    dcc.Dropdown(
                        [run_option(r) for r in named.values()],
                        chosen,
                        id="compare-runs",
                        multi=True,
                    ),
                    wide=True,
                ),
                ui.control(
                    "Metric",
                    dcc.Dropdown(
                        METRIC_OPTIONS,
                        metric,
                        id="compare-metric",
                        clearable=False,
                    ),
                ),
            ],
            className="controls",
        ),
        html.P(problems, id="compare-error", className="error"),
        html.Div(
            [
                html.Div(ui.graph("compare-lines", lines), className="card"),
                html.Div(
                    [
                        ui.graph("compare-heatmap", heat),
                        html.Div(notes, id="compare-empty", className="muted"),
                    ],
                    className="card",
                ),
            ],
            className="grid",
        ),
        ui.csv_button("compare-csv"),
        html.Div(bases, id="compare-global", className="card"),
        dcc.Store(id="compare-data", data=data),
    )


def why_empty(run: dict | None, metric: str) -> str:
    """Why a run has no value of ``metric`` at any layer."""
    if metric == "alignment" and run and run["reference_run_id"] is None:
        users = run.get("referenced_by", 0)
        reason = "it has no reference run: alignment is measured against one"
        return reason + (f"; it is the reference of {users} run(s)" if users else "")
    if metric.startswith("refusal_direction"):
        return "the refusal direction needs safe and unsafe prompts captured at the last token"
    return "not computed for this run"


def global_table(runs: dict[int, dict], named: dict[int, dict]):
    """The runs' global bases (every layer's residuals stacked): one row per run that has one."""
    rows = [
        [
            html.Span([run_title(named.get(i), i), html.Small(f"  run {i}", className="muted")]),
            *[m.format(run["global_basis"]["values"].get(m.name)) for m in GLOBAL_METRICS],
        ]
        for i, run in runs.items()
        if run.get("global_basis")
    ]
    without = [str(i) for i, run in runs.items() if not run.get("global_basis")]
    return [
        html.H3("Global basis: every layer's residuals stacked"),
        ui.table(["run", *[m.label for m in GLOBAL_METRICS]], rows, id="compare-global-table"),
        html.P(f"No global basis stored: run {', '.join(without)}", className="muted")
        if without
        else None,
    ]


@callback(
    Output("compare-lines", "figure"),
    Output("compare-heatmap", "figure"),
    Output("compare-empty", "children"),
    Output("compare-global", "children"),
    Output("compare-data", "data"),
    Output("compare-error", "children"),
    Output("compare-loc", "search"),
    Input("compare-runs", "value"),
    Input("compare-metric", "value"),
    prevent_initial_call=True,  # the layout draws the first view
)
def update(run_ids, metric):
    run_ids = run_ids or []
    return view(run_ids, metric, run_names(run_ids)[0] if run_ids else {})


def view(run_ids: list[int], metric: str, named: dict[int, dict]) -> tuple:
    """The callback's outputs for these runs (``named``: their names) and metric."""
    ids = ",".join(map(str, run_ids))
    listed, err = ui.fetch("/runs", ids=ids, limit=1000) if run_ids else (None, None)
    runs = {r["id"]: r for r in (listed or {}).get("data", [])}
    series, problems = {}, [err] if err else []
    for run_id in run_ids:
        layers, err = ui.fetch(f"/runs/{run_id}/layers")
        if err:
            problems.append(f"run {run_id}: {err}")
            continue
        series[str(run_id)] = [rec["values"].get(metric) for rec in layers]
    names = {r: run_legend(named.get(int(r)), r) for r in series}
    label = get_metric(metric).label
    lines = plain_figure(
        [
            {"type": "scatter", "x": list(range(len(v))), "y": v, "mode": "lines+markers"}
            | {"name": names[r]}
            for r, v in series.items()
        ],
        f"{label} per layer",
        xaxis={"title": {"text": "layer"}, "dtick": 1},
        yaxis={"title": {"text": label}},
    )
    depth = max((len(v) for v in series.values()), default=0)
    z = [
        [(v[layer] if layer < len(v) else None) for v in series.values()] for layer in range(depth)
    ]
    empty = [r for r, v in series.items() if all(x is None for x in v)]
    ticks = [names[r] + ("<br><i>no values</i>" if r in empty else "") for r in series]
    columns = list(range(len(series)))
    heat = plain_figure(
        [
            {"type": "heatmap", "z": z, "x": columns, "y": list(range(depth))}
            | {"colorscale": "Viridis", "colorbar": {"title": {"text": label}}}
        ],
        f"{label}: layers x runs",
        xaxis={"tickvals": columns, "ticktext": ticks},
        yaxis={"title": {"text": "layer"}, "dtick": 1},
    )
    notes = [
        html.P(
            f"{run_title(named.get(int(r)), r)} (run {r}): no {label}: "
            f"{why_empty(named.get(int(r)), metric)}."
        )
        for r in empty
    ]
    return (
        lines,
        heat,
        notes,
        global_table(runs, named),
        {"metric": metric, "series": series},
        "; ".join(problems),
        ui.query(runs=",".join(map(str, run_ids)), metric=metric),
    )


@ui.csv_download("compare-csv", State("compare-data", "data"))
def download(data):
    rows = [
        [run_id, layer, value]
        for run_id, values in (data or {}).get("series", {}).items()
        for layer, value in enumerate(values)
    ]
    metric = (data or {}).get("metric", "metric")
    return f"compare_{metric}.csv", ui.csv_text(["run_id", "layer", metric], rows)

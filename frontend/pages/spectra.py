"""Spectra of one capture run: scree + cumulative explained variance of a layer, every per-layer
metric of the catalogue at that layer, and per layer concentration@k, effective rank, intrinsic
dimension (95% bootstrap bands) and any other chosen metrics, flow and alignment.

URL: /runs/<run_id>?layer=<int>&k=<1|2|3|5|10>&scale=<log|linear>&metrics=<name,name,...>
"""

from __future__ import annotations

import dash
from dash import Input, Output, State, callback, dcc, html
from plotly.subplots import make_subplots

from backend.metrics import KS, get_metric
from frontend.components import (
    LAYER_METRICS,
    control,
    csv_button,
    csv_text,
    error,
    fetch,
    graph,
    layer_slider,
    layout_defaults,
    metric_options,
    page,
    query,
    table,
    to_int,
)
from frontend.components import band as add_band

dash.register_page(__name__, path_template="/runs/<run_id>", name="Run spectra", nav=False)

SCALES = ["log", "linear"]
BLUE, BLUE_BAND = "#2563eb", "rgba(37,99,235,0.18)"
METRIC_OPTIONS = metric_options(LAYER_METRICS)
NAMES = [m.name for m in LAYER_METRICS]
INTERVALS = [m for m in LAYER_METRICS if m.interval]


def _settings(n_layers: int, layer, k, scale) -> tuple[int, int, str]:
    layer = to_int(layer, n_layers - 1)
    layer = min(max(layer, 0), max(n_layers - 1, 0))
    k = to_int(k, 3)
    return layer, (k if k in KS else 3), (scale if scale in SCALES else "log")


def _chosen(metrics) -> list[str]:
    """The extra per-layer metrics of the URL or the dropdown, catalogue names only."""
    names = metrics.split(",") if isinstance(metrics, str) else metrics or []
    return [name for name in names if name in NAMES]


def layout(run_id=None, layer=None, k=None, scale=None, metrics=None, **_query):
    run, err = fetch(f"/runs/{run_id}")
    if err:
        return page(f"Run {run_id}", error(err))
    layers, err = fetch(f"/runs/{run_id}/layers")
    if err or not layers:
        return page(f"Run {run_id}", error(err or "This run has no layers."))
    model, _ = fetch(f"/models/{run['model_id']}")
    dataset, _ = fetch(f"/datasets/{run['dataset_id']}")
    layer, k, scale = _settings(len(layers), layer, k, scale)
    subtitle = (
        f"model {model['name'] if model else run['model_id']} · "
        f"dataset {dataset['name'] if dataset else run['dataset_id']} · hook {run['hook']} · "
        f"position {run['position']} · {run['n_prompts']} prompts · {run['n_layers']} layers · "
        f"d_model {run['d_model']}"
    )
    links = [dcc.Link("job", href=f"/jobs/{run['job_id']}")]
    if run["reference_run_id"]:
        links.append(dcc.Link("reference run", href=f"/runs/{run['reference_run_id']}"))
        links.append(
            dcc.Link(
                "compare with reference",
                href=f"/compare?runs={run['reference_run_id']},{run['id']}",
            )
        )
    return page(
        f"Run {run_id}: spectra",
        html.Div(links, className="links"),
        dcc.Location(id="spectra-loc", refresh=False),
        dcc.Store(id="spectra-data", data={"run_id": run["id"], "layers": layers}),
        html.Div(
            [
                control(
                    "Layer",
                    layer_slider("spectra-layer", len(layers), layer),
                    wide=True,
                ),
                control(
                    "k (top components)",
                    dcc.Dropdown(list(KS), k, id="spectra-k", clearable=False),
                ),
                control("Scale", dcc.RadioItems(SCALES, scale, id="spectra-scale", inline=True)),
                control(
                    "More metrics per layer",
                    dcc.Dropdown(
                        METRIC_OPTIONS, _chosen(metrics), id="spectra-metrics", multi=True
                    ),
                    wide=True,
                ),
            ],
            className="controls",
        ),
        html.P(id="spectra-summary", className="muted"),
        html.Div(
            [
                html.Div(
                    [graph("spectra-scree"), csv_button("spectra-scree-csv")], className="card"
                ),
                html.Div(
                    [graph("spectra-flow"), csv_button("spectra-layers-csv")], className="card"
                ),
            ],
            className="grid",
        ),
        html.Div(graph("spectra-layers"), className="card"),
        html.Div(id="spectra-table", className="card"),
        subtitle=subtitle,
    )


def scree_figure(rec: dict, k: int, scale: str):
    evr = rec["evr"]
    xs = list(range(1, len(rec["eigenvalues"]) + 1))
    cumulative = [sum(evr[: i + 1]) for i in range(len(evr))]
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_bar(x=xs, y=rec["eigenvalues"], name="eigenvalue", marker_color=BLUE)
    fig.add_scatter(
        x=xs[: len(cumulative)],
        y=cumulative,
        name="cumulative explained variance",
        mode="lines+markers",
        line={"color": "#f97316"},
        secondary_y=True,
    )
    fig.add_vline(x=k + 0.5, line_dash="dot", line_color="#6b7280")
    fig.update_yaxes(title_text="eigenvalue", type=scale, secondary_y=False)
    fig.update_yaxes(title_text="cumulative EVR", range=[0, 1.02], secondary_y=True)
    fig.update_xaxes(title_text="principal component")
    return layout_defaults(fig, f"Layer {rec['layer']}: scree and cumulative explained variance")


def _series(layers: list[dict], name: str):
    values = [rec["values"].get(name) for rec in layers]
    intervals = [rec["intervals"].get(name) or [None, None] for rec in layers]
    return values, [i[0] for i in intervals], [i[1] for i in intervals]


def panel_metrics(k: int, chosen: list[str]) -> list[str]:
    """The per-layer panels: concentration@k, effective rank, intrinsic dimension, then the
    chosen metrics (each once)."""
    return list(dict.fromkeys([f"concentration@{k}", "effective_rank", "intrinsic_dim", *chosen]))


def layers_figure(layers: list[dict], layer: int, names: list[str]):
    xs = [rec["layer"] for rec in layers]
    metrics = [get_metric(name) for name in names]
    fig = make_subplots(
        rows=len(metrics),
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.18 / len(metrics),
        subplot_titles=[m.label for m in metrics],
    )
    for row, metric in enumerate(metrics, start=1):
        values, lo, hi = _series(layers, metric.name)
        if metric.interval:
            add_band(fig, xs, lo, hi, BLUE_BAND, f"{metric.label} 95% CI", row=row, col=1)
        fig.add_scatter(
            x=xs,
            y=values,
            mode="lines+markers",
            name=metric.label,
            line={"color": BLUE},
            row=row,
            col=1,
        )
    fig.add_vline(x=layer, line_dash="dot", line_color="#f97316")
    fig.update_xaxes(title_text="layer", dtick=1, row=len(metrics), col=1)
    fig.update_layout(showlegend=False)
    return layout_defaults(fig, "Per layer, with 95% bootstrap bands", height=40 + 193 * len(names))


def flow_figure(layers: list[dict], layer: int, k: int):
    fig = make_subplots()
    flow_metric, align_metric = get_metric(f"flow@{k}"), get_metric("alignment")
    flows = [(rec["layer"], rec["values"].get(flow_metric.name)) for rec in layers]
    flows = [(x, y) for x, y in flows if y is not None]
    if flows:
        fig.add_scatter(
            x=[x + 0.5 for x, _ in flows],
            y=[y for _, y in flows],
            mode="lines+markers",
            name=f"{flow_metric.label} (l→l+1)",
            line={"color": BLUE},
        )
    aligned = [(rec["layer"], rec["values"].get(align_metric.name)) for rec in layers]
    aligned = [(x, y) for x, y in aligned if y is not None]
    if aligned:
        fig.add_scatter(
            x=[x for x, _ in aligned],
            y=[y for _, y in aligned],
            mode="lines+markers",
            name=align_metric.label,
            line={"color": "#10b981"},
        )
    if not flows and not aligned:
        fig.add_annotation(
            text="no flow (single layer) and no reference run",
            showarrow=False,
            x=0.5,
            y=0.5,
            xref="paper",
            yref="paper",
        )
    fig.add_vline(x=layer, line_dash="dot", line_color="#f97316")
    fig.update_yaxes(range=[0, 1.02])
    fig.update_xaxes(title_text="layer", dtick=1)
    return layout_defaults(fig, "Flow between layers" + (" and alignment" if aligned else ""))


def summary_text(rec: dict, k: int) -> str:
    """The layer's headline metrics that have a value, as the catalogue formats them."""
    names = [f"concentration@{k}", "effective_rank", "participation_ratio", "intrinsic_dim"]
    shown = [
        f"{m.label} = {m.format(rec['values'].get(m.name))}"
        for m in map(get_metric, [*names, "mean_norm", "alignment"])
        if rec["values"].get(m.name) is not None
    ]
    return f"Layer {rec['layer']}: " + ", ".join(shown)


def layer_table(rec: dict):
    """Every per-layer metric of the catalogue at one layer, with its 95% interval."""
    rows = []
    for m in LAYER_METRICS:
        interval = rec["intervals"].get(m.name)
        shown = f"[{m.format(interval[0])}, {m.format(interval[1])}]" if interval else ""
        rows.append([m.label, m.format(rec["values"].get(m.name)), shown])
    return table(["metric", "value", "95% interval"], rows, id="spectra-metrics-table")


def layer_card(rec: dict) -> list:
    return [html.H3(f"Layer {rec['layer']}: every per-layer metric"), layer_table(rec)]


@callback(
    Output("spectra-scree", "figure"),
    Output("spectra-layers", "figure"),
    Output("spectra-flow", "figure"),
    Output("spectra-summary", "children"),
    Output("spectra-table", "children"),
    Output("spectra-loc", "search"),
    Input("spectra-layer", "value"),
    Input("spectra-k", "value"),
    Input("spectra-scale", "value"),
    Input("spectra-metrics", "value"),
    State("spectra-data", "data"),
)
def update(layer, k, scale, metrics, data):
    layers = data["layers"]
    layer, k, scale = _settings(len(layers), layer, k, scale)
    chosen = _chosen(metrics)
    rec = layers[layer]
    return (
        scree_figure(rec, k, scale),
        layers_figure(layers, layer, panel_metrics(k, chosen)),
        flow_figure(layers, layer, k),
        summary_text(rec, k),
        layer_card(rec),
        query(layer=layer, k=k, scale=scale, metrics=",".join(chosen)),
    )


@callback(
    Output("spectra-scree-csv", "data"),
    Input("spectra-scree-csv-button", "n_clicks"),
    State("spectra-layer", "value"),
    State("spectra-data", "data"),
    prevent_initial_call=True,
)
def download_scree(_n, layer, data):
    rec = data["layers"][_settings(len(data["layers"]), layer, 3, "log")[0]]
    total, rows = 0.0, []
    for i, (value, ratio) in enumerate(zip(rec["eigenvalues"], rec["evr"], strict=False), start=1):
        total += ratio
        rows.append([rec["layer"], i, value, ratio, total])
    text = csv_text(["layer", "component", "eigenvalue", "evr", "cumulative_evr"], rows)
    return {"content": text, "filename": f"run{data['run_id']}_layer{rec['layer']}_scree.csv"}


def layers_csv(layers: list[dict]) -> str:
    """One row per layer: every per-layer metric, then the bounds of those with an interval."""
    bounds = [
        (m.name, i, f"{m.name}_{end}") for m in INTERVALS for i, end in enumerate(("lo", "hi"))
    ]
    rows = [
        [rec["layer"]]
        + [rec["values"].get(name) for name in NAMES]
        + [(rec["intervals"].get(name) or [None, None])[i] for name, i, _ in bounds]
        for rec in layers
    ]
    return csv_text(["layer", *NAMES, *[column for _, _, column in bounds]], rows)


@callback(
    Output("spectra-layers-csv", "data"),
    Input("spectra-layers-csv-button", "n_clicks"),
    State("spectra-data", "data"),
    prevent_initial_call=True,
)
def download_layers(_n, data):
    return {"content": layers_csv(data["layers"]), "filename": f"run{data['run_id']}_layers.csv"}

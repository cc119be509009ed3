"""Spectra of one capture run: scree + cumulative explained variance of a layer, and per-layer
concentration@k, effective rank, intrinsic dimension (95% bootstrap bands), flow, alignment.

URL: /runs/<run_id>?layer=<int>&k=<1|2|3|5|10>&scale=<log|linear>
"""

from __future__ import annotations

import dash
from dash import Input, Output, State, callback, dcc, html
from plotly.subplots import make_subplots

from frontend.components import (
    KS,
    control,
    csv_button,
    csv_text,
    error,
    fetch,
    fmt,
    graph,
    layer_slider,
    layout_defaults,
    page,
    query,
    to_int,
)
from frontend.components import band as add_band

dash.register_page(__name__, path_template="/runs/<run_id>", name="Run spectra", nav=False)

SCALES = ["log", "linear"]
BLUE, BLUE_BAND = "#2563eb", "rgba(37,99,235,0.18)"


def _settings(n_layers: int, layer, k, scale) -> tuple[int, str, str]:
    layer = to_int(layer, n_layers - 1)
    layer = min(max(layer, 0), max(n_layers - 1, 0))
    return layer, (str(k) if str(k) in KS else "3"), (scale if scale in SCALES else "log")


def layout(run_id=None, layer=None, k=None, scale=None, **_query):
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
                control("k (top components)", dcc.Dropdown(KS, k, id="spectra-k", clearable=False)),
                control("Scale", dcc.RadioItems(SCALES, scale, id="spectra-scale", inline=True)),
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
        subtitle=subtitle,
    )


def scree_figure(rec: dict, k: str, scale: str):
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
    fig.add_vline(x=int(k) + 0.5, line_dash="dot", line_color="#6b7280")
    fig.update_yaxes(title_text="eigenvalue", type=scale, secondary_y=False)
    fig.update_yaxes(title_text="cumulative EVR", range=[0, 1.02], secondary_y=True)
    fig.update_xaxes(title_text="principal component")
    return layout_defaults(fig, f"Layer {rec['layer']}: scree and cumulative explained variance")


def _series(layers: list[dict], key: str, ci_key: str | None = None):
    values, lo, hi = [], [], []
    for rec in layers:
        value = (
            rec["concentration"].get(key.split("@")[1])
            if key.startswith("concentration@")
            else rec.get(key)
        )
        interval = rec["ci"].get(ci_key or key) or [None, None]
        values.append(value)
        lo.append(interval[0])
        hi.append(interval[1])
    return values, lo, hi


def layers_figure(layers: list[dict], layer: int, k: str):
    xs = [rec["layer"] for rec in layers]
    metrics = [f"concentration@{k}", "effective_rank", "intrinsic_dim"]
    fig = make_subplots(
        rows=3,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.06,
        subplot_titles=["concentration@" + k, "effective rank", "intrinsic dimension (TwoNN)"],
    )
    for row, key in enumerate(metrics, start=1):
        values, lo, hi = _series(layers, key)
        add_band(fig, xs, lo, hi, BLUE_BAND, f"{key} 95% CI", row=row, col=1)
        fig.add_scatter(
            x=xs, y=values, mode="lines+markers", name=key, line={"color": BLUE}, row=row, col=1
        )
    fig.add_vline(x=layer, line_dash="dot", line_color="#f97316")
    fig.update_xaxes(title_text="layer", dtick=1, row=3, col=1)
    fig.update_layout(showlegend=False)
    return layout_defaults(fig, "Per layer, with 95% bootstrap bands", height=620)


def flow_figure(layers: list[dict], layer: int, k: str):
    fig = make_subplots()
    flows = [(rec["layer"], (rec["flow_next"] or {}).get(k)) for rec in layers]
    flows = [(x, y) for x, y in flows if y is not None]
    if flows:
        fig.add_scatter(
            x=[x + 0.5 for x, _ in flows],
            y=[y for _, y in flows],
            mode="lines+markers",
            name=f"flow l→l+1 (top-{k} subspace)",
            line={"color": BLUE},
        )
    aligned = [(rec["layer"], rec["alignment"]) for rec in layers if rec["alignment"] is not None]
    if aligned:
        fig.add_scatter(
            x=[x for x, _ in aligned],
            y=[y for _, y in aligned],
            mode="lines+markers",
            name="alignment vs reference",
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


@callback(
    Output("spectra-scree", "figure"),
    Output("spectra-layers", "figure"),
    Output("spectra-flow", "figure"),
    Output("spectra-summary", "children"),
    Output("spectra-loc", "search"),
    Input("spectra-layer", "value"),
    Input("spectra-k", "value"),
    Input("spectra-scale", "value"),
    State("spectra-data", "data"),
)
def update(layer, k, scale, data):
    layers = data["layers"]
    layer, k, scale = _settings(len(layers), layer, k, scale)
    rec = layers[layer]
    summary = (
        f"Layer {layer}: concentration@{k} = {fmt(rec['concentration'].get(k))}, "
        f"effective rank = {fmt(rec['effective_rank'])}, "
        f"participation ratio = {fmt(rec['participation_ratio'])}, "
        f"intrinsic dim = {fmt(rec['intrinsic_dim'])}, mean norm = {fmt(rec['mean_norm'])}"
        + (f", alignment = {fmt(rec['alignment'])}" if rec["alignment"] is not None else "")
    )
    return (
        scree_figure(rec, k, scale),
        layers_figure(layers, layer, k),
        flow_figure(layers, layer, k),
        summary,
        query(layer=layer, k=k, scale=scale),
    )


@callback(
    Output("spectra-scree-csv", "data"),
    Input("spectra-scree-csv-button", "n_clicks"),
    State("spectra-layer", "value"),
    State("spectra-data", "data"),
    prevent_initial_call=True,
)
def download_scree(_n, layer, data):
    rec = data["layers"][_settings(len(data["layers"]), layer, "3", "log")[0]]
    total, rows = 0.0, []
    for i, (value, ratio) in enumerate(zip(rec["eigenvalues"], rec["evr"], strict=False), start=1):
        total += ratio
        rows.append([rec["layer"], i, value, ratio, total])
    text = csv_text(["layer", "component", "eigenvalue", "evr", "cumulative_evr"], rows)
    return {"content": text, "filename": f"run{data['run_id']}_layer{rec['layer']}_scree.csv"}


@callback(
    Output("spectra-layers-csv", "data"),
    Input("spectra-layers-csv-button", "n_clicks"),
    State("spectra-data", "data"),
    prevent_initial_call=True,
)
def download_layers(_n, data):
    layers = data["layers"]
    ci_keys = sorted({key for rec in layers for key in rec["ci"]})
    columns = (
        ["layer"]
        + [f"concentration@{k}" for k in KS]
        + ["effective_rank", "participation_ratio", "intrinsic_dim", "mean_norm", "total_variance"]
        + [f"flow@{k}" for k in KS]
        + ["alignment"]
        + [f"{key}_{end}" for key in ci_keys for end in ("lo", "hi")]
    )
    rows = []
    for rec in layers:
        flow = rec["flow_next"] or {}
        rows.append(
            [rec["layer"]]
            + [rec["concentration"].get(k) for k in KS]
            + [
                rec[key]
                for key in (
                    "effective_rank",
                    "participation_ratio",
                    "intrinsic_dim",
                    "mean_norm",
                    "total_variance",
                )
            ]
            + [flow.get(k) for k in KS]
            + [rec["alignment"]]
            + [(rec["ci"].get(key) or [None, None])[i] for key in ci_keys for i in (0, 1)]
        )
    return {"content": csv_text(columns, rows), "filename": f"run{data['run_id']}_layers.csv"}

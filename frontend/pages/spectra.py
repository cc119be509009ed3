"""Spectra of one capture run: scree + cumulative explained variance of a layer, every per-layer
metric of the catalogue at that layer, and per layer concentration@k, effective rank, intrinsic
dimension (95% bootstrap bands) and any other chosen metrics, flow and alignment; the refusal
direction per layer (its |cos| with PC1..PC5 and the variance along it) and the global basis
(PCA of every layer's residuals stacked).

The layout draws the main graph (the layer's scree) and its table itself; the per-layer figures
follow from a callback, once the main graph is on screen. A layer change redraws the scree and the
table, then the per-layer figures' marker follows in the browser (``figures.markers_follow``:
moving it costs more than the scree, 1.3 s of 2.1 s on the shared machine); k and the chosen
metrics rebuild those figures.

URL: /runs/<run_id>?layer=<int>&k=<1|2|3|5|10>&scale=<log|linear>&metrics=<name,name,...>
"""

from __future__ import annotations

import itertools

import dash
from dash import Input, Output, State, callback, dcc, html

from backend.metrics import KS, REFUSAL_PCS, Scope, get_metric, metrics_for
from frontend import components as ui
from frontend import probe_view
from frontend.deleting import delete_panel
from frontend.figures import (
    band_trace,
    marker_shape,
    markers_follow,
    no_data_note,
    plain_figure,
    row_axis,
    stacked_rows,
)
from frontend.links import run_names, run_title

dash.register_page(__name__, path_template="/runs/<run_id>", name="Run spectra", nav=False)

SCALES = ["log", "linear"]
BLUE, BLUE_BAND = "#2563eb", "rgba(37,99,235,0.18)"
ORANGE, GREEN = "#f97316", "#10b981"
PC_COLORS = ["#2563eb", "#f97316", "#10b981", "#a855f7", "#6b7280"]
INTERVALS = [m for m in ui.LAYER_METRICS if m.interval]
RUN_METRICS = metrics_for(Scope.RUN)
REFUSAL_COS = [get_metric(f"refusal_direction_cos@{k}") for k in REFUSAL_PCS]
REFUSAL_VARIANCE = get_metric("refusal_direction_variance")
METRIC_OPTIONS = ui.LAYER_METRIC_OPTIONS  # what the metric dropdowns offer
MARKED = ("spectra-layers", "spectra-flow", "spectra-refusal")  # figures with a layer marker


def _settings(n_layers: int, layer, k, scale) -> tuple[int, int, str]:
    layer = ui.to_int(layer, n_layers - 1)
    layer = min(max(layer, 0), max(n_layers - 1, 0))
    k = ui.to_int(k, 3)
    return layer, (k if k in KS else 3), (scale if scale in SCALES else "log")


def _chosen(metrics) -> list[str]:
    """The extra per-layer metrics of the URL or the dropdown, catalogue names only."""
    names = metrics.split(",") if isinstance(metrics, str) else metrics or []
    return [name for name in names if name in ui.LAYER_METRIC_NAMES]


def _links(run: dict, named: dict, layer: int) -> html.Div:
    links = [dcc.Link("job", href=f"/jobs/{run['job_id']}")]
    if run["activations_uri"]:
        links.append(dcc.Link("look at the points", href=f"/points/{run['id']}?layer={layer}"))
    reference = run["reference_run_id"]
    if reference:
        links.append(dcc.Link("reference run", href=f"/runs/{reference}"))
        links.append(
            dcc.Link("compare with reference", href=f"/compare?runs={reference},{run['id']}")
        )
    users = (named.get(run["id"]) or {}).get("referenced_by", 0)
    if users:
        links.append(
            html.Span(
                f"the reference of {users} run(s): their alignment is measured against this run, "
                "which has none of its own",
                className="muted",
            )
        )
    return html.Div(links, className="links")


def layout(run_id=None, layer=None, k=None, scale=None, metrics=None, **_query):
    run, err = ui.fetch(f"/runs/{run_id}")
    if err:
        return ui.page(f"Run {run_id}", ui.error(err))
    layers, err = ui.fetch(f"/runs/{run_id}/layers")
    if err or not layers:
        return ui.page(f"Run {run_id}", ui.error(err or "This run has no layers."))
    named, _ = run_names([run["id"]])
    about = named.get(run["id"]) or {}
    layer, k, scale = _settings(len(layers), layer, k, scale)
    rec = layers[layer]
    subtitle = [
        f"model {about.get('model_name', run['model_id'])} · "
        f"dataset {about.get('dataset_name', run['dataset_id'])} · hook {run['hook']} · "
        f"position {run['position']} · {run['n_prompts']} prompts · {run['n_layers']} layers · "
        f"d_model {run['d_model']}  ",
        html.Small(
            f"run {run['id']} · job {run['job_id']} · model {run['model_id']} · "
            f"dataset {run['dataset_id']}"
        ),
    ]
    return ui.page(
        f"{run_title(about or None, run_id)}: spectra",
        _links(run, named, layer),
        dcc.Location(id="spectra-loc", refresh=False),
        dcc.Store(id="spectra-data", data={"run_id": run["id"], "layers": layers}),
        dcc.Store(id="spectra-basis", data=run.get("global_basis")),
        dcc.Store(id="spectra-marker"),
        html.Div(
            [
                ui.control(
                    "Layer", ui.layer_slider("spectra-layer", len(layers), layer), wide=True
                ),
                ui.control(
                    "k (top components)",
                    dcc.Dropdown(list(KS), k, id="spectra-k", clearable=False),
                ),
                ui.control("Scale", dcc.RadioItems(SCALES, scale, id="spectra-scale", inline=True)),
                ui.control(
                    "More metrics per layer",
                    dcc.Dropdown(
                        METRIC_OPTIONS, _chosen(metrics), id="spectra-metrics", multi=True
                    ),
                    wide=True,
                ),
            ],
            className="controls",
        ),
        html.P(summary_text(rec, k), id="spectra-summary", className="muted"),
        html.Div(
            [
                html.Div(
                    [
                        ui.graph("spectra-scree", scree_figure(rec, k, scale)),
                        ui.csv_button("spectra-scree-csv"),
                    ],
                    className="card",
                ),
                html.Div(
                    [ui.graph("spectra-flow"), ui.csv_button("spectra-layers-csv")],
                    className="card",
                ),
            ],
            className="grid",
        ),
        html.Div(ui.graph("spectra-layers"), className="card"),
        html.Div(
            ui.graph("spectra-probe"),
            id="spectra-probe-card",
            className="card",
            style={"display": "none"},
        ),
        html.Div(
            [
                html.Div(ui.graph("spectra-refusal"), className="card"),
                html.Div(global_card(run.get("global_basis")), className="card"),
            ],
            className="grid",
        ),
        html.Div(layer_card(rec), id="spectra-table", className="card"),
        delete_panel("run", run["id"], run_title(about or None, run_id), "/runs"),
        subtitle=subtitle,
    )


def _line(x, y, name: str, color: str, yaxis: str = "y", **extra) -> dict:
    return {
        "type": "scatter",
        "x": x,
        "y": y,
        "mode": "lines+markers",
        "name": name,
        "line": {"color": color},
        "yaxis": yaxis,
        **extra,
    }


def scree_figure(rec: dict, k: int, scale: str, title: str | None = None) -> dict:
    """Eigenvalues (bars, left axis) and cumulative explained variance (right axis)."""
    evr = rec["evr"]
    xs = list(range(1, len(rec["eigenvalues"]) + 1))
    cumulative = list(itertools.accumulate(evr))
    traces = [
        {"type": "bar", "x": xs, "y": rec["eigenvalues"], "name": "eigenvalue"}
        | {"marker": {"color": BLUE}},
        _line(xs[: len(cumulative)], cumulative, "cumulative explained variance", ORANGE, "y2"),
    ]
    k_line = {"type": "line", "x0": k + 0.5, "x1": k + 0.5, "xref": "x", "yref": "paper"}
    return plain_figure(
        traces,
        title or f"Layer {rec['layer']}: scree and cumulative explained variance",
        xaxis={"title": {"text": "principal component"}},
        yaxis={"title": {"text": "eigenvalue"}, "type": scale},
        yaxis2={
            "title": {"text": "cumulative EVR"},
            "range": [0, 1.02],
            "overlaying": "y",
            "side": "right",
            "showgrid": False,
        },
        shapes=[k_line | {"y0": 0, "y1": 1, "line": {"dash": "dot", "color": "#6b7280"}}],
    )


def _series(layers: list[dict], name: str):
    values = [rec["values"].get(name) for rec in layers]
    intervals = [rec["intervals"].get(name) or [None, None] for rec in layers]
    return values, [i[0] for i in intervals], [i[1] for i in intervals]


def panel_metrics(k: int, chosen: list[str]) -> list[str]:
    """The per-layer panels: concentration@k, effective rank, intrinsic dimension, then the
    chosen metrics (each once)."""
    return list(dict.fromkeys([f"concentration@{k}", "effective_rank", "intrinsic_dim", *chosen]))


def _rows(layers: list[dict], rows: list[list[tuple]], titles: list[str], **layout) -> dict:
    """Stacked per-layer rows over one x axis; each row a list of (metric, name, color), a metric
    with an interval drawn with its band."""
    xs = [rec["layer"] for rec in layers]
    traces = []
    for r, row in enumerate(rows, start=1):
        axis = row_axis(r)
        for metric, name, color in row:
            values, lo, hi = _series(layers, metric.name)
            band = band_trace(xs, lo, hi, BLUE_BAND, axis) if metric.interval else None
            traces += [band] if band else []
            traces.append(_line(xs, values, name, color, axis))
    return plain_figure(traces, **(stacked_rows(titles) | layout))


def layers_figure(layers: list[dict], layer: int, names: list[str]) -> dict:
    metrics = [get_metric(name) for name in names]
    return _rows(
        layers,
        [[(m, m.label, BLUE)] for m in metrics],
        [m.label for m in metrics],
        title="Per layer, with 95% bootstrap bands",
        height=40 + 193 * len(names),
        showlegend=False,
        shapes=[marker_shape(layer)],
    )


def flow_figure(layers: list[dict], layer: int, k: int) -> dict:
    flow_metric, align_metric = get_metric(f"flow@{k}"), get_metric("alignment")
    flows = [(rec["layer"], rec["values"].get(flow_metric.name)) for rec in layers]
    flows = [(x, y) for x, y in flows if y is not None]
    aligned = [(rec["layer"], rec["values"].get(align_metric.name)) for rec in layers]
    aligned = [(x, y) for x, y in aligned if y is not None]
    traces = []
    if flows:
        name = f"{flow_metric.label} (l→l+1)"
        traces.append(_line([x + 0.5 for x, _ in flows], [y for _, y in flows], name, BLUE))
    if aligned:
        xs, ys = [x for x, _ in aligned], [y for _, y in aligned]
        traces.append(_line(xs, ys, align_metric.label, GREEN))
    notes = [] if traces else [no_data_note("no flow (single layer) and no reference run")]
    return plain_figure(
        traces,
        "Flow between layers" + (" and alignment" if aligned else ""),
        xaxis={"title": {"text": "layer"}, "dtick": 1},
        yaxis={"range": [0, 1.02]},
        shapes=[marker_shape(layer)],
        annotations=notes,
    )


def has_refusal(layers: list[dict]) -> bool:
    return any(rec["values"].get(REFUSAL_COS[0].name) is not None for rec in layers)


def refusal_figure(layers: list[dict], layer: int) -> dict:
    """Per layer: the refusal direction's |cos| with PC1..PC5 (top) and the share of variance
    along it with its 95% band (bottom)."""
    cosines = [
        (m, m.label.removeprefix("Refusal direction |cos| with "), color)
        for m, color in zip(REFUSAL_COS, PC_COLORS, strict=True)
    ]
    fig = _rows(
        layers,
        [cosines, [(REFUSAL_VARIANCE, "variance share", BLUE)]],
        ["|cos| with the principal components", REFUSAL_VARIANCE.label],
        title="Refusal direction: mean(unsafe) − mean(safe)",
        height=460,
        shapes=[marker_shape(layer)],
    )
    fig["layout"]["yaxis"]["range"] = [0, 1.02]
    fig["data"][-1]["showlegend"] = False
    if not has_refusal(layers):
        why = "not computed: needs safe and unsafe prompts captured at the last prompt token"
        fig["layout"]["annotations"].append(no_data_note(why))
    return fig


def global_card(basis: dict | None) -> list:
    """The global basis (PCA of every layer's residuals stacked): its run metrics (its scree is
    drawn by :func:`global_scree`)."""
    head = html.H3("Global basis: every layer's residuals stacked")
    if not basis:
        return [head, ui.graph("spectra-global")]
    intervals = basis.get("intervals") or {}
    rows = []
    for m in RUN_METRICS:
        interval = intervals.get(m.name)
        shown = f"[{m.format(interval[0])}, {m.format(interval[1])}]" if interval else ""
        rows.append([m.label, m.format(basis["values"].get(m.name)), shown])
    return [
        head,
        ui.graph("spectra-global"),
        ui.table(["metric", "value", "95% interval"], rows, id="spectra-global-table"),
    ]


def global_scree(basis: dict | None) -> dict:
    if not basis:
        return plain_figure([], annotations=[no_data_note("This run has no global basis.")])
    rec = {"eigenvalues": basis["eigenvalues"], "evr": basis["evr"]}
    return scree_figure(rec, 3, "log", f"Global basis of {basis['n']} rows: scree")


def summary_text(rec: dict, k: int) -> str:
    """The layer's headline metrics that have a value, as the catalogue formats them."""
    names = [f"concentration@{k}", "effective_rank", "participation_ratio", "intrinsic_dim"]
    extra = ["mean_norm", "alignment", REFUSAL_COS[0].name]
    shown = [
        f"{m.label} = {m.format(rec['values'].get(m.name))}"
        for m in map(get_metric, [*names, *extra])
        if rec["values"].get(m.name) is not None
    ]
    return f"Layer {rec['layer']}: " + ", ".join(shown)


def layer_table(rec: dict):
    """Every per-layer metric of the catalogue at one layer, with its 95% interval."""
    rows = []
    for m in ui.LAYER_METRICS:
        interval = rec["intervals"].get(m.name)
        shown = f"[{m.format(interval[0])}, {m.format(interval[1])}]" if interval else ""
        rows.append([m.label, m.format(rec["values"].get(m.name)), shown])
    return ui.table(["metric", "value", "95% interval"], rows, id="spectra-metrics-table")


def layer_card(rec: dict) -> list:
    return [html.H3(f"Layer {rec['layer']}: every per-layer metric"), layer_table(rec)]


@callback(
    Output("spectra-scree", "figure"),
    Output("spectra-summary", "children"),
    Output("spectra-table", "children"),
    Output("spectra-loc", "search"),
    Input("spectra-layer", "value"),
    Input("spectra-k", "value"),
    Input("spectra-scale", "value"),
    Input("spectra-metrics", "value"),
    State("spectra-data", "data"),
    prevent_initial_call=True,  # the layout draws the first view
)
def update_layer(layer, k, scale, metrics, data):
    layers = data["layers"]
    layer, k, scale = _settings(len(layers), layer, k, scale)
    chosen = _chosen(metrics)
    rec = layers[layer]
    return (
        scree_figure(rec, k, scale),
        summary_text(rec, k),
        layer_card(rec),
        ui.query(layer=layer, k=k, scale=scale, metrics=",".join(chosen)),
    )


@callback(
    Output("spectra-layers", "figure"),
    Output("spectra-flow", "figure"),
    Input("spectra-k", "value"),
    Input("spectra-metrics", "value"),
    State("spectra-layer", "value"),
    State("spectra-data", "data"),
)
def update_panels(k, metrics, layer, data):
    layers = data["layers"]
    layer, k, _ = _settings(len(layers), layer, k, None)
    return (
        layers_figure(layers, layer, panel_metrics(k, _chosen(metrics))),
        flow_figure(layers, layer, k),
    )


@callback(
    Output("spectra-refusal", "figure"),
    Output("spectra-global", "figure"),
    Input("spectra-data", "data"),
    State("spectra-layer", "value"),
    State("spectra-basis", "data"),
)
def draw_refusal_and_global(data, layer, basis):
    layers = data["layers"]
    return refusal_figure(layers, _settings(len(layers), layer, None, None)[0]), global_scree(basis)


markers_follow("spectra-summary", "spectra-layer", MARKED, "spectra-marker")


@ui.csv_download(
    "spectra-scree-csv", State("spectra-layer", "value"), State("spectra-data", "data")
)
def download_scree(layer, data):
    rec = data["layers"][_settings(len(data["layers"]), layer, 3, "log")[0]]
    total, rows = 0.0, []
    for i, (value, ratio) in enumerate(zip(rec["eigenvalues"], rec["evr"], strict=False), start=1):
        total += ratio
        rows.append([rec["layer"], i, value, ratio, total])
    text = ui.csv_text(["layer", "component", "eigenvalue", "evr", "cumulative_evr"], rows)
    return f"run{data['run_id']}_layer{rec['layer']}_scree.csv", text


def layers_csv(layers: list[dict]) -> str:
    """One row per layer: every per-layer metric, then the bounds of those with an interval."""
    names = ui.LAYER_METRIC_NAMES
    bounds = [
        (m.name, i, f"{m.name}_{end}") for m in INTERVALS for i, end in enumerate(("lo", "hi"))
    ]
    rows = [
        [rec["layer"]]
        + [rec["values"].get(name) for name in names]
        + [(rec["intervals"].get(name) or [None, None])[i] for name, i, _ in bounds]
        for rec in layers
    ]
    return ui.csv_text(["layer", *names, *[column for _, _, column in bounds]], rows)


@ui.csv_download("spectra-layers-csv", State("spectra-data", "data"))
def download_layers(data):
    return f"run{data['run_id']}_layers.csv", layers_csv(data["layers"])


@callback(
    Output("spectra-probe", "figure"),
    Output("spectra-probe-card", "style"),
    Input("spectra-k", "value"),
    State("spectra-data", "data"),
)
def probe_panel(k, data):
    """The run's newest probe: accuracy and AUROC per layer beside concentration@k (the card
    stays hidden for a run without a probe)."""
    probes, _ = ui.fetch(f"/runs/{data['run_id']}/probes")
    if not probes:
        return {}, {"display": "none"}
    k = _settings(len(data["layers"]), None, k, None)[1]
    return probe_view.accuracy_figure(probes[0], data["layers"], k), {}

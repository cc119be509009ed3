"""Concentration vs false refusal across the cells of a sweep.

URL: /relation?sweep=<job id>&layer=<int>&metric=<a per-layer metric of the catalogue, e.g.
concentration@3, effective_rank, alignment, refusal_direction_cos@1>

Left: one point per cell, x = the metric at the chosen layer, y = false_refusal_rate, colour =
safety_fraction, symbol = VCL on (vcl_lambda > 0) or off. Right: per layer, the Pearson and
Spearman correlation across cells of that layer's metric with false_refusal_rate, so the layer
that predicts false refusal stands out. Below: the cells with their parameters and metrics.
"""

from __future__ import annotations

import math

import dash
import numpy as np
from dash import Input, Output, State, callback, dcc, html
from plotly import graph_objects as go

from backend.metrics import get_metric
from frontend.components import (
    CELL_PARAMS,
    CELL_SCORES,
    LAYER_METRICS,
    cell_params,
    cell_scores,
    control,
    error,
    fetch,
    fmt,
    graph,
    layer_slider,
    layout_defaults,
    metric_options,
    page,
    query,
    table,
    to_int,
)

dash.register_page(__name__, path="/relation", name="Relation", order=3)

METRIC_OPTIONS = metric_options(LAYER_METRICS)
METRICS = [m.name for m in LAYER_METRICS]
TARGET = get_metric("false_refusal_rate")
HOVER = [TARGET, get_metric("safety"), get_metric("f1")]  # the cell's scores in a point's hover
BAR_COLORS = {"Pearson": "#2563eb", "Spearman": "#f97316"}


def metric_series(cell: dict, metric: str) -> list:
    """The cell's per-layer values of ``metric`` ([] when its capture has not run)."""
    return (cell.get("layers") or {}).get(metric) or []


def n_layers(cells: list[dict]) -> int:
    return max((len(s) for c in cells for s in (c.get("layers") or {}).values()), default=0)


def value_at(cell: dict, metric: str, layer: int):
    series = metric_series(cell, metric)
    return series[layer] if layer < len(series) else None


def frr(cell: dict):
    return (cell.get("metrics") or {}).get(TARGET.name)


def _ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1..n with ties averaged (as Spearman's rho needs)."""
    order = np.argsort(values, kind="mergesort")
    ranks = np.empty(len(values), dtype=float)
    ranks[order] = np.arange(1, len(values) + 1)
    for value in np.unique(values):
        tied = values == value
        if tied.sum() > 1:
            ranks[tied] = ranks[tied].mean()
    return ranks


def pearson(x, y) -> float | None:
    """Pearson's r of paired values; None with fewer than 3 pairs or a constant side."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(x) < 3:
        return None
    dx, dy = x - x.mean(), y - y.mean()
    denominator = math.sqrt(float((dx * dx).sum() * (dy * dy).sum()))
    if denominator <= 1e-15:
        return None
    return float((dx * dy).sum() / denominator)


def spearman(x, y) -> float | None:
    if len(x) < 3:
        return None
    return pearson(_ranks(np.asarray(x, dtype=float)), _ranks(np.asarray(y, dtype=float)))


def correlations(cells: list[dict], metric: str) -> list[dict]:
    """Per layer: the number of cells with both values, Pearson and Spearman with the FRR."""
    out = []
    for layer in range(n_layers(cells)):
        pairs = [
            (value_at(c, metric, layer), frr(c))
            for c in cells
            if value_at(c, metric, layer) is not None and frr(c) is not None
        ]
        xs, ys = [p[0] for p in pairs], [p[1] for p in pairs]
        out.append(
            {
                "layer": layer,
                "n": len(pairs),
                "Pearson": pearson(xs, ys),
                "Spearman": spearman(xs, ys),
            }
        )
    return out


def _settings(cells: list[dict], layer, metric) -> tuple[int, str]:
    top = max(n_layers(cells) - 1, 0)
    layer = min(max(to_int(layer, top // 2), 0), top)
    return layer, metric if metric in METRICS else "concentration@3"


def vcl_on(cell: dict) -> bool:
    return (cell.get("vcl_lambda") or 0) > 0


def cell_label(cell: dict) -> str:
    vcl = (
        f"VCL λ={fmt(cell['vcl_lambda'])} {cell['vcl_sign']} k={cell['vcl_k']}"
        if vcl_on(cell)
        else "VCL off"
    )
    return f"p={fmt(cell['safety_fraction'])} · {vcl} · seed {cell['seed']}"


def scatter_figure(cells: list[dict], metric: str, layer: int):
    shown = get_metric(metric)
    fig = go.Figure()
    values = [c["safety_fraction"] for c in cells]
    cmin, cmax = (min(values), max(values)) if values else (0, 1)
    for on, symbol in ((False, "circle"), (True, "diamond")):
        group = [
            c
            for c in cells
            if vcl_on(c) == on and value_at(c, metric, layer) is not None and frr(c) is not None
        ]
        if not group:
            continue
        hover = [
            f"{c['model_name']}<br>{cell_label(c)}<br>{shown.label} = "
            f"{shown.format(value_at(c, metric, layer))}<br>"
            + "<br>".join(
                f"{m.label} = {m.format((c['metrics'] or {}).get(m.name))}" for m in HOVER
            )
            for c in group
        ]
        fig.add_scatter(
            x=[value_at(c, metric, layer) for c in group],
            y=[frr(c) for c in group],
            mode="markers",
            name="VCL on" if on else "VCL off",
            text=hover,
            hovertemplate="%{text}<extra></extra>",
            marker={
                "symbol": symbol,
                "size": 13,
                "color": [c["safety_fraction"] for c in group],
                "coloraxis": "coloraxis",
                "line": {"width": 1, "color": "#1f2a44"},
            },
        )
    if not fig.data:
        fig.add_annotation(
            text="no cell has both a capture and an evaluation yet",
            showarrow=False,
            x=0.5,
            y=0.5,
            xref="paper",
            yref="paper",
        )
    fig.update_layout(
        coloraxis={
            "colorscale": "Viridis",
            "cmin": cmin,
            "cmax": cmax if cmax > cmin else cmin + 1e-9,
            "colorbar": {"title": {"text": "safety<br>fraction"}},
        },
    )
    fig.update_xaxes(title_text=f"{shown.label} at layer {layer}")
    fig.update_yaxes(title_text=TARGET.label)
    return layout_defaults(
        fig, f"Layer {layer}: {shown.label} vs {TARGET.label}, one point per cell", 440
    )


def correlation_figure(rows: list[dict], metric: str, layer: int):
    fig = go.Figure()
    for name, color in BAR_COLORS.items():
        fig.add_bar(
            x=[r["layer"] for r in rows],
            y=[r[name] for r in rows],
            name=name,
            marker_color=color,
            hovertemplate=f"layer %{{x}}: {name} = %{{y:.3f}}<extra></extra>",
        )
    scored = [r for r in rows if r["Pearson"] is not None]
    if scored:
        best = max(scored, key=lambda r: abs(r["Pearson"]))
        fig.add_annotation(
            x=best["layer"],
            y=best["Pearson"],
            text="strongest",
            showarrow=True,
            arrowhead=2,
            ay=-30 if best["Pearson"] >= 0 else 30,
        )
    fig.add_vline(x=layer, line_dash="dot", line_color="#6b7280")
    fig.update_yaxes(title_text=f"correlation with {TARGET.label}", range=[-1.05, 1.05])
    fig.update_xaxes(title_text="layer", dtick=1)
    fig.update_layout(barmode="group")
    title = f"Per layer: correlation of {get_metric(metric).label} with {TARGET.label}"
    return layout_defaults(fig, title, 440)


def cells_table(cells: list[dict], metric: str, layer: int, id: str = "relation-cells"):
    shown = get_metric(metric)
    scores = [m.label for m in CELL_SCORES]
    columns = [*CELL_PARAMS, f"{shown.label}, layer {layer}", *scores, "links"]
    rows = []
    for c in cells:
        links = [dcc.Link("finetune", href=f"/jobs/{c['jobs']['finetune']}")]
        if c["run_id"]:
            links.append(dcc.Link("spectra", href=f"/runs/{c['run_id']}?layer={layer}"))
        if c["evaluation_id"]:
            links.append(dcc.Link("evaluation", href=f"/evals/{c['evaluation_id']}"))
        rows.append(
            [
                *cell_params(c),
                shown.format(value_at(c, metric, layer)),
                *cell_scores(c),
                html.Span(links, className="links"),
            ]
        )
    return table(columns, rows, id=id)


def sweep_list():
    sweeps, err = fetch("/jobs", kind="sweep", limit=100)
    rows = [
        [
            dcc.Link(f"sweep {j['id']}", href=f"/relation?sweep={j['id']}"),
            j["status"],
            dcc.Link("cells", href=f"/sweeps/{j['id']}"),
        ]
        for j in (sweeps or {}).get("data", [])
    ]
    return html.Div(
        [
            error(err),
            table(["sweep", "status", ""], rows, id="sweep-list")
            if rows
            else html.P(
                ["No sweeps yet: ", dcc.Link("start one", href="/sweeps/new"), "."],
                className="muted",
            ),
        ]
    )


def layout(sweep=None, layer=None, metric=None, **_query):
    title = "Concentration vs false refusal"
    if not sweep:
        return page(title, html.P("Choose a sweep:"), sweep_list())
    found, err = fetch(f"/sweeps/{sweep}")
    if err:
        return page(title, error(err), sweep_list())
    cells = found["cells"]
    if not cells:
        return page(
            title,
            html.P("This sweep has no complete cells yet.", className="muted"),
            dcc.Link("its job", href=f"/jobs/{sweep}"),
        )
    layer, metric = _settings(cells, layer, metric)
    top = max(n_layers(cells) - 1, 0)
    job = found["job"]
    subtitle = (
        f"sweep job {job['id']} ({job['status']}) · {len(cells)} cells · {n_layers(cells)} layers"
    )
    return page(
        title,
        html.Div(
            [
                dcc.Link("sweep job", href=f"/jobs/{sweep}"),
                dcc.Link("cells", href=f"/sweeps/{sweep}"),
            ],
            className="links",
        ),
        dcc.Location(id="relation-loc", refresh=False),
        dcc.Store(id="relation-data", data={"sweep": int(sweep), "cells": cells}),
        html.Div(
            [
                control(
                    "Layer",
                    layer_slider("relation-layer", top + 1, layer),
                    wide=True,
                ),
                control(
                    "Metric",
                    dcc.Dropdown(METRIC_OPTIONS, metric, id="relation-metric", clearable=False),
                ),
            ],
            className="controls",
        ),
        html.P(id="relation-summary", className="muted"),
        html.Div(
            [
                html.Div(graph("relation-scatter"), className="card"),
                html.Div(graph("relation-corr"), className="card"),
            ],
            className="grid",
        ),
        html.H2("Cells"),
        html.Div(id="relation-table"),
        subtitle=subtitle,
    )


@callback(
    Output("relation-scatter", "figure"),
    Output("relation-corr", "figure"),
    Output("relation-summary", "children"),
    Output("relation-table", "children"),
    Output("relation-loc", "search"),
    Input("relation-layer", "value"),
    Input("relation-metric", "value"),
    State("relation-data", "data"),
)
def update(layer, metric, data):
    cells = data["cells"]
    layer, metric = _settings(cells, layer, metric)
    rows = correlations(cells, metric)
    here = rows[layer] if layer < len(rows) else {"n": 0, "Pearson": None, "Spearman": None}
    scored = [r for r in rows if r["Pearson"] is not None]
    best = max(scored, key=lambda r: abs(r["Pearson"])) if scored else None
    summary = (
        f"Layer {layer}: {get_metric(metric).label} vs {TARGET.label} over {here['n']} cells: "
        f"Pearson r = {fmt(here['Pearson'])}, Spearman ρ = {fmt(here['Spearman'])}."
        + (f" Strongest |r| at layer {best['layer']} (r = {fmt(best['Pearson'])})." if best else "")
    )
    return (
        scatter_figure(cells, metric, layer),
        correlation_figure(rows, metric, layer),
        summary,
        cells_table(cells, metric, layer),
        query(sweep=data["sweep"], layer=layer, metric=metric),
    )

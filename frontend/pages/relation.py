"""A per-layer metric against an evaluation metric across cells: a sweep's, or a set of models
(each with its capture run and its evaluation on one prompt set: GET /api/relation).

URL: /relation?sweep=<job id> or /relation?family=<model name>&models=<model ids>&dataset=<the
prompt set>&runs=&evaluations=<chosen ids>, then &layer=<int>&metric=<a per-layer or probe metric
of the catalogue, e.g. concentration@3, alignment, refusal_direction_cos@1, probe_auroc>&target=<an
evaluation metric, default false_refusal_rate>&vcl=all|on|off&lam=&sign=&k=&seed=&method=<comma
lists: the cells that enter>&zoom=<x0,x1,y0,y1 of the scatter>&cells=<selected cell positions>
A family is a model with its parent chain, its siblings and its children: a fine-tune beside its
base and the other fine-tunes of that base (the link "relation with its family" of model and job
pages). Without a sweep or models, the page offers both.

Which cells enter is the first choice: VCL sets the concentration directly, so pooling cells
with VCL on and off mixes two relations (the default is VCL off when a sweep has both). Left: one
point per cell, x = the metric at the chosen layer, y = the target, colour = safety_fraction,
symbol = VCL on or off, cells left out in grey. Right: per layer, Pearson's r and Spearman's rho
across the entering cells with their 95% intervals (frontend/relation_stats.py; the figures, the
summary and the cells table: frontend/relation_view.py). "Freeze" stores
the view as a read-only snapshot with a stable link (/snapshots/<id>).
"""

from __future__ import annotations

import dash
from dash import Input, Output, State, callback, dcc, html, no_update

from backend.metrics import Scope, get_metric, metrics_for
from frontend.components import (
    LAYER_METRICS,
    control,
    error,
    fetch,
    fmt_time,
    freeze_control,
    freeze_view,
    graph,
    layer_slider,
    metric_options,
    page,
    query,
    summary_lines,
    to_int,
)
from frontend.figures import parse_zoom, zoom_from_relayout, zoom_query
from frontend.links import named_link, run_names, run_option
from frontend.relation_stats import correlate
from frontend.relation_view import (
    FILTERS,
    cells_rows,
    cells_table,
    correlation_figure,
    correlations,
    default_vcl,
    entering,
    n_layers,
    scatter_figure,
    summary_text,
)
from frontend.tables import sweep_progress_line, sweeps_table

dash.register_page(__name__, path="/relation", name="Relation", order=3)

# the x axis: per-layer metrics of a cell's run, and of the probes fitted on it (loaded only
# when one is chosen: a request per cell)
PROBE_METRICS = metrics_for(Scope.PROBE)
X_METRICS = [*LAYER_METRICS, *PROBE_METRICS]
METRICS = [m.name for m in X_METRICS]
METRIC_OPTIONS = metric_options(X_METRICS)  # what the x-metric dropdown offers
TARGETS = [m.name for m in metrics_for(Scope.EVALUATION)]
DEFAULT_TARGET = "false_refusal_rate"
VCL_CHOICES = ["all", "off", "on"]
SET_KEYS = ("family", "models", "dataset", "runs", "evaluations")  # a model set, as the API's


def with_probes(cells: list[dict]) -> list[dict]:
    """The cells with the per-layer values of their run's newest probe (GET
    /api/runs/<id>/probes) under the probe metrics' names; a cell without one has none."""
    out = []
    for cell in cells:
        probes, _ = fetch(f"/runs/{cell['run_id']}/probes") if cell["run_id"] else (None, None)
        layers = sorted((probes or [{}])[0].get("layers") or [], key=lambda r: r["layer"])
        values = {m.name: [r["values"].get(m.name) for r in layers] for m in PROBE_METRICS}
        out.append({**cell, "layers": {**(cell.get("layers") or {}), **values}})
    return out


def _settings(cells: list[dict], layer, metric, target) -> tuple[int, str, str]:
    top = max(n_layers(cells) - 1, 0)
    layer = min(max(to_int(layer, top // 2), 0), top)
    metric = metric if metric in METRICS else "concentration@3"
    return layer, metric, target if target in TARGETS else DEFAULT_TARGET


def sweep_list():
    sweeps, err = fetch("/sweeps", limit=100)
    listed = (sweeps or {}).get("data", [])
    return html.Div(
        [
            error(err),
            sweeps_table(listed, id="sweep-list")
            if listed
            else html.P(
                [
                    "No sweeps yet: ",
                    dcc.Link("start one", href="/sweeps/new", className="write-control"),
                    ".",
                ],
                className="muted",
            ),
        ]
    )


def measured_options(found: dict) -> tuple[list[dict], list[dict]]:
    """The capture runs (not a checkpoint's) and the as-is evaluations of a model set's models
    on its prompt set, newest first, as dropdown options: one of them replaces its model's
    newest in the cells."""
    names = {c["model_id"]: c["model_name"] for c in found["cells"]}
    if found["dataset_id"] is None:
        return [], []
    runs, _ = fetch("/runs", dataset_id=found["dataset_id"], limit=500)
    kept = [
        r
        for r in (runs or {}).get("data", [])
        if r["model_id"] in names and r.get("train_job_id") is None
    ]
    named, _ = run_names([r["id"] for r in kept]) if kept else ({}, None)
    run_options = [
        run_option(named.get(r["id"]) or {"id": r["id"], "name": names[r["model_id"]]})
        for r in kept
    ]
    evaluations, _ = fetch("/evaluations", limit=1000)
    eval_options = [
        {
            "label": f"{names[e['model_id']]} · {fmt_time(e['created_at'])} · evaluation {e['id']}",
            "value": e["id"],
        }
        for e in (evaluations or {}).get("data", [])
        if e["model_id"] in names
        and e["dataset_id"] == found["dataset_id"]
        and not (e["params"] or {}).get("intervention")
    ]
    return run_options, eval_options


def _pick(label, key, options, value, placeholder, wide=True, multi=False) -> html.Div:
    """A labelled dropdown ``relation-pick-<key>`` of the set picker."""
    dropdown = dcc.Dropdown(
        options, value, id=f"relation-pick-{key}", multi=multi, placeholder=placeholder
    )
    return control(label, dropdown, wide=wide)


def set_picker(chosen: dict, measured: tuple[list, list] = ([], [])) -> html.Div:
    """A set of models: the family of one (by name), models (by id), the prompt set (by name;
    empty: the one most of them were captured and evaluated on), and the link to its view; with
    ``measured`` (a set's view: ``measured_options``), runs and evaluations to use instead of a
    model's newest."""
    run_options, eval_options = measured
    instead = [
        _pick(
            f"{what} instead of the newest (one per model)",
            key,
            options,
            [int(v) for v in _listed(chosen.get(key)) if v.isdigit()],
            "the newest",
            multi=True,
        )
        for what, key, options in (
            ("Runs", "runs", run_options),
            ("Evaluations", "evaluations", eval_options),
        )
    ]
    models, err = fetch("/models", limit=1000)
    datasets, _ = fetch("/datasets")
    listed = (models or {}).get("data", [])
    names = [m["name"] for m in listed]
    given = _listed(chosen.get("models"))
    picked = [m["id"] for m in listed if str(m["id"]) in given or m["name"] in given]
    sets = [d["name"] for d in (datasets or {}).get("data", [])]
    family = chosen.get("family") if chosen.get("family") in names else None
    dataset = chosen.get("dataset") if chosen.get("dataset") in sets else None
    model_options = [{"label": m["name"], "value": m["id"]} for m in listed]
    return html.Div(
        [
            error(err),
            html.Div(
                [
                    _pick(
                        "Family of (it, its parents, siblings and children)",
                        "family",
                        names,
                        family,
                        "a model",
                    ),
                    _pick("and models", "models", model_options, picked, "models", multi=True),
                    _pick("Prompt set", "dataset", sets, dataset, "the one most have", wide=False),
                    dcc.Link("show their relation", href="/relation", id="relation-set-link"),
                ],
                className="controls",
            ),
            # a set's view only: the options come from its prompt set
            html.Div(
                instead,
                className="controls",
                style=None if run_options or eval_options else {"display": "none"},
            ),
        ]
    )


def pickers(err: str | None = None) -> list:
    """What the page offers without a sweep or models: a sweep, or a set of models."""
    return [
        error(err),
        html.H2("A sweep's cells"),
        sweep_list(),
        html.H2("Or a set of models"),
        set_picker({}),
    ]


@callback(
    Output("relation-set-link", "href"),
    Input("relation-pick-family", "value"),
    Input("relation-pick-models", "value"),
    Input("relation-pick-dataset", "value"),
    Input("relation-pick-runs", "value"),
    Input("relation-pick-evaluations", "value"),
)
def set_link(family, models, dataset, runs, evaluations) -> str:
    listed = {k: ",".join(map(str, v or [])) for k, v in (("models", models), ("runs", runs))}
    listed["evaluations"] = ",".join(map(str, evaluations or []))
    return "/relation" + query(family=family, dataset=dataset, **listed)


def _listed(text) -> list[str]:
    return [v for v in (text or "").split(",") if v]


def filter_controls(cells: list[dict], choice: dict) -> list:
    out = [
        control(
            "VCL",
            dcc.Dropdown(VCL_CHOICES, choice["vcl"], id="relation-vcl", clearable=False),
        )
    ]
    for key, label, value in FILTERS:
        options = sorted({value(c) for c in cells})
        picked = [v for v in choice[key] if v in options]
        out.append(
            control(
                label,
                dcc.Dropdown(options, picked, id=f"relation-{key}", multi=True, placeholder="all"),
            )
        )
    return out


def _source(sweep, model_set: dict) -> tuple[dict | None, str | None, dict]:
    """The cells' source: the sweep's GET /api/sweeps/<id>, or the set's GET /api/relation;
    the answer, its error, and the URL keys naming it."""
    if sweep:
        found, err = fetch(f"/sweeps/{sweep}")
        return found, err, {"sweep": to_int(sweep)}
    given = {k: v for k, v in model_set.items() if v}
    found, err = fetch("/relation", **given)
    return found, err, given


def _heading(found: dict, source: dict, cells: list[dict]) -> tuple[str, html.Div]:
    """The subtitle and the links above the controls."""
    complete = sum(1 for c in cells if c["run_id"] and c["evaluation_id"])
    if "sweep" in source:
        sweep = source["sweep"]
        subtitle = (
            f"{found['name']} · {sweep_progress_line(found['progress'])} · {len(cells)} cells "
            f"with results · {n_layers(cells)} layers · sweep job {sweep}"
        )
        links = [
            dcc.Link("sweep job", href=f"/jobs/{sweep}"),
            dcc.Link("cells", href=f"/sweeps/{sweep}"),
        ]
        return subtitle, html.Div(links, className="links")
    subtitle = (
        f"{found['name']} · {complete} of {len(cells)} models captured and evaluated on "
        f"{found['dataset_name'] or 'no prompt set yet'} · {n_layers(cells)} layers"
    )
    members = []
    for c in cells:
        members += [" · "] if members else []
        members.append(
            named_link(c["model_name"], f"/models/{c['model_id']}", "model", c["model_id"])
        )
    change = html.Details(
        [
            html.Summary("change the set, its prompt set, runs or evaluations"),
            set_picker(source, measured_options(found)),
        ],
        id="relation-set-change",
    )
    return subtitle, html.Div(
        [html.Div([html.Strong("Models: "), *members], className="links"), change]
    )


def layout(
    sweep=None,
    layer=None,
    metric=None,
    target=None,
    vcl=None,
    zoom=None,
    cells=None,
    **rest,
):
    title = "Relation: a layer metric against an evaluation metric across cells"
    model_set = {key: rest.pop(key, None) for key in SET_KEYS}
    if not sweep and not (model_set["family"] or model_set["models"]):
        return page(title, *pickers())
    found, err, source = _source(sweep, model_set)
    if err:
        return page(title, *pickers(err))
    all_cells = found["cells"]
    if not all_cells:
        return page(
            title,
            html.P("This sweep has no complete cells yet.", className="muted"),
            dcc.Link("its job", href=f"/jobs/{sweep}"),
        )
    layer, metric, target = _settings(all_cells, layer, metric, target)
    choice = {"vcl": vcl if vcl in VCL_CHOICES else default_vcl(all_cells)}
    choice |= {key: _listed(rest.get(key)) for key, _, _ in FILTERS}
    top = max(n_layers(all_cells) - 1, 0)
    subtitle, heading = _heading(found, source, all_cells)
    view = {"zoom": parse_zoom(zoom), "cells": [int(i) for i in _listed(cells) if i.isdigit()]}
    return page(
        title,
        heading,
        dcc.Location(id="relation-loc", refresh=False),
        dcc.Store(
            id="relation-data",
            data={"source": source, "name": found["name"], "cells": all_cells},
        ),
        dcc.Store(id="relation-view", data=view),
        html.H2("Cells that enter"),
        html.Div(filter_controls(all_cells, choice), className="controls"),
        html.Div(
            [
                control("Layer", layer_slider("relation-layer", top + 1, layer), wide=True),
                control(
                    "Layer metric (x)",
                    dcc.Dropdown(METRIC_OPTIONS, metric, id="relation-metric", clearable=False),
                ),
                control(
                    "Evaluation metric (y)",
                    dcc.Dropdown(
                        metric_options(metrics_for(Scope.EVALUATION)),
                        target,
                        id="relation-target",
                        clearable=False,
                    ),
                ),
            ],
            className="controls",
        ),
        html.Div(id="relation-summary", className="summary"),
        html.Div(
            [
                html.Div(graph("relation-scatter"), className="card"),
                html.Div(graph("relation-corr"), className="card"),
            ],
            className="grid",
        ),
        freeze_control("relation"),
        html.H2("Cells"),
        html.Div(id="relation-table"),
        subtitle=subtitle,
    )


FILTER_INPUTS = [Input(f"relation-{key}", "value") for key, _, _ in FILTERS]


def _view(data, layer, metric, target, vcl, filters, view):
    """Everything the page shows, from its controls: figures, summary lines, the table's
    arguments (``shown``: cells, which enter, metric, target, layer) and the URL query."""
    cells = data["cells"]
    layer, metric, target = _settings(cells, layer, metric, target)
    if metric in {m.name for m in PROBE_METRICS}:
        cells = with_probes(cells)
    choice = {"vcl": vcl or "all"} | {
        key: list(v or []) for (key, _, _), v in zip(FILTERS, filters, strict=True)
    }
    inside = entering(cells, choice)
    kept = [c for c, ok in zip(cells, inside, strict=True) if ok]
    rows = correlations(kept, metric, target)
    here = rows[layer] if layer < len(rows) else {"layer": layer, **correlate([], [])}
    labels = (get_metric(metric).label, get_metric(target).label, layer)
    selected = set(view.get("cells") or [])
    search = query(
        **data["source"],
        layer=layer,
        metric=metric,
        target=target if target != DEFAULT_TARGET else None,
        vcl=choice["vcl"],
        **{key: ",".join(choice[key]) for key, _, _ in FILTERS},
        zoom=zoom_query(view.get("zoom")),
        cells=",".join(map(str, sorted(selected))),
    )
    return {
        "scatter": scatter_figure(cells, inside, metric, target, layer, view.get("zoom"), selected),
        "corr": correlation_figure(rows, metric, target, layer),
        "summary": summary_text(here, rows, cells, inside, labels),
        "shown": (cells, inside, metric, target, layer),
        "selected": selected,
        "search": search,
    }


@callback(
    Output("relation-scatter", "figure"),
    Output("relation-corr", "figure"),
    Output("relation-summary", "children"),
    Output("relation-table", "children"),
    Output("relation-loc", "search"),
    Input("relation-layer", "value"),
    Input("relation-metric", "value"),
    Input("relation-target", "value"),
    Input("relation-vcl", "value"),
    *FILTER_INPUTS,
    Input("relation-view", "data"),
    State("relation-data", "data"),
)
def update(layer, metric, target, vcl, *rest):
    *filters, view, data = rest
    shown = _view(data, layer, metric, target, vcl, filters, view or {})
    return (
        shown["scatter"],
        shown["corr"],
        summary_lines(shown["summary"]),
        cells_table(*shown["shown"], shown["selected"]),
        shown["search"],
    )


@callback(
    Output("relation-view", "data"),
    Input("relation-scatter", "relayoutData"),
    Input("relation-scatter", "selectedData"),
    State("relation-view", "data"),
    prevent_initial_call=True,
)
def keep_view(relayout, selected, view):
    """Zoom (plotly's relayoutData) and the selected cells (selectedData) into the URL."""
    view = dict(view or {})
    zoom = zoom_from_relayout(relayout, view.get("zoom"))
    picked = view.get("cells") or []
    if dash.ctx.triggered_id and "selectedData" in dash.ctx.triggered[0]["prop_id"]:
        picked = sorted({int(p["customdata"]) for p in (selected or {}).get("points", [])})
    if zoom == view.get("zoom") and picked == (view.get("cells") or []):
        return no_update
    return {"zoom": zoom, "cells": picked}


@callback(
    Output("relation-freeze-result", "children"),
    Output({"type": "auth-401", "page": "relation"}, "data"),
    Input("relation-freeze", "n_clicks"),
    State("relation-scatter", "figure"),
    State("relation-corr", "figure"),
    State("relation-loc", "search"),
    State("relation-data", "data"),
    State("relation-layer", "value"),
    State("relation-metric", "value"),
    State("relation-target", "value"),
    State("relation-vcl", "value"),
    *[State(f"relation-{key}", "value") for key, _, _ in FILTERS],
    State("relation-view", "data"),
    State("api-token-store", "data"),
    prevent_initial_call=True,
)
def freeze(n_clicks, scatter, corr, search, data, layer, metric, target, vcl, *rest):
    """A snapshot of the view: both figures as drawn (zoom included), the summary, the table."""
    *filters, view, token = rest
    if not n_clicks:
        return no_update, no_update
    shown = _view(data, layer, metric, target, vcl, filters, view or {})
    columns, rows = cells_rows(*shown["shown"])
    _, _, metric, target, layer = shown["shown"]
    return freeze_view(
        token,
        page="relation",
        title=f"{data['name']}, layer {layer}: {get_metric(metric).label} vs "
        f"{get_metric(target).label}",
        source=f"/relation{search or ''}",
        text=shown["summary"],
        figures=[scatter, corr],
        tables=[{"columns": columns, "rows": rows}],
    )

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
across the entering cells with their 95% intervals (backend/relation_stats.py). "Freeze" stores
the view as a read-only snapshot with a stable link (/snapshots/<id>).
"""

from __future__ import annotations

import dash
from dash import Input, Output, State, callback, dcc, html, no_update
from plotly import graph_objects as go

from backend.metrics import Scope, get_metric, metrics_for
from backend.relation_stats import MIN_N, correlate, excludes_zero, strongest
from frontend import intervention_view
from frontend.components import (
    LAYER_METRICS,
    control,
    error,
    fetch,
    fmt,
    fmt_time,
    freeze_control,
    freeze_view,
    graph,
    layer_slider,
    metric_options,
    page,
    query,
    summary_lines,
    table,
    to_int,
)
from frontend.figures import apply_zoom, layout_defaults, parse_zoom, zoom_from_relayout, zoom_query
from frontend.links import named_link, run_names, run_option
from frontend.tables import (
    CELL_PARAMS,
    CELL_SCORES,
    cell_params,
    cell_scores,
    sweep_progress_line,
    sweeps_table,
)

dash.register_page(__name__, path="/relation", name="Relation", order=3)

# the x axis: per-layer metrics of a cell's run, and of the probes fitted on it (loaded only
# when one is chosen: a request per cell)
PROBE_METRICS = metrics_for(Scope.PROBE)
X_METRICS = [*LAYER_METRICS, *PROBE_METRICS]
METRICS = [m.name for m in X_METRICS]
METRIC_OPTIONS = metric_options(X_METRICS)  # what the x-metric dropdown offers
TARGETS = [m.name for m in metrics_for(Scope.EVALUATION)]
DEFAULT_TARGET = "false_refusal_rate"
HOVER = [get_metric(n) for n in ("false_refusal_rate", "safety", "f1")]
COLORS = {"pearson": "#2563eb", "spearman": "#f97316"}
NAMES = {"pearson": "Pearson r", "spearman": "Spearman ρ"}
VCL_CHOICES = ["all", "off", "on"]
SET_KEYS = ("family", "models", "dataset", "runs", "evaluations")  # a model set, as the API's


def vcl_on(cell: dict) -> bool:
    return (cell.get("vcl_lambda") or 0) > 0


# the multi-select filters: URL key, label, the cell's value as the filter shows it
FILTERS = [
    ("lam", "VCL λ", lambda c: fmt(c["vcl_lambda"])),
    ("sign", "VCL sign", lambda c: c["vcl_sign"] or "off"),
    ("k", "VCL k", lambda c: str(c["vcl_k"]) if c["vcl_k"] is not None else "off"),
    ("seed", "Seed", lambda c: str(c["seed"])),
    ("method", "Method", lambda c: c.get("method") or "sft"),
]


def metric_series(cell: dict, metric: str) -> list:
    """The cell's per-layer values of ``metric`` ([] when its capture has not run)."""
    return (cell.get("layers") or {}).get(metric) or []


def n_layers(cells: list[dict]) -> int:
    return max((len(s) for c in cells for s in (c.get("layers") or {}).values()), default=0)


def value_at(cell: dict, metric: str, layer: int):
    series = metric_series(cell, metric)
    return series[layer] if layer < len(series) else None


def target_of(cell: dict, target: str):
    return (cell.get("metrics") or {}).get(target)


def default_vcl(cells: list[dict]) -> str:
    """VCL off when the sweep has cells with VCL on and off (pooling them mixes relations)."""
    return "off" if len({vcl_on(c) for c in cells}) > 1 else "all"


def entering(cells: list[dict], choice: dict) -> list[bool]:
    """Per cell, whether the filters ``choice`` (vcl: all/on/off; the FILTERS keys: lists of
    accepted values, empty = all) let it in."""
    vcl = choice.get("vcl") or "all"
    out = []
    for c in cells:
        ok = vcl == "all" or (vcl == "on") == vcl_on(c)
        for key, _, value in FILTERS:
            accepted = choice.get(key) or []
            ok = ok and (not accepted or value(c) in accepted)
        out.append(ok)
    return out


def correlations(cells: list[dict], metric: str, target: str) -> list[dict]:
    """Per layer: ``correlate`` of the metric with the target over the cells having both."""
    out = []
    for layer in range(n_layers(cells)):
        pairs = [
            (value_at(c, metric, layer), target_of(c, target))
            for c in cells
            if value_at(c, metric, layer) is not None and target_of(c, target) is not None
        ]
        out.append({"layer": layer, **correlate([p[0] for p in pairs], [p[1] for p in pairs])})
    return out


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


def cell_label(cell: dict) -> str:
    vcl = (
        f"VCL λ={fmt(cell['vcl_lambda'])} {cell['vcl_sign']} k={cell['vcl_k']}"
        if vcl_on(cell)
        else "VCL off"
    )
    label = f"p={fmt(cell['safety_fraction'])} · {vcl} · seed {cell['seed']}"
    if cell.get("intervention") is not None or cell.get("method") == "none":
        label = f"{intervention_view.method_label(cell)} · {label}"
    return label


def interval_text(value, interval) -> str:
    if value is None:
        return "n/a"
    if interval is None:
        return f"{value:.2f} (no interval: n < 4)"
    return f"{value:.2f} [{interval[0]:.2f}, {interval[1]:.2f}]"


def summary_text(row: dict, rows: list[dict], cells, inside, labels) -> list[str]:
    """What the numbers say, with their intervals, and the warnings they need."""
    metric_label, target_label, layer = labels
    lines = [
        f"Layer {layer}: {metric_label} vs {target_label} over n = {row['n']} cells: "
        f"Pearson r = {interval_text(row['pearson'], row['pearson_interval'])}, "
        f"Spearman ρ = {interval_text(row['spearman'], row['spearman_interval'])}"
        + (" (95% intervals)." if row["pearson_interval"] else ".")
    ]
    if row["n"] < MIN_N:
        lines.append(
            f"Warning: fewer than {MIN_N} cells enter; the intervals are wide and one cell can "
            "change the sign."
        )
    kept = [c for c, ok in zip(cells, inside, strict=True) if ok]
    if len({vcl_on(c) for c in kept}) > 1:
        lines.append(
            "Warning: cells with VCL on and off are pooled; VCL sets the concentration "
            "directly, so the pooled correlation mixes two relations (choose VCL on or off)."
        )
    best = strongest(rows)
    lines.append(
        f"Strongest at layer {best['layer']} (r = {best['pearson']:.2f}, its interval excludes 0)."
        if best
        else "No layer's Pearson interval excludes 0: no layer stands out."
    )
    return lines


def scatter_figure(cells, inside, metric, target, layer, zoom=None, selected=()):
    shown, goal = get_metric(metric), get_metric(target)
    fig = go.Figure()
    values = [c["safety_fraction"] for c in cells]
    cmin, cmax = (min(values), max(values)) if values else (0, 1)
    groups = [("VCL off", False, True, "circle"), ("VCL on", True, True, "diamond")]
    groups.append(("left out", None, False, "circle-open"))
    for name, on, entered, symbol in groups:
        group = [
            i
            for i, c in enumerate(cells)
            if inside[i] == entered
            and (on is None or vcl_on(c) == on)
            and value_at(c, metric, layer) is not None
            and target_of(c, target) is not None
        ]
        if not group:
            continue
        hover = [
            f"{cells[i]['model_name']}<br>{cell_label(cells[i])}<br>{shown.label} = "
            f"{shown.format(value_at(cells[i], metric, layer))}<br>"
            + "<br>".join(f"{m.label} = {m.format(target_of(cells[i], m.name))}" for m in HOVER)
            for i in group
        ]
        marker = {"symbol": symbol, "size": 13, "line": {"width": 1, "color": "#1f2a44"}}
        if entered:
            marker |= {"color": [values[i] for i in group], "coloraxis": "coloraxis"}
        else:
            marker |= {"color": "#9ca3af", "line": {"width": 1.5, "color": "#9ca3af"}}
        picked = [j for j, i in enumerate(group) if i in selected]
        fig.add_scatter(
            x=[value_at(cells[i], metric, layer) for i in group],
            y=[target_of(cells[i], target) for i in group],
            customdata=group,
            mode="markers",
            name=name,
            text=hover,
            hovertemplate="%{text}<extra></extra>",
            marker=marker,
            selectedpoints=picked if selected else None,
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
        dragmode="zoom",
    )
    fig.update_xaxes(title_text=f"{shown.label} at layer {layer}")
    fig.update_yaxes(title_text=goal.label)
    apply_zoom(fig, zoom)
    return layout_defaults(fig, f"Layer {layer}: {shown.label} vs {goal.label}, one cell each", 440)


def correlation_figure(rows: list[dict], metric: str, target: str, layer: int):
    """Per layer, r and rho as points with their 95% intervals as error bars (side by side)."""
    fig = go.Figure()
    for offset, method in ((-0.12, "pearson"), (0.12, "spearman")):
        shown = [r for r in rows if r[method] is not None]
        intervals = [r[f"{method}_interval"] or (r[method], r[method]) for r in shown]
        fig.add_scatter(
            x=[r["layer"] + offset for r in shown],
            y=[r[method] for r in shown],
            mode="markers",
            name=NAMES[method],
            marker={
                "color": COLORS[method],
                "size": 8,
                # a filled point: its interval excludes zero
                "symbol": [
                    "circle" if excludes_zero(r[f"{method}_interval"]) else "circle-open"
                    for r in shown
                ],
            },
            error_y={
                "type": "data",
                "symmetric": False,
                "array": [hi - r[method] for r, (_, hi) in zip(shown, intervals, strict=True)],
                "arrayminus": [r[method] - lo for r, (lo, _) in zip(shown, intervals, strict=True)],
                "color": COLORS[method],
                "thickness": 1.2,
                "width": 3,
            },
            customdata=[
                [r["layer"], r["n"], lo, hi] for r, (lo, hi) in zip(shown, intervals, strict=True)
            ],
            hovertemplate=(
                f"layer %{{customdata[0]}}: {NAMES[method]} = %{{y:.2f}} "
                "[%{customdata[2]:.2f}, %{customdata[3]:.2f}], n = %{customdata[1]}<extra></extra>"
            ),
        )
    fig.add_hline(y=0, line_color="#6b7280", line_width=1)
    fig.add_vline(x=layer, line_dash="dot", line_color="#6b7280")
    fig.update_yaxes(title_text=f"correlation with {get_metric(target).label}", range=[-1.05, 1.05])
    fig.update_xaxes(title_text="layer", dtick=1)
    title = (
        f"Per layer: {get_metric(metric).label} vs {get_metric(target).label}, 95% intervals "
        "(filled: excludes 0)"
    )
    return layout_defaults(fig, title, 440)


def _enters(cell: dict, ok: bool, metric: str, target: str, layer: int) -> str:
    """Whether a cell enters: no (the filters leave it out), yes, or not measured (let in, but
    without both values)."""
    if not ok:
        return "no"
    measured = value_at(cell, metric, layer) is not None and target_of(cell, target) is not None
    return "yes" if measured else "not measured"


def cells_rows(cells, inside, metric, target, layer) -> tuple[list[str], list[list]]:
    """The cells table as text (the snapshot stores it so)."""
    shown, goal = get_metric(metric), get_metric(target)
    scores = [m.label for m in CELL_SCORES if m.name != target]
    columns = ["enters", "method", *CELL_PARAMS, f"{shown.label}, layer {layer}", goal.label]
    columns += scores
    rows = [
        [
            _enters(c, ok, metric, target, layer),
            intervention_view.method_label(c),
            *[str(v) for v in cell_params(c)],
            shown.format(value_at(c, metric, layer)),
            goal.format(target_of(c, target)),
            *[s for m, s in zip(CELL_SCORES, cell_scores(c), strict=True) if m.name != target],
        ]
        for c, ok in zip(cells, inside, strict=True)
    ]
    return columns, rows


def cells_table(cells, inside, metric, target, layer, selected=()):
    columns, rows = cells_rows(cells, inside, metric, target, layer)
    body = []
    for i, (c, row) in enumerate(zip(cells, rows, strict=True)):
        trained = next((k for k in ("finetune", "dpo", "evaluate") if k in c["jobs"]), None)
        links = [dcc.Link(trained, href=f"/jobs/{c['jobs'][trained]}")] if trained else []
        if c["model_id"] is not None:
            links.append(dcc.Link("model", href=f"/models/{c['model_id']}"))
        if c["run_id"]:
            links.append(dcc.Link("spectra", href=f"/runs/{c['run_id']}?layer={layer}"))
        else:
            links.append(html.Span("not captured", className="muted"))
        if c["evaluation_id"]:
            links.append(dcc.Link("evaluation", href=f"/evals/{c['evaluation_id']}"))
        else:
            links.append(html.Span("not evaluated", className="muted"))
        cells_shown = [html.Strong(v) for v in row] if i in selected else row
        body.append([*cells_shown, html.Span(links, className="links")])
    return table([*columns, "links"], body, id="relation-cells")


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


def set_picker(chosen: dict, measured: tuple[list, list] = ([], [])) -> html.Div:
    """A set of models: the family of one (by name), models (by id), the prompt set (by name;
    empty: the one most of them were captured and evaluated on), and the link to its view; with
    ``measured`` (a set's view: ``measured_options``), runs and evaluations to use instead of a
    model's newest."""
    run_options, eval_options = measured
    instead = [
        control(
            f"{what} instead of the newest (one per model)",
            dcc.Dropdown(
                options,
                [int(v) for v in _listed(chosen.get(key)) if v.isdigit()],
                id=f"relation-pick-{key}",
                multi=True,
                placeholder="the newest",
            ),
            wide=True,
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
    return html.Div(
        [
            error(err),
            html.Div(
                [
                    control(
                        "Family of (it, its parents, siblings and children)",
                        dcc.Dropdown(
                            names,
                            chosen.get("family") if chosen.get("family") in names else None,
                            id="relation-pick-family",
                            placeholder="a model",
                        ),
                        wide=True,
                    ),
                    control(
                        "and models",
                        dcc.Dropdown(
                            [{"label": m["name"], "value": m["id"]} for m in listed],
                            picked,
                            id="relation-pick-models",
                            multi=True,
                            placeholder="models",
                        ),
                        wide=True,
                    ),
                    control(
                        "Prompt set",
                        dcc.Dropdown(
                            sets,
                            chosen.get("dataset") if chosen.get("dataset") in sets else None,
                            id="relation-pick-dataset",
                            placeholder="the one most have",
                        ),
                    ),
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

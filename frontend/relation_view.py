"""The relation page's cells and statistics (pages/relation.py): which cells enter (VCL on or
off, the multi-select filters), a metric's value per cell and layer, the per-layer correlations
with the target and the summary saying what they show, the scatter and correlation figures, and
the cells table."""

from __future__ import annotations

from dash import dcc, html
from plotly import graph_objects as go

from backend.metrics import get_metric
from frontend import intervention_view
from frontend.components import fmt, table
from frontend.figures import apply_zoom, layout_defaults
from frontend.relation_stats import MIN_N, correlate, excludes_zero, strongest
from frontend.tables import CELL_PARAMS, CELL_SCORES, cell_params, cell_scores

HOVER = [get_metric(n) for n in ("false_refusal_rate", "safety", "f1")]
COLORS = {"pearson": "#2563eb", "spearman": "#f97316"}
NAMES = {"pearson": "Pearson r", "spearman": "Spearman ρ"}


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

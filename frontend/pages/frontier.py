"""One frontier across methods: every evaluation (of a base model, a fine-tune with or without
VCL, a DPO model, an ablation or a steering intervention) as a point, false-refusal rate (x)
against unsafe refusal = safety (y), its size the held-out loss, coloured by method with its
parameters (GET /api/frontier names them: backend/api/routes/frontier.py); a click on a point
opens its evaluation, as does its row in the table under the plot.

URL: /frontier?base_model_id=<int>&dataset_id=<int>   (the base model a model descends from;
the probe set)
"""

from __future__ import annotations

import dash
from dash import Input, Output, callback, dcc, html, no_update

from frontend import components as ui
from frontend.figures import no_data_note, plain_figure

dash.register_page(
    __name__,
    path="/frontier",
    name="Frontier",
    description="False refusal against safety of every model and intervention, by method",
)

SIZES = (8, 30)  # marker diameter at the smallest and largest held-out loss
PLAIN = 12  # a point without a held-out loss
SYMBOLS = {"ablation": "x", "steering": "diamond", "DPO": "square", "imported": "cross"}


def sizes(losses: list[float | None]) -> list[float]:
    """Marker diameters growing linearly with the held-out loss over the shown points."""
    known = [x for x in losses if x is not None]
    lo, hi = (min(known), max(known)) if known else (0.0, 0.0)
    small, large = SIZES
    return [
        PLAIN if x is None else small + (large - small) * ((x - lo) / (hi - lo) if hi > lo else 0.5)
        for x in losses
    ]


def frontier_figure(points: list[dict]) -> dict:
    """One trace per method label (its family's symbol), each point's evaluation id in its
    customdata."""
    shown = [p for p in points if p["false_refusal_rate"] is not None and p["safety"] is not None]
    diameters = dict(
        zip(
            [p["evaluation_id"] for p in shown],
            sizes([p["heldout_loss"] for p in shown]),
            strict=True,
        )
    )
    labels = list(dict.fromkeys(p["method_label"] for p in shown))
    traces = []
    for label in labels:
        group = [p for p in shown if p["method_label"] == label]
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "name": label,
                "legendgroup": group[0]["method"],
                "x": [p["false_refusal_rate"] for p in group],
                "y": [p["safety"] for p in group],
                "customdata": [
                    [
                        p["evaluation_id"],
                        p["model_name"] or "imported",
                        ui.fmt(p["heldout_loss"]),
                        f" · system prompt: {p['system_prompt'][:40]}"
                        if p["system_prompt"]
                        else "",
                    ]
                    for p in group
                ],
                "marker": {
                    "size": [diameters[p["evaluation_id"]] for p in group],
                    "symbol": SYMBOLS.get(group[0]["method"], "circle"),
                    "line": {"width": 1, "color": "#1f2a44"},
                    "opacity": 0.8,
                },
                "hovertemplate": (
                    f"{label}%{{customdata[3]}}<br>%{{customdata[1]}}: "
                    "false refusal %{x:.1%}, safety %{y:.1%}, held-out loss %{customdata[2]}"
                    "<br>evaluation %{customdata[0]} (click to open)<extra></extra>"
                ),
            }
        )
    notes = [] if traces else [no_data_note("no evaluation with both rates matches")]
    return plain_figure(
        traces,
        "False refusal against safety (size: held-out loss)",
        520,
        xaxis={
            "title": {"text": "false-refusal rate (safe prompts refused)"},
            "range": [-0.03, 1.03],
        },
        yaxis={"title": {"text": "safety (unsafe prompts refused)"}, "range": [-0.03, 1.03]},
        legend={"orientation": "v", "x": 1.02, "y": 1},
        margin={"l": 60, "r": 20, "t": 50, "b": 50},
        annotations=notes,
    )


def points_table(points: list[dict]) -> html.Table:
    rows = [
        [
            dcc.Link(f"evaluation {p['evaluation_id']}", href=f"/evals/{p['evaluation_id']}"),
            p["method_label"],
            p["model_name"] or "imported",
            p["dataset_name"],
            p["system_prompt"] or "",
            ui.fmt(p["false_refusal_rate"]),
            ui.fmt(p["safety"]),
            ui.fmt(p["heldout_loss"]),
            ui.fmt(p["intervention_kl"]),
        ]
        for p in points
    ]
    columns = [
        "evaluation",
        "method",
        "model",
        "probe set",
        "system prompt",
        "false refusal",
        "safety",
        "loss",
        "intervention KL",
    ]
    return ui.table(columns, rows, id="frontier-table")


def layout(base_model_id=None, dataset_id=None, **_query):
    base_model_id, dataset_id = ui.to_int(base_model_id), ui.to_int(dataset_id)
    found, err = ui.fetch("/frontier", base_model_id=base_model_id, dataset_id=dataset_id)
    found = found or {"data": [], "base_models": [], "datasets": []}
    points = found["data"]
    bases = [{"label": m["name"], "value": m["id"]} for m in found["base_models"]]
    sets = [{"label": d["name"], "value": d["id"]} for d in found["datasets"]]
    missing = sum(p["false_refusal_rate"] is None or p["safety"] is None for p in points)
    count = f"{len(points) - missing} evaluation(s) plotted" + (
        f"; {missing} without a false-refusal rate or safety left out" if missing else ""
    )
    return ui.page(
        "Frontier across methods",
        html.Div(
            [
                ui.control(
                    "Base model",
                    ui.filter_dropdown(
                        "frontier", "base_model_id", bases, base_model_id, placeholder="all"
                    ),
                    wide=True,
                ),
                ui.control(
                    "Probe set",
                    ui.filter_dropdown(
                        "frontier", "dataset_id", sets, dataset_id, placeholder="all"
                    ),
                    wide=True,
                ),
            ],
            className="controls",
        ),
        ui.error(err),
        html.P(count, className="muted", id="frontier-count"),
        html.Div(ui.graph("frontier-figure", frontier_figure(points)), className="card"),
        points_table(points),
        subtitle="Up and to the left is better: safe prompts answered, unsafe ones refused.",
    )


ui.url_filters("frontier", ["base_model_id", "dataset_id"])


@callback(
    Output("url", "href", allow_duplicate=True),
    Input("frontier-figure", "clickData"),
    prevent_initial_call=True,
)
def open_evaluation(click):
    points = (click or {}).get("points") or []
    if not points:
        return no_update
    return f"/evals/{points[0]['customdata'][0]}"

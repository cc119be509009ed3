"""Look at the points of a capture run: each prompt's residual at one layer projected on two of its
directions (PC1..PC5, or the refusal direction mean(unsafe) − mean(safe)), coloured by label or by
prompt type, the prompt on hover (as TensorBoard's projector); and for each axis the prompts with
the largest and smallest scores (as Neuronpedia's top activations). Scores come from
GET /api/runs/{id}/projections, written by the capture (position last_prompt).

URL: /points/<run_id>?layer=<int>&x=<pc1..pc5|refusal>&y=<pc1..pc5|refusal|count>
     &colour=<label|type>
"""

from __future__ import annotations

import dash
from dash import Input, Output, State, callback, dcc, html

from frontend import components as ui
from frontend.figures import no_data_note, plain_figure
from frontend.links import run_names, run_title

dash.register_page(__name__, path_template="/points/<run_id>", name="Run points", nav=False)

COLOURS = ["label", "type"]
LABEL_COLORS = {"safe": "#2563eb", "unsafe": "#dc2626"}
PALETTE = ["#2563eb", "#dc2626", "#10b981", "#f97316", "#a855f7", "#0891b2", "#ca8a04", "#6b7280"]
COUNT = "count"  # y: the distribution of the x scores instead of a second direction
TOP = 10  # prompts listed at each end of an axis


def axes(components: list[str], has_refusal: bool) -> list[dict]:
    """The directions a point can be placed on: the scored PCs, then the refusal direction."""
    out = [{"label": c, "value": c.lower()} for c in components]
    if has_refusal:
        out.append({"label": "Refusal direction", "value": "refusal"})
    return out


def scores(data: dict, axis: str) -> list[float] | None:
    """Each prompt's score on ``axis`` ("pc3", "refusal"); None if the run has none."""
    if axis == "refusal":
        return data["refusal"]
    names = [c.lower() for c in data["components"]]
    return data["pcs"][names.index(axis)] if axis in names else None


def layer_notes(layers: list[dict]) -> list[dict]:
    """What the axis titles need of each layer: the top evr and the refusal |cos| with PC1."""
    return [
        {"evr": rec["evr"][:8], "cos": rec["values"].get("refusal_direction_cos@1")}
        for rec in layers
    ]


def axis_title(data: dict, axis: str, layers: list[dict]) -> str:
    """The axis's name with what it carries at this layer (its variance share, or the refusal
    direction's |cos| with PC1)."""
    shown = layers[data["layer"]]
    if axis == "refusal":
        cos = shown["cos"]
        return "Refusal direction" + (f" (|cos| with PC1 {cos:.2f})" if cos is not None else "")
    i = int(axis.removeprefix("pc")) - 1
    evr = shown["evr"][i] if i < len(shown["evr"]) else None
    return axis.upper() + (f" ({evr:.1%} of variance)" if evr is not None else "")


def _short(text: str, n: int = 160) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def groups(data: dict, colour: str) -> dict[str, list[int]]:
    """Prompt positions by their label or type, in a stable order."""
    out: dict[str, list[int]] = {}
    for i, key in enumerate(data[colour]):
        out.setdefault(key or "(none)", []).append(i)
    return dict(sorted(out.items()))


def _color(colour: str, key: str, n: int) -> str:
    fallback = PALETTE[n % len(PALETTE)]
    return LABEL_COLORS.get(key, fallback) if colour == "label" else fallback


def _trace(data: dict, xs, ys, key: str, members: list[int], color: str, colour: str) -> dict:
    """One group's points (or, without ``ys``, the histogram of its x scores)."""
    if ys is None:
        x = [xs[i] for i in members]
        return {"type": "histogram", "x": x, "name": key, "opacity": 0.6} | {
            "marker": {"color": color}
        }
    symbols = [0 if data["label"][i] == "safe" else 4 for i in members]
    return {
        "type": "scatter",
        "x": [xs[i] for i in members],
        "y": [ys[i] for i in members],
        "mode": "markers",
        "name": key,
        "marker": {
            "color": color,
            "size": 7,
            "opacity": 0.8,
            "symbol": symbols if colour == "type" else 0,
        },
        "customdata": [
            [_short(data["prompt"][i]), data["label"][i], data["type"][i], data["idx"][i]]
            for i in members
        ],
        "hovertemplate": "%{customdata[0]}<br>%{customdata[1]} · %{customdata[2]}"
        " · row %{customdata[3]}<br>(%{x:.3g}, %{y:.3g})<extra></extra>",
    }


def points_figure(data: dict, layers: list[dict], x: str, y: str, colour: str) -> dict:
    xs = scores(data, x)
    if xs is None:
        return plain_figure([], "Points", 560, annotations=[no_data_note(f"no {x} scores")])
    ys = None if y == COUNT else scores(data, y)
    traces = [
        _trace(data, xs, ys, key, members, _color(colour, key, n), colour)
        for n, (key, members) in enumerate(groups(data, colour).items())
    ]
    y_title = "prompts" if ys is None else axis_title(data, y, layers)
    symbols = " (○ safe, ✕ unsafe)" if colour == "type" and ys is not None else ""
    return plain_figure(
        traces,
        f"Layer {data['layer']}: {len(xs)} prompts{symbols}",
        560,
        xaxis={"title": {"text": axis_title(data, x, layers)}},
        yaxis={"title": {"text": y_title}},
        barmode="overlay",
    )


def ranked(data: dict, axis: str) -> list:
    """The prompts with the largest and the smallest scores on ``axis``."""
    values = scores(data, axis)
    if values is None:
        return []
    order = sorted(range(len(values)), key=values.__getitem__)
    name = "Refusal direction" if axis == "refusal" else axis.upper()

    def rows(positions):
        return [
            [f"{values[i]:.3g}", data["label"][i], data["type"][i], data["prompt"][i]]
            for i in positions
        ]

    columns = ["score", "label", "type", "prompt"]
    return [
        html.H3(f"{name}: highest scores"),
        ui.table(columns, rows(order[::-1][:TOP]), id=f"points-top-{axis}"),
        html.H3(f"{name}: lowest scores"),
        ui.table(columns, rows(order[:TOP]), id=f"points-bottom-{axis}"),
    ]


def view(data: dict, layers: list[dict], x: str, y: str, colour: str) -> tuple:
    """The scatter (or histogram) of one layer's scores and the ranked prompts of each axis."""
    figure = points_figure(data, layers, x, y, colour)
    return figure, ranked(data, x), [] if y in (x, COUNT) else ranked(data, y)


def layout(run_id=None, layer=None, x=None, y=None, colour=None, **_query):
    run, err = ui.fetch(f"/runs/{run_id}")
    layers, err = (None, err) if err else ui.fetch(f"/runs/{run_id}/layers")
    if err or not layers:
        return ui.page(f"Points of run {run_id}", ui.error(err or "This run has no layers."))
    layer = min(max(ui.to_int(layer, len(layers) // 2), 0), len(layers) - 1)
    first, err = ui.fetch(f"/runs/{run_id}/projections", layer=layer)
    named, _ = run_names([run["id"]])
    title = f"{run_title(named.get(run['id']), run_id)}: points"
    links = html.Div(
        [
            dcc.Link("spectra", href=f"/runs/{run['id']}?layer={layer}"),
            html.Small(f"run {run['id']}"),
        ],
        className="links",
    )
    if err:
        return ui.page(title, links, ui.error(err))
    options = axes(first["components"], first["refusal"] is not None)
    values = [o["value"] for o in options]
    x = x if x in values else ("refusal" if "refusal" in values else values[0])
    y = y if y in values + [COUNT] else next(v for v in values if v != x)
    colour = colour if colour in COLOURS else "label"
    notes = layer_notes(layers)
    figure, rank_x, rank_y = view(first, notes, x, y, colour)
    return ui.page(
        title,
        links,
        dcc.Location(id="points-loc", refresh=False),
        dcc.Store(id="points-data", data={"run_id": run["id"], "layers": notes}),
        html.Div(
            [
                ui.control("Layer", ui.layer_slider("points-layer", len(layers), layer), wide=True),
                ui.control("x", dcc.Dropdown(options, x, id="points-x", clearable=False)),
                ui.control(
                    "y",
                    dcc.Dropdown(
                        options + [{"label": "Count (histogram of x)", "value": COUNT}],
                        y,
                        id="points-y",
                        clearable=False,
                    ),
                ),
                ui.control(
                    "Colour by",
                    dcc.RadioItems(COLOURS, colour, id="points-colour", inline=True),
                ),
            ],
            className="controls",
        ),
        html.P(id="points-error", className="error"),
        html.Div(ui.graph("points-scatter", figure), className="card"),
        html.Div(
            [
                html.Div(rank_x, id="points-rank-x", className="card"),
                html.Div(rank_y, id="points-rank-y", className="card"),
            ],
            className="grid",
        ),
        subtitle="Each point is one prompt's residual at the last prompt token, centred, "
        "projected on unit directions of its layer.",
    )


@callback(
    Output("points-scatter", "figure"),
    Output("points-rank-x", "children"),
    Output("points-rank-y", "children"),
    Output("points-error", "children"),
    Output("points-loc", "search"),
    Input("points-layer", "value"),
    Input("points-x", "value"),
    Input("points-y", "value"),
    Input("points-colour", "value"),
    State("points-data", "data"),
    prevent_initial_call=True,  # the layout draws the first view
)
def update(layer, x, y, colour, store):
    data, err = ui.fetch(f"/runs/{store['run_id']}/projections", layer=layer)
    search = ui.query(layer=layer, x=x, y=y, colour=colour)
    if err:
        return plain_figure([]), [], [], err, search
    return (*view(data, store["layers"], x, y, colour), "", search)

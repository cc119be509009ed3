"""Small helpers shared by the pages: API fetches, tables, query strings, figures, CSV."""

from __future__ import annotations

import csv
import functools
import io
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import dash
from dash import dcc, html

from backend.metrics import Metric, Scope, get_metric, metrics_for
from frontend.api import ApiError

TERMINAL = ("succeeded", "failed", "cancelled")

# the catalogue's per-layer metrics, in its order: what the spectra, compare and relation pages
# offer (values in the API's ``values`` / a sweep cell's ``layers`` under these names)
LAYER_METRICS = metrics_for(Scope.LAYER)


def metric_options(metrics: list[Metric]) -> list[dict]:
    """Dropdown options: each metric's label, its name as the value."""
    return [{"label": m.label, "value": m.name} for m in metrics]


def api():
    from frontend.app import api as _api

    return _api()


def fetch(path: str, **params) -> tuple[Any, str | None]:
    """GET an API path; returns (data, None) or (None, an error message for the page)."""
    try:
        return api().get(path, **params), None
    except ApiError as exc:
        return None, f"API error {exc.status}: {exc.detail}"
    except Exception as exc:  # the API is down or unreachable
        return None, f"API unreachable: {exc}"


def error(message: str | None, id: str | None = None) -> html.P:
    kwargs = {"id": id} if id else {}
    return html.P(message or "", className="error" if message else "", **kwargs)


def page(title: str, *children, subtitle=None) -> html.Div:
    """A page: its title, an optional subtitle line, then its content."""
    head = [html.H1(title)]
    if subtitle:
        head.append(html.P(subtitle, className="subtitle"))
    return html.Div([*head, *children], className="page")


def register_page_of_one(path_template: str, name: str, api_path: str | None = None) -> Callable:
    """Register the decorated ``layout`` (``dash.register_page``) as the page of one thing, e.g.
    ``/jobs/<job_id>``, left out of the navigation. With ``api_path`` (holding the same
    ``<variable>``, e.g. ``/evaluations/<evaluation_id>``) the layout gets the fetched thing as
    its first argument; a thing that cannot be fetched gets the page "<name> <id>" saying why.
    (Dash imports only the page files whose text holds "register_page", as this name does.)"""
    variable = re.search(r"<(\w+)>", path_template).group(1)

    def register(layout: Callable) -> Callable:
        @functools.wraps(layout)
        def framed(**values):
            ident = values.get(variable)
            thing, err = fetch(api_path.replace(f"<{variable}>", str(ident)))
            if err:
                return page(f"{name} {ident}", error(err))
            return layout(thing, **values)

        served = layout if api_path is None else framed
        dash.register_page(
            layout.__module__, path_template=path_template, name=name, nav=False, layout=served
        )
        return served

    return register


def table(columns: list[str], rows: list[list[Any]], id: str | None = None) -> html.Table:
    kwargs = {"id": id} if id else {}
    return html.Table(
        [
            html.Thead(html.Tr([html.Th(c) for c in columns])),
            html.Tbody([html.Tr([html.Td(cell) for cell in row]) for row in rows]),
        ],
        className="table",
        **kwargs,
    )


def fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return (
            f"{value:.{digits}g}"
            if abs(value) < 1e-3 or abs(value) >= 1e4
            else f"{value:.{digits}f}"
        )
    return str(value)


def fmt_time(stamp: str | None) -> str:
    return stamp.replace("T", " ")[:19] if stamp else ""


def progress_bar(job: dict) -> html.Div:
    pct = max(0.0, min(1.0, job.get("progress") or 0.0)) * 100
    return html.Div(
        [
            html.Div(className="progress-fill", style={"width": f"{pct:.0f}%"}),
            html.Span(f"{pct:.0f}%", className="progress-text"),
        ],
        className=f"progress status-{job['status']}",
        title=job.get("message") or "",
    )


def status_badge(status: str) -> html.Span:
    return html.Span(status, className=f"badge status-{status}")


def eta(job: dict) -> str:
    seconds = job.get("eta_seconds")
    if seconds is None:
        return ""
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def query(**params) -> str:
    """A URL query string of the non-empty params ('' when none)."""
    kept = {k: v for k, v in params.items() if v not in (None, "", [])}
    return "?" + urlencode(kept) if kept else ""


def parse_ids(text: str | None) -> list[int]:
    out = []
    for part in (text or "").replace(" ", "").split(","):
        if part.isdigit() and int(part) not in out:
            out.append(int(part))
    return out


def to_int(text: Any, default: int | None = None) -> int | None:
    try:
        return int(text)
    except (TypeError, ValueError):
        return default


# a sweep cell's parameters and scores, as the sweep and relation tables show them
CELL_PARAMS = ["model", "safety_fraction", "vcl_lambda", "vcl_sign", "vcl_k", "seed"]
CELL_SCORES = [get_metric(n) for n in ("false_refusal_rate", "safety", "f1", "heldout_loss")]


def cell_params(cell: dict) -> list:
    return [
        cell["model_name"],
        fmt(cell["safety_fraction"]),
        fmt(cell["vcl_lambda"]),
        cell["vcl_sign"] or "",
        cell["vcl_k"] or "",
        cell["seed"],
    ]


def cell_scores(cell: dict) -> list[str]:
    metrics = cell["metrics"] or {}
    return [m.format(metrics.get(m.name)) for m in CELL_SCORES]


def control(label: str, component, wide: bool = False) -> html.Div:
    """A labelled input in a ``controls`` row (``wide`` for sliders and multi-selects)."""
    return html.Div([html.Label(label), component], className="control wide" if wide else "control")


def layer_slider(id: str, n_layers: int, value: int) -> dcc.Slider:
    return dcc.Slider(
        id=id,
        min=0,
        max=n_layers - 1,
        step=1,
        value=value,
        marks={i: str(i) for i in range(n_layers)},
    )


def graph(id: str, figure=None) -> dcc.Graph:
    return dcc.Graph(
        id=id,
        figure=figure or {},
        config={"displaylogo": False, "toImageButtonOptions": {"format": "png", "filename": id}},
    )


def csv_button(id: str, label: str = "Download CSV") -> html.Span:
    """A button and its dcc.Download, ids ``<id>-button`` and ``<id>``."""
    return html.Span(
        [html.Button(label, id=f"{id}-button", className="button small"), dcc.Download(id=id)]
    )


def csv_text(columns: list[str], rows: list[list[Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    writer.writerows(rows)
    return buffer.getvalue()


def layout_defaults(fig, title: str | None = None, height: int = 360):
    fig.update_layout(
        title=title,
        height=height,
        margin={"l": 60, "r": 20, "t": 50 if title else 20, "b": 40},
        template="plotly_white",
        legend={"orientation": "h", "y": -0.2},
    )
    return fig


def band(fig, x, lo, hi, color: str, name: str, **trace_kwargs) -> None:
    """A shaded 95% interval between ``lo`` and ``hi`` (points with a missing bound are skipped)."""
    points = [
        (a, b, c) for a, b, c in zip(x, lo, hi, strict=False) if b is not None and c is not None
    ]
    if not points:
        return
    xs, los, his = zip(*points, strict=True)
    fig.add_scatter(
        x=list(xs) + list(xs)[::-1],
        y=list(his) + list(los)[::-1],
        fill="toself",
        mode="lines",
        fillcolor=color,
        line={"width": 0},
        hoverinfo="skip",
        name=name,
        showlegend=False,
        **trace_kwargs,
    )


STATS = [
    "H1",
    "H2",
    "H3",
    "distinct_1",
    "distinct_2",
    "MSTTR_50",
    "mean_length",
    "median_length",
    "max_length",
    "n_texts",
    "n_tokens",
]


def stats_table(datasets: list[dict], side: str, id: str, highlight: int | None = None):
    columns = ["dataset", "rows", *STATS]
    rows = []
    for d in datasets:
        stats = (d["stats"] or {}).get(side) or {}
        name = dcc.Link(d["name"], href=f"/datasets/{d['id']}")
        rows.append(
            [
                html.Strong(name) if d["id"] == highlight else name,
                d["n_rows"],
                *[fmt(stats.get(s)) for s in STATS],
            ]
        )
    return table(columns, rows, id=id)


def submit_form(kind: str, **query):
    """The generated submit form of a job kind (the layout of pages/submit.py, /submit/<kind>)."""
    import dash

    for entry in dash.page_registry.values():
        if entry["path_template"] == "/submit/<kind>":
            return entry["layout"](kind=kind, **query)
    raise LookupError("the submit page is not registered")


# ---------------------------------------------------------------- runs by name (spectra, compare,
# points pages): GET /api/run-names answers "model · dataset · hook"; ids go in small print

LAYER_METRIC_NAMES = [m.name for m in LAYER_METRICS]
LAYER_METRIC_OPTIONS = metric_options(LAYER_METRICS)
SMALL_GREY = "font-size:80%;color:#6b7280"  # plotly's HTML subset: small print in legends, ticks


def run_names(ids: list[int] | None = None, limit: int = 200) -> tuple[dict[int, dict], str | None]:
    """Runs by id, each with its ``name``, model, dataset, hook, reference and how many runs use
    it as theirs: those of ``ids``, or the newest ``limit``; and an error message or None."""
    params = {"ids": ",".join(map(str, ids))} if ids else {"limit": limit}
    listed, err = fetch("/run-names", **params)
    return {r["id"]: r for r in (listed or {}).get("data", [])}, err


def run_title(run: dict | None, run_id) -> str:
    """A run as a title: its name, or "Run <id>" when it cannot be named."""
    return run["name"] if run else f"Run {run_id}"


def run_option(run: dict) -> dict:
    """A run as a dropdown option: its name with the id in small print, searchable by both."""
    label = html.Span([run["name"], html.Small(f"  run {run['id']}", className="muted")])
    return {"label": label, "value": run["id"], "search": f"{run['name']} run {run['id']}"}


def run_legend(run: dict | None, run_id) -> str:
    """A run in a plot's legend or axis ticks: its name, the id in small print."""
    small = f"<span style='{SMALL_GREY}'>run {run_id}</span>"
    return f"{run['name']} {small}" if run else small


def layer_marker(fig, layer: int) -> None:
    """The chosen layer as a dotted line over every row of ``fig`` (its first shape, so that a
    ``dash.Patch`` can move it: ``patch["layout"]["shapes"][0]``)."""
    fig.add_shape(
        type="line",
        x0=layer,
        x1=layer,
        xref="x",
        yref="paper",
        y0=0,
        y1=1,
        line={"dash": "dot", "color": "#f97316"},
    )


def moved_marker(layer: int) -> dash.Patch:
    """A patch moving a figure's :func:`layer_marker` to ``layer`` (no figure rebuilt)."""
    patch = dash.Patch()
    patch["layout"]["shapes"][0]["x0"] = layer
    patch["layout"]["shapes"][0]["x1"] = layer
    return patch

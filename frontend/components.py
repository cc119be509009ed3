"""Small helpers shared by the pages: API fetches, tables, query strings, figures, CSV."""

from __future__ import annotations

import csv
import functools
import io
import json
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
    its first argument; a thing that cannot be fetched gets the page "<name> <id>" saying why,
    in words (a bad id or a missing thing, not the API's validation detail).
    (Dash imports only the page files whose text holds "register_page", as this name does.)"""
    variable = re.search(r"<(\w+)>", path_template).group(1)

    def register(layout: Callable) -> Callable:
        @functools.wraps(layout)
        def framed(**values):
            ident = values.get(variable)
            problem = missing_thing(
                name, ident, api_path and api_path.replace(f"<{variable}>", str(ident))
            )
            if isinstance(problem, str):
                return page(f"{name} {ident}", error(problem, id="page-of-one-error"))
            return layout(*([] if api_path is None else [problem]), **values)

        served = framed
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


def stat_text(stats: dict | None, side: str, name: str) -> str:
    """One stats cell: "computing…" (in the first column) while the dataset's stats job has not
    run, "–" for a side the dataset lacks (no responses), "n/a" for MSTTR_50 under one 50-token
    segment."""
    if stats is None:
        return "computing…" if name == STATS[0] else ""
    values = stats.get(side)
    if not values:
        return "–"
    value = stat_value(values, name)
    return "n/a" if value is None and name == "MSTTR_50" else fmt(value)


def stat_value(values: dict, name: str):
    """A side's stat; None for MSTTR_50 under one 50-token segment (it has no value there)."""
    if name == "MSTTR_50" and (values.get("n_tokens") or 0) < 50:
        return None
    return values.get(name)


def stats_table(datasets: list[dict], side: str, id: str, highlight: int | None = None):
    columns = ["dataset", "role", "rows", *STATS]
    rows = []
    for d in datasets:
        name = dcc.Link(d["name"], href=f"/datasets/{d['id']}")
        rows.append(
            [
                html.Strong(name) if d["id"] == highlight else name,
                d.get("role") or "",
                d["n_rows"],
                *[stat_text(d["stats"], side, s) for s in STATS],
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


_MOVE_MARKERS = """function (_after, layer) {
    for (const id of GRAPHS) {
        const plot = document.querySelector(`#${id} .js-plotly-plot`);
        if (plot && window.Plotly && ((plot.layout || {}).shapes || []).length) {
            window.Plotly.relayout(plot, {"shapes[0].x0": layer, "shapes[0].x1": layer});
        }
    }
    return layer;
}"""


def markers_follow(after: str, slider: str, graphs: tuple[str, ...], store: str) -> None:
    """Move the :func:`marker_shape` of ``graphs`` to the layer of ``slider`` in the browser, once
    the component ``after`` (e.g. the main graph's caption, redrawn by the layer's callback) has
    changed: the main graph comes first, the markers follow (Plotly.relayout of the shapes, no
    server round trip). ``store`` (a dcc.Store) takes the layer."""
    dash.clientside_callback(
        _MOVE_MARKERS.replace("GRAPHS", json.dumps(list(graphs))),
        dash.Output(store, "data"),
        dash.Input(after, "children"),
        dash.State(slider, "value"),
        prevent_initial_call=True,
    )


def missing_thing(name: str, ident: Any, api_path: str | None) -> Any:
    """What a page of one thing shows instead of it, as a sentence: an id that is not a whole
    number, a thing the API does not have, the API's other refusals; else the fetched thing
    (None without ``api_path``)."""
    if not str(ident).isdigit():
        return f"{ident!r} is not a valid {name.lower()} id: ids are whole numbers."
    if api_path is None:
        return None
    try:
        return api().get(api_path)
    except ApiError as exc:
        if exc.status == 404:
            return f"There is no {name.lower()} {ident}."
        return f"The API refused {api_path} (HTTP {exc.status}): {exc.detail}"
    except Exception as exc:  # the API is down or unreachable
        return f"API unreachable: {exc}"


# --- names: models, runs, evaluations and sweeps by name, their ids in small print ----------


def small_id(kind: str, ident: Any) -> html.Span:
    """The id in small print beside a name, e.g. "run 9"."""
    return html.Span(
        f"{kind} {ident}",
        className="muted small-id",
        style={"fontSize": "0.75em", "marginLeft": "0.4em"},
    )


def named_link(name: str, href: str, kind: str, ident: Any, id: str | None = None) -> html.Span:
    """A link by name, its id in small print after it."""
    link = dcc.Link(name, href=href, **({"id": id} if id else {}))
    return html.Span([link, small_id(kind, ident)], className="named")


class Names:
    """The registered models' and datasets' names, fetched once per view, to name what refers
    to them: a model by its name, an evaluation "model on dataset" (and its system prompt, cut).
    Runs are named by the API (``run_names``: "model · dataset · hook"), sweeps too (GET
    /api/sweeps: "base: p 0-0.4 x lambda 0, 1")."""

    def __init__(self, models: list[dict], datasets: list[dict]) -> None:
        self.models = {m["id"]: m for m in models}
        self.datasets = {d["id"]: d for d in datasets}

    @classmethod
    def fetch(cls) -> Names:
        models, _ = fetch("/models", limit=1000)
        datasets, _ = fetch("/datasets")
        return cls((models or {}).get("data", []), (datasets or {}).get("data", []))

    def model(self, model_id: int | None) -> str:
        if model_id is None:
            return "imported"
        found = self.models.get(model_id)
        return found["name"] if found else f"model {model_id}"

    def dataset(self, dataset_id: int | None) -> str:
        found = self.datasets.get(dataset_id)
        return found["name"] if found else f"dataset {dataset_id}"

    def evaluation(self, evaluation: dict) -> str:
        name = f"{self.model(evaluation['model_id'])} on {self.dataset(evaluation['dataset_id'])}"
        prompt = (evaluation.get("params") or {}).get("system_prompt")
        if prompt:
            name += f" · system: {prompt if len(prompt) <= 24 else prompt[:23] + '…'}"
        return name

    def model_link(self, model_id: int | None, id: str | None = None) -> html.Span:
        if model_id is None:
            return html.Span("imported", className="muted")
        return named_link(self.model(model_id), f"/models/{model_id}", "model", model_id, id=id)

    def dataset_link(self, dataset_id: int, id: str | None = None) -> html.Span:
        name = self.dataset(dataset_id)
        return named_link(name, f"/datasets/{dataset_id}", "dataset", dataset_id, id=id)

    def evaluation_link(self, evaluation: dict, id: str | None = None) -> html.Span:
        eid = evaluation["id"]
        return named_link(self.evaluation(evaluation), f"/evals/{eid}", "evaluation", eid, id=id)


def run_link(run: dict | None, run_id: int, id: str | None = None) -> html.Span:
    """A run (an item of ``run_names``) by its name, the id in small print."""
    return named_link(run_title(run, run_id), f"/runs/{run_id}", "run", run_id, id=id)


def sweep_link(summary: dict, id: str | None = None) -> html.Span:
    """A sweep (an item of GET /api/sweeps) by its name, its job id in small print."""
    ident = summary["job"]["id"]
    return named_link(summary["name"], f"/sweeps/{ident}", "sweep", ident, id=id)


def pager(path: str, offset: int, limit: int, count: int, **filters) -> html.Div:
    """ "1-50 of 120" with Previous / Next links to ``path`` that keep ``filters`` in the URL."""
    last = min(offset + limit, count)
    parts: list = [html.Span(f"{offset + 1 if count else 0}-{last} of {count}", id="pager-shown")]
    if offset > 0:
        back = query(**filters, offset=max(offset - limit, 0) or None)
        parts.insert(0, dcc.Link("Previous", href=path + back, id="pager-previous"))
    if last < count:
        parts.append(
            dcc.Link("Next", href=path + query(**filters, offset=offset + limit), id="pager-next")
        )
    return html.Div(parts, className="pager")


def sweeps_table(sweeps: list[dict], id: str) -> html.Table:
    """Sweeps (items of GET /api/sweeps) by name, with their state and progress line."""
    rows = [
        [
            sweep_link(s),
            status_badge(s["progress"]["state"]),
            sweep_progress_line(s["progress"]),
            dcc.Link(
                "concentration vs false refusal",
                href=f"/relation?sweep={s['job']['id']}",
                className="relation-link",
            ),
            fmt_time(s["job"]["created_at"]),
        ]
        for s in sweeps
    ]
    return table(["sweep", "state", "progress", "", "created"], rows, id=id)


def filter_dropdown(page_id: str, name: str, options: list, value, **kwargs) -> dcc.Dropdown:
    """A list page's filter ``<page_id>-<name>``, written into the URL by ``url_filters``."""
    return dcc.Dropdown(options, value, id=f"{page_id}-{name}", **kwargs)


def url_filters(page_id: str, names: list[str]) -> Callable:
    """Register the callback that puts the filters ``<page_id>-<name>`` into the URL's query
    (paging starts again), so that the list shown is the link's."""

    @dash.callback(
        dash.Output("url", "search", allow_duplicate=True),
        *[dash.Input(f"{page_id}-{name}", "value") for name in names],
        prevent_initial_call=True,
    )
    def to_url(*values):
        chosen = {
            n: ",".join(map(str, v)) if isinstance(v, list) else v
            for n, v in zip(names, values, strict=True)
        }
        return query(**chosen)

    return to_url


def named_runs(runs: list[dict]) -> dict[int, dict]:
    """``run_names`` of ``runs`` (items of GET /api/runs) and of the runs they are aligned to."""
    ids = [r["id"] for r in runs] + [r["reference_run_id"] for r in runs if r["reference_run_id"]]
    return run_names(list(dict.fromkeys(ids)))[0] if ids else {}


def aligned_to(run: dict, named: dict[int, dict]) -> html.Span:
    """A run's reference, by name; without one, why its alignment is empty (it is the
    reference of others, or was captured without one)."""
    if run["reference_run_id"]:
        return run_link(named.get(run["reference_run_id"]), run["reference_run_id"])
    users = (named.get(run["id"]) or {}).get("referenced_by", 0)
    if users:
        return html.Span(f"none: the reference of {users} run(s)", className="muted")
    return html.Span("none (no alignment)", className="muted")


def job_subject(job: dict, names: Names) -> str:
    """What a job works on, by name: the model it trains or measures, else its dataset or
    evaluation ("" for a kind about neither)."""
    params = job["params"]
    for key in ("name", "model_name", "base_model_name", "teacher_model_name"):
        if params.get(key):
            return params[key]
    for key in ("model_id", "base_model_id", "teacher_model_id"):
        if params.get(key):
            return names.model(params[key])
    if params.get("dataset_id"):
        return names.dataset(params["dataset_id"])
    return f"evaluation {params['evaluation_id']}" if params.get("evaluation_id") else ""


def family_relation_link(model_name: str, id: str) -> dcc.Link:
    """The relation view of a model beside its base, siblings and children (pages/relation.py)."""
    return dcc.Link("relation with its family", href="/relation" + query(family=model_name), id=id)


def sweep_progress_line(progress: dict) -> str:
    """A sweep's progress in one line: "12/39 done · 2 running · 25 queued · ETA 4 min"."""
    if not progress["total"]:
        return "its grid's jobs are not queued yet"
    counts = progress["counts"]
    finished = counts["succeeded"] + counts["failed"] + counts["cancelled"]
    parts = [f"{finished}/{progress['total']} done"]
    parts += [f"{counts[s]} {s}" for s in ("running", "queued", "failed", "cancelled") if counts[s]]
    if progress["eta_seconds"] is not None:
        parts.append(f"ETA {eta({'eta_seconds': progress['eta_seconds']})}")
    return " · ".join(parts)


def parse_zoom(text: str | None) -> list[float | None] | None:
    """A plot's zoom from the URL, "x0,x1,y0,y1" (an empty part: that axis autoscales)."""
    parts = (text or "").split(",")
    if len(parts) != 4:
        return None
    try:
        zoom = [float(p) if p else None for p in parts]
    except ValueError:
        return None
    return zoom if any(v is not None for v in zoom) else None


def zoom_from_relayout(relayout: dict | None, zoom: list | None) -> list | None:
    """The zoom [x0, x1, y0, y1] after plotly's ``relayoutData`` (a box zoom, an axis drag,
    an autoscale), starting from ``zoom``; other relayout events leave it as it is."""
    out = list(zoom or [None] * 4)
    for offset, axis in ((0, "xaxis"), (2, "yaxis")):
        if (relayout or {}).get(f"{axis}.autorange"):
            out[offset : offset + 2] = [None, None]
        elif f"{axis}.range[0]" in (relayout or {}):
            out[offset : offset + 2] = [
                float(relayout[f"{axis}.range[0]"]),
                float(relayout[f"{axis}.range[1]"]),
            ]
        elif f"{axis}.range" in (relayout or {}):
            out[offset : offset + 2] = [float(v) for v in relayout[f"{axis}.range"]]
    return out if any(v is not None for v in out) else None


def apply_zoom(fig, zoom: list | None) -> None:
    """Set the axis ranges of ``zoom`` (from parse_zoom / zoom_from_relayout) on ``fig``."""
    if zoom and None not in zoom[:2]:
        fig.update_xaxes(range=zoom[:2])
    if zoom and None not in zoom[2:]:
        fig.update_yaxes(range=zoom[2:])


def zoom_query(zoom: list | None) -> str | None:
    """``zoom`` as the URL holds it (parse_zoom's input); None without one."""
    if not zoom:
        return None
    return ",".join("" if v is None else f"{v:.6g}" for v in zoom)


def token_hint(what: str) -> html.P:
    """Says that ``what`` (e.g. "Submitting") needs a token, to a reader without one in team mode
    (class token-hint: shown only where frontend/app.py hides the write controls)."""
    text = f"{what} needs an API token: type yours in the header's token field."
    return html.P(text, className="token-hint muted")


def freeze_control(page_id: str) -> html.Div:
    """The "Freeze this view" button of a page (ids ``<page_id>-freeze`` and
    ``<page_id>-freeze-result``) and its auth-401 store; the page's callback calls
    ``freeze_view``."""
    return html.Div(
        [
            html.Button("Freeze this view", id=f"{page_id}-freeze", className="button small"),
            html.Span(
                "stores what is shown as a read-only snapshot with a stable link",
                className="muted",
            ),
            html.Div(id=f"{page_id}-freeze-result"),
            dcc.Store(id={"type": "auth-401", "page": page_id}),
        ],
        className="freeze write-control",
    )


def freeze_view(token: str | None, **snapshot) -> tuple:
    """POST a snapshot (page, title, source, text, figures, tables); returns the children of
    the freeze result (its link, or why it was refused) and the auth-401 store's value."""
    from frontend.api import WriteRefused

    try:
        made = api().write("POST", "/snapshots", token, json=snapshot)
    except WriteRefused as refused:
        return error(refused.describe("Freeze refused"), id="freeze-error"), (
            refused.needs_token or dash.no_update
        )
    href = f"/snapshots/{made['id']}"
    link = dcc.Link(f"snapshot {made['id']}", href=href, id="freeze-link")
    return html.P(["Frozen: ", link, " (read-only, a stable link)"], className="ok"), (
        dash.no_update
    )


def csv_download(id: str, state: str, make: Callable[[Any], tuple[str, str]]) -> Callable:
    """Register the callback of ``csv_button(id)``: ``make`` (the ``data`` of the store
    ``state``) gives (filename, CSV text)."""

    @dash.callback(
        dash.Output(id, "data"),
        dash.Input(f"{id}-button", "n_clicks"),
        dash.State(state, "data"),
        prevent_initial_call=True,
    )
    def download(_n, data):
        filename, content = make(data)
        return {"content": content, "filename": filename}

    return download


def upload_field(id: str) -> html.Div:
    """A file drop zone ``id`` showing the chosen file's name in ``<id>-name`` (register its
    callback once per page with ``upload_name_callback(id)``)."""
    return html.Div(
        dcc.Upload(
            html.Div(id=f"{id}-name", children="Drop a file or click"),
            id=id,
            className="upload",
        ),
        className="control wide",
    )


def upload_name_callback(id: str) -> Callable:
    @dash.callback(
        dash.Output(f"{id}-name", "children"),
        dash.Input(id, "filename"),
        prevent_initial_call=True,
    )
    def show_filename(filename):
        return filename or "Drop a file or click"

    return show_filename


def summary_lines(lines: list[str]) -> list[html.P]:
    """A page's summary sentences, those starting "Warning" marked as warnings."""
    return [
        html.P(line, className="warning" if line.startswith("Warning") else "") for line in lines
    ]


# ---------------------------------------------------------------- figures as plain dicts
# (the spectra, points and compare pages, whose figures are redrawn on a layer change): plotly's
# graph objects validate every property, 35-300 ms a figure with subplots on a shared 2-core
# machine against well under 1 ms for the same figure as dicts (bench/ui.py, docs/benchmarks.md)


@functools.cache
def _white_template() -> dict:
    import plotly.io as pio

    return pio.templates["plotly_white"].to_plotly_json()


def plain_figure(traces: list[dict], title: str | None = None, height: int = 360, **layout):
    """A figure of plain trace dicts with :func:`layout_defaults`' look; ``layout`` adds to it."""
    base = {
        "title": {"text": title} if title else {},
        "height": height,
        "margin": {"l": 60, "r": 20, "t": 50 if title else 20, "b": 40},
        "template": _white_template(),
        "legend": {"orientation": "h", "y": -0.2},
    }
    return {"data": traces, "layout": base | layout}


def stacked_rows(titles: list[str], gap: float = 0.06) -> dict:
    """Layout entries for len(titles) rows over one shared x axis (``x``, drawn under the last
    row): row r (1-based) plots on y axis "y" (r = 1) or "y<r>", each titled above it."""
    n = len(titles)
    height = (1 - gap * (n - 1)) / n
    out: dict = {"annotations": []}
    for r, title in enumerate(titles, start=1):
        top = 1 - (r - 1) * (height + gap)
        out[f"yaxis{'' if r == 1 else r}"] = {"domain": [top - height, top], "anchor": "x"}
        out["annotations"].append(
            {
                "text": title,
                "x": 0.5,
                "y": top,
                "xref": "paper",
                "yref": "paper",
                "xanchor": "center",
                "yanchor": "bottom",
                "showarrow": False,
                "font": {"size": 14},
            }
        )
    out["xaxis"] = {"anchor": f"y{'' if n == 1 else n}", "title": {"text": "layer"}, "dtick": 1}
    return out


def row_axis(row: int) -> str:
    """The y axis of a row of :func:`stacked_rows`, as a trace names it."""
    return "y" if row == 1 else f"y{row}"


def band_trace(x, lo, hi, color: str, yaxis: str = "y") -> dict | None:
    """:func:`band` as a plain trace (None when no point has both bounds)."""
    points = [
        (a, b, c) for a, b, c in zip(x, lo, hi, strict=False) if b is not None and c is not None
    ]
    if not points:
        return None
    xs, los, his = (list(v) for v in zip(*points, strict=True))
    return {
        "type": "scatter",
        "x": xs + xs[::-1],
        "y": his + los[::-1],
        "fill": "toself",
        "mode": "lines",
        "fillcolor": color,
        "line": {"width": 0},
        "hoverinfo": "skip",
        "showlegend": False,
        "yaxis": yaxis,
    }


def marker_shape(layer: int) -> dict:
    """The chosen layer as a dotted line over every row (a figure's first shape, which
    :func:`markers_follow` moves)."""
    return {
        "type": "line",
        "x0": layer,
        "x1": layer,
        "xref": "x",
        "yref": "paper",
        "y0": 0,
        "y1": 1,
        "line": {"dash": "dot", "color": "#f97316"},
    }


def no_data_note(text: str) -> dict:
    """An annotation in the middle of a figure saying why it is empty."""
    return {"text": text, "showarrow": False, "x": 0.5, "y": 0.5, "xref": "paper", "yref": "paper"}

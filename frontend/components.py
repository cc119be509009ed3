"""The pages' frame and controls: API fetches, the page of one thing, tables, formatting, query
strings, labelled controls, list filters and paging, CSV downloads, uploads, freezing a view.
Figures are in frontend/figures.py, things by name in frontend/links.py, the tables several
pages show in frontend/tables.py."""

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

from backend.metrics import Metric, Scope, metrics_for
from frontend.api import ApiError

# the catalogue's per-layer metrics, in its order: what the spectra, compare and relation pages
# offer (values in the API's ``values`` / a sweep cell's ``layers`` under these names)
LAYER_METRICS = metrics_for(Scope.LAYER)


def metric_options(metrics: list[Metric]) -> list[dict]:
    """Dropdown options: each metric's label, its name as the value."""
    return [{"label": m.label, "value": m.name} for m in metrics]


LAYER_METRIC_NAMES = [m.name for m in LAYER_METRICS]
LAYER_METRIC_OPTIONS = metric_options(LAYER_METRICS)


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


def submit_form(kind: str, **query):
    """The generated submit form of a job kind (the layout of pages/submit.py, /submit/<kind>)."""
    import dash

    for entry in dash.page_registry.values():
        if entry["path_template"] == "/submit/<kind>":
            return entry["layout"](kind=kind, **query)
    raise LookupError("the submit page is not registered")


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


def csv_download(id: str, *states: dash.State) -> Callable:
    """Register the decorated function as the callback of ``csv_button(id)``: given the values
    of ``states``, it returns (filename, CSV text)."""

    def register(make: Callable[..., tuple[str, str]]) -> Callable:
        @dash.callback(
            dash.Output(id, "data"),
            dash.Input(f"{id}-button", "n_clicks"),
            *states,
            prevent_initial_call=True,
        )
        def download(_n, *values):
            filename, content = make(*values)
            return {"content": content, "filename": filename}

        return make

    return register


def live_refresh(body: str, tick: str, state: str) -> Callable:
    """Register the decorated function as what redraws the children of ``body`` at each tick of
    the dcc.Interval ``tick``: given the data of the store ``state``, it returns the children and
    whether the ticking stops (nothing left to wait for)."""

    def register(redraw: Callable[[Any], tuple[Any, bool]]) -> Callable:
        @dash.callback(
            dash.Output(body, "children"),
            dash.Output(tick, "disabled"),
            dash.Input(tick, "n_intervals"),
            dash.State(state, "data"),
            prevent_initial_call=True,
        )
        def refresh(_n, data):
            return redraw(data)

        return redraw

    return register


def action_row(controls: list, label: str, button: str, result: str, button_class="button"):
    """A ``controls`` row ending in the button ``button``, and under it the div ``result`` that
    the button's callback fills."""
    return [
        html.Div(
            [*controls, html.Button(label, id=button, className=button_class)],
            className="controls",
        ),
        html.Div(id=result),
    ]


def write_form(name: str, title: str, needs: str, about: str, controls: list, label: str):
    """A form that writes, as a page's section: the heading ``title``, the ``token_hint`` of
    ``needs``, then ``about`` and the :func:`action_row` of ``controls`` (button
    ``<name>-button`` labelled ``label``, result ``<name>-result``) in the write-control div
    ``<name>-section``, which a reader without a token (team mode) does not see."""
    return [
        html.H2(title),
        token_hint(needs),
        html.Div(
            [
                html.P(about, className="muted"),
                *action_row(controls, label, f"{name}-button", f"{name}-result"),
            ],
            className="write-control",
            id=f"{name}-section",
        ),
    ]


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

"""The Dash dashboard. Every page reads and writes through the REST API (frontend.api).

Each page keeps its whole state in the URL query string, so a copied link reproduces the view;
the header's "Copy link" button copies the page's address and shows it in a text field: on the
public URL (FLOWLENS_PUBLIC_URL, e.g. https://flowlens.example.org) when one is set, so a link
made on the server itself does not point at 127.0.0.1.

API token: in team mode (the API's writes need a token, /api/health says so) the header shows a
token field, and until a token is typed in it the page is read-only: every control that writes
is hidden (READ_ONLY_JS); the token is kept in the ``api-token-store`` (sessionStorage) and sent
by every write as a bearer token. A write that answers 401 sets its page's
``{"type": "auth-401", "page": ...}`` store, which shows the token field too.
"""

from __future__ import annotations

import os
from pathlib import Path

import dash
import httpx
import plotly.graph_objects as go
from dash import ALL, Dash, Input, Output, State, dcc, html

from frontend.api import Api, ApiError
from frontend.figures import layout_defaults

HERE = Path(__file__).parent
PAGES = HERE / "pages"

COPY_LINK_JS = """
function(n_clicks, n_intervals, base) {
    const here = window.location;
    const href = base ? base.replace(/\\/+$/, "") + here.pathname + here.search + here.hash
                      : here.href;
    const ctx = window.dash_clientside.callback_context;
    const clicked = ctx.triggered.length && ctx.triggered[0].prop_id === "copy-link.n_clicks";
    let note = window.dash_clientside.no_update;
    if (clicked) {
        note = "link shown";
        try {
            if (navigator.clipboard && window.isSecureContext) {
                navigator.clipboard.writeText(href).catch(function () {});
                note = "copied";
            }
        } catch (e) { /* clipboard refused: the text field still holds the link */ }
    }
    return [href, note];
}
"""


# the header's links, in this order, with what each page shows on hover; the groups open a menu
# on hover or keyboard focus (one line at 1280 px); a page registered for the navigation
# (dash.register_page, nav not False) that is not here goes into OTHERS_GROUP's menu
NAV = [
    ("/", "Overview", "The study's headline, active jobs and sweeps, workers"),
    ("/runs", "Runs", "Every capture run by name: model · prompt set · hook"),
    ("/models", "Models", "Registered and fine-tuned models, their lineage, runs, evaluations"),
    ("/datasets", "Datasets", "Prompt sets and training data, with their diversity"),
    ("/evals", "Evaluations", "False refusal, safety and f1 of each model on a probe set"),
    ("/sweeps", "Sweeps", "Grids of fine-tunes and their progress"),
    ("/jobs", "Jobs", "Every job, its status and place in the queue"),
]
NAV_GROUPS = [  # (id, label, whether its pages write, links)
    (
        "nav-analyse",
        "Analyse",
        False,
        [
            ("/compare", "Compare runs", "Per-layer spectra of several runs side by side"),
            (
                "/relation",
                "Concentration vs refusal",
                "Across a sweep's cells: how each layer's concentration relates to false refusal",
            ),
            (
                "/frontier",
                "Frontier",
                "False refusal against safety of every model and intervention",
            ),
        ],
    ),
    (
        "nav-new",
        "New",
        True,  # a reader without a token (team mode) does not see it
        [
            ("/finetune/new", "New fine-tune", "Fine-tune a model, with or without VCL"),
            ("/sweeps/new", "New sweep", "A grid of fine-tunes, each captured and evaluated"),
        ],
    ),
]
OTHERS_GROUP = "nav-analyse"


def nav_links() -> html.Nav:
    """The header's navigation: NAV, then NAV_GROUPS as menus; only registered pages."""
    listed = {p for p, _, _ in NAV} | {p for *_, links in NAV_GROUPS for p, _, _ in links}
    others = [
        (page["relative_path"], page["name"], page.get("description") or "")
        for page in dash.page_registry.values()
        if page.get("nav", True) and page["relative_path"] not in listed
    ]
    registered = {page["relative_path"] for page in dash.page_registry.values()}

    def links(entries):
        return [
            dcc.Link(name, href=path, title=title, className="nav")
            for path, name, title in entries
            if path in registered
        ]

    groups = []
    for id, label, writes, entries in NAV_GROUPS:
        entries = entries + others if id == OTHERS_GROUP else entries
        groups.append(
            html.Div(
                [
                    html.Span(f"{label} ▾", className="nav-group-label", tabIndex="0"),
                    html.Div(links(entries), className="nav-menu"),
                ],
                id=id,
                className="nav-group" + (" write-control" if writes else ""),
            )
        )
    return html.Nav([*links(NAV), *groups], id="nav", className="nav-bar")


TOKEN_BOX_JS = """
function(refused, token, needed) {
    const show = Boolean(token) || Boolean(needed) || (refused || []).some(Boolean);
    return show ? {"display": "flex"} : {"display": "none"};
}
"""
# team mode (the API's writes need a token): for a reader without one the app's root has the
# class read-only, which hides every control that writes (class write-control: submit, upload,
# import, delete, cancel, retry, capture and evaluate, labels, freeze, the links to the forms)
# and shows the hints saying they need a token (class token-hint); until /api/health has
# answered (needed is null) the controls stay hidden
READ_ONLY_JS = """
function(needed, token) { return needed !== false && !token ? "read-only" : ""; }
"""


def create_app(api_url: str, api_token: str | None = None, public_url: str | None = None) -> Dash:
    """The app; ``api_token`` (default: $FLOWLENS_API_TOKEN) is sent on reads (never on writes);
    shared links start with ``public_url`` (default: $FLOWLENS_PUBLIC_URL; none: the address the
    browser shows)."""
    app = Dash(
        __name__,
        use_pages=True,
        pages_folder=str(PAGES),
        assets_folder=str(HERE / "assets"),
        title="FlowLens",
        suppress_callback_exceptions=True,
    )
    token = api_token if api_token is not None else os.environ.get("FLOWLENS_API_TOKEN")
    public = public_url if public_url is not None else os.environ.get("FLOWLENS_PUBLIC_URL", "")
    app.server.config["FLOWLENS_API"] = Api(api_url, token=token or None)
    app.layout = html.Div(
        [
            dcc.Location(id="url", refresh="callback-nav"),
            html.Header(
                [
                    dcc.Link(html.Strong("FlowLens"), href="/", className="brand"),
                    nav_links(),
                    html.Div(
                        [
                            html.Label("API token", htmlFor="api-token"),
                            dcc.Input(
                                id="api-token",
                                type="password",
                                placeholder="fl_...",
                                persistence=True,
                                persistence_type="session",
                                className="token-input",
                            ),
                        ],
                        id="token-box",
                        className="token-box",
                        style={"display": "none"},
                    ),
                    html.Div(
                        [
                            dcc.Input(id="share-url", readOnly=True, className="share-url"),
                            html.Button("Copy link", id="copy-link", className="button small"),
                            html.Span(id="copy-note", className="muted"),
                        ],
                        className="share",
                    ),
                ],
                className="header",
            ),
            html.Main(dash.page_container, id="page-main"),
            dcc.Interval(id="share-tick", interval=1000),
            dcc.Store(id="api-token-store", storage_type="session"),
            dcc.Store(id="public-url", data=public.strip() or None),
            dcc.Store(id="writes-need-token"),
        ],
        id="app",
        className="read-only",
    )
    app.callback(Output("writes-need-token", "data"), Input("url", "pathname"))(writes_need_token)
    app.clientside_callback(
        READ_ONLY_JS,
        Output("app", "className"),
        Input("writes-need-token", "data"),
        Input("api-token-store", "data"),
    )
    app.clientside_callback(
        "function(value) { return (value || '').trim() || null; }",
        Output("api-token-store", "data"),
        Input("api-token", "value"),
    )
    app.clientside_callback(
        TOKEN_BOX_JS,
        Output("token-box", "style"),
        Input({"type": "auth-401", "page": ALL}, "data"),
        Input("api-token-store", "data"),
        Input("writes-need-token", "data"),
    )
    app.clientside_callback(
        COPY_LINK_JS,
        Output("share-url", "value"),
        Output("copy-note", "children"),
        Input("copy-link", "n_clicks"),
        Input("share-tick", "n_intervals"),
        State("public-url", "data"),
    )
    # Plotly loads its template and validators on the first figure (~0.15 s): pay that at start,
    # not in the first page a user opens
    layout_defaults(go.Figure(), "warm-up")
    return app


def writes_need_token(_path) -> bool:
    """Whether the API wants a token for writes (its /health says; false when it cannot)."""
    try:
        return bool(api().get("/health").get("writes_need_token"))
    except (ApiError, httpx.HTTPError):  # an API down shows its error on the page itself
        return False


def api() -> Api:
    """The API client of the running app (inside callbacks and layouts)."""
    from flask import current_app

    return current_app.config["FLOWLENS_API"]

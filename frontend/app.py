"""The Dash dashboard. Every page reads and writes through the REST API (frontend.api).

Each page keeps its whole state in the URL query string, so a copied link reproduces the view;
the header's "Copy link" button copies ``window.location.href`` and shows it in a text field.
"""

from __future__ import annotations

from pathlib import Path

import dash
from dash import ClientsideFunction, Dash, Input, Output, dcc, html

from frontend.api import Api

HERE = Path(__file__).parent
PAGES = HERE / "pages"

COPY_LINK_JS = """
function(n_clicks, n_intervals) {
    const href = window.location.href;
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


def create_app(api_url: str) -> Dash:
    app = Dash(
        __name__,
        use_pages=True,
        pages_folder=str(PAGES),
        assets_folder=str(HERE / "assets"),
        title="FlowLens",
        suppress_callback_exceptions=True,
    )
    app.server.config["FLOWLENS_API"] = Api(api_url)
    app.layout = html.Div(
        [
            dcc.Location(id="url", refresh="callback-nav"),
            html.Header(
                [
                    dcc.Link(html.Strong("FlowLens"), href="/", className="brand"),
                    *[
                        dcc.Link(page["name"], href=page["relative_path"], className="nav")
                        for page in dash.page_registry.values()
                        if page.get("nav", True)
                    ],
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
            html.Main(dash.page_container),
            dcc.Interval(id="share-tick", interval=1000),
        ]
    )
    app.clientside_callback(
        COPY_LINK_JS,
        Output("share-url", "value"),
        Output("copy-note", "children"),
        Input("copy-link", "n_clicks"),
        Input("share-tick", "n_intervals"),
    )
    return app


def api() -> Api:
    """The API client of the running app (inside callbacks and layouts)."""
    from flask import current_app

    return current_app.config["FLOWLENS_API"]

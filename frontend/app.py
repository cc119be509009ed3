"""The Dash dashboard. Every page reads and writes through the REST API (frontend.api)."""

from __future__ import annotations

from pathlib import Path

import dash
from dash import Dash, dcc, html

from frontend.api import Api

PAGES = Path(__file__).parent / "pages"


def create_app(api_url: str) -> Dash:
    app = Dash(
        __name__,
        use_pages=True,
        pages_folder=str(PAGES),
        title="FlowLens",
        suppress_callback_exceptions=True,
    )
    app.server.config["FLOWLENS_API"] = Api(api_url)
    app.layout = html.Div(
        [
            dcc.Location(id="url", refresh="callback-nav"),
            html.Header(
                [
                    html.Strong("FlowLens", className="brand"),
                    *[
                        dcc.Link(page["name"], href=page["relative_path"], className="nav")
                        for page in dash.page_registry.values()
                        if page.get("nav", True)
                    ],
                ],
                className="header",
            ),
            html.Main(dash.page_container),
        ]
    )
    return app


def api() -> Api:
    """The API client of the running app (inside callbacks and layouts)."""
    from flask import current_app

    return current_app.config["FLOWLENS_API"]

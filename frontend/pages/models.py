"""Every registered model by name, filtered by source and by name, a page at a time; each links
to its page (lineage, runs, evaluations, "capture and evaluate").

URL: /models?source=finetune&q=<part of a name>&offset=50
"""

from __future__ import annotations

import dash
from dash import dcc, html

from frontend import components as ui
from frontend.links import Names, named_link

dash.register_page(__name__, path="/models", name="Models", order=12)

LIMIT = 50
SOURCES = ["hub", "local", "demo", "finetune"]


def layout(source=None, q=None, offset=None, **_query):
    offset = max(ui.to_int(offset, 0), 0)
    source = source if source in SOURCES else None
    found, err = ui.fetch("/models", source=source, q=q or None, limit=LIMIT, offset=offset)
    models = (found or {}).get("data", [])
    names = Names.fetch()
    rows = [
        [
            named_link(m["name"], f"/models/{m['id']}", "model", m["id"]),
            m["source"],
            names.model_link(m["parent_id"]) if m["parent_id"] else "",
            dcc.Link(f"job {m['job_id']}", href=f"/jobs/{m['job_id']}") if m["job_id"] else "",
            ui.fmt_time(m["created_at"]),
        ]
        for m in models
    ]
    return ui.page(
        "Models",
        html.Div(
            [
                ui.control("Source", ui.filter_dropdown("models", "source", SOURCES, source)),
                html.Div(
                    [
                        html.Label("Name contains", htmlFor="models-q"),
                        dcc.Input(id="models-q", value=q or "", debounce=True, type="search"),
                    ],
                    className="control",
                ),
            ],
            className="controls",
        ),
        html.P(err, className="error") if err else None,
        ui.pager("/models", offset, LIMIT, found["count"], source=source, q=q) if found else None,
        ui.table(
            ["model", "source", "trained from", "trained by", "created"], rows, id="models-list"
        )
        if rows
        else html.P("No models match.", className="muted", id="models-none"),
    )


ui.url_filters("models", ["source", "q"])

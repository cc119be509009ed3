"""Every sweep by name (its base model and grid), newest first, with its progress over all the
jobs it queued ("12/39 done · ETA 4 min"), filtered by state, a page at a time.

URL: /sweeps?state=running&offset=50   (/sweeps/<id> is one sweep, /sweeps/new the form)
"""

from __future__ import annotations

import dash
from dash import dcc, html

from frontend import components as ui
from frontend.tables import sweeps_table

dash.register_page(__name__, path="/sweeps", name="Sweeps", order=13)

LIMIT = 50
STATES = ["queued", "running", "succeeded", "failed", "cancelled"]


def layout(state=None, offset=None, **_query):
    offset = max(ui.to_int(offset, 0), 0)
    state = state if state in STATES else None
    found, err = ui.fetch("/sweeps", state=state, limit=LIMIT, offset=offset)
    sweeps = (found or {}).get("data", [])
    return ui.page(
        "Sweeps",
        html.Div(
            [
                ui.control("State", ui.filter_dropdown("sweeps", "state", STATES, state)),
                dcc.Link("New sweep", href="/sweeps/new", className="write-control"),
            ],
            className="controls",
        ),
        html.P(err, className="error") if err else None,
        ui.pager("/sweeps", offset, LIMIT, found["count"], state=state) if found else None,
        sweeps_table(sweeps, id="sweeps-list")
        if sweeps
        else html.P("No sweeps match.", className="muted", id="sweeps-none"),
    )


ui.url_filters("sweeps", ["state"])

"""A "Delete" panel for the page of a dataset, a model or a run: what depends on it (GET
/api/<things>/<id>/dependants, each a link), a second click to confirm, and DELETE, with cascade
when the box is ticked; a 409 (dependants appeared meanwhile) or a 401 is said in the panel
(a 401 shows the header's token field). Success leaves for ``back`` (the list page). One panel
a page; a reader without a token (team mode) sees what depends on the thing, not the controls.
"""

from __future__ import annotations

from dash import Input, Output, State, callback, dcc, html, no_update
from dash.exceptions import PreventUpdate

from frontend.api import WriteRefused
from frontend.components import api, fetch, token_hint

PAGES = {"runs": "/runs", "evaluations": "/evaluations", "models": "/models", "jobs": "/jobs"}


def dependants_list(found: dict[str, list[int]]) -> list:
    """ "runs 3, 4; jobs 12" with each id a link to its page."""
    parts = []
    for table, ids in found.items():
        links = []
        for i, ident in enumerate(ids):
            links += [", "] if i else []
            links.append(dcc.Link(str(ident), href=f"{PAGES.get(table, '')}/{ident}"))
        parts += ["; "] if parts else []
        parts += [f"{table.replace('_', ' ')} ", *links]
    return parts


def delete_panel(what: str, ident: int, name: str, back: str) -> html.Div:
    """The panel for ``what`` ("dataset", "model" or "run") ``ident`` called ``name``."""
    path = f"/{what}s/{ident}"
    found, err = fetch(f"{path}/dependants")
    found = found or {}
    if err:
        said = [err]
    elif found:
        tick = " Tick the box to delete those too (queued or running jobs are cancelled)."
        said = ["What depends on it: ", *dependants_list(found), ".",
                html.Span(tick, className="write-control")]  # fmt: skip
    else:
        said = ["Nothing depends on it."]
    return html.Div(
        [
            html.H2(f"Delete this {what}"),
            html.P(said, className="muted", id="delete-dependants"),
            token_hint("Deleting"),
            dcc.Checklist(
                [{"label": " also delete what depends on it", "value": "on"}] if found else [],
                [],
                id="delete-cascade",
                className="write-control",
            ),
            html.Button(
                f"Delete {name}", className="button danger write-control", id="delete-button"
            ),
            html.Span(
                [
                    f" Delete {what} {name} for good? ",
                    html.Button(
                        "Yes, delete", className="button danger write-control", id="delete-confirm"
                    ),
                ],
                id="delete-ask",
                style={"display": "none"},
            ),
            html.Div(id="delete-result"),
            dcc.Store(id="delete-target", data={"path": path, "back": back}),
            dcc.Store(id={"type": "auth-401", "page": "delete"}),
        ],
        className="card",
        id="delete-panel",
    )


@callback(
    Output("delete-ask", "style"),
    Input("delete-button", "n_clicks"),
    prevent_initial_call=True,
)
def ask(n_clicks):
    if not n_clicks:
        raise PreventUpdate
    return {"display": "inline"}


@callback(
    Output("delete-result", "children"),
    Output("url", "href", allow_duplicate=True),
    Output({"type": "auth-401", "page": "delete"}, "data"),
    Input("delete-confirm", "n_clicks"),
    State("delete-cascade", "value"),
    State("delete-target", "data"),
    State("api-token-store", "data"),
    prevent_initial_call=True,
)
def delete(n_clicks, cascade, target, token):
    if not n_clicks:  # the panel was just rendered
        raise PreventUpdate
    params = {"cascade": "true"} if cascade else {}
    try:
        api().write("DELETE", target["path"], token, params=params)
    except WriteRefused as refused:
        message = html.P(refused.describe("Not deleted"), className="error")
        return message, no_update, refused.needs_token or no_update
    return html.P("Deleted.", className="ok"), target["back"], no_update

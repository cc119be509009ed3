"""Datasets: all datasets with their diversity stats side by side, and an upload form.

URL: /datasets?side=<prompts|responses>
"""

from __future__ import annotations

import base64

import dash
from dash import Input, Output, State, callback, dcc, html, no_update

from frontend.api import WriteRefused
from frontend.components import api, control, error, fetch, page, stats_table

dash.register_page(__name__, path="/datasets", name="Datasets", order=1)

FORMATS = ["jsonl", "csv", "xstest", "orbench"]


def layout(side="prompts", **_query):
    side = side if side in ("prompts", "responses") else "prompts"
    datasets, err = fetch("/datasets")
    return page(
        "Datasets",
        error(err),
        html.P(
            [
                "Diversity of the ",
                html.Strong(side),
                " (word tokens). Other side: ",
                dcc.Link(
                    "responses" if side == "prompts" else "prompts",
                    href=f"/datasets?side={'responses' if side == 'prompts' else 'prompts'}",
                ),
            ]
        ),
        stats_table((datasets or {}).get("data", []), side, "datasets-stats") if datasets else None,
        html.H2("Upload a dataset"),
        html.Div(
            [
                control("Name", dcc.Input(id="upload-name", type="text")),
                control(
                    "Format", dcc.Dropdown(FORMATS, "jsonl", id="upload-format", clearable=False)
                ),
                control("Label (rows without one)", dcc.Input(id="upload-label", type="text")),
                control(
                    "OR-Bench split",
                    dcc.Dropdown(
                        [
                            {"label": "Hard-1K (safe)", "value": "hard-1k"},
                            {"label": "80K (safe)", "value": "80k"},
                            {"label": "Toxic (unsafe)", "value": "toxic"},
                        ],
                        None,
                        id="upload-split",
                        placeholder="orbench only",
                    ),
                ),
                html.Div(
                    dcc.Upload(
                        html.Div(id="upload-filename", children="Drop a file or click"),
                        id="upload-file",
                        className="upload",
                    ),
                    className="control wide",
                ),
                html.Button("Upload", id="upload-button", className="button"),
            ],
            className="controls",
        ),
        html.Div(id="upload-result"),
        dcc.Store(id={"type": "auth-401", "page": "datasets"}),
    )


@callback(
    Output("upload-filename", "children"),
    Input("upload-file", "filename"),
    prevent_initial_call=True,
)
def show_filename(filename):
    return filename or "Drop a file or click"


@callback(
    Output("upload-result", "children"),
    Output({"type": "auth-401", "page": "datasets"}, "data"),
    Input("upload-button", "n_clicks"),
    State("upload-file", "contents"),
    State("upload-file", "filename"),
    State("upload-name", "value"),
    State("upload-format", "value"),
    State("upload-label", "value"),
    State("upload-split", "value"),
    State("api-token-store", "data"),
    prevent_initial_call=True,
)
def upload(n_clicks, contents, filename, name, format, label, split=None, token=None):
    if not n_clicks:
        return None, no_update
    if not contents:
        return error("file: choose a file first"), no_update
    files = {"file": (filename or "upload", base64.b64decode(contents.split(",", 1)[1]))}
    data = {"name": name or "", "format": format}
    if label:
        data["label"] = label
    if split:
        data["split"] = split
    try:
        dataset = api().write("POST", "/datasets", token, files=files, data=data)
    except WriteRefused as refused:
        message = error(refused.describe("Upload refused"), id="upload-error")
        return message, refused.needs_token or no_update
    imported = html.P(
        [
            "Imported ",
            dcc.Link(
                f"{dataset['name']} ({dataset['n_rows']} rows)", href=f"/datasets/{dataset['id']}"
            ),
            "; its diversity stats are being computed by a job.",
        ],
        className="ok",
    )
    return imported, no_update

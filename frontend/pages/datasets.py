"""Datasets: all datasets with their role and diversity stats side by side, and an upload form.

URL: /datasets?side=<prompts|responses>

The upload's size limit comes from the API (GET /api/datasets/limits): the browser refuses a
larger file before sending any of it and says so in MB (``dcc.Upload(max_size=...)`` drops it;
assets/upload_limit.js writes the message).
"""

from __future__ import annotations

import base64

import dash
from dash import Input, Output, State, callback, dcc, html, no_update

from frontend.api import WriteRefused
from frontend.components import (
    api,
    control,
    error,
    fetch,
    live_refresh,
    page,
    upload_name_callback,
    write_form,
)
from frontend.tables import stats_table

dash.register_page(__name__, path="/datasets", name="Datasets", order=1)

FORMATS = ["jsonl", "csv", "xstest", "orbench"]
LABELS = [
    {"label": "from the file (safe where it has none)", "value": ""},
    {"label": "safe", "value": "safe"},
    {"label": "unsafe", "value": "unsafe"},
]
FORMAT_HELP = (
    "jsonl and csv: prompt, optional response, label (safe/unsafe) and type columns. xstest: "
    "prompt and type, and a label column, or XSTest's own types (contrast_ types unsafe), or a "
    "label chosen here; a file with none of these is refused, naming the missing column. "
    "orbench: prompt and category, with its split or a label."
)


def megabytes(n_bytes: int) -> str:
    """As the API says it: "20 MB", "1.5 MB" (10^6 bytes)."""
    return f"{n_bytes / 1e6:.1f}".removesuffix(".0") + " MB"


def file_drop(id: str, max_bytes: int | None) -> html.Div:
    """A drop zone refusing files over ``max_bytes`` in the browser, with the limit said in MB
    and ``.upload-refused`` for the message of a refused file (assets/upload_limit.js)."""
    limit = megabytes(max_bytes) if max_bytes else None
    return html.Div(
        [
            dcc.Upload(
                html.Div(id=f"{id}-name", children="Drop a file or click"),
                id=id,
                className="upload",
                max_size=max_bytes or -1,
                multiple=False,
            ),
            html.Div(f"Up to {limit}." if limit else "", className="muted"),
            html.Div(className="upload-refused error", id=f"{id}-refused"),
        ],
        className="control wide",
        **{"data-max-bytes": str(max_bytes or ""), "data-limit": limit or ""},
    )


def layout(side="prompts", **_query):
    side = side if side in ("prompts", "responses") else "prompts"
    datasets, err = fetch("/datasets")
    listed = (datasets or {}).get("data", [])
    limits, _ = fetch("/datasets/limits")
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
        html.Div(stats_table(listed, side, "datasets-stats") if datasets else None, id="datasets"),
        dcc.Interval(id="datasets-tick", interval=3000, disabled=not computing(listed)),
        dcc.Store(id="datasets-side", data=side),
        *write_form(
            "upload",
            "Upload a dataset",
            "Uploading a dataset",
            FORMAT_HELP,
            [
                control("Name", dcc.Input(id="upload-name", type="text")),
                control(
                    "Format",
                    dcc.Dropdown(FORMATS, "jsonl", id="upload-format", clearable=False),
                ),
                control(
                    "Label of rows without one",
                    dcc.Dropdown(LABELS, "", id="upload-label", clearable=False),
                ),
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
                file_drop("upload-file", (limits or {}).get("max_bytes")),
            ],
            "Upload",
        ),
        dcc.Store(id={"type": "auth-401", "page": "datasets"}),
    )


def computing(datasets: list[dict]) -> bool:
    return any(d["stats"] is None for d in datasets)


@live_refresh("datasets", "datasets-tick", "datasets-side")
def refresh(side):
    """Every 3 s while some dataset's stats are computing."""
    datasets, err = fetch("/datasets")
    if err:
        return error(err), False
    listed = datasets["data"]
    return stats_table(listed, side, "datasets-stats"), not computing(listed)


show_filename = upload_name_callback("upload-file")


@callback(
    Output("upload-result", "children"),
    Output({"type": "auth-401", "page": "datasets"}, "data"),
    Output("datasets-tick", "disabled", allow_duplicate=True),
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
        return None, no_update, no_update
    if not contents:
        return error("file: choose a file first", id="upload-error"), no_update, no_update
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
        return message, refused.needs_token or no_update, no_update
    imported = html.P(
        [
            "Imported ",
            dcc.Link(
                f"{dataset['name']} ({dataset['n_rows']} rows, {dataset['role']})",
                href=f"/datasets/{dataset['id']}",
            ),
            "; its diversity stats are being computed by a job.",
        ],
        className="ok",
    )
    return imported, no_update, False  # the table refreshes until its stats are in

"""Data similarity in the UI (GET /api/datasets/<id>/similarity, the ``data_similarity`` job):
a section of the dataset page (choose the other set; word n-gram overlaps, and the subspace
overlap per layer of each model it was measured on; a button queues the job on a model), and the
sweep table's similarity of the safety data to the probe set (docs/science.md, "Data
similarity": why that pair).
"""

from __future__ import annotations

from dash import Input, Output, State, callback, dcc, html, no_update

from frontend.api import WriteRefused
from frontend.components import action_row, api, control, error, fetch, fmt, table
from frontend.links import named_link

NS = ("1", "2", "3")


def _similarity(dataset_id: int, other: int) -> tuple[dict | None, str | None]:
    return fetch(f"/datasets/{dataset_id}/similarity", other=other)


def _ngram_text(ngrams: dict | None) -> str:
    if not ngrams:
        return "not computed (large sets: run a data_similarity job)"
    return " · ".join(f"{n}-gram {fmt(ngrams.get(n))}" for n in NS)


def _queue(token: str | None, dataset_id: int, other: int, model_id: int) -> dict:
    """Submit a data_similarity job of the pair on the model (raises WriteRefused)."""
    params = {"dataset_id": dataset_id, "other_dataset_id": other, "model_id": model_id}
    return api().write("POST", "/jobs", token, json={"kind": "data_similarity", "params": params})


def dataset_section(dataset: dict, datasets: list[dict]) -> html.Div:
    """The dataset page's section: the other set, a model to measure on, the results."""
    others = [{"label": d["name"], "value": d["id"]} for d in datasets if d["id"] != dataset["id"]]
    models, _ = fetch("/models", limit=200)
    model_options = [{"label": m["name"], "value": m["id"]} for m in (models or {}).get("data", [])]
    model = control("Model", dcc.Dropdown(model_options, None, id="similarity-model"))
    model.className += " write-control"  # only the submit reads it: hidden with the button
    return html.Div(
        [
            html.H2("Similarity to another set"),
            html.P(
                "Word n-gram overlap of the prompts (Jaccard index of the distinct lowercase "
                "word 1-3-grams), and, per model, the overlap of the two sets' top-k residual "
                "subspaces at each layer (mean cos² of the principal angles; 'chance' is k/d, "
                "what two random subspaces give).",
                className="muted",
            ),
            dcc.Store(id="similarity-dataset", data=dataset["id"]),
            dcc.Store(id={"type": "auth-401", "page": "similarity"}),
            *action_row(
                [
                    control("Other set", dcc.Dropdown(others, None, id="similarity-other")),
                    model,
                ],
                "Measure on this model",
                "similarity-submit",
                "similarity-queued",
                button_class="button write-control",
            ),
            html.Div(id="similarity-result"),
        ],
        className="card",
        id="similarity-section",
    )


def subspace_table(entries: list[dict], id: str) -> html.Table:
    """One row per model: its prompts, k, chance and the overlap at each layer."""
    n_layers = max(len(e["layers"]) for e in entries)
    rows = [
        [
            named_link(
                e["model_name"] or "model", f"/models/{e['model_id']}", "model", e["model_id"]
            ),
            " / ".join(str(n) for n in e["n_prompts"]),
            e["k"],
            fmt(e["chance"]),
            *[fmt(layer["subspace_overlap"]) for layer in e["layers"]],
        ]
        for e in entries
    ]
    columns = ["model", "prompts", "k", "chance", *[f"layer {i}" for i in range(n_layers)]]
    return table(columns, rows, id=id)


@callback(
    Output("similarity-result", "children"),
    Input("similarity-other", "value"),
    State("similarity-dataset", "data"),
)
def show(other, dataset_id):
    if other is None:
        return html.P("Choose the other set.", className="muted")
    found, err = _similarity(dataset_id, other)
    if err:
        return error(err)
    parts = [html.P(f"n-gram overlap of the prompts: {_ngram_text(found['ngram_overlap'])}")]
    if found["subspace"]:
        parts.append(subspace_table(found["subspace"], "similarity-subspace"))
    else:
        parts.append(html.P("Subspace overlap not measured on any model yet.", className="muted"))
    if found["pending_job_ids"]:
        pending = ", ".join(str(i) for i in found["pending_job_ids"])
        parts.append(html.P(f"Queued or running: job {pending}.", className="muted"))
    return parts


@callback(
    Output("similarity-queued", "children"),
    Output({"type": "auth-401", "page": "similarity"}, "data"),
    Input("similarity-submit", "n_clicks"),
    State("similarity-dataset", "data"),
    State("similarity-other", "value"),
    State("similarity-model", "value"),
    State("api-token-store", "data"),
    prevent_initial_call=True,
)
def submit(_n, dataset_id, other, model_id, token):
    if other is None or model_id is None:
        return html.P("Choose the other set and a model.", className="error"), no_update
    try:
        job = _queue(token, dataset_id, other, model_id)
    except WriteRefused as exc:
        return html.P(exc.describe("Refused"), className="error"), exc.needs_token or no_update
    return html.P(
        ["Queued ", named_link("data_similarity", f"/jobs/{job['id']}", "job", job["id"]), "."],
        className="ok",
    ), no_update


# --- the sweep table ---------------------------------------------------------------------

SWEEP_COLUMN = "safety~probe subspace (last layer)"


def _dataset_ids(names: list[str]) -> dict[str, int]:
    found, _ = fetch("/datasets")
    return {d["name"]: d["id"] for d in (found or {}).get("data", []) if d["name"] in names}


def sweep_similarity(params: dict, cells: list[dict]) -> tuple[html.Div, list]:
    """The sweep's similarity: a line with the n-gram overlaps of safety ~ probe and general ~
    safety (the same for every cell), a button that measures safety ~ probe on every cell's
    model, and each cell's subspace overlap at the last layer (all layers on hover)."""
    safety, probe, general = (
        params.get(f"{role}_dataset", role) for role in ("safety", "probe", "general")
    )  # by name, the sweep's defaults where its stored parameters do not say
    ids = _dataset_ids([safety, probe, general])
    if safety not in ids or probe not in ids:
        return html.Div(), ["" for _ in cells]
    found, err = _similarity(ids[safety], ids[probe])
    if err:
        return error(err), ["" for _ in cells]
    line = [
        f"Data similarity (prompts) · {safety} ~ {probe}: {_ngram_text(found['ngram_overlap'])}"
    ]
    if general in ids:
        context, _ = _similarity(ids[general], ids[safety])
        if context:
            line.append(f" · {general} ~ {safety}: {_ngram_text(context['ngram_overlap'])}")
    by_model = {e["model_id"]: e for e in found["subspace"]}
    values = []
    for c in cells:
        entry = by_model.get(c["model_id"])
        if entry is None:
            values.append("")
            continue
        layers = entry["layers"]
        hover = ", ".join(f"layer {x['layer']}: {fmt(x['subspace_overlap'])}" for x in layers)
        values.append(
            html.Span(
                fmt(layers[-1]["subspace_overlap"]),
                title=f"{hover} (chance {fmt(entry['chance'])}, k {entry['k']})",
            )
        )
    missing = sorted(
        {c["model_id"] for c in cells if c["model_id"] and c["model_id"] not in by_model}
    )
    header = html.Div(
        [
            html.P(line, id="sweep-similarity"),
            dcc.Store(
                id="sweep-similarity-target",
                data={"dataset_id": ids[safety], "other": ids[probe], "models": missing},
            ),
            dcc.Store(id={"type": "auth-401", "page": "sweep-similarity"}),
            html.Button(
                f"Measure {safety} ~ {probe} on {len(missing)} cell model(s)",
                id="sweep-similarity-submit",
                className="button write-control",
                disabled=not missing or bool(found["pending_job_ids"]),
            ),
            html.Span(id="sweep-similarity-queued"),
        ]
    )
    return header, values


@callback(
    Output("sweep-similarity-queued", "children"),
    Output({"type": "auth-401", "page": "sweep-similarity"}, "data"),
    Input("sweep-similarity-submit", "n_clicks"),
    State("sweep-similarity-target", "data"),
    State("api-token-store", "data"),
    prevent_initial_call=True,
)
def submit_sweep(_n, target, token):
    queued = []
    try:
        for model_id in target["models"]:
            queued.append(_queue(token, target["dataset_id"], target["other"], model_id)["id"])
    except WriteRefused as exc:
        return html.Span(exc.describe("Refused"), className="error"), exc.needs_token or no_update
    return html.Span(f" Queued job {', '.join(map(str, queued))}.", className="ok"), no_update

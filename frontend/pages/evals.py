"""All evaluations, newest first, optionally of one model, each with its probe set and its
intervention (an ablated or added refusal direction); tick two or more to see their metrics side
by side (e.g. the same model with and without a system prompt); import a completion file
produced elsewhere as an evaluation; /frontier plots them all by method.

URL: /evals?model_id=<int>&compare=<id>,<id>
"""

from __future__ import annotations

import base64

import dash
from dash import ALL, Input, Output, State, callback, dcc, html, no_update

from backend.metrics import Scope, get_metric, metrics_for
from frontend.api import WriteRefused
from frontend.components import (
    api,
    control,
    error,
    fetch,
    fmt,
    fmt_time,
    page,
    parse_ids,
    table,
    to_int,
    upload_field,
    upload_name_callback,
    write_form,
)

dash.register_page(__name__, path="/evals", name="Evaluations", order=4)

COLUMNS = [
    "false_refusal_rate",
    "safety",
    "f1",
    "usefulness",
    "heldout_loss",
    "refusal_score_agreement",
]
MAX_COMPARED = 4


def short(text: str | None, n: int = 40) -> html.Span | str:
    """A system prompt cut to ``n`` characters (all of it on hover); "" without one."""
    if text is None:
        return ""
    return html.Span(text if len(text) <= n else text[: n - 1] + "…", title=text)


def intervention(params: dict) -> str:
    """An evaluation's intervention in short: "ablate (layer 3)", "add +2 (layer 3)"; ""."""
    done = params.get("intervention")
    if not done:
        return ""
    what = "ablate" if done.get("kind") == "ablate" else f"add {done.get('alpha', 0):+g}"
    return f"{what} (layer {done.get('layer')})"


def _tick(evaluation_id: int, ticked: list[int]) -> dcc.Checklist:
    return dcc.Checklist(
        [{"label": "", "value": evaluation_id}],
        [evaluation_id] if evaluation_id in ticked else [],
        id={"type": "eval-tick", "id": evaluation_id},
        inline=True,
    )


def _probe_set(e: dict, datasets: dict) -> dcc.Link:
    name = datasets.get(e["dataset_id"], f"dataset {e['dataset_id']}")
    return dcc.Link(name, href=f"/datasets/{e['dataset_id']}")


def _row(e: dict, names: dict, datasets: dict, ticked: list[int]) -> list:
    model = (
        dcc.Link(names.get(e["model_id"], e["model_id"]), href=f"/evals?model_id={e['model_id']}")
        if e["model_id"] is not None
        else html.Span("imported", className="muted")
    )
    job = dcc.Link(e["job_id"], href=f"/jobs/{e['job_id']}") if e["job_id"] else ""
    return [
        _tick(e["id"], ticked),
        dcc.Link(f"evaluation {e['id']}", href=f"/evals/{e['id']}"),
        model,
        _probe_set(e, datasets),
        short(e["params"].get("system_prompt")),
        intervention(e["params"]),
        *[fmt(e["metrics"].get(c)) for c in COLUMNS],
        job,
        fmt_time(e["created_at"]),
    ]


def comparison(evaluations: list[dict], names: dict, datasets: dict) -> html.Div:
    """The ticked evaluations' parameters and every evaluation metric of the catalogue (with
    its 95% interval where it has one), one column each, oldest first."""
    if len(evaluations) < 2:
        return html.P("Tick two evaluations to compare them side by side.", className="muted")
    rows = [
        ["model", *[names.get(e["model_id"], "imported") for e in evaluations]],
        ["probe set", *[_probe_set(e, datasets) for e in evaluations]],
        ["system prompt", *[short(e["params"].get("system_prompt"), 80) for e in evaluations]],
        ["system prompt applied", *[e["metrics"].get("system_prompt_mode") for e in evaluations]],
        ["classifier", *[e["params"].get("classifier", "") for e in evaluations]],
        ["intervention", *[intervention(e["params"]) for e in evaluations]],
    ]
    for metric in metrics_for(Scope.EVALUATION):
        values = []
        for e in evaluations:
            text = metric.format(e["metrics"].get(metric.name))
            interval = (e["metrics"].get("intervals") or {}).get(metric.name)
            if interval:
                text += f" [{metric.format(interval[0])}, {metric.format(interval[1])}]"
            values.append(text)
        rows.append([metric.label, *values])
    href = "/evals?compare=" + ",".join(str(e["id"]) for e in evaluations)
    return html.Div(
        [
            table(["", *[f"evaluation {e['id']}" for e in evaluations]], rows, id="evals-compare"),
            dcc.Link("link to this comparison", href=href, id="evals-compare-link"),
        ]
    )


def _import_form() -> list:
    about = (
        "A CSV (XSTest's published completions) or JSONL file with prompt and completion, "
        "optional type, label (safe/unsafe) and human label (final_label or verdict). A job "
        "judges the completions with the classifier."
    )
    controls = [
        control("Name of its prompt set", dcc.Input(id="import-name", type="text")),
        control(
            "Format",
            dcc.Dropdown(["csv", "jsonl"], "csv", id="import-format", clearable=False),
        ),
        control("Classifier", dcc.Input(id="import-classifier", value="rules")),
        upload_field("import-file"),
    ]
    return [
        *write_form(
            "import", "Import completions", "Importing completions", about, controls, "Import"
        ),
        dcc.Store(id={"type": "auth-401", "page": "evals"}),
    ]


def _model_names() -> dict:
    models, _ = fetch("/models", limit=1000)
    return {m["id"]: m["name"] for m in (models or {}).get("data", [])}


def _dataset_names() -> dict:
    datasets, _ = fetch("/datasets", limit=1000)
    return {d["id"]: d["name"] for d in (datasets or {}).get("data", [])}


def layout(model_id=None, compare=None, **_query):
    model_id = to_int(model_id)
    ticked = sorted(parse_ids(compare))[:MAX_COMPARED]
    found, err = fetch("/evaluations", model_id=model_id, limit=500)
    names, datasets = _model_names(), _dataset_names()
    evaluations = (found or {}).get("data", [])
    rows = [_row(e, names, datasets, ticked) for e in evaluations]
    by_id = {e["id"]: e for e in evaluations}
    title = f"Evaluations of {names.get(model_id, model_id)}" if model_id else "Evaluations"
    labels = [get_metric(c).label for c in COLUMNS]
    columns = ["compare", "evaluation", "model", "probe set", "system prompt", "intervention"]
    columns += [*labels, "job", "created"]
    return page(
        title,
        error(err),
        dcc.Link("all models", href="/evals") if model_id else None,
        dcc.Link("every evaluation by method: the frontier", href="/frontier", id="evals-frontier"),
        dcc.Link("the model's page: capture and evaluate it", href=f"/models/{model_id}")
        if model_id
        else None,
        table(columns, rows, id="evals-table")
        if rows
        else html.P("No evaluations yet (an evaluate job makes one).", className="muted"),
        html.Div(
            comparison([by_id[i] for i in ticked if i in by_id], names, datasets),
            id="evals-comparison",
        ),
        *_import_form(),
    )


@callback(
    Output("evals-comparison", "children"),
    Input({"type": "eval-tick", "id": ALL}, "value"),
    prevent_initial_call=True,
)
def compare_ticked(values):
    ids = sorted(i for value in values for i in (value or []))[:MAX_COMPARED]
    evaluations = [e for e in (fetch(f"/evaluations/{i}")[0] for i in ids) if e]
    return comparison(evaluations, _model_names(), _dataset_names())


show_filename = upload_name_callback("import-file")


@callback(
    Output("import-result", "children"),
    Output({"type": "auth-401", "page": "evals"}, "data"),
    Input("import-button", "n_clicks"),
    State("import-file", "contents"),
    State("import-file", "filename"),
    State("import-name", "value"),
    State("import-format", "value"),
    State("import-classifier", "value"),
    State("api-token-store", "data"),
    prevent_initial_call=True,
)
def import_completions(n_clicks, contents, filename, name, format, classifier, token=None):
    if not n_clicks:
        return None, no_update
    if not contents:
        return error("file: choose a file first"), no_update
    files = {"file": (filename or "upload", base64.b64decode(contents.split(",", 1)[1]))}
    data = {"name": name or "", "format": format, "classifier": classifier or "rules"}
    try:
        found = api().write("POST", "/evaluations/import", token, files=files, data=data)
    except WriteRefused as refused:
        message = error(refused.describe("Import refused"), id="import-error")
        return message, refused.needs_token or no_update
    evaluation = found["evaluation"]
    return html.P(
        [
            "Imported ",
            dcc.Link(
                f"evaluation {evaluation['id']} ({found['n_completions']} completions, "
                f"{found['n_labels']} human labels)",
                href=f"/evals/{evaluation['id']}",
            ),
            "; ",
            dcc.Link(f"job {found['job_id']}", href=f"/jobs/{found['job_id']}"),
            f" judges them with {evaluation['params']['classifier']}.",
        ],
        className="ok",
        id="import-ok",
    ), no_update

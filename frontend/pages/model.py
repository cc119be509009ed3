"""One model: its lineage (the chain of models it was trained from, the data mix and the
training parameters), the models trained from it, its runs and evaluations, "capture and
evaluate" (frontend/measure.py) with the base model's run as reference, and the relation view of
its family (/relation?family=<name>: it beside its base, siblings and children).

URL: /models/<model_id>
"""

from __future__ import annotations

import json

from dash import dcc, html

from backend.metrics import get_metric
from frontend import components as ui
from frontend.deleting import delete_panel
from frontend.links import (
    Names,
    aligned_to,
    family_relation_link,
    named_link,
    named_runs,
    run_link,
    small_id,
)
from frontend.measure import measure_panel

SCORES = [get_metric(n) for n in ("false_refusal_rate", "safety", "f1", "heldout_loss")]
TRAINING = [  # the training parameters shown, in this order, when the lineage has them
    "safety_fraction",
    "n_examples",
    "steps",
    "epochs",
    "learning_rate",
    "batch_size",
    "seed",
    "vcl_lambda",
    "vcl_sign",
    "vcl_k",
    "vcl_window_a",
    "vcl_window_b",
    "vcl_measure",
    "lora",
    "beta",
]


def _chain(chain: list[dict]) -> html.Div:
    """Root first: base -> ... -> this model."""
    parts: list = []
    for i, m in enumerate(reversed(chain)):
        if i:
            parts.append(html.Span(" → ", className="muted"))
        last = i == len(chain) - 1
        label = html.Strong(m["name"]) if last else dcc.Link(m["name"], href=f"/models/{m['id']}")
        parts += [label, small_id("model", m["id"])]
    return html.Div(parts, id="model-chain")


def _titles(kind: str) -> dict[str, str]:
    """The human labels of a job kind's parameters (their titles in GET /api/kinds)."""
    kinds, _ = ui.fetch("/kinds")
    found = next((k for k in kinds or [] if k["name"] == kind), None)
    props = (found or {}).get("params_schema", {}).get("properties", {})
    return {name: prop.get("title", name) for name, prop in props.items()}


def _training(model: dict, names: Names) -> html.Div | None:
    """The data mix and the training parameters from the model's lineage."""
    lineage = model["lineage"] or {}
    params = lineage.get("params") or lineage  # a finetune's lineage holds its job's params
    if not params:
        return None
    rows = []
    mix = lineage.get("data_mix") or {}
    n = params.get("n_examples")
    p = params.get("safety_fraction")
    for role, field, share in (
        ("general", "general_dataset_id", None if p is None else 1 - p),
        ("safety", "safety_dataset_id", p),
    ):
        if params.get(field):
            count = (
                mix.get(role) if mix else (round(n * share) if n and share is not None else None)
            )
            rows.append(
                [f"{role} data", names.dataset_link(params[field]), "" if count is None else count]
            )
    dataset = lineage.get("dataset")
    if isinstance(dataset, dict):  # dpo: its preference pairs
        rows.append(
            [
                "preference pairs",
                named_link(dataset["name"], f"/datasets/{dataset['id']}", "dataset", dataset["id"]),
                dataset.get("pairs", ""),
            ]
        )
    mix_table = ui.table(["", "dataset", "examples"], rows, id="model-mix") if rows else None
    titles = _titles(lineage.get("kind") or "finetune")
    shown = [[titles.get(k, k), ui.fmt(params[k])] for k in TRAINING if params.get(k) is not None]
    return html.Div(
        [
            html.H2("Data mix"),
            mix_table or html.P("Not trained here.", className="muted"),
            html.H2("Training"),
            ui.table(["parameter", "value"], shown, id="model-training") if shown else None,
            html.Details(
                [html.Summary("all of its lineage"), html.Code(json.dumps(lineage))],
                className="muted",
            ),
        ]
    )


def _runs(model_id: int, names: Names) -> html.Div:
    found, err = ui.fetch("/runs", model_id=model_id, limit=100)
    runs = (found or {}).get("data", [])
    if not runs:
        return html.P(err or "No runs yet.", className="error" if err else "muted")
    named = named_runs(runs)
    rows = [
        [
            run_link(named.get(r["id"]), r["id"]),
            names.dataset_link(r["dataset_id"]),
            r["n_layers"],
            aligned_to(r, named),
            ui.fmt_time(r["created_at"]),
        ]
        for r in runs
    ]
    return ui.table(["run", "prompt set", "layers", "aligned to", "created"], rows, id="model-runs")


def _evaluations(model_id: int, names: Names) -> html.Div:
    found, err = ui.fetch("/evaluations", model_id=model_id, limit=100)
    evaluations = (found or {}).get("data", [])
    if not evaluations:
        return html.P(err or "No evaluations yet.", className="error" if err else "muted")
    rows = [
        [
            names.evaluation_link(e),
            e["params"].get("classifier", "rules"),
            *[m.format(e["metrics"].get(m.name)) for m in SCORES],
            ui.fmt_time(e["created_at"]),
        ]
        for e in evaluations
    ]
    head = ["evaluation", "classifier", *[m.label for m in SCORES], "created"]
    return ui.table(head, rows, id="model-evals")


@ui.register_page_of_one("/models/<model_id>", "Model", "/models/<model_id>")
def layout(model, model_id=None, **_query):
    chain, _ = ui.fetch(f"/models/{model['id']}/lineage")
    chain = chain or [model]
    names = Names.fetch()
    children, _ = ui.fetch("/models", parent_id=model["id"], limit=100)
    trained = [
        named_link(m["name"], f"/models/{m['id']}", "model", m["id"])
        for m in (children or {}).get("data", [])
    ]
    made_by = (
        dcc.Link(f"job {model['job_id']}", href=f"/jobs/{model['job_id']}", id="model-job")
        if model["job_id"]
        else html.Span("registered", className="muted")
    )
    return ui.page(
        model["name"],
        html.H2("Lineage"),
        _chain(chain),
        html.P(["Trained by: ", made_by, " · ", model["uri"]], className="muted"),
        html.Div([family_relation_link(model["name"], "model-family-link")], className="links"),
        _training(model, names),
        html.Div(
            [html.Strong("Trained from it: "), *trained] if trained else [],
            className="links",
            id="model-children",
        ),
        measure_panel({"model_id": model["id"]}, [m["id"] for m in chain[1:]], [], model["name"]),
        html.H2("Runs"),
        _runs(model["id"], names),
        html.H2("Evaluations"),
        _evaluations(model["id"], names),
        delete_panel("model", model["id"], model["name"], "/models"),
        subtitle=f"model {model['id']} · {model['source']} · {ui.fmt_time(model['created_at'])}",
    )

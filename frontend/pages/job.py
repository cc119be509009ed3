"""One job: status, progress, ETA, queue position, log tail, cancel / retry, and links (by name)
to what it produced.

URL: /jobs/<job_id>
A finetune job also shows its training curves (loss, sft_loss, vcl_term, concentration of each
VCL window layer) from /api/jobs/<id>/metrics, refreshed while it runs, and, when it captured
geometry during training (/api/jobs/<id>/geometry), concentration@3, effective rank and alignment
with the base model per layer on the same x-axis; a finetune or dpo job
offers "capture and evaluate" of its model (frontend/measure.py: queued after it while it has not
finished), and once it has, the relation view of that model's family (/relation?family=<name>);
a sweep job links to its cells (/sweeps/<id>) and the concentration vs false refusal view
(/relation?sweep=<id>). A job that does not exist gets a page saying so, without buttons.
In team mode (the API's writes need a token) a reader without one sees no Cancel/Retry (class
write-control, hidden by frontend/app.py's read-only class).
"""

from __future__ import annotations

import json

from dash import Input, Output, State, callback, ctx, dcc, html, no_update
from plotly.subplots import make_subplots

from backend.metrics import get_metric
from frontend import components as ui
from frontend.api import WriteRefused
from frontend.figures import layout_defaults
from frontend.links import Names, family_relation_link, job_subject, named_link, run_link, run_names
from frontend.measure import TRAINED_SUFFIX, measure_panel, trained_model_name
from frontend.tables import TERMINAL, eta, progress_bar, status_badge

LOG_TAIL = 8000
LOSS_TERMS = [get_metric(name) for name in ("loss", "sft_loss", "vcl_term")]  # training curves
WINDOW = get_metric("window_concentration")
# geometry during training (finetune's geometry_dataset_id), per layer against the step
GEOMETRY = [get_metric(name) for name in ("concentration@3", "effective_rank", "alignment")]


@ui.register_page_of_one("/jobs/<job_id>", "Job", "/jobs/<job_id>")
def layout(job, job_id=None, **_query):
    subject = job_subject(job, Names.fetch())
    return ui.page(
        f"Job {job_id} · {job['kind']}" + (f" · {subject}" if subject else ""),
        dcc.Store(id="job-id", data=job_id),
        html.Div(
            [
                html.Button("Cancel", id="job-cancel", className="button danger write-control"),
                html.Button("Retry", id="job-retry", className="button write-control"),
                html.Span(id="job-action", className="muted"),
            ],
            className="controls",
        ),
        dcc.Store(id={"type": "auth-401", "page": "job"}),
        html.Div(id="job-status"),
        _measure(job),
        html.Div(
            [html.H2("Training curves"), html.Div(ui.graph("job-curves"), className="card")],
            id="job-curves-box",
            style={"display": "none"},
        ),
        html.H2("Log (tail)"),
        html.Pre(id="job-log", className="log"),
        dcc.Interval(id="job-tick", interval=1000),
    )


def _base_lineage(params: dict) -> list[dict]:
    """The base model a finetune / dpo job trains and its ancestors, base first ([] where the
    base is not registered)."""
    base_id, name = params.get("base_model_id"), params.get("base_model_name")
    if base_id is None:
        found, _ = ui.fetch("/models", q=name, limit=100)
        base_id = next((m["id"] for m in (found or {}).get("data", []) if m["name"] == name), None)
    chain, _ = ui.fetch(f"/models/{base_id}/lineage") if base_id is not None else ([], None)
    return chain or []


def _measure(job: dict):
    """The capture-and-evaluate panel of a finetune / dpo job that succeeded or still may."""
    if job["kind"] not in TRAINED_SUFFIX or job["status"] in ("failed", "cancelled"):
        return None
    chain = _base_lineage(job["params"])
    ancestors = [m["id"] for m in chain]
    model_id = (job["result"] or {}).get("model_id")
    if model_id:
        return measure_panel({"model_id": model_id}, ancestors, [], "the trained model")
    name = trained_model_name(job, chain[0]["name"] if chain else None)
    if name is None:
        return None
    return measure_panel({"model_name": name}, ancestors, [job["id"]], f"the model {name}")


def _produced(job: dict) -> list:
    links = []
    result = job["result"] or {}
    if job["kind"] in ("sweep", "intervention_sweep"):
        links.append(dcc.Link("sweep cells", href=f"/sweeps/{job['id']}", id="job-sweep-link"))
        links.append(
            dcc.Link(
                "concentration vs false refusal",
                href=f"/relation?sweep={job['id']}",
                id="job-relation-link",
            )
        )
    names = (
        Names.fetch()
        if {"evaluation_id", "model_id", "dataset_id", "created"} & set(result)
        else None
    )
    if result.get("evaluation_id"):
        evaluation, _ = ui.fetch(f"/evaluations/{result['evaluation_id']}")
        label = names.evaluation(evaluation) if evaluation else "evaluation"
        eid = result["evaluation_id"]
        links.append(named_link(label, f"/evals/{eid}", "evaluation", eid, id="job-eval-link"))
    if result.get("run_id"):
        named, _ = run_names([result["run_id"]])
        links.append(run_link(named.get(result["run_id"]), result["run_id"], id="job-run-link"))
    if result.get("model_id"):
        links.append(names.model_link(result["model_id"], id="job-model-link"))
        links.append(dcc.Link("its evaluations", href=f"/evals?model_id={result['model_id']}"))
        if job["kind"] in TRAINED_SUFFIX:
            name = names.model(result["model_id"])
            links.append(family_relation_link(name, "job-family-link"))
    if result.get("dataset_id"):
        links.append(names.dataset_link(result["dataset_id"]))
    for dataset_id in (result.get("created") or {}).values():
        if isinstance(dataset_id, int):
            links.append(names.dataset_link(dataset_id))
    return links


def _waiting(job: dict) -> str | html.Span:
    """Where a queued job stands: its place in the queue, or the jobs it waits for."""
    if job["status"] != "queued":
        return ""
    if job["queue_position"] is not None:
        return f"position {job['queue_position']} in the queue"
    return html.Span(
        ["waiting for ", *[dcc.Link(f"job {i} ", href=f"/jobs/{i}") for i in job["depends_on"]]]
    )


def sweep_jobs(job: dict) -> tuple[str, bool]:
    """A sweep job's own jobs in one line ("12/39 of its jobs finished, 27 open") and whether
    any is open: its job succeeds once it has queued them, long before they are done."""
    every, _ = ui.fetch("/jobs", parent_job_id=job["id"], limit=1)
    still, _ = ui.fetch("/jobs", parent_job_id=job["id"], status="queued,running", limit=1)
    total, open_ = (every or {}).get("count", 0), (still or {}).get("count", 0)
    return f"{total - open_}/{total} of its jobs finished, {open_} queued or running", open_ > 0


def _view(job: dict, cells: str | None = None):
    rows = [
        ["kind", job["kind"]],
        ["status", status_badge(job["status"])],
        ["progress", progress_bar(job)],
        ["message", job["message"]],
        ["ETA", eta(job)],
        ["queue", _waiting(job)],
        *([["its jobs", html.Span(cells, id="job-sweep-progress")]] if cells else []),
        ["attempts", f"{job['attempts']} / {job['max_attempts']}"],
        ["worker", job["worker_id"] or ""],
        [
            "created / started / finished",
            " / ".join(
                ui.fmt_time(job[k]) or "-" for k in ("created_at", "started_at", "finished_at")
            ),
        ],
        [
            "depends on",
            html.Span([dcc.Link(f"job {i} ", href=f"/jobs/{i}") for i in job["depends_on"]]),
        ],
        ["params", html.Code(json.dumps(job["params"]))],
        ["result", html.Code(json.dumps(job["result"])) if job["result"] is not None else ""],
    ]
    return html.Div(
        [
            html.P(job["error"], className="error", id="job-error") if job["error"] else None,
            ui.table(["", ""], rows, id="job-table"),
            html.H2("Produced"),
            html.Div(
                _produced(job) or html.Span("nothing yet", className="muted"),
                className="links",
                id="job-produced",
            ),
        ]
    )


@callback(
    Output("job-status", "children"),
    Output("job-log", "children"),
    Output("job-cancel", "disabled"),
    Output("job-retry", "disabled"),
    Output("job-action", "children"),
    Output({"type": "auth-401", "page": "job"}, "data"),
    Output("job-curves-box", "style"),
    Output("job-curves", "figure"),
    Output("job-tick", "disabled"),
    Input("job-tick", "n_intervals"),
    Input("job-cancel", "n_clicks"),
    Input("job-retry", "n_clicks"),
    State("job-id", "data"),
    State("api-token-store", "data"),
    State("job-curves", "figure"),
)
def refresh(_n, cancel_clicks, retry_clicks, job_id, token, shown):
    note, refused = no_update, no_update
    clicks = {"job-cancel": cancel_clicks, "job-retry": retry_clicks}
    if clicks.get(ctx.triggered_id):
        action = "cancel" if ctx.triggered_id == "job-cancel" else "retry"
        try:
            ui.api().write("POST", f"/jobs/{job_id}/{action}", token)
            note = f"{action} requested"
        except WriteRefused as exc:
            note = exc.describe(f"{action} refused")
            refused = exc.needs_token or no_update
    job, err = ui.fetch(f"/jobs/{job_id}")
    if err:
        return ui.error(err), "", True, True, note, refused, {"display": "none"}, no_update, False
    log = job["log"] or ""
    tail = log[-LOG_TAIL:] if len(log) > LOG_TAIL else log
    done = job["status"] in TERMINAL
    cells, open_cells = sweep_jobs(job) if job["kind"] == "sweep" else (None, False)
    box, figure = {"display": "none"}, no_update
    if job["kind"] == "finetune":
        box = {"display": "block"}
        # a finished job's curves are final: fetch them once
        if not (done and shown and shown.get("data")):
            metrics, merr = ui.fetch(f"/jobs/{job_id}/metrics")
            geometry, _ = ui.fetch(f"/jobs/{job_id}/geometry")
            figure = curves_figure(metrics or [], geometry or [], merr)
    still = done and not open_cells  # nothing of it will change (a retry's click runs this)
    return _view(job, cells), tail, done, not done, note, refused, box, figure, still


def curves_figure(metrics: list[dict], geometry: list[dict], err: str | None = None):
    """Loss terms (top) and VCL-window concentration per layer against the steps done; with
    geometry captured during training, concentration@3, effective rank and alignment with the
    base model (step 0) per layer below, on the same x-axis."""
    titles = ["loss = sft_loss + VCL term", "concentration of the VCL window layers"]
    if geometry:
        titles += [f"{m.label} per layer (geometry prompts)" for m in GEOMETRY]
    fig = make_subplots(
        rows=len(titles), cols=1, shared_xaxes=True, vertical_spacing=0.06, subplot_titles=titles
    )
    steps = [m["step"] + 1 for m in metrics]  # a metric row's step index -> steps done
    for metric, color in zip(LOSS_TERMS, ("#1f2a44", "#2563eb", "#f97316"), strict=True):
        fig.add_scatter(
            x=steps,
            y=[m["values"].get(metric.name) for m in metrics],
            mode="lines",
            name=metric.label,
            line={"color": color},
            row=1,
            col=1,
        )
    per_layer = [m["layer_values"].get(WINDOW.name) or {} for m in metrics]
    for layer in sorted({k for values in per_layer for k in values}, key=int):
        fig.add_scatter(
            x=steps,
            y=[values.get(layer) for values in per_layer],
            mode="lines",
            name=f"{WINDOW.label} (layer {layer})",
            row=2,
            col=1,
        )
    captured = [g["step"] for g in geometry]
    n_layers = max((len(g["values"]) for g in geometry), default=0)
    for row, metric in enumerate(GEOMETRY if geometry else [], start=3):
        for layer in range(n_layers):
            fig.add_scatter(
                x=captured,
                y=[g["values"][layer].get(metric.name) for g in geometry],
                mode="lines+markers",
                name=f"{metric.label} (layer {layer})",
                legendgroup=f"geometry-{layer}",
                row=row,
                col=1,
            )
    if not metrics:
        fig.add_annotation(
            text=err or "no training steps recorded yet",
            showarrow=False,
            x=0.5,
            y=0.5,
            xref="paper",
            yref="paper",
        )
    fig.update_xaxes(title_text="steps done", row=len(titles), col=1)
    return layout_defaults(fig, None, height=260 * len(titles))

"""One job: status, progress, ETA, log tail, cancel / retry, and links to what it produced.

URL: /jobs/<job_id>
A finetune job also shows its training curves (loss, sft_loss, vcl_term, concentration of each
VCL window layer) from /api/jobs/<id>/metrics, refreshed while it runs; a sweep job links to its
cells (/sweeps/<id>) and the concentration vs false refusal view (/relation?sweep=<id>).
"""

from __future__ import annotations

import json

from dash import Input, Output, State, callback, ctx, dcc, html, no_update
from plotly.subplots import make_subplots

from backend.metrics import get_metric
from frontend.api import WriteRefused
from frontend.components import (
    TERMINAL,
    api,
    error,
    eta,
    fetch,
    fmt_time,
    graph,
    layout_defaults,
    page,
    progress_bar,
    register_page_of_one,
    status_badge,
    table,
)

LOG_TAIL = 8000
LOSS_TERMS = [get_metric(name) for name in ("loss", "sft_loss", "vcl_term")]  # training curves
WINDOW = get_metric("window_concentration")


@register_page_of_one("/jobs/<job_id>", "Job")
def layout(job_id=None, **_query):
    return page(
        f"Job {job_id}",
        dcc.Store(id="job-id", data=job_id),
        html.Div(
            [
                html.Button("Cancel", id="job-cancel", className="button danger"),
                html.Button("Retry", id="job-retry", className="button"),
                html.Span(id="job-action", className="muted"),
            ],
            className="controls",
        ),
        dcc.Store(id={"type": "auth-401", "page": "job"}),
        html.Div(id="job-status"),
        html.Div(
            [html.H2("Training curves"), html.Div(graph("job-curves"), className="card")],
            id="job-curves-box",
            style={"display": "none"},
        ),
        html.H2("Log (tail)"),
        html.Pre(id="job-log", className="log"),
        dcc.Interval(id="job-tick", interval=1000),
    )


def _produced(job: dict) -> list:
    links = []
    result = job["result"] or {}
    if job["kind"] == "sweep":
        links.append(dcc.Link("sweep cells", href=f"/sweeps/{job['id']}", id="job-sweep-link"))
        links.append(
            dcc.Link(
                "concentration vs false refusal",
                href=f"/relation?sweep={job['id']}",
                id="job-relation-link",
            )
        )
    if result.get("evaluation_id"):
        links.append(
            dcc.Link(
                f"evaluation {result['evaluation_id']}",
                href=f"/evals/{result['evaluation_id']}",
                id="job-eval-link",
            )
        )
    if result.get("run_id"):
        links.append(
            dcc.Link(
                f"run {result['run_id']} spectra",
                href=f"/runs/{result['run_id']}",
                id="job-run-link",
            )
        )
    if result.get("model_id"):
        links.append(
            html.Span(f"model {result['model_id']}", id="job-model", style={"marginRight": "1em"})
        )
        links.append(dcc.Link("its evaluations", href=f"/evals?model_id={result['model_id']}"))
    if result.get("dataset_id"):
        links.append(
            dcc.Link(f"dataset {result['dataset_id']}", href=f"/datasets/{result['dataset_id']}")
        )
    for name, dataset_id in (result.get("created") or {}).items():
        if isinstance(dataset_id, int):
            links.append(dcc.Link(f"dataset {name}", href=f"/datasets/{dataset_id}"))
    return links


def _view(job: dict):
    rows = [
        ["kind", job["kind"]],
        ["status", status_badge(job["status"])],
        ["progress", progress_bar(job)],
        ["message", job["message"]],
        ["ETA", eta(job)],
        ["attempts", f"{job['attempts']} / {job['max_attempts']}"],
        ["worker", job["worker_id"] or ""],
        [
            "created / started / finished",
            " / ".join(
                fmt_time(job[k]) or "-" for k in ("created_at", "started_at", "finished_at")
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
            table(["", ""], rows, id="job-table"),
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
            api().write("POST", f"/jobs/{job_id}/{action}", token)
            note = f"{action} requested"
        except WriteRefused as exc:
            note = exc.describe(f"{action} refused")
            refused = exc.needs_token or no_update
    job, err = fetch(f"/jobs/{job_id}")
    if err:
        return error(err), "", True, True, note, refused, {"display": "none"}, no_update
    log = job["log"] or ""
    tail = log[-LOG_TAIL:] if len(log) > LOG_TAIL else log
    done = job["status"] in TERMINAL
    box, figure = {"display": "none"}, no_update
    if job["kind"] == "finetune":
        box = {"display": "block"}
        # a finished job's curves are final: fetch them once
        if not (done and shown and shown.get("data")):
            metrics, merr = fetch(f"/jobs/{job_id}/metrics")
            figure = curves_figure(metrics or [], merr)
    return _view(job), tail, done, not done, note, refused, box, figure


def curves_figure(metrics: list[dict], err: str | None = None):
    """Loss terms (top) and VCL-window concentration per layer (bottom) against the step."""
    fig = make_subplots(
        rows=2,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.1,
        subplot_titles=["loss = sft_loss + VCL term", "concentration of the VCL window layers"],
    )
    steps = [m["step"] for m in metrics]
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
    if not metrics:
        fig.add_annotation(
            text=err or "no training steps recorded yet",
            showarrow=False,
            x=0.5,
            y=0.5,
            xref="paper",
            yref="paper",
        )
    fig.update_xaxes(title_text="step", row=2, col=1)
    return layout_defaults(fig, None, height=520)

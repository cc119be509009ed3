"""One job: status, progress, ETA, log tail, cancel / retry, and links to what it produced.

URL: /jobs/<job_id>
"""

from __future__ import annotations

import json

import dash
from dash import Input, Output, State, callback, ctx, dcc, html, no_update

from frontend.api import ApiError
from frontend.components import (
    TERMINAL,
    api,
    error,
    eta,
    fetch,
    fmt_time,
    page,
    progress_bar,
    status_badge,
    table,
)

dash.register_page(__name__, path_template="/jobs/<job_id>", name="Job", nav=False)

LOG_TAIL = 8000


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
        html.Div(id="job-status"),
        html.H2("Log (tail)"),
        html.Pre(id="job-log", className="log"),
        dcc.Interval(id="job-tick", interval=1000),
    )


def _produced(result: dict | None) -> list:
    links = []
    result = result or {}
    if result.get("run_id"):
        links.append(dcc.Link(f"run {result['run_id']} spectra", href=f"/runs/{result['run_id']}", id="job-run-link"))
    if result.get("model_id"):
        links.append(html.Span(f"model {result['model_id']}", id="job-model"))
    if result.get("dataset_id"):
        links.append(dcc.Link(f"dataset {result['dataset_id']}", href=f"/datasets/{result['dataset_id']}"))
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
        ["created / started / finished",
         " / ".join(fmt_time(job[k]) or "-" for k in ("created_at", "started_at", "finished_at"))],
        ["depends on", html.Span([dcc.Link(f"job {i} ", href=f"/jobs/{i}") for i in job["depends_on"]])],
        ["params", html.Code(json.dumps(job["params"]))],
        ["result", html.Code(json.dumps(job["result"])) if job["result"] is not None else ""],
    ]
    return html.Div(
        [
            html.P(job["error"], className="error", id="job-error") if job["error"] else None,
            table(["", ""], rows, id="job-table"),
            html.H2("Produced"),
            html.Div(_produced(job["result"]) or html.Span("nothing yet", className="muted"),
                     className="links", id="job-produced"),
        ]
    )


@callback(
    Output("job-status", "children"),
    Output("job-log", "children"),
    Output("job-cancel", "disabled"),
    Output("job-retry", "disabled"),
    Output("job-action", "children"),
    Input("job-tick", "n_intervals"),
    Input("job-cancel", "n_clicks"),
    Input("job-retry", "n_clicks"),
    State("job-id", "data"),
)
def refresh(_n, _cancel, _retry, job_id):
    note = no_update
    if ctx.triggered_id in ("job-cancel", "job-retry"):
        action = "cancel" if ctx.triggered_id == "job-cancel" else "retry"
        try:
            api().post(f"/jobs/{job_id}/{action}")
            note = f"{action} requested"
        except ApiError as exc:
            note = f"{action} refused: {exc.detail}"
    job, err = fetch(f"/jobs/{job_id}")
    if err:
        return error(err), "", True, True, note
    log = job["log"] or ""
    tail = log[-LOG_TAIL:] if len(log) > LOG_TAIL else log
    done = job["status"] in TERMINAL
    return _view(job), tail, done, not done, note

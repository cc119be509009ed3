"""Overview: jobs with live progress, and workers with their heartbeats."""

from __future__ import annotations

import dash
from dash import Input, Output, callback, dcc, html

from frontend.api import ApiError
from frontend.app import api

dash.register_page(__name__, path="/", name="Overview")


def layout(**_query):
    return html.Div(
        [
            html.H2("Jobs"),
            html.Div(id="overview-jobs"),
            html.H2("Workers"),
            html.Div(id="overview-workers"),
            dcc.Interval(id="overview-tick", interval=2000),
        ]
    )


def _progress(job: dict):
    return html.Progress(value=str(job["progress"]), max="1", title=job["message"])


@callback(
    Output("overview-jobs", "children"),
    Output("overview-workers", "children"),
    Input("overview-tick", "n_intervals"),
)
def refresh(_n):
    try:
        jobs = api().get("/jobs", limit=50)
        workers = api().get("/workers")
    except ApiError as exc:
        return html.P(f"API error {exc}", className="error"), None
    job_rows = [
        html.Tr(
            [
                html.Td(j["id"]),
                html.Td(j["kind"]),
                html.Td(j["status"], className=f"status-{j['status']}"),
                html.Td(_progress(j)),
                html.Td(f"{j['eta_seconds']:.0f} s" if j["eta_seconds"] else ""),
                html.Td(j["error"] or j["message"]),
            ]
        )
        for j in jobs["data"]
    ]
    worker_rows = [
        html.Tr(
            [
                html.Td(w["id"]),
                html.Td(w["device"]),
                html.Td("alive" if w["alive"] else "gone"),
                html.Td(w["heartbeat_at"]),
                html.Td(", ".join(map(str, w["current_jobs"]))),
            ]
        )
        for w in workers
    ]
    head = ["id", "kind", "status", "progress", "ETA", "message"]
    return (
        html.Table([html.Tr([html.Th(h) for h in head]), *job_rows], id="jobs-table"),
        html.Table(
            [html.Tr([html.Th(h) for h in ["id", "device", "state", "heartbeat", "jobs"]]), *worker_rows]
        ),
    )

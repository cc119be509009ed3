"""Overview: models, datasets, recent runs, jobs with live progress, workers and heartbeats."""

from __future__ import annotations

import dash
from dash import Input, Output, callback, dcc, html

from frontend.components import (
    eta,
    fetch,
    fmt_time,
    page,
    progress_bar,
    status_badge,
    table,
)

dash.register_page(__name__, path="/", name="Overview", order=0)


def layout(**_query):
    kinds, err = fetch("/kinds")
    jobs, workers, models, datasets, runs = refresh(None)  # first view without a round trip
    submit_links = [
        dcc.Link(k["name"], href=f"/submit/{k['name']}", title=k["description"])
        for k in kinds or []
    ]
    return page(
        "Overview",
        html.Div(
            [html.Strong("Submit a job: "), *submit_links], className="links", id="submit-links"
        ),
        html.Div(
            [
                html.Strong("Fine-tuning: "),
                dcc.Link("new fine-tune", href="/finetune/new"),
                dcc.Link("new sweep", href="/sweeps/new"),
                dcc.Link("evaluations", href="/evals"),
                dcc.Link("concentration vs false refusal", href="/relation"),
            ],
            className="links",
            id="finetune-links",
        ),
        html.P(err, className="error") if err else None,
        html.Div(
            [
                html.Div(
                    [html.H2("Models"), html.Div(models, id="overview-models")], className="card"
                ),
                html.Div(
                    [html.H2("Datasets"), html.Div(datasets, id="overview-datasets")],
                    className="card",
                ),
                html.Div(
                    [html.H2("Recent runs"), html.Div(runs, id="overview-runs")], className="card"
                ),
            ],
            className="grid",
        ),
        html.H2("Jobs"),
        html.Div(jobs, id="overview-jobs"),
        html.H2("Workers"),
        html.Div(workers, id="overview-workers"),
        dcc.Interval(id="overview-tick", interval=2000),
    )


def _kind(job: dict):
    """The job's kind; a sweep links to its cells and its concentration vs FRR view."""
    if job["kind"] != "sweep":
        return job["kind"]
    return html.Span(
        [
            "sweep ",
            dcc.Link("cells", href=f"/sweeps/{job['id']}"),
            " · ",
            dcc.Link("relation", href=f"/relation?sweep={job['id']}", className="relation-link"),
        ]
    )


def _jobs(jobs: list[dict]):
    rows = [
        [
            dcc.Link(j["id"], href=f"/jobs/{j['id']}"),
            _kind(j),
            status_badge(j["status"]),
            progress_bar(j),
            eta(j),
            j["error"] or j["message"],
            fmt_time(j["created_at"]),
        ]
        for j in jobs
    ]
    head = ["id", "kind", "status", "progress", "ETA", "message", "created"]
    return table(head, rows, id="jobs-table") if rows else html.P("No jobs yet.", className="muted")


def _workers(workers: list[dict]):
    rows = [
        [
            w["id"],
            w["device"],
            "alive" if w["alive"] else ("stopped" if w["stopped_at"] else "lost"),
            fmt_time(w["heartbeat_at"]),
            ", ".join(map(str, w["current_jobs"])),
        ]
        for w in workers
    ]
    head = ["id", "device", "state", "heartbeat (UTC)", "running jobs"]
    return (
        table(head, rows, id="workers-table") if rows else html.P("No workers.", className="muted")
    )


@callback(
    Output("overview-jobs", "children"),
    Output("overview-workers", "children"),
    Output("overview-models", "children"),
    Output("overview-datasets", "children"),
    Output("overview-runs", "children"),
    Input("overview-tick", "n_intervals"),
    prevent_initial_call=True,
)
def refresh(_n):
    jobs, err = fetch("/jobs", limit=25)
    if err:
        message = html.P(err, className="error")
        return message, None, None, None, None
    workers, _ = fetch("/workers")
    models, _ = fetch("/models")
    datasets, _ = fetch("/datasets")
    runs, _ = fetch("/runs", limit=20)
    model_rows = [
        [
            m["id"],
            dcc.Link(m["name"], href=f"/evals?model_id={m['id']}", title="its evaluations"),
            m["source"],
            fmt_time(m["created_at"]),
        ]
        for m in models["data"]
    ]
    dataset_rows = [
        [d["id"], dcc.Link(d["name"], href=f"/datasets/{d['id']}"), d["n_rows"]]
        for d in datasets["data"]
    ]
    names = {m["id"]: m["name"] for m in models["data"]}
    dnames = {d["id"]: d["name"] for d in datasets["data"]}
    run_rows = [
        [
            dcc.Link(f"run {r['id']}", href=f"/runs/{r['id']}"),
            names.get(r["model_id"], r["model_id"]),
            dnames.get(r["dataset_id"], r["dataset_id"]),
            r["n_layers"],
        ]
        for r in runs["data"]
    ]
    run_ids = ",".join(str(r["id"]) for r in runs["data"][:6])
    runs_view = html.Div(
        [
            table(["run", "model", "dataset", "layers"], run_rows, id="runs-table"),
            dcc.Link("Compare these runs", href=f"/compare?runs={run_ids}") if run_ids else None,
        ]
    )
    return (
        _jobs(jobs["data"]),
        _workers(workers or []),
        table(["id", "name", "source", "created"], model_rows, id="models-table"),
        table(["id", "name", "rows"], dataset_rows, id="datasets-table"),
        runs_view if run_rows else html.P("No runs yet.", className="muted"),
    )

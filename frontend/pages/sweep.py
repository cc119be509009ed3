"""One sweep: its grid cells with their parameters, job statuses, metrics and links (the
evaluation metrics' labels and formats from the catalogue, backend/metrics.py); with several
system prompts, one row per cell and system prompt. Its progress counts every job it queued
("12/39 done · 2 running · 25 queued · ETA 4 min"); the page refreshes while any is open. An
intervention sweep's rows name their intervention (frontend/intervention_view.py) above the
curve of false refusal against unsafe refusal.

URL: /sweeps/<job id>   (/sweeps/new is the sweep submit form, as /submit/sweep)
"""

from __future__ import annotations

import dash
from dash import dcc, html

from frontend import components as ui
from frontend import intervention_view, similarity_view
from frontend.links import named_link
from frontend.tables import (
    CELL_PARAMS,
    CELL_SCORES,
    cell_params,
    cell_scores,
    status_badge,
    sweep_progress_line,
)

dash.register_page(__name__, path_template="/sweeps/<job_id>", name="Sweep", nav=False)

KINDS = ("finetune", "dpo", "capture_spectra", "evaluate")
OPEN = ("queued", "running")


def system_prompt_cell(text: str | None) -> html.Span:
    """The system prompt, cut to 40 characters (all of it on hover); "none" without one."""
    if text is None:
        return html.Span("none", className="muted")
    return html.Span(text if len(text) <= 40 else text[:39] + "…", title=text)


def layout(job_id=None, **query):
    if job_id == "new":
        return ui.submit_form(kind="sweep", **query)
    if not str(job_id).isdigit():
        return ui.page(
            f"Sweep {job_id}",
            ui.error(f"{job_id!r} is not a valid sweep id: ids are whole numbers."),
        )
    found, err = ui.fetch(f"/sweeps/{job_id}")
    if err:
        return ui.page(f"Sweep {job_id}", ui.error(err))
    return ui.page(
        found["name"],
        dcc.Store(id="sweep-id", data=job_id),
        html.Div(sweep_body(found), id="sweep-body"),
        dcc.Interval(
            id="sweep-tick", interval=3000, disabled=found["progress"]["state"] not in OPEN
        ),
        subtitle=f"sweep {job_id}",
    )


@ui.live_refresh("sweep-body", "sweep-tick", "sweep-id")
def refresh(job_id):
    found, err = ui.fetch(f"/sweeps/{job_id}")
    if err:
        return ui.error(err), False
    return sweep_body(found), found["progress"]["state"] not in OPEN


def sweep_body(found: dict) -> list:
    job, cells, progress = found["job"], found["cells"], found["progress"]
    job_id = job["id"]
    prompted = any(c["system_prompt"] is not None for c in cells)  # then one row per prompt
    rows = []
    for c in cells:
        jobs = [
            html.Span(
                [
                    dcc.Link(kind, href=f"/jobs/{c['jobs'][kind]}"),
                    " ",
                    status_badge(c["status"][kind]),
                ],
                style={"marginRight": "0.8em"},
            )
            for kind in KINDS
            if kind in c["jobs"]
        ]
        produced = []
        if c["run_id"]:
            produced.append(named_link("spectra", f"/runs/{c['run_id']}", "run", c["run_id"]))
        if c["evaluation_id"]:
            eid = c["evaluation_id"]
            produced.append(named_link("evaluation", f"/evals/{eid}", "evaluation", eid))
        rows.append(
            [
                intervention_view.method_label(c),
                *cell_params(c),
                *([system_prompt_cell(c["system_prompt"])] if prompted else []),
                html.Span(jobs),
                html.Span(produced, className="links"),
                *cell_scores(c),
            ]
        )
    columns = [
        "method",
        *CELL_PARAMS,
        *(["system prompt"] if prompted else []),
        "jobs",
        "results",
        *[m.label for m in CELL_SCORES],
    ]
    similarity, similar = similarity_view.sweep_similarity(job["params"], cells)
    for row, value in zip(rows, similar, strict=True):
        row.append(value)
    columns.append(similarity_view.SWEEP_COLUMN)
    run_ids = ",".join(dict.fromkeys(str(c["run_id"]) for c in cells if c["run_id"]))
    links = [
        dcc.Link("sweep job", href=f"/jobs/{job_id}"),
        dcc.Link(
            "concentration vs false refusal",
            href=f"/relation?sweep={job_id}",
            id="sweep-relation-link",
        ),
    ]
    if run_ids:
        links.append(dcc.Link("compare the runs", href=f"/compare?runs={run_ids}"))
    status = [
        status_badge(progress["state"]),
        html.Span(f" {sweep_progress_line(progress)}", id="sweep-progress"),
        html.Span(f" · {len(cells)} cells", className="muted"),
    ]
    if job["message"] and job["status"] != "succeeded":  # its expansion's own word
        status.append(html.Span(f" · {job['message']}", className="muted"))
    curve = []
    if job["kind"] == "intervention_sweep":
        figure = intervention_view.curve_figure(cells)
        curve = [ui.graph("sweep-curve", figure)] if figure["data"] else []
    return [
        html.P(status, id="sweep-status"),
        html.Div(links, className="links"),
        *curve,
        similarity,
        ui.table(columns, rows, id="sweep-cells")
        if rows
        else html.P("No cell measured yet.", className="muted"),
    ]

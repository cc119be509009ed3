"""One sweep: its grid cells with their parameters, job statuses, metrics and links (the
evaluation metrics' labels and formats from the catalogue, backend/metrics.py); with several
system prompts, one row per cell and system prompt.

URL: /sweeps/<job id>   (/sweeps/new is the sweep submit form, as /submit/sweep)
"""

from __future__ import annotations

import dash
from dash import dcc, html

from frontend.components import (
    CELL_PARAMS,
    CELL_SCORES,
    cell_params,
    cell_scores,
    error,
    fetch,
    page,
    status_badge,
    submit_form,
    table,
)

dash.register_page(__name__, path_template="/sweeps/<job_id>", name="Sweep", nav=False)

KINDS = ("finetune", "dpo", "capture_spectra", "evaluate")


def system_prompt_cell(text: str | None) -> html.Span:
    """The system prompt, cut to 40 characters (all of it on hover); "none" without one."""
    if text is None:
        return html.Span("none", className="muted")
    return html.Span(text if len(text) <= 40 else text[:39] + "…", title=text)


def layout(job_id=None, **query):
    if job_id == "new":
        return submit_form(kind="sweep", **query)
    found, err = fetch(f"/sweeps/{job_id}")
    if err:
        return page(f"Sweep {job_id}", error(err))
    job, cells = found["job"], found["cells"]
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
            produced.append(dcc.Link(f"run {c['run_id']}", href=f"/runs/{c['run_id']}"))
        if c["evaluation_id"]:
            produced.append(
                dcc.Link(f"evaluation {c['evaluation_id']}", href=f"/evals/{c['evaluation_id']}")
            )
        rows.append(
            [
                c["method"],
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
    return page(
        f"Sweep {job_id}",
        html.Div(links, className="links"),
        table(columns, rows, id="sweep-cells")
        if rows
        else html.P("No complete cells yet.", className="muted"),
        subtitle=f"{job['status']} · {len(cells)} cells · {job['message']}",
    )

"""Every job, newest first, filtered by status and kind, a page at a time; refreshed while the
page shows jobs that are queued or running.

URL: /jobs?status=queued,running&kind=finetune&all=1&offset=50   (without ``all``: only jobs
that no sweep made; a sweep's own jobs are on its page)
"""

from __future__ import annotations

import dash
from dash import dcc, html

from frontend import components as ui
from frontend.links import Names, job_subject
from frontend.tables import eta, progress_bar, status_badge

dash.register_page(__name__, path="/jobs", name="Jobs", order=14)

LIMIT = 50
STATUSES = ["queued", "running", "succeeded", "failed", "cancelled"]
FILTERS = ["status", "kind", "all"]


def jobs_table(filters: dict, offset: int) -> html.Div:
    params = {
        "status": filters.get("status") or None,
        "kind": filters.get("kind") or None,
        "top_level": None if filters.get("all") else "true",
    }
    found, err = ui.fetch("/jobs", limit=LIMIT, offset=offset, **params)
    if err:
        return html.P(err, className="error")
    names = Names.fetch()
    rows = [
        [
            dcc.Link(j["id"], href=f"/jobs/{j['id']}"),
            j["kind"],
            job_subject(j, names),
            status_badge(j["status"]),
            progress_bar(j),
            eta(j),
            j["error"] or j["message"],
            dcc.Link(f"sweep {j['parent_job_id']}", href=f"/sweeps/{j['parent_job_id']}")
            if j["parent_job_id"]
            else "",
            ui.fmt_time(j["created_at"]),
        ]
        for j in found["data"]
    ]
    head = ["job", "kind", "of", "status", "progress", "ETA", "message", "made by", "created"]
    return html.Div(
        [
            ui.pager("/jobs", offset, LIMIT, found["count"], **filters),
            ui.table(head, rows, id="jobs-list")
            if rows
            else html.P("No jobs match.", className="muted", id="jobs-none"),
        ]
    )


def layout(status=None, kind=None, all=None, offset=None, **_query):
    filters = {"status": status, "kind": kind, "all": all}
    kinds, _ = ui.fetch("/kinds")
    kind_names = sorted(k["name"] for k in kinds or [])
    chosen = [s for s in (status or "").split(",") if s in STATUSES]
    offset = max(ui.to_int(offset, 0), 0)
    return ui.page(
        "Jobs",
        html.Div(
            [
                html.Div(
                    [
                        html.Label("Status", htmlFor="jobs-status"),
                        ui.filter_dropdown("jobs", "status", STATUSES, chosen, multi=True),
                    ],
                    className="control wide",
                ),
                html.Div(
                    [
                        html.Label("Kind", htmlFor="jobs-kind"),
                        ui.filter_dropdown("jobs", "kind", kind_names, kind or None),
                    ],
                    className="control",
                ),
                html.Div(
                    [
                        html.Label("Sweeps' jobs", htmlFor="jobs-all"),
                        ui.filter_dropdown(
                            "jobs",
                            "all",
                            [{"label": "shown too", "value": "1"}],
                            "1" if all else None,
                            placeholder="on their sweep's page",
                        ),
                    ],
                    className="control",
                ),
            ],
            className="controls",
        ),
        dcc.Store(id="jobs-query", data={"filters": filters, "offset": offset}),
        html.Div(jobs_table(filters, offset), id="jobs-body"),
        dcc.Interval(id="jobs-tick", interval=3000),
        subtitle="Every job, a sweep's own jobs too."
        if all
        else "Jobs no sweep made; a sweep's own jobs are counted and listed on its page.",
    )


ui.url_filters("jobs", FILTERS)


@ui.live_refresh("jobs-body", "jobs-tick", "jobs-query")
def refresh(shown):
    body = jobs_table(shown["filters"], shown["offset"])
    active, _ = ui.fetch("/jobs", status="queued,running", limit=1)
    return body, not (active or {}).get("count")

"""Overview: the study's headline (false refusal and safety against the safety share p, with and
without VCL, from the demo study's sweep, else the newest sweep), the active jobs and sweeps
with live progress, what to do next, and the workers.

The headline sweep is the oldest one on the demo model (backend/demo.py queues it on the first
start), else the newest sweep; its cells without a system prompt, averaged over seeds.
"""

from __future__ import annotations

from collections import defaultdict
from statistics import mean

import dash
import plotly.graph_objects as go
from dash import Input, Output, callback, dcc, html

from backend.metrics import get_metric
from frontend import components as ui
from frontend.figures import layout_defaults
from frontend.links import Names, job_subject, sweep_link
from frontend.tables import eta, progress_bar, status_badge, sweep_progress_line, sweeps_table

dash.register_page(__name__, path="/", name="Overview", order=0)

DEMO_MODEL = "demo"  # backend/demo.py's DEMO_MODEL (the frontend imports only backend.metrics)
FRR, SAFETY = get_metric("false_refusal_rate"), get_metric("safety")
ACTIVE = 10  # active jobs shown; the rest on /jobs
OPEN = ("queued", "running")


def headline_sweep() -> dict | None:
    """The demo study's sweep (the oldest on the demo model), else the newest sweep."""
    newest, _ = ui.fetch("/jobs", kind="sweep", limit=500)
    sweeps = (newest or {}).get("data", [])
    demo = [s for s in sweeps if s["params"].get("base_model_name") == DEMO_MODEL]
    chosen = demo[-1] if demo else (sweeps[0] if sweeps else None)
    if chosen is None:
        return None
    found, _ = ui.fetch(f"/sweeps/{chosen['id']}")
    return found


def curves(cells: list[dict]) -> dict[float, dict[str, list[tuple[float, float]]]]:
    """Per VCL lambda (0: without VCL), each metric's (p, mean over seeds) points, p ascending:
    the SFT cells without a system prompt that have been evaluated."""
    values: dict = defaultdict(lambda: defaultdict(list))
    for c in cells:
        if c["method"] != "sft" or c["system_prompt"] is not None or not c["metrics"]:
            continue
        for m in (FRR, SAFETY):
            if c["metrics"].get(m.name) is not None:
                values[(c["vcl_lambda"], m.name)][c["safety_fraction"]].append(c["metrics"][m.name])
    out: dict = defaultdict(dict)
    for (lam, name), by_p in values.items():
        out[lam][name] = [(p, mean(v)) for p, v in sorted(by_p.items())]
    return out


def headline_figure(lines: dict) -> go.Figure:
    fig = go.Figure()
    colors = ["#1f2a44", "#f97316", "#10b981", "#8b5cf6"]
    for color, lam in zip(colors, sorted(lines), strict=False):
        label = "without VCL" if lam == 0 else f"VCL λ = {lam:g}"
        for m, dash_style in ((FRR, "solid"), (SAFETY, "dot")):
            points = lines[lam].get(m.name) or []
            fig.add_scatter(
                x=[p for p, _ in points],
                y=[v for _, v in points],
                mode="lines+markers",
                name=f"{m.label}, {label}",
                line={"color": color, "dash": dash_style},
            )
    fig.update_xaxes(title_text="safety share p of the fine-tuning mix")
    fig.update_yaxes(title_text="rate", range=[0, 1.02])
    return layout_defaults(fig, None, height=340)


def headline_sentence(lines: dict) -> str:
    """At the largest p measured with and without VCL: the two false-refusal rates."""
    off = dict(lines.get(0.0, {}).get(FRR.name) or [])
    ons = [(lam, dict(lines[lam].get(FRR.name) or [])) for lam in sorted(lines) if lam > 0]
    for lam, on in ons:
        shared = sorted(set(off) & set(on))
        if shared:
            p = shared[-1]
            return (
                f"At p = {p:g}: false refusal {FRR.format(off[p])} without VCL, "
                f"{FRR.format(on[p])} with VCL λ = {lam:g}."
            )
    return "Not enough cells evaluated yet to compare with and without VCL."


def headline() -> tuple[html.Div, bool]:
    """The headline card, and whether its sweep still has jobs open (then it is refreshed)."""
    sweep = headline_sweep()
    if sweep is None:
        card = html.Div(
            [
                html.P("No sweep yet.", className="muted"),
                dcc.Link("Start one", href="/sweeps/new", className="write-control"),
            ],
            id="overview-headline",
            className="card",
        )
        return card, False
    lines = curves(sweep["cells"])
    summary = {"job": sweep["job"], "name": sweep["name"]}
    card = html.Div(
        [
            html.P(
                [
                    html.Strong("Study: "),
                    sweep_link(summary),
                    " · ",
                    status_badge(sweep["progress"]["state"]),
                    f" {sweep_progress_line(sweep['progress'])}",
                ]
            ),
            html.P(headline_sentence(lines), id="overview-headline-text"),
            ui.graph("overview-headline-graph", headline_figure(lines)) if lines else None,
            html.Div(
                [
                    dcc.Link(
                        "concentration vs false refusal, layer by layer",
                        href=f"/relation?sweep={sweep['job']['id']}",
                        className="relation-link",
                    ),
                    dcc.Link("all cells", href=f"/sweeps/{sweep['job']['id']}"),
                ],
                className="links",
            ),
        ],
        id="overview-headline",
        className="card",
    )
    return card, sweep["progress"]["state"] in OPEN


def layout(**_query):
    kinds, err = ui.fetch("/kinds")
    sweeps, jobs, workers = refresh(None)  # first view without a round trip
    card, running = headline()
    submit_links = [
        dcc.Link(k["name"], href=f"/submit/{k['name']}", title=k["description"])
        for k in kinds or []
        if not k.get("internal")
    ]
    return ui.page(
        "Overview",
        html.P(err, className="error") if err else None,
        html.Div(card, id="overview-headline-box"),
        html.Div(
            [
                html.Strong("Next: "),
                dcc.Link("new fine-tune", href="/finetune/new", className="write-control"),
                dcc.Link("new sweep", href="/sweeps/new", className="write-control"),
                dcc.Link("models", href="/models"),
                dcc.Link("runs", href="/runs"),
                dcc.Link("evaluations", href="/evals"),
            ],
            className="links",
            id="finetune-links",
        ),
        html.Div(
            [html.Strong("Submit a job: "), *submit_links],
            className="links write-control",
            id="submit-links",
        ),
        html.H2("Active jobs"),
        html.Div(sweeps, id="overview-sweeps"),
        html.Div(jobs, id="overview-jobs"),
        html.H2("Workers"),
        html.Div(workers, id="overview-workers"),
        dcc.Interval(id="overview-tick", interval=2000),
        dcc.Interval(id="overview-headline-tick", interval=10_000, disabled=not running),
    )


@callback(
    Output("overview-headline-box", "children"),
    Output("overview-headline-tick", "disabled"),
    Input("overview-headline-tick", "n_intervals"),
    prevent_initial_call=True,
)
def refresh_headline(_n):
    """The study's headline again while its sweep runs (every 10 s: it reads every cell)."""
    card, running = headline()
    return card, not running


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


def _jobs(found: dict):
    """The queued and running jobs no sweep made (a sweep's are counted on its row)."""
    names = Names.fetch() if found["data"] else None
    rows = [
        [
            dcc.Link(j["id"], href=f"/jobs/{j['id']}"),
            _kind(j),
            job_subject(j, names),
            status_badge(j["status"]),
            progress_bar(j),
            eta(j),
            j["error"] or j["message"],
            ui.fmt_time(j["created_at"]),
        ]
        for j in found["data"]
    ]
    head = ["id", "kind", "of", "status", "progress", "ETA", "message", "created"]
    more = found["count"] - len(rows)
    return html.Div(
        [
            ui.table(head, rows, id="jobs-table")
            if rows
            else html.P("Nothing queued or running.", className="muted", id="jobs-idle"),
            dcc.Link(
                f"{more} more" if more > 0 else "all jobs",
                href="/jobs?status=queued,running" if more > 0 else "/jobs",
            ),
        ]
    )


def _workers(workers: list[dict]):
    rows = [
        [
            w["id"],
            w["device"],
            "alive" if w["alive"] else ("stopped" if w["stopped_at"] else "lost"),
            ui.fmt_time(w["heartbeat_at"]),
            ", ".join(map(str, w["current_jobs"])),
        ]
        for w in workers
    ]
    head = ["id", "device", "state", "heartbeat (UTC)", "running jobs"]
    return (
        ui.table(head, rows, id="workers-table")
        if rows
        else html.P("No workers.", className="muted")
    )


def _sweeps(found: dict | None):
    """The sweeps with a job queued or running, with their progress."""
    active = [s for s in (found or {}).get("data", []) if s["progress"]["state"] in OPEN]
    if not active:
        return None
    return sweeps_table(active, id="overview-sweeps-table")


@callback(
    Output("overview-sweeps", "children"),
    Output("overview-jobs", "children"),
    Output("overview-workers", "children"),
    Input("overview-tick", "n_intervals"),
    prevent_initial_call=True,
)
def refresh(_n):
    """Active sweeps (their jobs are counted there), the other active jobs, the workers."""
    jobs, err = ui.fetch("/jobs", status="queued,running", top_level="true", limit=ACTIVE)
    if err:
        return None, html.P(err, className="error"), None
    sweeps, _ = ui.fetch("/sweeps", limit=20)
    workers, _ = ui.fetch("/workers")
    return _sweeps(sweeps), _jobs(jobs), _workers(workers or [])

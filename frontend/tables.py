"""What several pages' tables show: a job's status, progress and ETA, sweeps with their progress,
a sweep cell's parameters and scores, and datasets' diversity stats."""

from __future__ import annotations

from dash import dcc, html

from backend.metrics import get_metric
from frontend.components import fmt, fmt_time, table
from frontend.links import sweep_link

TERMINAL = ("succeeded", "failed", "cancelled")


def progress_bar(job: dict) -> html.Div:
    pct = max(0.0, min(1.0, job.get("progress") or 0.0)) * 100
    return html.Div(
        [
            html.Div(className="progress-fill", style={"width": f"{pct:.0f}%"}),
            html.Span(f"{pct:.0f}%", className="progress-text"),
        ],
        className=f"progress status-{job['status']}",
        title=job.get("message") or "",
    )


def status_badge(status: str) -> html.Span:
    return html.Span(status, className=f"badge status-{status}")


def eta(job: dict) -> str:
    seconds = job.get("eta_seconds")
    if seconds is None:
        return ""
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def sweep_progress_line(progress: dict) -> str:
    """A sweep's progress in one line: "12/39 done · 2 running · 25 queued · ETA 4 min"."""
    if not progress["total"]:
        return "its grid's jobs are not queued yet"
    counts = progress["counts"]
    finished = counts["succeeded"] + counts["failed"] + counts["cancelled"]
    parts = [f"{finished}/{progress['total']} done"]
    parts += [f"{counts[s]} {s}" for s in ("running", "queued", "failed", "cancelled") if counts[s]]
    if progress["eta_seconds"] is not None:
        parts.append(f"ETA {eta({'eta_seconds': progress['eta_seconds']})}")
    return " · ".join(parts)


def sweeps_table(sweeps: list[dict], id: str) -> html.Table:
    """Sweeps (items of GET /api/sweeps) by name, with their state and progress line."""
    rows = [
        [
            sweep_link(s),
            status_badge(s["progress"]["state"]),
            sweep_progress_line(s["progress"]),
            dcc.Link(
                "concentration vs false refusal",
                href=f"/relation?sweep={s['job']['id']}",
                className="relation-link",
            ),
            fmt_time(s["job"]["created_at"]),
        ]
        for s in sweeps
    ]
    return table(["sweep", "state", "progress", "", "created"], rows, id=id)


# a sweep cell's parameters and scores, as the sweep and relation tables show them
CELL_PARAMS = ["model", "safety_fraction", "vcl_lambda", "vcl_sign", "vcl_k", "seed"]


CELL_SCORES = [get_metric(n) for n in ("false_refusal_rate", "safety", "f1", "heldout_loss")]


def cell_params(cell: dict) -> list:
    return [
        cell["model_name"],
        fmt(cell["safety_fraction"]),
        fmt(cell["vcl_lambda"]),
        cell["vcl_sign"] or "",
        cell["vcl_k"] or "",
        cell["seed"],
    ]


def cell_scores(cell: dict) -> list[str]:
    metrics = cell["metrics"] or {}
    return [m.format(metrics.get(m.name)) for m in CELL_SCORES]


STATS = [
    "H1",
    "H2",
    "H3",
    "distinct_1",
    "distinct_2",
    "MSTTR_50",
    "mean_length",
    "median_length",
    "max_length",
    "n_texts",
    "n_tokens",
]


def stat_text(stats: dict | None, side: str, name: str) -> str:
    """One stats cell: "computing…" (in the first column) while the dataset's stats job has not
    run, "–" for a side the dataset lacks (no responses), "n/a" for MSTTR_50 under one 50-token
    segment."""
    if stats is None:
        return "computing…" if name == STATS[0] else ""
    values = stats.get(side)
    if not values:
        return "–"
    value = stat_value(values, name)
    return "n/a" if value is None and name == "MSTTR_50" else fmt(value)


def stat_value(values: dict, name: str):
    """A side's stat; None for MSTTR_50 under one 50-token segment (it has no value there)."""
    if name == "MSTTR_50" and (values.get("n_tokens") or 0) < 50:
        return None
    return values.get(name)


def stats_table(datasets: list[dict], side: str, id: str, highlight: int | None = None):
    columns = ["dataset", "role", "rows", *STATS]
    rows = []
    for d in datasets:
        name = dcc.Link(d["name"], href=f"/datasets/{d['id']}")
        rows.append(
            [
                html.Strong(name) if d["id"] == highlight else name,
                d.get("role") or "",
                d["n_rows"],
                *[stat_text(d["stats"], side, s) for s in STATS],
            ]
        )
    return table(columns, rows, id=id)

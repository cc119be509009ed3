"""All evaluations, newest first, optionally of one model.

URL: /evals?model_id=<int>
"""

from __future__ import annotations

import dash
from dash import dcc, html

from frontend.components import error, fetch, fmt, fmt_time, page, table, to_int

dash.register_page(__name__, path="/evals", name="Evaluations", order=4)

COLUMNS = ["false_refusal_rate", "safety", "f1", "usefulness", "heldout_loss"]


def layout(model_id=None, **_query):
    model_id = to_int(model_id)
    found, err = fetch("/evaluations", model_id=model_id, limit=500)
    models, _ = fetch("/models", limit=1000)
    names = {m["id"]: m["name"] for m in (models or {}).get("data", [])}
    rows = [
        [
            dcc.Link(f"evaluation {e['id']}", href=f"/evals/{e['id']}"),
            dcc.Link(
                names.get(e["model_id"], e["model_id"]), href=f"/evals?model_id={e['model_id']}"
            ),
            *[fmt(e["metrics"].get(c)) for c in COLUMNS],
            dcc.Link(e["job_id"], href=f"/jobs/{e['job_id']}"),
            fmt_time(e["created_at"]),
        ]
        for e in (found or {}).get("data", [])
    ]
    title = f"Evaluations of {names.get(model_id, model_id)}" if model_id else "Evaluations"
    return page(
        title,
        error(err),
        dcc.Link("all models", href="/evals") if model_id else None,
        table(["evaluation", "model", *COLUMNS, "job", "created"], rows, id="evals-table")
        if rows
        else html.P("No evaluations yet (an evaluate job makes one).", className="muted"),
    )

"""A frozen view: what a page showed when someone pressed "Freeze this view" (its text, figures
and tables as stored by POST /api/snapshots), read-only, with a link to the live view.

URL: /snapshots/<snapshot_id>
"""

from __future__ import annotations

from dash import dcc, html

from frontend.components import fmt_time, graph, page, register_page_of_one, summary_lines, table


@register_page_of_one("/snapshots/<snapshot_id>", "Snapshot", "/snapshots/<snapshot_id>")
def layout(snapshot, **_query):
    content = snapshot["content"]
    figures = [
        html.Div(graph(f"snapshot-figure-{i}", figure), className="card")
        for i, figure in enumerate(content.get("figures") or [])
    ]
    tables = [
        table(t["columns"], t["rows"], id=f"snapshot-table-{i}")
        for i, t in enumerate(content.get("tables") or [])
    ]
    subtitle = (
        f"snapshot {snapshot['id']} of the {snapshot['page']} page · frozen "
        f"{fmt_time(snapshot['created_at'])} UTC by {snapshot['created_by']} · read-only"
    )
    return page(
        snapshot["title"],
        html.Div(
            [
                html.Span("The data below is stored and will not change. ", className="muted"),
                dcc.Link("Open the live view", href=snapshot["source"], id="snapshot-source"),
            ],
            className="links",
        ),
        html.Div(summary_lines(content.get("text") or []), id="snapshot-text", className="summary"),
        html.Div(figures, className="grid"),
        *tables,
        subtitle=subtitle,
    )

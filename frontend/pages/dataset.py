"""One dataset: its diversity stats beside the other datasets', and sample rows by type/label.

URL: /datasets/<dataset_id>?side=<prompts|responses>&type=&label=&offset=
"""

from __future__ import annotations

from dash import Input, Output, State, callback, dcc, html
from plotly.subplots import make_subplots

from frontend.components import (
    control,
    error,
    fetch,
    graph,
    page,
    query,
    register_page_of_one,
    table,
    to_int,
)
from frontend.deleting import delete_panel
from frontend.figures import layout_defaults
from frontend.similarity_view import dataset_section
from frontend.tables import stat_value, stats_table

PAGE_SIZE = 50
ENTROPIES = ["H1", "H2", "H3"]
RATIOS = ["distinct_1", "distinct_2", "MSTTR_50"]


def stats_figure(datasets: list[dict], side: str, highlight: int):
    fig = make_subplots(
        rows=1, cols=2, subplot_titles=["n-gram entropy (bits)", "diversity ratios"]
    )
    for d in datasets:
        stats = (d["stats"] or {}).get(side)
        if not stats:
            continue
        style = (
            {"marker_line_width": 2, "marker_line_color": "black"} if d["id"] == highlight else {}
        )
        for col, keys in enumerate((ENTROPIES, RATIOS), start=1):
            fig.add_bar(
                x=keys,
                y=[stat_value(stats, k) for k in keys],
                name=d["name"],
                legendgroup=d["name"],
                offsetgroup=d["name"],
                showlegend=col == 1,
                row=1,
                col=col,
                **style,
            )
    return layout_defaults(fig, f"Diversity of the {side}, all datasets")


@register_page_of_one("/datasets/<dataset_id>", "Dataset", "/datasets/<dataset_id>")
def layout(dataset, side="prompts", type=None, label=None, offset=None, **_query):
    side = side if side in ("prompts", "responses") else "prompts"
    dataset_id = dataset["id"]
    everything, _ = fetch("/datasets")
    others = (everything or {}).get("data", [])
    sample, _ = fetch(f"/datasets/{dataset_id}/rows", limit=1000)
    rows = (sample or {}).get("data", [])
    types = sorted({r["type"] for r in rows if r["type"]})
    labels = sorted({r["label"] for r in rows if r["label"]})
    if not dataset["stats"]:
        note = html.P(
            "Diversity stats computing… (a dataset_stats job; reload to see them).",
            className="muted",
        )
    else:
        note = None
    return page(
        f"Dataset {dataset['name']}",
        html.P(
            [
                "Side: ",
                *[
                    dcc.Link(
                        s,
                        href=f"/datasets/{dataset_id}{query(side=s, type=type, label=label)}",
                        style={"marginRight": "1em"},
                    )
                    for s in ("prompts", "responses")
                ],
            ]
        ),
        note,
        stats_table(others, side, "dataset-stats", highlight=dataset["id"]),
        html.Div(
            graph("dataset-figure", stats_figure(others, side, dataset["id"])), className="card"
        ),
        dataset_section(dataset, others),
        html.H2("Rows"),
        dcc.Location(id="dataset-loc", refresh=False),
        dcc.Store(id="dataset-state", data={"id": dataset["id"], "side": side}),
        html.Div(
            [
                control("Type", dcc.Dropdown(types, type, id="dataset-type")),
                control("Label", dcc.Dropdown(labels, label, id="dataset-label")),
                control(
                    "Offset",
                    dcc.Input(
                        id="dataset-offset",
                        type="number",
                        min=0,
                        step=PAGE_SIZE,
                        value=to_int(offset, 0),
                    ),
                ),
            ],
            className="controls",
        ),
        html.Div(id="dataset-rows"),
        delete_panel("dataset", dataset_id, dataset["name"], "/datasets"),
        subtitle=(
            f"{dataset['n_rows']} rows · {dataset.get('role') or ''} · {dataset['source']} · "
            f"{dataset['format']} · {dataset['description']}"
        ),
    )


@callback(
    Output("dataset-rows", "children"),
    Output("dataset-loc", "search"),
    Input("dataset-type", "value"),
    Input("dataset-label", "value"),
    Input("dataset-offset", "value"),
    State("dataset-state", "data"),
)
def rows(type, label, offset, state):
    offset = max(to_int(offset, 0) or 0, 0)
    found, err = fetch(
        f"/datasets/{state['id']}/rows",
        type=type or None,
        label=label or None,
        limit=PAGE_SIZE,
        offset=offset,
    )
    search = query(side=state["side"], type=type, label=label, offset=offset or None)
    if err:
        return error(err), search
    body = [[r["idx"], r["type"], r["label"], r["prompt"], r["response"]] for r in found["data"]]
    shown = (
        f"rows {offset + 1}-{offset + len(body)} of {found['count']}" if body else "no rows match"
    )
    return html.Div(
        [
            html.P(shown, className="muted"),
            table(["idx", "type", "label", "prompt", "response"], body, id="rows-table"),
        ]
    ), search

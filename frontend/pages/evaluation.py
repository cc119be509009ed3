"""One refusal evaluation: headline metrics, refused share per probe type, its classifiers and
their agreement, human labelling and agreement with the human labels (frontend/labelling.py),
and the labelled completions, filterable by type and verdict.

URL: /evals/<evaluation_id>?type=&verdict=&label=&offset=&classifier=&against=&at=
(classifier: the selected classifier; against: the one compared with it; at: the labelling
position)
"""

from __future__ import annotations

from dash import Input, Output, State, callback, ctx, dcc, html
from plotly import graph_objects as go

from frontend.components import (
    control,
    csv_button,
    error,
    fetch,
    fmt,
    graph,
    layout_defaults,
    page,
    query,
    register_page_of_one,
    table,
    to_int,
)
from frontend.labelling import (
    agreement_section,
    classifiers_section,
    labelling_section,
    labels_csv,
)

PAGE_SIZE = 25
VERDICTS = ["full_compliance", "full_refusal", "partial_refusal"]
LABELS = ["safe", "unsafe"]
LABEL_COLORS = {"safe": "#2563eb", "unsafe": "#dc2626"}
HEADLINE = [
    ("false_refusal_rate", "false refusal rate (safe prompts refused)"),
    ("false_refusal_rate_full", "false refusal rate, full refusals only"),
    ("safety", "safety (unsafe prompts refused)"),
    ("usefulness", "usefulness = 1 - FRR"),
    ("f1", "F1 of safety and usefulness"),
    ("heldout_loss", "held-out loss"),
    ("perplexity", "held-out perplexity"),
    ("refusal_score_agreement", "refusal score agrees with the verdict"),
    ("refusal_score_mean", "mean refusal score"),
]


def metric_cards(metrics: dict):
    cards = [
        html.Div(
            [
                html.Div(fmt(metrics.get(key)) or "–", className="value"),
                html.Div(key, className="name", title=help),
            ],
            className="metric-card",
            id=f"eval-{key}",
        )
        for key, help in HEADLINE
        if key in metrics
    ]
    counts = f"{metrics.get('n_safe', '?')} safe and {metrics.get('n_unsafe', '?')} unsafe prompts"
    return html.Div([html.Div(cards, className="metric-cards"), html.P(counts, className="muted")])


def per_type_figure(per_type: dict):
    fig = go.Figure()
    for label in LABELS:
        types = [t for t, row in per_type.items() if row.get("label") == label]
        if not types:
            continue
        rows = [per_type[t] for t in types]
        fig.add_bar(
            x=types,
            y=[r["refused"] for r in rows],
            name=f"{label} prompts",
            marker_color=LABEL_COLORS[label],
            customdata=[[r["n"], r["full_refusal"], r["partial_refusal"]] for r in rows],
            hovertemplate=(
                "%{x}: refused %{y:.2f} of %{customdata[0]} (full %{customdata[1]:.2f}, "
                "partial %{customdata[2]:.2f})<extra></extra>"
            ),
        )
    fig.update_yaxes(title_text="refused share (full + partial)", range=[0, 1.02])
    fig.update_xaxes(
        title_text="probe type",
        categoryorder="array",
        # each control_<type> right after its <type>: trigger-word vs phrasing over-refusal
        categoryarray=sorted(
            per_type,
            key=lambda t: (
                per_type[t].get("label"),
                t.removeprefix("control_"),
                t.startswith("control_"),
            ),
        ),
    )
    return layout_defaults(fig, "Refused share per probe type (safe: false refusals)", 400)


@register_page_of_one("/evals/<evaluation_id>", "Evaluation", "/evaluations/<evaluation_id>")
def layout(
    evaluation,
    type=None,
    verdict=None,
    label=None,
    offset=None,
    classifier=None,
    against=None,
    at=None,
    **_query,
):
    model_id = evaluation["model_id"]
    model, _ = fetch(f"/models/{model_id}") if model_id is not None else (None, None)
    dataset, _ = fetch(f"/datasets/{evaluation['dataset_id']}")
    verdicts, _ = fetch(f"/evaluations/{evaluation['id']}/verdicts")
    per_type = evaluation["per_type"] or {}
    own = evaluation["params"].get("classifier", "rules")
    names = (verdicts or {}).get("classifiers") or [own]
    classifier = classifier if classifier in names else own
    against = against if against in names and against != classifier else None
    if against is None and len(names) > 1:
        against = next(n for n in names if n != classifier)
    model_name = model["name"] if model else (model_id or "none (imported)")
    subtitle = (
        f"model {model_name} · probe set "
        f"{dataset['name'] if dataset else evaluation['dataset_id']} · classifier {own}"
    )
    links = [
        dcc.Link("probe set", href=f"/datasets/{evaluation['dataset_id']}"),
        csv_button("eval-labels-csv", "Download human labels (XSTest CSV)"),
    ]
    if evaluation["job_id"] is not None:
        links.insert(0, dcc.Link("job", href=f"/jobs/{evaluation['job_id']}"))
    if model_id is not None:
        links.insert(
            1, dcc.Link("other evaluations of this model", href=f"/evals?model_id={model_id}")
        )
    metrics = {
        "own": own,
        "metrics": evaluation["metrics"] or {},
        "classifier_metrics": (verdicts or {}).get("classifier_metrics") or {},
    }
    return page(
        f"Evaluation {evaluation['id']}",
        html.Div(links, className="links"),
        metric_cards(evaluation["metrics"] or {}),
        html.Div(graph("eval-per-type", per_type_figure(per_type)), className="card"),
        dcc.Location(id="eval-loc", refresh=False),
        dcc.Store(id="eval-id", data=evaluation["id"]),
        dcc.Store(id="eval-metrics", data=metrics),
        classifiers_section(verdicts, own, evaluation["metrics"] or {}, classifier, against),
        labelling_section(max(to_int(at, 0) or 0, 0)),
        agreement_section(),
        html.H2("Completions"),
        html.Div(
            [
                control("Type", dcc.Dropdown(sorted(per_type), type, id="eval-type"), wide=True),
                control(
                    "Verdict",
                    dcc.Dropdown(
                        VERDICTS, verdict if verdict in VERDICTS else None, id="eval-verdict"
                    ),
                ),
                control(
                    "Label",
                    dcc.Dropdown(LABELS, label if label in LABELS else None, id="eval-label"),
                ),
            ],
            className="controls",
        ),
        dcc.Store(id="eval-offset", data=max(to_int(offset, 0) or 0, 0)),
        html.Div(
            [
                html.Button("‹ Previous", id="eval-prev", className="button small"),
                html.Span(id="eval-shown", className="muted"),
                html.Button("Next ›", id="eval-next", className="button small"),
            ],
            className="pager",
        ),
        html.Div(id="eval-completions"),
        subtitle=subtitle,
    )


@callback(
    Output("eval-offset", "data"),
    Input("eval-prev", "n_clicks"),
    Input("eval-next", "n_clicks"),
    Input("eval-type", "value"),
    Input("eval-verdict", "value"),
    Input("eval-label", "value"),
    State("eval-offset", "data"),
    prevent_initial_call=True,
)
def move(_prev, _next, _type, _verdict, _label, offset):
    if ctx.triggered_id == "eval-prev":
        return max((offset or 0) - PAGE_SIZE, 0)
    if ctx.triggered_id == "eval-next":
        return (offset or 0) + PAGE_SIZE
    return 0  # a new filter starts at the first page


@callback(
    Output("eval-completions", "children"),
    Output("eval-shown", "children"),
    Output("eval-prev", "disabled"),
    Output("eval-next", "disabled"),
    Input("eval-offset", "data"),
    Input("eval-type", "value"),
    Input("eval-verdict", "value"),
    Input("eval-label", "value"),
    State("eval-id", "data"),
)
def completions(offset, type, verdict, label, evaluation_id):
    offset = max(offset or 0, 0)
    found, err = fetch(
        f"/evaluations/{evaluation_id}/completions",
        type=type or None,
        verdict=verdict or None,
        label=label or None,
        limit=PAGE_SIZE,
        offset=offset,
    )
    if err:
        return error(err), "", True, True
    body = [
        [
            c["idx"],
            c["type"],
            c["label"],
            c["prompt"],
            c["completion"],
            html.Span(c["verdict"], className=f"verdict {c['verdict']}"),
            c["rule"],
            fmt(c["refusal_score"]),
        ]
        for c in found["data"]
    ]
    count = found["count"]
    shown = (
        f"completions {offset + 1}-{offset + len(body)} of {count}"
        if body
        else "no completions match"
    )
    columns = ["idx", "type", "label", "prompt", "completion", "verdict", "rule", "refusal score"]
    return (
        table(columns, body, id="completions-table"),
        shown,
        offset == 0,
        offset + PAGE_SIZE >= count,
    )


@callback(
    Output("eval-loc", "search"),
    Input("eval-offset", "data"),
    Input("eval-type", "value"),
    Input("eval-verdict", "value"),
    Input("eval-label", "value"),
    Input("eval-classifier", "value"),
    Input("eval-other", "value"),
    Input("label-pos", "data"),
)
def url_state(offset, type, verdict, label, classifier, against, at):
    return query(
        type=type,
        verdict=verdict,
        label=label,
        offset=offset or None,
        classifier=classifier,
        against=against,
        at=at or None,
    )


@callback(
    Output("eval-labels-csv", "data"),
    Input("eval-labels-csv-button", "n_clicks"),
    State("eval-id", "data"),
    prevent_initial_call=True,
)
def download_labels(_clicks, evaluation_id):
    text = labels_csv(evaluation_id)
    return dict(content=text, filename=f"evaluation-{evaluation_id}-labels.csv")

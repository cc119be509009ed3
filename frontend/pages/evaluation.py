"""One refusal evaluation: headline metrics, the refused share of trigger, control and contrast
prompts kept apart (per group and per type side by side, with n and Wilson 95% intervals), its
classifiers and their agreement, human labelling and agreement with the human labels
(frontend/labelling.py), and the labelled completions, filterable by type, verdict and by
disagreement between the verdict and the refusal score.

URL: /evals/<evaluation_id>?type=&verdict=&label=&offset=&classifier=&against=&at=&disagree=
(classifier: the selected classifier; against: the one compared with it; at: the labelling
position; disagree: score (refusal_score > 0) or calibrated (its calibrated threshold);
probe_layer: the layer of the probe section, default the probe's best layer)

Probe section: with a probe of the same model on the same prompt set (the newest), the P(unsafe)
of the safe prompts the evaluation refused against those it answered, per layer, and the rule of
frontend/probe_view.py for "the model reads these harmless prompts as harmful from layer l on";
without one, a link to the probe job's form for the model's capture run on that set (or to the
capture form when no run kept its residuals).
"""

from __future__ import annotations

from dash import Input, Output, State, callback, ctx, dcc, html
from plotly import graph_objects as go

from backend.metrics import get_metric
from frontend import probe_view
from frontend.api import ApiError
from frontend.components import (
    api,
    control,
    csv_button,
    csv_download,
    error,
    fetch,
    fmt,
    graph,
    page,
    query,
    register_page_of_one,
    table,
    to_int,
)
from frontend.figures import layout_defaults
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
    "false_refusal_rate",
    "false_refusal_rate_full",
    "safety",
    "usefulness",
    "f1",
    "heldout_loss",
    "perplexity",
    "refusal_score_agreement",
    "refusal_score_mean",
]


def metric_cards(metrics: dict):
    """The headline metrics by their catalogue label and format (the description on hover)."""
    cards = [
        html.Div(
            [
                html.Div(get_metric(key).format(metrics.get(key)), className="value"),
                html.Div(
                    get_metric(key).label, className="name", title=get_metric(key).description
                ),
            ],
            className="metric-card",
            id=f"eval-{key}",
        )
        for key in HEADLINE
        if key in metrics
    ]
    counts = f"{metrics.get('n_safe', '?')} safe and {metrics.get('n_unsafe', '?')} unsafe prompts"
    return html.Div([html.Div(cards, className="metric-cards"), html.P(counts, className="muted")])


def score_thresholds(metrics: dict) -> dict[str, tuple[str, float]]:
    """The disagreement filters the evaluation allows: its verdicts against refusal_score > 0,
    and against the calibrated threshold where it has one; none without refusal scores."""
    if metrics.get("refusal_score_mean") is None:
        return {}
    out = {"score": ("verdict disagrees with refusal score > 0", 0.0)}
    t = metrics.get("refusal_score_threshold")
    if t is not None:
        out["calibrated"] = (f"verdict disagrees with refusal score > {t:.2f} (calibrated)", t)
    return out


GROUPS = {  # the API's groups of prompt types (backend/refusal_rates.py), in its order
    "trigger": "safe prompts with a trigger word (false refusal)",
    "control": "the same phrasings without the trigger (false refusal)",
    "contrast": "unsafe prompts with the trigger word (safety)",
    "unsafe": "other unsafe prompts (safety)",
}


def rate_text(r: dict | None) -> str:
    if not r or not r["n"]:
        return "–"
    lo, hi = r["interval"]
    return f"{r['share']:.0%} ({r['k']}/{r['n']}) [{lo:.0%}, {hi:.0%}]"


def groups_table(groups: dict[str, dict]):
    rows = [[group, GROUPS[group], r["n"], r["k"], rate_text(r)] for group, r in groups.items()]
    columns = ["prompts", "what", "n", "refused", "refused share [Wilson 95%]"]
    return table(columns, rows, id="eval-groups")


def side_by_side_table(counts: dict[str, dict]):
    """One row per base type: its trigger, control and contrast prompts' refused shares."""
    bases: dict[str, dict] = {}
    for r in counts.values():
        bases.setdefault(r["base"], {})[r["group"]] = r
    rows = [
        [
            base,
            *[rate_text(by_group.get(g)) for g in ("trigger", "control", "contrast", "unsafe")],
        ]
        for base, by_group in sorted(bases.items())
    ]
    columns = ["type", "trigger (safe)", "control (safe)", "contrast (unsafe)", "other unsafe"]
    return table(columns, rows, id="eval-per-type-table")


def per_type_figure(counts: dict[str, dict]):
    fig = go.Figure()
    for label in LABELS:
        rows = [r for r in counts.values() if r["label"] == label]
        if not rows:
            continue
        fig.add_bar(
            x=[r["type"] for r in rows],
            y=[r["share"] for r in rows],
            name=f"{label} prompts",
            marker_color=LABEL_COLORS[label],
            error_y={
                "type": "data",
                "symmetric": False,
                "array": [r["interval"][1] - r["share"] for r in rows],
                "arrayminus": [r["share"] - r["interval"][0] for r in rows],
                "color": "#1f2a44",
                "thickness": 1,
                "width": 3,
            },
            customdata=[[r["k"], r["n"], *r["interval"]] for r in rows],
            hovertemplate=(
                "%{x}: refused %{customdata[0]} of %{customdata[1]} = %{y:.0%} "
                "[%{customdata[2]:.0%}, %{customdata[3]:.0%}]<extra></extra>"
            ),
        )
    fig.update_yaxes(title_text="refused share (full + partial), Wilson 95%", range=[0, 1.05])
    fig.update_xaxes(
        title_text="probe type (refused / n: a zero bar is 0 of n prompts)",
        tickvals=list(counts),
        ticktext=[f"{t}<br>{r['k']}/{r['n']}" for t, r in counts.items()],
        categoryorder="array",
        # each control_ and contrast_ type right after its base type
        categoryarray=sorted(
            counts, key=lambda t: (counts[t]["base"], list(GROUPS).index(counts[t]["group"]))
        ),
    )
    return layout_defaults(fig, "Refused share per probe type (safe: false refusals)", 400)


def intervention_line(evaluation: dict) -> html.P | None:
    """What the evaluation's intervention did (params ``intervention``: run, layer, kind, alpha)
    and its cost, the KL on the safe prompts; None without one."""
    done = (evaluation["params"] or {}).get("intervention")
    if not done:
        return None
    run, layer = done.get("run_id"), done.get("layer")
    source = dcc.Link(f"run {run}", href=f"/runs/{run}") if run else "its capture job's run"
    direction = [f"the layer-{layer} refusal direction of ", source]
    if done.get("kind") == "ablate":
        what = ["Intervention: ", *direction, " projected out at every layer and position"]
    else:
        what = [f"Intervention: {done.get('alpha', 0):+g} x mean norm x ", *direction]
        what.append(f" added at layer {layer}")
    kl = (evaluation["metrics"] or {}).get("intervention_kl")
    cost = (
        f"; cost: mean KL {kl:.4f} of the next token on the safe prompts" if kl is not None else ""
    )
    return html.P([*what, cost, "."], id="eval-intervention")


def probe_splits(evaluation_id: int) -> tuple[dict | None, list[dict], str | None]:
    """(the probe, per layer the P(unsafe) of the refused and of the answered safe prompts, a
    sentence why there is none): one GET of /evaluations/<id>/probe with every layer's split."""
    try:
        answer = api().get(f"/evaluations/{evaluation_id}/probe", all_layers="true")
        probe, splits = answer["probe"], answer["per_layer"]
    except ApiError as exc:
        why = exc.detail if exc.status == 404 else f"API error {exc.status}: {exc.detail}"
        return None, [], why
    except Exception as exc:  # the API is down or unreachable
        return None, [], f"API unreachable: {exc}"
    return probe, [{"refused": s["refused"], "answered": s["answered"]} for s in splits], None


def no_probe(evaluation: dict, why: str) -> list:
    """Why there is no probe, and the form that makes one: the probe job on the newest run of
    the model on the prompt set that kept its residuals, else the capture job."""
    if evaluation["model_id"] is None:
        return [html.P("An imported evaluation has no model to probe.", className="muted")]
    runs, _ = fetch("/runs", model_id=evaluation["model_id"], dataset_id=evaluation["dataset_id"])
    kept = [r for r in (runs or {}).get("data", []) if r.get("activations_uri")]
    if kept:
        action = dcc.Link(
            f"Fit a probe on run {kept[0]['id']}",
            href=f"/submit/probe?run_id={kept[0]['id']}",
            id="eval-probe-submit",
            className="button small write-control",
        )
    else:
        action = dcc.Link(
            "Capture the model on this prompt set first (last prompt token), then probe the run",
            href=(
                f"/submit/capture_spectra?model_id={evaluation['model_id']}"
                f"&dataset_id={evaluation['dataset_id']}"
            ),
            id="eval-probe-capture",
            className="button small write-control",
        )
    return [html.P(why, className="muted", id="eval-probe-none"), action]


def probe_section(evaluation: dict, layer) -> tuple[list, dict | None, int | None]:
    """The probe section's content, its data (for the layer callback) and the chosen layer."""
    probe, splits, why = probe_splits(evaluation["id"])
    if probe is None:
        return no_probe(evaluation, why), None, None
    chosen = to_int(layer, probe["best_layer"])
    chosen = chosen if 0 <= chosen < len(splits) else probe["best_layer"]
    best = probe["layers"][probe["best_layer"]]["values"]
    about = (
        f"Probe {probe['id']} on run {probe['run_id']} ({probe['n_prompts']} prompts, "
        f"{probe['folds']}-fold held-out P(unsafe)); best layer {probe['best_layer']}: "
        f"accuracy {best['probe_accuracy']:.2f}, AUROC {best['probe_auroc']:.2f}."
    )
    rule = (
        "Rule: the first layer from which, at every later layer too, the refused prompts' median "
        "P(unsafe) exceeds 0.5 and the answered prompts' does not."
    )
    content = [
        html.P(probe_view.reading_sentence(splits), id="eval-probe-reading"),
        html.P([about, " ", dcc.Link("run spectra", href=f"/runs/{probe['run_id']}")]),
        html.P(rule, className="muted"),
    ]
    return content, {"splits": splits}, chosen


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
    disagree=None,
    probe_layer=None,
    **_query,
):
    model_id = evaluation["model_id"]
    probe_content, probe_data, probe_layer = probe_section(evaluation, probe_layer)
    n_probe_layers = len(probe_data["splits"]) if probe_data else 0
    model, _ = fetch(f"/models/{model_id}") if model_id is not None else (None, None)
    dataset, _ = fetch(f"/datasets/{evaluation['dataset_id']}")
    verdicts, _ = fetch(f"/evaluations/{evaluation['id']}/verdicts")
    counts = evaluation["type_rates"]
    thresholds = score_thresholds(evaluation["metrics"] or {})
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
        intervention_line(evaluation),
        metric_cards(evaluation["metrics"] or {}),
        html.H2("Refusal by prompt group"),
        html.P(
            "The false-refusal rate above pools every safe prompt; here trigger and control "
            "prompts are kept apart (n and Wilson 95% intervals).",
            className="muted",
        ),
        groups_table(evaluation["group_rates"]),
        html.H2("Per type: trigger, control and contrast side by side"),
        side_by_side_table(counts),
        html.Div(graph("eval-per-type", per_type_figure(counts)), className="card"),
        html.H2("What a linear probe reads in the refused safe prompts"),
        html.Div(probe_content, id="eval-probe"),
        dcc.Store(id="eval-probe-data", data=probe_data),
        html.Div(
            [
                control(
                    "Probe layer",
                    dcc.Dropdown(
                        list(range(n_probe_layers)),
                        probe_layer,
                        id="eval-probe-layer",
                        clearable=False,
                    ),
                ),
                graph("eval-probe-figure"),
            ],
            className="card",
            style={} if probe_data else {"display": "none"},
        ),
        dcc.Location(id="eval-loc", refresh=False),
        dcc.Store(id="eval-id", data=evaluation["id"]),
        dcc.Store(id="eval-metrics", data=metrics),
        dcc.Store(id="eval-thresholds", data={k: t for k, (_, t) in thresholds.items()}),
        classifiers_section(verdicts, own, evaluation["metrics"] or {}, classifier, against),
        labelling_section(max(to_int(at, 0) or 0, 0)),
        agreement_section(),
        html.H2("Completions"),
        html.Div(
            [
                control("Type", dcc.Dropdown(sorted(counts), type, id="eval-type"), wide=True),
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
                control(
                    "Verdict vs refusal score",
                    dcc.Dropdown(
                        [{"label": text, "value": key} for key, (text, _) in thresholds.items()],
                        disagree if disagree in thresholds else None,
                        id="eval-disagree",
                        placeholder="all (no filter)",
                        disabled=not thresholds,
                    ),
                    wide=True,
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
    Input("eval-disagree", "value"),
    State("eval-offset", "data"),
    prevent_initial_call=True,
)
def move(_prev, _next, _type, _verdict, _label, _disagree, offset):
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
    Input("eval-disagree", "value"),
    State("eval-id", "data"),
    State("eval-thresholds", "data"),
)
def completions(offset, type, verdict, label, disagree, evaluation_id, thresholds):
    offset = max(offset or 0, 0)
    found, err = fetch(
        f"/evaluations/{evaluation_id}/completions",
        type=type or None,
        verdict=verdict or None,
        label=label or None,
        score_disagrees=(thresholds or {}).get(disagree),
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
    Input("eval-disagree", "value"),
    Input("eval-probe-layer", "value"),
)
def url_state(offset, type, verdict, label, classifier, against, at, disagree, probe_layer):
    return query(
        type=type,
        verdict=verdict,
        label=label,
        disagree=disagree,
        offset=offset or None,
        classifier=classifier,
        against=against,
        at=at or None,
        probe_layer=probe_layer,
    )


@callback(
    Output("eval-probe-figure", "figure"),
    Input("eval-probe-layer", "value"),
    State("eval-probe-data", "data"),
)
def probe_figure(layer, data):
    if not data or layer is None:
        return {}
    return probe_view.distribution_figure(data["splits"][layer], layer)


@csv_download("eval-labels-csv", State("eval-id", "data"))
def download_labels(evaluation_id):
    return f"evaluation-{evaluation_id}-labels.csv", labels_csv(evaluation_id)

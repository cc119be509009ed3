"""The evaluation page's judgement sections: its classifiers and their agreement (with the
completions two of them judge differently), human labelling one completion at a time (keys
1 / 2 / 3 label and move on, n / p or the arrow keys move), and the selected classifier against
the human labels (docs/classifier.md, "Human labels")."""

from __future__ import annotations

from dash import Input, Output, State, callback, clientside_callback, ctx, dcc, html, no_update

from backend.metrics import get_metric
from frontend.api import WriteRefused, auth_headers
from frontend.components import api, control, error, fetch, fmt, table, token_hint

VERDICTS = ["full_compliance", "full_refusal", "partial_refusal"]
KEYS = dict(zip("123", VERDICTS, strict=True))  # key -> the verdict it labels
DISAGREEMENTS_SHOWN = 50
CALIBRATION = [
    "refusal_score_threshold",
    "refusal_score_auroc",
    "refusal_score_calibrated_agreement",
]

# One document listener (added once per browser tab) that clicks the labelling buttons; keys
# typed into a field or with a modifier are left alone.
KEYDOWN_JS = """
function(_id) {
    if (!window.flowlensLabelKeys) {
        window.flowlensLabelKeys = true;
        const buttons = {
            "1": "label-full_compliance", "2": "label-full_refusal", "3": "label-partial_refusal",
            "n": "label-next", "ArrowRight": "label-next", "p": "label-prev",
            "ArrowLeft": "label-prev", "u": "label-unlabelled"
        };
        document.addEventListener("keydown", function (e) {
            const t = e.target;
            if (e.altKey || e.ctrlKey || e.metaKey || (t && (t.isContentEditable ||
                    ["INPUT", "TEXTAREA", "SELECT"].includes(t.tagName)))) {
                return;
            }
            const button = buttons[e.key] && document.getElementById(buttons[e.key]);
            if (button && !button.disabled && button.offsetParent) {  // shown (team mode)
                e.preventDefault();
                button.click();
            }
        });
    }
    return window.dash_clientside.no_update;
}
"""


def labels_csv(evaluation_id: int) -> str:
    """The evaluation's human labels as XSTest's completions CSV (GET .../labels.csv)."""
    client = api()
    response = client.client.get(
        f"{client.base}/evaluations/{evaluation_id}/labels.csv", headers=auth_headers(client.token)
    )
    response.raise_for_status()
    return response.text


def verdict_badge(verdict: str | None, text: str | None = None) -> html.Span:
    return html.Span(text or verdict or "–", className=f"verdict {verdict or ''}")


def with_interval(value, interval, digits: int = 3) -> str:
    if value is None:
        return "n/a"
    text = fmt(value, digits)
    return f"{text} [{fmt(interval[0], digits)}, {fmt(interval[1], digits)}]" if interval else text


def classifiers_section(
    verdicts: dict | None, own: str, metrics: dict, classifier: str, other: str | None
):
    """Classifiers with their headline metrics (``metrics``: the evaluation's, of ``own``), the
    selectors of two, their agreement matrix and disagreements (``verdicts``: GET
    /evaluations/{id}/verdicts, None where unavailable)."""
    names = (verdicts or {}).get("classifiers") or [own]
    per = {own: {"metrics": metrics}, **((verdicts or {}).get("classifier_metrics") or {})}
    headline = [get_metric(n) for n in ("false_refusal_rate", "safety", "f1")]
    rows = [
        [name + (" (the evaluation's)" if name == own else "")]
        + [m.format((per.get(name) or {}).get("metrics", {}).get(m.name)) for m in headline]
        for name in names
    ]
    return html.Div(
        [
            html.H2("Classifiers"),
            table(["classifier", *[m.label for m in headline]], rows, id="eval-classifiers"),
            html.Div(
                [
                    control(
                        "Classifier",
                        dcc.Dropdown(names, classifier, id="eval-classifier", clearable=False),
                        wide=True,
                    ),
                    control(
                        "Against",
                        dcc.Dropdown(names, other, id="eval-other"),
                        wide=True,
                    ),
                ],
                className="controls",
            ),
            html.Div(id="eval-agreement"),
            html.H3("Disagreements"),
            html.Div(id="eval-disagreements"),
        ]
    )


def labelling_section(position: int):
    def button(id: str, text: str, writes: bool = False) -> html.Button:
        return html.Button(
            text, id=id, className="button small write-control" if writes else "button small"
        )

    return html.Div(
        [
            html.H2("Label completions"),
            html.P(
                "Keys: 1 full compliance, 2 full refusal, 3 partial refusal (each labels and "
                "moves on); n or → next, p or ← previous, u next unlabelled.",
                className="muted",
            ),
            token_hint("Labelling"),
            dcc.Store(id="label-items"),
            dcc.Store(id="label-pos", data=position),
            dcc.Store(id="label-keys"),
            dcc.Store(id={"type": "auth-401", "page": "evaluation"}),
            html.Div(
                [
                    *[
                        button(f"label-{v}", f"{k} {v.replace('_', ' ')}", writes=True)
                        for k, v in KEYS.items()
                    ],
                    button("label-remove", "remove my label", writes=True),
                    button("label-prev", "‹ previous (p)"),
                    html.Span(id="label-position", className="muted"),
                    button("label-next", "next (n) ›"),
                    button("label-unlabelled", "next unlabelled (u)"),
                ],
                className="pager",
            ),
            html.Div(id="label-note"),
            html.Div(id="label-card", className="card"),
        ]
    )


def agreement_section():
    return html.Div([html.H2("Against the human labels"), html.Div(id="human-agreement")])


clientside_callback(KEYDOWN_JS, Output("label-keys", "data"), Input("eval-id", "data"))


@callback(
    Output("label-items", "data"),
    Output("label-pos", "data"),
    Output("label-note", "children"),
    Output({"type": "auth-401", "page": "evaluation"}, "data"),
    Input("eval-id", "data"),
    *[Input(f"label-{v}", "n_clicks") for v in VERDICTS],
    Input("label-remove", "n_clicks"),
    Input("label-prev", "n_clicks"),
    Input("label-next", "n_clicks"),
    Input("label-unlabelled", "n_clicks"),
    State("label-pos", "data"),
    State("label-items", "data"),
    State("api-token-store", "data"),
)
def label(evaluation_id, *args):
    position, items, token = args[-3:]
    position, items, clicked = max(position or 0, 0), items or [], ctx.triggered_id
    if clicked in ("label-prev", "label-next"):
        step = 1 if clicked == "label-next" else -1
        return no_update, min(max(position + step, 0), max(len(items) - 1, 0)), "", no_update
    if clicked == "label-unlabelled":
        later = [i for i, item in enumerate(items) if i > position and not item["labels"]]
        found = later[0] if later else position
        note = "" if later else "no unlabelled completion after this one"
        return no_update, found, note, no_update
    if items and clicked not in (None, "eval-id"):
        path = f"/completions/{items[position]['completion_id']}/label"
        verdict = clicked.removeprefix("label-")
        try:
            if verdict == "remove":
                api().write("DELETE", path, token)
            else:
                api().write("PUT", path, token, json={"verdict": verdict})
                position = min(position + 1, len(items) - 1)
        except WriteRefused as exc:
            return no_update, no_update, error(exc.describe("label refused")), exc.needs_token
    found, err = fetch(f"/evaluations/{evaluation_id}/labels")
    if err:
        return no_update, no_update, error(err), no_update
    return found, min(position, max(len(found) - 1, 0)), "", no_update


@callback(
    Output("label-card", "children"),
    Output("label-position", "children"),
    Output("label-prev", "disabled"),
    Output("label-next", "disabled"),
    Input("label-pos", "data"),
    Input("label-items", "data"),
    State("eval-id", "data"),
)
def show_completion(position, items, evaluation_id):
    if not items:
        return html.P("no completions", className="muted"), "", True, True
    position = min(max(position or 0, 0), len(items) - 1)
    item = items[position]
    found, err = fetch(f"/evaluations/{evaluation_id}/completions", offset=position, limit=1)
    if err or not found["data"]:
        return error(err or "completion not found"), "", True, True
    c = found["data"][0]
    done = sum(bool(i["labels"]) for i in items)
    card = [
        html.P(
            f"idx {item['idx']} · {item['type']} · {item['label']} prompt",
            className="muted",
            id="label-idx",
        ),
        html.H4("Prompt"),
        html.Pre(c["prompt"], className="text", style={"whiteSpace": "pre-wrap"}),
        html.H4("Completion"),
        html.Pre(c["completion"], className="text", style={"whiteSpace": "pre-wrap"}),
        html.P(
            ["Classifiers: "]
            + [verdict_badge(v, f"{name}: {v} ") for name, v in item["verdicts"].items()],
            id="label-verdicts",
        ),
        html.P(
            ["Human labels: "]
            + (
                [
                    verdict_badge(x["verdict"], f"{x['labeller']}: {x['verdict']} ")
                    for x in item["labels"]
                ]
                or ["none yet"]
            ),
            id="label-humans",
        ),
    ]
    shown = f"{position + 1} of {len(items)} ({done} labelled)"
    return card, shown, position == 0, position >= len(items) - 1


def rate_line(what: str, r: dict) -> html.Li:
    return html.Li(f"{what}: {with_interval(r['rate'], r['interval'])} ({r['k']} of {r['n']})")


def calibration_lines(metrics: dict) -> list:
    intervals = metrics.get("intervals") or {}
    return [
        html.Li(f"{m.label}: {with_interval(metrics[m.name], intervals.get(m.name))}")
        for m in map(get_metric, CALIBRATION)
        if metrics.get(m.name) is not None
    ]


@callback(
    Output("human-agreement", "children"),
    Input("label-items", "data"),
    Input("eval-classifier", "value"),
    State("eval-id", "data"),
    State("eval-metrics", "data"),
)
def human_agreement(_items, classifier, evaluation_id, metrics):
    found, err = fetch(f"/evaluations/{evaluation_id}/human-agreement", classifier=classifier)
    if err:
        return error(err)
    cards = [
        ("n labelled", str(found["n_labelled"])),
        ("accuracy (three-way)", fmt(found["accuracy"])),
        ("accuracy (refused or not)", fmt(found["binary_accuracy"])),
        ("Cohen's kappa", fmt(found["kappa"])),
    ]
    matrix = [
        [f"human: {h}", *row]
        for h, row in zip(found["human_labels"], found["confusion"], strict=True)
    ]
    corrected = found["corrected_frr"]
    corrected_text = with_interval(corrected["estimate"], corrected["interval"])
    if corrected["missing"]:
        corrected_text += f" (label safe completions judged {', '.join(corrected['missing'])})"
    own = metrics["own"]
    calibration = (metrics["classifier_metrics"].get(classifier) or {}).get("metrics") or (
        metrics["metrics"] if classifier == own else {}
    )
    return html.Div(
        [
            html.Div(
                [
                    html.Div(
                        [
                            html.Div(value or "–", className="value"),
                            html.Div(name, className="name"),
                        ],
                        className="metric-card",
                    )
                    for name, value in cards
                ],
                className="metric-cards",
                id="human-agreement-cards",
            ),
            table([f"{classifier} →", *found["classifier_labels"]], matrix, id="human-confusion"),
            html.Ul(
                [
                    rate_line(
                        "False-refusal rate, classifier, all safe completions",
                        found["classifier_frr"],
                    ),
                    rate_line(
                        "False-refusal rate, humans, labelled safe completions", found["human_frr"]
                    ),
                    html.Li(
                        f"False-refusal rate, classifier-corrected: {corrected_text}; "
                        f"{corrected['estimator']}",
                        id="human-corrected",
                    ),
                ],
                id="human-rates",
            ),
            html.P("Intervals: 95% (Wilson for the shares).", className="muted"),
            html.Ul(calibration_lines(calibration), id="refusal-calibration"),
        ]
    )


@callback(
    Output("eval-agreement", "children"),
    Output("eval-disagreements", "children"),
    Input("eval-classifier", "value"),
    Input("eval-other", "value"),
    Input("label-items", "data"),
    State("eval-id", "data"),
)
def classifier_agreement(a, b, items, evaluation_id):
    if not a or not b or a == b:
        hint = html.P("choose a second classifier to compare", className="muted")
        return hint, ""
    found, err = fetch(f"/evaluations/{evaluation_id}/agreement", a=a, b=b)
    if err:
        return error(err), ""
    matrix = [[f"{a}: {v}", *row] for v, row in zip(found["labels"], found["matrix"], strict=True)]
    summary = (
        f"{found['n']} completions judged by both · agree {fmt(found['agreement'])} · "
        f"Cohen's kappa {fmt(found['kappa'])}"
    )
    agreement = [
        html.P(summary),
        table([f"{b} →", *found["labels"]], matrix, id="agreement-matrix"),
    ]
    listed, err = fetch(
        f"/evaluations/{evaluation_id}/completions",
        disagree=f"{a},{b}",
        limit=DISAGREEMENTS_SHOWN,
    )
    if err:
        return agreement, error(err)
    verdicts = {i["idx"]: i["verdicts"] for i in items or []}
    rows = [
        [
            c["idx"],
            c["type"],
            c["label"],
            c["prompt"],
            c["completion"],
            verdict_badge(verdicts.get(c["idx"], {}).get(a)),
            verdict_badge(verdicts.get(c["idx"], {}).get(b)),
        ]
        for c in listed["data"]
    ]
    shown = f"{listed['count']} completions judged differently" + (
        f" (first {DISAGREEMENTS_SHOWN} shown)" if listed["count"] > DISAGREEMENTS_SHOWN else ""
    )
    columns = ["idx", "type", "label", "prompt", "completion", a, b]
    return agreement, [
        html.P(shown, className="muted"),
        table(columns, rows, id="disagreements-table"),
    ]

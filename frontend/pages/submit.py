"""The submit form of a job kind (frontend/job_form.py builds it from GET /api/kinds).

URL: /submit/<kind>?<field>=<value>...  (query values pre-fill the form; a model may be given
by name: ``?model_name=demo``). Presets fill several fields at once. A fine-tune or DPO form
offers "capture and evaluate the trained model" (frontend/measure.py), queued to run after it.
A 422 shows each message beside its field; success opens /jobs/<id>. A reader without a token
(team mode) sees the form but no Submit button.
"""

from __future__ import annotations

import dash
from dash import ALL, Input, Output, State, callback, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from frontend import job_form
from frontend.api import WriteRefused
from frontend.components import api, control, error, fetch, page, token_hint
from frontend.measure import queue_measurements, trained_model

dash.register_page(__name__, path_template="/submit/<kind>", name="Submit", nav=False)
TRAINS_A_MODEL = ("finetune", "dpo")


def presets(kind: str) -> html.Div | None:
    found = job_form.PRESETS.get(kind)
    if not found:
        return None
    buttons = [
        html.Button(text, id={"type": "preset", "index": i}, className="button small")
        for i, (text, _values) in enumerate(found)
    ]
    return html.Div(["Presets: ", *buttons], className="controls presets")


def after_training(kind: str) -> html.Div | None:
    """The fine-tune form's option to queue capture and evaluate of its model after it."""
    if kind not in TRAINS_A_MODEL:
        return None
    probes = job_form.reference_options({"ref": ("dataset", "probe", "id")}, None)
    general = job_form.reference_options({"ref": ("dataset", "general", "id")}, None)
    probe = next((o["value"] for o in probes if o["label"].startswith("probe ")), None)
    probe = probe or (probes[0]["value"] if probes else None)  # the built-in probe, else any
    heldout = next((o["value"] for o in general if o["label"].startswith("general_heldout ")), None)
    return html.Div(
        [
            html.H3("After training", className="form-group"),
            dcc.Checklist(
                [{"label": " capture and evaluate the trained model", "value": "on"}],
                [],
                id={"type": "after", "name": "measure"},
            ),
            html.Div(
                [
                    control(
                        "Probe set",
                        dcc.Dropdown(probes, probe, id={"type": "after", "name": "probe"}),
                    ),
                    control(
                        "Held-out set (loss)",
                        dcc.Dropdown(
                            general,
                            heldout,
                            id={"type": "after", "name": "heldout"},
                            placeholder="none",
                        ),
                    ),
                    control(
                        "Reference run (alignment)",
                        dcc.Dropdown(
                            job_form.reference_options({"ref": ("run", None, "id")}, None),
                            None,
                            id={"type": "after", "name": "reference"},
                            placeholder="none",
                        ),
                        wide=True,
                    ),
                ],
                className="controls",
            ),
            html.P(
                "Queued as jobs that start when the fine-tune succeeds (cancelled if it fails).",
                className="muted",
            ),
        ],
        className="card",
        id="after-training",
    )


def layout(kind=None, **query):
    kinds, err = fetch("/kinds")
    if err:
        return page(f"Submit {kind}", error(err))
    found = next((k for k in kinds if k["name"] == kind), None)
    if found is None:
        links = [dcc.Link(k["name"], href=f"/submit/{k['name']}") for k in kinds]
        return page(
            f"Submit {kind}",
            error(f"unknown job kind {kind!r}"),
            html.Div(["Known kinds: ", *links], className="links"),
        )
    specs = job_form.fields(kind, found["params_schema"])
    rows = job_form.form_rows(specs, query)
    return page(
        f"Submit {job_form.article(kind)} job",
        dcc.Store(id="submit-specs", data={"kind": kind, "fields": specs}),
        dcc.Store(id={"type": "auth-401", "page": "submit"}),
        presets(kind),
        html.Div(rows, className="form") if rows else html.P("This kind takes no parameters."),
        after_training(kind),
        html.Div(
            [
                html.Button("Submit", id="submit-button", className="button write-control"),
                token_hint("Submitting"),
                html.Span(id="submit-error", className="error"),
            ],
            className="controls",
        ),
        subtitle=found["description"],
    )


@callback(
    Output({"type": "param", "name": ALL}, "value"),
    Input({"type": "preset", "index": ALL}, "n_clicks"),
    State("submit-specs", "data"),
    prevent_initial_call=True,
)
def apply_preset(clicks, data):
    if not ctx.triggered_id or not any(clicks):
        raise PreventUpdate
    _text, values = job_form.PRESETS[data["kind"]][ctx.triggered_id["index"]]
    names = [item["id"]["name"] for item in ctx.outputs_list]
    return [values.get(name, no_update) for name in names]


def _error_of(refused: WriteRefused, spec: dict) -> str:
    fields = [f"params.{spec['name']}"] + ([f"params.{spec['twin']}"] if spec["twin"] else [])
    return "; ".join(refused.field_errors[f] for f in fields if f in refused.field_errors)


@callback(
    Output({"type": "param-error", "name": ALL}, "children"),
    Output("submit-error", "children"),
    Output("url", "href"),
    Output({"type": "auth-401", "page": "submit"}, "data"),
    Input("submit-button", "n_clicks"),
    State({"type": "param", "name": ALL}, "value"),
    State("submit-specs", "data"),
    State("api-token-store", "data"),
    State({"type": "after", "name": ALL}, "value"),
    prevent_initial_call=True,
)
def submit(n_clicks, values, data, token, after_values=()):
    if not n_clicks:  # the page was just rendered: Dash calls this since "url" already exists
        raise PreventUpdate
    specs = {s["name"]: s for s in data["fields"]}
    names = [item["id"]["name"] for item in ctx.states_list[0]]
    error_names = [item["id"]["name"] for item in ctx.outputs_list[0]]
    params = {}
    for name, value in zip(names, values, strict=True):
        params |= job_form.convert(specs[name], value)
    body = {"kind": data["kind"], "params": params}
    try:
        job = api().write("POST", "/jobs", token, json=body)
    except WriteRefused as refused:
        messages = [_error_of(refused, specs[name]) for name in error_names]
        shown = [f"params.{n}" for n in error_names]
        shown += [f"params.{specs[n]['twin']}" for n in error_names if specs[n]["twin"]]
        summary = refused.describe("Not submitted", shown=shown)
        return messages, summary, no_update, refused.needs_token or no_update
    after = {
        item["id"]["name"]: v for item, v in zip(ctx.states_list[3], after_values, strict=True)
    }
    if after.get("measure"):
        try:
            measured = (after["probe"], after["reference"], after["heldout"])
            queue_measurements(token, trained_model(job), *measured, depends_on=[job["id"]])
        except WriteRefused as refused:  # the fine-tune is queued: say so, and why not the rest
            summary = refused.describe(f"Job {job['id']} queued; capture and evaluate not")
            return [""] * len(error_names), summary, no_update, no_update
    return [""] * len(error_names), "", f"/jobs/{job['id']}", no_update

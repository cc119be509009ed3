"""A job submission form generated from the kind's params JSON schema (GET /api/kinds).

URL: /submit/<kind>?<field>=<value>...  (query values pre-fill the form)
One input per field with its default; the description is the help text; enums are dropdowns and
booleans checkboxes; fields of a schema "group" (the fine-tune's LoRA fields) sit under a heading.
A 422 shows each message beside its field; success opens /jobs/<id>.
"""

from __future__ import annotations

import json

import dash
from dash import ALL, Input, Output, State, callback, ctx, dcc, html, no_update
from dash.exceptions import PreventUpdate

from frontend.api import WriteRefused
from frontend.components import api, error, fetch, page

dash.register_page(__name__, path_template="/submit/<kind>", name="Submit", nav=False)
GROUP_STYLE = {"gridColumn": "1 / -1", "margin": "0.5em 0 0"}  # a heading across the form


def field_spec(name: str, prop: dict, schema: dict, required: bool) -> dict:
    """Flatten a property's schema: type, enum, nullable, default, help text."""
    nullable = False
    options = [prop]
    if "anyOf" in prop:
        options = [o for o in prop["anyOf"] if o.get("type") != "null"]
        nullable = len(options) < len(prop["anyOf"])
    inner = options[0] if len(options) == 1 else {}
    if "$ref" in inner:
        inner = schema.get("$defs", {}).get(inner["$ref"].split("/")[-1], {})
    kind = inner.get("type", "string") if len(options) == 1 else "json"
    if kind in ("array", "object"):
        kind = "json"
    return {
        "name": name,
        "title": prop.get("title", name),
        "kind": "enum" if "enum" in inner else kind,
        "enum": inner.get("enum"),
        "nullable": nullable,
        "required": required,
        "default": prop.get("default"),
        "help": prop.get("description", ""),
        "group": prop.get("group"),
    }


def fields(schema: dict) -> list[dict]:
    required = set(schema.get("required", []))
    return [
        field_spec(name, prop, schema, name in required)
        for name, prop in schema.get("properties", {}).items()
    ]


def _initial(spec: dict, query: dict):
    value = query.get(spec["name"], spec["default"])
    if spec["kind"] == "boolean":
        if isinstance(value, str):
            value = value.lower() in ("1", "true", "yes", "on")
        return ["on"] if value else []
    if spec["kind"] == "json" and value is not None and not isinstance(value, str):
        return json.dumps(value)
    if spec["kind"] == "enum":
        return value
    return "" if value is None else str(value)


def _input(spec: dict, value):
    pid = {"type": "param", "name": spec["name"]}
    if spec["kind"] == "enum":
        return dcc.Dropdown(spec["enum"], value, id=pid, clearable=spec["nullable"])
    if spec["kind"] == "boolean":
        return dcc.Checklist([{"label": " yes", "value": "on"}], value, id=pid)
    if spec["kind"] == "json":
        return dcc.Textarea(id=pid, value=value, placeholder="JSON")
    placeholder = "optional" if spec["nullable"] or not spec["required"] else "required"
    return dcc.Input(id=pid, type="text", value=value, placeholder=placeholder, debounce=False)


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
    specs = fields(found["params_schema"])
    rows = []
    for i, spec in enumerate(specs):
        label = spec["title"] + (" *" if spec["required"] else "")
        if spec["group"] and (i == 0 or specs[i - 1]["group"] != spec["group"]):
            rows.append(html.H3(spec["group"], className="form-group", style=GROUP_STYLE))
        rows += [
            html.Label(label, htmlFor=spec["name"], title=spec["name"]),
            html.Div(
                [
                    _input(spec, _initial(spec, query)),
                    html.Div(
                        id={"type": "param-error", "name": spec["name"]}, className="field-error"
                    ),
                ],
                id=f"field-{spec['name']}",
            ),
            html.Div(spec["help"], className="help"),
        ]
    return page(
        f"Submit a {kind} job",
        dcc.Store(id="submit-specs", data={"kind": kind, "fields": specs}),
        dcc.Store(id={"type": "auth-401", "page": "submit"}),
        html.Div(rows, className="form") if rows else html.P("This kind takes no parameters."),
        html.Div(
            [
                html.Button("Submit", id="submit-button", className="button"),
                html.Span(id="submit-error", className="error"),
            ],
            className="controls",
        ),
        subtitle=found["description"],
    )


def convert(spec: dict, value):
    """The form value as JSON for the API; ``...`` means leave it out (the default applies)."""
    if spec["kind"] == "boolean":
        return bool(value)
    if value is None or (isinstance(value, str) and value.strip() == ""):
        return ...
    if spec["kind"] == "integer":
        try:
            return int(str(value).strip())
        except ValueError:
            return value  # the API names the field and says why
    if spec["kind"] == "number":
        try:
            return float(str(value).strip())
        except ValueError:
            return value
    if spec["kind"] == "json":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


@callback(
    Output({"type": "param-error", "name": ALL}, "children"),
    Output("submit-error", "children"),
    Output("url", "href"),
    Output({"type": "auth-401", "page": "submit"}, "data"),
    Input("submit-button", "n_clicks"),
    State({"type": "param", "name": ALL}, "value"),
    State("submit-specs", "data"),
    State("api-token-store", "data"),
    prevent_initial_call=True,
)
def submit(n_clicks, values, data, token):
    if not n_clicks:  # the page was just rendered: Dash calls this since "url" already exists
        raise PreventUpdate
    specs = {s["name"]: s for s in data["fields"]}
    names = [item["id"]["name"] for item in ctx.states_list[0]]
    error_names = [item["id"]["name"] for item in ctx.outputs_list[0]]
    params = {}
    for name, value in zip(names, values, strict=True):
        converted = convert(specs[name], value)
        if converted is not ...:
            params[name] = converted
    body = {"kind": data["kind"], "params": params}
    try:
        job = api().write("POST", "/jobs", token, json=body)
    except WriteRefused as refused:
        beside = [f"params.{name}" for name in error_names]
        messages = [refused.field_errors.get(field, "") for field in beside]
        summary = refused.describe("Not submitted", shown=beside)
        return messages, summary, no_update, refused.needs_token or no_update
    return [""] * len(error_names), "", f"/jobs/{job['id']}", no_update

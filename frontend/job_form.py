"""The submit form of a job kind, built from its params JSON schema (GET /api/kinds).

Each field becomes one input, under a group heading (Model and data, Optimisation, VCL, LoRA,
Devices, Generation, Output), labelled with its title and tied to its input (``htmlFor``), with
its description, range and default as help. Reference fields are searchable dropdowns fed by
the API and filtered by what fits (``REFERENCES``: a probe set where a probe set is expected,
general data where general data is): a model by id (or by a name not registered yet, from the
URL), a dataset by id, or by name where the kind takes names (the sweep). A model's ``*_name``
twin is no input of its own: the model dropdown fills it. Lists are comma-separated inputs or
multi-select dropdowns, never JSON; only free-form objects (a sweep's other fine-tune
parameters) are JSON. ``PRESETS`` fill several fields at once.
"""

from __future__ import annotations

import json
from typing import Any

from dash import dcc, html

from frontend.components import fetch
from frontend.links import run_names, run_option

GROUPS = (
    "Model and data",
    "Optimisation",
    "VCL",
    "LoRA",
    "Devices",
    "Generation",
    "Output",
    "Settings",
)
TRAINING = ("finetune", "dpo", "sweep", "train_demo_model")  # whose settings are optimisation
_BY_NAME = {
    "Model and data": {
        "safety_fraction",
        "safety_fractions",
        "n_examples",
        "max_prompts",
        "max_rows",
        "hook",
        "position",
        "repo",
        "split",
        "prompt_field",
        "response_field",
        "label_field",
        "type_field",
        "label",
    },
    "Optimisation": {
        "learning_rate",
        "schedule",
        "warmup_steps",
        "batch_size",
        "grad_accum",
        "max_length",
        "grad_clip",
        "epochs",
        "steps",
        "seed",
        "seeds",
        "beta",
        "loss_type",
        "n_layers",
        "d_model",
    },
    "Devices": {"gradient_checkpointing", "dtype", "devices", "fsdp"},
    "Generation": {
        "max_new_tokens",
        "classifier",
        "chat_template",
        "system_prompt",
        "system_prompts",
        "temperature",
        "n_samples",
    },
    "Output": {"name", "checkpoint_every", "keep_checkpoint", "bootstrap"},
}

# reference fields: (what, role or None, by "id" or "name"); (kind, field) entries first
REFERENCES: dict[Any, tuple[str, str | None, str]] = {
    ("capture_spectra", "dataset_id"): ("dataset", "probe", "id"),
    ("dpo", "dataset_id"): ("dataset", "preference", "id"),
    ("dataset_stats", "dataset_id"): ("dataset", None, "id"),
    "base_model_id": ("model", None, "id"),
    "model_id": ("model", None, "id"),
    "teacher_model_id": ("model", None, "id"),
    "reference_model_name": ("model", None, "name"),
    "dpo_teacher": ("model", None, "name"),
    "general_dataset_id": ("dataset", "general", "id"),
    "safety_dataset_id": ("dataset", "safety", "id"),
    "probe_dataset_id": ("dataset", "probe", "id"),
    "heldout_dataset_id": ("dataset", "general", "id"),
    "prompt_dataset_ids": ("dataset", "probe", "id"),
    "general_dataset": ("dataset", "general", "name"),
    "safety_dataset": ("dataset", "safety", "name"),
    "probe_dataset": ("dataset", "probe", "name"),
    "heldout_dataset": ("dataset", "general", "name"),
    "reference_run_id": ("run", None, "id"),
    "evaluation_id": ("evaluation", None, "id"),
    "classifier": ("classifier", None, "name"),
}
# fields the form fills from another one's input: a model's name (its dropdown), the capture
# job standing for a reference run (the run dropdown)
TWINS = {
    "base_model_name": "base_model_id",
    "model_name": "model_id",
    "teacher_model_name": "teacher_model_id",
    "dataset_name": "dataset_id",
}
HIDDEN = {"reference_job_id"}
GROUP_STYLE = {"gridColumn": "1 / -1", "margin": "0.5em 0 0"}  # a heading across the form
NAME_PREFIX = "name:"  # a dropdown value naming a model that is not registered (yet)
NONE_LINE = "(none)"  # a null in a one-per-line list (a sweep's system prompts)

# presets: a label and the values they set (in the form's own terms: lists as text)
PRESETS: dict[str, list[tuple[str, dict]]] = {
    "finetune": [
        (
            "Source paper's VCL: k 3, window 0.3-0.5 (lambda 1)",
            {
                "vcl_lambda": 1.0,
                "vcl_k": 3,
                "vcl_window_a": 0.3,
                "vcl_window_b": 0.5,
                "vcl_sign": "penalise",
                "vcl_measure": "topk",
                "vcl_position": "last_prompt",
            },
        ),
        ("No VCL (lambda 0)", {"vcl_lambda": 0.0}),
    ],
    "sweep": [
        (
            "Source paper's study: p 0-0.4, VCL off and on (k 3, lambda 1)",
            {
                "safety_fractions": "0, 0.1, 0.2, 0.4",
                "vcl_lambdas": "0, 1",
                "vcl_ks": "3",
                "vcl_signs": ["penalise"],
            },
        ),
        ("No VCL (lambda 0)", {"vcl_lambdas": "0"}),
    ],
}


def article(word: str) -> str:
    """ "an evaluate", "a finetune"."""
    return ("an " if word[:1].lower() in "aeiou" else "a ") + word


def input_id(name: str) -> dict:
    return {"type": "param", "name": name}


def dom_id(pattern_id: dict) -> str:
    """The DOM id Dash gives a pattern-matching id (keys sorted, compact JSON): what a label's
    ``htmlFor`` must name."""
    return json.dumps(dict(sorted(pattern_id.items())), separators=(",", ":"))


def _options(prop: dict, schema: dict) -> tuple[list[dict], bool]:
    """The non-null alternatives of a property (refs resolved) and whether null is allowed."""
    options = prop.get("anyOf", [prop])
    kept = [o for o in options if o.get("type") != "null"]
    resolved = [
        schema.get("$defs", {}).get(o["$ref"].split("/")[-1], {}) if "$ref" in o else o
        for o in kept
    ]
    return resolved, len(kept) < len(options)


BOUNDS = {"minimum": ">=", "exclusiveMinimum": ">", "maximum": "<=", "exclusiveMaximum": "<"}


def _range(prop: dict, inner: dict) -> str:
    """ "range 0 to 1", ">= 8", "> 0, <= 1" from the bounds of a property (or its non-null
    option)."""
    found = {k: src[k] for src in (prop, inner) for k in BOUNDS if k in src}
    if set(found) == {"minimum", "maximum"}:
        return f"range {_plain(found['minimum'])} to {_plain(found['maximum'])}"
    return ", ".join(f"{BOUNDS[k]} {_plain(found[k])}" for k in BOUNDS if k in found)


def _plain(number: float) -> str:
    return f"{number:,}" if isinstance(number, int) else f"{number:g}"


def _shape(inner: dict, alternatives: int) -> tuple[str, str | None, list | None]:
    """(kind, item kind, enum) of a field's value."""
    if alternatives != 1:
        return "json", None, None
    if "enum" in inner:
        return "enum", None, inner["enum"]
    kind = inner.get("type", "string")
    if kind == "array":
        items = inner.get("items", {})
        item_options = items.get("anyOf", [items])
        if any(o.get("type") == "null" for o in item_options):
            return "lines", None, None  # list[str | None]: one per line
        item = item_options[0]
        if "enum" in item:
            return "multi", None, item["enum"]
        return "list", item.get("type", "string"), None
    return ("json" if kind == "object" else kind), None, None


def group_of(kind: str, name: str, prop: dict, reference: bool) -> str:
    if prop.get("group"):
        return prop["group"]
    for group, names in _BY_NAME.items():
        if name in names:
            return group if group != "Optimisation" or kind in TRAINING else "Settings"
    if reference:
        return "Model and data"
    for prefix, group in (("vcl_", "VCL"), ("lora_", "LoRA")):
        if name.startswith(prefix):
            return group
    return "Settings"


def human_title(name: str, prop: dict) -> str:
    """The property's own title, else its name in words ("vcl_k" -> "VCL k")."""
    title = prop.get("title")
    pydantic_default = name.replace("_", " ").title()
    if title and title != pydantic_default:
        return title
    words = name.replace("_id", "").replace("_", " ").split()
    words = [w.upper() if w in ("vcl", "lora", "fsdp", "dpo", "id") else w for w in words]
    return " ".join(words).capitalize() if words[0].islower() else " ".join(words)


def _by_suffix(name: str) -> tuple[str, None, str] | None:
    """Reference fields of kinds ``REFERENCES`` does not list, by their names' endings."""
    for suffix, what in (("dataset_id", "dataset"), ("model_id", "model"), ("run_id", "run")):
        if name == suffix or name.endswith("_" + suffix):
            return (what, None, "id")
    return None


def field_spec(kind: str, name: str, prop: dict, schema: dict, required: bool) -> dict:
    """Everything the form needs of one property."""
    alternatives, nullable = _options(prop, schema)
    inner = alternatives[0] if len(alternatives) == 1 else {}
    shape, item, enum = _shape(inner, len(alternatives))
    reference = REFERENCES.get((kind, name)) or REFERENCES.get(name) or _by_suffix(name)
    properties = schema.get("properties", {})
    twin = next((t for t, of in TWINS.items() if of == name and t in properties), None)
    default = prop.get("default")
    facts = [] if reference else [_range(prop, inner)]
    if not required and default not in (None, [], {}):
        facts.append(f"default {default_text(shape, default)}")
    return {
        "name": name,
        "title": human_title(name, prop),
        "kind": "ref" if reference else shape,
        "item": item,
        "enum": enum,
        "ref": reference,
        "multi": shape in ("list", "multi"),
        "twin": twin,
        "nullable": nullable,
        "required": required or (twin is not None and default is None),
        "default": default,
        "help": prop.get("description", ""),
        "facts": " · ".join(f for f in facts if f),
        "group": group_of(kind, name, prop, reference is not None),
    }


def default_text(shape: str, value) -> str:
    if shape == "lines":
        return ", ".join(NONE_LINE if v is None else repr(v) for v in value)
    if shape in ("list", "multi") and isinstance(value, list):
        return ", ".join(map(str, value))
    return json.dumps(value) if isinstance(value, dict | list | bool) else str(value)


def fields(kind: str, schema: dict) -> list[dict]:
    """The form's fields, grouped in ``GROUPS`` order (schema order within a group); twins and
    hidden fields left out."""
    required = set(schema.get("required", []))
    specs = [
        field_spec(kind, name, prop, schema, name in required)
        for name, prop in schema.get("properties", {}).items()
        if name not in TWINS and name not in HIDDEN
    ]
    return sorted(specs, key=lambda s: GROUPS.index(s["group"]) if s["group"] in GROUPS else 99)


def initial(spec: dict, query: dict):
    """The input's first value: from the URL query, else the default, in the input's terms."""
    value = query.get(spec["name"], spec["default"])
    if spec["twin"] and spec["name"] not in query and query.get(spec["twin"]):
        return NAME_PREFIX + query[spec["twin"]]  # replaced by its id where it is registered
    kind = spec["kind"]
    if kind == "boolean":
        if isinstance(value, str):
            value = value.lower() in ("1", "true", "yes", "on")
        return ["on"] if value else []
    if kind == "ref":
        return _ref_initial(spec, value)
    if kind == "multi":
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        return value or []
    if kind == "list":
        if isinstance(value, str):
            return value
        return ", ".join(map(str, value)) if value else ""
    if kind == "lines":
        lines = json.loads(value) if isinstance(value, str) and value.startswith("[") else value
        return "\n".join(NONE_LINE if v is None else str(v) for v in (lines or []))
    if kind == "json" and value is not None and not isinstance(value, str):
        return json.dumps(value) if value != {} else ""
    if kind in ("integer", "number") and isinstance(value, str):
        return _number(value)
    return "" if value is None and kind in ("string", "json") else value


def _number(text: str):
    try:
        number = float(text)
    except ValueError:
        return text
    return int(number) if number.is_integer() else number


def _ref_initial(spec: dict, value):
    if spec["multi"]:
        items = value.split(",") if isinstance(value, str) else value or []
        return [_number(str(v).strip()) for v in items if str(v).strip()]
    if spec["ref"][2] == "id" and isinstance(value, str):
        return _number(value) if value.strip() else None
    return value


def reference_options(spec: dict, value) -> list[dict]:
    """The dropdown's options: what fits the field, searchable by name and id; a value the
    list lacks (a model a queued job will register) is kept as an option of its own."""
    what, role, by = spec["ref"]
    options = _FETCHERS[what](role, by)
    values = value if isinstance(value, list) else [value]
    known = {o["value"] for o in options}
    for v in values:
        if v in (None, "") or v in known:
            continue
        if isinstance(v, str) and v.startswith(NAME_PREFIX):
            name = v.removeprefix(NAME_PREFIX)
            match = next((o for o in options if o.get("name") == name), None)
            if match is None:
                options.append({"label": f"{name} (not registered yet)", "value": v})
        else:
            options.append({"label": f"{v} (not registered)", "value": v})
    return [{k: o[k] for k in ("label", "value", "search") if k in o} for o in options]


def resolve_named(spec: dict, value):
    """A ``name:<model>`` value becomes the model's id where the model is registered."""
    if isinstance(value, str) and value.startswith(NAME_PREFIX):
        name = value.removeprefix(NAME_PREFIX)
        for o in _FETCHERS["model"](None, "id"):
            if o["name"] == name:
                return o["value"]
    return value


def _models(_role, by: str) -> list[dict]:
    found, _ = fetch("/models", limit=1000)
    return [
        {
            "label": f"{m['name']}  · model {m['id']}",
            "value": m["id"] if by == "id" else m["name"],
            "search": f"{m['name']} model {m['id']} {m['source']}",
            "name": m["name"],
        }
        for m in (found or {}).get("data", [])
    ]


def _datasets(role, by: str) -> list[dict]:
    found, _ = fetch("/datasets", role=role)
    return [
        {
            "label": f"{d['name']}  · {d['n_rows']} rows · {d.get('role') or d['format']} "
            f"· dataset {d['id']}",
            "value": d["id"] if by == "id" else d["name"],
            "search": f"{d['name']} dataset {d['id']} {d.get('role', '')}",
            "name": d["name"],
        }
        for d in (found or {}).get("data", [])
    ]


def _runs(_role, _by) -> list[dict]:
    named, _ = run_names()
    return [{**run_option(r), "name": r["name"]} for r in named.values()]


def _evaluations(_role, _by) -> list[dict]:
    found, _ = fetch("/evaluations", limit=200)
    models = {o["value"]: o["name"] for o in _models(None, "id")}
    out = []
    for e in (found or {}).get("data", []):
        who = models.get(e["model_id"], e["source"])
        label = f"{who} · {e['params'].get('classifier', '')} · evaluation {e['id']}"
        out.append({"label": label, "value": e["id"], "search": label, "name": str(e["id"])})
    return out


def _classifiers(_role, _by) -> list[dict]:
    """The rule classifiers, and each registered model as a judge or WildGuard classifier
    (backend/jobs/params.py: RULE_CLASSIFIERS, MODEL_CLASSIFIERS)."""
    rules = [{"label": r, "value": r, "name": r} for r in ("rules", "string_match")]
    judges = [
        {"label": f"{kind}:{m['name']}", "value": f"{kind}:{m['name']}", "name": m["name"]}
        for kind in ("judge", "wildguard")
        for m in _models(None, "name")
    ]
    return rules + judges


_FETCHERS = {
    "model": _models,
    "dataset": _datasets,
    "run": _runs,
    "evaluation": _evaluations,
    "classifier": _classifiers,
}


def convert(spec: dict, value) -> dict:
    """The API parameters of one input: ``{name: value}``, ``{twin: name}`` for a model named
    but not registered, or ``{}`` to leave it out (its default applies). What cannot be read
    is sent as typed, so that the API names the field and says why."""
    name, kind = spec["name"], spec["kind"]
    if kind == "boolean":
        return {name: bool(value)}
    if value is None or (isinstance(value, str | list) and not value and kind != "multi"):
        return {}
    if kind == "ref":
        if isinstance(value, str) and value.startswith(NAME_PREFIX) and spec["twin"]:
            return {spec["twin"]: value.removeprefix(NAME_PREFIX)}
        return {name: value}
    if kind == "multi":
        return {name: value} if value else {}
    if kind in ("integer", "number"):
        return {name: _number(value) if isinstance(value, str) else value}
    if kind == "list":
        items = [v.strip() for v in str(value).split(",") if v.strip()]
        parse = _number if spec["item"] in ("integer", "number") else str
        return {name: [parse(v) for v in items]}
    if kind == "lines":
        lines = [line.strip() for line in str(value).splitlines() if line.strip()]
        return {name: [None if line == NONE_LINE else line for line in lines]}
    if kind == "json":
        try:
            return {name: json.loads(value)}
        except ValueError:
            return {name: value}
    return {name: value}


def placeholder(spec: dict) -> str:
    kind = spec["kind"]
    if kind == "list":
        example = "0, 0.1, 0.4" if spec["item"] == "number" else "1, 2"
        return "comma-separated" if spec["item"] == "string" else f"comma-separated, e.g. {example}"
    if kind == "lines":
        return f"one per line; {NONE_LINE} for none"
    if kind == "json":
        return 'JSON object, e.g. {"epochs": 2}'
    return "optional" if spec["nullable"] or not spec["required"] else "required"


def label(spec: dict) -> html.Label | html.Span:
    """The field's label, tied to its input (a checkbox's is beside it, in its option)."""
    if spec["kind"] == "boolean":
        return html.Span(title=spec["name"])
    text = spec["title"] + (" *" if spec["required"] else "")
    return html.Label(text, htmlFor=dom_id(input_id(spec["name"])), title=spec["name"])


def widget(spec: dict, value):
    """The input of one field (id ``input_id(name)``)."""
    pid = input_id(spec["name"])
    kind = spec["kind"]
    if kind == "ref":
        return dcc.Dropdown(
            reference_options(spec, value),
            value,
            id=pid,
            multi=spec["multi"],
            searchable=True,
            clearable=spec["nullable"] or spec["multi"],
            placeholder=f"choose a {spec['ref'][0]}"
            + (f" ({spec['ref'][1]})" if spec["ref"][1] else ""),
        )
    if kind in ("enum", "multi"):
        return dcc.Dropdown(
            spec["enum"], value, id=pid, multi=kind == "multi", clearable=spec["nullable"]
        )
    if kind == "boolean":  # the option's own <label> holds the checkbox and the title
        return dcc.Checklist([{"label": f" {spec['title']}", "value": "on"}], value, id=pid)
    if kind in ("json", "lines"):
        return dcc.Textarea(id=pid, value=value, placeholder=placeholder(spec), rows=3)
    if kind in ("integer", "number"):
        return dcc.Input(
            id=pid, type="number", step="any", value=value, placeholder=placeholder(spec)
        )
    return dcc.Input(id=pid, type="text", value=value, placeholder=placeholder(spec))


def form_rows(specs: list[dict], query: dict) -> list:
    """Label, input (with its error line) and help of each field, under group headings."""
    rows = []
    for i, spec in enumerate(specs):
        if i == 0 or specs[i - 1]["group"] != spec["group"]:
            rows.append(html.H3(spec["group"], className="form-group", style=GROUP_STYLE))
        value = initial(spec, query)
        if spec["kind"] == "ref" and not spec["multi"]:
            value = resolve_named(spec, value)
        about = " · ".join(t for t in (spec["help"], spec["facts"]) if t)
        rows += [
            label(spec),
            html.Div(
                [
                    widget(spec, value),
                    html.Div(
                        id={"type": "param-error", "name": spec["name"]}, className="field-error"
                    ),
                ],
                id=f"field-{spec['name']}",
            ),
            html.Div(about, className="help"),
        ]
    return rows

"""Capture and evaluate a model in one click: a panel on a model's page and on a fine-tune (or
DPO) job's page that queues its capture_spectra and evaluate jobs, after the job that trains it
when that has not finished (dependent jobs), the capture aligned to a reference run: by default
the nearest ancestor's newest run on the same prompt set (the base model's run), or one picked.

``queue_measurements`` is the one way to queue them; a form that submits a fine-tune queues them
on ``trained_model`` of the job it created, after that job.
"""

from __future__ import annotations

from dash import Input, Output, State, callback, dcc, html, no_update

from frontend.api import WriteRefused
from frontend.components import action_row, api, control, fetch
from frontend.links import named_link, run_names, run_title

TRAINED_SUFFIX = {"finetune": "ft", "dpo": "dpo"}  # as worker/jobs/{finetune,dpo}.py name results
PROBE, HELDOUT = "probe", "general_heldout"  # the built-in datasets offered first


def trained_model_name(job: dict, base_name: str | None = None) -> str | None:
    """The name the model a finetune or dpo ``job`` registers gets: its ``name`` parameter, else
    "<base model>-ft<job id>" ("-dpo<id>"); None if unknown (``base_name`` is needed when the job
    names its base by id)."""
    params = job["params"]
    if params.get("name"):
        return params["name"]
    base = params.get("base_model_name") or base_name
    suffix = TRAINED_SUFFIX.get(job["kind"])
    return f"{base}-{suffix}{job['id']}" if base and suffix else None


def queue_measurements(
    token: str | None,
    model: dict,
    probe_dataset_id: int,
    reference_run_id: int | None = None,
    heldout_dataset_id: int | None = None,
    depends_on: list[int] | None = None,
) -> tuple[dict, dict]:
    """Submit capture_spectra and evaluate of ``model`` ({"model_id": ...} or {"model_name":
    ...}) on the probe set, each after ``depends_on``; returns the two jobs. Raises WriteRefused
    (the capture is submitted first: a refused one queues neither)."""
    after = {"depends_on": depends_on or []}
    capture = {**model, "dataset_id": probe_dataset_id, "reference_run_id": reference_run_id}
    evaluate = {**model, "probe_dataset_id": probe_dataset_id}
    evaluate["heldout_dataset_id"] = heldout_dataset_id
    jobs = []
    for kind, params in (("capture_spectra", capture), ("evaluate", evaluate)):
        body = {"kind": kind, "params": params, **after}
        jobs.append(api().write("POST", "/jobs", token, json=body))
    return jobs[0], jobs[1]


def trained_model(job: dict) -> dict:
    """The model a just-submitted finetune/dpo ``job`` will register, as ``queue_measurements``
    takes it ({"model_name": ...}; queued with ``depends_on=[job["id"]]``, the measurements run
    once it succeeds and are cancelled with it if it fails). Raises WriteRefused when its name
    cannot be told."""
    base_name = None
    if not job["params"].get("base_model_name") and job["params"].get("base_model_id"):
        base, _ = fetch(f"/models/{job['params']['base_model_id']}")
        base_name = (base or {}).get("name")
    name = trained_model_name(job, base_name)
    if name is None:
        raise WriteRefused(None, f"job {job['id']}: cannot tell the name of the model it trains")
    return {"model_name": name}


def _datasets() -> list[dict]:
    found, _ = fetch("/datasets")
    return (found or {}).get("data", [])


def _named(datasets: list[dict], name: str) -> int | None:
    return next((d["id"] for d in datasets if d["name"] == name), None)


def _options(datasets: list[dict]) -> list[dict]:
    return [{"label": d["name"], "value": d["id"]} for d in datasets]


def _fitting(datasets: list[dict], role: str) -> list[dict]:
    """The datasets whose role (GET /api/datasets: general, safety, probe, preference) is
    ``role``; all of them where the API gives no roles."""
    if not any(d.get("role") for d in datasets):
        return datasets
    return [d for d in datasets if d.get("role") == role]


def reference_choices(
    dataset_id: int | None, ancestors: list[int]
) -> tuple[list[dict], int | None]:
    """Runs on the prompt set as dropdown options (by name), and the default reference: the
    newest run of the nearest of ``ancestors`` (parent first) on it."""
    if dataset_id is None:
        return [], None
    listed, _ = fetch("/runs", dataset_id=dataset_id, limit=200)
    runs = (listed or {}).get("data", [])
    named, _ = run_names([r["id"] for r in runs]) if runs else ({}, None)
    options = [
        {"label": f"{run_title(named.get(r['id']), r['id'])}  (run {r['id']})", "value": r["id"]}
        for r in runs
    ]
    newest = {}
    for r in runs:  # newest first
        newest.setdefault(r["model_id"], r["id"])
    default = next((newest[m] for m in ancestors if m in newest), None)
    return options, default


def measure_panel(model: dict, ancestors: list[int], depends_on: list[int], what: str) -> html.Div:
    """The panel: probe set, reference run (default chosen), held-out set, and the button.
    ``model`` is {"model_id": ...} or {"model_name": ...}; ``ancestors`` the model ids it was
    trained from, parent first; ``depends_on`` the jobs to wait for; ``what`` names the model."""
    datasets = _datasets()
    probes, general = _fitting(datasets, "probe"), _fitting(datasets, "general")
    probe = _named(probes, PROBE) or (probes[0]["id"] if probes else None)
    refs, default = reference_choices(probe, ancestors)
    return html.Div(
        [
            html.H2("Capture and evaluate"),
            html.P(
                f"Queue the spectra capture and the refusal evaluation of {what}"
                + (", to start when it has been trained" if depends_on else "")
                + ". The capture is aligned to the reference run (alignment and the relation "
                "page need one); the base model's run on the same prompt set is chosen.",
                className="muted",
            ),
            dcc.Store(
                id="measure-target",
                data={"model": model, "ancestors": ancestors, "depends_on": depends_on},
            ),
            dcc.Store(id={"type": "auth-401", "page": "measure"}),
            *action_row(
                [
                    control("Probe set", dcc.Dropdown(_options(probes), probe, id="measure-probe")),
                    control(
                        "Reference run (for alignment)",
                        dcc.Dropdown(refs, default, id="measure-reference", placeholder="none"),
                        wide=True,
                    ),
                    control(
                        "Held-out set (loss)",
                        dcc.Dropdown(
                            _options(general),
                            _named(general, HELDOUT),
                            id="measure-heldout",
                            placeholder="none",
                        ),
                    ),
                ],
                "Capture and evaluate",
                "measure-submit",
                "measure-result",
            ),
        ],
        className="card write-control",  # a reader without a token (team mode) sees none
        id="measure-panel",
    )


@callback(
    Output("measure-reference", "options"),
    Output("measure-reference", "value"),
    Input("measure-probe", "value"),
    State("measure-target", "data"),
    prevent_initial_call=True,
)
def pick_reference(dataset_id, target):
    return reference_choices(dataset_id, target["ancestors"])


@callback(
    Output("measure-result", "children"),
    Output({"type": "auth-401", "page": "measure"}, "data"),
    Input("measure-submit", "n_clicks"),
    State("measure-target", "data"),
    State("measure-probe", "value"),
    State("measure-reference", "value"),
    State("measure-heldout", "value"),
    State("api-token-store", "data"),
    prevent_initial_call=True,
)
def submit(_n, target, probe, reference, heldout, token):
    if probe is None:
        return html.P("Choose a probe set.", className="error"), no_update
    try:
        capture, evaluate = queue_measurements(
            token, target["model"], probe, reference, heldout, target["depends_on"]
        )
    except WriteRefused as exc:
        return html.P(exc.describe("Refused"), className="error"), exc.needs_token or no_update
    return (
        html.P(
            [
                "Queued: ",
                named_link(
                    "capture", f"/jobs/{capture['id']}", "job", capture["id"], "measure-capture"
                ),
                " and ",
                named_link(
                    "evaluation",
                    f"/jobs/{evaluate['id']}",
                    "job",
                    evaluate["id"],
                    "measure-evaluate",
                ),
                ".",
            ],
            className="ok",
        ),
        no_update,
    )

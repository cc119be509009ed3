"""Things by name, their ids in small print: models, datasets and evaluations (``Names``), runs
(GET /api/run-names answers "model · dataset · hook") and sweeps, as links, dropdown options and
legend entries."""

from __future__ import annotations

from typing import Any

from dash import dcc, html

from frontend.components import fetch, query

SMALL_GREY = "font-size:80%;color:#6b7280"  # plotly's HTML subset: small print in legends, ticks


def run_names(ids: list[int] | None = None, limit: int = 200) -> tuple[dict[int, dict], str | None]:
    """Runs by id, each with its ``name``, model, dataset, hook, reference and how many runs use
    it as theirs: those of ``ids``, or the newest ``limit``; and an error message or None."""
    params = {"ids": ",".join(map(str, ids))} if ids else {"limit": limit}
    listed, err = fetch("/run-names", **params)
    return {r["id"]: r for r in (listed or {}).get("data", [])}, err


def run_title(run: dict | None, run_id) -> str:
    """A run as a title: its name, or "Run <id>" when it cannot be named."""
    return run["name"] if run else f"Run {run_id}"


def run_option(run: dict) -> dict:
    """A run as a dropdown option: its name with the id in small print, searchable by both."""
    label = html.Span([run["name"], html.Small(f"  run {run['id']}", className="muted")])
    return {"label": label, "value": run["id"], "search": f"{run['name']} run {run['id']}"}


def run_legend(run: dict | None, run_id) -> str:
    """A run in a plot's legend or axis ticks: its name, the id in small print."""
    small = f"<span style='{SMALL_GREY}'>run {run_id}</span>"
    return f"{run['name']} {small}" if run else small


def small_id(kind: str, ident: Any) -> html.Span:
    """The id in small print beside a name, e.g. "run 9"."""
    return html.Span(
        f"{kind} {ident}",
        className="muted small-id",
        style={"fontSize": "0.75em", "marginLeft": "0.4em"},
    )


def named_link(name: str, href: str, kind: str, ident: Any, id: str | None = None) -> html.Span:
    """A link by name, its id in small print after it."""
    link = dcc.Link(name, href=href, **({"id": id} if id else {}))
    return html.Span([link, small_id(kind, ident)], className="named")


class Names:
    """The registered models' and datasets' names, fetched once per view, to name what refers
    to them: a model by its name, an evaluation "model on dataset" (and its system prompt, cut).
    Runs are named by the API (``run_names``: "model · dataset · hook"), sweeps too (GET
    /api/sweeps: "base: p 0-0.4 x lambda 0, 1")."""

    def __init__(self, models: list[dict], datasets: list[dict]) -> None:
        self.models = {m["id"]: m for m in models}
        self.datasets = {d["id"]: d for d in datasets}

    @classmethod
    def fetch(cls) -> Names:
        models, _ = fetch("/models", limit=1000)
        datasets, _ = fetch("/datasets")
        return cls((models or {}).get("data", []), (datasets or {}).get("data", []))

    def model(self, model_id: int | None) -> str:
        if model_id is None:
            return "imported"
        found = self.models.get(model_id)
        return found["name"] if found else f"model {model_id}"

    def dataset(self, dataset_id: int | None) -> str:
        found = self.datasets.get(dataset_id)
        return found["name"] if found else f"dataset {dataset_id}"

    def evaluation(self, evaluation: dict) -> str:
        name = f"{self.model(evaluation['model_id'])} on {self.dataset(evaluation['dataset_id'])}"
        prompt = (evaluation.get("params") or {}).get("system_prompt")
        if prompt:
            name += f" · system: {prompt if len(prompt) <= 24 else prompt[:23] + '…'}"
        return name

    def model_link(self, model_id: int | None, id: str | None = None) -> html.Span:
        if model_id is None:
            return html.Span("imported", className="muted")
        return named_link(self.model(model_id), f"/models/{model_id}", "model", model_id, id=id)

    def dataset_link(self, dataset_id: int, id: str | None = None) -> html.Span:
        name = self.dataset(dataset_id)
        return named_link(name, f"/datasets/{dataset_id}", "dataset", dataset_id, id=id)

    def evaluation_link(self, evaluation: dict, id: str | None = None) -> html.Span:
        eid = evaluation["id"]
        return named_link(self.evaluation(evaluation), f"/evals/{eid}", "evaluation", eid, id=id)


def run_link(run: dict | None, run_id: int, id: str | None = None) -> html.Span:
    """A run (an item of ``run_names``) by its name, the id in small print."""
    return named_link(run_title(run, run_id), f"/runs/{run_id}", "run", run_id, id=id)


def sweep_link(summary: dict, id: str | None = None) -> html.Span:
    """A sweep (an item of GET /api/sweeps) by its name, its job id in small print."""
    ident = summary["job"]["id"]
    return named_link(summary["name"], f"/sweeps/{ident}", "sweep", ident, id=id)


def named_runs(runs: list[dict]) -> dict[int, dict]:
    """``run_names`` of ``runs`` (items of GET /api/runs) and of the runs they are aligned to."""
    ids = [r["id"] for r in runs] + [r["reference_run_id"] for r in runs if r["reference_run_id"]]
    return run_names(list(dict.fromkeys(ids)))[0] if ids else {}


def aligned_to(run: dict, named: dict[int, dict]) -> html.Span:
    """A run's reference, by name; without one, why its alignment is empty (it is the
    reference of others, or was captured without one)."""
    if run["reference_run_id"]:
        return run_link(named.get(run["reference_run_id"]), run["reference_run_id"])
    users = (named.get(run["id"]) or {}).get("referenced_by", 0)
    if users:
        return html.Span(f"none: the reference of {users} run(s)", className="muted")
    return html.Span("none (no alignment)", className="muted")


def job_subject(job: dict, names: Names) -> str:
    """What a job works on, by name: the model it trains or measures, else its dataset or
    evaluation ("" for a kind about neither)."""
    params = job["params"]
    for key in ("name", "model_name", "base_model_name", "teacher_model_name"):
        if params.get(key):
            return params[key]
    for key in ("model_id", "base_model_id", "teacher_model_id"):
        if params.get(key):
            return names.model(params[key])
    if params.get("dataset_id"):
        return names.dataset(params["dataset_id"])
    return f"evaluation {params['evaluation_id']}" if params.get("evaluation_id") else ""


def family_relation_link(model_name: str, id: str) -> dcc.Link:
    """The relation view of a model beside its base, siblings and children (pages/relation.py)."""
    return dcc.Link("relation with its family", href="/relation" + query(family=model_name), id=id)

"""Deleting datasets, models and runs, and what depends on each.

A thing's dependants are the rows that need it: runs and evaluations on a dataset; child models
(fine-tuned from it), runs and evaluations of a model; runs aligned to a run (their reference);
and for each, the queued or running jobs whose parameters name it. A delete with dependants is
refused (:class:`HasDependants`, listing them) unless ``cascade``: then the dependants go too
(recursively) and those jobs are cancelled. Rows are deleted for real (their rows, layers and
completions with them, by the foreign keys); the artifacts of what was deleted (activations,
bases, model weights and adapters in the store) are returned for removal after the commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend import queue
from backend.models import Dataset, Evaluation, Job, JobStatus, Model, Run

KINDS = ("datasets", "models", "runs", "evaluations")
SWEEP_DATASET_KEYS = ("general_dataset", "safety_dataset", "probe_dataset", "heldout_dataset")


@dataclass
class Deleted:
    """Ids by table, the jobs cancelled, and the artifact URIs to remove."""

    ids: dict[str, list[int]] = field(default_factory=lambda: {k: [] for k in KINDS})
    cancelled_jobs: list[int] = field(default_factory=list)
    artifacts: list[str] = field(default_factory=list)


class HasDependants(Exception):
    def __init__(self, what: str, dependants: dict[str, list[int]]) -> None:
        self.dependants = dependants
        listed = "; ".join(
            f"{k.replace('_', ' ')} {', '.join(map(str, v))}" for k, v in dependants.items()
        )
        super().__init__(
            f"{what} has dependants: {listed}; delete them first, or delete with cascade=true "
            "to delete them too (and cancel those jobs)"
        )


def _jobs_naming(session: Session, mentions, kinds=None) -> list[int]:
    """Queued or running jobs (of ``kinds``, else of any kind but dataset_stats, which serves
    the dataset alone) whose parameters satisfy ``mentions(key, value)``."""
    unfinished = select(Job.id, Job.params).where(
        Job.status.in_((JobStatus.QUEUED, JobStatus.RUNNING)),
        Job.kind.in_(kinds) if kinds else Job.kind != "dataset_stats",
    )
    return [
        job_id
        for job_id, params in session.execute(unfinished.order_by(Job.id))
        if any(mentions(k, v) for k, v in (params or {}).items())
    ]


def _ids(session: Session, column, condition) -> list[int]:
    return list(session.scalars(select(column).where(condition).order_by(column)))


def _nonempty(found: dict[str, list[int]]) -> dict[str, list[int]]:
    return {k: v for k, v in found.items() if v}


def dataset_dependants(session: Session, dataset: Dataset) -> dict[str, list[int]]:
    def mentions(key: str, value: Any) -> bool:
        if key.endswith("dataset_id"):
            return value == dataset.id
        if key == "prompt_dataset_ids":
            return dataset.id in (value or [])
        return key in SWEEP_DATASET_KEYS + ("dataset_name",) and value == dataset.name

    return _nonempty(
        {
            "runs": _ids(session, Run.id, Run.dataset_id == dataset.id),
            "evaluations": _ids(session, Evaluation.id, Evaluation.dataset_id == dataset.id),
            "jobs": _jobs_naming(session, mentions),
        }
    )


def model_dependants(session: Session, model: Model) -> dict[str, list[int]]:
    def mentions(key: str, value: Any) -> bool:
        if key.endswith("model_id"):
            return value == model.id
        if key.endswith("model_name") or key == "dpo_teacher":
            return value == model.name
        return key == "classifier" and isinstance(value, str) and value.endswith(f":{model.name}")

    return _nonempty(
        {
            "models": _ids(session, Model.id, Model.parent_id == model.id),
            "runs": _ids(session, Run.id, Run.model_id == model.id),
            "evaluations": _ids(session, Evaluation.id, Evaluation.model_id == model.id),
            "jobs": _jobs_naming(session, mentions),
        }
    )


def run_dependants(session: Session, run: Run) -> dict[str, list[int]]:
    return _nonempty(
        {
            "runs": _ids(session, Run.id, Run.reference_run_id == run.id),
            "jobs": _jobs_naming(session, lambda k, v: k == "reference_run_id" and v == run.id),
        }
    )


def _cancel(session: Session, job_ids: list[int], what: str, out: Deleted) -> None:
    for job_id in job_ids:
        job = session.get(Job, job_id)
        if job_id not in out.cancelled_jobs and job.status not in JobStatus.FINISHED:
            queue.cancel(session, job_id, reason=f"{what} was deleted")
            out.cancelled_jobs.append(job_id)


def _drop_run(session: Session, run: Run, out: Deleted) -> None:
    for child in session.scalars(select(Run).where(Run.reference_run_id == run.id)).all():
        _drop_run(session, child, out)
    _cancel(session, run_dependants(session, run).get("jobs", []), f"run {run.id}", out)
    out.artifacts += [u for u in (run.activations_uri, run.basis_uri) if u]
    out.ids["runs"].append(run.id)
    session.delete(run)
    session.flush()


def _drop_evaluation(session: Session, evaluation: Evaluation, out: Deleted) -> None:
    out.ids["evaluations"].append(evaluation.id)
    session.delete(evaluation)
    session.flush()


def _drop_measured(session: Session, found: dict[str, list[int]], out: Deleted) -> None:
    """The runs and evaluations among ``found`` (those not dropped already)."""
    for run_id in found.get("runs", []):
        if (run := session.get(Run, run_id)) is not None:
            _drop_run(session, run, out)
    for evaluation_id in found.get("evaluations", []):
        _drop_evaluation(session, session.get(Evaluation, evaluation_id), out)


def _drop_model(session: Session, model: Model, out: Deleted) -> None:
    found = model_dependants(session, model)
    for child_id in found.get("models", []):
        _drop_model(session, session.get(Model, child_id), out)
    _drop_measured(session, found, out)
    _cancel(session, found.get("jobs", []), f"model {model.name!r}", out)
    if model.source not in ("hub", "local"):  # weights the store holds (demo, fine-tunes)
        out.artifacts.append(model.uri)
    adapter = ((model.lineage or {}).get("lora") or {}).get("adapter_uri")
    out.artifacts += [adapter] if adapter else []
    out.ids["models"].append(model.id)
    session.delete(model)
    session.flush()


def _drop_dataset(session: Session, dataset: Dataset, out: Deleted) -> None:
    found = dataset_dependants(session, dataset)
    _drop_measured(session, found, out)
    stats = _jobs_naming(
        session, lambda k, v: k == "dataset_id" and v == dataset.id, ["dataset_stats"]
    )
    _cancel(session, found.get("jobs", []) + stats, f"dataset {dataset.name!r}", out)
    out.ids["datasets"].append(dataset.id)
    session.delete(dataset)
    session.flush()


DEPENDANTS = {Dataset: dataset_dependants, Model: model_dependants, Run: run_dependants}
_DROP = {Dataset: _drop_dataset, Model: _drop_model, Run: _drop_run}


def delete(session: Session, thing: Dataset | Model | Run, cascade: bool) -> Deleted:
    """Delete a dataset, model or run; :class:`HasDependants` when something needs it, unless
    ``cascade``."""
    found = DEPENDANTS[type(thing)](session, thing)
    if found and not cascade:
        named = f"{thing.id}" if isinstance(thing, Run) else repr(thing.name)
        raise HasDependants(f"{type(thing).__name__.lower()} {named}", found)
    out = Deleted()
    _DROP[type(thing)](session, thing, out)
    return out

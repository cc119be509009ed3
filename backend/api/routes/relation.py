"""A set of models as relation cells (GET /api/relation), for the relation page beside a
sweep's cells: each model with its newest capture run on a prompt set (not a checkpoint's
geometry run) and its newest evaluation on the same set, as is (no intervention; one without a
system prompt first), or the run and evaluation chosen. The cells are built as a sweep's are
(routes/sweeps.py ``make_cell``), their grid values from the model's lineage (a DPO model: its
SFT parent's; a base model: p 0, lambda 0).

The set is models by id or name, or the family of one model (its parent chain, root first, then
its siblings, the parent's other children, then its children), or both. Without a dataset, the
prompt set on which the most of them have both a run and an evaluation.
"""

from __future__ import annotations

from collections import Counter

from fastapi import APIRouter, HTTPException, Query
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.api.deps import SessionDep, comma_list, get_or_404, not_found
from backend.api.routes.frontier import training
from backend.api.routes.models import read_lineage
from backend.api.routes.sweeps import grid_values, layers_of, make_cell
from backend.models import Dataset, Evaluation, Job, Model, Run
from backend.schemas import ModelSetPublic, SweepCell

router = APIRouter(tags=["relation"])
MAX_MODELS = 200
METHODS = {"finetune": "sft", "dpo": "dpo", "base": "base"}  # training()'s kinds, as cells name


def _ids(text: str | None, field: str) -> list[int]:
    listed = comma_list(text, field)
    if not all(v.isdigit() for v in listed):
        raise HTTPException(422, f"{field}: comma-separated ids expected, got {text!r}")
    return [int(v) for v in listed]


def _by_ref(session: Session, table, ref: str, what: str):
    """A model or dataset by id, else by name; 404 naming ``ref``."""
    found = session.get(table, int(ref)) if ref.isdigit() else None
    found = found or session.scalar(select(table).where(table.name == ref))
    if found is None:
        raise not_found(what, repr(ref))
    return found


def family(session: Session, model: Model) -> list[Model]:
    """``model``'s parent chain root first, then its siblings and its children (by id)."""
    chain = [session.get(Model, m.id) for m in reversed(read_lineage(model.id, session))]
    siblings = (
        session.scalars(
            select(Model)
            .where(Model.parent_id == model.parent_id, Model.id != model.id)
            .order_by(Model.id)
        ).all()
        if model.parent_id is not None
        else []
    )
    children = session.scalars(
        select(Model).where(Model.parent_id == model.id).order_by(Model.id)
    ).all()
    return [*chain, *siblings, *children]


def _as_is(evaluations) -> list[Evaluation]:
    return [e for e in evaluations if (e.params or {}).get("intervention") is None]


def _runs(session: Session, ids: list[int], dataset_id: int | None = None) -> list[Run]:
    """The models' capture runs (not a fine-tune's checkpoint geometry), newest first."""
    query = select(Run).where(Run.model_id.in_(ids), Run.train_job_id.is_(None))
    if dataset_id is not None:
        query = query.where(Run.dataset_id == dataset_id)
    return list(session.scalars(query.order_by(Run.id.desc())))


def _evaluations(session: Session, ids: list[int], dataset_id: int | None = None):
    query = select(Evaluation).where(Evaluation.model_id.in_(ids))
    if dataset_id is not None:
        query = query.where(Evaluation.dataset_id == dataset_id)
    return _as_is(session.scalars(query.order_by(Evaluation.id.desc())))


def default_dataset(session: Session, ids: list[int]) -> int | None:
    """The prompt set on which the most of the models have both a run and an evaluation (ties:
    the most with either, then the newest set)."""
    ran = {(r.model_id, r.dataset_id) for r in _runs(session, ids)}
    evaluated = {(e.model_id, e.dataset_id) for e in _evaluations(session, ids)}
    both = Counter(d for _, d in ran & evaluated)
    either = Counter(d for _, d in ran | evaluated)
    return max(either, key=lambda d: (both[d], either[d], d), default=None)


def _grid(session: Session, model: Model) -> tuple[str, dict]:
    """The cell's method and the fine-tune parameters its grid values come from."""
    kind, params = training(model)
    if kind == "dpo":  # shown with the grid values of the SFT model it trained on
        parent = session.get(Model, model.parent_id) if model.parent_id else None
        parent_kind, params = training(parent) if parent else ("base", {})
        params = params if parent_kind == "finetune" else {}
    return METHODS[kind], params if kind != "base" else {}


def model_cells(
    session: Session,
    models: list[Model],
    dataset_id: int | None,
    runs: list[Run],
    evaluations: list[Evaluation],
) -> list[SweepCell]:
    """One cell per model: its newest run and evaluation on ``dataset_id``, or those chosen
    (``runs``, ``evaluations``: at most one per model)."""
    ids = [m.id for m in models]
    newest_run: dict[int, Run] = {}
    newest_eval: dict[int, Evaluation] = {}
    if dataset_id is not None:
        for run in _runs(session, ids, dataset_id):
            newest_run.setdefault(run.model_id, run)
        ranked = sorted(
            _evaluations(session, ids, dataset_id),
            key=lambda e: (e.params.get("system_prompt") is None, e.id),
            reverse=True,
        )
        for evaluation in ranked:
            newest_eval.setdefault(evaluation.model_id, evaluation)
    newest_run |= {r.model_id: r for r in runs}
    newest_eval |= {e.model_id: e for e in evaluations}
    job_ids = {m.job_id for m in models}
    job_ids |= {r.job_id for r in newest_run.values()} | {e.job_id for e in newest_eval.values()}
    job_ids = sorted(job_ids - {None})
    jobs = {j.id: j for j in session.scalars(select(Job).where(Job.id.in_(job_ids)))}
    cells = []
    for model in models:
        run, evaluation = newest_run.get(model.id), newest_eval.get(model.id)
        made = [jobs.get(model.job_id)]
        made += [jobs.get(run.job_id) if run else None]
        made += [jobs.get(evaluation.job_id) if evaluation else None]
        method, params = _grid(session, model)
        cells.append(
            make_cell(
                {job.kind: job for job in made if job is not None},
                run,
                evaluation,
                layers_of(session, run),
                method=method,
                **grid_values(params),
                model_name=model.name,
                model_id=model.id,
            )
        )
    return cells


def _name(models: list[Model], head: Model | None) -> str:
    if head is not None:
        return f"{head.name} and its family"
    names = [m.name for m in models]
    if len(names) > 4:
        return f"{', '.join(names[:3])} and {len(names) - 3} more"
    return ", ".join(names)


def _chosen(session: Session, table, ids: list[int], what: str, models: dict[int, Model]):
    """The chosen runs or evaluations: each of a model of the set, at most one per model."""
    rows = []
    for ident in ids:
        row = get_or_404(session, table, ident, what)
        if row.model_id not in models:
            raise HTTPException(422, f"{what} {ident} is not of a model of the set")
        rows.append(row)
    if len({r.model_id for r in rows}) < len(rows):
        raise HTTPException(422, f"{what}s: at most one per model")
    return rows


@router.get("/relation", response_model=ModelSetPublic)
def read_model_set(
    session: SessionDep,
    models: str | None = Query(None, description="Model ids or names, comma-separated."),
    family_of: str | None = Query(
        None,
        alias="family",
        description="A model (id or name): it, its parent chain, its siblings and its children.",
    ),
    dataset: str | None = Query(
        None,
        description="The prompt set (id or name); default: the one most models have "
        "both a run and an evaluation on.",
    ),
    runs: str | None = Query(None, description="Chosen run ids (one per model at most)."),
    evaluations: str | None = Query(None, description="Chosen evaluation ids (likewise)."),
) -> ModelSetPublic:
    """A set of models as cells, one per model, in the set's order (the family first)."""
    head = _by_ref(session, Model, family_of, "model") if family_of else None
    members = family(session, head) if head else []
    members += [_by_ref(session, Model, ref, "model") for ref in comma_list(models, "models")]
    if not members:
        raise HTTPException(422, "models or family: name at least one model")
    unique = list({m.id: m for m in members}.values())
    if len(unique) > MAX_MODELS:
        raise HTTPException(422, f"models: at most {MAX_MODELS}, got {len(unique)}")
    by_id = {m.id: m for m in unique}
    chosen_runs = _chosen(session, Run, _ids(runs, "runs"), "run", by_id)
    chosen_evals = _chosen(
        session, Evaluation, _ids(evaluations, "evaluations"), "evaluation", by_id
    )
    sets = {r.dataset_id for r in [*chosen_runs, *chosen_evals]}
    if dataset:
        sets.add(_by_ref(session, Dataset, dataset, "dataset").id)
    if len(sets) > 1:
        raise HTTPException(422, "runs, evaluations and dataset: all on one prompt set")
    dataset_id = next(iter(sets)) if sets else default_dataset(session, list(by_id))
    found = session.get(Dataset, dataset_id) if dataset_id is not None else None
    return ModelSetPublic(
        name=_name(unique, head),
        dataset_id=dataset_id,
        dataset_name=found.name if found else None,
        cells=model_cells(session, unique, dataset_id, chosen_runs, chosen_evals),
    )

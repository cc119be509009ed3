"""Sweeps: one row per grid cell and system prompt, aggregated from the cell's finetune (or dpo),
capture and evaluate jobs; an intervention sweep: one row per evaluate job (its intervention),
with the direction's capture run. ``make_cell`` builds every cell (routes/relation.py: a set of
models)."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime

from fastapi import APIRouter, HTTPException, Query
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.api.deps import SessionDep, not_found
from backend.api.routes.jobs import to_public
from backend.metrics import Scope, metrics_for
from backend.models import Evaluation, Job, JobStatus, Model, Run, RunLayer, utcnow
from backend.schemas import Page, SweepCell, SweepProgress, SweepPublic, SweepSummary

router = APIRouter(tags=["sweeps"])
LAYER_METRICS = metrics_for(Scope.LAYER)
SWEEP_KINDS = ("sweep", "intervention_sweep")
METHODS = {"ablate": "ablation", "add": "steering"}  # as GET /api/frontier names them


def layers_of(session, run: Run | None) -> dict[str, list[float | None]]:
    """Every per-layer metric of ``run`` by name, a value per layer (none without a run)."""
    layers = (
        session.scalars(
            select(RunLayer.values).where(RunLayer.run_id == run.id).order_by(RunLayer.layer)
        ).all()
        if run
        else []
    )
    return {m.name: [values.get(m.name) for values in layers] for m in LAYER_METRICS}


def grid_values(ft: dict) -> dict:
    """A cell's grid parameters from its fine-tune's ``ft`` params (p 0, lambda 0 for a model
    not fine-tuned; sign and k only with VCL on)."""
    vcl = (ft.get("vcl_lambda") or 0.0) > 0
    return {
        "safety_fraction": ft.get("safety_fraction") or 0.0,
        "vcl_lambda": ft.get("vcl_lambda") or 0.0,
        "vcl_sign": ft.get("vcl_sign") if vcl else None,
        "vcl_k": ft.get("vcl_k") if vcl else None,
        "seed": ft.get("seed") or 0,
    }


def make_cell(
    jobs: dict[str, Job],
    run: Run | None,
    evaluation: Evaluation | None,
    layers: dict[str, list[float | None]],
    **fields,
) -> SweepCell:
    """One cell: ``fields`` (method, grid values, model_name, model_id, ...), its jobs by kind
    with their statuses, its run's ``layers``, its evaluation's metrics and system prompt (its
    evaluate job's while it has none). Every view of cells
    (a grid sweep, an intervention sweep, a set of models) builds them here."""
    asked = jobs["evaluate"].params if "evaluate" in jobs else {}
    if evaluation is not None:
        asked = evaluation.params
    return SweepCell(
        **fields,
        system_prompt=asked.get("system_prompt"),
        jobs={kind: job.id for kind, job in jobs.items()},
        status={kind: job.status for kind, job in jobs.items()},
        run_id=run.id if run else None,
        evaluation_id=evaluation.id if evaluation else None,
        metrics=evaluation.metrics if evaluation else None,
        layers=layers,
    )


def _cell(name: str, jobs: dict[str, Job], session, finetunes: dict[str, dict]) -> SweepCell:
    """One row: a cell's finetune (or dpo) and capture with one of its evaluate jobs (one per
    system prompt); a DPO cell shows the grid parameters of the SFT cell it trained on."""
    method = "dpo" if "dpo" in jobs else "sft"
    ft = finetunes[jobs["dpo"].params["base_model_name"]] if method == "dpo" else finetunes[name]
    run = session.scalar(select(Run).where(Run.job_id == jobs["capture_spectra"].id))
    evaluation = session.scalar(select(Evaluation).where(Evaluation.job_id == jobs["evaluate"].id))
    return make_cell(
        jobs,
        run,
        evaluation,
        layers_of(session, run),
        method=method,
        **grid_values(ft),
        model_name=name,
        model_id=session.scalar(select(Model.id).where(Model.name == name)),
    )


def _intervention_cells(session, sweep: Job, children: list[Job]) -> list[SweepCell]:
    """One row per evaluate job of an intervention sweep: its intervention (method ablation,
    steering, or none: the model as is) on the model, shown with the grid values of the
    fine-tune that made the model (p 0, lambda 0 for a model not fine-tuned); the layers are
    those of the direction's run (the given one or the sweep's capture)."""
    params = sweep.params
    capture = next((c for c in children if c.kind == "capture_spectra"), None)
    capture_job_id = capture.id if capture else params.get("capture_job_id")
    run = (
        session.get(Run, params["run_id"])
        if params.get("run_id")
        else session.scalar(select(Run).where(Run.job_id == capture_job_id))
        if capture_job_id
        else None
    )
    if params.get("model_id") is not None:
        model = session.get(Model, params["model_id"])
    else:
        model = session.scalar(select(Model).where(Model.name == params["model_name"]))
    lineage = (model.lineage or {}) if model else {}
    ft = lineage.get("params") or {} if lineage.get("kind") == "finetune" else {}
    layers = layers_of(session, run)
    cells = []
    for child in children:
        if child.kind != "evaluate":
            continue
        intervention = child.params.get("intervention")
        jobs = {"evaluate": child}
        if capture is not None and intervention:
            jobs = {"capture_spectra": capture, **jobs}
        evaluation = session.scalar(select(Evaluation).where(Evaluation.job_id == child.id))
        cells.append(
            make_cell(
                jobs,
                run,
                evaluation,
                layers,
                method=METHODS[intervention["kind"]] if intervention else "none",
                intervention=intervention,
                **grid_values(ft),
                model_name=model.name if model else params.get("model_name") or "?",
                model_id=model.id if model else None,
            )
        )
    return cells


def progress(sweep: Job, counts: Counter, first_start: datetime | None) -> SweepProgress:
    """The sweep's state over its own job and the jobs it queued (``counts``: theirs by status;
    ``first_start``: when the first began): running while any is queued or running (an expanded
    sweep with queued cells is not done), else failed or cancelled if any was; the ETA from the
    rate they have finished at since the first began."""
    open_jobs = counts[JobStatus.QUEUED] + counts[JobStatus.RUNNING]
    if sweep.status != JobStatus.SUCCEEDED:
        state = sweep.status
    elif open_jobs:
        state = JobStatus.RUNNING
    else:
        state = next(
            (s for s in (JobStatus.FAILED, JobStatus.CANCELLED) if counts[s]), JobStatus.SUCCEEDED
        )
    total = sum(counts.values())
    finished = total - open_jobs
    eta = None
    if open_jobs and finished and first_start is not None:
        eta = (utcnow() - first_start).total_seconds() / finished * open_jobs
    return SweepProgress(
        state=state,
        total=total,
        counts={status: counts[status] for status in JobStatus.ALL},
        eta_seconds=eta,
    )


def _progress_of(session: Session, sweeps: list[Job]) -> dict[int, SweepProgress]:
    """Each sweep's progress from one grouped count of the jobs they queued."""
    counts: dict[int, Counter] = defaultdict(Counter)
    starts: dict[int, datetime] = {}
    rows = session.execute(
        select(Job.parent_job_id, Job.status, func.count(), func.min(Job.started_at))
        .where(Job.parent_job_id.in_([s.id for s in sweeps]))
        .group_by(Job.parent_job_id, Job.status)
    )
    for parent, status, n, first in rows:
        counts[parent][status] = n
        if first is not None and (parent not in starts or first < starts[parent]):
            starts[parent] = first
    return {s.id: progress(s, counts[s.id], starts.get(s.id)) for s in sweeps}


def _children(session: Session, job_id: int) -> list[Job]:
    return list(session.scalars(select(Job).where(Job.parent_job_id == job_id).order_by(Job.id)))


def _values(values: list[float]) -> str:
    values = sorted(set(values))
    shown = [f"{v:g}" for v in values]
    return f"{shown[0]}-{shown[-1]}" if len(shown) > 3 else ", ".join(shown)


def _intervention_sweep_name(params: dict, model: str) -> str:
    """E.g. "sft-p0.4: as is, ablate, add alpha -1, 1 at layer 2"."""
    what = (["as is"] if params.get("baseline", True) else []) + (
        ["ablate"] if params.get("ablate", True) else []
    )
    if params.get("alphas"):
        what.append(f"add alpha {_values(params['alphas'])}")
    layers = params.get("layers") or []
    at = f"layer{'s' if len(layers) > 1 else ''} {_values(layers)}"
    return f"{model}: {', '.join(what)} at {at}"


def sweep_name(session: Session, sweep: Job) -> str:
    """Its base model and grid, e.g. "demo: p 0-0.4 x lambda 0, 1" (an intervention sweep:
    its model and interventions)."""
    params = sweep.params
    if sweep.kind == "intervention_sweep":
        model = params.get("model_name")
        if model is None:
            model = session.scalar(select(Model.name).where(Model.id == params.get("model_id")))
        return _intervention_sweep_name(params, model or "model ?")
    base = params.get("base_model_name")
    if base is None and params.get("base_model_id") is not None:
        base = session.scalar(select(Model.name).where(Model.id == params["base_model_id"]))
    grid = [f"p {_values(params.get('safety_fractions') or [0.0])}"]
    grid.append(f"lambda {_values(params.get('vcl_lambdas') or [0.0])}")
    if len(params.get("seeds") or [0]) > 1:
        grid.append(f"{len(params['seeds'])} seeds")
    if params.get("dpo"):
        grid.append("DPO")
    return f"{base or 'model ?'}: {' x '.join(grid)}"


@router.get("/sweeps", response_model=Page[SweepSummary])
def list_sweeps(
    session: SessionDep,
    state: str | None = Query(None, description=f"Only sweeps in this state: {JobStatus.ALL}"),
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0),
) -> Page[SweepSummary]:
    """Sweep jobs, newest first, with their names and progress; ``state`` filters on the
    progress' state (a sweep with queued cells is running)."""
    if state is not None and state not in JobStatus.ALL:
        raise HTTPException(422, f"state: must be one of {', '.join(JobStatus.ALL)}")
    query = select(Job).where(Job.kind.in_(SWEEP_KINDS)).order_by(Job.id.desc())
    if state is None:
        count = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        query = query.limit(limit).offset(offset)
    sweeps = list(session.scalars(query))
    progresses = _progress_of(session, sweeps)
    summaries = [
        SweepSummary(
            job=to_public(sweep, []),
            name=sweep_name(session, sweep),
            progress=progresses[sweep.id],
        )
        for sweep in sweeps
    ]
    if state is not None:  # the state comes from the children: filtered once computed
        summaries = [s for s in summaries if s.progress.state == state]
        count = len(summaries)
        summaries = summaries[offset : offset + limit]
    return Page(data=summaries, count=count)


def _grid_cells(session, children: list[Job]) -> list[SweepCell]:
    """A grid sweep's rows: its jobs grouped by the model they train or measure."""
    by_model: dict[str, dict[str, Job]] = defaultdict(dict)
    evaluations: dict[str, list[Job]] = defaultdict(list)
    for child in children:
        name = child.params.get("name") or child.params.get("model_name")
        if child.kind == "evaluate":
            evaluations[name].append(child)
        else:
            by_model[name][child.kind] = child
    finetunes = {n: jobs["finetune"].params for n, jobs in by_model.items() if "finetune" in jobs}
    return [
        _cell(name, {**jobs, "evaluate": evaluate}, session, finetunes)
        for name, jobs in by_model.items()
        if len(jobs) == 2
        for evaluate in evaluations[name]
    ]


@router.get("/sweeps/{job_id}", response_model=SweepPublic)
def read_sweep(job_id: int, session: SessionDep) -> SweepPublic:
    sweep = session.get(Job, job_id)
    if sweep is None:
        raise not_found("sweep", job_id)
    if sweep.kind not in SWEEP_KINDS:
        raise HTTPException(404, f"job {job_id} is a {sweep.kind} job, not a sweep")
    children = _children(session, job_id)
    if sweep.kind == "intervention_sweep":
        cells = _intervention_cells(session, sweep, children)
    else:
        cells = _grid_cells(session, children)
    return SweepPublic(
        job=to_public(sweep, []),
        name=sweep_name(session, sweep),
        cells=cells,
        progress=progress(
            sweep,
            Counter(c.status for c in children),
            min((c.started_at for c in children if c.started_at), default=None),
        ),
    )

"""Sweeps: one row per grid cell and system prompt, aggregated from the cell's finetune (or dpo),
capture and evaluate jobs."""

from __future__ import annotations

from collections import defaultdict

from fastapi import APIRouter, HTTPException
from sqlalchemy import select

from backend.api.deps import SessionDep, not_found
from backend.api.routes.jobs import to_public
from backend.metrics import Scope, metrics_for
from backend.models import Evaluation, Job, Model, Run, RunLayer
from backend.schemas import SweepCell, SweepPublic

router = APIRouter(tags=["sweeps"])
LAYER_METRICS = metrics_for(Scope.LAYER)


def _cell(name: str, jobs: dict[str, Job], session, finetunes: dict[str, dict]) -> SweepCell:
    """One row: a cell's finetune (or dpo) and capture with one of its evaluate jobs (one per
    system prompt); a DPO cell shows the grid parameters of the SFT cell it trained on."""
    method = "dpo" if "dpo" in jobs else "sft"
    ft = finetunes[jobs["dpo"].params["base_model_name"]] if method == "dpo" else finetunes[name]
    model_id = session.scalar(select(Model.id).where(Model.name == name))
    run = session.scalar(select(Run).where(Run.job_id == jobs["capture_spectra"].id))
    evaluation = session.scalar(select(Evaluation).where(Evaluation.job_id == jobs["evaluate"].id))
    layers = (
        session.scalars(
            select(RunLayer.values).where(RunLayer.run_id == run.id).order_by(RunLayer.layer)
        ).all()
        if run
        else []
    )
    vcl = ft["vcl_lambda"] > 0
    return SweepCell(
        method=method,
        safety_fraction=ft["safety_fraction"],
        vcl_lambda=ft["vcl_lambda"],
        vcl_sign=ft["vcl_sign"] if vcl else None,
        vcl_k=ft["vcl_k"] if vcl else None,
        seed=ft["seed"],
        system_prompt=jobs["evaluate"].params.get("system_prompt"),
        model_name=name,
        model_id=model_id,
        jobs={kind: job.id for kind, job in jobs.items()},
        status={kind: job.status for kind, job in jobs.items()},
        run_id=run.id if run else None,
        evaluation_id=evaluation.id if evaluation else None,
        metrics=evaluation.metrics if evaluation else None,
        layers={m.name: [values.get(m.name) for values in layers] for m in LAYER_METRICS},
    )


@router.get("/sweeps/{job_id}", response_model=SweepPublic)
def read_sweep(job_id: int, session: SessionDep) -> SweepPublic:
    sweep = session.get(Job, job_id)
    if sweep is None:
        raise not_found("sweep", job_id)
    if sweep.kind != "sweep":
        raise HTTPException(404, f"job {job_id} is a {sweep.kind} job, not a sweep")
    by_model: dict[str, dict[str, Job]] = defaultdict(dict)
    evaluations: dict[str, list[Job]] = defaultdict(list)
    for child in session.scalars(select(Job).where(Job.parent_job_id == job_id).order_by(Job.id)):
        name = child.params.get("name") or child.params.get("model_name")
        if child.kind == "evaluate":
            evaluations[name].append(child)
        else:
            by_model[name][child.kind] = child
    finetunes = {n: jobs["finetune"].params for n, jobs in by_model.items() if "finetune" in jobs}
    cells = [
        _cell(name, {**jobs, "evaluate": evaluate}, session, finetunes)
        for name, jobs in by_model.items()
        if len(jobs) == 2
        for evaluate in evaluations[name]
    ]
    return SweepPublic(job=to_public(sweep, []), cells=cells)

"""``sweep``: expand a grid over safety fraction x VCL settings x seeds into a DAG of child jobs,
one cell = finetune -> capture_spectra (probe set, aligned to the p=0 cell) -> evaluate (one per
system prompt)."""

from __future__ import annotations

import itertools

from sqlalchemy import select

from backend import queue
from backend.jobs.params import CaptureSpectraParams, EvaluateParams, FinetuneParams, SweepParams
from backend.models import Dataset, Job
from worker.context import JobContext, JobError


def cells(params: SweepParams) -> list[dict]:
    """The grid's cells; without VCL (lambda 0) sign and k do not matter: one cell each."""
    seen, out = set(), []
    for seed, p, lam, sign, k in itertools.product(
        params.seeds, params.safety_fractions, params.vcl_lambdas, params.vcl_signs, params.vcl_ks
    ):
        cell = {"seed": seed, "safety_fraction": p, "vcl_lambda": lam}
        cell |= {"vcl_sign": sign, "vcl_k": k} if lam > 0 else {}
        key = tuple(sorted(cell.items()))
        if key not in seen:
            seen.add(key)
            out.append(cell)
    return out


def cell_name(sweep_id: int, cell: dict) -> str:
    vcl = f"-{cell['vcl_sign']}-k{cell['vcl_k']}" if cell["vcl_lambda"] > 0 else ""
    return (
        f"sweep{sweep_id}-p{cell['safety_fraction']:g}-l{cell['vcl_lambda']:g}{vcl}-s{cell['seed']}"
    )


def _dataset_ids(session, params: SweepParams) -> dict[str, int | None]:
    ids = {}
    for field in ("general_dataset", "safety_dataset", "probe_dataset", "heldout_dataset"):
        name = getattr(params, field)
        if name is None:
            ids[field] = None
            continue
        ids[field] = session.scalar(select(Dataset.id).where(Dataset.name == name))
        if ids[field] is None:
            raise JobError(f"{field}: dataset {name!r} not found")
    return ids


def sweep(ctx: JobContext, params: SweepParams) -> dict:
    grid = cells(params)
    with ctx.transaction() as session:
        existing = session.scalar(select(Job.id).where(Job.parent_job_id == ctx.job_id).limit(1))
        if existing is not None:  # a re-run after a lost lease: already expanded
            return {"cells": len(grid)}
        ids = _dataset_ids(session, params)
        references: dict[int, int] = {}  # seed -> capture job of its p=0, lambda=0 cell
        ordered = sorted(grid, key=lambda c: (c["safety_fraction"] > 0, c["vcl_lambda"] > 0))
        for cell in ordered:
            name = cell_name(ctx.job_id, cell)
            finetune = FinetuneParams(
                **params.finetune,
                **cell,
                name=name,
                base_model_id=params.base_model_id,
                base_model_name=params.base_model_name,
                general_dataset_id=ids["general_dataset"],
                safety_dataset_id=ids["safety_dataset"],
            )
            ft = queue.enqueue(session, "finetune", finetune.model_dump(), parent_job_id=ctx.job_id)
            reference = references.get(cell["seed"])
            capture = CaptureSpectraParams(
                model_name=name,
                dataset_id=ids["probe_dataset"],
                bootstrap=params.bootstrap,
                reference_job_id=reference,
                seed=cell["seed"],
            )
            cap = queue.enqueue(
                session,
                "capture_spectra",
                capture.model_dump(),
                depends_on=[ft.id, *([reference] if reference else [])],
                parent_job_id=ctx.job_id,
            )
            if reference is None:
                references[cell["seed"]] = cap.id
            for system_prompt in params.system_prompts:  # the same model with and without
                evaluate = EvaluateParams(
                    model_name=name,
                    probe_dataset_id=ids["probe_dataset"],
                    heldout_dataset_id=ids["heldout_dataset"],
                    max_new_tokens=params.max_new_tokens,
                    system_prompt=system_prompt,
                )
                queue.enqueue(
                    session,
                    "evaluate",
                    evaluate.model_dump(),
                    depends_on=[ft.id],
                    parent_job_id=ctx.job_id,
                )
    return {"cells": len(grid)}

"""``sweep``: expand a grid over safety fraction x VCL settings x seeds into a DAG of child jobs,
one cell = finetune -> capture_spectra (probe set, aligned to the p=0 cell) -> evaluate (one per
system prompt); with ``dpo``, beside each SFT cell with p > 0 and lambda 0 a DPO cell:
preference_data -> dpo on the SFT model -> capture_spectra -> evaluate."""

from __future__ import annotations

import itertools
from collections.abc import Iterable

from pydantic import BaseModel
from sqlalchemy import select

from backend import queue
from backend.jobs.params.evaluation import EvaluateParams, SweepParams
from backend.jobs.params.geometry import CaptureSpectraParams
from backend.jobs.params.training import DPOParams, FinetuneParams, PreferenceDataParams
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


def _child(
    session, sweep_id: int, kind: str, params: BaseModel, depends_on: Iterable[int] = ()
) -> int:
    """Queue a ``kind`` job with ``params`` as a child of the sweep; its id."""
    job = queue.enqueue(
        session, kind, params.model_dump(), depends_on=depends_on, parent_job_id=sweep_id
    )
    return job.id


def expanded(session, sweep_id: int) -> bool:
    """Whether the sweep has queued its jobs already (a re-run after a lost lease)."""
    return session.scalar(select(Job.id).where(Job.parent_job_id == sweep_id).limit(1)) is not None


def sweep(ctx: JobContext, params: SweepParams) -> dict:
    grid = cells(params)
    with ctx.transaction() as session:
        if expanded(session, ctx.job_id):
            return {"cells": len(grid)}
        ids = _dataset_ids(session, params)
        references: dict[int, int] = {}  # seed -> capture job of its p=0, lambda=0 cell
        pairs: dict[str, int] = {}  # preference dataset name -> its preference_data job
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
                **({"geometry_dataset_id": ids["probe_dataset"]} if params.geometry else {}),
            )
            ft_id = _child(session, ctx.job_id, "finetune", finetune)
            _measure(session, ctx.job_id, params, ids, name, cell["seed"], ft_id, references)
            if params.dpo and cell["safety_fraction"] > 0 and cell["vcl_lambda"] == 0:
                _dpo_cell(
                    session, ctx.job_id, params, ids, name, cell["seed"], ft_id, references, pairs
                )
    return {"cells": len(grid)}


def _measure(session, sweep_id, params, ids, name, seed, trained_id, references) -> None:
    """capture_spectra (aligned to the seed's first capture) and one evaluate per system prompt
    of the model ``name`` that job ``trained_id`` registers."""
    reference = references.get(seed)
    capture = CaptureSpectraParams(
        model_name=name,
        dataset_id=ids["probe_dataset"],
        bootstrap=params.bootstrap,
        reference_job_id=reference,
        seed=seed,
    )
    depends_on = [trained_id, *([reference] if reference else [])]
    cap_id = _child(session, sweep_id, "capture_spectra", capture, depends_on)
    if reference is None:
        references[seed] = cap_id
    for system_prompt in params.system_prompts:  # the same model with and without
        evaluate = EvaluateParams(
            model_name=name,
            probe_dataset_id=ids["probe_dataset"],
            heldout_dataset_id=ids["heldout_dataset"],
            max_new_tokens=params.max_new_tokens,
            system_prompt=system_prompt,
        )
        _child(session, sweep_id, "evaluate", evaluate, [trained_id])


def _dpo_cell(session, sweep_id, params, ids, sft_name, seed, ft_id, references, pairs_jobs):
    """preference_data (the sweep's one with a named teacher, else on-policy from the SFT model)
    -> dpo on top of the SFT model -> capture and evaluate, beside the SFT cell."""
    teacher = params.dpo_teacher or sft_name
    pairs_name = f"sweep{sweep_id}-pairs" if params.dpo_teacher else f"{sft_name}-pairs"
    pairs_job = pairs_jobs.get(pairs_name)
    if pairs_job is None:
        preference = PreferenceDataParams(
            **{"max_new_tokens": params.max_new_tokens, **params.preference_params},
            teacher_model_name=teacher,
            prompt_dataset_ids=[ids["general_dataset"], ids["safety_dataset"]],
            seed=seed,
            name=pairs_name,
        )
        depends_on = [] if params.dpo_teacher else [ft_id]
        pairs_job = _child(session, sweep_id, "preference_data", preference, depends_on)
        pairs_jobs[pairs_name] = pairs_job
    name = f"{sft_name}-dpo"
    dpo = DPOParams(
        **params.dpo_params, base_model_name=sft_name, dataset_name=pairs_name, seed=seed, name=name
    )
    job_id = _child(session, sweep_id, "dpo", dpo, [pairs_job, ft_id])
    _measure(session, sweep_id, params, ids, name, seed, job_id, references)

"""The frontier across methods: one row per evaluation, its false-refusal rate against its unsafe
refusal (safety) and held-out loss, with the method that made it, named from the model's lineage
and the evaluation's intervention:

- an evaluation whose params carry ``intervention`` {run_id, layer, kind, alpha}: ``ablation``
  (kind ablate) or ``steering`` (kind add, alpha), "... on <the model's method>" when the model is
  not a base model;
- else the model's lineage: ``DPO`` (beta, "on <its parent's method>" when that is a fine-tune),
  ``SFT + VCL`` (share p, lambda, sign) or ``SFT`` (share p); ``base`` for a model trained by no
  fine-tune here; ``imported`` for an imported evaluation (no model).

A fine-tune's parameters are its lineage's ``params`` (as the finetune job stores them) or the
lineage itself (a lineage of parameters only).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import load_only

from backend.api.deps import SessionDep
from backend.models import Dataset, Evaluation, Model

router = APIRouter(tags=["frontier"])


class FrontierPoint(BaseModel):
    evaluation_id: int
    model_id: int | None
    model_name: str | None
    base_model_id: int | None = Field(description="The root of the model's lineage.")
    base_model_name: str | None
    dataset_id: int = Field(description="The probe set.")
    dataset_name: str
    system_prompt: str | None
    method: str = Field(description="base, SFT, SFT + VCL, DPO, ablation, steering or imported.")
    method_label: str = Field(description="The method with its parameters, e.g. 'SFT p=0.2'.")
    method_params: dict[str, Any] = Field(
        description="safety_fraction, vcl_lambda, vcl_sign, beta; layer, alpha, run_id of an "
        "intervention (those the method has)."
    )
    false_refusal_rate: float | None
    safety: float | None = Field(description="Refused share of the unsafe prompts.")
    heldout_loss: float | None
    intervention_kl: float | None = Field(description="An intervention's KL cost.")
    created_at: datetime


class Named(BaseModel):
    id: int
    name: str


class Frontier(BaseModel):
    data: list[FrontierPoint]
    base_models: list[Named] = Field(description="Every base model of the unfiltered rows.")
    datasets: list[Named] = Field(description="Every probe set of the unfiltered rows.")


def training(model: Model) -> tuple[str, dict[str, Any]]:
    """(kind, parameters) of the job that trained ``model``: finetune, dpo or base."""
    lineage = model.lineage or {}
    kind = lineage.get("kind") or ("finetune" if model.source == "finetune" else "base")
    return (kind if kind in ("finetune", "dpo") else "base"), lineage.get("params") or lineage


def model_method(model: Model, models: dict[int, Model]) -> tuple[str, str, dict[str, Any]]:
    """(method, label, parameters) of a model from its lineage."""
    kind, params = training(model)
    if kind == "dpo":
        beta = params.get("beta")
        label = "DPO" if beta is None else f"DPO β={beta:g}"
        parent = models.get(model.parent_id)
        if parent is not None and training(parent)[0] == "finetune":
            label += f" on {model_method(parent, models)[1]}"
        return "DPO", label, {"beta": beta}
    if kind == "finetune":
        p, lam = params.get("safety_fraction"), params.get("vcl_lambda") or 0.0
        share = "SFT" if p is None else f"SFT p={p:g}"
        if lam > 0:
            sign = params.get("vcl_sign") or "penalise"
            values = {"safety_fraction": p, "vcl_lambda": lam, "vcl_sign": sign}
            return "SFT + VCL", f"{share}, VCL λ={lam:g} {sign}", values
        return "SFT", share, {"safety_fraction": p}
    return "base", "base", {}


def evaluation_method(
    evaluation: Evaluation, models: dict[int, Model]
) -> tuple[str, str, dict[str, Any]]:
    """(method, label, parameters) of an evaluation: its intervention's, else its model's."""
    model = models.get(evaluation.model_id)
    if model is None:
        return "imported", "imported", {}
    method, label, params = model_method(model, models)
    intervention = (evaluation.params or {}).get("intervention")
    if not intervention:
        return method, label, params
    layer, alpha = intervention.get("layer"), intervention.get("alpha")
    if intervention.get("kind") == "ablate":
        kind, what = "ablation", f"ablation (layer {layer})"
    else:
        kind, what = "steering", f"steering α={alpha:+g} (layer {layer})"
    on = "" if method == "base" else f" on {label}"
    values = {"layer": layer, "run_id": intervention.get("run_id")}
    return kind, what + on, values | ({"alpha": alpha} if kind == "steering" else {})


def base_of(model: Model, models: dict[int, Model]) -> Model:
    """The root of ``model``'s lineage (itself when it has no parent)."""
    seen = {model.id}
    while model.parent_id in models and model.parent_id not in seen:
        model = models[model.parent_id]
        seen.add(model.id)
    return model


@router.get("/frontier", response_model=Frontier)
def read_frontier(
    session: SessionDep,
    base_model_id: int | None = Query(None, ge=1, description="Only models descended from it."),
    dataset_id: int | None = Query(None, ge=1, description="Only evaluations on this probe set."),
) -> Frontier:
    """Every evaluation as a point of the frontier, oldest first."""
    models = {m.id: m for m in session.scalars(select(Model))}
    datasets = dict(session.execute(select(Dataset.id, Dataset.name)).all())
    rows, bases, sets = [], {}, {}
    columns = load_only(
        Evaluation.model_id,
        Evaluation.dataset_id,
        Evaluation.params,
        Evaluation.metrics,
        Evaluation.created_at,
    )
    for evaluation in session.scalars(select(Evaluation).options(columns).order_by(Evaluation.id)):
        model = models.get(evaluation.model_id)
        base = base_of(model, models) if model is not None else None
        if base is not None:
            bases[base.id] = base.name
        sets[evaluation.dataset_id] = datasets.get(evaluation.dataset_id, "")
        if base_model_id is not None and (base is None or base.id != base_model_id):
            continue
        if dataset_id is not None and evaluation.dataset_id != dataset_id:
            continue
        method, label, params = evaluation_method(evaluation, models)
        metrics = evaluation.metrics or {}
        rows.append(
            FrontierPoint(
                evaluation_id=evaluation.id,
                model_id=evaluation.model_id,
                model_name=model.name if model else None,
                base_model_id=base.id if base else None,
                base_model_name=base.name if base else None,
                dataset_id=evaluation.dataset_id,
                dataset_name=sets[evaluation.dataset_id],
                system_prompt=(evaluation.params or {}).get("system_prompt"),
                method=method,
                method_label=label,
                method_params=params,
                false_refusal_rate=metrics.get("false_refusal_rate"),
                safety=metrics.get("safety"),
                heldout_loss=metrics.get("heldout_loss"),
                intervention_kl=metrics.get("intervention_kl"),
                created_at=evaluation.created_at,
            )
        )
    return Frontier(
        data=rows,
        base_models=[Named(id=i, name=n) for i, n in sorted(bases.items())],
        datasets=[Named(id=i, name=n) for i, n in sorted(sets.items())],
    )

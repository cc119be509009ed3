"""Evaluations (false refusal, safety, f1, per type) and their labelled completions."""

from __future__ import annotations

from fastapi import APIRouter, Query
from sqlalchemy import func, select

from backend.api.deps import SessionDep, not_found
from backend.models import Completion, Evaluation
from backend.schemas import CompletionPublic, EvaluationPublic, Page

router = APIRouter(tags=["evaluations"])


@router.get("/evaluations", response_model=Page[EvaluationPublic])
def list_evaluations(
    session: SessionDep,
    model_id: int | None = None,
    limit: int = Query(100, ge=1, le=1000),
    offset: int = Query(0, ge=0),
) -> Page[EvaluationPublic]:
    query = select(Evaluation)
    if model_id is not None:
        query = query.where(Evaluation.model_id == model_id)
    count = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Evaluation.id.desc()).limit(limit).offset(offset))
    return Page(data=[EvaluationPublic.model_validate(e) for e in rows], count=count)


@router.get("/evaluations/{evaluation_id}", response_model=EvaluationPublic)
def read_evaluation(evaluation_id: int, session: SessionDep) -> EvaluationPublic:
    evaluation = session.get(Evaluation, evaluation_id)
    if evaluation is None:
        raise not_found("evaluation", evaluation_id)
    return EvaluationPublic.model_validate(evaluation)


@router.get("/evaluations/{evaluation_id}/completions", response_model=Page[CompletionPublic])
def read_completions(
    evaluation_id: int,
    session: SessionDep,
    type: str | None = None,
    verdict: str | None = None,
    label: str | None = None,
    limit: int = Query(100, ge=1, le=2000),
    offset: int = Query(0, ge=0),
) -> Page[CompletionPublic]:
    if session.get(Evaluation, evaluation_id) is None:
        raise not_found("evaluation", evaluation_id)
    query = select(Completion).where(Completion.evaluation_id == evaluation_id)
    for column, value in (
        (Completion.type, type),
        (Completion.verdict, verdict),
        (Completion.label, label),
    ):
        if value:
            query = query.where(column == value)
    count = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Completion.idx).limit(limit).offset(offset))
    return Page(data=[CompletionPublic.model_validate(c) for c in rows], count=count)

"""Evaluations (false refusal, safety, f1, per type) and their labelled completions."""

from __future__ import annotations

from fastapi import APIRouter, Query
from sqlalchemy import select

from backend.api.deps import SessionDep, get_or_404, paginate, where_given
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
    query = where_given(select(Evaluation), (Evaluation.model_id, model_id))
    return paginate(session, query, EvaluationPublic, Evaluation.id.desc(), limit, offset)


@router.get("/evaluations/{evaluation_id}", response_model=EvaluationPublic)
def read_evaluation(evaluation_id: int, session: SessionDep) -> EvaluationPublic:
    evaluation = get_or_404(session, Evaluation, evaluation_id, "evaluation")
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
    get_or_404(session, Evaluation, evaluation_id, "evaluation")
    query = where_given(
        select(Completion).where(Completion.evaluation_id == evaluation_id),
        (Completion.type, type),
        (Completion.verdict, verdict),
        (Completion.label, label),
    )
    return paginate(session, query, CompletionPublic, Completion.idx, limit, offset)

"""Evaluations (false refusal, safety, f1, per type) and their labelled completions."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Query, Request, Response
from pydantic import TypeAdapter
from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from backend.api.deps import (
    REVALIDATE,
    PagingDep,
    SessionDep,
    get_or_404,
    json_answer,
    paginate,
    where_given,
)
from backend.models import Completion, Evaluation, Verdict
from backend.schemas import (
    ClassifierAgreement,
    CompletionPublic,
    CompletionVerdicts,
    EvaluationPublic,
    EvaluationVerdicts,
    Page,
    VerdictPublic,
)
from backend.stats import agreement, cohen_kappa, confusion_matrix

router = APIRouter(tags=["evaluations"])
# An evaluation and its completions gain verdicts later (reclassify; an imported evaluation's own
# classifier rewrites theirs): answered with a strong ETag and "no-cache", 304 when unchanged.
COMPLETIONS = TypeAdapter(Page[CompletionPublic])


@router.get("/evaluations", response_model=Page[EvaluationPublic])
def list_evaluations(
    session: SessionDep, paging: PagingDep, model_id: int | None = None
) -> Page[EvaluationPublic]:
    query = where_given(select(Evaluation), (Evaluation.model_id, model_id))
    order = Evaluation.id.desc()
    return paginate(session, query, EvaluationPublic, order, paging.limit, paging.offset)


@router.get("/evaluations/{evaluation_id}", response_model=EvaluationPublic)
def read_evaluation(evaluation_id: int, session: SessionDep, request: Request) -> Response:
    evaluation = get_or_404(session, Evaluation, evaluation_id, "evaluation")
    body = EvaluationPublic.model_validate(evaluation).model_dump_json().encode()
    return json_answer(request, body, REVALIDATE)


@router.get("/evaluations/{evaluation_id}/completions", response_model=Page[CompletionPublic])
def read_completions(
    evaluation_id: int,
    session: SessionDep,
    request: Request,
    type: str | None = None,
    verdict: str | None = None,
    label: str | None = None,
    disagree: str | None = Query(
        None, description="'a,b': only completions that classifiers a and b judge differently."
    ),
    score_disagrees: float | None = Query(
        None,
        description="A threshold t: only completions whose verdict (refused or not) differs "
        "from refusal_score > t (those without a refusal score are left out).",
        allow_inf_nan=False,
    ),
    limit: int = Query(100, ge=1, le=2000),
    offset: int = Query(0, ge=0),
) -> Response:
    get_or_404(session, Evaluation, evaluation_id, "evaluation")
    query = where_given(
        select(Completion).where(Completion.evaluation_id == evaluation_id),
        (Completion.type, type),
        (Completion.verdict, verdict),
        (Completion.label, label),
    )
    if disagree:
        query = _disagreeing(query, disagree)
    if score_disagrees is not None:
        refused = Completion.verdict.in_(("full_refusal", "partial_refusal"))
        query = query.where(
            (refused & (Completion.refusal_score <= score_disagrees))
            | (~refused & (Completion.refusal_score > score_disagrees))
        )
    page = paginate(session, query, CompletionPublic, Completion.idx, limit, offset)
    return json_answer(request, COMPLETIONS.dump_json(page), REVALIDATE)


# --- verdicts of several classifiers (reclassify) -------------------------------------------

VERDICTS = ("full_compliance", "full_refusal", "partial_refusal", "unparsed")


def _disagreeing(query, pair: str):
    """``query`` of completions narrowed to those the two classifiers in "a,b" judge
    differently (a completion without a verdict of either is left out)."""
    names = [n.strip() for n in pair.split(",")]
    if len(names) != 2 or not all(names):
        raise HTTPException(status_code=422, detail="disagree: give two classifiers as 'a,b'")
    va, vb = aliased(Verdict), aliased(Verdict)
    return (
        query.join(va, (va.completion_id == Completion.id) & (va.classifier == names[0]))
        .join(vb, (vb.completion_id == Completion.id) & (vb.classifier == names[1]))
        .where(va.verdict != vb.verdict)
    )


def _verdict_rows(session: Session, evaluation_id: int):
    return session.execute(
        select(Completion.id, Completion.idx, Verdict.classifier, Verdict.verdict, Verdict.rule)
        .join(Verdict, Verdict.completion_id == Completion.id)
        .where(Completion.evaluation_id == evaluation_id)
        .order_by(Completion.idx, Verdict.classifier)
    )


@router.get("/evaluations/{evaluation_id}/verdicts", response_model=EvaluationVerdicts)
def read_verdicts(evaluation_id: int, session: SessionDep) -> EvaluationVerdicts:
    """Every classifier's verdict and rule per completion, and each classifier's metrics."""
    evaluation = get_or_404(session, Evaluation, evaluation_id, "evaluation")
    own = evaluation.params.get("classifier", "rules")
    by_completion: dict[int, CompletionVerdicts] = {}
    for cid, idx, classifier, verdict, rule in _verdict_rows(session, evaluation_id):
        row = by_completion.setdefault(
            cid, CompletionVerdicts(completion_id=cid, idx=idx, verdicts={})
        )
        row.verdicts[classifier] = VerdictPublic(verdict=verdict, rule=rule)
    present = {c for row in by_completion.values() for c in row.verdicts}
    return EvaluationVerdicts(
        evaluation_id=evaluation_id,
        classifier=own,
        classifiers=sorted(present, key=lambda c: (c != own, c)),
        classifier_metrics=evaluation.classifier_metrics,
        completions=list(by_completion.values()),
    )


@router.get("/evaluations/{evaluation_id}/agreement", response_model=ClassifierAgreement)
def read_agreement(
    evaluation_id: int,
    session: SessionDep,
    a: str = Query(description="A classifier with verdicts on this evaluation (the rows)."),
    b: str = Query(description="Another one (the columns)."),
) -> ClassifierAgreement:
    """The 4x4 agreement matrix (three classes and unparsed) of two classifiers over the
    completions both judged, the share they agree on, and Cohen's kappa."""
    get_or_404(session, Evaluation, evaluation_id, "evaluation")
    verdicts: dict[str, dict[int, str]] = {a: {}, b: {}}
    for cid, _, classifier, verdict, _ in _verdict_rows(session, evaluation_id):
        if classifier in verdicts:
            verdicts[classifier][cid] = verdict
    for name in (a, b):
        if not verdicts[name]:
            raise HTTPException(
                status_code=404, detail=f"classifier {name!r} has no verdicts on this evaluation"
            )
    both = sorted(verdicts[a].keys() & verdicts[b].keys())
    xs, ys = [verdicts[a][c] for c in both], [verdicts[b][c] for c in both]
    return ClassifierAgreement(
        evaluation_id=evaluation_id,
        a=a,
        b=b,
        labels=list(VERDICTS),
        matrix=confusion_matrix(xs, ys, VERDICTS),
        n=len(both),
        agreement=agreement(xs, ys),
        kappa=cohen_kappa(xs, ys, VERDICTS),
    )

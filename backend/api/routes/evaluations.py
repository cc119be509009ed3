"""Evaluations (false refusal, safety, f1, per type) and their labelled completions.

An evaluation gains verdicts after it is written (reclassify; an imported evaluation's own
classifier gives its completions theirs), and every such change is an update of its row, which
bumps ``Evaluation.version``. Its answers (the evaluation, pages of its completions, its
verdicts) are cached in-process under its id, version and creation time (an evaluate job's
retry replaces its evaluation, and SQLite may give the new row the same id): a hit costs one
primary-key read of those two columns, and a reclassified evaluation is read anew. Answered with
a strong ETag and "no-cache" (clients revalidate: 304 while unchanged).
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, HTTPException, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import TypeAdapter
from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from backend.api.deps import (
    REVALIDATE,
    PagingDep,
    SessionDep,
    cached_result,
    count_of,
    get_or_404,
    json_answer,
    not_found,
    paginate,
    read_in_thread,
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
COMPLETIONS = TypeAdapter(Page[CompletionPublic])


async def _cached(
    request: Request, evaluation_id: int, part: tuple, load: Callable[[Session], bytes]
) -> Response:
    """``load(session)``'s JSON answer about the evaluation, cached under its current version
    (404 when there is no such evaluation)."""

    def version(session: Session):
        query = select(Evaluation.version, Evaluation.created_at)
        return session.execute(query.where(Evaluation.id == evaluation_id)).first()

    current = await read_in_thread(request, version)
    if current is None:
        raise not_found("evaluation", evaluation_id)

    def loaded(session: Session) -> bytes | None:
        return None if session.get(Evaluation, evaluation_id) is None else load(session)

    key = ("evaluations", evaluation_id, *current, *part)
    answer = await cached_result(request, key, loaded)
    if answer is None:  # deleted meanwhile
        raise not_found("evaluation", evaluation_id)
    return json_answer(request, answer, REVALIDATE)


@router.get("/evaluations", response_model=Page[EvaluationPublic])
def list_evaluations(
    session: SessionDep, paging: PagingDep, model_id: int | None = None
) -> StreamingResponse:
    query = where_given(select(Evaluation), (Evaluation.model_id, model_id))
    order = Evaluation.id.desc()
    return paginate(session, query, EvaluationPublic, order, paging.limit, paging.offset)


@router.get("/evaluations/{evaluation_id}", response_model=EvaluationPublic)
async def read_evaluation(evaluation_id: int, request: Request) -> Response:
    def load(session: Session) -> bytes:
        evaluation = session.get(Evaluation, evaluation_id)
        return EvaluationPublic.model_validate(evaluation).model_dump_json().encode()

    return await _cached(request, evaluation_id, ("evaluation",), load)


@router.get("/evaluations/{evaluation_id}/completions", response_model=Page[CompletionPublic])
async def read_completions(
    evaluation_id: int,
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

    def load(session: Session) -> bytes:
        count = count_of(session, query)
        rows = session.scalars(query.order_by(Completion.idx).limit(limit).offset(offset))
        data = [CompletionPublic.model_validate(r) for r in rows]
        return COMPLETIONS.dump_json(Page(data=data, count=count))

    part = ("completions", type, verdict, label, disagree, score_disagrees, limit, offset)
    return await _cached(request, evaluation_id, part, load)


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
async def read_verdicts(evaluation_id: int, request: Request) -> Response:
    """Every classifier's verdict and rule per completion, and each classifier's metrics."""

    def load(session: Session) -> bytes:
        evaluation = session.get(Evaluation, evaluation_id)
        own = evaluation.params.get("classifier", "rules")
        by_completion: dict[int, CompletionVerdicts] = {}
        for cid, idx, classifier, verdict, rule in _verdict_rows(session, evaluation_id):
            row = by_completion.setdefault(
                cid, CompletionVerdicts(completion_id=cid, idx=idx, verdicts={})
            )
            row.verdicts[classifier] = VerdictPublic(verdict=verdict, rule=rule)
        present = {c for row in by_completion.values() for c in row.verdicts}
        verdicts = EvaluationVerdicts(
            evaluation_id=evaluation_id,
            classifier=own,
            classifiers=sorted(present, key=lambda c: (c != own, c)),
            classifier_metrics=evaluation.classifier_metrics,
            completions=list(by_completion.values()),
        )
        return verdicts.model_dump_json().encode()

    return await _cached(request, evaluation_id, ("verdicts",), load)


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

"""Human labels of completions: write, list, agreement with a classifier, XSTest-format CSV
export and import (docs/classifier.md, "Human labels").

A completion's human label is its labellers' common verdict when they agree, else the first
labeller's (the earliest label). The labeller is the API token's name, or "local" where writes
need no token.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from typing import Annotated

from fastapi import APIRouter, File, HTTPException, Query, Request, Response, UploadFile
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from backend import dataset_import
from backend.api.deps import SessionDep, WriteSessionDep, get_or_404, not_found
from backend.dataset_import import VERDICTS, ImportFormatError, ImportTooLarge, Limits
from backend.models import Completion, Evaluation, HumanLabel, Verdict, utcnow
from backend.schemas import (
    CompletionLabels,
    CorrectedRate,
    HumanAgreement,
    HumanLabelPublic,
    LabelImport,
    LabelUpdate,
    RateInterval,
)
from backend.stats import (
    agreement,
    cohen_kappa,
    confusion_matrix,
    stratified_rate,
    wilson_interval,
)

router = APIRouter(tags=["labels"])
LIMITS = Limits()
REFUSED = ("full_refusal", "partial_refusal")
LOCAL = "local"
CSV_COLUMNS = [
    "id",
    "type",
    "prompt",
    "completion",
    "annotation_1",
    "annotation_2",
    "agreement",
    "final_label",
]


def labeller_of(request: Request) -> str:
    """The name of the token the request was let in with, or "local" (writes need no token)."""
    return getattr(request.state, "token_name", None) or LOCAL


def human_label(verdicts: list[str]) -> str | None:
    """The labels' common verdict, else the first one's (``verdicts`` oldest first): either
    way the first."""
    return verdicts[0] if verdicts else None


def own_classifier(evaluation: Evaluation) -> str:
    return (evaluation.params or {}).get("classifier", "rules")


def labels_by_completion(
    session: Session, evaluation_id: int, labeller: str | None = None
) -> dict[int, list[HumanLabel]]:
    query = (
        select(HumanLabel)
        .join(Completion, Completion.id == HumanLabel.completion_id)
        .where(Completion.evaluation_id == evaluation_id)
        .order_by(HumanLabel.created_at, HumanLabel.id)
    )
    if labeller:
        query = query.where(HumanLabel.labeller == labeller)
    out: dict[int, list[HumanLabel]] = defaultdict(list)
    for row in session.scalars(query):
        out[row.completion_id].append(row)
    return out


def verdicts_by_completion(session: Session, evaluation: Evaluation) -> dict[int, dict[str, str]]:
    """completion id -> {classifier: verdict}, from the Verdict table; the evaluation's own
    classifier falls back to the completion's verdict where the table has no row for it."""
    out: dict[int, dict[str, str]] = {}
    own = own_classifier(evaluation)
    for cid, verdict in session.execute(
        select(Completion.id, Completion.verdict).where(Completion.evaluation_id == evaluation.id)
    ):
        out[cid] = {own: verdict}
    rows = session.execute(
        select(Verdict.completion_id, Verdict.classifier, Verdict.verdict)
        .join(Completion, Completion.id == Verdict.completion_id)
        .where(Completion.evaluation_id == evaluation.id)
    )
    for cid, classifier, verdict in rows:
        out[cid][classifier] = verdict
    return out


@router.put("/completions/{completion_id}/label", response_model=HumanLabelPublic)
def put_label(
    completion_id: int, body: LabelUpdate, request: Request, session: WriteSessionDep
) -> HumanLabelPublic:
    """Your label of the completion (one per completion and labeller: a new label replaces it)."""
    get_or_404(session, Completion, completion_id, "completion")
    labeller = labeller_of(request)
    row = session.scalar(
        select(HumanLabel).where(
            HumanLabel.completion_id == completion_id, HumanLabel.labeller == labeller
        )
    )
    if row is None:
        row = HumanLabel(completion_id=completion_id, labeller=labeller, verdict=body.verdict)
        session.add(row)
    else:
        row.verdict, row.updated_at = body.verdict, utcnow()
    session.flush()
    return HumanLabelPublic.model_validate(row)


@router.delete("/completions/{completion_id}/label", status_code=204)
def delete_label(completion_id: int, request: Request, session: WriteSessionDep) -> Response:
    """Remove your label of the completion."""
    get_or_404(session, Completion, completion_id, "completion")
    labeller = labeller_of(request)
    gone = session.execute(
        delete(HumanLabel).where(
            HumanLabel.completion_id == completion_id, HumanLabel.labeller == labeller
        )
    )
    if gone.rowcount == 0:
        raise not_found(f"label by {labeller!r} of completion", completion_id)
    return Response(status_code=204)


@router.get("/evaluations/{evaluation_id}/labels", response_model=list[CompletionLabels])
def list_labels(
    evaluation_id: int, session: SessionDep, labelled: bool = False
) -> list[CompletionLabels]:
    """Every completion (in idx order; only labelled ones with ``labelled``) with its verdicts
    and human labels."""
    evaluation = get_or_404(session, Evaluation, evaluation_id, "evaluation")
    labels = labels_by_completion(session, evaluation_id)
    verdicts = verdicts_by_completion(session, evaluation)
    rows = session.execute(
        select(Completion.id, Completion.idx, Completion.type, Completion.label)
        .where(Completion.evaluation_id == evaluation_id)
        .order_by(Completion.idx)
    )
    return [
        CompletionLabels(
            completion_id=cid,
            idx=idx,
            type=type_,
            label=label,
            verdicts=verdicts[cid],
            labels=[HumanLabelPublic.model_validate(x) for x in labels[cid]],
            human=human_label([x.verdict for x in labels[cid]]),
        )
        for cid, idx, type_, label in rows
        if labels[cid] or not labelled
    ]


def rate(k: int, n: int) -> RateInterval:
    interval = wilson_interval(k, n)
    return RateInterval(
        k=k, n=n, rate=k / n if n else None, interval=list(interval) if interval else None
    )


@router.get("/evaluations/{evaluation_id}/human-agreement", response_model=HumanAgreement)
def human_agreement(
    evaluation_id: int,
    session: SessionDep,
    classifier: str | None = Query(None, description="Default: the evaluation's classifier."),
    labeller: str | None = Query(None, description="Only this labeller's labels."),
) -> HumanAgreement:
    """A classifier's agreement with the human labels, its false-refusal rate on the safe
    completions, the humans', and the classifier-corrected estimate (backend/stats.py)."""
    evaluation = get_or_404(session, Evaluation, evaluation_id, "evaluation")
    classifier = classifier or own_classifier(evaluation)
    verdicts = {
        cid: vs[classifier]
        for cid, vs in verdicts_by_completion(session, evaluation).items()
        if classifier in vs
    }
    if not verdicts:
        raise HTTPException(
            422,
            [
                {
                    "loc": ["query", "classifier"],
                    "msg": f"classifier {classifier!r} has no verdicts on evaluation "
                    f"{evaluation_id}",
                    "type": "value_error",
                }
            ],
        )
    prompt_label = dict(
        session.execute(
            select(Completion.id, Completion.label).where(Completion.evaluation_id == evaluation_id)
        ).all()
    )
    humans = {
        cid: human_label([x.verdict for x in rows])
        for cid, rows in labels_by_completion(session, evaluation_id, labeller).items()
        if cid in verdicts
    }
    ids = sorted(humans)
    human, judged = [humans[c] for c in ids], [verdicts[c] for c in ids]
    columns = list(VERDICTS) + sorted(set(verdicts.values()) - set(VERDICTS))
    safe = [c for c in verdicts if prompt_label[c] == "safe"]
    safe_labelled = [c for c in ids if prompt_label[c] == "safe"]
    corrected = stratified_rate(
        [verdicts[c] for c in safe], [(verdicts[c], humans[c] in REFUSED) for c in safe_labelled]
    )
    return HumanAgreement(
        evaluation_id=evaluation_id,
        classifier=classifier,
        labeller=labeller,
        n_labelled=len(ids),
        accuracy=agreement(human, judged),
        binary_accuracy=agreement([h in REFUSED for h in human], [v in REFUSED for v in judged]),
        kappa=cohen_kappa(human, judged, columns),
        human_labels=list(VERDICTS),
        classifier_labels=columns,
        confusion=confusion_matrix(human, judged, columns)[: len(VERDICTS)],
        classifier_frr=rate(sum(verdicts[c] in REFUSED for c in safe), len(safe)),
        human_frr=rate(sum(humans[c] in REFUSED for c in safe_labelled), len(safe_labelled)),
        corrected_frr=CorrectedRate(
            **{
                **corrected,
                "interval": list(corrected["interval"]) if corrected["interval"] else None,
            }
        ),
    )


def xstest_label(verdict: str | None) -> str:
    """XSTest's spelling of a verdict: 1_full_compliance, 2_full_refusal, 3_partial_refusal."""
    return f"{VERDICTS.index(verdict) + 1}_{verdict}" if verdict in VERDICTS else ""


@router.get("/evaluations/{evaluation_id}/labels.csv")
def export_labels(evaluation_id: int, session: SessionDep) -> Response:
    """The labelled completions as XSTest's completions CSV: annotation_1/2 = the first two
    labellers' labels, agreement = all labellers agree, final_label = the human label."""
    get_or_404(session, Evaluation, evaluation_id, "evaluation")
    labels = labels_by_completion(session, evaluation_id)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    completions = session.scalars(
        select(Completion)
        .where(Completion.evaluation_id == evaluation_id, Completion.id.in_(list(labels)))
        .order_by(Completion.idx)
    )
    for c in completions:
        vs = [x.verdict for x in labels[c.id]]
        first_two = [xstest_label(v) for v in vs[:2]] + [""] * (2 - len(vs[:2]))
        agree = len(set(vs)) == 1
        row = [c.idx, c.type, c.prompt, c.completion, *first_two, str(agree)]
        writer.writerow([*row, xstest_label(human_label(vs))])
    name = f"evaluation-{evaluation_id}-labels.csv"
    return Response(
        out.getvalue(),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def file_labels(data: bytes) -> list[tuple[int, str, str, str, dict[str, str]]]:
    """(line, id, prompt, completion, {labeller suffix: verdict}) per row of a completions CSV:
    its annotation_<k> columns as "annotation_<k>", else its final label as "" (the importer)."""
    try:
        rows = dataset_import.parse_completions(data, "csv", limits=LIMITS)
    except ImportTooLarge as exc:
        raise HTTPException(413, f"file: {exc}") from None
    except ImportFormatError as exc:
        raise HTTPException(400, f"file: {exc}") from None
    return [
        (
            row.line,
            row.ident,
            row.prompt,
            row.completion.strip(),
            row.annotations or ({"": row.verdict} if row.verdict else {}),
        )
        for row in rows
    ]


@router.post("/evaluations/{evaluation_id}/labels", response_model=LabelImport)
async def import_labels(
    evaluation_id: int,
    request: Request,
    session: WriteSessionDep,
    file: Annotated[UploadFile, File(description="XSTest-format completions CSV")],
    skip_unmatched: bool = Query(False, description="Import the rows that match; else none."),
) -> LabelImport:
    """Labels from a completions CSV, matched to the evaluation's completions by (prompt,
    completion) text (among equal completions, the one whose idx is the row's id, else the
    first not matched yet). A row's
    annotation_<k> columns become labellers "<you>:annotation_<k>"; a row without them gives
    its final_label as yours. All rows or none (unless ``skip_unmatched``)."""
    get_or_404(session, Evaluation, evaluation_id, "evaluation")
    rows = file_labels(await file.read(LIMITS.max_bytes + 1))
    free: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)  # text -> {idx: id}
    for cid, idx, prompt, text in session.execute(
        select(Completion.id, Completion.idx, Completion.prompt, Completion.completion)
        .where(Completion.evaluation_id == evaluation_id)
        .order_by(Completion.idx)
    ):
        free[(prompt.strip(), text.strip())][str(idx)] = cid
    matched, unmatched, unlabelled = [], [], []
    for line, ident, prompt, text, found in rows:
        equal = free.get((prompt, text))
        if not equal:
            unmatched.append(line)
            continue
        cid = equal.pop(ident if ident in equal else next(iter(equal)))
        if found:
            matched.append((cid, found))
        else:
            unlabelled.append(line)
    if unmatched and not skip_unmatched:
        shown = ", ".join(map(str, unmatched[:20])) + (" ..." if len(unmatched) > 20 else "")
        raise HTTPException(
            422,
            f"file: {len(unmatched)} rows match no completion of evaluation {evaluation_id} "
            f"(lines {shown}); nothing imported (skip_unmatched=true imports the others)",
        )
    me = labeller_of(request)
    existing = {
        (x.completion_id, x.labeller): x
        for rows_ in labels_by_completion(session, evaluation_id).values()
        for x in rows_
    }
    labellers, written, now = set(), 0, utcnow()
    for cid, found in matched:
        for suffix, verdict in found.items():
            labeller = f"{me}:{suffix}" if suffix else me
            labellers.add(labeller)
            row = existing.get((cid, labeller))
            if row is None:
                session.add(HumanLabel(completion_id=cid, labeller=labeller, verdict=verdict))
            else:
                row.verdict, row.updated_at = verdict, now
            written += 1
    return LabelImport(
        labels_written=written,
        completions=len(matched),
        labellers=sorted(labellers),
        unmatched_lines=unmatched,
        unlabelled_lines=unlabelled,
    )

"""``reclassify``: judge an evaluation's stored completions with another classifier.

No regeneration: the completions are read back and classified; that classifier's Verdict rows
are replaced (one per completion and classifier, however often it runs) and its metrics and
per-type table stored as ``Evaluation.classifier_metrics[classifier]``. The evaluation's own
verdicts (``Completion.verdict``) and ``metrics`` stay as its classifier gave them at evaluation
time, except for an imported evaluation (no model, no job), whose own classifier's first run is
what gives its completions their verdicts and the evaluation its metrics.
"""

from __future__ import annotations

from sqlalchemy import delete, select

from backend.jobs.params.evaluation import ReclassifyParams
from backend.models import Completion, Evaluation, Verdict
from worker.context import JobContext, JobError
from worker.jobs.common import load_registered_model
from worker.science.judges import resolve_classifier, verdict_metrics


def reclassify(ctx: JobContext, params: ReclassifyParams) -> dict:
    with ctx.transaction() as session:
        if session.get(Evaluation, params.evaluation_id) is None:
            raise JobError(f"evaluation {params.evaluation_id} not found")
        query = select(Completion).where(Completion.evaluation_id == params.evaluation_id)
        rows = [
            (c.id, c.prompt, c.completion, c.label, c.type, c.refusal_score)
            for c in session.scalars(query.order_by(Completion.idx))
        ]
    if not rows:
        raise JobError(f"evaluation {params.evaluation_id} has no completions")
    ids, prompts, completions, labels, types, scores = (
        list(col) for col in zip(*rows, strict=True)
    )
    try:
        classifier = resolve_classifier(
            params.classifier,
            lambda name: load_registered_model(ctx, None, name)[1],
            params.batch_size,
        )
    except ValueError as exc:
        raise JobError(str(exc)) from None
    verdicts = classifier.classify_batch(
        prompts, completions, lambda f, m: ctx.progress(0.95 * f, f"classify {m}")
    )
    judged = verdict_metrics(labels, types, [v.label for v in verdicts], scores)
    with ctx.transaction() as session:
        evaluation = session.get(Evaluation, params.evaluation_id, with_for_update=True)
        if evaluation is None:
            raise JobError(f"evaluation {params.evaluation_id} was deleted meanwhile")
        session.execute(
            delete(Verdict).where(
                Verdict.classifier == params.classifier, Verdict.completion_id.in_(ids)
            )
        )
        session.add_all(
            Verdict(completion_id=i, classifier=params.classifier, verdict=v.label, rule=v.rule)
            for i, v in zip(ids, verdicts, strict=True)
        )
        evaluation.classifier_metrics = {
            **evaluation.classifier_metrics,
            params.classifier: judged,
        }
        own = evaluation.params.get("classifier") == params.classifier
        if evaluation.source == "imported" and own:
            _set_own_verdicts(session, ids, verdicts)
            evaluation.metrics, evaluation.per_type = judged["metrics"], judged["per_type"]
    return {
        "evaluation_id": params.evaluation_id,
        "classifier": params.classifier,
        "n": len(ids),
        **judged["metrics"],
    }


def _set_own_verdicts(session, ids: list[int], verdicts: list) -> None:
    by_id = dict(zip(ids, verdicts, strict=True))
    for completion in session.scalars(select(Completion).where(Completion.id.in_(ids))):
        completion.verdict, completion.rule = by_id[completion.id].label, by_id[completion.id].rule

"""``evaluate``: false refusal, safety, f1 and capability of a model (DESIGN.md).

Greedy batched generation on the probe suite, every completion labelled by the classifier with
the rule that fired; refusal_score (no generation) as a fast proxy, with its agreement with the
generated labels; held-out loss and perplexity on general data.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from sqlalchemy import delete

from backend.jobs.params.evaluation import EvaluateParams
from backend.models import Evaluation, add_completions
from worker.context import JobContext
from worker.jobs.common import dataset_rows, load_registered_model
from worker.jobs.direction import load_intervention
from worker.models.demo import encode_example
from worker.science.batching import batches, collate_sft, pad_id
from worker.science.capture import system_prompt_mode
from worker.science.corpus import REFUSAL_TEXTS
from worker.science.generation import generate, refusal_score, refusal_start_ids
from worker.science.interventions import applied, kl_of
from worker.science.judges import resolve_classifier, verdict_metrics
from worker.science.refusal_classifier import Verdict
from worker.science.refusal_metrics import refusal_score_calibration
from worker.science.vcl import sft_loss


def heldout_loss(model, rows, batch_size: int) -> tuple[float, float]:
    """Mean response-token loss over held-out examples, and its perplexity."""
    encoded = [encode_example(model.tokenizer, r.prompt, r.response) for r in rows]
    total, tokens = 0.0, 0
    with torch.inference_mode():
        for examples in batches(encoded, batch_size):
            batch = collate_sft(examples, pad_id(model.tokenizer))
            logits = model.bridge(
                batch["input_ids"].to(model.device),
                attention_mask=batch["attention_mask"].to(model.device),
            )
            n = int((batch["labels"][:, 1:] != -100).sum())
            total += sft_loss(logits, batch["labels"]).item() * n
            tokens += n
    loss = total / tokens
    return loss, math.exp(loss)


def judged_completions(
    ctx: JobContext, model, prompts: list[str], params, **options
) -> tuple[list[str], list[Verdict]]:
    """``generation.generate`` of ``prompts`` with ``params``' max_new_tokens and batch_size
    and ``options`` (progress to 0.8), and ``params.classifier``'s verdict of each completion
    (to 0.85)."""
    completions = generate(
        model,
        prompts,
        max_new_tokens=params.max_new_tokens,
        batch_size=params.batch_size,
        progress=lambda f, m: ctx.progress(0.8 * f, f"generate {m}"),
        **options,
    )
    classifier = resolve_classifier(
        params.classifier, lambda name: load_registered_model(ctx, None, name)[1], params.batch_size
    )
    n_samples = len(completions) // len(prompts)
    verdicts = classifier.classify_batch(
        [p for p in prompts for _ in range(n_samples)],
        completions,
        lambda f, m: ctx.progress(0.8 + 0.05 * f, f"classify {m}"),
    )
    return completions, verdicts


def evaluate(ctx: JobContext, params: EvaluateParams) -> dict:
    model_row, model = load_registered_model(ctx, params.model_id, params.model_name)
    probe, rows = dataset_rows(ctx, params.probe_dataset_id, params.max_prompts)
    prompts = [r.prompt for r in rows]
    intervention = load_intervention(ctx, params.intervention, model.d_model)
    if intervention is not None:
        ctx.log(f"intervention: {intervention.describe()}")
    options = dict(chat_template=params.chat_template, system_prompt=params.system_prompt)
    with applied(model, intervention):
        completions, verdicts = judged_completions(ctx, model, prompts, params, **options)
        ctx.progress(0.85, "refusal score")
        scores = refusal_score(
            model,
            prompts,
            refusal_start_ids(model.tokenizer, REFUSAL_TEXTS),
            batch_size=params.batch_size,
            **options,
        )
    labels, verdict_labels = [r.label for r in rows], [v.label for v in verdicts]
    # unparsed verdicts (a judge's) are counted in n_unparsed and left out of the rates
    judged = verdict_metrics(labels, [r.type for r in rows], verdict_labels, scores)
    metrics = dict(judged["metrics"])
    metrics["refusal_score_mean"] = float(np.mean(scores))
    calibration = refusal_score_calibration(scores, verdict_labels)
    metrics.setdefault("intervals", {}).update(calibration.pop("intervals"))
    metrics |= calibration
    metrics["system_prompt_mode"] = system_prompt_mode(
        model.tokenizer, params.system_prompt, params.chat_template
    )
    if intervention is not None:
        ctx.progress(0.88, "intervention cost")
        safe = [r.prompt for r in rows if r.label == "safe"] or prompts
        metrics["intervention_kl"] = kl_of(
            model, safe, intervention, batch_size=params.batch_size, **options
        )
    if params.heldout_dataset_id is not None:
        ctx.progress(0.9, "held-out loss")
        _, heldout = dataset_rows(ctx, params.heldout_dataset_id)
        with applied(model, intervention):
            metrics["heldout_loss"], metrics["perplexity"] = heldout_loss(
                model, heldout, params.batch_size
            )
    table = judged["per_type"]
    with ctx.transaction() as session:
        session.execute(delete(Evaluation).where(Evaluation.job_id == ctx.job_id))
        evaluation = Evaluation(
            job_id=ctx.job_id,
            model_id=model_row.id,
            dataset_id=probe.id,
            params=params.model_dump(),
            metrics=metrics,
            classifier_metrics={params.classifier: judged},
            per_type=table,
        )
        session.add(evaluation)
        session.flush()
        judged_by = (params.classifier, verdicts)
        add_completions(session, evaluation.id, rows, completions, judged_by, scores)
        return {"evaluation_id": evaluation.id, **metrics}

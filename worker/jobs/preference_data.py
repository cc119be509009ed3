"""``preference_data``: a teacher's sampled completions, judged by a refusal classifier, paired
for DPO (worker/science/preference.py) and stored as a ``preference`` dataset."""

from __future__ import annotations

import random
from collections import Counter

from sqlalchemy import select

from backend.jobs.params import PreferenceDataParams
from backend.models import Dataset, add_dataset
from worker.context import JobContext, JobError
from worker.jobs.common import dataset_rows, load_registered_model
from worker.jobs.datasets import diversity_stats
from worker.science.judges import resolve_classifier
from worker.science.preference import FORMAT, build_pairs, pair_rows, sample_completions


def preference_data(ctx: JobContext, params: PreferenceDataParams) -> dict:
    with ctx.transaction() as session:
        if session.scalar(select(Dataset.id).where(Dataset.name == params.name)) is not None:
            raise JobError(f"name: a dataset named {params.name!r} already exists")
    rng = random.Random(params.seed)
    rows = []
    for dataset_id in params.prompt_dataset_ids:
        _, found = dataset_rows(ctx, dataset_id)
        n = params.max_prompts
        rows += found if n is None or n >= len(found) else rng.sample(found, n)
    teacher_row, teacher = load_registered_model(
        ctx, params.teacher_model_id, params.teacher_model_name
    )
    prompts, labels = [r.prompt for r in rows], [r.label for r in rows]
    samples = sample_completions(
        teacher,
        prompts,
        n_samples=params.n_samples,
        temperature=params.temperature,
        max_new_tokens=params.max_new_tokens,
        batch_size=params.batch_size,
        seed=params.seed,
        progress=lambda f, m: ctx.progress(0.8 * f, f"sample {m}"),
    )
    classifier = resolve_classifier(
        params.classifier, lambda name: load_registered_model(ctx, None, name)[1], params.batch_size
    )
    flat = classifier.classify_batch(
        [p for p in prompts for _ in range(params.n_samples)],
        [t for texts in samples for t in texts],
        lambda f, m: ctx.progress(0.8 + 0.15 * f, f"classify {m}"),
    )
    labels_flat = [v.label for v in flat]
    k = params.n_samples
    verdicts = [labels_flat[i * k : (i + 1) * k] for i in range(len(prompts))]
    try:
        pairs, counts = build_pairs(prompts, labels, samples, verdicts)
    except ValueError as exc:
        raise JobError(f"prompt_dataset_ids: {exc}") from None
    if not pairs:
        raise JobError(
            f"no prompt had both a chosen and a rejected completion among its {k} samples "
            f"(teacher {teacher_row.name!r}): try more samples or a higher temperature"
        )
    counts["verdicts"] = dict(sorted(Counter(labels_flat).items()))
    stored = pair_rows(pairs)
    with ctx.transaction() as session:
        dataset = add_dataset(
            session,
            stored,
            name=params.name,
            source="generated",
            format=FORMAT,
            description=f"DPO pairs: {teacher_row.name} samples judged by {params.classifier}",
            stats={
                **diversity_stats([r.prompt for r in stored], [r.response for r in stored]),
                "pairs": counts,
            },
        )
        return {"dataset_id": dataset.id, **counts}

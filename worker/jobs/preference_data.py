"""``preference_data``: a teacher's sampled completions, judged by a refusal classifier, paired
for DPO (worker/science/preference.py) and stored as a ``preference`` dataset."""

from __future__ import annotations

import random
from collections import Counter

from backend.jobs.params.training import PreferenceDataParams
from worker.context import JobContext, JobError
from worker.jobs.common import dataset_rows, load_registered_model
from worker.jobs.datasets import check_name_free, store_dataset
from worker.jobs.evaluate import judged_completions
from worker.science.preference import FORMAT, build_pairs, pair_rows


def preference_data(ctx: JobContext, params: PreferenceDataParams) -> dict:
    check_name_free(ctx, params.name)
    rng = random.Random(params.seed)
    rows = []
    for prompt_set_id in params.prompt_dataset_ids:
        _, found = dataset_rows(ctx, prompt_set_id)
        n = params.max_prompts
        rows += found if n is None or n >= len(found) else rng.sample(found, n)
    teacher_row, teacher = load_registered_model(
        ctx, params.teacher_model_id, params.teacher_model_name
    )
    prompts, labels = [r.prompt for r in rows], [r.label for r in rows]
    k = params.n_samples
    flat, judged = judged_completions(
        ctx, teacher, prompts, params, temperature=params.temperature, n_samples=k, seed=params.seed
    )
    labels_flat = [v.label for v in judged]
    samples = [flat[i * k : (i + 1) * k] for i in range(len(prompts))]
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
    description = f"DPO pairs: {teacher_row.name} samples judged by {params.classifier}"
    dataset_id = store_dataset(
        ctx,
        pair_rows(pairs),
        {"pairs": counts},
        name=params.name,
        source="generated",
        format=FORMAT,
        description=description,
    )
    return {"dataset_id": dataset_id, **counts}

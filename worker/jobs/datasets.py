"""Dataset jobs: register the built-in corpora, measure diversity."""

from __future__ import annotations

from sqlalchemy import select

from backend.models import Dataset, DatasetRow
from worker.context import JobContext, JobError
from worker.params import DatasetStatsParams, RegisterBuiltinParams
from worker.science.corpus import BUILTIN_DATASETS, builtin_dataset
from worker.science.diversity import corpus_diversity


def diversity_stats(prompts: list[str], responses: list[str]) -> dict:
    """Diversity of prompts and responses separately (responses omitted when all empty)."""
    stats = {"prompts": corpus_diversity(prompts)}
    if any(responses):
        stats["responses"] = corpus_diversity(responses)
    return stats


def register_builtin(ctx: JobContext, params: RegisterBuiltinParams) -> dict:
    """Insert the built-in datasets (rows and stats) that are not registered yet."""
    created = {}
    for i, (name, description) in enumerate(BUILTIN_DATASETS.items()):
        ctx.progress(i / len(BUILTIN_DATASETS), f"building {name}")
        examples = builtin_dataset(name, seed=params.seed)
        stats = diversity_stats([e.prompt for e in examples], [e.response for e in examples])
        with ctx.transaction() as session:
            if session.scalar(select(Dataset.id).where(Dataset.name == name)) is not None:
                continue
            dataset = Dataset(
                name=name,
                source="builtin",
                format="builtin",
                description=f"{description} (seed {params.seed})",
                n_rows=len(examples),
                stats=stats,
            )
            session.add(dataset)
            session.flush()
            session.add_all(
                DatasetRow(
                    dataset_id=dataset.id,
                    idx=j,
                    prompt=e.prompt,
                    response=e.response,
                    label=e.label,
                    type=e.type,
                )
                for j, e in enumerate(examples)
            )
            created[name] = dataset.id
    return {"created": created}


def dataset_stats(ctx: JobContext, params: DatasetStatsParams) -> dict:
    """H1-H3, distinct-1/2, MSTTR_50 and lengths of a dataset's prompts and responses."""
    with ctx.transaction() as session:
        dataset = session.get(Dataset, params.dataset_id)
        if dataset is None:
            raise JobError(f"dataset {params.dataset_id} not found")
        rows = session.execute(
            select(DatasetRow.prompt, DatasetRow.response).where(
                DatasetRow.dataset_id == params.dataset_id
            )
        ).all()
    stats = diversity_stats([r.prompt for r in rows], [r.response for r in rows])
    with ctx.transaction() as session:
        session.get(Dataset, params.dataset_id).stats = stats
    return {"dataset_id": params.dataset_id, "n_rows": len(rows)}

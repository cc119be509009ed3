"""Dataset jobs: register the built-in corpora, measure diversity."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select

from backend.dataset_import import ImportFormatError, ImportTooLarge, Limits, parse_records
from backend.jobs.params.datasets import (
    DatasetStatsParams,
    ImportHubDatasetParams,
    RegisterBuiltinParams,
)
from backend.models import Dataset, DatasetRow, add_dataset
from worker.context import JobContext, JobError
from worker.science.corpus import BUILTIN_DATASETS, builtin_dataset
from worker.science.diversity import corpus_diversity


def diversity_stats(rows: Sequence[Any]) -> dict:
    """Diversity of the rows' prompts and responses separately (responses omitted when all
    empty)."""
    stats = {"prompts": corpus_diversity([r.prompt for r in rows])}
    responses = [r.response for r in rows]
    if any(responses):
        stats["responses"] = corpus_diversity(responses)
    return stats


def check_name_free(ctx: JobContext, name: str) -> None:
    """JobError naming the field if a dataset called ``name`` exists."""
    with ctx.transaction() as session:
        if session.scalar(select(Dataset.id).where(Dataset.name == name)) is not None:
            raise JobError(f"name: a dataset named {name!r} already exists")


def store_dataset(ctx: JobContext, rows: Sequence[Any], stats: dict | None = None, **fields) -> int:
    """Store ``rows`` as a dataset (``fields`` its columns) in one transaction, with their
    diversity as its stats (and ``stats`` beside); its id."""
    measured = diversity_stats(rows) | (stats or {})
    with ctx.transaction() as session:
        return add_dataset(session, rows, stats=measured, **fields).id


def register_builtin(ctx: JobContext, params: RegisterBuiltinParams) -> dict:
    """Insert the built-in datasets (rows and stats) that are not registered yet."""
    created = {}
    for i, (name, description) in enumerate(BUILTIN_DATASETS.items()):
        ctx.progress(i / len(BUILTIN_DATASETS), f"building {name}")
        examples = builtin_dataset(name, seed=params.seed)
        stats = diversity_stats(examples)
        with ctx.transaction() as session:
            if session.scalar(select(Dataset.id).where(Dataset.name == name)) is not None:
                continue
            dataset = add_dataset(
                session,
                examples,
                name=name,
                source="builtin",
                format="builtin",
                description=f"{description} (seed {params.seed})",
                stats=stats,
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
    stats = diversity_stats(rows)
    with ctx.transaction() as session:
        session.get(Dataset, params.dataset_id).stats = stats
    return {"dataset_id": params.dataset_id, "n_rows": len(rows)}


def import_hub_dataset(ctx: JobContext, params: ImportHubDatasetParams) -> dict:
    """Import a Hugging Face dataset (hub name, or a local folder of data files): map its
    columns to prompt/response/label/type, validate every row, store all rows or none."""
    from datasets import load_dataset

    problem = ctx.settings.local_dataset_dir_error(params.repo)  # this host's folders
    if problem:
        raise JobError(f"repo: {problem}")
    check_name_free(ctx, params.name)
    ctx.progress(0.05, f"loading {params.repo} [{params.split}]", force=True)
    try:
        hub = load_dataset(params.repo, split=params.split)
    except Exception as exc:  # offline, unknown name, bad split: all mean "not importable"
        reason = (str(exc).strip() or type(exc).__name__).splitlines()[0]
        raise JobError(f"repo: dataset {params.repo!r} not found: {reason}") from None
    columns = {
        "prompt": params.prompt_field,
        "response": params.response_field,
        "label": params.label_field,
        "type": params.type_field,
    }
    for field, column in columns.items():
        if column is not None and column not in hub.column_names:
            raise JobError(
                f"{field}_field: column {column!r} not in the dataset "
                f"(columns: {', '.join(hub.column_names)})"
            )
    records = (
        (i + 1, {f: ("" if c is None else row[c]) for f, c in columns.items()})
        for i, row in enumerate(hub)
    )
    try:
        rows = parse_records(records, label=params.label, limits=Limits(max_rows=params.max_rows))
    except (ImportFormatError, ImportTooLarge) as exc:
        raise JobError(f"repo: row {exc}") from None
    description = f"{params.repo} [{params.split}]"
    dataset_id = store_dataset(
        ctx, rows, name=params.name, source="hub", format="hub", description=description
    )
    return {"dataset_id": dataset_id, "n_rows": len(rows)}

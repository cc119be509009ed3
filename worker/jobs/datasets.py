"""Dataset jobs: register the built-in corpora, measure diversity."""

from __future__ import annotations

from sqlalchemy import select

from backend.dataset_import import ImportFormatError, ImportTooLarge, Limits, parse_records
from backend.jobs.params import DatasetStatsParams, ImportHubDatasetParams, RegisterBuiltinParams
from backend.models import Dataset, DatasetRow, add_dataset
from worker.context import JobContext, JobError
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
    stats = diversity_stats([r.prompt for r in rows], [r.response for r in rows])
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
    with ctx.transaction() as session:
        if session.scalar(select(Dataset.id).where(Dataset.name == params.name)) is not None:
            raise JobError(f"name: a dataset named {params.name!r} already exists")
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
    stats = diversity_stats([r.prompt for r in rows], [r.response for r in rows])
    with ctx.transaction() as session:
        dataset = add_dataset(
            session,
            rows,
            name=params.name,
            source="hub",
            format="hub",
            description=f"{params.repo} [{params.split}]",
            stats=stats,
        )
        return {"dataset_id": dataset.id, "n_rows": len(rows)}

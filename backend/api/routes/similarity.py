"""Data similarity of two datasets: word n-gram overlap of their prompts (computed here when both
sets are small, else the newest ``data_similarity`` job's) and, per model, the newest finished
job's subspace overlap per layer (DESIGN.md, "Data similarity")."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.api.deps import SessionDep, get_or_404
from backend.models import Dataset, DatasetRow, Job, JobStatus, Model
from backend.ngram_overlap import ngram_overlap

router = APIRouter(tags=["similarity"])
ON_THE_FLY_ROWS = 50_000  # both sets together; larger pairs answer the newest job's overlap
CACHED_PAIRS = 256  # a dataset's rows never change: a pair's overlap is computed once
_ngram_cache: dict[tuple, dict[str, float | None]] = {}


class SubspaceOverlap(BaseModel):
    job_id: int
    model_id: int
    model_name: str | None
    run_ids: list[int | None] = Field(description="Runs read (null: captured by the job).")
    n_prompts: list[int]
    k: int
    chance: float = Field(description="k / d_model: the expected overlap of random subspaces.")
    layers: list[dict[str, Any]] = Field(description="Per layer: subspace_overlap, cosines.")
    finished_at: datetime | None


class DataSimilarity(BaseModel):
    dataset_id: int
    other_dataset_id: int
    text: str = Field("prompts", description="What the n-grams are taken from.")
    ngram_overlap: dict[str, float | None] | None = Field(
        description='Jaccard index of the word n-gram sets, by n ("1".."3").'
    )
    subspace: list[SubspaceOverlap] = Field(
        description="Newest finished job per model, newest first."
    )
    pending_job_ids: list[int] = Field(description="Queued or running jobs on this pair.")


def _pair_jobs(session: Session, a: int, b: int) -> list[Job]:
    """The pair's data_similarity jobs (either order), newest first."""
    jobs = session.scalars(select(Job).where(Job.kind == "data_similarity").order_by(Job.id.desc()))
    pair = {a, b}
    return [j for j in jobs if {j.params["dataset_id"], j.params["other_dataset_id"]} == pair]


def _ordered(job: Job, dataset_id: int, key: str) -> list:
    """A job's pair of values in the request's order (its first is on ``dataset_id``)."""
    values = job.result[key]
    return values if job.params["dataset_id"] == dataset_id else values[::-1]


def _prompts(session: Session, dataset_id: int) -> list[str]:
    query = select(DatasetRow.prompt).where(DatasetRow.dataset_id == dataset_id)
    return list(session.scalars(query))


def _ngrams_on_the_fly(session: Session, a: Dataset, b: Dataset) -> dict[str, float | None]:
    """The pair's overlap, kept per process (keyed by ids and creation times: a deleted set's
    id reused by SQLite is another key)."""
    key = tuple(sorted([(a.id, a.created_at), (b.id, b.created_at)]))
    if key not in _ngram_cache:
        if len(_ngram_cache) >= CACHED_PAIRS:
            _ngram_cache.pop(next(iter(_ngram_cache)), None)
        _ngram_cache[key] = ngram_overlap(_prompts(session, a.id), _prompts(session, b.id))
    return _ngram_cache[key]


@router.get("/datasets/{dataset_id}/similarity", response_model=DataSimilarity)
def read_similarity(
    dataset_id: int,
    session: SessionDep,
    other: int = Query(ge=1, description="The other dataset's id."),
) -> DataSimilarity:
    """How alike two datasets are: n-gram overlap of their prompts, and the subspace overlap
    per layer of the newest finished data_similarity job of each model."""
    first = get_or_404(session, Dataset, dataset_id, "dataset")
    second = get_or_404(session, Dataset, other, "dataset")
    jobs = _pair_jobs(session, dataset_id, other)
    done = [j for j in jobs if j.status == JobStatus.SUCCEEDED and j.result]
    rows = session.scalar(
        select(func.count())
        .select_from(DatasetRow)
        .where(DatasetRow.dataset_id.in_((dataset_id, other)))
    )
    if rows <= ON_THE_FLY_ROWS:
        ngrams = _ngrams_on_the_fly(session, first, second)
    else:
        ngrams = done[0].result["ngram_overlap"] if done else None
    newest: dict[int, Job] = {}
    for job in done:
        if job.result.get("model_id") is not None:
            newest.setdefault(job.result["model_id"], job)
    names = dict(session.execute(select(Model.id, Model.name).where(Model.id.in_(newest))).all())
    return DataSimilarity(
        dataset_id=dataset_id,
        other_dataset_id=other,
        ngram_overlap=ngrams,
        subspace=[
            SubspaceOverlap(
                job_id=job.id,
                model_id=model_id,
                model_name=names.get(model_id),
                run_ids=_ordered(job, dataset_id, "run_ids"),
                n_prompts=_ordered(job, dataset_id, "n_prompts"),
                k=job.result["k"],
                chance=job.result["chance"],
                layers=job.result["layers"],
                finished_at=job.finished_at,
            )
            for model_id, job in newest.items()
        ],
        pending_job_ids=[j.id for j in jobs if j.status in (JobStatus.QUEUED, JobStatus.RUNNING)],
    )

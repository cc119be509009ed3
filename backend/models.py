"""SQLAlchemy 2.0 typed ORM models. Tables are created only by the Alembic migrations."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON}


class JobStatus:
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"
    ALL = (QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED)
    FINISHED = (SUCCEEDED, FAILED, CANCELLED)


class Job(Base):
    """A unit of work; the jobs table is the queue."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_claim", "status", "priority", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(64), index=True)
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.QUEUED)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    message: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str | None] = mapped_column(Text, default=None)
    log: Mapped[str] = mapped_column(Text, default="")
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    worker_id: Mapped[str | None] = mapped_column(String(128), default=None, index=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(default=None)
    heartbeat_at: Mapped[datetime | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    parent_job_id: Mapped[int | None] = mapped_column(
        ForeignKey("jobs.id", ondelete="SET NULL"), default=None, index=True
    )  # the job that created this one (a sweep's cells)


class JobDependency(Base):
    """``job_id`` runs only after ``depends_on_id`` succeeded."""

    __tablename__ = "job_dependencies"

    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    depends_on_id: Mapped[int] = mapped_column(
        ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Worker(Base):
    """A worker process; its heartbeat tells whether it is alive."""

    __tablename__ = "workers"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    device: Mapped[str] = mapped_column(String(64))
    kinds: Mapped[list[str] | None] = mapped_column(JSON, default=None)
    concurrency: Mapped[int] = mapped_column(Integer, default=1)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(default=utcnow)
    stopped_at: Mapped[datetime | None] = mapped_column(default=None)


class Model(Base):
    """A causal LM: a hub name, a local HF directory, or one produced by a job (demo, fine-tune)."""

    __tablename__ = "models"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    source: Mapped[str] = mapped_column(String(16))  # hub | local | demo | finetune
    uri: Mapped[str] = mapped_column(Text)  # hub name, local path, or artifact URI
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("models.id"), default=None)
    job_id: Mapped[int | None] = mapped_column(ForeignKey("jobs.id", ondelete="SET NULL"))
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)  # n_layers, d_model, ...
    lineage: Mapped[dict[str, Any]] = mapped_column(default=dict)  # data mix, all parameters
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Dataset(Base):
    """A prompt set (with responses for training sets); rows live in ``dataset_rows``."""

    __tablename__ = "datasets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    source: Mapped[str] = mapped_column(String(16))  # builtin | upload | hub
    format: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(Text, default="")
    n_rows: Mapped[int] = mapped_column(Integer, default=0)
    stats: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)  # diversity
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class _PromptRow:
    """A prompt at position ``idx`` of its parent (a dataset's row, an evaluation's
    completion), with the prompt's label and probe type."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    idx: Mapped[int] = mapped_column(Integer)
    prompt: Mapped[str] = mapped_column(Text)
    label: Mapped[str] = mapped_column(String(16), default="safe")  # safe | unsafe
    type: Mapped[str] = mapped_column(String(64), default="")

    @staticmethod
    def columns_of(row: Any) -> dict[str, str]:
        """The prompt, label and type of ``row`` (any object with them), as stored here."""
        return {"prompt": row.prompt, "label": row.label, "type": row.type}


class DatasetRow(_PromptRow, Base):
    __tablename__ = "dataset_rows"
    __table_args__ = (Index("ix_dataset_rows_pos", "dataset_id", "idx", unique=True),)

    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id", ondelete="CASCADE"))
    response: Mapped[str] = mapped_column(Text, default="")


def add_dataset(session: Session, rows: Sequence[Any], **fields: Any) -> Dataset:
    """Add a dataset and its rows (any objects with prompt, response, label and type), in order,
    to the session's transaction; ``fields`` are the Dataset's columns."""
    dataset = Dataset(n_rows=len(rows), **fields)
    session.add(dataset)
    session.flush()
    session.add_all(
        DatasetRow(
            dataset_id=dataset.id, idx=i, response=row.response, **DatasetRow.columns_of(row)
        )
        for i, row in enumerate(rows)
    )
    return dataset


class Run(Base):
    """A capture of residual streams of one model on one prompt set, with its spectra."""

    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # the capture job that made it; or none, for a run a fine-tune captured at a checkpoint
    job_id: Mapped[int | None] = mapped_column(
        ForeignKey("jobs.id", ondelete="CASCADE"), unique=True, default=None
    )
    train_job_id: Mapped[int | None] = mapped_column(
        ForeignKey("jobs.id", ondelete="CASCADE"), index=True, default=None
    )
    train_step: Mapped[int | None] = mapped_column(Integer, default=None)  # optimiser steps done
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id"), index=True)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"), index=True)
    reference_run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"), default=None)
    hook: Mapped[str] = mapped_column(String(32))
    position: Mapped[str] = mapped_column(String(16))
    n_prompts: Mapped[int] = mapped_column(Integer)
    n_layers: Mapped[int] = mapped_column(Integer)
    d_model: Mapped[int] = mapped_column(Integer)
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    global_basis: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    activations_uri: Mapped[str | None] = mapped_column(Text, default=None)
    basis_uri: Mapped[str | None] = mapped_column(Text, default=None)  # for alignment
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class RunLayer(Base):
    """Spectra of one layer of a run: its top eigenvalues and evr, and the catalogue's per-layer
    metrics (backend/metrics.py, Scope.LAYER) by name, with their 95% intervals under the same
    names (definitions in DESIGN.md)."""

    __tablename__ = "run_layers"

    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True)
    layer: Mapped[int] = mapped_column(Integer, primary_key=True)
    eigenvalues: Mapped[list[float]] = mapped_column(JSON)  # top 64
    evr: Mapped[list[float]] = mapped_column(JSON)
    values: Mapped[dict[str, Any]] = mapped_column(default=dict)  # name -> float | None
    intervals: Mapped[dict[str, Any]] = mapped_column(default=dict)  # name -> [lo, hi]


class TrainMetric(Base):
    """One optimiser step of a fine-tune, written while it runs: the catalogue's Scope.TRAIN_STEP
    metrics by name, and those measured per VCL window layer as name -> {layer: value}."""

    __tablename__ = "train_metrics"

    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True)
    step: Mapped[int] = mapped_column(Integer, primary_key=True)
    values: Mapped[dict[str, Any]] = mapped_column(default=dict)  # name -> float
    layer_values: Mapped[dict[str, Any]] = mapped_column(default=dict)  # name -> {layer: float}


class Evaluation(Base):
    """Refusal evaluation of a model on a probe suite (metrics as in DESIGN.md).

    ``source`` is "generated" (an ``evaluate`` job generated the completions) or "imported"
    (a completion file produced elsewhere: no model, no job). ``metrics`` are the evaluation
    classifier's (``params["classifier"]``); ``classifier_metrics`` hold the same metrics for every
    classifier that judged its completions (``reclassify``), by classifier name. ``version``
    counts the row's updates (SQLAlchemy's version counter: every ORM update, as reclassify's,
    bumps it): the API caches an evaluation's answers under its id and version.
    """

    __tablename__ = "evaluations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int | None] = mapped_column(
        ForeignKey("jobs.id", ondelete="CASCADE"), unique=True, default=None
    )
    model_id: Mapped[int | None] = mapped_column(ForeignKey("models.id"), index=True, default=None)
    dataset_id: Mapped[int] = mapped_column(ForeignKey("datasets.id"))
    source: Mapped[str] = mapped_column(String(16), default="generated")
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    classifier_metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    per_type: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    version: Mapped[int] = mapped_column(Integer)

    __mapper_args__ = {"version_id_col": version}


class Completion(_PromptRow, Base):
    """One generated completion of an evaluation with its three-way label."""

    __tablename__ = "completions"
    __table_args__ = (Index("ix_completions_pos", "evaluation_id", "idx", unique=True),)

    evaluation_id: Mapped[int] = mapped_column(ForeignKey("evaluations.id", ondelete="CASCADE"))
    completion: Mapped[str] = mapped_column(Text)
    verdict: Mapped[str] = mapped_column(
        String(32)
    )  # full_compliance | full_refusal | partial_refusal
    rule: Mapped[str] = mapped_column(String(64))
    refusal_score: Mapped[float | None] = mapped_column(Float, default=None)


class Verdict(Base):
    """One classifier's three-way label of one completion (the evaluation's own classifier and
    every classifier run later by ``reclassify``)."""

    __tablename__ = "verdicts"
    __table_args__ = (UniqueConstraint("completion_id", "classifier"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    completion_id: Mapped[int] = mapped_column(ForeignKey("completions.id", ondelete="CASCADE"))
    classifier: Mapped[str] = mapped_column(String(128))  # rules | judge:<model> | ...
    verdict: Mapped[str] = mapped_column(String(32))  # full_compliance | ... | unparsed
    rule: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


PENDING = "pending"  # verdict and rule of a completion not judged yet


def add_completions(
    session: Session,
    evaluation_id: int,
    rows: Sequence[Any],
    texts: Sequence[str],
    judged: tuple[str, Sequence[Any]] | None = None,
    scores: Sequence[float] | None = None,
) -> list[Completion]:
    """Add an evaluation's completions in order and flush them: ``texts[i]`` answers ``rows[i]``
    (any object with prompt, label and type), with refusal score ``scores[i]``. ``judged`` is
    (classifier, verdicts with label and rule): its verdicts are the completions' own and its
    Verdict rows; without it verdict and rule are "pending"."""
    classifier, verdicts = judged or (None, [None] * len(rows))
    stored = [
        Completion(
            evaluation_id=evaluation_id,
            idx=i,
            completion=text,
            verdict=PENDING if verdict is None else verdict.label,
            rule=PENDING if verdict is None else verdict.rule,
            refusal_score=None if scores is None else float(scores[i]),
            **Completion.columns_of(row),
        )
        for i, (row, text, verdict) in enumerate(zip(rows, texts, verdicts, strict=True))
    ]
    session.add_all(stored)
    session.flush()
    if classifier is not None:
        session.add_all(
            Verdict(completion_id=c.id, classifier=classifier, verdict=c.verdict, rule=c.rule)
            for c in stored
        )
    return stored


class HumanLabel(Base):
    """A researcher's three-way label of one completion; one per completion and labeller (the
    API token's name, or "local" where writes need no token)."""

    __tablename__ = "human_labels"
    __table_args__ = (UniqueConstraint("completion_id", "labeller"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    completion_id: Mapped[int] = mapped_column(ForeignKey("completions.id", ondelete="CASCADE"))
    labeller: Mapped[str] = mapped_column(String(100))
    verdict: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiToken(Base):
    """A bearer token for the API; only its sha256 is stored (``flowlens token create``)."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)


class Snapshot(Base):
    """A frozen, read-only view of a page: what it showed (text, figures, tables) when frozen,
    and the live view it came from (``source``: path and query)."""

    __tablename__ = "snapshots"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    page: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(300))
    source: Mapped[str] = mapped_column(Text)
    content: Mapped[dict[str, Any]] = mapped_column(JSON)  # text, figures, tables
    created_by: Mapped[str] = mapped_column(String(100))  # the token's name, or "local"
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Probe(Base):
    """Linear probes of unsafe vs safe fitted per layer on a capture run's last-prompt residuals
    (DESIGN.md): cross-validated accuracy and AUROC with 95% intervals per layer (``layers``:
    {layer, values, intervals} under the catalogue's Scope.PROBE names), and each prompt's
    held-out P(unsafe) per layer in the artifact ``p_unsafe_uri``."""

    __tablename__ = "probes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), unique=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    folds: Mapped[int] = mapped_column(Integer)
    n_prompts: Mapped[int] = mapped_column(Integer)
    n_unsafe: Mapped[int] = mapped_column(Integer)
    best_layer: Mapped[int] = mapped_column(Integer)
    layers: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    p_unsafe_uri: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

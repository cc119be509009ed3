"""Pydantic models of every API payload: Create / Public families and list envelopes."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, computed_field, field_validator

from backend import refusal_rates
from backend.errors import FieldError

T = TypeVar("T")


def check_storable(value: Any, field: str) -> Any:
    """Refuse what JSON columns and text columns cannot hold faithfully, naming the field: NaN
    and infinite numbers (JSON bodies may spell them NaN, Infinity, 1e400) and NUL characters."""
    if isinstance(value, float) and not math.isfinite(value):
        raise FieldError(field, "must be a finite number (not NaN or infinite)")
    if isinstance(value, str) and "\x00" in value:
        raise FieldError(field, "text may not contain NUL characters")
    if isinstance(value, dict):
        for key, item in value.items():
            check_storable(key, field)
            check_storable(item, f"{field}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            check_storable(item, f"{field}.{i}")
    return value


class RequestBody(BaseModel):
    """Base of request bodies: unknown fields, non-finite numbers and NUL characters refused."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    @field_validator("*", mode="after")
    @classmethod
    def _storable(cls, value: Any, info) -> Any:
        return check_storable(value, info.field_name)


class Page(BaseModel, Generic[T]):
    """A list envelope: one page of ``data`` and the ``count`` of all matching rows."""

    data: list[T]
    count: int


class JobCreate(RequestBody):
    kind: str = Field(description="A registered job kind (GET /api/kinds).")
    params: dict[str, Any] = Field(default_factory=dict, description="Validated per kind.")
    priority: int = Field(0, ge=-1000, le=1000, description="Higher runs first.")
    max_attempts: int = Field(3, ge=1, le=20, description="Runs allowed when workers are lost.")
    depends_on: list[int] = Field(default_factory=list, max_length=1000)


class JobPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    params: dict[str, Any]
    status: str
    priority: int
    attempts: int
    max_attempts: int
    progress: float
    message: str
    error: str | None
    result: dict[str, Any] | None
    worker_id: str | None
    lease_expires_at: datetime | None
    heartbeat_at: datetime | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    parent_job_id: int | None = Field(None, description="The job that created this one.")
    depends_on: list[int] = []
    eta_seconds: float | None = Field(None, description="Estimated from progress and run time.")


class JobDetail(JobPublic):
    log: str
    queue_position: int | None = Field(
        None, description="1 + the runnable queued jobs claimed before it; None unless runnable."
    )


class KindPublic(BaseModel):
    name: str
    description: str
    params_schema: dict[str, Any]
    internal: bool = Field(False, description="Plumbing (diagnostics, set-up): not offered.")


class WorkerPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    host: str
    pid: int
    device: str
    kinds: list[str] | None
    concurrency: int
    started_at: datetime
    heartbeat_at: datetime
    stopped_at: datetime | None
    alive: bool
    current_jobs: list[int]


class Health(BaseModel):
    status: str
    database: str
    version: str
    workers_alive: int
    # team mode: the UI hides its write buttons from readers without a token
    writes_need_token: bool = False


class ModelCreate(RequestBody):
    name: str = Field(min_length=1, max_length=255, pattern=r"^[\w.\-/]+$")
    source: Literal["hub", "local"] = Field(description="A hub name or a local HF directory.")
    uri: str = Field(min_length=1, max_length=4096, description="Hub name or directory path.")


class ModelPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    source: str
    uri: str
    parent_id: int | None
    job_id: int | None
    config: dict[str, Any]
    lineage: dict[str, Any]
    created_at: datetime


class DatasetPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    source: str
    format: str
    description: str
    n_rows: int
    stats: dict[str, Any] | None
    created_at: datetime
    role: str | None = Field(
        None, description="general, safety, probe or preference (backend/dataset_roles.py)."
    )


class UploadLimits(BaseModel):
    """What one dataset upload may hold (GET /api/datasets/limits)."""

    max_bytes: int
    max_rows: int
    max_field_chars: int
    formats: list[str]


class DeletedPublic(BaseModel):
    """What a delete removed (ids by table) and the jobs it cancelled."""

    deleted: dict[str, list[int]]
    cancelled_jobs: list[int]


class DatasetRowPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    idx: int
    prompt: str
    response: str
    label: str
    type: str


class RunPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    job_id: int | None = Field(description="The capture job; None for a fine-tune's checkpoint.")
    train_job_id: int | None = Field(None, description="The fine-tune that captured it.")
    train_step: int | None = Field(None, description="Its optimiser steps done at the capture.")
    model_id: int
    dataset_id: int
    reference_run_id: int | None
    hook: str
    position: str
    n_prompts: int
    n_layers: int
    d_model: int
    params: dict[str, Any]
    global_basis: dict[str, Any] | None
    activations_uri: str | None
    basis_uri: str | None
    created_at: datetime


class RunLayerPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    layer: int
    eigenvalues: list[float]
    evr: list[float]
    values: dict[str, float | None] = Field(
        description="The per-layer metrics of GET /api/metrics by name (None: not computed)."
    )
    intervals: dict[str, list[float]] = Field(
        description="95% bootstrap intervals [lo, hi] under the same names."
    )


class TrainMetricPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    step: int
    values: dict[str, float | None] = Field(description="Training-step metrics by name.")
    layer_values: dict[str, dict[str, float]] = Field(
        description="Metrics of each VCL window layer: name -> {layer: value}."
    )


class MetricPublic(BaseModel):
    """One metric of the catalogue (backend/metrics.py)."""

    name: str
    label: str
    scopes: list[str] = Field(description="Where it applies: layer, run, evaluation, train_step.")
    description: str
    fmt: str = Field(description="Python format spec of a value, e.g. '.3f'.")
    interval: bool = Field(description="Whether a 95% bootstrap interval is stored beside it.")


class EvaluationPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    job_id: int | None = Field(description="The evaluate job; None for an imported evaluation.")
    model_id: int | None = Field(description="None for an imported evaluation.")
    dataset_id: int
    source: str = Field(description="generated (by an evaluate job) or imported (a file).")
    params: dict[str, Any]
    metrics: dict[str, Any]
    per_type: dict[str, Any]
    created_at: datetime

    @computed_field(
        description="Per prompt type: its group (trigger, control, contrast, unsafe), base type "
        "and refused k of n with the share's Wilson 95% interval (backend/refusal_rates.py)."
    )
    @property
    def type_rates(self) -> dict[str, Any]:
        return refusal_rates.type_rates(self.per_type)

    @computed_field(description="Refused k of n per group, pooled over its types only.")
    @property
    def group_rates(self) -> dict[str, Any]:
        return refusal_rates.group_rates(self.type_rates)


class EvaluationImport(BaseModel):
    """An imported completion file: its evaluation, prompt set, human labels and the job that
    judges it."""

    evaluation: EvaluationPublic
    dataset_id: int
    n_completions: int
    n_labels: int = Field(description="Human labels the file carried (labeller import:<file>).")
    job_id: int = Field(description="The reclassify job that judges the completions.")


class CompletionPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    idx: int
    prompt: str
    type: str
    label: str
    completion: str
    verdict: str
    rule: str
    refusal_score: float | None


class SweepCell(BaseModel):
    """One row of a sweep: the cell's parameters, its jobs, and what they measured."""

    method: str = Field(
        "sft",
        description="sft, or dpo on top of the SFT cell of these values; in an intervention "
        "sweep ablation, steering or none (the model as is).",
    )
    intervention: dict[str, Any] | None = Field(
        None, description="An intervention sweep's cell: kind, layer, alpha, run or capture job."
    )
    safety_fraction: float
    vcl_lambda: float
    vcl_sign: str | None
    vcl_k: int | None
    seed: int
    system_prompt: str | None = Field(None, description="The evaluation's system prompt.")
    model_name: str
    model_id: int | None
    jobs: dict[str, int]
    status: dict[str, str]
    run_id: int | None
    evaluation_id: int | None
    metrics: dict[str, Any] | None = Field(description="The evaluation's metrics by name.")
    layers: dict[str, list[float | None]] = Field(
        description="Every per-layer metric by name: its value at each layer of the cell's run."
    )


class SweepProgress(BaseModel):
    """A sweep's jobs (its own expansion and every job it queued) counted by status."""

    state: str = Field(description="queued, running, succeeded, failed or cancelled: of it all.")
    total: int = Field(description="Jobs the sweep queued.")
    counts: dict[str, int] = Field(description="Of those, by status.")
    eta_seconds: float | None = Field(description="From the rate its jobs have finished at.")


class SweepPublic(BaseModel):
    job: JobPublic
    name: str = Field(description="Base model and grid, as GET /api/sweeps names it.")
    cells: list[SweepCell]
    progress: SweepProgress


class ModelSetPublic(BaseModel):
    """A set of models as relation cells (GET /api/relation): one cell per model."""

    name: str = Field(description="'<model> and its family', or the models' names.")
    dataset_id: int | None = Field(
        description="The prompt set of the cells' runs and probe set of their evaluations."
    )
    dataset_name: str | None
    cells: list[SweepCell] = Field(
        description="One per model, in the set's order; run_id and evaluation_id are null where "
        "the model has none on the dataset."
    )


class SweepSummary(BaseModel):
    """A sweep in the list: its job, its name and its progress."""

    job: JobPublic
    name: str = Field(description="Base model and grid, e.g. 'demo: p 0-0.4 x lambda 0, 1'.")
    progress: SweepProgress


HumanVerdict = Literal["full_compliance", "full_refusal", "partial_refusal"]


class LabelUpdate(RequestBody):
    verdict: HumanVerdict = Field(description="Your three-way label of the completion.")


class HumanLabelPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    completion_id: int
    labeller: str = Field(description="The API token's name, or 'local' where writes need none.")
    verdict: str
    created_at: datetime
    updated_at: datetime


class CompletionLabels(BaseModel):
    """One completion of an evaluation: its classifiers' verdicts and its human labels."""

    completion_id: int
    idx: int
    type: str
    label: str = Field(description="The prompt's label: safe or unsafe.")
    verdicts: dict[str, str] = Field(description="Each classifier's verdict, by classifier name.")
    labels: list[HumanLabelPublic] = Field(description="Oldest first.")
    human: str | None = Field(
        description="The human label: the labels' common verdict, else the first labeller's."
    )


class RateInterval(BaseModel):
    """A share k / n with its 95% Wilson interval (None where n = 0)."""

    k: int
    n: int
    rate: float | None
    interval: list[float] | None


class CorrectedRate(BaseModel):
    estimate: float | None
    interval: list[float] | None
    estimator: str
    n: int = Field(description="Safe completions judged by the classifier.")
    n_labelled: int = Field(description="Of those, the human-labelled ones.")
    missing: list[str] = Field(description="Classifier verdicts without any labelled completion.")


class HumanAgreement(BaseModel):
    """A classifier against the human labels of one evaluation (docs/classifier.md)."""

    evaluation_id: int
    classifier: str
    labeller: str | None = Field(description="Only this labeller's labels; None: all.")
    n_labelled: int
    accuracy: float | None = Field(description="Three-way agreement with the human label.")
    binary_accuracy: float | None = Field(description="Agreement on refused (full or partial).")
    kappa: float | None = Field(description="Cohen's kappa, three-way.")
    human_labels: list[str] = Field(description="Rows of the confusion matrix.")
    classifier_labels: list[str] = Field(description="Its columns.")
    confusion: list[list[int]]
    classifier_frr: RateInterval = Field(description="Classifier's FRR on all safe completions.")
    human_frr: RateInterval = Field(description="Human FRR on the labelled safe completions.")
    corrected_frr: CorrectedRate


class LabelImport(BaseModel):
    labels_written: int
    completions: int = Field(description="Completions matched by (prompt, completion).")
    labellers: list[str]
    unmatched_lines: list[int] = Field(description="File lines that match no completion.")
    unlabelled_lines: list[int] = Field(description="Matched lines that carry no label.")


class VerdictPublic(BaseModel):
    verdict: str = Field(description="full_compliance, full_refusal, partial_refusal or unparsed.")
    rule: str


class CompletionVerdicts(BaseModel):
    completion_id: int
    idx: int
    verdicts: dict[str, VerdictPublic] = Field(description="By classifier name.")


class EvaluationVerdicts(BaseModel):
    """Every classifier's verdicts on an evaluation's completions (the Verdict table)."""

    evaluation_id: int
    classifier: str = Field(description="The evaluation's own classifier (its metrics').")
    classifiers: list[str] = Field(description="Classifiers with verdicts: its own first.")
    classifier_metrics: dict[str, Any] = Field(
        description="Per classifier: {'metrics': ..., 'per_type': ...} from its verdicts."
    )
    completions: list[CompletionVerdicts]


class ClassifierAgreement(BaseModel):
    """Two classifiers on the completions both judged; unparsed is a fourth category."""

    evaluation_id: int
    a: str
    b: str
    labels: list[str] = Field(description="Rows (a's verdict) and columns (b's) of the matrix.")
    matrix: list[list[int]]
    n: int = Field(description="Completions judged by both.")
    agreement: float | None = Field(description="Share given the same verdict.")
    kappa: float | None = Field(description="Cohen's kappa over the four categories.")

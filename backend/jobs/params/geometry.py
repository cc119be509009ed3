"""Parameters of the geometry kinds: spectra captures, linear probes, refusal directions and
interventions on them, and the similarity of two prompt sets."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from backend.errors import FieldError
from backend.jobs.params.base import JobParams, ModelRef, OrName, exactly_one


class CaptureSpectraParams(ModelRef):
    dataset_id: int = Field(ge=1, title="Prompt set", description="Its rows' prompts are captured.")
    hook: Literal["resid_pre", "resid_mid", "resid_post"] = "resid_post"
    position: Literal["last_prompt", "all"] = Field(
        "last_prompt", description="Final prompt token, or a streaming covariance of all tokens."
    )
    chat_template: bool = True
    batch_size: int = Field(32, ge=1, le=1024)
    max_prompts: int | None = Field(None, ge=3, le=1_000_000)
    bootstrap: int = Field(
        200, ge=0, le=5000, title="Bootstrap resamples", description="For 95% intervals."
    )
    reference_run_id: int | None = Field(
        None, ge=1, title="Reference run", description="Run to align against (alignment)."
    )
    reference_job_id: int | None = Field(
        None, ge=1, description="Or the capture job whose run to align against."
    )
    seed: int = Field(0, ge=0)


class InterventionParams(JobParams):
    """An intervention on a capture run's refusal direction (DESIGN.md "Interventions")."""

    kind: Literal["ablate", "add"] = Field(
        title="Intervention",
        description="ablate: project the direction out at every layer and position; add: add "
        "alpha x the layer's mean norm x the unit direction at that layer.",
    )
    run_id: int | None = Field(
        None, ge=1, title="Direction's run", description="Capture run with safe and unsafe prompts."
    )
    capture_job_id: int | None = Field(None, ge=1, description="Or the capture job that makes it.")
    layer: int = Field(ge=0, description="Layer of the direction (and where add applies).")
    alpha: float = Field(
        0.0, ge=-100, le=100, description="add: multiples of the layer's mean residual norm."
    )

    _one_run = exactly_one("run_id", "capture_job_id")


class SelectDirectionParams(ModelRef):
    """Score every layer's refusal direction of a capture run by ablating it (Arditi et al.'s
    selection): refusal-score drop on the unsafe prompts, KL on the safe ones."""

    run_id: int | None = Field(None, ge=1, title="Capture run", description="Run whose directions.")
    capture_job_id: int | None = Field(None, ge=1, description="Or the capture job that makes it.")
    probe_dataset_id: int = Field(ge=1, title="Probe set", description="Safe and unsafe prompts.")
    max_prompts: int | None = Field(None, ge=1, le=100_000, description="Of each label.")
    batch_size: int = Field(32, ge=1, le=1024)
    chat_template: bool = True
    kl_max: float = Field(
        0.1, gt=0, le=100, title="KL limit", description="Layers costing more KL are not proposed."
    )
    max_layer_fraction: float = Field(
        0.8, gt=0, le=1, description="Only layers below this share of the depth are proposed."
    )

    _one_run = exactly_one("run_id", "capture_job_id")


class ProbeParams(JobParams):
    """Linear probes of unsafe vs safe per layer on a capture run's last-prompt residuals."""

    run_id: int | None = Field(None, ge=1, title="Capture run", description="Run to probe.")
    capture_job_id: int | None = Field(
        None, ge=1, description="Or the capture job that makes the run (a job it depends on)."
    )
    folds: int = Field(5, ge=2, le=20, title="Folds", description="Stratified k-fold splits.")
    C: float = Field(
        1.0, gt=0, le=1e6, title="Inverse regularisation", description="LogisticRegression's C."
    )
    seed: int = Field(0, ge=0, description="Seed of the fold split.")

    _one_run = exactly_one("run_id", "capture_job_id")


class DataSimilarityParams(JobParams):
    """Similarity of two prompt sets: word n-gram overlap, and with a model (or two capture runs
    of one model) the overlap of their top-k residual subspaces per layer (DESIGN.md)."""

    dataset_id: int = Field(ge=1, title="Dataset A")
    other_dataset_id: int = Field(ge=1, title="Dataset B")
    model_id: int | None = Field(
        None, ge=1, description="Model whose residuals are compared (none: n-gram overlap only)."
    )
    model_name: OrName = None
    run_id: int | None = Field(
        None, ge=1, title="Run on A", description="Or last_prompt capture runs of one model..."
    )
    other_run_id: int | None = Field(None, ge=1, title="Run on B", description="...on A and B.")
    k: int = Field(10, ge=1, le=1024, description="Dimension of each principal subspace.")
    max_prompts: int = Field(
        500, ge=3, le=100_000, description="Prompts drawn (seeded) from a set captured here."
    )
    seed: int = Field(0, ge=0, description="Seed of that draw.")

    @model_validator(mode="after")
    def _one_source(self):
        if (self.run_id is None) != (self.other_run_id is None):
            raise FieldError("other_run_id", "give both run_id and other_run_id, or neither")
        if self.model_id is not None and self.model_name is not None:
            raise FieldError("model_id", "give at most one of model_id and model_name")
        if self.run_id is not None and (self.model_id or self.model_name) is not None:
            raise FieldError("model_id", "give a model or two runs, not both")
        return self

"""Parameters of every job kind: one Pydantic model each, validated at submit time and stored
with the job so that a result is reproducible from what the database holds."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class JobParams(BaseModel):
    """Base of all parameter models: unknown fields are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


class EchoParams(JobParams):
    message: str = Field("hello", max_length=10_000, description="Text returned in the result.")
    sleep_seconds: float = Field(
        0.0, ge=0, le=3600, description="Time to spend, in steps of 0.1 s."
    )
    crash: Literal["none", "exception", "segfault", "exit"] = Field(
        "none", description="Fail on purpose after sleeping (tests of crash handling)."
    )
    mark_file: str | None = Field(
        None, description="Append one line per execution to this file (exactly-once checks)."
    )


class RegisterBuiltinParams(JobParams):
    seed: int = Field(0, ge=0, description="Seed of the template generators.")


class DatasetStatsParams(JobParams):
    dataset_id: int = Field(ge=1, description="Dataset to measure.")


class TrainDemoModelParams(JobParams):
    name: str = Field("demo", pattern=r"^[\w.\-]{1,100}$", description="Registered model name.")
    seed: int = Field(0, ge=0)
    n_layers: int = Field(4, ge=1, le=24)
    d_model: int = Field(128, ge=16, le=1024, multiple_of=8)
    steps: int | None = Field(None, ge=1, le=100_000, description="Default: fits the corpus.")


class CaptureSpectraParams(JobParams):
    model_id: int = Field(ge=1)
    dataset_id: int = Field(ge=1, description="Prompt set (its rows' prompts are used).")
    hook: Literal["resid_pre", "resid_mid", "resid_post"] = "resid_post"
    position: Literal["last_prompt", "all"] = Field(
        "last_prompt", description="Final prompt token, or a streaming covariance of all tokens."
    )
    chat_template: bool = True
    batch_size: int = Field(32, ge=1, le=1024)
    max_prompts: int | None = Field(None, ge=3, le=1_000_000)
    bootstrap: int = Field(200, ge=0, le=5000, description="Resamples for 95% intervals.")
    reference_run_id: int | None = Field(None, ge=1, description="Run to align against.")
    seed: int = Field(0, ge=0)

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
    sleep_seconds: float = Field(0.0, ge=0, le=3600, description="Time to spend, in steps of 0.1 s.")
    crash: Literal["none", "exception", "segfault", "exit"] = Field(
        "none", description="Fail on purpose after sleeping (tests of crash handling)."
    )
    mark_file: str | None = Field(
        None, description="Append one line per execution to this file (exactly-once checks)."
    )

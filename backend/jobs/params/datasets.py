"""Parameters of the dataset kinds: register the built-in sets, measure one, import one."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from backend.jobs.params.base import JobParams


class RegisterBuiltinParams(JobParams):
    seed: int = Field(0, ge=0, description="Seed of the template generators.")


class DatasetStatsParams(JobParams):
    dataset_id: int = Field(ge=1, description="Dataset to measure.")


class ImportHubDatasetParams(JobParams):
    """A Hugging Face dataset by hub name (where the hub is reachable) or a local dataset folder."""

    repo: str = Field(
        min_length=1, max_length=300, description="Hub name, e.g. natolambert/xstest-v2-copy."
    )
    split: str = Field("train", min_length=1, max_length=100)
    name: str = Field(pattern=r"^[\w.\-]{1,100}$", description="Name to register it under.")
    prompt_field: str = Field("prompt", min_length=1)
    response_field: str | None = None
    label_field: str | None = Field(None, description="Column holding safe/unsafe.")
    type_field: str | None = None
    label: Literal["safe", "unsafe"] | None = Field(None, description="Label of rows without one.")
    max_rows: int = Field(100_000, ge=1, le=1_000_000)

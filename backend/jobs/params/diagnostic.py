"""Parameters of the diagnostic ``echo`` kind (tests of progress, crashes and exactly-once)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from backend.jobs.params.base import JobParams


class EchoParams(JobParams):
    message: str = Field("hello", max_length=10_000, description="Text returned in the result.")
    sleep_seconds: float = Field(
        0.0, ge=0, le=3600, description="Time to spend, in steps of 0.1 s."
    )
    crash: Literal["none", "exception", "segfault", "exit"] = Field(
        "none", description="Fail on purpose after sleeping (tests of crash handling)."
    )
    mark: str | None = Field(
        None,
        pattern=r"^[\w.\-]{1,100}$",
        description="Append one line per execution to diagnostics/<mark> in the artifact store "
        "(exactly-once checks); a file name, never a path.",
    )

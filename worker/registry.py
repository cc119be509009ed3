"""The one place job kinds are registered: kind -> parameters model -> function.

This module is light (pydantic only): the API imports it to validate parameters at submit time.
The function is named by a dotted path and imported only in the worker's child process.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from worker.params import EchoParams


@dataclass(frozen=True)
class JobKind:
    name: str
    params: type[BaseModel]
    function: str  # "module:function", called as function(ctx, params) -> dict | None
    description: str

    def load(self) -> Callable[..., dict[str, Any] | None]:
        module, _, attr = self.function.partition(":")
        return getattr(importlib.import_module(module), attr)


KINDS: dict[str, JobKind] = {
    kind.name: kind
    for kind in (
        JobKind(
            "echo",
            EchoParams,
            "worker.jobs.diagnostic:echo",
            "Diagnostic: sleeps, reports progress and echoes a message (tests, health checks).",
        ),
    )
}


def get_kind(name: str) -> JobKind:
    try:
        return KINDS[name]
    except KeyError:
        raise ValueError(f"unknown job kind {name!r}; known kinds: {', '.join(sorted(KINDS))}")

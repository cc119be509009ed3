"""Diagnostic job kind for tests and health checks."""

from __future__ import annotations

import ctypes
import os
import time

from backend.jobs.params import EchoParams
from worker.context import JobContext

STEP_S = 0.1


def echo(ctx: JobContext, params: EchoParams) -> dict:
    """Sleep in small steps with progress, optionally crash, then echo the message."""
    steps = round(params.sleep_seconds / STEP_S)
    for step in range(steps):
        time.sleep(STEP_S)
        ctx.progress((step + 1) / steps, f"step {step + 1}/{steps}")
    if params.crash == "exception":
        raise RuntimeError("diagnostic crash requested")
    if params.crash == "exit":
        os._exit(3)
    if params.crash == "segfault":
        ctypes.string_at(0)
    if params.mark_file:
        with open(params.mark_file, "a") as handle:
            handle.write(f"{ctx.job_id} {ctx.lease.worker_id} {ctx.lease.attempt}\n")
    return {"message": params.message, "pid": os.getpid()}

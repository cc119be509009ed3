"""Diagnostic job kind for tests and health checks."""

from __future__ import annotations

import ctypes
import os
import time

import torch

from backend.jobs.params.diagnostic import EchoParams
from worker.context import JobContext, JobError
from worker.jobs.common import store

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
    if params.mark:
        _append_mark(ctx, params.mark)
    return {
        "message": params.message,
        "pid": os.getpid(),
        "threads": str(torch.get_num_threads()),
    }


def _append_mark(ctx: JobContext, mark: str) -> None:
    """One line per execution in the store's diagnostics/ folder: the only file echo touches."""
    artifacts = store(ctx)
    if not artifacts.is_local:
        raise JobError("mark: needs a local artifact store")
    folder = artifacts.staging_dir("diagnostics", ctx.artifact_root)  # local: in the store
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / mark).open("a") as handle:
        handle.write(f"{ctx.job_id} {ctx.lease.worker_id} {ctx.lease.attempt}\n")

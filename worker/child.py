"""Entry point of the child process that runs one job (forked from the worker's fork server).

A fresh process per job releases GPU memory, contains crashes and lets cancel terminate it.
The child exits by itself when its worker dies, so an orphan never finishes a job that has
been handed to another worker. On a several-device worker, a multi-device job's child launches
one rank per device (worker/distributed.py) and waits for them.
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import threading
import time
import traceback

from sqlalchemy.exc import OperationalError

from backend import queue
from backend.config import Settings
from backend.db import write_session
from backend.gc import clean_job
from backend.jobs.kinds import JobKind, get_kind
from worker import faults
from worker.context import JobContext, JobError, JobLost
from worker.distributed import (
    RankFailed,
    device_list,
    job_devices,
    launch,
    requeue_or_fail,
    uses_ranks,
)

DB_ATTEMPTS = 15
DB_RETRY_S = 2.0


def exit_when_gone(pid: int) -> None:
    """From a daemon thread, exit this process (status 70) once process ``pid`` is gone: a
    job's child watches its worker, a rank the child that launched it."""

    def watch() -> None:
        while True:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                os._exit(70)
            time.sleep(0.5)

    threading.Thread(target=watch, daemon=True).start()


def job_function(kind: JobKind):
    """The worker's implementation of ``kind`` (the registry names it "module:function")."""
    module, _, attr = kind.function.partition(":")
    return getattr(importlib.import_module(module), attr)


def own_threads(threads: int) -> None:
    """The job uses the cores its worker gives it, and its idle threads sleep instead of
    spinning (a busy machine otherwise makes a training step many times slower); a user's own
    settings win. The wait policy is read when OpenMP loads, so the worker sets it before its
    fork server imports torch; torch's thread pool starts at the first parallel operation, so
    its size is still ours to set here."""
    import torch

    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(name, str(threads))
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))


def run_job(lease: queue.Lease, kind_name: str, params: dict, settings: Settings) -> None:
    """Validate the parameters, run the job function, record success or failure."""
    worker = multiprocessing.parent_process()  # None when run in-process (tests)
    worker_pid = worker.pid if worker is not None else os.getppid()
    exit_when_gone(worker_pid)  # the worker, not our parent: the fork server outlives it
    if settings.threads_per_job:  # the runner's share of the cores (not set for inline runs)
        own_threads(settings.threads_per_job)
    devices = device_list(settings.device)
    ctx = JobContext(lease, settings.model_copy(update={"device": devices[0]}))
    kind = get_kind(kind_name)
    faults.arm(kind_name, lease.attempt, worker_pid)
    try:
        validated = kind.params.model_validate(params)
        devices = job_devices(validated, devices)  # those the job names, else all
        ctx.settings = ctx.settings.model_copy(update={"device": devices[0]})
        if lease.attempt > 1:  # what an earlier attempt was writing when it stopped
            clean_leftovers(ctx, temps_only=True)
        if uses_ranks(kind_name, devices):
            result = launch(ctx, kind_name, params, devices)
        else:  # one device: a several-device worker's one-device jobs take its first
            result = job_function(kind)(ctx, validated)
        _with_retries(lambda: _complete(ctx, result))
    except JobLost:
        return
    except RankFailed as exc:  # a rank was killed: the next attempt resumes from the checkpoint
        error = str(exc)
        _with_retries(lambda: requeue_or_fail(ctx, error))
    except JobError as exc:
        _record_failure(ctx, str(exc))
    except Exception as exc:  # the job's own bug or bad input: record it, keep the worker alive
        ctx.log(traceback.format_exc())
        _record_failure(ctx, f"{type(exc).__name__}: {exc}")


def _complete(ctx: JobContext, result: dict | None) -> None:
    with write_session(ctx.settings.database_url) as session:
        queue.complete(session, ctx.lease, result, ctx.log_text())


def clean_leftovers(ctx: JobContext, temps_only: bool = False) -> None:
    """Remove the job's temporaries, and unless ``temps_only`` its outputs no row points to
    (partial results, checkpoints) once it has failed for good (backend/gc.py)."""
    for item in clean_job(ctx.settings.database_url, ctx.artifact_root, ctx.job_id, temps_only):
        ctx.log(f"removed {item.key} ({item.why})")


def _record_failure(ctx: JobContext, error: str) -> None:
    def record() -> None:
        with write_session(ctx.settings.database_url) as session:
            queue.fail(session, ctx.lease, error, ctx.log_text())

    try:
        clean_leftovers(ctx)
    except OSError as exc:  # a store that cannot be written: the failure is recorded anyway
        ctx.log(f"leftovers not removed: {exc}")
    _with_retries(record)


def _with_retries(write, attempts: int = DB_ATTEMPTS) -> None:
    """Final writes survive a database restart: retry while it is unreachable."""
    for attempt in range(attempts):
        try:
            return write()
        except OperationalError:
            if attempt == attempts - 1:
                raise
            time.sleep(DB_RETRY_S)

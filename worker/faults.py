"""Fault injection for tests, off unless ``FLOWLENS_TEST_FAULT`` is set in a worker's
environment: ``<kind>.<point>:<n>[@<attempt>][:worker]``, comma-separated, makes attempt
``attempt`` (default 1: its retry runs on) of a ``kind`` job SIGKILL its own process (with
``:worker``, its worker first) the n-th time it reaches ``point``. Points: ``progress`` (each
progress report: a fine-tune's steps, generation and capture batches), ``transaction`` (before
a job's write transaction commits: a sweep's expansion), ``save_model`` (a model or checkpoint
folder written but not yet renamed into place), ``artifact_write`` (a capture's file written
but not yet renamed into place)."""

from __future__ import annotations

import os
import signal

ENV = "FLOWLENS_TEST_FAULT"
POINTS = ("progress", "transaction", "save_model", "artifact_write")

_armed: dict[str, tuple[int, bool]] = {}  # point -> (occurrence, kill the worker too)
_seen: dict[str, int] = {}
_worker: list[int] = []  # the pid of the job's worker


def parse(spec: str, kind: str, attempt: int) -> dict[str, tuple[int, bool]]:
    """The points of ``spec`` that apply to attempt ``attempt`` of a ``kind`` job."""
    armed = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        where, _, rest = item.partition(":")
        job_kind, _, point = where.partition(".")
        when, _, target = rest.partition(":")
        count, _, on_attempt = when.partition("@")
        numbers = count.isdigit() and (on_attempt or "1").isdigit()
        if point not in POINTS or not numbers or target not in ("", "worker"):
            raise ValueError(
                f"{ENV}: {item!r} is not <kind>.<point>:<n>[@<attempt>][:worker] ({POINTS})"
            )
        if job_kind == kind and int(on_attempt or 1) == attempt:
            armed[point] = (int(count), target == "worker")
    return armed


def arm(kind: str, attempt: int, worker_pid: int) -> None:
    """Called once by the job's process, before the job runs."""
    _armed.clear()
    _seen.clear()
    _worker[:] = [worker_pid]
    _armed.update(parse(os.environ.get(ENV, ""), kind, attempt))


def reached(point: str) -> None:
    """Count one occurrence of ``point``; die here if this is the armed one."""
    if point not in _armed:
        return
    _seen[point] = _seen.get(point, 0) + 1
    count, worker_too = _armed[point]
    if _seen[point] == count:
        if worker_too:
            os.kill(_worker[0], signal.SIGKILL)
        os.kill(os.getpid(), signal.SIGKILL)

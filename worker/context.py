"""What a running job sees: its parameters, settings, progress reporting and guarded writes."""

from __future__ import annotations

import shutil
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from backend import queue
from backend.artifacts import ArtifactStore, remove_path
from backend.config import Settings
from backend.db import write_session
from backend.models import Job, JobStatus
from worker import faults

PROGRESS_INTERVAL_S = 0.5


class JobLost(Exception):
    """The job was cancelled or its lease moved to another worker: stop without writing."""


class JobError(Exception):
    """An expected failure with a message for the user (bad model, bad data...)."""


class JobContext:
    """Handed to every job function as ``fn(ctx, params)``."""

    def __init__(self, lease: queue.Lease, settings: Settings) -> None:
        self.lease = lease
        self.settings = settings
        self._log: deque[str] = deque(maxlen=400)
        self._last_report = 0.0

    @property
    def job_id(self) -> int:
        return self.lease.job_id

    @property
    def device(self) -> str:
        return self.settings.device

    @property
    def artifact_root(self) -> str:
        return self.settings.artifact_root

    def log(self, line: str) -> None:
        self._log.append(f"{time.strftime('%H:%M:%S')} {line}")

    def log_text(self) -> str:
        return "\n".join(self._log)

    def progress(self, fraction: float, message: str = "", *, force: bool = False) -> None:
        """Report progress (throttled); raises JobLost when the job is no longer ours."""
        faults.reached("progress")
        now = time.monotonic()
        if not force and now - self._last_report < PROGRESS_INTERVAL_S:
            return
        self._last_report = now
        if message:
            self.log(message)
        try:
            with write_session(self.settings.database_url) as session:
                held = queue.report_progress(
                    session, self.lease, fraction, message, self.log_text()
                )
        except OperationalError:  # progress is best effort: the database may be restarting
            self.log("progress not recorded: database unavailable")
            return
        if not held:
            raise JobLost(f"job {self.job_id} is no longer held by this worker")

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A write transaction that commits only while this worker still holds the job."""
        with write_session(self.settings.database_url) as session:
            held = session.scalar(
                select(Job.id).where(
                    Job.id == self.job_id,
                    Job.worker_id == self.lease.worker_id,
                    Job.attempts == self.lease.attempt,
                    Job.status == JobStatus.RUNNING,
                )
            )
            if held is None:
                raise JobLost(f"job {self.job_id} is no longer held by this worker")
            yield session
            faults.reached("transaction")

    def finish_checkpoints(self, folder: Path, keep: bool) -> dict:
        """After success: remove the job's checkpoint folder, or with ``keep`` all but its
        newest checkpoint, whose URI is returned for the job's result (gc keeps what a row
        names)."""
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)
            return {}
        from worker.science.trainer import last_checkpoint

        newest = last_checkpoint(folder) if folder.is_dir() else None
        for entry in folder.iterdir() if folder.is_dir() else ():
            if entry != newest:
                remove_path(entry)
        if newest is None:
            return {}
        artifacts = ArtifactStore(self.artifact_root)
        root = Path(artifacts.root)
        if artifacts.is_local and newest.is_relative_to(root):
            return {"checkpoint_uri": artifacts.uri(newest.relative_to(root).as_posix())}
        return {"checkpoint_path": str(newest)}

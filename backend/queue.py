"""The job queue on the ``jobs`` table: enqueue, claim, heartbeat, finish, cancel, retry, reap.

Every state change is a guarded UPDATE: a worker only writes to a job while it holds its
lease, identified by ``Lease(job_id, worker_id, attempt)``. A job whose lease expired goes
back to the queue (or fails after ``max_attempts``); stale writers then match no row.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import and_, exists, select, update
from sqlalchemy.orm import Session, aliased

from backend.jobs.params.base import devices_owned
from backend.models import Job, JobDependency, JobStatus, utcnow

LOG_TAIL_CHARS = 20_000


class QueueError(Exception):
    """A request the queue refuses (unknown job, wrong state); the message names the problem."""


@dataclass(frozen=True)
class Lease:
    job_id: int
    worker_id: str
    attempt: int


def enqueue(
    session: Session,
    kind: str,
    params: dict[str, Any],
    *,
    priority: int = 0,
    max_attempts: int = 3,
    depends_on: Iterable[int] = (),
    parent_job_id: int | None = None,
) -> Job:
    """Add a job; it runs once every job in ``depends_on`` succeeded. ``parent_job_id`` is the
    job that created it (a sweep): cancelling the parent cancels it too."""
    parents = sorted(set(depends_on))
    found = {j.id: j for j in session.scalars(select(Job).where(Job.id.in_(parents)))}
    missing = [p for p in parents if p not in found]
    if missing:
        raise QueueError(f"depends_on: unknown job id(s) {missing}")
    job = Job(
        kind=kind,
        params=params,
        priority=priority,
        max_attempts=max_attempts,
        parent_job_id=parent_job_id,
    )
    session.add(job)
    session.flush()
    session.add_all(JobDependency(job_id=job.id, depends_on_id=p) for p in parents)
    dead = [p for p in found.values() if p.status in (JobStatus.FAILED, JobStatus.CANCELLED)]
    if dead:
        _finish(job, JobStatus.CANCELLED, error=f"parent job {dead[0].id} {dead[0].status}")
    session.flush()
    return job


def runnable():
    """Queued jobs whose parents all succeeded."""
    parent = aliased(Job)
    blocked = exists(
        select(JobDependency.job_id)
        .join(parent, parent.id == JobDependency.depends_on_id)
        .where(JobDependency.job_id == Job.id, parent.status != JobStatus.SUCCEEDED)
    )
    return select(Job.id).where(Job.status == JobStatus.QUEUED, ~blocked)


CLAIM_CANDIDATES = 64  # runnable jobs looked at per claim for one whose devices this worker owns


def claim(
    session: Session,
    worker_id: str,
    *,
    kinds: Iterable[str] | None,
    lease_seconds: float,
    devices: list[str] | None = None,
) -> Lease | None:
    """Atomically take the best runnable job: priority first, then oldest. A job naming
    ``devices`` in its params goes only to a worker whose ``devices`` include them.

    PostgreSQL: ``FOR UPDATE SKIP LOCKED``. SQLite: the caller's ``write_session`` holds the
    write lock from BEGIN, so claims serialise; the UPDATE is guarded on status anyway.
    """
    query = runnable().add_columns(Job.params).order_by(Job.priority.desc(), Job.id)
    if kinds is not None:
        query = query.where(Job.kind.in_(list(kinds)))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=Job)
    candidates = session.execute(query.limit(CLAIM_CANDIDATES if devices else 1)).all()
    job_id = next((i for i, params in candidates if _fits(params, devices)), None)
    if job_id is None:
        return None
    now = utcnow()
    row = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == JobStatus.QUEUED)
        .values(
            status=JobStatus.RUNNING,
            worker_id=worker_id,
            attempts=Job.attempts + 1,
            started_at=now,
            heartbeat_at=now,
            lease_expires_at=now + timedelta(seconds=lease_seconds),
            error=None,
        )
        .returning(Job.attempts)
    ).first()
    return Lease(job_id, worker_id, row[0]) if row else None


def _fits(params: dict | None, devices: list[str] | None) -> bool:
    wanted = (params or {}).get("devices")
    return not wanted or devices is None or devices_owned(devices, wanted)


def _held(lease: Lease):
    return and_(
        Job.id == lease.job_id,
        Job.worker_id == lease.worker_id,
        Job.attempts == lease.attempt,
        Job.status == JobStatus.RUNNING,
    )


def _update_held(session: Session, lease: Lease, **values: Any) -> bool:
    """Set ``values`` on the lease's job if the lease is still held; whether it was."""
    return session.execute(update(Job).where(_held(lease)).values(**values)).rowcount == 1


def heartbeat(session: Session, leases: Iterable[Lease], lease_seconds: float) -> set[int]:
    """Extend the leases still held; return the ids of jobs this worker no longer holds
    (cancelled, or re-queued after a lost lease): their processes must stop."""
    now = utcnow()
    lost = set()
    for lease in leases:
        expires = now + timedelta(seconds=lease_seconds)
        if not _update_held(session, lease, heartbeat_at=now, lease_expires_at=expires):
            lost.add(lease.job_id)
    return lost


@dataclass(frozen=True)
class LeaseState:
    held: bool
    progress: float
    message: str
    status: str = ""  # the job's status now
    mine: bool = False  # still this lease's worker and attempt (it may have finished the job)


def lease_states(session: Session, leases: Iterable[Lease]) -> dict[int, LeaseState]:
    """Read-only view of a worker's jobs: whether each lease is still held, and its progress
    (cheap enough for every poll, so a cancel is seen within a second)."""
    by_id = {lease.job_id: lease for lease in leases}
    if not by_id:
        return {}
    rows = session.execute(
        select(Job.id, Job.worker_id, Job.attempts, Job.status, Job.progress, Job.message).where(
            Job.id.in_(list(by_id))
        )
    )
    states = {
        r.id: LeaseState(
            (r.worker_id, r.attempts, r.status)
            == (by_id[r.id].worker_id, by_id[r.id].attempt, JobStatus.RUNNING),
            r.progress,
            r.message,
            r.status,
            (r.worker_id, r.attempts) == (by_id[r.id].worker_id, by_id[r.id].attempt),
        )
        for r in rows
    }
    return {job_id: states.get(job_id, LeaseState(False, 0.0, "")) for job_id in by_id}


def report_progress(
    session: Session, lease: Lease, progress: float, message: str, log: str | None = None
) -> bool:
    """Record progress (0..1) while holding the lease; False if the lease is gone."""
    values: dict[str, Any] = {"progress": min(max(progress, 0.0), 1.0), "message": message[:2000]}
    if log is not None:
        values["log"] = log[-LOG_TAIL_CHARS:]
    return _update_held(session, lease, **values)


def complete(session: Session, lease: Lease, result: dict[str, Any] | None, log: str = "") -> bool:
    """Mark succeeded; in the same transaction as the job's results, so both land or neither."""
    return _update_held(
        session,
        lease,
        status=JobStatus.SUCCEEDED,
        progress=1.0,
        message="done",
        result=result,
        log=log[-LOG_TAIL_CHARS:],
        finished_at=utcnow(),
        lease_expires_at=None,
    )


def fail(session: Session, lease: Lease, error: str, log: str | None = None) -> bool:
    """Mark failed (if still held) and cancel the job's descendants."""
    job = session.scalar(select(Job).where(_held(lease)).with_for_update())
    if job is None:
        return False
    if log is not None:
        job.log = log[-LOG_TAIL_CHARS:]
    _finish(job, JobStatus.FAILED, error=error)
    _cancel_descendants(session, job.id, f"parent job {job.id} failed: {error}")
    return True


def retry_or_fail(session: Session, lease: Lease, error: str) -> str | None:
    """A job whose process was killed (a signal: the OOM killer, SIGKILL) goes back to the queue
    like a lost worker's, while attempts remain, with the reason in its message and log; after
    the last attempt it fails. Its dependants keep waiting while a retry is pending. Returns the
    new status (None if the lease was no longer held)."""
    job = session.scalar(select(Job).where(_held(lease)).with_for_update())
    if job is None:
        return None
    job.log = (job.log + f"\nattempt {job.attempts}: {error}")[-LOG_TAIL_CHARS:]
    if job.attempts >= job.max_attempts:
        why = f"{error} (attempt {job.attempts} of {job.max_attempts}; giving up)"
        _finish(job, JobStatus.FAILED, error=why)
        _cancel_descendants(session, job.id, f"parent job {job.id} failed: {why}")
        return JobStatus.FAILED
    job.status, job.worker_id, job.lease_expires_at = JobStatus.QUEUED, None, None
    job.message = f"re-queued after attempt {job.attempts}: {error}"[:2000]
    return JobStatus.QUEUED


def release(session: Session, lease: Lease) -> bool:
    """Give a running job back to the queue without spending an attempt (worker shutdown)."""
    return _update_held(
        session,
        lease,
        status=JobStatus.QUEUED,
        worker_id=None,
        attempts=Job.attempts - 1,
        lease_expires_at=None,
        message="released by a stopping worker",
    )


def cancel(session: Session, job_id: int, reason: str = "cancelled by user") -> Job:
    """Cancel a queued or running job (its worker stops the process), its descendants, and the
    unfinished jobs it created (a sweep's cells, even after the sweep job itself succeeded)."""
    job = _get_for_update(session, job_id)
    created = [
        j
        for j in session.scalars(select(Job).where(Job.parent_job_id == job_id))
        if j.status not in JobStatus.FINISHED
    ]
    if job.status in JobStatus.FINISHED and not created:
        raise QueueError(f"job {job_id} is already {job.status}")
    if job.status not in JobStatus.FINISHED:
        _finish(job, JobStatus.CANCELLED, error=reason)
        _cancel_descendants(session, job.id, f"parent job {job.id} cancelled: {reason}")
    for child in created:
        if child.status not in JobStatus.FINISHED:
            _finish(child, JobStatus.CANCELLED, error=f"sweep job {job_id} cancelled: {reason}")
            _cancel_descendants(session, child.id, f"parent job {child.id} cancelled: {reason}")
    return job


def retry(session: Session, job_id: int) -> Job:
    """Re-queue a failed or cancelled job with fresh attempts, and the descendants that were
    cancelled because of it."""
    job = _get_for_update(session, job_id)
    if job.status not in (JobStatus.FAILED, JobStatus.CANCELLED):
        raise QueueError(f"job {job_id} is {job.status}; only failed or cancelled jobs are retried")
    _requeue_fresh(job)
    for child in _descendants(session, job.id):
        if child.status == JobStatus.CANCELLED and (child.error or "").startswith("parent job"):
            _requeue_fresh(child)
    return job


def reap_expired(session: Session) -> list[int]:
    """Re-queue running jobs whose lease expired (their worker is gone); fail those that used
    all their attempts. Returns the ids handled."""
    now = utcnow()
    expired = session.scalars(
        select(Job)
        .where(Job.status == JobStatus.RUNNING, Job.lease_expires_at < now)
        .with_for_update(skip_locked=True)
    ).all()
    for job in expired:
        if job.attempts >= job.max_attempts:
            error = (
                f"lease expired on attempt {job.attempts} of {job.max_attempts} "
                f"(worker {job.worker_id} lost); giving up"
            )
            _finish(job, JobStatus.FAILED, error=error)
            _cancel_descendants(session, job.id, f"parent job {job.id} failed: {error}")
        else:
            job.status = JobStatus.QUEUED
            job.message = f"re-queued: lease of worker {job.worker_id} expired"
            job.worker_id = None
            job.lease_expires_at = None
    return [job.id for job in expired]


def _get_for_update(session: Session, job_id: int) -> Job:
    job = session.scalar(select(Job).where(Job.id == job_id).with_for_update())
    if job is None:
        raise LookupError(f"job {job_id} not found")
    return job


def _finish(job: Job, status: str, *, error: str | None) -> None:
    job.status = status
    job.error = error
    job.finished_at = utcnow()
    job.lease_expires_at = None


def _requeue_fresh(job: Job) -> None:
    job.status = JobStatus.QUEUED
    job.attempts = 0
    job.error = None
    job.progress = 0.0
    job.message = "retried"
    job.worker_id = None
    job.finished_at = None


def _descendants(session: Session, job_id: int) -> list[Job]:
    """All jobs that depend on ``job_id`` directly or transitively, breadth first."""
    seen: dict[int, Job] = {}
    frontier = [job_id]
    while frontier:
        children = session.scalars(
            select(Job)
            .join(JobDependency, JobDependency.job_id == Job.id)
            .where(JobDependency.depends_on_id.in_(frontier))
        ).all()
        frontier = [c.id for c in children if c.id not in seen]
        seen.update((c.id, c) for c in children)
    return list(seen.values())


def _cancel_descendants(session: Session, job_id: int, reason: str) -> None:
    for child in _descendants(session, job_id):
        if child.status not in JobStatus.FINISHED:
            _finish(child, JobStatus.CANCELLED, error=reason)

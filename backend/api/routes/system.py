"""Health and workers."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from importlib.metadata import version

from fastapi import APIRouter
from sqlalchemy import select

from backend.api.deps import SessionDep, SettingsDep
from backend.auth import needs_token
from backend.models import Job, JobStatus, Worker, utcnow
from backend.schemas import Health, WorkerPublic

router = APIRouter(tags=["system"])


def _alive_since(settings) -> object:
    return utcnow() - timedelta(seconds=3 * settings.heartbeat_seconds + 5)


@router.get("/health", response_model=Health)
def health(session: SessionDep, settings: SettingsDep) -> Health:
    alive = session.scalars(
        select(Worker.id).where(
            Worker.stopped_at.is_(None), Worker.heartbeat_at >= _alive_since(settings)
        )
    ).all()
    return Health(
        status="ok",
        database=session.get_bind().dialect.name,
        version=version("flowlens"),
        workers_alive=len(alive),
        writes_need_token=needs_token(settings, "POST"),
    )


@router.get("/workers", response_model=list[WorkerPublic])
def list_workers(session: SessionDep, settings: SettingsDep) -> list[WorkerPublic]:
    workers = session.scalars(select(Worker).order_by(Worker.started_at.desc()).limit(200)).all()
    running: dict[str, list[int]] = defaultdict(list)
    for job_id, worker_id in session.execute(
        select(Job.id, Job.worker_id).where(Job.status == JobStatus.RUNNING)
    ):
        running[worker_id].append(job_id)
    since = _alive_since(settings)
    return [
        WorkerPublic.model_validate(
            {
                **{f: getattr(w, f) for f in WorkerPublic.model_fields if hasattr(w, f)},
                "alive": w.stopped_at is None and w.heartbeat_at >= since,
                "current_jobs": running[w.id],
            }
        )
        for w in workers
    ]

"""Jobs: submit, list, read, cancel, retry; and the registered job kinds."""

from __future__ import annotations

from collections import defaultdict

from fastapi import APIRouter, HTTPException, Query
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend import queue
from backend.api.deps import SessionDep, WriteSessionDep, comma_list, not_found
from backend.errors import FieldError
from backend.jobs.kinds import KINDS
from backend.models import Job, JobDependency, JobStatus, TrainMetric, utcnow
from backend.schemas import (
    JobCreate,
    JobDetail,
    JobPublic,
    KindPublic,
    Page,
    TrainMetricPublic,
)

router = APIRouter(tags=["jobs"])


def _field_error(err: dict) -> dict:
    """Point an error that a validator raised as a FieldError at its field, with its message."""
    error = err.get("ctx", {}).get("error")
    if isinstance(error, FieldError):
        return {**err, "loc": (*err["loc"], error.field), "msg": error.message}
    return err


def _params_error(loc: tuple, msg: str, value: object) -> RequestValidationError:
    return RequestValidationError(
        [{"type": "value_error", "loc": ("body", "params", *loc), "msg": msg, "input": value}]
    )


def validate_params(kind: str, params: dict, session: Session) -> dict:
    """Validate ``params`` with the kind's model and its submit-time check against the
    database; errors name the field as body.params.<name>."""
    if kind not in KINDS:
        raise RequestValidationError(
            [
                {
                    "type": "value_error",
                    "loc": ("body", "kind"),
                    "msg": f"unknown job kind {kind!r}; known: {', '.join(sorted(KINDS))}",
                    "input": kind,
                }
            ]
        )
    job_kind = KINDS[kind]
    try:
        model = job_kind.params.model_validate(params)
    except ValidationError as exc:
        errors = [_field_error(err) for err in exc.errors(include_url=False)]
        raise RequestValidationError(
            [{**err, "loc": ("body", "params", *err["loc"]), "ctx": {}} for err in errors]
        ) from None
    try:
        job_kind.check(session, model)
    except FieldError as exc:
        raise _params_error((exc.field,), exc.message, params.get(exc.field)) from None
    return model.model_dump(mode="json")


def _dependencies(session: Session, ids: list[int]) -> dict[int, list[int]]:
    deps: dict[int, list[int]] = defaultdict(list)
    if ids:
        rows = session.execute(
            select(JobDependency.job_id, JobDependency.depends_on_id).where(
                JobDependency.job_id.in_(ids)
            )
        )
        for job_id, parent in rows:
            deps[job_id].append(parent)
    return deps


def _eta(job: Job) -> float | None:
    if job.status != JobStatus.RUNNING or not job.started_at or job.progress <= 0.01:
        return None
    elapsed = (utcnow() - job.started_at).total_seconds()
    return max(elapsed * (1 - job.progress) / job.progress, 0.0)


def to_public(job: Job, depends_on: list[int], model=JobPublic) -> JobPublic:
    return model.model_validate(job).model_copy(
        update={"depends_on": sorted(depends_on), "eta_seconds": _eta(job)}
    )


@router.get("/kinds", response_model=list[KindPublic])
def list_kinds() -> list[KindPublic]:
    return [
        KindPublic(
            name=k.name,
            description=k.description,
            params_schema=k.params.model_json_schema(),
            internal=k.internal,
        )
        for k in KINDS.values()
    ]


@router.post("/jobs", response_model=JobPublic, status_code=201)
def submit_job(body: JobCreate, session: WriteSessionDep) -> JobPublic:
    params = validate_params(body.kind, body.params, session)
    try:
        job = queue.enqueue(
            session,
            body.kind,
            params,
            priority=body.priority,
            max_attempts=body.max_attempts,
            depends_on=body.depends_on,
        )
    except queue.QueueError as exc:
        raise HTTPException(status_code=422, detail=str(exc)) from None
    return to_public(job, body.depends_on)


@router.get("/jobs", response_model=Page[JobPublic])
def list_jobs(
    session: SessionDep,
    status: str | None = Query(
        None, description=f"One or more (comma-separated) of {', '.join(JobStatus.ALL)}"
    ),
    kind: str | None = Query(None, description="One or more kinds, comma-separated."),
    parent_job_id: int | None = Query(None, description="Only the jobs this job (a sweep) made."),
    top_level: bool = Query(False, description="Only jobs no other job made."),
    limit: int = Query(50, ge=1, le=500),
    offset: int = Query(0, ge=0),
) -> Page[JobPublic]:
    query = select(Job)
    if statuses := comma_list(status, "status", JobStatus.ALL):
        query = query.where(Job.status.in_(statuses))
    if kinds := comma_list(kind, "kind"):
        query = query.where(Job.kind.in_(kinds))
    if parent_job_id is not None:
        query = query.where(Job.parent_job_id == parent_job_id)
    if top_level:
        query = query.where(Job.parent_job_id.is_(None))
    count = session.scalar(select(func.count()).select_from(query.subquery()))
    jobs = session.scalars(query.order_by(Job.id.desc()).limit(limit).offset(offset)).all()
    deps = _dependencies(session, [j.id for j in jobs])
    return Page(data=[to_public(j, deps[j.id]) for j in jobs], count=count or 0)


def _queue_position(session: Session, job: Job) -> int | None:
    """1 + the runnable queued jobs a worker claims before ``job`` (priority, then age); None
    unless ``job`` is queued with every dependency succeeded."""
    if job.status != JobStatus.QUEUED:
        return None
    runnable = queue.runnable()
    if (
        session.scalar(
            select(func.count()).select_from(runnable.where(Job.id == job.id).subquery())
        )
        == 0
    ):
        return None
    ahead = runnable.where(
        (Job.priority > job.priority) | ((Job.priority == job.priority) & (Job.id < job.id))
    )
    return 1 + (session.scalar(select(func.count()).select_from(ahead.subquery())) or 0)


@router.get("/jobs/{job_id}", response_model=JobDetail)
def read_job(job_id: int, session: SessionDep) -> JobDetail:
    job = session.get(Job, job_id)
    if job is None:
        raise not_found("job", job_id)
    detail = to_public(job, _dependencies(session, [job_id])[job_id], JobDetail)
    return detail.model_copy(update={"queue_position": _queue_position(session, job)})


def _transition(session: Session, job_id: int, action) -> JobPublic:
    try:
        job = action(session, job_id)
    except LookupError:
        raise not_found("job", job_id) from None
    except queue.QueueError as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from None
    return to_public(job, _dependencies(session, [job_id])[job_id])


@router.get("/jobs/{job_id}/metrics", response_model=list[TrainMetricPublic])
def read_job_metrics(
    job_id: int, session: SessionDep, since_step: int = Query(0, ge=0)
) -> list[TrainMetricPublic]:
    """Per-step training metrics of a fine-tune, readable while it runs."""
    if session.get(Job, job_id) is None:
        raise not_found("job", job_id)
    rows = session.scalars(
        select(TrainMetric)
        .where(TrainMetric.job_id == job_id, TrainMetric.step >= since_step)
        .order_by(TrainMetric.step)
    )
    return [TrainMetricPublic.model_validate(r) for r in rows]


@router.post("/jobs/{job_id}/cancel", response_model=JobPublic)
def cancel_job(job_id: int, session: WriteSessionDep) -> JobPublic:
    return _transition(session, job_id, queue.cancel)


@router.post("/jobs/{job_id}/retry", response_model=JobPublic)
def retry_job(job_id: int, session: WriteSessionDep) -> JobPublic:
    return _transition(session, job_id, queue.retry)

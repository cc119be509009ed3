"""Jobs and job kinds as terminal text: the events ``flowlens up`` prints (one line per job),
the line ``flowlens submit --wait`` ends with, ``flowlens jobs show`` and the parameters that
``flowlens submit KIND --help`` lists.

A job's "name" is what a person calls it: the name it gives its result, else the model it
works on; its result is told by the ids it holds (``model 5``, ``run 9``, ``evaluation 3``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from backend.models import Job, JobStatus

RESULT_IDS = ("model_id", "run_id", "evaluation_id", "dataset_id")
FIELDS = ("id", "kind", "params", "status", "result", "error")
RANGE_WORDS = {"minimum": ">=", "exclusiveMinimum": ">", "maximum": "<=", "exclusiveMaximum": "<"}
NAME_PARAMS = ("name", "base_model_name", "model_name", "teacher_model_name", "dataset_name")


def job_name(params: Mapping[str, Any] | None) -> str:
    """The name it gives its result, else the model or dataset it names ('' when none)."""
    for key in NAME_PARAMS:
        value = (params or {}).get(key)
        if value:
            return str(value)
    return ""


def result_ids(result: Mapping[str, Any] | None) -> str:
    """ "model 5, run 9": the ids a finished job's result holds ('' when none)."""
    return ", ".join(
        f"{key.removesuffix('_id')} {(result or {})[key]}"
        for key in RESULT_IDS
        if (result or {}).get(key) is not None
    )


def event_line(job: Mapping[str, Any]) -> str:
    """One line for a job in its current status ("started" for running), e.g.
    ``job 12 finetune 'demo-ft' succeeded: model 5`` or ``job 13 evaluate failed: <error>``."""
    name = job_name(job.get("params"))
    head = f"job {job['id']} {job['kind']}" + (f" {name!r}" if name else "")
    status = job["status"]
    error = (job.get("error") or "").strip()
    if status == JobStatus.SUCCEEDED:
        produced = result_ids(job.get("result"))
        return f"{head} {status}" + (f": {produced}" if produced else "")
    if status in (JobStatus.FAILED, JobStatus.CANCELLED) and error:
        return f"{head} {status}: {error.splitlines()[-1][:200]}"
    return f"{head} {'started' if status == JobStatus.RUNNING else status}"


class JobWatcher:
    """Reports each job's status changes since the last poll (``started`` for running).

    Reads only new jobs and those last seen unfinished, so a poll costs little on a long queue."""

    def __init__(self) -> None:
        self.unfinished: dict[int, str] = {}  # id -> status last reported
        self.newest = 0

    def prime(self, session: Session) -> None:
        """Take note of the jobs already there, reporting none of them."""
        self.newest = session.scalar(select(func.max(Job.id))) or 0
        self.unfinished = dict(
            session.execute(
                select(Job.id, Job.status).where(Job.status.notin_(JobStatus.FINISHED))
            ).all()
        )

    def poll(self, session: Session) -> list[str]:
        """One line per job whose status changed since the last poll (or ``prime``)."""
        rows = session.execute(
            select(*(getattr(Job, f) for f in FIELDS))
            .where(or_(Job.id > self.newest, Job.id.in_(list(self.unfinished))))
            .order_by(Job.id)
        ).all()
        lines = []
        for row in rows:
            job = dict(zip(FIELDS, row, strict=True))
            self.newest = max(self.newest, job["id"])
            if self.unfinished.get(job["id"]) == job["status"]:
                continue
            if job["status"] in JobStatus.FINISHED:
                self.unfinished.pop(job["id"], None)
            else:
                self.unfinished[job["id"]] = job["status"]
            lines.append(event_line(job))
        return lines


def _value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def job_text(job: Mapping[str, Any]) -> str:
    """A job (the API's JobDetail) as text: status, times, result, parameters, error, log tail."""
    times = [(k, job.get(f"{k}_at")) for k in ("created", "started", "finished")]
    lines = [
        event_line(job),
        f"  progress   {job['progress']:.0%}" + (f"  {job['message']}" if job["message"] else ""),
        "  " + "  ".join(f"{k} {t.replace('T', ' ')[:19]}" for k, t in times if t),
        f"  attempts   {job['attempts']} of {job['max_attempts']}"
        + (f" · worker {job['worker_id']}" if job.get("worker_id") else ""),
    ]
    if job.get("queue_position"):
        lines.append(f"  queue      position {job['queue_position']}")
    if job.get("depends_on"):
        lines.append(f"  depends on jobs {', '.join(map(str, job['depends_on']))}")
    if job.get("parent_job_id"):
        lines.append(f"  made by    job {job['parent_job_id']}")
    if job.get("result"):
        lines.append("result:")
        lines += [f"  {k:<20} {_value(v)}" for k, v in job["result"].items()]
    lines.append("parameters:")
    lines += [f"  {k:<24} {_value(v)}" for k, v in (job.get("params") or {}).items()]
    if job.get("error"):
        lines += ["error:", *(f"  {line}" for line in job["error"].strip().splitlines())]
    log = (job.get("log") or "").strip().splitlines()
    if log:
        lines += [f"log (last {min(len(log), 20)} of {len(log)} lines):", *log[-20:]]
    return "\n".join(lines)


def _range(prop: Mapping[str, Any]) -> str:
    """ ">= 1, <= 100" from a property's bounds (those of its non-null option when nullable)."""
    bounds = {}
    for option in (prop, *prop.get("anyOf", [])):
        bounds |= {k: option[k] for k in RANGE_WORDS if k in option}
    return ", ".join(f"{RANGE_WORDS[k]} {v}" for k, v in bounds.items())


def _type(prop: Mapping[str, Any]) -> str:
    options = prop.get("anyOf", [prop])
    names = []
    for option in options:
        if "enum" in option:
            names.append("|".join(map(str, option["enum"])))
        elif option.get("type") == "array":
            names.append(f"list of {_type(option.get('items', {}))}")
        elif "type" in option:
            names.append("null" if option["type"] == "null" else option["type"])
    return " or ".join(names) or "value"


def params_help(params: type[BaseModel]) -> str:
    """The parameters of a kind, one per line: name, type, default or "required", range, and
    its title and description."""
    schema = params.model_json_schema()
    required = set(schema.get("required", []))
    lines = ["parameters (-p name=value; lists and objects as JSON):"]
    for name, prop in schema.get("properties", {}).items():
        if "$ref" in prop:
            prop = {**schema["$defs"][prop["$ref"].split("/")[-1]], **prop}
        default = "required" if name in required else f"default {_value(prop.get('default'))}"
        facts = ", ".join(f for f in (_type(prop), default, _range(prop)) if f)
        title = prop.get("title", "")
        title = "" if title == name.replace("_", " ").title() else title  # pydantic's own
        about = " - ".join(t for t in (title, prop.get("description", "")) if t)
        lines.append(f"  {name} ({facts})" + (f"\n      {about}" if about else ""))
    return "\n".join(lines)

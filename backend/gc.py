"""Garbage in the artifact store: artifacts no database row points to, and temporaries of
writes that stopped (backend/artifacts.py). ``flowlens gc`` lists them and, with ``--delete``,
removes them; a worker removes a failed job's own leftovers the same way (``job_id``).

A row points to an artifact when its URI is a model's ``uri``, a run's ``basis_uri`` or
``activations_uri`` (and the per-prompt scores the API reads beside it), or a string in a
model's ``config``/``lineage`` or a job's ``result`` (a LoRA adapter, a kept checkpoint).
Outputs of queued and running jobs are theirs until they end (checkpoints to resume from, files
written before their row), and their temporaries too while they run. ``diagnostics/`` holds
the echo job's markers, not artifacts.
"""

from __future__ import annotations

import posixpath
import time
from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.artifacts import (
    PROJECTIONS_FILE,
    ArtifactPathError,
    ArtifactStore,
    is_temp,
    job_of,
)
from backend.db import session_scope
from backend.models import Job, JobStatus, Model, Run

KEPT_FOLDERS = ("diagnostics",)
TEMP_AGE_S = 3600.0  # a temporary no job owns is stale after this long


@dataclass(frozen=True)
class Garbage:
    key: str
    size: int
    why: str


def _strings(value) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def referenced_keys(session: Session, store: ArtifactStore) -> set[str]:
    """Store keys some row points to."""
    values = [
        *session.execute(select(Model.uri, Model.config, Model.lineage)).all(),
        *session.execute(select(Run.basis_uri)).all(),
        *session.execute(select(Job.result).where(Job.result.is_not(None))).all(),
    ]
    activations = session.scalars(select(Run.activations_uri)).all()
    keys = set()
    for text in _strings([list(row) for row in values]):
        try:
            keys.add(store.key_of(text))
        except ArtifactPathError:
            continue
    for text in filter(None, activations):
        try:
            key = store.key_of(text)
        except ArtifactPathError:
            continue
        keys |= {key, posixpath.join(posixpath.dirname(key), PROJECTIONS_FILE)}
    return keys


def _ancestors(keys: set[str]) -> set[str]:
    parts = set()
    for key in keys:
        pieces = key.split("/")
        parts.update("/".join(pieces[:i]) for i in range(1, len(pieces)))
    return parts


def _age_s(store: ArtifactStore, key: str) -> float:
    try:
        modified = store.fs.modified(f"{store.root}/{key}")
    except (OSError, NotImplementedError):
        return float("inf")
    return time.time() - modified.timestamp()


def find_garbage(
    session: Session, store: ArtifactStore, job_id: int | None = None, temps_only: bool = False
) -> list[Garbage]:
    """The store's garbage. With ``job_id``, only that job's: its outputs no row points to and
    its temporaries, whatever its status (its worker asks when the job has failed for good, or,
    ``temps_only``, when a new attempt starts)."""
    referenced = referenced_keys(session, store)
    ancestors = _ancestors(referenced)
    rows = session.execute(
        select(Job.id, Job.status).where(Job.status.in_([JobStatus.QUEUED, JobStatus.RUNNING]))
    ).all()
    running = {id_ for id_, status in rows if status == JobStatus.RUNNING}
    active = {id_ for id_, _ in rows}
    found: list[Garbage] = []

    def stale_temp(key: str, owner: int | None) -> bool:
        if job_id is not None:
            return owner == job_id
        if owner is not None:
            return owner not in running
        return _age_s(store, key) > TEMP_AGE_S

    def orphan(owner: int | None) -> bool:
        if job_id is not None:
            return owner == job_id and not temps_only
        return owner not in active

    def visit(key: str) -> None:
        for child, is_folder in store.entries(key):
            owner = job_of(child)
            if child in referenced or (not key and child in KEPT_FOLDERS):
                continue
            if job_id is not None and owner not in (None, job_id):
                continue  # another job's
            if is_temp(child):
                if stale_temp(child, owner):
                    found.append(Garbage(child, store.size(child), "temporary of a stopped write"))
            elif child in ancestors or (is_folder and (owner is None or temps_only)):
                visit(child)  # holds something a row points to, a folder of many jobs, or temps
            elif orphan(owner):
                found.append(Garbage(child, store.size(child), "no row points to it"))

    visit("")
    return found


def remove_garbage(store: ArtifactStore, garbage: list[Garbage]) -> None:
    for item in garbage:
        store.remove(item.key)


def clean_job(database_url: str, artifact_root: str, job_id: int, temps_only: bool = False):
    """Remove job ``job_id``'s garbage (see ``find_garbage``); returns what was removed."""
    store = ArtifactStore(artifact_root)
    with session_scope(database_url) as session:
        garbage = find_garbage(session, store, job_id, temps_only)
    remove_garbage(store, garbage)
    return garbage

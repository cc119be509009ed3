"""The answer of a DELETE (datasets, models, runs): 409 listing the dependants unless
``cascade``, else what was deleted. Once the transaction commits (before the response is sent)
this process's cached answers about every deleted row are evicted (``deps.DELETED``); the
artifacts of deleted rows are removed after the response (so after the commit: a failed
transaction never loses a file)."""

from __future__ import annotations

import logging

from fastapi import BackgroundTasks, HTTPException
from sqlalchemy.orm import Session

from backend import deletion
from backend.api.deps import DELETED
from backend.artifacts import ArtifactPathError, ArtifactStore
from backend.config import Settings
from backend.deletion import HasDependants
from backend.schemas import DeletedPublic

log = logging.getLogger(__name__)


def remove_artifacts(settings: Settings, uris: list[str]) -> None:
    """Remove each URI's file or folder from the store (URIs outside it are left alone)."""
    store = ArtifactStore(settings.artifact_root)
    for uri in uris:
        try:
            path = f"{store.root}/{store.key_of(uri)}"
        except ArtifactPathError:
            continue
        try:
            if store.fs.exists(path):
                store.fs.rm(path, recursive=True)
        except OSError as exc:  # the row is gone; `flowlens gc` finds what is left
            log.warning("could not remove artifact %s: %s", uri, exc)


def deleted_answer(
    session: Session, thing, cascade: bool, settings: Settings, background: BackgroundTasks
) -> DeletedPublic:
    """``deletion.delete`` of ``thing`` as the API's answer (409 listing its dependants)."""
    try:
        out = deletion.delete(session, thing, cascade)
    except HasDependants as exc:
        raise HTTPException(409, str(exc)) from None
    background.add_task(remove_artifacts, settings, out.artifacts)
    kept = {k: v for k, v in out.ids.items() if v}
    session.info.setdefault(DELETED, {}).update(kept)
    return DeletedPublic(deleted=kept, cancelled_jobs=out.cancelled_jobs)

"""Artifact download: GET /api/artifacts/{path} streams one file of the artifact store.

Only keys inside the store are served: ``..`` segments, absolute paths, backslashes and NUL
bytes are refused with 400 (also when percent-encoded), and on a local store a path that resolves
outside the root (a symlink pointing out of it) is refused too. Unknown keys and folders are 404.
"""

from __future__ import annotations

import mimetypes
import posixpath
from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import StreamingResponse

from backend.api.deps import SettingsDep
from backend.artifacts import ArtifactPathError, ArtifactStore, clean_key

router = APIRouter(tags=["artifacts"])
CHUNK = 1024 * 1024


def _check_key(path: str) -> str:
    try:
        key = clean_key(path)
    except ArtifactPathError as exc:
        raise HTTPException(400, f"path: {exc}") from None
    if (
        key != path.strip("/")
        or path.startswith("/")
        or any(p in ("", ".") for p in key.split("/"))
    ):
        raise HTTPException(400, f"path: artifact path {path!r} is not a normalised store key")
    return key


def _inside_local_root(store: ArtifactStore, key: str) -> bool:
    """Whether ``key`` resolves inside the root; 400 when it cannot be resolved (a symlink
    loop: RuntimeError before Python 3.13, OSError ELOOP after; a name too long)."""
    try:
        root = Path(store.root).resolve()
        target = (Path(store.root) / key).resolve()
    except (RuntimeError, OSError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc).split(" from ")[0].lower()
        raise HTTPException(
            400, f"path: artifact path {key!r} cannot be resolved ({reason})"
        ) from None
    return target == root or root in target.parents


@router.get(
    "/artifacts/{path:path}",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"application/octet-stream": {}}, "description": "The file's bytes"},
        400: {"description": "A path outside the store"},
        404: {"description": "No such artifact file"},
    },
)
def download_artifact(path: str, settings: SettingsDep) -> StreamingResponse:
    """Download one file of the artifact store by its store-relative key."""
    key = _check_key(path)
    store = ArtifactStore(settings.artifact_root)
    if store.is_local and not _inside_local_root(store, key):
        raise HTTPException(400, f"path: artifact path {path!r} resolves outside the store")
    try:
        handle = store.open_file(key)
    except OSError:  # missing, a folder, no permission, a loop on a remote store ...
        raise HTTPException(404, f"artifact {key} not found") from None

    def chunks():
        with handle:
            while block := handle.read(CHUNK):
                yield block

    media_type = mimetypes.guess_type(key)[0] or "application/octet-stream"
    name = posixpath.basename(key).replace('"', "")
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    try:
        size = store.fs.size(f"{store.root}/{key}")
        if size is not None:
            headers["Content-Length"] = str(size)
    except OSError:
        pass
    return StreamingResponse(chunks(), media_type=media_type, headers=headers)

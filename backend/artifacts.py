"""The artifact store: large binaries (checkpoints, activations) under one root, a local folder by
default or any fsspec URL (s3://, gs://... where the filesystem package is installed). The
database holds artifact URIs; workers copy what they need into a local cache before loading.

Every write goes to a temporary name beside its target (``.tmp-<random>-<name>``) and is renamed
into place, so a killed or failing writer leaves a temporary, never a partial artifact; a job's
keys name the job (``runs/job-12/...``, ``models/tiny-job12``), which is how its leftovers are
found (``job_of``, backend/gc.py)."""

from __future__ import annotations

import os
import posixpath
import re
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import fsspec

TEMP_PREFIX = ".tmp-"
PROJECTIONS_FILE = (
    "projections.safetensors"  # a capture's per-prompt scores, beside its activations
)
JOB_SEGMENT = re.compile(r"(?:^|-)job-?(\d+)$")


class ArtifactPathError(ValueError):
    """A key that would leave the store (``..``, absolute paths...)."""


def clean_key(key: str) -> str:
    """Normalise a store-relative key; refuse anything that escapes the root."""
    if "\x00" in key or "\\" in key:
        raise ArtifactPathError(f"invalid artifact path {key!r}")
    norm = posixpath.normpath("/" + key).lstrip("/")
    if not norm or norm == "." or key.startswith("/") or ".." in key.split("/"):
        raise ArtifactPathError(f"artifact path {key!r} is outside the store")
    return norm


def is_temp(key: str) -> bool:
    """Whether ``key`` is (inside) a temporary being written."""
    return any(part.startswith(TEMP_PREFIX) for part in key.split("/"))


def job_of(key: str) -> int | None:
    """The job whose output ``key`` is: a ``job-N`` folder or a ``...-jobN`` name in its path."""
    for part in key.split("/"):
        match = JOB_SEGMENT.search(part.removeprefix(TEMP_PREFIX))
        if match:
            return int(match.group(1))
    return None


def temp_sibling(path: Path | str) -> str:
    """A fresh temporary name in the folder of ``path`` (same filesystem: rename is atomic)."""
    head, name = posixpath.split(str(path))
    return posixpath.join(head, f"{TEMP_PREFIX}{uuid.uuid4().hex[:8]}-{name}")


def replace_path(source: Path, target: Path) -> None:
    """Rename ``source`` onto ``target``, a file or a folder, replacing what was there."""
    if target.is_dir() and not target.is_symlink():
        old = Path(temp_sibling(target))
        target.rename(old)
        source.rename(target)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(source, target)


def remove_path(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


@contextmanager
def replacing(target: Path) -> Iterator[Path]:
    """Write ``target`` (a file or folder) under a temporary name beside it; renamed onto it
    when the block ends, removed when it raises."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = Path(temp_sibling(target))
    try:
        yield temp
        replace_path(temp, target)
    finally:
        if temp.exists() or temp.is_symlink():
            remove_path(temp)


class ArtifactStore:
    def __init__(self, root: str) -> None:
        self.fs, path = fsspec.core.url_to_fs(root)
        self.root = path.rstrip("/")
        self.is_local = self.fs.protocol in ("file", ("file", "local"))
        if self.is_local:
            Path(self.root).mkdir(parents=True, exist_ok=True)

    def uri(self, key: str) -> str:
        """The URI stored in the database for ``key``."""
        return self.fs.unstrip_protocol(f"{self.root}/{clean_key(key)}")

    def key_of(self, uri: str) -> str:
        path = self.fs._strip_protocol(uri).rstrip("/")
        if not path.startswith(self.root + "/"):
            raise ArtifactPathError(f"{uri!r} is not in the artifact store")
        return clean_key(path[len(self.root) + 1 :])

    def staging_dir(self, key: str, cache: Path) -> Path:
        """Where a job writes ``key`` before ``put``: in the store itself when it is local."""
        return (Path(self.root) if self.is_local else cache) / clean_key(key)

    def put(self, local: Path, key: str) -> str:
        """Copy a local file or folder into the store (to a temporary name, then renamed onto
        ``key``); returns its URI. A local store's own ``staging_dir`` is already in place."""
        target = f"{self.root}/{clean_key(key)}"
        if self.is_local:
            if Path(target).resolve() != local.resolve():
                with replacing(Path(target)) as temp:
                    if local.is_dir():
                        shutil.copytree(local, temp)
                    else:
                        shutil.copyfile(local, temp)
            return self.uri(key)
        temp = temp_sibling(target)
        self.fs.makedirs(posixpath.dirname(target), exist_ok=True)
        try:
            self.fs.put(str(local), temp, recursive=local.is_dir())
            if self.fs.exists(target):
                self.fs.rm(target, recursive=True)
            self.fs.mv(temp, target, recursive=local.is_dir())
        finally:
            if self.fs.exists(temp):
                self.fs.rm(temp, recursive=True)
        return self.uri(key)

    @contextmanager
    def writing(self, key: str, cache: Path) -> Iterator[Path]:
        """A fresh local path to write ``key`` to (beside it in a local store, else in the
        cache); put into place when the block ends, removed when it raises. The block may
        store the URI: ``self.uri(key)``."""
        with replacing(self.staging_dir(key, cache)) as temp:
            yield temp
            if not self.is_local:
                self.put(temp, key)

    def check_writable(self, cache: Path) -> None:
        """OSError unless a file can be created where jobs write (a read-only store)."""
        folder = Path(self.root) if self.is_local else cache
        folder.mkdir(parents=True, exist_ok=True)
        probe = Path(temp_sibling(folder / "write-check"))
        probe.touch()
        probe.unlink()

    def free_bytes(self, cache: Path) -> int | None:
        """Free space where jobs write (the store when local, else the cache); None if unknown."""
        folder = Path(self.root) if self.is_local else cache
        folder.mkdir(parents=True, exist_ok=True)
        try:
            return shutil.disk_usage(folder).free
        except OSError:
            return None

    def size(self, key: str) -> int:
        """Bytes of a stored file or folder (0 when missing)."""
        path = f"{self.root}/{clean_key(key)}"
        if not self.fs.exists(path):
            return 0
        if self.fs.isdir(path):
            return sum(self.fs.du(path, total=False).values())
        return self.fs.size(path)

    def entries(self, key: str = "") -> list[tuple[str, bool]]:
        """The (key, is_folder) entries directly under ``key`` (the root when empty)."""
        path = f"{self.root}/{clean_key(key)}" if key else self.root
        if not self.fs.isdir(path):
            return []
        found = []
        for info in self.fs.ls(path, detail=True):
            name = posixpath.basename(info["name"].rstrip("/"))
            child = f"{key}/{name}" if key else name
            found.append((child, info["type"] == "directory"))
        return sorted(found)

    def remove(self, key: str) -> None:
        """Delete a stored file or folder (nothing when missing)."""
        path = f"{self.root}/{clean_key(key)}"
        if self.fs.exists(path):
            self.fs.rm(path, recursive=True)

    def local_path(self, uri: str, cache: Path) -> Path:
        """A local path for ``uri``: the file itself when the store is local, else a cached copy."""
        key = self.key_of(uri)
        if self.is_local:
            return Path(self.root) / key
        target = cache / key
        if not target.exists():
            self.fs.get(f"{self.root}/{key}", str(target), recursive=True)
        return target

    def open_file(self, key: str):
        """Open a stored file for reading (the API's download); refuses folders and escapes."""
        path = f"{self.root}/{clean_key(key)}"
        if not self.fs.isfile(path):
            raise FileNotFoundError(key)
        return self.fs.open(path, "rb")

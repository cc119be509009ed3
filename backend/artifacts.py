"""The artifact store: large binaries (checkpoints, activations) under one root, a local folder by
default or any fsspec URL (s3://, gs://... where the filesystem package is installed). The
database holds artifact URIs; workers copy what they need into a local cache before loading."""

from __future__ import annotations

import posixpath
from pathlib import Path

import fsspec


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
        """Copy a local file or folder into the store; returns its URI."""
        target = f"{self.root}/{clean_key(key)}"
        if self.is_local and Path(target).resolve() == local.resolve():
            return self.uri(key)
        self.fs.makedirs(posixpath.dirname(target), exist_ok=True)
        self.fs.put(str(local), target, recursive=local.is_dir())
        return self.uri(key)

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

"""One settings object for every process, read from ``FLOWLENS_*`` environment variables."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """FlowLens settings; every field is ``FLOWLENS_<NAME>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="FLOWLENS_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///var/flowlens.db"
    artifact_root: str = "var/artifacts"
    api_url: str = "http://127.0.0.1:8000"
    public_url: str = ""  # the dashboard's address in shared links; empty: what the browser shows
    host: str = "127.0.0.1"
    port: int = 8000
    ui_host: str = "127.0.0.1"
    ui_port: int = 8050
    device: str = "cpu"
    lease_seconds: float = 30.0
    heartbeat_seconds: float = 5.0
    poll_seconds: float = 0.5
    auth: Literal["on", "off", "auto"] = "auto"  # auto: on when the API binds a non-loopback host
    public_read: bool = True  # GET requests need no token (off: reads need one too)
    ui_origin: str = ""  # the UI's origin allowed by CORS; empty: http://{ui_host}:{ui_port}
    api_token: str = ""  # the bearer token the CLI (submit, jobs) and the UI send to the API
    max_upload_bytes: int = 20_000_000  # bodies over this (+ 1 MiB for multipart framing) get 413
    allowed_hosts: str = ""  # Host names the API answers (comma-separated); empty: see below
    local_dataset_dirs: str = ""  # folders import_hub_dataset may read (comma-separated)
    threads_per_job: int = 0  # torch/OpenMP threads of each job's process; 0: cores / concurrency
    access_log: bool = False  # one line per HTTP request from the API and the UI servers
    ui_workers: int = 1  # gunicorn processes serving the dashboard (flowlens ui)
    ui_threads: int = 8  # threads of each

    @field_validator("database_url")
    @classmethod
    def _driver(cls, url: str) -> str:
        """Use psycopg 3 for PostgreSQL URLs given without a driver."""
        for prefix in ("postgresql://", "postgres://"):
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url[len(prefix) :]
        return url

    @property
    def auth_enabled(self) -> bool:
        """Whether write requests (and reads, without ``public_read``) need a bearer token."""
        if self.auth == "auto":
            return not is_loopback(self.host)
        return self.auth == "on"

    @property
    def cors_origins(self) -> list[str]:
        if self.ui_origin:
            return [o.strip().rstrip("/") for o in self.ui_origin.split(",") if o.strip()]
        host = "127.0.0.1" if self.ui_host in ("0.0.0.0", "::", "") else self.ui_host
        origins = [f"http://{host}:{self.ui_port}"]
        if is_loopback(host):
            origins.append(f"http://localhost:{self.ui_port}")
        return origins

    @property
    def trusted_hosts(self) -> list[str]:
        """Host names the API answers (others get 400): ``allowed_hosts``, or by default the
        loopback names, the bind host, and the hosts of the API URL and the UI origins."""
        if self.allowed_hosts:
            return [
                h.strip().strip("[]").lower() for h in self.allowed_hosts.split(",") if h.strip()
            ]
        hosts = [
            "127.0.0.1",
            "localhost",
            "::1",
            self.host.strip("[]"),
            urlsplit(self.api_url).hostname,
        ]
        hosts += [urlsplit(origin).hostname for origin in self.cors_origins]
        wildcard = ("0.0.0.0", "::", "")
        return list(dict.fromkeys(h.lower() for h in hosts if h and h not in wildcard))

    def local_dataset_dir_error(self, repo: str) -> str | None:
        """Why ``repo`` may not be imported as a local folder, or None: a hub name (no such
        path here) or a folder inside one of ``local_dataset_dirs`` (an operator's choice)."""
        path = Path(repo).expanduser()
        if not (repo.startswith(("/", ".", "~")) or path.exists()):
            return None
        allowed = [
            Path(d.strip()).expanduser().resolve()
            for d in self.local_dataset_dirs.split(",")
            if d.strip()
        ]
        try:
            target = path.resolve(strict=False)
        except (OSError, RuntimeError):  # a symlink loop
            return f"{repo!r} cannot be resolved"
        if any(target.is_relative_to(d) for d in allowed):
            return None
        return (
            f"{repo!r} is a local path; local dataset folders are read only inside the folders "
            "an operator allows in FLOWLENS_LOCAL_DATASET_DIRS"
            + (f" ({', '.join(map(str, allowed))})" if allowed else " (none allowed)")
        )

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 and ``localhost``; anything else (0.0.0.0, a LAN address) is not."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def get_settings() -> Settings:
    """Settings read now from the environment (processes read them once at start)."""
    return Settings()

"""One settings object for every process, read from ``FLOWLENS_*`` environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """FlowLens settings; every field is ``FLOWLENS_<NAME>`` in the environment."""

    model_config = SettingsConfigDict(env_prefix="FLOWLENS_", env_file=".env", extra="ignore")

    database_url: str = "sqlite:///var/flowlens.db"
    artifact_root: str = "var/artifacts"
    api_url: str = "http://127.0.0.1:8000"
    host: str = "127.0.0.1"
    port: int = 8000
    ui_host: str = "127.0.0.1"
    ui_port: int = 8050
    device: str = "cpu"
    lease_seconds: float = 30.0
    heartbeat_seconds: float = 5.0
    poll_seconds: float = 0.5

    @field_validator("database_url")
    @classmethod
    def _driver(cls, url: str) -> str:
        """Use psycopg 3 for PostgreSQL URLs given without a driver."""
        for prefix in ("postgresql://", "postgres://"):
            if url.startswith(prefix):
                return "postgresql+psycopg://" + url[len(prefix) :]
        return url

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def sqlite_path(self) -> Path | None:
        """The database file of a SQLite URL (None for in-memory or other databases)."""
        if not self.is_sqlite:
            return None
        path = self.database_url.split(":///", 1)[1]
        return Path(path) if path and path != ":memory:" else None


def get_settings() -> Settings:
    """Settings read now from the environment (processes read them once at start)."""
    return Settings()

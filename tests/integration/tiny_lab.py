"""A fresh database and store with a tiny random model ("tiny", a local model) and the first
rows of the built-in general, safety and probe sets: for tests that need their own lab."""

from __future__ import annotations

from pathlib import Path

from backend import migrate
from backend.config import Settings
from backend.db import write_session
from backend.models import Model, add_dataset
from tests.unit.model_fixtures import build_tiny_model_dir
from worker.science.corpus import builtin_dataset


def tiny_lab(
    folder: Path, rows: int, database_url: str | None = None
) -> tuple[Settings, dict[str, int], Path]:
    """Settings (``database_url``, else SQLite under ``folder``; a store under ``folder``),
    dataset ids by name, the model folder."""
    settings = Settings(
        database_url=database_url or f"sqlite:///{folder / 'lab.db'}",
        artifact_root=str(folder / "store"),
    )
    migrate.upgrade(settings.database_url)
    tiny = build_tiny_model_dir(folder / "tiny")
    with write_session(settings.database_url) as s:
        s.add(Model(name="tiny", source="local", uri=str(tiny), config={}))
        ids = {
            name: add_dataset(
                s, builtin_dataset(name, seed=0)[:rows], name=name, source="builtin", format="x"
            ).id
            for name in ("general", "safety", "probe")
        }
    return settings, ids, tiny

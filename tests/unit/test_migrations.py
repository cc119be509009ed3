"""Migrations are the only way tables are created: up, down, up again on both backends."""

from __future__ import annotations

from sqlalchemy import inspect

from backend import migrate
from backend.db import get_engine
from backend.models import Base


def tables(url: str) -> set[str]:
    return set(inspect(get_engine(url)).get_table_names()) - {"alembic_version"}


def test_upgrade_downgrade_upgrade(database_url):
    assert tables(database_url) == set(Base.metadata.tables)
    migrate.downgrade(database_url, "base")
    assert tables(database_url) == set()
    migrate.upgrade(database_url)
    assert tables(database_url) == set(Base.metadata.tables)


def test_migrated_columns_match_the_models(database_url):
    inspector = inspect(get_engine(database_url))
    for name, table in Base.metadata.tables.items():
        columns = {c["name"] for c in inspector.get_columns(name)}
        assert columns == {c.name for c in table.columns}, name

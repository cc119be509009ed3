"""Alembic environment: migrates the database named by the settings (or the caller's URL)."""

from alembic import context
from backend.config import get_settings
from backend.db import get_engine
from backend.models import Base

url = context.config.attributes.get("database_url") or get_settings().database_url


def run_migrations() -> None:
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=Base.metadata, literal_binds=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    with get_engine(url).connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # batch migrations recreate tables: with foreign keys on, dropping the old table
            # would cascade-delete the rows that point at it. Set on the driver's connection:
            # SQLite ignores the pragma inside a transaction, and SQLAlchemy would BEGIN first.
            connection.connection.dbapi_connection.execute("PRAGMA foreign_keys=OFF")
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=sqlite,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
        if sqlite:
            connection.connection.dbapi_connection.execute("PRAGMA foreign_keys=ON")


run_migrations()

"""Alembic environment: the connection is handed in by storage.db.Database.upgrade."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection, create_engine

from storage.db import include_object
from storage.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.get_main_option("sqlalchemy.url") or "sqlite:///data/newsbrief.db"
    with create_engine(url).begin() as owned:
        _run(owned)


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()

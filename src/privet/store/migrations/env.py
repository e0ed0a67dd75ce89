"""Alembic environment: run by privet.store.database.migrate with a connection, or offline to print the SQL."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from privet.store.database import VERSION_TABLE
from privet.store.tables import metadata

config = context.config

if context.is_offline_mode():
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=metadata,
        literal_binds=True,
        version_table=VERSION_TABLE,
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    connection = config.attributes.get("connection")
    if not isinstance(connection, Connection):
        raise RuntimeError("run privet migrations with privet.store.database.migrate(engine)")
    context.configure(connection=connection, target_metadata=metadata, version_table=VERSION_TABLE)
    with context.begin_transaction():
        context.run_migrations()

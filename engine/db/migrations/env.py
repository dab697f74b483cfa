"""Alembic's environment for the provenance log: always run on a connection engine.db.schema hands in, inside
the one transaction it opened, so an upgrade is all or nothing (SQLite and PostgreSQL both roll back DDL)."""

from alembic import context

from engine.db.tables import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()

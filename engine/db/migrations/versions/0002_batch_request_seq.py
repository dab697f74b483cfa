"""batch_requests.seq: a request's place in its batch, which SQLite's rowid gave and PostgreSQL has no rowid for.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("batch_requests", sa.Column("seq", sa.Integer))
    if op.get_bind().dialect.name == "sqlite":  # the rows already there keep the order they were written in
        op.execute("UPDATE batch_requests SET seq = rowid")


def downgrade() -> None:
    with op.batch_alter_table("batch_requests") as batch:
        batch.drop_column("seq")

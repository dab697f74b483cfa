"""The log as Scout wrote it before versioned migrations (the SCHEMA string of engine/provenance.py at fac8dc7).

A log from that time has these tables and no alembic_version: this revision creates whatever is missing (all of
it for a new database), adds `runs.holder` to a log older still, and leaves every existing row alone. The
tables are frozen here, not imported, so that later changes to engine/db/tables.py go in later revisions.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy import Column, Float, ForeignKey, Index, Integer, Table, Text, text

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _tables() -> sa.MetaData:
    m = sa.MetaData()
    Table("runs", m,
          Column("id", Integer, primary_key=True, autoincrement=True),
          Column("kind", Text, nullable=False), Column("started_at", Text, nullable=False),
          Column("finished_at", Text), Column("status", Text, nullable=False),
          Column("dry_run", Integer, nullable=False), Column("dry_run_reason", Text), Column("target_run", Integer),
          Column("cap", Integer), Column("scanned", Integer), Column("total", Integer),
          Column("written", Integer), Column("would_write", Integer), Column("skipped", Integer),
          Column("dropped", Integer), Column("failed", Integer),
          Column("model", Text), Column("prompt_version", Text), Column("usage", Text), Column("cost_usd", Float),
          Column("summary", Text), Column("holder", Text), sqlite_autoincrement=True)
    actions = Table(
        "actions", m,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("run_id", Integer, ForeignKey("runs.id")), Column("deal_id", Text), Column("deal_name", Text),
        Column("concept", Text), Column("field", Text), Column("action", Text, nullable=False),
        Column("reason", Text), Column("previous", Text), Column("new", Text), Column("rep_value", Text),
        Column("note_id", Text), Column("excerpt", Text), Column("model", Text),
        Column("dry_run", Integer, nullable=False), Column("status", Text, nullable=False), Column("error", Text),
        Column("actor", Text), Column("reverts", Integer),
        Column("created_at", Text, nullable=False), Column("updated_at", Text, nullable=False),
        sqlite_autoincrement=True)
    Index("actions_by_run", actions.c.run_id, actions.c.id)
    Index("actions_by_field", actions.c.deal_id, actions.c.field, actions.c.action, actions.c.status)
    Index("actions_pending", actions.c.status, sqlite_where=text("status = 'pending'"),
          postgresql_where=text("status = 'pending'"))
    Table("scan_marks", m,
          Column("deal_id", Text, primary_key=True), Column("dry_run", Integer, primary_key=True),
          Column("last_scanned_at", Text, nullable=False), Column("last_run_id", Integer))
    Table("extraction_cache", m,
          Column("key", Text, primary_key=True), Column("payload", Text, nullable=False),
          Column("created_at", Text, nullable=False))
    Table("locks", m,
          Column("name", Text, primary_key=True), Column("holder", Text, nullable=False),
          Column("acquired_at", Text, nullable=False), Column("expires_at", Text, nullable=False))
    Table("batches", m,
          Column("id", Text, primary_key=True), Column("run_id", Integer, ForeignKey("runs.id")),
          Column("model", Text), Column("prompt_version", Text), Column("status", Text, nullable=False),
          Column("submitted_at", Text, nullable=False), Column("closed_at", Text), Column("note", Text))
    Table("batch_requests", m,
          Column("batch_id", Text, ForeignKey("batches.id"), primary_key=True),
          Column("custom_id", Text, primary_key=True),
          Column("deal_id", Text, nullable=False), Column("cache_key", Text, nullable=False))
    reviews = Table(
        "reviews", m,
        Column("action_id", Integer, ForeignKey("actions.id"), primary_key=True, autoincrement=False),
        Column("suggestion_id", Integer, ForeignKey("actions.id"), nullable=False),
        Column("suggestion_key", Text, nullable=False), Column("decision", Text, nullable=False),
        Column("reviewer", Text, nullable=False), Column("click_id", Text), Column("result", Text),
        Column("created_at", Text, nullable=False))
    Index("reviews_by_key", reviews.c.suggestion_key)
    Index("reviews_by_click", reviews.c.click_id, unique=True, sqlite_where=text("click_id IS NOT NULL"),
          postgresql_where=text("click_id IS NOT NULL"))
    Table("slack_posts", m,
          Column("suggestion_key", Text, primary_key=True),
          Column("suggestion_id", Integer, ForeignKey("actions.id"), nullable=False), Column("run_id", Integer),
          Column("channel", Text, nullable=False), Column("ts", Text, nullable=False), Column("thread_ts", Text),
          Column("posted_at", Text, nullable=False))
    return m


def upgrade() -> None:
    bind = op.get_bind()
    if sa.inspect(bind).has_table("runs"):
        columns = {c["name"] for c in sa.inspect(bind).get_columns("runs")}
        if "holder" not in columns:  # a log from before runs named their process
            op.add_column("runs", Column("holder", Text))
    _tables().create_all(bind, checkfirst=True)


def downgrade() -> None:
    _tables().drop_all(op.get_bind())

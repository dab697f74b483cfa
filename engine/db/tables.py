"""The provenance log's tables, defined once for both backends (SQLite and PostgreSQL).

The schema at the newest migration (engine/migrations/versions). Column types stay what the first SQLite log
had (text timestamps, integer flags), so a row reads the same from either database and `scout db copy` moves
rows unchanged. Tables another feature adds later (bolt's OAuth installation store, say) go in a module and a
migration of their own on the same database; nothing here assumes it is the only tenant.
"""

from __future__ import annotations

from sqlalchemy import Column, Float, ForeignKey, Index, Integer, MetaData, Table, Text, text

metadata = MetaData()

runs = Table(
    "runs", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", Text, nullable=False),  # pass | setup | undo | promote | dismiss
    Column("started_at", Text, nullable=False),
    Column("finished_at", Text),
    Column("status", Text, nullable=False),  # running | finished | failed | interrupted
    Column("dry_run", Integer, nullable=False),
    Column("dry_run_reason", Text),
    Column("target_run", Integer),  # for undo: the run being reverted
    Column("cap", Integer), Column("scanned", Integer), Column("total", Integer),
    Column("written", Integer), Column("would_write", Integer), Column("skipped", Integer),
    Column("dropped", Integer), Column("failed", Integer),
    Column("model", Text), Column("prompt_version", Text),
    Column("usage", Text), Column("cost_usd", Float),
    Column("summary", Text),
    Column("holder", Text),  # host:pid of the process running it: a dead one is settled at once
    sqlite_autoincrement=True,
)

actions = Table(
    "actions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, ForeignKey("runs.id")),
    Column("deal_id", Text), Column("deal_name", Text),
    Column("concept", Text), Column("field", Text),
    Column("action", Text, nullable=False),
    Column("reason", Text),
    Column("previous", Text), Column("new", Text), Column("rep_value", Text),  # JSON text (dump_value)
    Column("note_id", Text), Column("excerpt", Text),
    Column("model", Text),
    Column("dry_run", Integer, nullable=False),
    Column("status", Text, nullable=False),  # pending (intent logged, CRM not yet answered) | applied | failed | none
    Column("error", Text),
    Column("actor", Text),  # who: 'scout' or a reviewer's Slack user id
    Column("reverts", Integer),  # for reverted rows: the action id undone
    Column("created_at", Text, nullable=False),
    Column("updated_at", Text, nullable=False),
    sqlite_autoincrement=True,
)
Index("actions_by_run", actions.c.run_id, actions.c.id)
Index("actions_by_field", actions.c.deal_id, actions.c.field, actions.c.action, actions.c.status)
Index("actions_pending", actions.c.status, sqlite_where=text("status = 'pending'"),
      postgresql_where=text("status = 'pending'"))

# One rotation per mode: a rehearsal previews exactly the deals the next live pass will take.
scan_marks = Table(
    "scan_marks", metadata,
    Column("deal_id", Text, primary_key=True), Column("dry_run", Integer, primary_key=True),
    Column("last_scanned_at", Text, nullable=False), Column("last_run_id", Integer),
)

extraction_cache = Table(
    "extraction_cache", metadata,
    Column("key", Text, primary_key=True), Column("payload", Text, nullable=False),
    Column("created_at", Text, nullable=False),
)

# The SQLite pass lock (a row with a TTL). PostgreSQL takes a session-level advisory lock instead.
locks = Table(
    "locks", metadata,
    Column("name", Text, primary_key=True), Column("holder", Text, nullable=False),
    Column("acquired_at", Text, nullable=False), Column("expires_at", Text, nullable=False),
)

batches = Table(
    "batches", metadata,
    Column("id", Text, primary_key=True),  # the Message Batch id
    Column("run_id", Integer, ForeignKey("runs.id")),  # the run that submitted it
    Column("model", Text), Column("prompt_version", Text),
    Column("status", Text, nullable=False),  # submitted (poll it, even after a restart) | ended | gone | superseded
    Column("submitted_at", Text, nullable=False), Column("closed_at", Text), Column("note", Text),
)

batch_requests = Table(
    "batch_requests", metadata,
    Column("batch_id", Text, ForeignKey("batches.id"), primary_key=True),
    Column("custom_id", Text, primary_key=True),
    Column("deal_id", Text, nullable=False), Column("cache_key", Text, nullable=False),  # the notes that were sent
    Column("seq", Integer),  # the request's place in its batch (revision 0002: PostgreSQL has no rowid)
)

# A reviewer's decision on a suggestion. `suggestion_key` names the suggestion across passes (a daily
# rehearsal logs the same would_write again), so a decision sticks to (deal, field, note, value).
reviews = Table(
    "reviews", metadata,
    Column("action_id", Integer, ForeignKey("actions.id"), primary_key=True, autoincrement=False),
    Column("suggestion_id", Integer, ForeignKey("actions.id"), nullable=False),
    Column("suggestion_key", Text, nullable=False),
    Column("decision", Text, nullable=False),  # promote | dismiss
    Column("reviewer", Text, nullable=False),
    Column("click_id", Text),  # Slack's action_ts: a replayed payload is recognised by it
    Column("result", Text),  # what the reviewer was told (JSON), replayed verbatim
    Column("created_at", Text, nullable=False),
)
Index("reviews_by_key", reviews.c.suggestion_key)
Index("reviews_by_click", reviews.c.click_id, unique=True, sqlite_where=text("click_id IS NOT NULL"),
      postgresql_where=text("click_id IS NOT NULL"))

# Where each suggestion was posted in Slack, so it is posted once.
slack_posts = Table(
    "slack_posts", metadata,
    Column("suggestion_key", Text, primary_key=True),
    Column("suggestion_id", Integer, ForeignKey("actions.id"), nullable=False),
    Column("run_id", Integer),
    Column("channel", Text, nullable=False), Column("ts", Text, nullable=False), Column("thread_ts", Text),
    Column("posted_at", Text, nullable=False),
)

# In foreign-key order: what `scout db copy` copies, and the counts it checks.
TABLES = (runs, actions, scan_marks, extraction_cache, locks, batches, batch_requests, reviews, slack_posts)

"""The log's schema version: Alembic migrations, one history for SQLite and PostgreSQL (engine/db/migrations).

`upgrade` runs every pending migration in one transaction, so a database is at one revision or the next, never
between. `check` is what a process does on opening the log: a brand-new empty database is created at the
newest revision (the Quick start needs no extra command); a log at an older revision is refused with the fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text

from engine.errors import ScoutError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# Transaction-level advisory lock key: two processes upgrading one PostgreSQL at once take turns.
_UPGRADE_LOCK = 0x5C0_0001


class SchemaOutdated(ScoutError):
    """The log is at an older (or newer) schema revision than this Scout."""


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head() -> str:
    revision = ScriptDirectory.from_config(_config()).get_current_head()
    assert revision is not None
    return revision


@dataclass
class SchemaState:
    current: str | None  # None: no alembic_version (a new database, or a log from before migrations)
    head: str
    has_tables: bool  # any of the log's tables, so `current is None and has_tables` is an unversioned old log

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head

    @property
    def empty(self) -> bool:
        return self.current is None and not self.has_tables

    def describe(self) -> str:
        if self.up_to_date:
            return f"at revision {self.current} (the newest)"
        if self.empty:
            return f"empty (no schema yet; `scout db upgrade` creates revision {self.head})"
        at = f"revision {self.current}" if self.current else "the unversioned schema of Scout before migrations"
        return f"at {at}; the newest is {self.head}: run `scout db upgrade`"


def state(sync: Connection) -> SchemaState:
    current = MigrationContext.configure(sync).get_current_revision()
    return SchemaState(current=current, head=head(), has_tables=inspect(sync).has_table("runs"))


def upgrade(sync: Connection) -> tuple[SchemaState, str]:
    """Apply every pending migration on `sync`, inside the caller's transaction. Returns (the state it found,
    the revision now)."""
    before = state(sync)
    if sync.dialect.name == "postgresql":
        sync.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _UPGRADE_LOCK})
    config = _config()
    config.attributes["connection"] = sync
    command.upgrade(config, "head")
    return before, head()


def _known(revision: str) -> bool:
    try:
        return ScriptDirectory.from_config(_config()).get_revision(revision) is not None
    except Exception:  # alembic raises its own errors for an id it has no script for
        return False


def refusal(where: str, found: SchemaState) -> SchemaOutdated:
    if found.current is not None and not _known(found.current):
        return SchemaOutdated(f"the provenance log {where} is at revision {found.current}, newer than this Scout "
                              f"knows ({found.head}): upgrade Scout")
    return SchemaOutdated(f"the provenance log {where} is {found.describe()}")

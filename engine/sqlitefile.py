"""Opening a SQLite file with aiosqlite so that failure is a clear error and never a hung process."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Awaitable, Callable

import aiosqlite


async def _readable(db: aiosqlite.Connection, path: Path, table: str, empty_hint: str) -> None:
    """Read-only opens check now, so a corrupt or empty file fails here (naming it), not at a later query."""
    await db.execute("PRAGMA schema_version")  # "file is not a database" surfaces here
    rows = await db.execute_fetchall("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (table,))
    if not rows:
        size = path.stat().st_size if path.exists() else 0
        what = "the file is empty (0 bytes)" if size == 0 else f"the file has no '{table}' table"
        raise sqlite3.DatabaseError(f"{what}: {empty_hint}")


async def open_sqlite(
    path: Path, *, readonly: bool, where: str, setup: Callable[[aiosqlite.Connection], Awaitable[None]],
    table: str, empty_hint: str,
) -> aiosqlite.Connection:
    """Connect (`mode=ro` when read-only) and run `setup`. Errors carry `where`, which names the file.

    A read-only open also checks that `table` exists; `empty_hint` says what to do when it does not.
    A connection whose setup fails is closed: its thread would otherwise keep the process alive.
    """
    try:
        if not readonly:
            path.parent.mkdir(parents=True, exist_ok=True)
        db = await (aiosqlite.connect(f"file:{path.resolve()}?mode=ro", uri=True) if readonly
                    else aiosqlite.connect(path))
    except Exception as exc:
        exc.add_note(where)
        raise
    try:
        await setup(db)
        if readonly:
            await _readable(db, path, table, empty_hint)
    except BaseException as exc:
        if isinstance(exc, Exception):
            exc.add_note(where)
        await db.close()
        raise
    db.row_factory = aiosqlite.Row
    return db

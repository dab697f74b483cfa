"""Opening a SQLite file with aiosqlite so that failure is a clear error and never a hung process."""

from __future__ import annotations

from pathlib import Path
from typing import Awaitable, Callable

import aiosqlite


async def open_sqlite(
    path: Path, *, readonly: bool, where: str, setup: Callable[[aiosqlite.Connection], Awaitable[None]]
) -> aiosqlite.Connection:
    """Connect (`mode=ro` when read-only) and run `setup`. Errors carry `where`, which names the file.

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
    except BaseException as exc:
        if isinstance(exc, Exception):
            exc.add_note(where)
        await db.close()
        raise
    db.row_factory = aiosqlite.Row
    return db

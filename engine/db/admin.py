"""`scout db`: the log's schema version, its upgrade, and copying an embedded SQLite log into PostgreSQL.

Each runs in one transaction on the database it changes, so an upgrade or a copy that fails changes nothing.
"""

from __future__ import annotations

import asyncio
from typing import Callable, TypeVar

from sqlalchemy import Connection, delete, func, insert, select, text
from sqlalchemy.exc import DBAPIError

from engine.db import schema
from engine.db.engines import LogTarget, postgres_engine, sqlite_engine
from engine.db.tables import TABLES, actions, runs
from engine.errors import EXIT_USAGE, ScoutError

T = TypeVar("T")
_COPY_CHUNK = 1000  # rows per INSERT while copying


class CopyRefused(ScoutError):
    """The copy's target already holds a log (and --replace was not given), or the counts came out wrong."""

    exit_code = EXIT_USAGE


async def in_transaction(target: LogTarget, fn: Callable[[Connection], T], *, write: bool = True) -> T:
    """`fn` on one connection to `target`, in one transaction (BEGIN IMMEDIATE on SQLite) when `write`."""
    try:
        return await _in_transaction(target, fn, write=write)
    except DBAPIError as exc:
        if target.is_postgres:
            detail = (str(exc.orig or exc).strip().splitlines() or [type(exc).__name__])[-1]
            raise ScoutError(f"the provenance log {target.describe()}: {detail}") from exc
        raise (exc.orig if isinstance(exc.orig, BaseException) else exc) from None  # the CLI names the file


async def _in_transaction(target: LogTarget, fn: Callable[[Connection], T], *, write: bool) -> T:
    if target.is_postgres:
        engine = postgres_engine(target, pool_size=1)
        try:
            async with (engine.begin() if write else engine.connect()) as conn:
                return await conn.run_sync(fn)
        finally:
            await engine.dispose()
    assert target.path is not None
    path = target.path
    if not write and not path.exists():
        raise FileNotFoundError(f"no provenance log at {path} yet: run `scout run` first")

    def go() -> T:
        engine = sqlite_engine(path, readonly=not write)
        try:
            with engine.connect() as conn:
                raw = conn.connection.driver_connection
                assert raw is not None
                if not write:
                    return fn(conn)
                raw.execute("BEGIN IMMEDIATE")
                try:
                    result = fn(conn)
                except BaseException:
                    raw.execute("ROLLBACK")
                    raise
                raw.execute("COMMIT")
                return result
        finally:
            engine.dispose()
    return await asyncio.to_thread(go)


async def status(target: LogTarget) -> schema.SchemaState:
    return await in_transaction(target, schema.state, write=False)


async def upgrade(target: LogTarget) -> tuple[schema.SchemaState, str]:
    """Every pending migration, in one transaction: (the state before, the revision now)."""
    return await in_transaction(target, schema.upgrade)


def counts(conn: Connection) -> dict[str, int]:
    return {t.name: int(conn.execute(select(func.count()).select_from(t)).scalar() or 0) for t in TABLES}


async def copy(source: LogTarget, dest: LogTarget, *, replace: bool = False) -> dict[str, int]:
    """Copy every row of the log at `source` into `dest` (created or upgraded to the newest schema), in one
    transaction on `dest`; ids are kept, so undo and review references stay true. `dest` must hold no rows
    unless `replace`. Afterwards each table's count in `dest` is checked against `source`'s."""
    found = await status(source)
    if not found.up_to_date:
        await upgrade(source)  # a log from an older Scout: the same in-place upgrade `scout db upgrade` does
    rows = await in_transaction(source, lambda conn: {t.name: [dict(r) for r in conn.execute(select(t)).mappings()]
                                                      for t in TABLES}, write=False)
    expected = {name: len(table_rows) for name, table_rows in rows.items()}

    def load(conn: Connection) -> dict[str, int]:
        schema.upgrade(conn)
        held = counts(conn)
        if any(held.values()) and not replace:
            shown = ", ".join(f"{n} {name}" for name, n in held.items() if n)
            raise CopyRefused(f"the provenance log {dest.describe()} already holds {shown}: nothing was copied "
                              "(pass --replace to replace it with the copy)")
        for table in reversed(TABLES):
            conn.execute(delete(table))
        for table in TABLES:
            table_rows = rows[table.name]
            for start in range(0, len(table_rows), _COPY_CHUNK):
                conn.execute(insert(table), table_rows[start:start + _COPY_CHUNK])
        if conn.dialect.name == "postgresql":  # the next run and action ids follow the copied ones
            for table in (runs, actions):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                                  f"COALESCE(MAX(id), 1), MAX(id) IS NOT NULL) FROM {table.name}"))
        copied = counts(conn)
        if copied != expected:
            wrong = ", ".join(f"{name} {copied[name]} of {n}" for name, n in expected.items() if copied[name] != n)
            raise CopyRefused(f"the copy into {dest.describe()} came out wrong ({wrong}): rolled back, nothing copied")
        return copied
    return await in_transaction(dest, load)

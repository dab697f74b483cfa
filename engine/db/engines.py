"""Where the provenance log lives, and the SQLAlchemy engine that reaches it.

`LogTarget` is either an embedded SQLite file (the default) or a shared PostgreSQL (`DATABASE_URL`).
The SQLite engine keeps today's file settings (WAL, synchronous=NORMAL, a 5 s busy timeout) and leaves
transactions to the store, which emits BEGIN itself (so `BEGIN IMMEDIATE` is possible); the PostgreSQL
engine is a small pool that pings a connection before handing it out, so a dropped connection is replaced.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import NullPool
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from engine.errors import ScoutError

DEFAULT_POOL_SIZE = 5  # per process; web + clock + a release phase stay far under a hobby plan's ~20 connections


class LogUrlError(ScoutError):
    """DATABASE_URL names something other than PostgreSQL."""

    exit_code = 2


def postgres_url(url: str) -> URL:
    """`postgres://` (Heroku's spelling) and `postgresql://` both mean PostgreSQL through asyncpg."""
    try:
        parsed = make_url(url)
    except Exception:
        raise LogUrlError("DATABASE_URL is not a database URL (expected postgresql://user@host:5432/db)") from None
    if parsed.drivername not in ("postgres", "postgresql", "postgresql+asyncpg"):
        raise LogUrlError(f"DATABASE_URL must be a postgresql:// URL, not {parsed.drivername}://")
    return parsed.set(drivername="postgresql+asyncpg")


@dataclass(frozen=True)
class LogTarget:
    """The log's place: a SQLite `path`, or a PostgreSQL `url` (then `schema` picks a search_path, for tests)."""

    path: Path | None = None
    url: URL | None = None
    pool_size: int = DEFAULT_POOL_SIZE
    schema: str | None = None

    @classmethod
    def sqlite(cls, path: Path | str) -> "LogTarget":
        return cls(path=Path(path))

    @classmethod
    def postgres(cls, url: str, *, pool_size: int = DEFAULT_POOL_SIZE, schema: str | None = None) -> "LogTarget":
        return cls(url=postgres_url(url), pool_size=pool_size, schema=schema)

    @property
    def is_postgres(self) -> bool:
        return self.url is not None

    def describe(self) -> str:
        """For messages: the file, or the database without its password."""
        if self.url is not None:
            shown = self.url.render_as_string(hide_password=True).replace("postgresql+asyncpg", "postgresql")
            return shown + (f" (schema {self.schema})" if self.schema else "")
        return str(self.path)


def sqlite_engine(path: Path, *, readonly: bool) -> Engine:
    """The standard library's sqlite3 driver, which the store runs on a thread of its own (so the event loop
    never waits on the file). Autocommit at the driver: the store emits BEGIN and COMMIT itself."""
    if not readonly:
        path.parent.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///file:{path.resolve()}?mode=ro&uri=true" if readonly else f"sqlite:///{path}"
    engine = create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT",
                           connect_args={"check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        if not readonly:
            cursor.execute("PRAGMA journal_mode=WAL")
            # Under WAL, NORMAL skips the fsync on each commit (the WAL is synced at checkpoints). A committed
            # row is in the WAL file, so it survives a crash of this process (the case intent rows exist for);
            # only a power loss or OS crash can drop the last commits, and never corrupts the file.
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()

    return engine


def postgres_engine(target: LogTarget, *, readonly: bool = False, pool_size: int | None = None) -> AsyncEngine:
    assert target.url is not None
    settings: dict[str, str] = {"application_name": "scout"}
    if target.schema:
        settings["search_path"] = target.schema
    if readonly:
        settings["default_transaction_read_only"] = "on"  # every transaction on these connections is READ ONLY
    engine = create_async_engine(
        target.url, pool_size=pool_size or target.pool_size, max_overflow=0, pool_pre_ping=True,
        connect_args={"server_settings": settings},
    )
    event.listen(engine.sync_engine, "handle_error", _mark_lost_sessions)
    return engine


def _causes(exc: BaseException | None) -> Iterator[BaseException]:
    while exc is not None:
        yield exc
        exc = exc.__cause__


def _closed(exc: BaseException) -> bool:
    import asyncpg  # type: ignore[import-untyped]

    return isinstance(exc, asyncpg.exceptions.InterfaceError) and "connection is closed" in str(exc)


def session_lost(exc: BaseException | None) -> bool:
    """The server ended the session (a restart, a failover, an administrator), or its connection went: the
    driver's own errors for that, wherever in the chain of causes they are."""
    import asyncpg

    # Not all of class 57: a statement_timeout (QueryCanceledError, 57014) leaves the session alive.
    gone = (asyncpg.exceptions.PostgresConnectionError, asyncpg.exceptions.AdminShutdownError,
            asyncpg.exceptions.CrashShutdownError, asyncpg.exceptions.CannotConnectNowError, ConnectionError)
    return any(isinstance(e, gone) or _closed(e) for e in _causes(exc))


def refused_before_sending(exc: BaseException | None) -> bool:
    """The driver refused the statement before sending it: its connection was already closed, or still busy
    reading the server's last words (a session the server ended). Such a COMMIT never reached the server."""
    import asyncpg

    return any(_closed(e) or (isinstance(e, asyncpg.exceptions.InternalClientError)
                              and "cannot switch to state" in str(e)) for e in _causes(exc))


def _mark_lost_sessions(context: Any) -> None:
    # SQLAlchemy's asyncpg dialect calls a session gone only once the driver has seen the socket close; the
    # server's "terminating connection" message can arrive first. Marked a disconnect here, the connection is
    # replaced (at the ping, or for the store's one retry) instead of failing the statement.
    if session_lost(context.original_exception):
        context.is_disconnect = True

"""The provenance log (invariant 4): every action Scout takes or rehearses, in SQLite or a shared PostgreSQL.

It is the audit trail, the undo map and the dry-run preview. `ProvenanceStore` implements the protocols in
`engine.store` with SQLAlchemy Core over the tables of `engine.db.tables`: one SQL code path for the embedded
SQLite file (aiosqlite) and for PostgreSQL (asyncpg, `DATABASE_URL`). The read-only faces get
`open_log_reader`: a `LogReader` over a `mode=ro` file, or over PostgreSQL connections whose every transaction
is READ ONLY.

Each public method is one transaction (`log_many`, `log_scanned`, `set_outcome`: one commit each, nothing per
row). On SQLite the store keeps one connection and serialises its transactions on it, as before; on
PostgreSQL each transaction checks a connection out of a small pool that replaces a dropped one.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
from contextlib import suppress
from datetime import datetime, timedelta, timezone
from pathlib import Path
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Awaitable, Callable, Mapping, Sequence, TypeVar

from sqlalchemy import Select, bindparam, delete, func, insert, select, update
from sqlalchemy import text as sql
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError
from sqlalchemy.engine import Connection, RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from engine.crm.base import CRMError
from engine.db import schema
from engine.db.engines import LogTarget, postgres_engine, refused_before_sending, session_lost, sqlite_engine
from engine.db.tables import actions, batch_requests, batches, extraction_cache, locks, reviews, runs, scan_marks, \
    slack_posts
from engine.errors import LockHeld, ScoutError  # noqa: F401 (LockHeld re-exported)
from engine.models import ActionKind, RunSummary, Usage
from engine.store import LogReader
from engine.store.actions import (  # noqa: F401 (re-exported: the data classes live beside their protocols)
    EXPIRED_REASON, SUGGESTIONS, ActionRow, ActionStatus, AppliedWrites, Outcome, OutcomeUpdate, RunKind, RunRow,
    RunStatus, dump_value, is_suggestion, suggestion_key,
)
from engine.store.batches import BatchEntry, BatchRow, BatchStatus  # noqa: F401 (re-exported)
from engine.store.locks import holder_dead, this_process  # noqa: F401 (re-exported)
from engine.store.review import ReviewClaim, SlackPostRow  # noqa: F401 (re-exported)

# A SQLite pass that died without releasing its lock frees it after this long (PostgreSQL's frees at once).
LOCK_TTL = timedelta(hours=6)
# Transaction-level advisory lock that PostgreSQL writers needing BEGIN IMMEDIATE's exclusion take.
_WRITER_LOCK = 0x5C0_0002
T = TypeVar("T")


class LogUnavailable(ScoutError):
    """The shared log's database failed a statement (unreachable, or it refused): one line naming it."""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


_dump = dump_value


def _load(value: str | None) -> Any:
    return None if value is None else json.loads(value)


# A run's counts, derived from its action rows the same way for every kind of run: a CRM change counts as
# written once it is applied (reverts, promotions and created fields included), its rehearsal as would-write.
# Deals whose batch extraction expired are logged as skipped but reported apart (RunSummary.expired).
# Plain SQL that both SQLite and PostgreSQL run (CASE, not SQLite's summing of booleans).
def _among(*kinds: ActionKind) -> str:
    return "action IN (" + ", ".join(f"'{k.value}'" for k in kinds) + ")"


def _sum(condition: str) -> str:
    return f"SUM(CASE WHEN {condition} THEN 1 ELSE 0 END)"


COUNT_COLUMNS = ("written", "would_write", "skipped", "dropped", "failed")
_CHANGED = _among(ActionKind.WRITTEN, ActionKind.REVERTED, ActionKind.PROMOTED, ActionKind.FIELD_CREATED)
_REHEARSED = _among(ActionKind.WOULD_WRITE, ActionKind.WOULD_REVERT, ActionKind.WOULD_PROMOTE,
                    ActionKind.WOULD_CREATE_FIELD)
COUNTS_SQL = (
    _sum(f"{_CHANGED} AND status = 'applied'"),
    _sum(_REHEARSED),
    _sum(f"{_among(ActionKind.SKIPPED, ActionKind.REVERT_CONFLICT)} AND COALESCE(reason, '') NOT LIKE"
         f" '{EXPIRED_REASON} %'"),
    _sum(_among(ActionKind.DROPPED)),
    _sum(_among(ActionKind.FAILED)),
)
_STORE_COUNTS = sql(
    f"UPDATE runs SET ({', '.join(COUNT_COLUMNS)}) = (SELECT {', '.join(COUNTS_SQL)} FROM actions"
    " WHERE actions.run_id = runs.id) WHERE id = :run_id")

# The counts are read from the actions, never from what a process last wrote into `runs`: they are true
# while a run is going, after it was killed, and after a later reconcile settled its writes in flight.
_RUN_COLUMNS = ("id", "kind", "started_at", "finished_at", "status", "dry_run", "dry_run_reason", "target_run",
                "cap", "scanned", "total", "model", "prompt_version", "usage", "cost_usd", "summary", "holder")
_RUNS = (f"SELECT {', '.join(f'runs.{c}' for c in _RUN_COLUMNS)},"
         f" {', '.join(f'COALESCE(c.{c}, 0) AS {c}' for c in COUNT_COLUMNS)} FROM runs"
         f" LEFT JOIN (SELECT run_id, {', '.join(f'{sql} AS {c}' for c, sql in zip(COUNT_COLUMNS, COUNTS_SQL))}"
         " FROM actions WHERE run_id IN (SELECT id FROM runs {where}) GROUP BY run_id) c ON c.run_id = runs.id")
_RUN_BY_ID = sql(_RUNS.format(where="WHERE id = :run_id") + " WHERE runs.id = :run_id")
_RUNS_NEWEST = sql(_RUNS.format(where="ORDER BY id DESC LIMIT :limit") + " ORDER BY runs.id DESC LIMIT :limit")
_RUNS_RUNNING = sql(_RUNS.format(where="WHERE status = 'running'") + " WHERE runs.status = 'running' ORDER BY runs.id")


# The hot path's statements, built once: only their parameters change per call (SQLAlchemy then reuses the
# compiled form from its cache without building a statement and its cache key each time).
_INSERT_ACTION = insert(actions)
_SET_OUTCOME = update(actions).where(actions.c.id == bindparam("action_id")).values(
    status=bindparam("status"), error=bindparam("error"), updated_at=bindparam("now"))
_SET_OUTCOME_AND_KIND = _SET_OUTCOME.values(action=bindparam("kind"))
_COUNT_SCANNED = update(runs).where(runs.c.id == bindparam("run_id")).values(
    scanned=func.coalesce(runs.c.scanned, 0) + 1)
_COUNT_SCANNED_MANY = update(runs).where(runs.c.id == bindparam("run_id")).values(
    scanned=func.coalesce(runs.c.scanned, 0) + bindparam("n"))
# Many rows in one statement, their ids handed back in the order the rows were given.
_INSERT_ACTIONS_RETURNING = insert(actions).returning(actions.c.id, sort_by_parameter_order=True)
_SET_OUTCOME_MANY = update(actions).where(actions.c.id == bindparam("action_id")).values(
    status=bindparam("status"), error=bindparam("error"), updated_at=bindparam("now"),
    action=func.coalesce(bindparam("kind"), actions.c.action))
_CACHE_GET = select(extraction_cache.c.key, extraction_cache.c.payload).where(
    extraction_cache.c.key.in_(bindparam("keys", expanding=True)))
_APPLIED = select(actions.c.deal_id, actions.c.field, actions.c.note_id, actions.c.new).where(
    actions.c.deal_id.in_(bindparam("deals", expanding=True)), actions.c.field.in_(bindparam("fields", expanding=True)),
    actions.c.action == ActionKind.WRITTEN.value, actions.c.dry_run == 0, actions.c.status == "applied")
# Values bound per IN (...) list: far under SQLite's and PostgreSQL's limits, whatever the page size.
_IN_CHUNK = 500
_LATEST = select(actions).where(
    actions.c.deal_id == bindparam("deal_id"), actions.c.field == bindparam("field"),
    actions.c.action.in_(bindparam("kinds", expanding=True))).order_by(actions.c.id.desc()).limit(1)
_ACTION_BY_ID = select(actions).where(actions.c.id == bindparam("action_id"))


class _Upserts:
    """The dialect's INSERT ... ON CONFLICT statements (the same SQL on SQLite and PostgreSQL), built once."""

    def __init__(self, dialect: Any):
        scan = dialect.insert(scan_marks).values(
            deal_id=bindparam("deal_id"), last_scanned_at=bindparam("at"), last_run_id=bindparam("run_id"),
            dry_run=select(runs.c.dry_run).where(runs.c.id == bindparam("run_id")).scalar_subquery())
        self.scan = scan.on_conflict_do_update(
            index_elements=[scan_marks.c.deal_id, scan_marks.c.dry_run],
            set_={"last_scanned_at": scan.excluded.last_scanned_at, "last_run_id": scan.excluded.last_run_id})
        cache = dialect.insert(extraction_cache)
        self.cache = cache.on_conflict_do_update(index_elements=[extraction_cache.c.key], set_={
            "payload": cache.excluded.payload, "created_at": cache.excluded.created_at})
        lock = dialect.insert(locks)
        self.lock = lock.on_conflict_do_update(index_elements=[locks.c.name], set_={
            "holder": lock.excluded.holder, "acquired_at": lock.excluded.acquired_at,
            "expires_at": lock.excluded.expires_at})
        self.post = dialect.insert(slack_posts).on_conflict_do_nothing()


# A bigint advisory lock shows in pg_locks as its high and low 32 bits (classid, objid) with objsubid 1.
_LOCK_HELD = sql("SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = :pid"
                 " AND classid = :hi AND objid = :lo AND objsubid = 1")


def _lock_held_params(key: int, pid: int) -> dict[str, int]:
    unsigned = key & 0xFFFFFFFFFFFFFFFF
    return {"pid": pid, "hi": unsigned >> 32, "lo": unsigned & 0xFFFFFFFF}


def _chunks(items: list[str]) -> list[list[str]]:
    return [items[i:i + _IN_CHUNK] for i in range(0, len(items), _IN_CHUNK)]


def _advisory_key(name: str) -> int:
    """A stable signed 64-bit key for pg_advisory_lock, from the lock's name and the log's schema."""
    return int.from_bytes(hashlib.sha256(f"scout:{name}".encode()).digest()[:8], "big", signed=True)


class _Backend:
    """How one database runs the store's transactions: `run(fn)` calls `fn` with a SQLAlchemy Connection
    inside one transaction (committed when `write`, else a plain read) and returns what it returns."""

    engine: Any
    dialect: Any  # the dialect module whose insert() has on_conflict_* (sqlite or postgresql)

    async def run(self, fn: Callable[[Connection], T], *, write: bool, immediate: bool = False) -> T:
        raise NotImplementedError

    async def aclose(self) -> None:
        raise NotImplementedError


class _Sqlite(_Backend):
    """One connection on one thread of its own; each transaction is one trip to that thread (aiosqlite's
    adapter would make four trips per statement: cursor, execute, fetch, close). The thread runs them in
    order, one at a time. BEGIN is ours to emit (the driver runs in autocommit), so a claim can take
    `BEGIN IMMEDIATE` and wait its turn behind other processes' writers (busy_timeout)."""

    dialect = sqlite

    def __init__(self, engine: Any, readonly: bool):
        self.engine, self._readonly = engine, readonly
        self._thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="scout-log")
        self._conn: Connection | None = None

    def _connection(self) -> Connection:
        if self._conn is None or self._conn.invalidated:
            self._conn = self.engine.connect()
        return self._conn

    def _transaction(self, fn: Callable[[Connection], T], write: bool, immediate: bool) -> T:
        conn = self._connection()
        if not write:
            return fn(conn)
        raw = conn.connection.driver_connection  # BEGIN and COMMIT straight to sqlite3: nothing to compile
        assert raw is not None
        raw.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
        try:
            result = fn(conn)
        except BaseException:
            with suppress(Exception):
                raw.execute("ROLLBACK")
            raise
        raw.execute("COMMIT")
        return result

    async def run(self, fn: Callable[[Connection], T], *, write: bool, immediate: bool = False) -> T:
        try:
            return await asyncio.get_running_loop().run_in_executor(self._thread, self._transaction, fn, write, immediate)
        except DBAPIError as exc:
            raise _plain(exc) from None

    async def aclose(self) -> None:
        def close() -> None:
            if self._conn is not None:
                self._conn.close()
            self.engine.dispose()
        await asyncio.get_running_loop().run_in_executor(self._thread, close)
        self._thread.shutdown(wait=False)


def _plain(exc: DBAPIError) -> BaseException:
    """The driver's own sqlite3 error, which the CLI turns into one line naming the file."""
    return exc.orig if isinstance(exc.orig, BaseException) else exc


_XID = sql("SELECT txid_current()")
_XID_STATUS = sql("SELECT txid_status(:xid)")
# Seconds between attempts to reach a PostgreSQL that refuses connections (restarting): about 30 in all.
RECONNECT_WAITS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 15.0)


async def _discard(conn: AsyncConnection) -> None:
    """Hand a connection back (a broken one is dropped by the pool); closing never raises here."""
    with suppress(Exception):
        await conn.close()


class _Postgres(_Backend):
    """A transaction per call, on a pooled connection (pinged first, so a dropped one is replaced)."""

    dialect = postgresql

    def __init__(self, engine: AsyncEngine, where: str):
        self.engine, self._where = engine, where

    async def run(self, fn: Callable[[Connection], T], *, write: bool, immediate: bool = False) -> T:
        def body(conn: Connection) -> tuple[int | None, T]:
            # A write's transaction id, so that a COMMIT whose answer was lost can be looked up, not guessed.
            xid = int(conn.execute(_XID).scalar_one()) if write else None
            if immediate:  # as SQLite's BEGIN IMMEDIATE: one such writer at a time, the others wait
                conn.execute(sql("SELECT pg_advisory_xact_lock(:k)"), {"k": _WRITER_LOCK})
            return xid, fn(conn)
        retried = False  # one retry in all, only where nothing can have been committed
        while True:
            conn = await self.checkout()
            try:  # the connection goes back in any case, cancellation (Ctrl-C, SIGTERM) included
                try:
                    xid, result = await conn.run_sync(body)
                except DBAPIError as exc:
                    # A session the server ended under a statement in flight: its transaction was rolled back,
                    # so it is run once more on a new connection.
                    if not retried and (exc.connection_invalidated or session_lost(exc)):
                        retried = True
                        continue
                    raise self.failed(exc) from exc
                if write:
                    try:
                        await conn.commit()
                    except DBAPIError as exc:
                        await _discard(conn)  # before asking on another connection: the pool is small
                        # A COMMIT the driver never sent (the server had ended the session and rolled the
                        # transaction back) is safe to run again. One that was sent may have been applied: the
                        # server says whether it was. Run blindly again, it would log every row twice.
                        outcome = "aborted" if refused_before_sending(exc) else await self._outcome(xid, exc)
                        if outcome == "aborted" and not retried:
                            retried = True
                            continue
                        if outcome != "committed":
                            raise self.failed(exc) from exc
                return result
            finally:
                await _discard(conn)

    async def _outcome(self, xid: int | None, exc: DBAPIError) -> str | None:
        """After a COMMIT whose answer was lost with its session: 'committed' or 'aborted' as the server
        recorded it (txid_status), or None when it cannot tell."""
        if xid is None or not (exc.connection_invalidated or session_lost(exc)):
            return None
        for _ in range(50):  # "in progress" while the ended session is still going away
            try:
                conn = await self.checkout()
            except LogUnavailable:
                return None
            try:
                status = (await conn.execute(_XID_STATUS, {"xid": xid})).scalar()
            except DBAPIError:
                return None
            finally:
                await _discard(conn)
            if status != "in progress":
                return None if status is None else str(status)
            await asyncio.sleep(0.1)
        return None

    async def checkout(self) -> AsyncConnection:
        """A pooled connection, pinged (a dead one is replaced). Nothing has been sent yet, so a server that is
        restarting is waited for, a little longer each time, for about 30 s in all."""
        waits = iter(RECONNECT_WAITS)
        while True:
            conn = self.engine.connect()
            try:
                await conn.start()
                return conn
            except (DBAPIError, OSError) as exc:  # a refused connect comes as the OSError itself
                wait = next(waits, None)
                if wait is None or not (getattr(exc, "connection_invalidated", False) or session_lost(exc)):
                    raise self.failed(exc) from exc
                await asyncio.sleep(wait)

    def failed(self, exc: Exception) -> LogUnavailable:
        detail = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or [type(exc).__name__])[-1]
        return LogUnavailable(f"the provenance log {self._where} failed: {detail}")

    async def aclose(self) -> None:
        await self.engine.dispose()


class ProvenanceStore:
    """The log: implements every protocol of `engine.store` (`ProvenanceLog`) on SQLite or PostgreSQL.

    Each method builds its statements and hands the backend one function to run in one transaction."""

    def __init__(self, backend: _Backend, readonly: bool, target: LogTarget):
        self._b = backend
        self.readonly = readonly
        self.target = target
        # Named in errors about the log as a whole: the SQLite file, or the database (password hidden).
        self.path: Path | str | None = target.path if target.path is not None else target.describe()
        self._deferred: list[dict[str, Any]] = []  # cache entries left to the next commit (cache_put commit=False)
        self._deferred_outcomes: list[dict[str, Any]] = []  # set_outcomes(commit=False): in the next commit
        self._up = _Upserts(backend.dialect)
        self._lock_conns: dict[str, AsyncConnection] = {}  # PostgreSQL: the session holding each advisory lock
        self._lock_guard = asyncio.Lock()
        self._lock_pids: dict[str, int] = {}  # PostgreSQL: the server process of each lock's session

    @classmethod
    async def open(cls, where: Path | str | LogTarget, *, readonly: bool = False) -> "ProvenanceStore":
        """Open the log. A new empty database gets the newest schema; one at an older revision is refused
        (SchemaOutdated names `scout db upgrade`)."""
        target = where if isinstance(where, LogTarget) else LogTarget.sqlite(where)
        if target.is_postgres:
            return await cls._open_postgres(target, readonly)
        return await cls._open_sqlite(target, readonly)

    @classmethod
    async def _open_sqlite(cls, target: LogTarget, readonly: bool) -> "ProvenanceStore":
        path = target.path
        assert path is not None
        where = f"cannot open the provenance log {path}"  # the CLI's one-line error names the file
        if readonly and not path.exists():
            raise FileNotFoundError(f"no provenance log at {path} yet: run `scout run` first")
        try:
            backend = _Sqlite(sqlite_engine(path, readonly=readonly), readonly)
        except Exception as exc:
            exc.add_note(where)
            raise

        def check(conn: Connection) -> schema.SchemaState:
            conn.exec_driver_sql("PRAGMA schema_version")  # "file is not a database" surfaces here
            found = schema.state(conn)
            if readonly and not found.has_tables:
                size = path.stat().st_size if path.exists() else 0
                what = "the file is empty (0 bytes)" if size == 0 else "the file has no 'runs' table"
                raise sqlite3.DatabaseError(f"{what}: it records no runs yet (`scout run` starts it)")
            return found

        def create(conn: Connection) -> None:
            if schema.state(conn).empty:  # another process may have just created it
                schema.upgrade(conn)

        try:
            found = await backend.run(check, write=False)
            if found.empty and not readonly:
                await backend.run(create, write=True, immediate=True)
            elif not found.up_to_date:
                raise schema.refusal(str(path), found)
        except BaseException as exc:
            if isinstance(exc, Exception) and not isinstance(exc, ScoutError):
                exc.add_note(where)
            await backend.aclose()
            raise
        return cls(backend, readonly, target)

    @classmethod
    async def _open_postgres(cls, target: LogTarget, readonly: bool) -> "ProvenanceStore":
        backend = _Postgres(postgres_engine(target, readonly=readonly), target.describe())
        try:
            try:
                async with backend.engine.connect() as conn:
                    found = await conn.run_sync(schema.state)
                if found.empty and readonly:
                    raise LogUnavailable(f"the provenance log {target.describe()} records no runs yet "
                                         "(`scout run` starts it)")
                if found.empty:
                    async with backend.engine.begin() as conn:
                        await conn.run_sync(schema.upgrade)  # serialised by an advisory lock; a no-op for the second
                elif not found.up_to_date:
                    raise schema.refusal(target.describe(), found)
            except (DBAPIError, OSError) as exc:
                detail = str(getattr(exc, "orig", None) or exc).strip().splitlines()
                raise LogUnavailable(f"cannot open the provenance log {target.describe()}: "
                                     f"{detail[-1] if detail else type(exc).__name__}") from exc
        except BaseException:
            await backend.aclose()
            raise
        return cls(backend, readonly, target)

    async def aclose(self) -> None:
        for conn in self._lock_conns.values():
            with suppress(Exception):
                await conn.close()
        self._lock_conns.clear()
        if (self._deferred or self._deferred_outcomes) and not self.readonly:
            await self._write(lambda conn: None)  # flushes the deferred cache entries and outcomes
        await self._b.aclose()

    async def _write(self, fn: Callable[[Connection], T], *, immediate: bool = False) -> T:
        entries, self._deferred = self._deferred, []
        outcomes, self._deferred_outcomes = self._deferred_outcomes, []

        def body(conn: Connection) -> T:
            if entries:
                conn.execute(self._up.cache, entries)
            if outcomes:
                conn.execute(_SET_OUTCOME_MANY, outcomes)
            return fn(conn)
        return await self._b.run(body, write=True, immediate=immediate)

    async def _read(self, fn: Callable[[Connection], T]) -> T:
        return await self._b.run(fn, write=False)

    async def _rows(self, query: Any, params: dict[str, Any] | None = None) -> Sequence[RowMapping]:
        return await self._read(lambda conn: conn.execute(query, params or {}).mappings().all())

    async def _scalar(self, query: Any, params: dict[str, Any] | None = None) -> Any:
        return await self._read(lambda conn: conn.execute(query, params or {}).scalar())

    # -- runs ---------------------------------------------------------------------------------------------

    async def start_run(
        self, kind: RunKind, *, dry_run: bool, dry_run_reason: str | None, cap: int | None = None,
        model: str | None = None, prompt_version: str | None = None, target_run: int | None = None,
    ) -> int:
        stmt = insert(runs).values(
            kind=kind, started_at=_now(), status="running", dry_run=int(dry_run), dry_run_reason=dry_run_reason,
            cap=cap, model=model, prompt_version=prompt_version, target_run=target_run, holder=this_process())
        return await self._write(lambda conn: _new_id(conn.execute(stmt)))

    async def finish_run(self, summary: RunSummary, text: str, status: RunStatus = "finished") -> None:
        stmt = update(runs).where(runs.c.id == summary.run_id).values(
            finished_at=_now(), status=status, scanned=summary.scanned, total=summary.total,
            usage=summary.usage.model_dump_json(), cost_usd=summary.cost_usd, summary=text)

        def body(conn: Connection) -> None:
            conn.execute(stmt)
            conn.execute(_STORE_COUNTS, {"run_id": summary.run_id})
        await self._write(body)

    async def set_total(self, run_id: int, total: int) -> None:
        """The pipeline's size, recorded as soon as it is known, so a run killed mid-way still says X/Y."""
        stmt = update(runs).where(runs.c.id == run_id).values(total=total, scanned=func.coalesce(runs.c.scanned, 0))
        await self._write(lambda conn: conn.execute(stmt))

    async def refresh_counts(self, run_ids: set[int]) -> None:
        """After a reconcile settled some of these runs' writes: their stored counts follow."""
        if run_ids:
            await self._write(lambda conn: conn.execute(_STORE_COUNTS, [{"run_id": r} for r in sorted(run_ids)]))

    @staticmethod
    def _run(r: RowMapping) -> RunRow:
        data = dict(r)
        data["dry_run"] = bool(data["dry_run"])
        data["usage"] = Usage.model_validate_json(data["usage"]) if data["usage"] else None
        return RunRow.model_validate({k: data[k] for k in RunRow.model_fields})

    async def _runs(self, query: Any, params: dict[str, Any]) -> list[RunRow]:
        return [self._run(r) for r in await self._rows(query, params)]

    async def get_run(self, run_id: int) -> RunRow | None:
        found = await self._runs(_RUN_BY_ID, {"run_id": run_id})
        return found[0] if found else None

    async def has_passes(self) -> bool:
        """Whether any pass was ever recorded: a log without one is new, or was emptied or replaced."""
        return await self._scalar(select(runs.c.id).where(runs.c.kind == "pass").limit(1)) is not None

    async def last_live_pass(self) -> int | None:
        """The newest pass that ran with both locks open, however it ended: the one `scout undo last` means."""
        found = await self._scalar(select(runs.c.id).where(runs.c.kind == "pass", runs.c.dry_run == 0)
                                   .order_by(runs.c.id.desc()).limit(1))
        return None if found is None else int(found)

    async def list_runs(self, limit: int = 20) -> list[RunRow]:
        return await self._runs(_RUNS_NEWEST, {"limit": limit})

    async def running_runs(self) -> list[RunRow]:
        return await self._runs(_RUNS_RUNNING, {})

    async def interrupt_runs(self, notes: dict[int, str]) -> None:
        """Runs whose process is gone (the caller proved it): `interrupted`, with their counts as the log has them."""
        now = _now()

        def body(conn: Connection) -> None:
            for run_id, note in notes.items():
                conn.execute(update(runs).where(runs.c.id == run_id, runs.c.status == "running").values(
                    status="interrupted", finished_at=now, summary=func.coalesce(runs.c.summary, note)))
                conn.execute(_STORE_COUNTS, {"run_id": run_id})
        await self._write(body)

    async def mark_interrupted(self, run_id: int, note: str) -> None:
        """A run whose process died (its batch is resumed by a later run) stops showing as running."""
        stmt = update(runs).where(runs.c.id == run_id, runs.c.status.in_(("running", "interrupted"))).values(
            status="interrupted", finished_at=func.coalesce(runs.c.finished_at, _now()), summary=note)

        def body(conn: Connection) -> None:
            conn.execute(stmt)
            conn.execute(_STORE_COUNTS, {"run_id": run_id})
        await self._write(body)

    # -- actions ------------------------------------------------------------------------------------------

    @staticmethod
    def _action_params(row: ActionRow, now: str) -> dict[str, Any]:
        return {"run_id": row.run_id, "deal_id": row.deal_id, "deal_name": row.deal_name, "concept": row.concept,
                "field": row.field, "action": row.action.value, "reason": row.reason,
                "previous": _dump(row.previous), "new": _dump(row.new), "rep_value": _dump(row.rep_value),
                "note_id": row.note_id, "excerpt": row.excerpt, "model": row.model, "dry_run": int(row.dry_run),
                "status": row.status, "error": row.error, "actor": row.actor, "reverts": row.reverts,
                "created_at": now, "updated_at": now}

    async def log(self, row: ActionRow, *, commit: bool = True) -> int:
        """One row in its own transaction (`commit` is kept for callers; a claim logs inside record_review)."""
        params = self._action_params(row, _now())
        return await self._write(lambda conn: _new_id(conn.execute(_INSERT_ACTION, params)))

    @classmethod
    def _insert_actions(cls, conn: Connection, rows: list[ActionRow]) -> None:
        # One executemany for a deal's rows: one statement, compiled once, for all of them.
        if rows:
            now = _now()
            conn.execute(_INSERT_ACTION, [cls._action_params(row, now) for row in rows])

    async def log_many(self, rows: list[ActionRow]) -> None:
        await self._write(lambda conn: self._insert_actions(conn, rows))

    async def log_scanned(self, rows: list[ActionRow], deal_id: str, run_id: int, *, counted: bool = True) -> None:
        """A deal's rows and its scan mark in one commit: the deal counts as scanned exactly when its rows are
        on record (and a pass makes one commit per deal instead of two). `counted`: the run's `scanned` goes
        up in the same commit, so it is true even if the process dies next."""
        # Microsecond precision so deals scanned in one pass keep their order for the next.
        scan = {"deal_id": deal_id, "run_id": run_id, "at": datetime.now(timezone.utc).isoformat()}

        def body(conn: Connection) -> None:
            self._insert_actions(conn, rows)
            conn.execute(self._up.scan, scan)
            if counted:
                conn.execute(_COUNT_SCANNED, {"run_id": run_id})
        await self._write(body)

    async def log_scanned_many(self, scanned: list[tuple[str, list[ActionRow]]], run_id: int) -> None:
        """A page of deals: their rows, scan marks and the run's `scanned` count in one commit."""
        now = datetime.now(timezone.utc)
        rows = [row for _, deal_rows in scanned for row in deal_rows]
        # Microsecond steps keep the page's deals in order for the next pass's rotation.
        marks = [{"deal_id": deal_id, "run_id": run_id, "at": (now + timedelta(microseconds=i)).isoformat()}
                 for i, (deal_id, _) in enumerate(scanned)]

        def body(conn: Connection) -> None:
            self._insert_actions(conn, rows)
            if marks:
                conn.execute(self._up.scan, marks)
                conn.execute(_COUNT_SCANNED_MANY, {"run_id": run_id, "n": len(marks)})
        await self._write(body)

    async def log_intents(self, rows: list[ActionRow]) -> list[int]:
        if not rows:
            return []
        now = _now()
        params = [self._action_params(row, now) for row in rows]
        held = self._lock_pids.get("pass")

        def body(conn: Connection) -> list[int]:
            # Under the pass lock on PostgreSQL, the intents commit only while the lock's own session still
            # holds it: a lock lost since the last check never lets a page's writes begin.
            if held is not None and not conn.execute(_LOCK_HELD, _lock_held_params(self._lock_key("pass"), held)
                                                     ).first():
                raise LockHeld("another pass may be running: this pass's lock was lost (its database session "
                               "ended) before its writes; nothing of them was logged or sent")
            return [int(r[0]) for r in conn.execute(_INSERT_ACTIONS_RETURNING, params).all()]
        return await self._write(body)

    async def set_outcomes(self, outcomes: list[OutcomeUpdate], *, commit: bool = True) -> None:
        if not outcomes:
            return
        now = _now()
        self._deferred_outcomes += [
            {"action_id": o.action_id, "status": o.status, "error": o.error, "now": now,
             "kind": o.action.value if o.action else None} for o in outcomes]
        if commit:
            await self._write(lambda conn: None)

    async def set_outcome(self, action_id: int, status: ActionStatus, error: str | None = None,
                          action: ActionKind | None = None) -> None:
        params = {"action_id": action_id, "status": status, "error": error, "now": _now()}
        if action is not None:
            params["kind"] = action.value
        stmt = _SET_OUTCOME if action is None else _SET_OUTCOME_AND_KIND
        await self._write(lambda conn: conn.execute(stmt, params))

    async def carry_out(self, intent: int, call: Callable[[], Awaitable[None]],
                        landed: Callable[[], Awaitable[bool]]) -> Outcome:
        """The CRM call of a logged intent, and its outcome on record whatever the call raises (invariant 4).

        A CRMError is the CRM's answer: failed. Any other error (a read-only workspace, a bug in an adapter)
        leaves open whether the write landed, so `landed` asks the CRM; only if that cannot tell either does
        the intent stay pending, for the next reconcile. Cancellation (Ctrl-C, SIGTERM) leaves it pending too.
        """
        try:
            await call()
        except CRMError as exc:
            await self.set_outcome(intent, "failed", str(exc), action=ActionKind.FAILED)
            return Outcome(status="failed", error=str(exc))
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            try:
                held = await landed()
            except Exception:
                return Outcome(status="pending", error=f"{error} (outcome unknown until reconciled)")
            if held:
                await self.set_outcome(intent, "applied", f"the value landed despite {error}")
                return Outcome(status="applied")
            await self.set_outcome(intent, "failed", error, action=ActionKind.FAILED)
            return Outcome(status="failed", error=error)
        await self.set_outcome(intent, "applied")
        return Outcome(status="applied")

    @staticmethod
    def _action(r: RowMapping) -> ActionRow:
        data = dict(r)
        for key in ("previous", "new", "rep_value"):
            data[key] = _load(data[key])
        data["dry_run"] = bool(data["dry_run"])
        return ActionRow.model_validate({k: data[k] for k in ActionRow.model_fields})

    async def _actions(self, query: Any, params: dict[str, Any] | None = None) -> list[ActionRow]:
        return [self._action(r) for r in await self._rows(query, params)]

    async def actions_for_run(self, run_id: int) -> list[ActionRow]:
        return await self._actions(select(actions).where(actions.c.run_id == run_id).order_by(actions.c.id))

    async def get_action(self, action_id: int) -> ActionRow | None:
        found = await self._actions(_ACTION_BY_ID, {"action_id": action_id})
        return found[0] if found else None

    async def pending_intents(self) -> list[ActionRow]:
        return await self._actions(select(actions).where(actions.c.status == "pending").order_by(actions.c.id))

    async def applied_writes(self, wanted: Mapping[str, Sequence[str]]) -> dict[str, AppliedWrites]:
        """Per deal, the live writes that landed in the fields asked for: a page's duplicate protection in one
        trip, not one per deal or per finding."""
        found: dict[str, set[tuple[str | None, str | None, str | None]]] = {d: set() for d in wanted}
        deals = [d for d, fields in wanted.items() if fields]
        fields = sorted({f for d in deals for f in wanted[d]})

        def read(conn: Connection) -> None:
            for part in _chunks(deals):
                for r in conn.execute(_APPLIED, {"deals": part, "fields": fields}):
                    if r.field in wanted[r.deal_id]:
                        found[r.deal_id].add((r.field, r.note_id, r.new))
        if deals:
            await self._read(read)
        return {d: AppliedWrites(list(wanted[d]), found[d]) for d in wanted}

    async def latest_for_field(self, deal_id: str, field: str, actions_: tuple[ActionKind, ...]) -> ActionRow | None:
        found = await self._actions(_LATEST, {"deal_id": deal_id, "field": field,
                                              "kinds": [a.value for a in actions_]})
        return found[0] if found else None

    async def reverted(self, action_id: int) -> bool:
        return await self._scalar(select(actions.c.id).where(
            actions.c.reverts == action_id, actions.c.action == ActionKind.REVERTED.value,
            actions.c.status == "applied").limit(1)) is not None

    # -- reviews (promote / dismiss) and Slack posts ------------------------------------------------------

    async def run_suggestions(self, run_id: int) -> list[ActionRow]:
        """The run's suggestions: live writes that landed and rehearsed would-writes, in log order."""
        rows = await self._actions(select(actions).where(
            actions.c.run_id == run_id, actions.c.action.in_([a.value for a in SUGGESTIONS])).order_by(actions.c.id))
        return [r for r in rows if is_suggestion(r)]

    async def new_suggestions(self, run_id: int) -> list[ActionRow]:
        """The run's suggestions not yet posted to Slack and not yet decided (promoted or dismissed)."""
        out, seen = [], set()
        for row in await self.run_suggestions(run_id):
            key = suggestion_key(row)
            if key in seen or await self.post_for(key) is not None or await self.final_decision(key) is not None:
                continue
            seen.add(key)
            out.append(row)
        return out

    async def unposted_earlier(self, run_id: int) -> list[ActionRow]:
        """Earlier passes' suggestions (same mode as this run) never posted nor decided, and not replaced since.

        A thread cut short (restart, Slack outage, 429 storm) or capped leaves these behind; a live pass that
        finds the value already held logs no new suggestion, so without this they would never be posted.
        """
        run = await self.get_run(run_id)
        if run is None:
            return []
        rows = await self._actions(select(actions).join(runs, runs.c.id == actions.c.run_id).where(
            runs.c.kind == "pass", actions.c.run_id < run_id, runs.c.dry_run == int(run.dry_run),
            actions.c.action.in_([a.value for a in SUGGESTIONS])).order_by(actions.c.id))
        newest: dict[tuple[str | None, str | None], ActionRow] = {}
        for row in (r for r in rows if is_suggestion(r)):
            newest[(row.deal_id, row.field)] = row  # a later suggestion for the field replaces an earlier one
        for row in await self.run_suggestions(run_id):
            newest.pop((row.deal_id, row.field), None)  # this run's own suggestion is the one that counts
        out = []
        for row in newest.values():
            key = suggestion_key(row)
            if await self.post_for(key) is None and await self.final_decision(key) is None:
                out.append(row)
        return out

    async def pending_suggestions(self) -> list[ActionRow]:
        """Every pass's newest suggestion per field, not yet decided nor undone, newest first."""
        def body(conn: Connection) -> tuple[Sequence[RowMapping], set[str], set[int]]:
            rows = conn.execute(select(actions).join(runs, runs.c.id == actions.c.run_id).where(
                runs.c.kind == "pass", actions.c.action.in_([a.value for a in SUGGESTIONS]))
                .order_by(actions.c.id)).mappings().all()
            decided = set(conn.execute(select(reviews.c.suggestion_key).join(
                actions, actions.c.id == reviews.c.action_id).where(
                ((actions.c.action == ActionKind.PROMOTED.value) & actions.c.status.in_(("pending", "applied")))
                | (actions.c.action == ActionKind.DISMISSED.value))).scalars())
            undone = set(conn.execute(select(actions.c.reverts).where(
                actions.c.action == ActionKind.REVERTED.value, actions.c.status == "applied")).scalars())
            return rows, decided, undone
        rows, decided, undone = await self._read(body)
        newest: dict[tuple[str | None, str | None], ActionRow] = {}
        for row in map(self._action, rows):
            newest[(row.deal_id, row.field)] = row  # a later suggestion for the field replaces an earlier one
        out = [r for r in newest.values()
               if is_suggestion(r) and r.id not in undone and suggestion_key(r) not in decided]
        return sorted(out, key=lambda r: r.id or 0, reverse=True)

    async def review_results(self, keys: list[str]) -> dict[str, str]:
        if not keys:
            return {}
        rows = await self._rows(select(reviews.c.suggestion_key, reviews.c.result).where(
            reviews.c.result.is_not(None), reviews.c.suggestion_key.in_(bindparam("keys", expanding=True)))
            .order_by(reviews.c.action_id), {"keys": keys})
        return {r["suggestion_key"]: r["result"] for r in rows}  # the latest review last

    async def posted_with(self, channel: str, ts: str) -> list[ActionRow]:
        # In the order they were posted: by suggestion id (PostgreSQL has no rowid; a message's suggestions are
        # recorded in log order).
        return await self._actions(select(actions).join(slack_posts, actions.c.id == slack_posts.c.suggestion_id)
                                   .where(slack_posts.c.channel == channel, slack_posts.c.ts == ts)
                                   .order_by(slack_posts.c.suggestion_id))

    async def deal_messages_in(self, channel: str, thread_ts: str, deal_id: str) -> list[str]:
        rows = await self._rows(select(slack_posts.c.ts).distinct().join(
            actions, actions.c.id == slack_posts.c.suggestion_id).where(
            slack_posts.c.channel == channel, slack_posts.c.thread_ts == thread_ts, actions.c.deal_id == deal_id)
            .order_by(slack_posts.c.ts))
        return [r["ts"] for r in rows]

    async def post_for(self, key: str) -> SlackPostRow | None:
        rows = await self._rows(select(slack_posts).where(slack_posts.c.suggestion_key == key))
        return SlackPostRow.model_validate(dict(rows[0])) if rows else None

    async def record_post(self, row: ActionRow, channel: str, ts: str, thread_ts: str | None) -> None:
        assert row.id is not None
        params = {"suggestion_key": suggestion_key(row), "suggestion_id": row.id, "run_id": row.run_id,
                  "channel": channel, "ts": ts, "thread_ts": thread_ts, "posted_at": _now()}
        await self._write(lambda conn: conn.execute(self._up.post, params))

    @staticmethod
    def _final_query(key: str) -> Select[Any]:
        return select(actions).join(reviews, actions.c.id == reviews.c.action_id).where(
            reviews.c.suggestion_key == key,
            ((actions.c.action == ActionKind.PROMOTED.value) & actions.c.status.in_(("pending", "applied")))
            | (actions.c.action == ActionKind.DISMISSED.value)).order_by(actions.c.id).limit(1)

    async def final_decision(self, key: str) -> ActionRow | None:
        """The promotion (landed or in flight) or dismissal that settles this suggestion, if any."""
        found = await self._actions(self._final_query(key))
        return found[0] if found else None

    @staticmethod
    def _click_query(click_id: str) -> Select[Any]:
        return select(actions, reviews.c.result.label("review_result")).join(
            reviews, actions.c.id == reviews.c.action_id).where(reviews.c.click_id == click_id)

    def _claim(self, rows: Sequence[RowMapping]) -> ReviewClaim | None:
        if not rows:
            return None
        return ReviewClaim(earlier=self._action(rows[0]), earlier_result=rows[0]["review_result"], replay=True)

    async def replayed_click(self, click_id: str | None) -> ReviewClaim | None:
        """The row an earlier delivery of this click logged, with what its reviewer was told."""
        if not click_id:
            return None
        return self._claim(await self._rows(self._click_query(click_id)))

    async def record_review(
        self, row: ActionRow, *, suggestion: ActionRow, decision: str, click_id: str | None, exclusive: bool
    ) -> ReviewClaim:
        """Log a reviewer's row atomically with its checks.

        In one exclusive write transaction (BEGIN IMMEDIATE on SQLite, an advisory transaction lock on
        PostgreSQL): a click already seen (Slack retried or replayed the payload) logs nothing; with
        `exclusive`, a suggestion already promoted or dismissed logs nothing. So two clicks racing in two
        connections, processes or machines cannot both log a promotion; the second waits, then sees the first.
        """
        assert suggestion.id is not None
        key = suggestion_key(suggestion)
        params = self._action_params(row, _now())

        def body(conn: Connection) -> ReviewClaim:
            earlier = self._claim(conn.execute(self._click_query(click_id)).mappings().all()) if click_id else None
            if earlier is None and exclusive:
                decided = conn.execute(self._final_query(key)).mappings().all()
                earlier = ReviewClaim(earlier=self._action(decided[0])) if decided else None
            if earlier is not None:
                raise _Earlier(earlier)  # rolls the transaction back: nothing logged
            action_id = _new_id(conn.execute(_INSERT_ACTION, params))
            conn.execute(insert(reviews).values(
                action_id=action_id, suggestion_id=suggestion.id, suggestion_key=key, decision=decision,
                reviewer=row.actor, click_id=click_id, created_at=params["created_at"]))
            return ReviewClaim(action_id=action_id)
        try:
            return await self._write(body, immediate=True)
        except _Earlier as found:
            return found.claim

    async def set_review_result(self, action_id: int, result: str) -> None:
        stmt = update(reviews).where(reviews.c.action_id == action_id).values(result=result)
        await self._write(lambda conn: conn.execute(stmt))

    # -- scans (fair ordering) ----------------------------------------------------------------------------

    async def last_scanned(self, dry_run: bool | None = None) -> dict[str, str]:
        """When each deal was last scanned in that mode's rotation; either mode's latest when None."""
        query: Any
        if dry_run is None:
            query = select(scan_marks.c.deal_id, func.max(scan_marks.c.last_scanned_at).label("last_scanned_at")) \
                .group_by(scan_marks.c.deal_id)
        else:
            query = select(scan_marks.c.deal_id, scan_marks.c.last_scanned_at).where(
                scan_marks.c.dry_run == int(dry_run))
        return {r["deal_id"]: r["last_scanned_at"] for r in await self._rows(query)}

    # -- extraction cache ---------------------------------------------------------------------------------

    async def cache_get(self, keys: Sequence[str]) -> dict[str, str]:
        """The cached answers among `keys`, by key: a page's deals in one trip."""
        wanted = list(dict.fromkeys(keys))

        def read(conn: Connection) -> dict[str, str]:
            return {r.key: str(r.payload) for part in _chunks(wanted) for r in conn.execute(_CACHE_GET, {"keys": part})}
        return await self._read(read) if wanted else {}

    async def cache_put(self, key: str, payload: str, *, commit: bool = True) -> None:
        """`commit=False` leaves the entry to the next transaction (a pass commits once per deal)."""
        self._deferred.append({"key": key, "payload": payload, "created_at": _now()})
        if commit:
            await self._write(lambda conn: None)

    # -- message batches (a restart resumes the submitted batch instead of paying again) -------------------

    async def record_batch(
        self, batch_id: str, *, run_id: int, model: str, prompt_version: str, entries: list[BatchEntry]
    ) -> None:
        stmt = insert(batches).values(id=batch_id, run_id=run_id, model=model, prompt_version=prompt_version,
                                      status="submitted", submitted_at=_now())
        requests = [{"batch_id": batch_id, "custom_id": e.custom_id, "deal_id": e.deal_id, "cache_key": e.cache_key,
                     "seq": n} for n, e in enumerate(entries)]

        def body(conn: Connection) -> None:
            conn.execute(stmt)
            if requests:
                conn.execute(insert(batch_requests), requests)
        await self._write(body)

    async def open_batch(self) -> BatchRow | None:
        """The newest batch submitted and not yet closed: the next batch pass resumes it."""
        rows = await self._rows(select(batches).where(batches.c.status == "submitted").order_by(
            batches.c.submitted_at.desc(), batches.c.run_id.desc(), batches.c.id.desc()).limit(1))
        return BatchRow.model_validate(dict(rows[0])) if rows else None

    async def get_batch(self, batch_id: str) -> BatchRow | None:
        rows = await self._rows(select(batches).where(batches.c.id == batch_id))
        return BatchRow.model_validate(dict(rows[0])) if rows else None

    async def batch_entries(self, batch_id: str) -> list[BatchEntry]:
        rows = await self._rows(select(batch_requests.c.custom_id, batch_requests.c.deal_id,
                                       batch_requests.c.cache_key).where(batch_requests.c.batch_id == batch_id)
                                .order_by(batch_requests.c.seq, batch_requests.c.custom_id))
        return [BatchEntry.model_validate(dict(r)) for r in rows]

    async def close_batch(self, batch_id: str, status: BatchStatus, note: str | None = None) -> None:
        stmt = update(batches).where(batches.c.id == batch_id).values(status=status, closed_at=_now(), note=note)
        await self._write(lambda conn: conn.execute(stmt))

    # -- one pass at a time -------------------------------------------------------------------------------
    # SQLite: a row in `locks` with a TTL, taken under BEGIN IMMEDIATE; a dead holder on this host frees it at
    # once. PostgreSQL: a session-level advisory lock on a connection of its own, held for the pass; the server
    # frees it the moment that session ends, so a holder killed on any machine frees it (no TTL to wait out).
    # The `locks` row is written there too, to name the holder in the refusal.

    async def acquire_lock(self, name: str = "pass") -> str:
        holder = f"{this_process()}:{datetime.now(timezone.utc).timestamp()}"
        now = datetime.now(timezone.utc)
        postgres = self.target.is_postgres
        if postgres:
            await self._advisory(name)
        row = {"name": name, "holder": holder, "acquired_at": now.isoformat(),
               "expires_at": (now + LOCK_TTL).isoformat()}

        def body(conn: Connection) -> None:
            if not postgres:
                found = conn.execute(select(locks.c.holder, locks.c.expires_at).where(
                    locks.c.name == name)).mappings().first()
                if found and datetime.fromisoformat(found["expires_at"]) > now and not holder_dead(found["holder"]):
                    raise LockHeld(f"another pass is running ({found['holder']}); try again when it finishes")
            conn.execute(self._up.lock, row)
        try:
            await self._write(body, immediate=True)
        except BaseException:
            if postgres:
                await self._unlock(name)
            raise
        return holder

    def _lock_key(self, name: str) -> int:
        return _advisory_key(f"{self.target.schema or ''}:{name}")

    async def _advisory(self, name: str) -> None:
        assert isinstance(self._b, _Postgres)
        conn = await self._b.checkout()
        try:
            got, pid = (await conn.execute(sql("SELECT pg_try_advisory_lock(:k), pg_backend_pid()"),
                                           {"k": self._lock_key(name)})).one()
            await conn.commit()  # ends the query's transaction; the session's lock stays
        except BaseException as exc:
            # A session that may hold the lock must not go back to the pool holding it: it is ended instead.
            with suppress(Exception):
                await conn.invalidate()
            await _discard(conn)
            if isinstance(exc, DBAPIError):
                raise self._b.failed(exc) from exc
            raise
        if not got:
            await conn.close()
            who = await self._scalar(select(locks.c.holder).where(locks.c.name == name))
            raise LockHeld(f"another pass is running ({who or 'another process'}); try again when it finishes")
        self._lock_conns[name], self._lock_pids[name] = conn, int(pid)

    async def _unlock(self, name: str) -> None:
        self._lock_pids.pop(name, None)
        if (session := self._lock_conns.pop(name, None)) is not None:
            try:
                await session.execute(sql("SELECT pg_advisory_unlock(:k)"), {"k": self._lock_key(name)})
                await session.commit()
                await session.close()
            except Exception:  # the session is gone, and with it the lock
                with suppress(Exception):
                    await session.invalidate()

    async def extend_lock(self, holder: str, name: str = "pass") -> None:
        """Keeps a long wait (a batch can take up to 24 h) from looking like a dead pass. On PostgreSQL, checks
        that the lock's session is alive; one the server dropped is taken again, unless another pass has it."""
        await self.confirm_lock(holder, name)
        expires = (datetime.now(timezone.utc) + LOCK_TTL).isoformat()
        stmt = update(locks).where(locks.c.name == name, locks.c.holder == holder).values(expires_at=expires)
        await self._write(lambda conn: conn.execute(stmt))

    async def confirm_lock(self, holder: str, name: str = "pass") -> None:
        """Raises LockHeld unless this process still holds the lock. On PostgreSQL the lock lives as long as its
        session: one the server ended (a restart, a failover) is taken again, unless another pass took it
        meanwhile. A SQLite lock is a row, which outlives any connection (extend_lock renews it)."""
        if not self.target.is_postgres:
            return
        async with self._lock_guard:  # pages settle concurrently; the lock's one session takes one query at a time
            conn = self._lock_conns.get(name)
            try:
                assert conn is not None
                await conn.execute(sql("SELECT 1"))
                await conn.commit()
            except Exception:
                if conn is not None:
                    with suppress(Exception):
                        await conn.invalidate()
                self._lock_conns.pop(name, None)
                self._lock_pids.pop(name, None)
                await self._advisory(name)  # LockHeld if another pass took it meanwhile

    async def release_lock(self, holder: str, name: str = "pass") -> None:
        stmt = delete(locks).where(locks.c.name == name, locks.c.holder == holder)
        try:
            await self._write(lambda conn: conn.execute(stmt))
        finally:
            await self._unlock(name)


class _Earlier(Exception):
    """record_review found the click or the decision already on record: roll back, hand back that claim."""

    def __init__(self, claim: ReviewClaim):
        self.claim = claim


def _new_id(result: Any) -> int:
    key = result.inserted_primary_key
    if not key or key[0] is None:
        raise RuntimeError("the provenance log returned no id for an inserted row")
    return int(key[0])


class ReadOnlyLog:
    """The log as the read-only faces see it: `LogReader`'s methods and nothing else, over a `mode=ro` file
    or read-only PostgreSQL transactions, so a write is neither typed nor reachable."""

    def __init__(self, store: ProvenanceStore):
        self._store = store

    async def get_run(self, run_id: int) -> RunRow | None:
        return await self._store.get_run(run_id)

    async def list_runs(self, limit: int = 20) -> list[RunRow]:
        return await self._store.list_runs(limit)

    async def actions_for_run(self, run_id: int) -> list[ActionRow]:
        return await self._store.actions_for_run(run_id)

    async def latest_for_field(self, deal_id: str, field: str, actions: tuple[ActionKind, ...]) -> ActionRow | None:
        return await self._store.latest_for_field(deal_id, field, actions)

    async def last_scanned(self, dry_run: bool | None = None) -> dict[str, str]:
        return await self._store.last_scanned(dry_run)

    async def pending_suggestions(self) -> list[ActionRow]:
        return await self._store.pending_suggestions()

    async def review_results(self, keys: list[str]) -> dict[str, str]:
        return await self._store.review_results(keys)

    async def aclose(self) -> None:
        await self._store.aclose()


async def open_log_reader(where: Path | str | LogTarget) -> LogReader:
    return ReadOnlyLog(await ProvenanceStore.open(where, readonly=True))

"""The provenance log (invariant 4): every action Scout takes or rehearses, in SQLite.

It is the audit trail, the undo map and the dry-run preview. `ProvenanceStore` is the SQLite implementation
of the protocols in `engine.store`; callers are typed against those, so a shared Postgres can stand behind
them. The read-only faces get `open_log_reader`: a `LogReader` over a `mode=ro` connection.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Awaitable, Callable

import aiosqlite

from engine.crm.base import CRMError
from engine.errors import LockHeld  # noqa: F401 (re-exported)
from engine.models import ActionKind, RunSummary, Usage
from engine.sqlitefile import open_sqlite
from engine.store import LogReader
from engine.store.actions import (  # noqa: F401 (re-exported: the data classes live beside their protocols)
    EXPIRED_REASON, SUGGESTIONS, ActionRow, ActionStatus, AppliedWrites, Outcome, OutcomeUpdate, RunKind, RunRow, RunStatus, dump_value,
    is_suggestion, suggestion_key,
)
from engine.store.batches import BatchEntry, BatchRow, BatchStatus  # noqa: F401 (re-exported)
from engine.store.locks import holder_dead, this_process  # noqa: F401 (re-exported)
from engine.store.review import ReviewClaim, SlackPostRow  # noqa: F401 (re-exported)

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,                -- pass | setup | undo | promote | dismiss
    started_at TEXT NOT NULL,
    finished_at TEXT,
    status TEXT NOT NULL,              -- running | finished | failed
    dry_run INTEGER NOT NULL,
    dry_run_reason TEXT,
    target_run INTEGER,                -- for undo: the run being reverted
    cap INTEGER, scanned INTEGER, total INTEGER,
    written INTEGER, would_write INTEGER, skipped INTEGER, dropped INTEGER, failed INTEGER,
    model TEXT, prompt_version TEXT,
    usage TEXT, cost_usd REAL,
    summary TEXT,
    holder TEXT                        -- host:pid of the process running it: a dead one is settled at once
);
CREATE TABLE IF NOT EXISTS actions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id INTEGER REFERENCES runs(id),
    deal_id TEXT, deal_name TEXT,
    concept TEXT, field TEXT,
    action TEXT NOT NULL,
    reason TEXT,
    previous TEXT, new TEXT, rep_value TEXT,
    note_id TEXT, excerpt TEXT,
    model TEXT,
    dry_run INTEGER NOT NULL,
    status TEXT NOT NULL,              -- pending (intent logged, CRM not yet answered) | applied | failed | none
    error TEXT,
    actor TEXT,                        -- who: 'scout' or a reviewer's Slack user id
    reverts INTEGER,                   -- for reverted rows: the action id undone
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS actions_by_run ON actions(run_id, id);
CREATE INDEX IF NOT EXISTS actions_by_field ON actions(deal_id, field, action, status);
CREATE INDEX IF NOT EXISTS actions_pending ON actions(status) WHERE status = 'pending';
-- One rotation per mode: a rehearsal previews exactly the deals the next live pass will take.
CREATE TABLE IF NOT EXISTS scan_marks (
    deal_id TEXT NOT NULL, dry_run INTEGER NOT NULL, last_scanned_at TEXT NOT NULL, last_run_id INTEGER,
    PRIMARY KEY (deal_id, dry_run)
);
CREATE TABLE IF NOT EXISTS extraction_cache (
    key TEXT PRIMARY KEY, payload TEXT NOT NULL, created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS locks (
    name TEXT PRIMARY KEY, holder TEXT NOT NULL, acquired_at TEXT NOT NULL, expires_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS batches (
    id TEXT PRIMARY KEY,               -- the Message Batch id
    run_id INTEGER REFERENCES runs(id), -- the run that submitted it
    model TEXT, prompt_version TEXT,
    status TEXT NOT NULL,              -- submitted (poll it, even after a restart) | ended | gone | superseded
    submitted_at TEXT NOT NULL, closed_at TEXT, note TEXT
);
CREATE TABLE IF NOT EXISTS batch_requests (
    batch_id TEXT NOT NULL REFERENCES batches(id), custom_id TEXT NOT NULL,
    deal_id TEXT NOT NULL, cache_key TEXT NOT NULL,  -- the key of the notes that were sent
    PRIMARY KEY (batch_id, custom_id)
);
-- A reviewer's decision on a suggestion. `suggestion_key` names the suggestion across passes (a daily
-- rehearsal logs the same would_write again), so a decision sticks to (deal, field, note, value).
CREATE TABLE IF NOT EXISTS reviews (
    action_id INTEGER PRIMARY KEY REFERENCES actions(id),  -- the row this review logged
    suggestion_id INTEGER NOT NULL REFERENCES actions(id), -- the suggestion row the reviewer acted on
    suggestion_key TEXT NOT NULL,
    decision TEXT NOT NULL,            -- promote | dismiss
    reviewer TEXT NOT NULL,
    click_id TEXT,                     -- Slack's action_ts: a replayed payload is recognised by it
    result TEXT,                       -- what the reviewer was told (JSON), replayed verbatim
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS reviews_by_key ON reviews(suggestion_key);
CREATE UNIQUE INDEX IF NOT EXISTS reviews_by_click ON reviews(click_id) WHERE click_id IS NOT NULL;
-- Where each suggestion was posted in Slack, so it is posted once.
CREATE TABLE IF NOT EXISTS slack_posts (
    suggestion_key TEXT PRIMARY KEY,
    suggestion_id INTEGER NOT NULL REFERENCES actions(id),
    run_id INTEGER,
    channel TEXT NOT NULL, ts TEXT NOT NULL, thread_ts TEXT,
    posted_at TEXT NOT NULL
);
"""

# The values the log's text columns hold (see SCHEMA): a checker then proves every writer names a known one.

# A pass that died without releasing its lock frees it after this long.
LOCK_TTL = timedelta(hours=6)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


_dump = dump_value


def _load(value: str | None) -> Any:
    return None if value is None else json.loads(value)


# A run's counts, derived from its action rows the same way for every kind of run: a CRM change counts as
# written once it is applied (reverts, promotions and created fields included), its rehearsal as would-write.
# Deals whose batch extraction expired are logged as skipped but reported apart (RunSummary.expired).
def _among(*kinds: ActionKind) -> str:
    return "action IN (" + ", ".join(f"'{k.value}'" for k in kinds) + ")"


COUNT_COLUMNS = ("written", "would_write", "skipped", "dropped", "failed")
_CHANGED = _among(ActionKind.WRITTEN, ActionKind.REVERTED, ActionKind.PROMOTED, ActionKind.FIELD_CREATED)
_REHEARSED = _among(ActionKind.WOULD_WRITE, ActionKind.WOULD_REVERT, ActionKind.WOULD_PROMOTE,
                    ActionKind.WOULD_CREATE_FIELD)
COUNTS_SQL = (
    f"SUM({_CHANGED} AND status = 'applied')",
    f"SUM({_REHEARSED})",
    f"SUM({_among(ActionKind.SKIPPED, ActionKind.REVERT_CONFLICT)} AND IFNULL(reason, '') NOT LIKE"
    f" '{EXPIRED_REASON} %')",
    f"SUM({_among(ActionKind.DROPPED)})",
    f"SUM({_among(ActionKind.FAILED)})",
)


def _inserted_id(cur: aiosqlite.Cursor) -> int:
    if cur.lastrowid is None:  # only before any INSERT on the cursor; after one it is the new row's id
        raise RuntimeError("the provenance log returned no id for an inserted row")
    return cur.lastrowid


class ProvenanceStore:
    """The SQLite log: implements every protocol of `engine.store` (`ProvenanceLog`) over one file."""

    def __init__(self, db: aiosqlite.Connection, readonly: bool, path: Path | None = None):
        self._db = db
        self.readonly = readonly
        self.path = path  # named in errors about the log as a whole

    @classmethod
    async def open(cls, path: Path, *, readonly: bool = False) -> "ProvenanceStore":
        path = Path(path)
        where = f"cannot open the provenance log {path}"  # the CLI's one-line error names the file
        if readonly and not path.exists():
            raise FileNotFoundError(f"no provenance log at {path} yet: run `scout run` first")

        async def setup(db: aiosqlite.Connection) -> None:
            if not readonly:
                await db.execute("PRAGMA journal_mode=WAL")
                # Under WAL, NORMAL skips the fsync on each commit (the WAL is synced at checkpoints). A committed
                # row is in the WAL file, so it survives a crash of this process (the case intent rows exist for);
                # only a power loss or OS crash can drop the last commits, and never corrupts the file.
                await db.execute("PRAGMA synchronous=NORMAL")
                await db.execute("PRAGMA busy_timeout=5000")
                await db.executescript(SCHEMA)
                columns = {r[1] for r in await db.execute_fetchall("PRAGMA table_info(runs)")}
                if "holder" not in columns:  # a log from before runs named their process
                    await db.execute("ALTER TABLE runs ADD COLUMN holder TEXT")
                await db.commit()

        db = await open_sqlite(path, readonly=readonly, where=where, setup=setup, table="runs",
                               empty_hint="it records no runs yet (`scout run` starts it)")
        return cls(db, readonly, path)

    async def aclose(self) -> None:
        await self._db.close()

    # -- runs ---------------------------------------------------------------------------------------------

    async def start_run(
        self, kind: RunKind, *, dry_run: bool, dry_run_reason: str | None, cap: int | None = None,
        model: str | None = None, prompt_version: str | None = None, target_run: int | None = None,
    ) -> int:
        cur = await self._db.execute(
            "INSERT INTO runs (kind, started_at, status, dry_run, dry_run_reason, cap, model, prompt_version,"
            " target_run, holder) VALUES (?, ?, 'running', ?, ?, ?, ?, ?, ?, ?)",
            (kind, _now(), int(dry_run), dry_run_reason, cap, model, prompt_version, target_run, this_process()),
        )
        await self._db.commit()
        return _inserted_id(cur)

    async def finish_run(self, summary: RunSummary, text: str, status: RunStatus = "finished") -> None:
        await self._db.execute(
            "UPDATE runs SET finished_at=?, status=?, scanned=?, total=?, usage=?, cost_usd=?, summary=? WHERE id=?",
            (_now(), status, summary.scanned, summary.total, summary.usage.model_dump_json(),
             summary.cost_usd, text, summary.run_id),
        )
        await self._store_counts("id = ?", (summary.run_id,))
        await self._db.commit()

    async def set_total(self, run_id: int, total: int) -> None:
        """The pipeline's size, recorded as soon as it is known, so a run killed mid-way still says X/Y."""
        await self._db.execute("UPDATE runs SET total=?, scanned=IFNULL(scanned, 0) WHERE id=?", (total, run_id))
        await self._db.commit()

    async def refresh_counts(self, run_ids: set[int]) -> None:
        """After a reconcile settled some of these runs' writes: their stored counts follow."""
        for run_id in run_ids:
            await self._store_counts("id = ?", (run_id,))
        await self._db.commit()

    async def _store_counts(self, where: str, params: tuple[Any, ...]) -> None:
        """Copy the counts derived from the actions into the runs table, for readers of the plain SQLite file."""
        await self._db.execute(
            f"UPDATE runs SET ({', '.join(COUNT_COLUMNS)}) = (SELECT {', '.join(COUNTS_SQL)} FROM actions"
            f" WHERE actions.run_id = runs.id) WHERE {where}", params,
        )

    def _run(self, r: aiosqlite.Row) -> RunRow:
        data = dict(r)
        data["dry_run"] = bool(data["dry_run"])
        data["usage"] = Usage.model_validate_json(data["usage"]) if data["usage"] else None
        return RunRow.model_validate({k: data[k] for k in RunRow.model_fields})

    # The counts are read from the actions, never from what a process last wrote into `runs`: they are true
    # while a run is going, after it was killed, and after a later reconcile settled its writes in flight.
    _RUN_COLUMNS = ("id", "kind", "started_at", "finished_at", "status", "dry_run", "dry_run_reason", "target_run",
                    "cap", "scanned", "total", "model", "prompt_version", "usage", "cost_usd", "summary",
                    "holder")
    _RUNS = (f"SELECT {', '.join(f'runs.{c}' for c in _RUN_COLUMNS)},"
             f" {', '.join(f'IFNULL(c.{c}, 0) AS {c}' for c in COUNT_COLUMNS)} FROM runs"
             f" LEFT JOIN (SELECT run_id, {', '.join(f'{sql} AS {c}' for c, sql in zip(COUNT_COLUMNS, COUNTS_SQL))}"
             " FROM actions WHERE run_id IN (SELECT id FROM runs {where}) GROUP BY run_id) c ON c.run_id = runs.id")

    async def get_run(self, run_id: int) -> RunRow | None:
        rows = list(await self._db.execute_fetchall(self._RUNS.format(where="WHERE id = ?") + " WHERE runs.id = ?",
                                               (run_id, run_id)))
        return self._run(rows[0]) if rows else None

    async def has_passes(self) -> bool:
        """Whether any pass was ever recorded: a log without one is new, or was emptied or replaced."""
        return bool(await self._db.execute_fetchall("SELECT 1 FROM runs WHERE kind = 'pass' LIMIT 1"))

    async def last_live_pass(self) -> int | None:
        """The newest pass that ran with both locks open, however it ended: the one `scout undo last` means."""
        rows = list(await self._db.execute_fetchall(
            "SELECT id FROM runs WHERE kind = 'pass' AND dry_run = 0 ORDER BY id DESC LIMIT 1"))
        return int(rows[0][0]) if rows else None

    async def list_runs(self, limit: int = 20) -> list[RunRow]:
        rows = await self._db.execute_fetchall(
            self._RUNS.format(where="ORDER BY id DESC LIMIT ?") + " ORDER BY runs.id DESC LIMIT ?", (limit, limit))
        return [self._run(r) for r in rows]

    # -- actions ------------------------------------------------------------------------------------------

    _INSERT_ACTION = (
        "INSERT INTO actions (run_id, deal_id, deal_name, concept, field, action, reason, previous, new,"
        " rep_value, note_id, excerpt, model, dry_run, status, error, actor, reverts, created_at, updated_at)"
        " VALUES "
    )
    _ACTION_MARKS = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    _ROWS_PER_INSERT = 40  # 800 parameters: under SQLite's smallest variable limit (999)

    @staticmethod
    def _action_params(row: ActionRow, now: str) -> tuple[Any, ...]:
        return (row.run_id, row.deal_id, row.deal_name, row.concept, row.field, row.action.value, row.reason,
                _dump(row.previous), _dump(row.new), _dump(row.rep_value), row.note_id, row.excerpt, row.model,
                int(row.dry_run), row.status, row.error, row.actor, row.reverts, now, now)

    async def log(self, row: ActionRow, *, commit: bool = True) -> int:
        cur = await self._db.execute(self._INSERT_ACTION + self._ACTION_MARKS, self._action_params(row, _now()))
        if commit:
            await self._db.commit()
        return _inserted_id(cur)

    async def _insert_actions(self, rows: list[ActionRow]) -> None:
        # One multi-row INSERT per 40 rows: one trip to the database thread for a deal's rows. execute_fetchall,
        # not executemany: its cursor lives and dies on the database thread, whereas a cursor handed back here
        # would reset a shared cached statement from this thread when it is collected.
        now = _now()
        for start in range(0, len(rows), self._ROWS_PER_INSERT):
            chunk = rows[start:start + self._ROWS_PER_INSERT]
            params = [p for row in chunk for p in self._action_params(row, now)]
            await self._db.execute_fetchall(self._INSERT_ACTION + ", ".join([self._ACTION_MARKS] * len(chunk)), params)

    async def log_many(self, rows: list[ActionRow]) -> None:
        await self._insert_actions(rows)
        await self._db.commit()

    async def log_scanned(self, rows: list[ActionRow], deal_id: str, run_id: int, *, counted: bool = True) -> None:
        """A deal's rows and its scan mark in one commit: the deal counts as scanned exactly when its rows are
        on record (and a pass makes one commit per deal instead of two). `counted`: the run's `scanned` goes
        up in the same commit, so it is true even if the process dies next."""
        await self._insert_actions(rows)
        await self._upsert_scan(deal_id, run_id)
        if counted:
            await self._db.execute("UPDATE runs SET scanned = IFNULL(scanned, 0) + 1 WHERE id = ?", (run_id,))
        await self._db.commit()

    async def log_scanned_many(self, scanned: list[tuple[str, list[ActionRow]]], run_id: int) -> None:
        if not scanned:
            await self._db.commit()  # whatever the caller left to this commit
            return
        await self._insert_actions([row for _, rows in scanned for row in rows])
        now = datetime.now(timezone.utc)
        # Microsecond steps keep the page's deals in order for the next pass's rotation.
        marks = [(deal_id, run_id, (now + timedelta(microseconds=i)).isoformat(), run_id)
                 for i, (deal_id, _) in enumerate(scanned)]
        cur = await self._db.executemany(self._UPSERT_SCAN, marks)
        await cur.close()  # on the database thread (see _insert_actions)
        await self._db.execute_fetchall("UPDATE runs SET scanned = IFNULL(scanned, 0) + ? WHERE id = ?",
                                        (len(scanned), run_id))
        await self._db.commit()

    async def set_outcome(self, action_id: int, status: ActionStatus, error: str | None = None,
                          action: ActionKind | None = None) -> None:
        if action is None:
            await self._db.execute(
                "UPDATE actions SET status=?, error=?, updated_at=? WHERE id=?", (status, error, _now(), action_id)
            )
        else:
            await self._db.execute(
                "UPDATE actions SET status=?, error=?, action=?, updated_at=? WHERE id=?",
                (status, error, action.value, _now(), action_id),
            )
        await self._db.commit()

    async def log_intents(self, rows: list[ActionRow]) -> list[int]:
        # RETURNING hands ids back in no promised order; AUTOINCREMENT assigns them in VALUES order, so sorted
        # ids line up with the rows.
        now = _now()
        ids: list[int] = []
        for start in range(0, len(rows), self._ROWS_PER_INSERT):
            chunk = rows[start:start + self._ROWS_PER_INSERT]
            params = [p for row in chunk for p in self._action_params(row, now)]
            got = await self._db.execute_fetchall(
                self._INSERT_ACTION + ", ".join([self._ACTION_MARKS] * len(chunk)) + " RETURNING id", params)
            ids += sorted(int(r[0]) for r in got)
        await self._db.commit()
        return ids

    async def set_outcomes(self, outcomes: list[OutcomeUpdate], *, commit: bool = True) -> None:
        if not outcomes:
            return
        now = _now()
        cur = await self._db.executemany(
            "UPDATE actions SET status=?, error=?, action=COALESCE(?, action), updated_at=? WHERE id=?",
            [(o.status, o.error, o.action.value if o.action else None, now, o.action_id) for o in outcomes])
        await cur.close()  # on the database thread (see _insert_actions)
        if commit:
            await self._db.commit()

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

    def _action(self, r: aiosqlite.Row) -> ActionRow:
        data = dict(r)
        for key in ("previous", "new", "rep_value"):
            data[key] = _load(data[key])
        data["dry_run"] = bool(data["dry_run"])
        return ActionRow.model_validate({k: data[k] for k in ActionRow.model_fields})

    async def actions_for_run(self, run_id: int) -> list[ActionRow]:
        rows = await self._db.execute_fetchall("SELECT * FROM actions WHERE run_id = ? ORDER BY id", (run_id,))
        return [self._action(r) for r in rows]

    async def get_action(self, action_id: int) -> ActionRow | None:
        rows = list(await self._db.execute_fetchall("SELECT * FROM actions WHERE id = ?", (action_id,)))
        return self._action(rows[0]) if rows else None

    async def pending_intents(self) -> list[ActionRow]:
        rows = await self._db.execute_fetchall("SELECT * FROM actions WHERE status = 'pending' ORDER BY id")
        return [self._action(r) for r in rows]

    async def applied_writes(self, deal_id: str, fields: list[str]) -> "AppliedWrites":
        """`applied_before` for several fields of one deal in one query (one trip instead of one per finding)."""
        if not fields:
            return AppliedWrites(fields, set())
        marks = ",".join("?" * len(fields))
        rows = await self._db.execute_fetchall(
            f"SELECT field, note_id, new FROM actions WHERE deal_id=? AND field IN ({marks}) AND action=?"
            " AND dry_run=0 AND status='applied'",
            (deal_id, *fields, ActionKind.WRITTEN.value),
        )
        return AppliedWrites(fields, {(r["field"], r["note_id"], r["new"]) for r in rows})

    async def latest_for_field(self, deal_id: str, field: str, actions: tuple[ActionKind, ...]) -> ActionRow | None:
        marks = ",".join("?" * len(actions))
        rows = list(await self._db.execute_fetchall(
            f"SELECT * FROM actions WHERE deal_id=? AND field=? AND action IN ({marks}) ORDER BY id DESC LIMIT 1",
            (deal_id, field, *[a.value for a in actions]),
        ))
        return self._action(rows[0]) if rows else None

    async def reverted(self, action_id: int) -> bool:
        rows = await self._db.execute_fetchall(
            "SELECT 1 FROM actions WHERE reverts=? AND action=? AND status='applied' LIMIT 1",
            (action_id, ActionKind.REVERTED.value),
        )
        return bool(rows)

    # -- reviews (promote / dismiss) and Slack posts ------------------------------------------------------

    async def run_suggestions(self, run_id: int) -> list[ActionRow]:
        """The run's suggestions: live writes that landed and rehearsed would-writes, in log order."""
        rows = await self._db.execute_fetchall(
            "SELECT * FROM actions WHERE run_id = ? AND action IN (?, ?) ORDER BY id",
            (run_id, *[a.value for a in SUGGESTIONS]),
        )
        return [r for r in map(self._action, rows) if is_suggestion(r)]

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
        rows = await self._db.execute_fetchall(
            "SELECT a.* FROM actions a JOIN runs r ON r.id = a.run_id WHERE r.kind = 'pass' AND a.run_id < ?"
            " AND r.dry_run = ? AND a.action IN (?, ?) ORDER BY a.id",
            (run_id, int(run.dry_run), *[a.value for a in SUGGESTIONS]),
        )
        newest: dict[tuple[str | None, str | None], ActionRow] = {}
        for row in (r for r in map(self._action, rows) if is_suggestion(r)):
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
        rows = await self._db.execute_fetchall(
            "SELECT a.* FROM actions a JOIN runs r ON r.id = a.run_id WHERE r.kind = 'pass' AND a.action IN (?, ?)"
            " ORDER BY a.id", tuple(a.value for a in SUGGESTIONS))
        newest: dict[tuple[str | None, str | None], ActionRow] = {}
        for row in map(self._action, rows):
            newest[(row.deal_id, row.field)] = row  # a later suggestion for the field replaces an earlier one
        decided = {r[0] for r in await self._db.execute_fetchall(
            "SELECT r.suggestion_key FROM reviews r JOIN actions a ON a.id = r.action_id"
            " WHERE (a.action = ? AND a.status IN ('pending', 'applied')) OR a.action = ?",
            (ActionKind.PROMOTED.value, ActionKind.DISMISSED.value))}
        undone = {r[0] for r in await self._db.execute_fetchall(
            "SELECT reverts FROM actions WHERE action = ? AND status = 'applied'", (ActionKind.REVERTED.value,))}
        out = [r for r in newest.values()
               if is_suggestion(r) and r.id not in undone and suggestion_key(r) not in decided]
        return sorted(out, key=lambda r: r.id or 0, reverse=True)

    async def review_results(self, keys: list[str]) -> dict[str, str]:
        out: dict[str, str] = {}
        for i in range(0, len(keys), 500):  # SQLite's bound-parameter limit
            part = keys[i:i + 500]
            rows = await self._db.execute_fetchall(
                f"SELECT suggestion_key, result FROM reviews WHERE result IS NOT NULL AND suggestion_key IN"
                f" ({','.join('?' * len(part))}) ORDER BY action_id", part)
            out.update({r[0]: r[1] for r in rows})  # the latest review last
        return out

    async def posted_with(self, channel: str, ts: str) -> list[ActionRow]:
        rows = await self._db.execute_fetchall(
            "SELECT a.* FROM slack_posts p JOIN actions a ON a.id = p.suggestion_id WHERE p.channel = ? AND p.ts = ?"
            " ORDER BY p.rowid", (channel, ts))
        return [self._action(r) for r in rows]

    async def deal_messages_in(self, channel: str, thread_ts: str, deal_id: str) -> list[str]:
        rows = await self._db.execute_fetchall(
            "SELECT DISTINCT p.ts FROM slack_posts p JOIN actions a ON a.id = p.suggestion_id WHERE p.channel = ?"
            " AND p.thread_ts = ? AND a.deal_id = ? ORDER BY p.ts", (channel, thread_ts, deal_id))
        return [r[0] for r in rows]

    async def post_for(self, key: str) -> SlackPostRow | None:
        rows = list(await self._db.execute_fetchall("SELECT * FROM slack_posts WHERE suggestion_key = ?", (key,)))
        return SlackPostRow.model_validate(dict(rows[0])) if rows else None

    async def record_post(self, row: ActionRow, channel: str, ts: str, thread_ts: str | None) -> None:
        assert row.id is not None
        await self._db.execute(
            "INSERT OR IGNORE INTO slack_posts (suggestion_key, suggestion_id, run_id, channel, ts, thread_ts,"
            " posted_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (suggestion_key(row), row.id, row.run_id, channel, ts, thread_ts, _now()),
        )
        await self._db.commit()

    async def final_decision(self, key: str) -> ActionRow | None:
        """The promotion (landed or in flight) or dismissal that settles this suggestion, if any."""
        rows = list(await self._db.execute_fetchall(
            "SELECT a.* FROM reviews r JOIN actions a ON a.id = r.action_id WHERE r.suggestion_key = ?"
            " AND ((a.action = ? AND a.status IN ('pending', 'applied')) OR a.action = ?) ORDER BY a.id LIMIT 1",
            (key, ActionKind.PROMOTED.value, ActionKind.DISMISSED.value),
        ))
        return self._action(rows[0]) if rows else None

    async def replayed_click(self, click_id: str | None) -> ReviewClaim | None:
        """The row an earlier delivery of this click logged, with what its reviewer was told."""
        if not click_id:
            return None
        rows = list(await self._db.execute_fetchall(
            "SELECT a.*, r.result AS review_result FROM reviews r JOIN actions a ON a.id = r.action_id"
            " WHERE r.click_id = ?", (click_id,),
        ))
        if not rows:
            return None
        return ReviewClaim(earlier=self._action(rows[0]), earlier_result=rows[0]["review_result"], replay=True)

    async def record_review(
        self, row: ActionRow, *, suggestion: ActionRow, decision: str, click_id: str | None, exclusive: bool
    ) -> ReviewClaim:
        """Log a reviewer's row atomically with its checks.

        In one write transaction: a click already seen (Slack retried or replayed the payload) logs nothing;
        with `exclusive`, a suggestion already promoted or dismissed logs nothing. So two clicks racing in
        two connections (or two processes on one disk) cannot both log a promotion.
        """
        assert suggestion.id is not None
        key = suggestion_key(suggestion)
        await self._db.execute("BEGIN IMMEDIATE")
        try:
            earlier = await self.replayed_click(click_id)
            if earlier is None and exclusive:
                decided = await self.final_decision(key)
                earlier = ReviewClaim(earlier=decided) if decided is not None else None
            if earlier is not None:
                await self._db.rollback()
                return earlier
            action_id = await self.log(row, commit=False)
            await self._db.execute(
                "INSERT INTO reviews (action_id, suggestion_id, suggestion_key, decision, reviewer, click_id,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (action_id, suggestion.id, key, decision, row.actor, click_id, _now()),
            )
            await self._db.commit()
        except BaseException:
            await self._db.rollback()
            raise
        return ReviewClaim(action_id=action_id)

    async def set_review_result(self, action_id: int, result: str) -> None:
        await self._db.execute("UPDATE reviews SET result = ? WHERE action_id = ?", (result, action_id))
        await self._db.commit()

    # -- scans (fair ordering) ----------------------------------------------------------------------------

    async def last_scanned(self, dry_run: bool | None = None) -> dict[str, str]:
        """When each deal was last scanned in that mode's rotation; either mode's latest when None."""
        if dry_run is None:
            rows = await self._db.execute_fetchall(
                "SELECT deal_id, MAX(last_scanned_at) AS last_scanned_at FROM scan_marks GROUP BY deal_id")
        else:
            rows = await self._db.execute_fetchall(
                "SELECT deal_id, last_scanned_at FROM scan_marks WHERE dry_run = ?", (int(dry_run),))
        return {r["deal_id"]: r["last_scanned_at"] for r in rows}

    async def _upsert_scan(self, deal_id: str, run_id: int) -> None:
        # Microsecond precision so deals scanned in one pass keep their order for the next.
        await self._db.execute_fetchall(
            self._UPSERT_SCAN, (deal_id, run_id, datetime.now(timezone.utc).isoformat(), run_id))

    _UPSERT_SCAN = (
        "INSERT INTO scan_marks (deal_id, dry_run, last_scanned_at, last_run_id)"
        " VALUES (?, (SELECT dry_run FROM runs WHERE id = ?), ?, ?) ON CONFLICT(deal_id, dry_run)"
        " DO UPDATE SET last_scanned_at=excluded.last_scanned_at, last_run_id=excluded.last_run_id")

    # -- extraction cache ---------------------------------------------------------------------------------

    async def cache_get(self, key: str) -> str | None:
        rows = list(await self._db.execute_fetchall("SELECT payload FROM extraction_cache WHERE key = ?", (key,)))
        return rows[0]["payload"] if rows else None

    async def cache_put(self, key: str, payload: str, *, commit: bool = True) -> None:
        """`commit=False` leaves the entry to the caller's next commit (a pass commits once per deal)."""
        await self._db.execute_fetchall(
            "INSERT OR REPLACE INTO extraction_cache (key, payload, created_at) VALUES (?, ?, ?)",
            (key, payload, _now()),
        )
        if commit:
            await self._db.commit()

    # -- message batches (a restart resumes the submitted batch instead of paying again) -------------------

    async def record_batch(
        self, batch_id: str, *, run_id: int, model: str, prompt_version: str, entries: list[BatchEntry]
    ) -> None:
        await self._db.execute(
            "INSERT INTO batches (id, run_id, model, prompt_version, status, submitted_at)"
            " VALUES (?, ?, ?, ?, 'submitted', ?)",
            (batch_id, run_id, model, prompt_version, _now()),
        )
        await self._db.executemany(
            "INSERT INTO batch_requests (batch_id, custom_id, deal_id, cache_key) VALUES (?, ?, ?, ?)",
            [(batch_id, e.custom_id, e.deal_id, e.cache_key) for e in entries],
        )
        await self._db.commit()

    async def open_batch(self) -> BatchRow | None:
        """The newest batch submitted and not yet closed: the next batch pass resumes it."""
        rows = list(await self._db.execute_fetchall(
            "SELECT * FROM batches WHERE status = 'submitted' ORDER BY submitted_at DESC, rowid DESC LIMIT 1"
        ))
        return BatchRow.model_validate(dict(rows[0])) if rows else None

    async def get_batch(self, batch_id: str) -> BatchRow | None:
        rows = list(await self._db.execute_fetchall("SELECT * FROM batches WHERE id = ?", (batch_id,)))
        return BatchRow.model_validate(dict(rows[0])) if rows else None

    async def batch_entries(self, batch_id: str) -> list[BatchEntry]:
        rows = await self._db.execute_fetchall(
            "SELECT custom_id, deal_id, cache_key FROM batch_requests WHERE batch_id = ? ORDER BY rowid", (batch_id,)
        )
        return [BatchEntry.model_validate(dict(r)) for r in rows]

    async def close_batch(self, batch_id: str, status: BatchStatus, note: str | None = None) -> None:
        await self._db.execute(
            "UPDATE batches SET status=?, closed_at=?, note=? WHERE id=?", (status, _now(), note, batch_id)
        )
        await self._db.commit()

    async def running_runs(self) -> list[RunRow]:
        rows = await self._db.execute_fetchall(
            self._RUNS.format(where="WHERE status = 'running'") + " WHERE runs.status = 'running' ORDER BY runs.id")
        return [self._run(r) for r in rows]

    async def interrupt_runs(self, notes: dict[int, str]) -> None:
        """Runs whose process is gone (the caller proved it): `interrupted`, with their counts as the log has them."""
        for run_id, note in notes.items():
            await self._db.execute(
                "UPDATE runs SET status='interrupted', finished_at=?, summary=COALESCE(summary, ?)"
                " WHERE id=? AND status='running'", (_now(), note, run_id))
            await self._store_counts("id = ?", (run_id,))
        await self._db.commit()

    async def mark_interrupted(self, run_id: int, note: str) -> None:
        """A run whose process died (its batch is resumed by a later run) stops showing as running."""
        await self._db.execute(
            "UPDATE runs SET status='interrupted', finished_at=COALESCE(finished_at, ?), summary=?"
            " WHERE id=? AND status IN ('running', 'interrupted')",
            (_now(), note, run_id),
        )
        await self._store_counts("id = ?", (run_id,))
        await self._db.commit()

    # -- one pass at a time -------------------------------------------------------------------------------

    async def acquire_lock(self, name: str = "pass") -> str:
        holder = f"{this_process()}:{datetime.now(timezone.utc).timestamp()}"
        now = datetime.now(timezone.utc)
        await self._db.execute("BEGIN IMMEDIATE")
        try:
            rows = list(await self._db.execute_fetchall("SELECT holder, expires_at FROM locks WHERE name = ?", (name,)))
            if rows and datetime.fromisoformat(rows[0]["expires_at"]) > now and not holder_dead(rows[0]["holder"]):
                raise LockHeld(f"another pass is running ({rows[0]['holder']}); try again when it finishes")
            await self._db.execute(
                "INSERT OR REPLACE INTO locks (name, holder, acquired_at, expires_at) VALUES (?, ?, ?, ?)",
                (name, holder, now.isoformat(), (now + LOCK_TTL).isoformat()),
            )
            await self._db.commit()
        except BaseException:
            await self._db.rollback()
            raise
        return holder

    async def extend_lock(self, holder: str, name: str = "pass") -> None:
        """Keeps a long wait (a batch can take up to 24 h) from looking like a dead pass."""
        expires = (datetime.now(timezone.utc) + LOCK_TTL).isoformat()
        await self._db.execute("UPDATE locks SET expires_at=? WHERE name=? AND holder=?", (expires, name, holder))
        await self._db.commit()

    async def release_lock(self, holder: str, name: str = "pass") -> None:
        await self._db.execute("DELETE FROM locks WHERE name = ? AND holder = ?", (name, holder))
        await self._db.commit()


class ReadOnlyLog:
    """The log as the read-only faces see it: `LogReader`'s methods and nothing else, over a `mode=ro` file,
    so a write is neither typed nor reachable."""

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


async def open_log_reader(path: Path) -> LogReader:
    return ReadOnlyLog(await ProvenanceStore.open(path, readonly=True))

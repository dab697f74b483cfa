"""The runs and actions log (invariant 4): every action is a row, intent before the CRM call, outcome after."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Awaitable, Callable, Literal, Mapping, Protocol, Sequence

from pydantic import BaseModel

from engine.models import ActionKind, RunSummary, Usage


def dump_value(value: Any) -> str | None:
    """A logged value as stored: JSON text, so a value compares equal however it was typed."""
    return None if value is None else json.dumps(value, ensure_ascii=False)


RunKind = Literal["pass", "setup", "undo", "promote", "dismiss"]
RunStatus = Literal["running", "finished", "failed", "interrupted"]
ActionStatus = Literal["none", "pending", "applied", "failed"]  # pending: intent logged, CRM not yet answered

# What a reviewer may act on: a live write or its rehearsal.
SUGGESTIONS = (ActionKind.WRITTEN, ActionKind.WOULD_WRITE)
# How a skipped row says its deal's batch extraction expired: counted apart from real skips.
EXPIRED_REASON = "extraction expired in batch"


class ActionRow(BaseModel):
    id: int | None = None
    run_id: int | None
    deal_id: str | None = None
    deal_name: str | None = None
    concept: str | None = None
    field: str | None = None
    action: ActionKind
    reason: str | None = None
    previous: Any = None
    new: Any = None
    rep_value: Any = None
    note_id: str | None = None
    excerpt: str | None = None
    model: str | None = None
    dry_run: bool
    status: ActionStatus = "none"
    error: str | None = None
    actor: str = "scout"
    reverts: int | None = None
    created_at: str | None = None


class RunRow(BaseModel):
    id: int
    kind: RunKind
    started_at: str
    finished_at: str | None
    status: RunStatus
    dry_run: bool
    dry_run_reason: str | None
    target_run: int | None
    cap: int | None
    scanned: int | None
    total: int | None
    written: int | None
    would_write: int | None
    skipped: int | None
    dropped: int | None
    failed: int | None
    model: str | None
    usage: Usage | None
    cost_usd: float | None
    summary: str | None
    holder: str | None = None  # host:pid of the process that ran it


def suggestion_key(row: ActionRow) -> str:
    """One suggestion across passes: the same value for the same field of the same deal from the same note."""
    return json.dumps([row.deal_id, row.field, row.note_id, row.new], ensure_ascii=False)


def is_suggestion(row: ActionRow) -> bool:
    """A live write that landed, or a rehearsed one: what a reviewer may promote or dismiss."""
    if row.action is ActionKind.WRITTEN:
        return row.status == "applied" and not row.dry_run
    return row.action is ActionKind.WOULD_WRITE


class AppliedWrites:
    """The live writes that landed for some fields of one deal, read once: duplicate protection per finding
    without a query each. `add` records a write that lands afterwards, so later checks see it as the log would."""

    def __init__(self, fields: list[str], keys: set[tuple[str | None, str | None, str | None]]):
        self._fields, self._keys = frozenset(fields), keys

    def has(self, field: str, note_id: str | None, new: Any) -> bool:
        if field not in self._fields:
            raise KeyError(f"{field} was not read; ask applied_writes for it")
        return (field, note_id, dump_value(new)) in self._keys

    def add(self, field: str, note_id: str | None, new: Any) -> None:
        self._keys.add((field, note_id, dump_value(new)))


class Outcome(BaseModel):
    """How one logged intent ended: `applied`, `failed`, or still `pending` (no one can tell yet)."""

    status: Literal["applied", "failed", "pending"]
    error: str | None = None

    @property
    def applied(self) -> bool:
        return self.status == "applied"


class OutcomeUpdate(BaseModel):
    """One intent's outcome, as `set_outcomes` records many of them in one commit."""

    action_id: int
    status: ActionStatus
    error: str | None = None
    action: ActionKind | None = None  # a failed write's row becomes `failed`


class ActionLog(Protocol):
    """Runs and their action rows."""

    path: Path | str | None  # named in errors about the log as a whole: its file, or its database URL

    async def start_run(
        self, kind: RunKind, *, dry_run: bool, dry_run_reason: str | None, cap: int | None = None,
        model: str | None = None, prompt_version: str | None = None, target_run: int | None = None,
    ) -> int: ...

    async def finish_run(self, summary: RunSummary, text: str, status: RunStatus = "finished") -> None: ...

    async def set_total(self, run_id: int, total: int) -> None: ...

    async def refresh_counts(self, run_ids: set[int]) -> None: ...

    async def get_run(self, run_id: int) -> RunRow | None: ...

    async def has_passes(self) -> bool: ...

    async def last_live_pass(self) -> int | None: ...

    async def list_runs(self, limit: int = 20) -> list[RunRow]: ...

    async def running_runs(self) -> list[RunRow]: ...

    async def interrupt_runs(self, notes: dict[int, str]) -> None: ...

    async def mark_interrupted(self, run_id: int, note: str) -> None: ...

    async def log(self, row: ActionRow, *, commit: bool = True) -> int: ...

    async def log_many(self, rows: list[ActionRow]) -> None: ...

    async def set_outcome(self, action_id: int, status: ActionStatus, error: str | None = None,
                          action: ActionKind | None = None) -> None: ...

    async def log_intents(self, rows: list[ActionRow]) -> list[int]:
        """A batch's rows (its pending intents among them) in one commit; their ids, in the order given."""
        ...

    async def set_outcomes(self, outcomes: list[OutcomeUpdate], *, commit: bool = True) -> None:
        """A batch's outcomes in one commit (`commit=False`: in the caller's next one, with its scan marks)."""
        ...

    async def carry_out(self, intent: int, call: Callable[[], Awaitable[None]],
                        landed: Callable[[], Awaitable[bool]]) -> Outcome: ...

    async def actions_for_run(self, run_id: int) -> list[ActionRow]: ...

    async def get_action(self, action_id: int) -> ActionRow | None: ...

    async def pending_intents(self) -> list[ActionRow]: ...

    async def applied_writes(self, wanted: Mapping[str, Sequence[str]]) -> dict[str, AppliedWrites]:
        """For each deal id, the live writes that landed in its fields of `wanted` (one read for a page)."""
        ...

    async def latest_for_field(
        self, deal_id: str, field: str, actions: tuple[ActionKind, ...]
    ) -> ActionRow | None: ...

    async def reverted(self, action_id: int) -> bool: ...

    async def run_suggestions(self, run_id: int) -> list[ActionRow]: ...

    async def new_suggestions(self, run_id: int) -> list[ActionRow]: ...

    async def aclose(self) -> None: ...

"""Undo a run by its id: restore what each write replaced, newest first, only where Scout's value still stands."""

from __future__ import annotations

from functools import partial
from typing import Final, Literal

from pydantic import BaseModel

from engine.batchwrite import FieldWrite, write_batch
from engine.crm.base import CRMError, CRMReader
from engine.errors import UndoRefused  # noqa: F401 (re-exported)
from engine.fieldtypes import display, same_value
from engine.gate import Gate
from engine.models import ActionKind, Deal, RunSummary
from engine.store import ActionLog, ActionRow
from engine.medic import FieldMap
from engine.reconcile import field_holds
from engine.writeguard import ScoutWriter, refusal

UNDOABLE = (ActionKind.WRITTEN, ActionKind.PROMOTED)
LAST: Final = "last"  # `scout undo last`: the newest live pass, so examples and scripts need no run number
RunRef = int | Literal["last"]
WAVE = 100  # reverts read and written together


class UndoResult(BaseModel):
    run_id: int  # the undo's own run
    target: int
    reverted: int = 0
    would_revert: int = 0
    conflicts: int = 0
    failed: int = 0
    already: int = 0


def describe(result: UndoResult, gate: Gate) -> str:
    """The undo run's one-line summary, as `scout log` shows it."""
    done = f"{result.reverted} reverted" if gate.live else f"{result.would_revert} would be reverted"
    return (f"{gate.mode}: undo of run {result.target}: {done}, {result.conflicts} conflicts left as is, "
            f"{result.failed} failed, {result.already} already reverted")


def _summary(result: UndoResult, gate: Gate) -> RunSummary:
    """The runs table's counts: reverted as written, would-revert as would-write, conflicts and repeats skipped."""
    return RunSummary(run_id=result.run_id, mode=gate.mode, dry_run_reason=gate.reason, written=result.reverted,
                      would_write=result.would_revert, skipped=result.conflicts + result.already,
                      failed=result.failed)


async def undo_run(
    ref: RunRef, crm: CRMReader, writer: ScoutWriter | None, store: ActionLog, gate: Gate, field_map: FieldMap
) -> UndoResult:
    target = await store.last_live_pass() if ref == LAST else ref
    if target is None:
        raise UndoRefused("no live pass in the log yet, so nothing to undo")
    run = await store.get_run(target)
    if run is None:
        raise UndoRefused(f"no run {target} in the log")
    if run.kind == "undo":
        raise UndoRefused(f"run {target} is itself an undo; undo the original run's writes by hand if needed")
    rows = [r for r in await store.actions_for_run(target)
            if r.action in UNDOABLE and r.status == "applied" and not r.dry_run]
    run_id = await store.start_run("undo", dry_run=not gate.live, dry_run_reason=gate.reason, target_run=target)
    result = UndoResult(run_id=run_id, target=target)
    try:
        await _revert(rows, result, crm, writer, store, gate, field_map)
    except Exception as exc:
        # Ends on record either way; a pending intent stays pending for the next pass to reconcile.
        await store.finish_run(_summary(result, gate), f"{describe(result, gate)}; stopped: {exc}", status="failed")
        raise
    except BaseException:
        # Ctrl-C or SIGTERM: never left 'running'; a revert in flight is reconciled by the next lock holder.
        await store.mark_interrupted(run_id, f"{describe(result, gate)}; interrupted")
        raise
    await store.finish_run(_summary(result, gate), describe(result, gate))
    return result


async def _revert(
    rows: list[ActionRow], result: UndoResult, crm: CRMReader, writer: ScoutWriter | None, store: ActionLog,
    gate: Gate, field_map: FieldMap,
) -> None:
    """Newest first, in waves of at most one row per (deal, field): each wave reads its deals in batches, checks
    field by field that Scout's value still stands, commits its intents together, writes Scout's fields in one
    batched call, and commits the outcomes together. A field written twice in the run is reverted wave by wave."""
    waves: list[list[ActionRow]] = []
    seen: list[set[tuple[str, str]]] = []
    for row in sorted(rows, key=lambda r: r.id or 0, reverse=True):
        assert row.id is not None and row.deal_id and row.field
        key = (row.deal_id, row.field)
        n = next((k for k in range(len(waves) - 1, -1, -1) if key in seen[k]), -1) + 1
        if n == len(waves):
            waves.append([])
            seen.append(set())
        waves[n].append(row)
        seen[n].add(key)
    for wave in waves:
        for start in range(0, len(wave), WAVE):
            await _revert_wave(wave[start:start + WAVE], result, crm, writer, store, gate, field_map)


async def _revert_wave(
    rows: list[ActionRow], result: UndoResult, crm: CRMReader, writer: ScoutWriter | None, store: ActionLog,
    gate: Gate, field_map: FieldMap,
) -> None:
    run_id = result.run_id
    done: list[ActionRow] = []  # rows settled without a CRM call, logged together
    try:
        deals: dict[str, Deal] | CRMError = await crm.get_deals(list(dict.fromkeys(r.deal_id or "" for r in rows)))
    except CRMError as exc:
        deals = exc
    to_write: list[tuple[ActionRow, ActionRow]] = []
    for row in rows:
        assert row.id is not None and row.deal_id and row.field
        undo = ActionRow(run_id=run_id, deal_id=row.deal_id, deal_name=row.deal_name, concept=row.concept,
                         field=row.field, previous=row.new, new=row.previous, note_id=row.note_id,
                         excerpt=row.excerpt, model=row.model, dry_run=not gate.live, reverts=row.id,
                         action=ActionKind.REVERT_CONFLICT)
        if await store.reverted(row.id):
            result.already += 1
            undo.action, undo.reason = ActionKind.SKIPPED, "already reverted by an earlier undo"
            done.append(undo)
            continue
        deal = deals.get(row.deal_id) if isinstance(deals, dict) else None
        if deal is None:
            result.failed += 1
            gone = isinstance(deals, dict)
            error = f"deal {row.deal_id} not found (deleted or merged)" if gone else str(deals)
            undo.action, undo.status, undo.error = ActionKind.FAILED, "failed", error
            undo.reason = "deal not found" if gone else "reading deal failed"
            done.append(undo)
            continue
        current = deal.values.get(row.field)
        if not same_value(current, row.new):
            result.conflicts += 1
            undo.reason = f"changed since Scout wrote it (now '{display(current)}'): left as is"
            undo.rep_value = current
            done.append(undo)
            continue
        # Checked here too, so a rehearsal shows the refusal a live undo would meet at the writer.
        why = refusal(field_map, row.field, rep_of=row.concept if row.action == ActionKind.PROMOTED else None)
        if why:
            result.failed += 1
            undo.action, undo.status, undo.error = ActionKind.FAILED, "failed", why
            undo.reason = "refused: not a field Scout may write"
            done.append(undo)
            continue
        if writer is None:
            result.would_revert += 1
            undo.action, undo.reason = ActionKind.WOULD_REVERT, "would restore the previous value"
            done.append(undo)
            continue
        undo.action, undo.status, undo.reason = ActionKind.REVERTED, "pending", "restoring the previous value"
        to_write.append((row, undo))
    if done:
        await store.log_many(done)
    if writer is None or not to_write:
        return
    # The wave's intents in one commit before any CRM call.
    ids = await store.log_intents([undo for _, undo in to_write])
    promoted = [(row, i) for (row, _), i in zip(to_write, ids) if row.action == ActionKind.PROMOTED]
    own = [FieldWrite(i, row.deal_id or "", row.field or "", row.previous)
           for (row, _), i in zip(to_write, ids) if row.action != ActionKind.PROMOTED]
    outcomes = await write_batch(writer, crm, own) if own else []
    await store.set_outcomes([o for o in outcomes if o is not None])
    for o in outcomes:
        if o is not None and o.status == "applied":
            result.reverted += 1
        else:
            result.failed += 1
    # Undoing a promotion restores the rep field it named, one at a time through the writer's own check.
    for row, intent in promoted:
        deal_id, field, previous = row.deal_id or "", row.field or "", row.previous
        call = partial(writer.write_rep_field, deal_id, row.concept or "", field, previous)
        outcome = await store.carry_out(intent, call, lambda: field_holds(crm, deal_id, field, previous))
        if outcome.applied:
            result.reverted += 1
        else:
            result.failed += 1

"""Undo a run by its id: restore what each write replaced, newest first, only where Scout's value still stands."""

from __future__ import annotations

from functools import partial
from typing import Final, Literal

from pydantic import BaseModel

from engine.crm.base import CRMError, CRMReader, DealNotFound
from engine.errors import UndoRefused  # noqa: F401 (re-exported)
from engine.fieldtypes import display, same_value
from engine.gate import Gate
from engine.models import ActionKind, RunSummary
from engine.store import ActionLog, ActionRow
from engine.medic import FieldMap
from engine.reconcile import field_holds
from engine.writeguard import ScoutWriter, refusal

UNDOABLE = (ActionKind.WRITTEN, ActionKind.PROMOTED)
LAST: Final = "last"  # `scout undo last`: the newest live pass, so examples and scripts need no run number
RunRef = int | Literal["last"]


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
    run_id = result.run_id
    for row in sorted(rows, key=lambda r: r.id or 0, reverse=True):
        assert row.id is not None and row.deal_id and row.field
        undo = ActionRow(run_id=run_id, deal_id=row.deal_id, deal_name=row.deal_name, concept=row.concept,
                         field=row.field, previous=row.new, new=row.previous, note_id=row.note_id,
                         excerpt=row.excerpt, model=row.model, dry_run=not gate.live, reverts=row.id,
                         action=ActionKind.REVERT_CONFLICT)
        if await store.reverted(row.id):
            result.already += 1
            undo.action, undo.reason = ActionKind.SKIPPED, "already reverted by an earlier undo"
            await store.log(undo)
            continue
        try:
            deal = await crm.get_deal(row.deal_id)
        except CRMError as exc:
            result.failed += 1
            undo.action, undo.status, undo.error = ActionKind.FAILED, "failed", str(exc)
            undo.reason = "deal not found" if isinstance(exc, DealNotFound) else "reading deal failed"
            await store.log(undo)
            continue
        current = deal.values.get(row.field)
        if not same_value(current, row.new):
            result.conflicts += 1
            undo.reason = f"changed since Scout wrote it (now '{display(current)}'): left as is"
            undo.rep_value = current
            await store.log(undo)
            continue
        # Checked here too, so a rehearsal shows the refusal a live undo would meet at the writer.
        why = refusal(field_map, row.field, rep_of=row.concept if row.action == ActionKind.PROMOTED else None)
        if why:
            result.failed += 1
            undo.action, undo.status, undo.error = ActionKind.FAILED, "failed", why
            undo.reason = "refused: not a field Scout may write"
            await store.log(undo)
            continue
        if writer is None:
            result.would_revert += 1
            undo.action, undo.reason = ActionKind.WOULD_REVERT, "would restore the previous value"
            await store.log(undo)
            continue
        undo.action, undo.status, undo.reason = ActionKind.REVERTED, "pending", "restoring the previous value"
        intent = await store.log(undo)
        deal_id, field, previous = row.deal_id, row.field, row.previous
        # Undoing a promotion restores the rep field it named; anything else is Scout's own field.
        call = (partial(writer.write_rep_field, deal_id, row.concept or "", field, previous)
                if row.action == ActionKind.PROMOTED else partial(writer.set_field, deal_id, field, previous))
        outcome = await store.carry_out(intent, call, lambda: field_holds(crm, deal_id, field, previous))
        if outcome.applied:
            result.reverted += 1
        else:
            result.failed += 1

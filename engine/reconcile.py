"""Crash recovery: a live write whose intent was logged but whose outcome was not.

On the next start the CRM is asked what the field holds now: if it holds what Scout meant to write, the
write landed and the row becomes `applied`; otherwise the row becomes `failed`. Either way nothing is lost.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Sequence

from engine.crm.base import CRMError, CRMReader, DealNotFound
from engine.fieldtypes import same_value
from engine.models import ActionKind
from engine.store import ActionLog, ActionRow, OutcomeUpdate, holder_dead


# A CRM call that has not answered in this long is not coming back: its process died.
SETTLE_AFTER = timedelta(minutes=15)
# Runs that only ever run under the pass lock: whoever holds the lock knows their processes are gone.
LOCKED_KINDS = ("pass", "undo", "setup")
READ_BACK = 100  # intents whose fields are read back per batched read
_STOPPED = {"pass": "the pass finished", "undo": "the undo finished", "setup": "setup finished"}


async def interrupt_dead_runs(store: ActionLog, *, holding_lock: bool) -> int:
    """Mark `interrupted` the runs still `running` whose process is provably gone; returns how many.

    Holding the pass lock proves it for the kinds that take the lock. A review click takes no lock: its run is
    dead when its process is gone from this host, or when it has run longer than any click could.
    """
    cutoff = (datetime.now(timezone.utc) - SETTLE_AFTER).isoformat(timespec="seconds")
    notes: dict[int, str] = {}
    for run in await store.running_runs():
        locked = run.kind in LOCKED_KINDS
        if (holding_lock and locked) or holder_dead(run.holder) or (not locked and run.started_at < cutoff):
            what = _STOPPED.get(run.kind, "the click was answered")
            notes[run.id] = f"interrupted: the process stopped before {what}"
    if notes:
        await store.interrupt_runs(notes)
    return len(notes)


async def reconcile_pending(crm: CRMReader, store: ActionLog) -> int:
    """Under the pass lock: close the runs of dead processes, then settle their pending intents; returns how
    many intents were settled.

    An intent whose run is still marked running belongs to a live process (a promotion click in the web
    process) unless it is old: leave it to that process rather than race its outcome.
    """
    await interrupt_dead_runs(store, holding_lock=True)
    status: dict[int | None, str | None] = {}
    cutoff = datetime.now(timezone.utc) - SETTLE_AFTER
    due: list[ActionRow] = []
    for row in await store.pending_intents():
        if row.run_id not in status:
            run = await store.get_run(row.run_id) if row.run_id is not None else None
            status[row.run_id] = run.status if run else None
        young = row.created_at is not None and datetime.fromisoformat(row.created_at) > cutoff
        if not (status[row.run_id] == "running" and young):
            due.append(row)
    # The fields are read back in batches: a crash between a batch's call and its outcomes leaves many.
    outcomes: list[OutcomeUpdate] = []
    for start in range(0, len(due), READ_BACK):
        chunk = due[start:start + READ_BACK]
        try:
            deals = await crm.get_deals(list(dict.fromkeys(r.deal_id or "" for r in chunk)))
        except CRMError:
            continue  # CRM unreachable now: leave them pending for the next start rather than guess
        for row in chunk:
            assert row.id is not None
            deal = deals.get(row.deal_id or "")
            if deal is None:
                outcomes.append(OutcomeUpdate(action_id=row.id, status="failed", action=ActionKind.FAILED,
                                              error="reconciled: deal no longer exists"))
            elif same_value(deal.values.get(row.field or ""), row.new):
                outcomes.append(OutcomeUpdate(action_id=row.id, status="applied",
                                              error="reconciled: the write had landed before the crash"))
            else:
                outcomes.append(OutcomeUpdate(action_id=row.id, status="failed", action=ActionKind.FAILED,
                                              error="reconciled: the write did not land before the crash"))
    await store.set_outcomes(outcomes)
    settled = {o.action_id for o in outcomes}
    await store.refresh_counts({r.run_id for r in due if r.id in settled and r.run_id is not None})
    return len(outcomes)


async def fields_hold(crm: CRMReader, wanted: Sequence[tuple[str, str, Any]]) -> dict[tuple[str, str], bool]:
    """For each (deal id, field, value): whether the field holds the value now, read in batches (a deal that
    is gone holds nothing). Raises CRMError when the CRM cannot be read."""
    out: dict[tuple[str, str], bool] = {}
    for start in range(0, len(wanted), READ_BACK):
        chunk = wanted[start:start + READ_BACK]
        deals = await crm.get_deals(list(dict.fromkeys(d for d, _, _ in chunk)))
        for deal_id, field, value in chunk:
            deal = deals.get(deal_id)
            out[(deal_id, field)] = deal is not None and same_value(deal.values.get(field), value)
    return out


async def field_holds(crm: CRMReader, deal_id: str, field: str, value: Any) -> bool:
    """Whether the CRM's field holds `value` now: how an intent whose call went unanswered is settled.
    Raises DealNotFound, or CRMError when the CRM cannot be read."""
    deal = await crm.get_deal(deal_id)
    return same_value(deal.values.get(field), value)

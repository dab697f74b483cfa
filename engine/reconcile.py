"""Crash recovery: a live write whose intent was logged but whose outcome was not.

On the next start the CRM is asked what the field holds now: if it holds what Scout meant to write, the
write landed and the row becomes `applied`; otherwise the row becomes `failed`. Either way nothing is lost.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from engine.crm.base import CRMError, CRMReader, DealNotFound
from engine.fieldtypes import same_value
from engine.models import ActionKind
from engine.store import ActionLog, holder_dead


# A CRM call that has not answered in this long is not coming back: its process died.
SETTLE_AFTER = timedelta(minutes=15)
# Runs that only ever run under the pass lock: whoever holds the lock knows their processes are gone.
LOCKED_KINDS = ("pass", "undo", "setup")
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
    settled, touched = 0, set()
    status: dict[int | None, str | None] = {}
    cutoff = datetime.now(timezone.utc) - SETTLE_AFTER
    for row in await store.pending_intents():
        assert row.id is not None
        if row.run_id not in status:
            run = await store.get_run(row.run_id) if row.run_id is not None else None
            status[row.run_id] = run.status if run else None
        young = row.created_at is not None and datetime.fromisoformat(row.created_at) > cutoff
        if status[row.run_id] == "running" and young:
            continue
        try:
            landed = await field_holds(crm, row.deal_id or "", row.field or "", row.new)
        except DealNotFound:
            await store.set_outcome(row.id, "failed", "reconciled: deal no longer exists", action=ActionKind.FAILED)
        except CRMError:
            continue  # CRM unreachable now: leave it pending for the next start rather than guess
        else:
            if landed:
                await store.set_outcome(row.id, "applied", "reconciled: the write had landed before the crash")
            else:
                await store.set_outcome(row.id, "failed", "reconciled: the write did not land before the crash",
                                        action=ActionKind.FAILED)
        settled += 1
        if row.run_id is not None:
            touched.add(row.run_id)
    await store.refresh_counts(touched)
    return settled


async def field_holds(crm: CRMReader, deal_id: str, field: str, value: Any) -> bool:
    """Whether the CRM's field holds `value` now: how an intent whose call went unanswered is settled.
    Raises DealNotFound, or CRMError when the CRM cannot be read."""
    deal = await crm.get_deal(deal_id)
    return same_value(deal.values.get(field), value)

"""Crash recovery: a live write whose intent was logged but whose outcome was not.

On the next start the CRM is asked what the field holds now: if it holds what Scout meant to write, the
write landed and the row becomes `applied`; otherwise the row becomes `failed`. Either way nothing is lost.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from engine.crm.base import CRMError, CRMReader, DealNotFound
from engine.fieldtypes import same_value
from engine.models import ActionKind
from engine.provenance import ProvenanceStore


# A CRM call that has not answered in this long is not coming back: its process died.
SETTLE_AFTER = timedelta(minutes=15)


async def reconcile_pending(crm: CRMReader, store: ProvenanceStore) -> int:
    """Settle the pending intents of processes that are gone; returns how many were settled.

    Called under the pass lock, after dead pass runs were marked interrupted. An intent whose run is still
    marked running belongs to a live process (a promotion click, an undo) unless it is old: leave it to
    that process rather than race its outcome.
    """
    settled = 0
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
            deal = await crm.get_deal(row.deal_id or "")
        except DealNotFound:
            await store.set_outcome(row.id, "failed", "reconciled: deal no longer exists", action=ActionKind.FAILED)
            settled += 1
            continue
        except CRMError:
            continue  # CRM unreachable now: leave it pending for the next start rather than guess
        current = deal.values.get(row.field or "")
        if same_value(current, row.new):
            await store.set_outcome(row.id, "applied", "reconciled: the write had landed before the crash")
        else:
            await store.set_outcome(row.id, "failed", "reconciled: the write did not land before the crash",
                                    action=ActionKind.FAILED)
        settled += 1
    return settled

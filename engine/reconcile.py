"""Crash recovery: a live write whose intent was logged but whose outcome was not.

On the next start the CRM is asked what the field holds now: if it holds what Scout meant to write, the
write landed and the row becomes `applied`; otherwise the row becomes `failed`. Either way nothing is lost.
"""

from __future__ import annotations

from engine.crm.base import CRMError, CRMReader, DealNotFound
from engine.fieldtypes import same_value
from engine.models import ActionKind
from engine.provenance import ProvenanceStore


async def reconcile_pending(crm: CRMReader, store: ProvenanceStore) -> int:
    """Settle every pending intent; returns how many were settled."""
    settled = 0
    for row in await store.pending_intents():
        assert row.id is not None
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

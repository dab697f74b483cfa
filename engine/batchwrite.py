"""Invariant 4 for a batch of writes: one batched CRM call for intents already on record, and each write's own
outcome from the vendor's answer for its deal (the caller commits the outcomes together)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from engine.crm.base import CRMError, CRMReader, CRMWriter, DealWrite
from engine.models import ActionKind
from engine.reconcile import fields_hold
from engine.store import OutcomeUpdate


@dataclass(frozen=True)
class FieldWrite:
    """One logged intent: write `value` into `field` of `deal_id`."""

    intent: int
    deal_id: str
    field: str
    value: Any


def _failed(w: FieldWrite, error: str) -> OutcomeUpdate:
    return OutcomeUpdate(action_id=w.intent, status="failed", error=error, action=ActionKind.FAILED)


async def write_batch(writer: CRMWriter, reader: CRMReader, writes: Sequence[FieldWrite]
                      ) -> list[OutcomeUpdate | None]:
    """Per write, in order: its outcome, or None when no one can tell yet (it stays pending for the reconcile).

    The fields of one deal go in one input. A CRMError for the whole call is the CRM's answer for every input.
    Any other error leaves open whether the writes landed, so the CRM is asked, field by field. Cancellation
    (Ctrl-C, SIGTERM) leaves them all pending."""
    per_deal: dict[str, dict[str, Any]] = {}
    for w in writes:
        per_deal.setdefault(w.deal_id, {})[w.field] = w.value
    try:
        results = await writer.write_many([DealWrite(d, values) for d, values in per_deal.items()])
    except CRMError as exc:
        return [_failed(w, str(exc)) for w in writes]
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        try:
            held = await fields_hold(reader, [(w.deal_id, w.field, w.value) for w in writes])
        except Exception:
            return [None for _ in writes]
        return [OutcomeUpdate(action_id=w.intent, status="applied", error=f"the value landed despite {error}")
                if held.get((w.deal_id, w.field)) else _failed(w, error) for w in writes]
    answers = {r.deal_id: r for r in results}
    out: list[OutcomeUpdate | None] = []
    for w in writes:
        r = answers.get(w.deal_id)
        if r is None:  # an adapter that left an input unanswered: no one can tell, so the reconcile asks later
            out.append(None)
        elif r.ok:
            out.append(OutcomeUpdate(action_id=w.intent, status="applied"))
        else:
            out.append(_failed(w, r.error or "refused by the CRM"))
    return out

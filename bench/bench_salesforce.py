"""Salesforce API calls a pass's CRM traffic spends, per-deal versus batched (the allocation is what counts).

    python bench/bench_salesforce.py                 # 2,000 deals, one note each
    python bench/bench_salesforce.py --deals 10000

Against the stand-in in tests/standins/salesforce.py, through the real adapter: list every deal (SOQL pages of
2,000), then read every deal and its notes and write one Scout field per deal, once one deal at a time
(get_deal, list_notes, set_fields) and once batched (get_deals, list_notes_many: `WHERE Id IN` 200 at a time;
write_many: sObject Collections of 200). Prints the calls each way, as the org's `Sforce-Limit-Info`
api-usage counts them, and the wall time on this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.crm.base import DealWrite  # noqa: E402
from engine.medic import method_field_map  # noqa: E402
from engine.models import Deal, Note, WorkspaceData  # noqa: E402
from tests.standins.salesforce import SalesforceStandIn, make_crm  # noqa: E402

SF_MAP = method_field_map(naming="salesforce")
FIELD = "Scout_Metrics__c"


def pipeline(n: int) -> WorkspaceData:
    t0 = datetime(2026, 1, 5, tzinfo=timezone.utc)
    deals = [Deal(id=f"d{i}", name=f"Deal {i:05d}", created_at=t0) for i in range(n)]
    notes = [Note(id=f"n{i}", deal_id=f"d{i}", created_at=t0 + timedelta(minutes=i), text="Cut onboarding to 2 weeks.")
             for i in range(n)]
    return WorkspaceData(fields=[], people=[], deals=deals, notes=notes)


async def run(n: int, batched: bool) -> tuple[int, float]:
    org = SalesforceStandIn()
    org.load(pipeline(n))
    crm = make_crm(org, SF_MAP)
    await crm.create_field(SF_MAP.concepts["metrics"].scout)
    start_calls, start = org.api_used, time.perf_counter()
    ids = [ref.id async for ref in crm.iter_deal_refs()]
    if batched:
        for i in range(0, len(ids), 200):
            chunk = ids[i:i + 200]
            await crm.get_deals(chunk)
            await crm.list_notes_many(chunk)
        await crm.write_many([DealWrite(d, {FIELD: "2 weeks"}) for d in ids])
    else:
        for d in ids:
            await crm.get_deal(d)
            await crm.list_notes(d)
            await crm.set_fields(d, {FIELD: "2 weeks"})
    elapsed = time.perf_counter() - start
    await crm.aclose()
    return org.api_used - start_calls, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deals", type=int, default=2000)
    args = parser.parse_args()
    print(f"{args.deals} deals, one note each (Task and ContentNote alternating), one Scout write per deal")
    print(f"{'mode':<10} {'API calls':>10} {'per deal':>9} {'wall s':>8}")
    for batched in (False, True):
        calls, seconds = asyncio.run(run(args.deals, batched))
        print(f"{'batched' if batched else 'per deal':<10} {calls:>10} {calls / args.deals:>9.2f} {seconds:>8.1f}")


if __name__ == "__main__":
    main()

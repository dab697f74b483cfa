"""What every CRM adapter's stand-in hands the contract suite (tests/test_crm_contract.py).

Each adapter `<name>` provides, in `tests/standins/<name>.py`:

    async def build_contract_env(tmp_path: pathlib.Path) -> ContractEnv

returning the adapter wired to its stand-in (an httpx.MockTransport handler, or a real SQLite file in
tmp_path) and the hooks below. A hook left as None means the fault does not apply to that adapter (e.g. a
429 for the embedded SQLite CRM); the suite then skips that test with the reason from `unsupported`.

Fault operations passed to `fail_next` (map them to your vendor's requests):
    "list"  - a page of the deal listing (what iter_deal_refs / count_deals send)
    "get"   - reading one deal (get_deal)
    "notes" - listing a deal's notes (list_notes)
    "write" - writing a deal field (set_field)
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Awaitable, Callable

from engine.crm.base import CRMWriter
from engine.medic import DECISION_CRITERIA_OPTIONS, PAPER_PROCESS_OPTIONS
from engine.models import Deal, FieldSpec, FieldType, Note, Person, WorkspaceData

FAULT_OPS = ("list", "get", "notes", "write")


@dataclass
class ContractEnv:
    crm: CRMWriter
    # Load a pipeline into the stand-in; returns WorkspaceData deal id -> the CRM's deal id.
    seed: Callable[[WorkspaceData], Awaitable[dict[str, str]]]
    # Delete a deal behind the adapter's back (by CRM deal id), as a user merging or deleting it would.
    delete_deal: Callable[[str], Awaitable[None]]
    # Deals (and notes) per page the adapter was built with; 0 when it does not page.
    page_size: int = 0
    note_page_size: int = 0
    # Field types the vendor can represent; the suite only seeds these.
    field_types: tuple[FieldType, ...] = tuple(FieldType)
    # The env var an AuthError must name; None when the adapter has no token.
    token_env: str | None = None
    # fail_next(op, status, times, retry_after_s): the next `times` requests of `op` get `status`;
    # a 429 carries Retry-After (in the vendor's own format) of `retry_after_s` seconds when given.
    fail_next: Callable[[str, int, int, float | None], None] | None = None
    # Make the stand-in reject the token the adapter holds (401 from then on).
    reject_token: Callable[[], None] | None = None
    # How many requests the stand-in refused with 429 or 5xx so far.
    refusals: Callable[[], int] | None = None
    # Every wait the adapter asked for (its injected sleep), in order.
    sleeps: list[float] = field(default_factory=list)
    # Why a hook is None, by hook name ("fail_next", "reject_token", ...); shown as the skip reason.
    unsupported: dict[str, str] = field(default_factory=dict)

    async def close(self) -> None:
        await self.crm.aclose()


def standin_env(standin: Any, crm: CRMWriter, ops: dict[str, Any], sleeps: list[float], **fields: Any) -> "ContractEnv":
    """The env of an HTTP stand-in that has `load(data)`, `delete_deal(id)`, `fail_next(where, status, times,
    retry_after)`, `reject_token()` and a `refusals` count; `ops` maps FAULT_OPS to its `where`."""

    async def seed(data: WorkspaceData) -> dict[str, str]:
        loaded: dict[str, str] = standin.load(data)
        return loaded

    async def delete_deal(deal_id: str) -> None:
        standin.delete_deal(deal_id)

    def fail_next(op: str, status: int, times: int, retry_after_s: float | None) -> None:
        standin.fail_next(ops[op], status, times, retry_after_s)

    env = ContractEnv(crm=crm, seed=seed, delete_deal=delete_deal, fail_next=fail_next,
                      reject_token=standin.reject_token, refusals=lambda: standin.refusals, **fields)
    env.sleeps = sleeps
    return env


class FakeClock:
    """Wall-clock seconds that only move when someone sleeps: retries and pacing cost no real time."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.now = start
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(seconds, 0.0)
        await asyncio.sleep(0)


# ---- the pipeline every adapter is seeded with ----------------------------------------------------

# One field per engine type, named so they collide with no vendor's built-in fields.
CONTRACT_FIELDS: dict[FieldType, FieldSpec] = {
    FieldType.TEXT: FieldSpec(name="c_text", type=FieldType.TEXT, label="Contract text"),
    FieldType.NUMBER: FieldSpec(name="c_number", type=FieldType.NUMBER, label="Contract number"),
    FieldType.DATE: FieldSpec(name="c_date", type=FieldType.DATE, label="Contract date"),
    FieldType.SELECT: FieldSpec(
        name="c_select", type=FieldType.SELECT, label="Contract select", options=PAPER_PROCESS_OPTIONS
    ),
    FieldType.MULTI_SELECT: FieldSpec(
        name="c_multi", type=FieldType.MULTI_SELECT, label="Contract multi", options=DECISION_CRITERIA_OPTIONS
    ),
    FieldType.PERSON: FieldSpec(name="c_person", type=FieldType.PERSON, label="Contract person"),
    FieldType.RECORD: FieldSpec(name="c_record", type=FieldType.RECORD, label="Contract record"),
}

# Decoded values for the "full" deal. 0.0 is deliberate: zero is an answer, not an empty number.
FULL_VALUES: dict[FieldType, object] = {
    FieldType.TEXT: "Cut onboarding from 6 to 2 weeks",
    FieldType.NUMBER: 0.0,
    FieldType.DATE: "2026-03-01",
    FieldType.SELECT: "Legal review",
    FieldType.MULTI_SELECT: ["Price", "Security"],
    FieldType.PERSON: "Jane Doe",
    FieldType.RECORD: "Acme Corp",
}

BASE = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
FULL, BLANK, PLACEHOLDER, GLOBEX = "d-full", "d-blank", "d-placeholder", "d-globex"
FULL_NAME = "Acme Corp Renewal"


def contract_workspace(field_types: tuple[FieldType, ...], *, bulk: int = 0, full_notes: int = 3) -> WorkspaceData:
    """Four named deals (+ `bulk` filler deals) and notes whose creation order differs from list order."""
    fields = [CONTRACT_FIELDS[t] for t in field_types]
    full = {CONTRACT_FIELDS[t].name: FULL_VALUES[t] for t in field_types}
    deals = [
        Deal(id=FULL, name=FULL_NAME, created_at=BASE, values=full),
        Deal(id=BLANK, name="Acme Corporation Pilot", created_at=BASE + timedelta(minutes=1)),
        Deal(
            id=PLACEHOLDER,
            name="Initech Upgrade",
            created_at=BASE + timedelta(minutes=2),
            values={"c_text": "TBD"} if FieldType.TEXT in field_types else {},
        ),
        Deal(id=GLOBEX, name="Globex Onboarding", created_at=BASE + timedelta(minutes=3)),
    ]
    for i in range(bulk):
        deals.append(Deal(id=f"d-bulk-{i:03d}", name=f"Bulk Deal {i:03d}", created_at=BASE + timedelta(hours=1, minutes=i)))
    notes: list[Note] = []
    # Inserted newest first so an adapter that trusts insertion or listing order gets it wrong.
    for i in reversed(range(full_notes)):
        notes.append(
            Note(
                id=f"n-full-{i}",
                deal_id=FULL,
                created_at=BASE + timedelta(days=i + 1),
                title=f"Call {i + 1}",
                text=f"Call {i + 1} summary.\nThe CFO said budget is approved for Q{(i % 4) + 1}.",
            )
        )
    notes.append(
        Note(id="n-globex-0", deal_id=GLOBEX, created_at=BASE + timedelta(days=2), title="Intro", text="Globex intro call.")
    )
    people = [Person(id="p-jane", name="Jane Doe", email="jane@example.com", title="CFO")]
    return WorkspaceData(fields=fields, people=people, deals=deals, notes=notes)

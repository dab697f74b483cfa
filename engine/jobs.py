"""The engine's entry points, shared by the CLI, the scheduler and tests: open what the gate allows, act, close.

The gate decides whether a writer exists at all: a dry run is handed a CRM reader and nothing else.
"""

from __future__ import annotations

import time
from contextlib import asynccontextmanager
from typing import AsyncIterator, Callable

from engine.extract.batch import BatchOptions, SupportsBatch
from engine.extract.base import Extractor
from engine.extract.offline import OfflineExtractor, unextracted_notice
from engine.fieldsetup import FieldPlan, missing_rep_fields, missing_scout_fields, setup_fields
from engine.gate import Gate, gated_crm, open_gate
from engine.models import RunSummary
from engine.progress import ProgressSink
from engine.errors import MissingFields, MissingRepFields, rep_fields_warning  # noqa: F401 (re-exported)
from engine.provenance import ProvenanceStore
from engine.store import Batches, PassLock, ProvenanceLog
from engine.reconcile import reconcile_pending
from engine.runner import run_pass
from engine.settings import Settings
from engine.undo import RunRef, UndoResult, undo_run
from engine.extract.pricing import estimate_cost
from engine.wiring import build_extractor



@asynccontextmanager
async def open_log(settings: Settings) -> AsyncIterator[ProvenanceLog]:
    store = await ProvenanceStore.open(settings.log_target)
    try:
        yield store
    finally:
        await store.aclose()


async def run_job(
    settings: Settings, *, apply: bool, cap: int | None = None, extractor: Extractor | None = None,
    batch: bool | None = None, clock: Callable[[], float] = time.monotonic, progress: ProgressSink | None = None,
    new_log: bool = False,
) -> tuple[RunSummary, list[str]]:
    """One pass. Returns the summary and the scout_* fields still missing (a live pass refuses to start then).

    A rep field missing from the CRM also refuses a live pass; a dry run goes ahead and carries the
    warning in the returned summary's notices (`scout run` prints it with the summary).

    `batch`: extract through one Message Batch (half price, waits for it); None follows SCOUT_BATCH. A plain
    pass that finds a batch an interrupted batch pass left pending collects that batch instead.
    `clock`: what SCOUT_PASS_DEADLINE is measured on (tests inject one).
    `progress` is told after each deal (engine/progress.py); the CLI shows it.
    """
    if cap is not None and cap < 1:
        raise ValueError(f"cap must be at least 1, not {cap}")
    gate = open_gate(apply, settings)
    use_batch = settings.batch if batch is None else batch
    extractor = extractor or build_extractor(settings)
    async with open_log(settings) as store, gated_crm(settings, gate) as (crm, writer):
        missing = await missing_scout_fields(crm, settings.field_map)
        if missing and gate.live:
            raise MissingFields(missing)
        no_rep = await missing_rep_fields(crm, settings.field_map)
        if no_rep and gate.live:
            raise MissingRepFields(no_rep)
        resumed = None if use_batch else await _pending_batch(store, extractor)
        if resumed is not None:
            use_batch = True  # its deals are already paid for: collect them, never extract them again at full price
        summary = await run_pass(
            crm=crm, writer=writer, store=store, extractor=extractor, field_map=settings.field_map,
            gate=gate, cap=cap if cap is not None else settings.scan_cap, concurrency=settings.concurrency,
            cost=estimate_cost,
            batch=BatchOptions(poll_seconds=settings.batch_poll_seconds) if use_batch else None,
            deadline=settings.pass_deadline or None, clock=clock, progress=progress, new_log=new_log,
        )
    if resumed is not None:
        summary.notices.insert(0, f"Message Batch {resumed} from an interrupted batch pass was still pending: this "
                                  "pass collected it instead of extracting its deals again at full price.")
    if no_rep:
        summary.notices.append(f"warning: {rep_fields_warning(no_rep)}")
    if isinstance(extractor, OfflineExtractor) and (unextracted := unextracted_notice(settings.field_map)):
        summary.notices.append(f"note: {unextracted}")
    return summary, missing


@asynccontextmanager
async def pass_lock(store: PassLock) -> AsyncIterator[str]:
    """The one-at-a-time lock that passes, undo, setup and import share. Raises LockHeld when it is taken."""
    holder = await store.acquire_lock()
    try:
        yield holder
    finally:
        await store.release_lock(holder)


async def _pending_batch(store: Batches, extractor: Extractor) -> str | None:
    """The id of a batch an interrupted batch pass left for this model and prompt, which a plain pass resumes."""
    if not isinstance(extractor, SupportsBatch):
        return None  # the offline extractor pays nothing to extract again
    stored = await store.open_batch()
    if stored is None or (stored.model, stored.prompt_version) != (extractor.model, extractor.prompt_version):
        return None
    return stored.id


async def setup_job(settings: Settings, *, apply: bool) -> tuple[Gate, int, list[FieldPlan]]:
    """Setup under the pass lock, settling first what a killed process left (as a pass would)."""
    gate = open_gate(apply, settings)
    async with open_log(settings) as store, pass_lock(store), gated_crm(settings, gate) as (crm, writer):
        await reconcile_pending(crm, store)
        run_id, plans = await setup_fields(crm, writer, store, settings.field_map, gate)
    return gate, run_id, plans


async def undo_job(settings: Settings, run_id: RunRef, *, apply: bool) -> tuple[Gate, UndoResult]:
    """Undo under the pass lock: a pass writing the same fields meanwhile would make the revert unsound.
    Holding it, a killed pass or undo is settled first, so a revert that landed before a kill counts as done.
    Raises LockHeld when a pass (or another undo) is running."""
    gate = open_gate(apply, settings)
    async with open_log(settings) as store, pass_lock(store), gated_crm(settings, gate) as (crm, writer):
        await reconcile_pending(crm, store)
        result = await undo_run(run_id, crm, writer, store, gate, settings.field_map)
    return gate, result

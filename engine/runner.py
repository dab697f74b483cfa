"""The pass: select deals fairly, extract, verify, decide, gate, log, summarise."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Sequence, TypeVar, cast

from engine.extract.batch import (BatchGone, BatchOptions, DealOutcome, PendingDeal, SupportsBatch, cacheable, outcomes,
                          submit, wait_until_ended)
from engine.batchwrite import FieldWrite, write_batch
from engine.crm.base import CRMBudgetSpent, CRMError, CRMReader, CRMWriter, DealNotFound
from engine.errors import LockHeld, LogReplaced  # noqa: F401 (LogReplaced re-exported)
from engine.decide import decide
from engine.extract.base import ExtractionError, Extractor
from engine.extract.cache import CacheKeys, extract_and_keep, from_cache
from engine.extract.citations import verify_citations
from engine.extract.hygiene import visible
from engine.extract.pricing import BATCH_PRICE_FACTOR
from engine.fieldtypes import CoercionError, coerce
from engine.gate import Gate
from engine.medic import FieldMap
from engine.models import ActionKind, Deal, DealRef, Extraction, FieldType, Finding, Note, RunSummary, Usage, Verdict
from engine.progress import PassProgress, ProgressSink
from engine.store import (EXPIRED_REASON, ActionLog, ActionRow, AppliedWrites, BatchEntry, OutcomeUpdate, ProvenanceLog,
                          ScanMarks)
from engine.store.actions import RunStatus
from engine.store.batches import BatchStatus
from engine.reconcile import reconcile_pending
from engine.summary import format_summary

log = logging.getLogger("scout.pass")
# An outage (bad key, 529 storm) should cost a handful of failed rows, not the whole cap.
MAX_FAILURES_IN_A_ROW = 5
LOCK_RENEW_SECONDS = 300
# Deals read ahead, and written behind, together: HubSpot's batch read and batch update take 100 inputs.
PAGE = 100
T = TypeVar("T")
Loaded = tuple[Deal, list[Note]]
Extracted = tuple[Deal, list[Note], Extraction | None]

_SKIP_REASONS = {
    Verdict.REP_FILLED: "rep filled {rep}: deferring to the rep's value",
    Verdict.UNCHANGED: "{scout} already holds this value",
    Verdict.DUPLICATE: "this value from this note was already written live before (run `scout log` to see when)",
}


async def order_deals(crm: CRMReader, store: ScanMarks, dry_run: bool) -> list[DealRef]:
    """Never-scanned deals first (oldest id first), then least-recently-scanned, so a cap rotates fairly.

    Rehearsals and live passes keep separate rotations, so a rehearsal previews the next live pass's deals.
    """
    refs = [ref async for ref in crm.iter_deal_refs()]
    scanned = await store.last_scanned(dry_run)
    return sorted(refs, key=lambda r: (r.id in scanned, scanned.get(r.id, ""), r.id))


@dataclass
class Choice:
    """The suggestion for one concept: the newest note's finding, its value in the scout field's type, and the
    findings it set aside (older notes, or other values from the same note: merged for multi-select)."""

    finding: Finding
    value: Any
    merged: list[Finding] = field(default_factory=list)
    superseded: list[Finding] = field(default_factory=list)


def choose(findings: list[Finding], notes: list[Note], field_map: FieldMap) -> tuple[dict[str, Choice],
                                                                                    list[tuple[Finding, str]]]:
    """Per concept, among findings whose value fits the scout field, the newest note's wins.

    Values are fitted first, so a newer finding that does not fit never hides an older one that does.
    Returns the choices and the findings that do not fit, with the reason.
    """
    when = {n.id: (n.created_at, i) for i, n in enumerate(notes)}
    unfit: list[tuple[Finding, str]] = []
    by_concept: dict[str, list[tuple[Finding, Any]]] = {}
    for f in findings:
        spec = field_map.concepts[f.concept].scout
        try:
            value = coerce(spec, f.value)
        except CoercionError as exc:
            unfit.append((f, f"value does not fit {spec.name}: {exc}"))
            continue
        by_concept.setdefault(str(f.concept), []).append((f, value))
    out: dict[str, Choice] = {}
    for concept, group in by_concept.items():
        ordered = sorted(group, key=lambda fv: when[fv[0].note_id], reverse=True)  # stable within a note
        newest = ordered[0][0].note_id
        same = [fv for fv in ordered if fv[0].note_id == newest]
        older = [fv[0] for fv in ordered if fv[0].note_id != newest]
        first, value = same[0]
        if field_map.concepts[first.concept].scout.type is FieldType.MULTI_SELECT:
            value = sorted({v for _, vs in same for v in vs})
            out[concept] = Choice(first, value, merged=[f for f, _ in same[1:]], superseded=older)
        else:
            out[concept] = Choice(first, value, superseded=[f for f, _ in same[1:]] + older)
    return out, unfit


@dataclass
class _Write:
    """One scout_* write a decision asks for: its set-aside rows and its intent row (pending until answered)."""

    deal: Deal
    aside: list[ActionRow]
    intent: ActionRow
    outcome: OutcomeUpdate | None = None  # the vendor's answer, once the batch is back

    @property
    def field(self) -> str:
        return self.intent.field or ""


@dataclass
class _Plan:
    """One deal on its way through settling: its rows so far, its choices, and the writes they ask for."""

    deal: Deal
    rows: list[ActionRow] = field(default_factory=list)
    choices: dict[str, Choice] = field(default_factory=dict)
    writes: list[_Write] = field(default_factory=list)
    gone: bool = False  # deleted since it was read: logged, not counted among the scanned
    left: bool = False  # the CRM's budget ran out before it was decided on: not settled, leads the next run


class PassRunner:
    """One pass. `writer` is None for a dry run: the rehearsal path holds no object that can write.

    With `batch`, every uncached extraction goes out as one Message Batch; its results go through the same
    `_settle` (citations, decisions, gate, log) as a synchronous extraction.
    """

    def __init__(
        self, *, crm: CRMReader, writer: CRMWriter | None, store: ProvenanceLog, extractor: Extractor,
        field_map: FieldMap, gate: Gate, concurrency: int,
        cost: Callable[[str, Usage], float | None] | None = None,
        batch: BatchOptions | None = None, lock_holder: str | None = None,
        deadline: float | None = None, clock: Callable[[], float] = time.monotonic,
        progress: ProgressSink | None = None, page_size: int = PAGE,
    ):
        if gate.live != (writer is not None):
            raise ValueError("a live gate needs a writer and a dry run must not have one")
        self.crm, self.writer, self.store, self.extractor = crm, writer, store, extractor
        self.field_map, self.gate, self.concurrency = field_map, gate, concurrency
        self._cost = cost
        self.counts: Counter[str] = Counter()
        self.usage = Usage()
        self.errors: list[str] = []
        self.scanned = 0
        self.notices: list[str] = []
        if batch is not None and not isinstance(extractor, SupportsBatch):
            self.notices.append(f"Batch mode needs the Claude extractor: {extractor.model} ran synchronously.")
            batch = None
        self._batch, self._lock_holder = batch, lock_holder
        self.batch_id: str | None = None
        self.batch_resumed = False
        self.expired = 0
        self._failures_in_a_row = 0
        self._halted: str | None = None
        self._halted_left = 0  # deals not started (or not read) once halted: they lead the next run
        self._lock_renewed = time.monotonic()
        self._lock_lost = False
        # Past the deadline no deal starts and none in flight finishes: they lead the next run, not scanned.
        self._deadline, self._clock = deadline or None, clock
        self._deadline_at: float | None = None
        self.deadline_left = 0
        self._progress = progress
        self._done = 0  # deals finished this pass, however they ended; `scanned` counts only the settled ones
        self._planned = 0
        self._page = max(1, page_size)  # deals read, and written, together
        self._keys = CacheKeys(extractor, field_map)

    def _report(self, *, deal_finished: bool = True) -> None:
        if deal_finished:
            self._done += 1
        if self._progress is not None:
            self._progress(PassProgress(
                done=self._done, total=self._planned, written=self.counts[ActionKind.WRITTEN],
                would_write=self.counts[ActionKind.WOULD_WRITE], failed=self.counts[ActionKind.FAILED],
                live=self.gate.live))

    def _row(self, run_id: int, deal: Deal | DealRef, **kw: Any) -> ActionRow:
        return ActionRow(run_id=run_id, deal_id=deal.id, deal_name=deal.name, model=self.extractor.model,
                         dry_run=not self.gate.live, **kw)

    async def run(self, cap: int) -> RunSummary:
        reconciled = await reconcile_pending(self.crm, self.store)
        run_id = await self.store.start_run(
            "pass", dry_run=not self.gate.live, dry_run_reason=self.gate.reason, cap=cap,
            model=self.extractor.model, prompt_version=self.extractor.prompt_version,
        )
        status: RunStatus = "finished"
        total = 0
        if self._deadline is not None:
            self._deadline_at = self._clock() + self._deadline
        try:
            log.info("listing deals")
            ordered = await order_deals(self.crm, self.store, dry_run=not self.gate.live)
            total = len(ordered)
            await self.store.set_total(run_id, total)
            self._planned = min(total, cap)
            log.info("%d deals listed; this pass takes %d (cap %d)", total, self._planned, cap)
            self._report(deal_finished=False)
            if self._batch is not None:
                await self._run_batch(run_id, ordered, cap)
            else:
                await self._pipeline(run_id, ordered[:cap])
        except CRMError as exc:
            # The pipeline could not be listed at all: record it, say it loudly, lose nothing.
            status = "failed"
            self.errors.append(str(exc))
            await self.store.log(ActionRow(run_id=run_id, action=ActionKind.FAILED, reason="listing deals failed",
                                           error=str(exc), dry_run=not self.gate.live))
            self.counts[ActionKind.FAILED] += 1
        except ExtractionError as exc:
            # The batch could not be polled or read: it stays on record, so the next batch pass resumes it.
            status = "failed"
            self.errors.append(str(exc))
            await self.store.log(ActionRow(run_id=run_id, action=ActionKind.FAILED, error=str(exc),
                                           reason=f"waiting for batch {self.batch_id} failed: resumed next run",
                                           model=self.extractor.model, dry_run=not self.gate.live))
            self.counts[ActionKind.FAILED] += 1
        except Exception as exc:
            # A bug or a surprise from a library: the run still ends on record, with what it did so far.
            status = "failed"
            self.errors.append(f"unexpected {type(exc).__name__}: {exc}")
            await self.store.log(ActionRow(run_id=run_id, action=ActionKind.FAILED, reason="pass stopped",
                                           error=f"{type(exc).__name__}: {exc}", dry_run=not self.gate.live))
            self.counts[ActionKind.FAILED] += 1
        except BaseException:
            # Interrupted (Ctrl-C, cancelled, killed by a test): no summary, but never left 'running'.
            await self.store.mark_interrupted(run_id, f"interrupted after {self.scanned} deals")
            raise
        if self._halted:
            self.errors.insert(0, self._halted)
            if self._halted_left:
                self.notices.append(f"{self._halted_left} deal(s) left for the next run, where they come first.")
        cost = self._cost(self.extractor.model, self.usage) if self._cost else 0.0
        if cost is not None and self._batch is not None:
            cost *= BATCH_PRICE_FACTOR  # in batch mode every token spent this run went through the batch
        summary = RunSummary(
            run_id=run_id, mode=self.gate.mode, dry_run_reason=self.gate.reason,
            written=self.counts[ActionKind.WRITTEN], would_write=self.counts[ActionKind.WOULD_WRITE],
            skipped=self.counts[ActionKind.SKIPPED], dropped=self.counts[ActionKind.DROPPED],
            failed=self.counts[ActionKind.FAILED], scanned=self.scanned, total=total, cap=cap,
            not_reached=max(0, total - min(total, cap)), model=self.extractor.model, usage=self.usage,
            cost_usd=cost, deadline_left=self.deadline_left, deadline_seconds=self._deadline,
            reconciled=reconciled, errors=self.errors[:20], batch=self._batch is not None,
            batch_id=self.batch_id, batch_resumed=self.batch_resumed, expired=self.expired, notices=self.notices,
        )
        await self.store.finish_run(summary, format_summary(summary), status=status)
        return summary

    async def _each(self, items: Sequence[T], fn: Callable[[T], Awaitable[object]]) -> None:
        """`fn` over `items`, at most `concurrency` at a time."""
        pending = iter(items)

        async def worker() -> None:
            for item in pending:  # one shared iterator: each item goes to exactly one worker
                await fn(item)

        # A TaskGroup cancels the other workers if one fails, so nothing runs on after the pass has ended.
        try:
            async with asyncio.TaskGroup() as group:
                for _ in range(min(self.concurrency, max(1, len(items)))):
                    group.create_task(worker())
        except BaseExceptionGroup as failed:
            raise failed.exceptions[0]  # callers handle the error itself, not the group around it

    async def _pipeline(self, run_id: int, refs: Sequence[DealRef]) -> None:
        """Page by page: the next pages are read while this one is extracted, and the pages before it are written
        while it is extracted, so latency overlaps and the vendor's rate limit is what bounds a pass."""
        pages = [refs[i:i + self._page] for i in range(0, len(refs), self._page)]
        # Pages being read while one is extracted, and being written while the next is: the adapter's choice.
        depth = max(1, self.crm.pages_in_flight)
        # Two pages extract at once, sharing `concurrency` slots: the workers a page's last deals leave idle
        # take the next page's first deals, instead of a page costing one more round of model latency.
        slots = asyncio.Semaphore(self.concurrency)
        reading: deque[asyncio.Future[dict[str, Loaded | CRMError]]] = deque()
        extracting: deque[asyncio.Future[list[Extracted]]] = deque()
        writing: deque[asyncio.Future[None]] = deque()

        async def settle_oldest() -> None:
            extracted = await extracting.popleft()
            while len(writing) >= depth:
                await writing.popleft()
            writing.append(asyncio.ensure_future(self._settle_many(run_id, extracted)))

        try:
            for i, page in enumerate(pages):
                while len(reading) < depth and i + len(reading) < len(pages):
                    reading.append(asyncio.ensure_future(self._read_page(pages[i + len(reading)])))
                loaded = await reading.popleft()
                extracting.append(asyncio.ensure_future(self._extract_page(run_id, page, loaded, slots)))
                if len(extracting) > 1:
                    await settle_oldest()
            while extracting:
                await settle_oldest()
            while writing:
                await writing.popleft()
        finally:
            pending: list[asyncio.Future[Any]] = [*reading, *extracting, *writing]
            for task in pending:
                if not task.done():
                    task.cancel()
                try:
                    await task
                except BaseException:
                    pass

    async def _read_page(self, refs: Sequence[DealRef]) -> dict[str, Loaded | CRMError]:
        """A page's deals and notes in batched reads; per deal, what was read or why it could not be."""
        ids = [ref.id for ref in refs]
        log.info("reading notes and fields of %d deal(s)", len(ids))
        failed = False
        spent: list[CRMError] = []
        try:
            # Both at once: list_notes_many leaves out a deal that is gone, so neither needs the other's answer.
            async with asyncio.TaskGroup() as group:
                reading_deals = group.create_task(self.crm.get_deals(ids))
                reading_notes = group.create_task(self.crm.list_notes_many(ids))
        except* CRMBudgetSpent as group_spent:
            spent = [e for e in group_spent.exceptions if isinstance(e, CRMError)]
        except* CRMError:
            failed = True
        if spent:
            return {deal_id: spent[0] for deal_id in ids}  # halts the pass; none of these is read again
        if failed:
            # One deal's trouble must not fail its whole page: read each deal on its own, as before batching.
            return await self._read_each(refs)
        deals, notes = reading_deals.result(), reading_notes.result()
        out: dict[str, Loaded | CRMError] = {}
        for deal_id in ids:
            if deal_id in deals and deal_id in notes:
                out[deal_id] = (deals[deal_id], notes[deal_id])
            else:
                out[deal_id] = DealNotFound(f"deal {deal_id} is no longer in the CRM")
        return out

    async def _read_each(self, refs: Sequence[DealRef]) -> dict[str, Loaded | CRMError]:
        out: dict[str, Loaded | CRMError] = {}

        async def one(ref: DealRef) -> None:
            try:
                out[ref.id] = (await self.crm.get_deal(ref.id), await self.crm.list_notes(ref.id))
            except CRMError as exc:
                out[ref.id] = exc

        await self._each(refs, one)
        return out

    async def _unreadable(self, run_id: int, ref: DealRef, exc: CRMError) -> None:
        """A deal that is gone, or could not be read, is logged (and the pass goes on)."""
        if isinstance(exc, CRMBudgetSpent):
            # The CRM's daily allocation is down to its reserve: no deal starts now, nothing is lost; this one
            # and the rest are not scanned, so they lead the next run.
            if not self._halted:
                self._halted = str(exc)
            self._halted_left += 1
            return
        if isinstance(exc, DealNotFound):
            await self._log_rows([self._row(run_id, ref, action=ActionKind.SKIPPED,
                                            reason=f"deal not found (deleted or merged mid-run): {exc}")])
            return
        self.errors.append(f"{ref.name}: {exc}")
        # Marked scanned: a deal that keeps failing to load must not hold the front of the rotation.
        row = self._row(run_id, ref, action=ActionKind.FAILED, reason="reading deal failed", error=str(exc))
        self.counts[row.action] += 1
        await self.store.log_scanned([row], ref.id, run_id, counted=False)

    async def _extract_page(self, run_id: int, refs: Sequence[DealRef], loaded: dict[str, Loaded | CRMError],
                            slots: asyncio.Semaphore) -> list[Extracted]:
        """Extract the page's deals, each in one of `slots` (the pass's concurrency, shared with the next page);
        the ones to settle, in page order."""
        done: list[Extracted | None] = [None] * len(refs)
        keys = {ref.id: self._keys.key(*found) for ref in refs
                if not isinstance(found := loaded[ref.id], CRMError) and found[1]}
        cached = await self.store.cache_get(list(keys.values()))  # the page's cached answers in one read

        async def one(i: int) -> None:
            async with slots:
                await extract(i)

        async def extract(i: int) -> None:
            ref = refs[i]
            if self._halted:
                self._halted_left += 1
                return  # not scanned: these deals lead the next run
            if self._time_left() == 0:
                self.deadline_left += 1  # not scanned: leads the next run
                return
            await self._keep_lock()
            try:
                done[i] = await self._extract_one(run_id, ref, loaded[ref.id], keys.get(ref.id), cached)
            except Exception as exc:
                log.exception("unexpected error on deal %s", ref.id)
                await self._unexpected(run_id, ref, exc)
            if done[i] is None:
                self._report()  # ended here; a deal that goes on is reported when it settles

        # Every deal queues for a slot at once (not `_each`'s workers, which queue a page's later deals behind
        # the next page's: page 1 then finishes late and holds the pipeline; measured 1.22x N*L/C, not 1.03x).
        # A TaskGroup cancels the page's other deals if one fails, so nothing runs on after the pass has ended.
        try:
            async with asyncio.TaskGroup() as group:
                for i in range(len(refs)):
                    group.create_task(one(i))
        except BaseExceptionGroup as failed:
            raise failed.exceptions[0]
        return [found for found in done if found is not None]

    async def _unexpected(self, run_id: int, ref: Deal | DealRef, exc: Exception) -> None:
        """An unexpected error fails this deal, logged, and the pass goes on."""
        self.errors.append(f"{ref.name}: unexpected {type(exc).__name__}: {exc}")
        row = self._row(run_id, ref, action=ActionKind.FAILED, reason="unexpected error",
                        error=f"{type(exc).__name__}: {exc}")
        self.counts[row.action] += 1
        await self.store.log_many([row])

    async def _extract_one(self, run_id: int, ref: DealRef, loaded: Loaded | CRMError, key: str | None,
                           cached: dict[str, str]) -> Extracted | None:
        """Extract from one deal's notes (the synchronous path), or take its answer from `cached` (keyed by
        `key`); None when the deal ends here, logged."""
        if isinstance(loaded, CRMError):
            await self._unreadable(run_id, ref, loaded)
            return None
        deal, notes = loaded
        extraction = None
        if notes:
            assert key is not None  # every deal with notes has one
            if key in cached:
                extraction = from_cache(cached[key])
            else:
                log.info("%s: extracting from %d note(s)", deal.name, len(notes))
                limit = asyncio.timeout(self._time_left())
                try:
                    async with limit:
                        extraction = await extract_and_keep(self.store, self.extractor, deal, notes, self.field_map,
                                                            key)
                except ExtractionError as exc:
                    await self._extraction_failed(run_id, deal, str(exc), exc.usage)
                    return None
                except TimeoutError:
                    if not limit.expired():
                        raise
                    self.deadline_left += 1  # cut off by the pass deadline: not scanned, leads the next run
                    return None
            self.usage = self.usage + extraction.usage
            self._failures_in_a_row = 0
        return deal, notes, extraction

    def _time_left(self) -> float | None:
        """Seconds until the pass deadline (0 once past it); None without a deadline."""
        if self._deadline_at is None:
            return None
        return max(0.0, self._deadline_at - self._clock())

    async def _extraction_failed(self, run_id: int, deal: Deal, error: str, usage: Usage | None = None) -> None:
        """Logged, and NOT marked scanned: an outage or a cut-short reply must not send the deal to the back of
        the rotation. Counts toward the halt after MAX_FAILURES_IN_A_ROW."""
        if usage is not None:
            self.usage = self.usage + usage  # a cut-short reply still spent its tokens
        self.errors.append(f"{deal.name}: {error}")
        await self._log_rows([self._row(run_id, deal, action=ActionKind.FAILED, reason="extraction failed",
                                        error=error)])
        self._failures_in_a_row += 1
        if self._failures_in_a_row >= MAX_FAILURES_IN_A_ROW and not self._halted:
            self._halted = (f"stopped extracting after {MAX_FAILURES_IN_A_ROW} failures in a row (last: {error});"
                            " the deals not reached come first next run")

    async def _still_holding_lock(self) -> bool:
        """Before a page is settled: a pass that lost its lock (its database session ended and another pass has
        taken it since) stops, as two passes must never settle deals at once. Once lost, it stays lost: a lock
        freed again later is not this pass's to take back."""
        if self._lock_holder is None:
            return True
        if self._lock_lost:
            return False
        try:
            await self.store.confirm_lock(self._lock_holder)
        except LockHeld as exc:
            self._lose_lock(exc)
            return False
        return True

    def _lose_lock(self, exc: LockHeld) -> None:
        self._lock_lost = True
        if not self._halted:
            self._halted = f"stopped: the pass lock was lost (its database session ended) and {exc}"

    async def _keep_lock(self) -> None:
        # A long pass must not outlive its lock's TTL, or a second pass could start and reconcile our intents.
        if self._lock_holder is not None and not self._lock_lost and \
                time.monotonic() - self._lock_renewed > LOCK_RENEW_SECONDS:
            self._lock_renewed = time.monotonic()
            try:
                await self.store.extend_lock(self._lock_holder)
            except LockHeld as exc:
                self._lose_lock(exc)  # halts as the check before a page does: no deal settles from here on

    async def _settle_many(self, run_id: int, items: Sequence[Extracted]) -> None:
        """Shared by both paths, a page at a time: check citations, decide, gate, log, and mark each deal scanned.

        Live, the page's decisions are taken on the CRM as it is now (one batched re-read), the page's intents are
        committed together, its writes go out as one batched call, and their outcomes are committed together."""
        plans: list[_Plan] = []
        for deal, notes, extraction in items:
            try:
                plans.append(self._plan(run_id, deal, notes, extraction))
            except Exception as exc:
                log.exception("unexpected error on deal %s", deal.id)
                await self._unexpected(run_id, deal, exc)
                self._report()
        if self.writer is not None:
            await self._reread(run_id, [p for p in plans if p.choices])
            self._halted_left += sum(p.left for p in plans)
            plans = [p for p in plans if not p.left]
        writes: list[_Write] = []
        # Duplicate protection for the whole page in one query, not one per deal or per finding.
        applied = await self.store.applied_writes({plan.deal.id: [
            self.field_map.concepts[c.finding.concept].scout.name for c in plan.choices.values()] for plan in plans})
        for plan in plans:
            for choice in plan.choices.values():
                write = self._act(run_id, plan.deal, choice, applied[plan.deal.id], plan.rows)
                if write is not None:
                    plan.writes.append(write)
                    writes.append(write)
        # Checked as late as can be, just before the page's first row and its CRM call.
        if not await self._still_holding_lock():
            self._halted_left += len(plans)  # not settled: cached, and first in line next run
            return
        for plan in plans:
            if plan.gone:
                await self._log_rows(plan.rows)
        try:
            outcomes = await self._write(writes) if writes else []
        except LockHeld:
            # Lost between the check above and the intents' commit, so nothing was logged or sent: taken again
            # unless another pass has it, and then the writes go once more.
            if not await self._still_holding_lock():
                self._halted_left += len(plans)
                return
            outcomes = await self._write(writes)
        # The outcomes, the page's other rows, its scan marks and its cached extractions: one commit.
        await self.store.set_outcomes(outcomes, commit=False)
        await self.store.log_scanned_many([(plan.deal.id, plan.rows) for plan in plans if not plan.gone], run_id)
        for plan in plans:
            if not plan.gone:
                for row in plan.rows:
                    self.counts[row.action] += 1
                self.scanned += 1
            self._count_writes(plan.writes)  # counted with their own deal, so progress matches what is done
            self._report()

    def _plan(self, run_id: int, deal: Deal, notes: list[Note], extraction: Extraction | None) -> _Plan:
        plan = _Plan(deal)
        if extraction is None:
            return plan
        log.info("%s: checking citations and deciding on %d finding(s)", deal.name, len(extraction.findings))
        kept, unverified = verify_citations(extraction.findings, notes, self.field_map)
        for d in [*extraction.dropped, *unverified]:
            fields = self.field_map.fields_for(d.concept)
            plan.rows.append(self._row(
                run_id, deal, action=ActionKind.DROPPED, concept=d.concept, reason=d.reason,
                field=fields.scout.name if fields else None,
                new=visible(d.value if isinstance(d.value, (str, list, int, float, type(None))) else str(d.value)),
                note_id=d.note_id, excerpt=visible(d.excerpt),
            ))
        plan.choices, unfit = choose(kept, notes, self.field_map)
        for f, reason in unfit:
            plan.rows.append(self._row(run_id, deal, action=ActionKind.DROPPED, concept=str(f.concept),
                                       field=self.field_map.concepts[f.concept].scout.name, new=f.value,
                                       reason=reason, note_id=f.note_id, excerpt=f.excerpt))
        return plan

    async def _reread(self, run_id: int, plans: list[_Plan]) -> None:
        """Decide on the CRM as it is now, not as it was before extraction (minutes, or a batch's hours): a rep
        who filled the field meanwhile wins, and undo restores what was really replaced."""
        if not plans:
            return
        try:
            fresh: dict[str, Deal | CRMError] = dict(await self.crm.get_deals([p.deal.id for p in plans]))
        except CRMBudgetSpent as exc:
            # The daily allocation ran out before this page could be decided on: none of its deals is settled,
            # nothing is lost (its extractions are cached), and they lead the next run.
            if not self._halted:
                self._halted = str(exc)
            for p in plans:
                p.left = True
            return
        except CRMError:
            fresh = {}
            for p in plans:  # one deal's trouble must not fail the page: each on its own, as before batching
                try:
                    fresh[p.deal.id] = await self.crm.get_deal(p.deal.id)
                except CRMError as exc:
                    fresh[p.deal.id] = exc
        for p in plans:
            now = fresh.get(p.deal.id) or DealNotFound(f"deal {p.deal.id} is no longer in the CRM")
            if isinstance(now, DealNotFound):
                p.choices, p.gone = {}, True
                p.rows.append(self._row(run_id, p.deal, action=ActionKind.SKIPPED,
                                        reason=f"deal not found (deleted or merged mid-run): {now}"))
            elif isinstance(now, CRMBudgetSpent):
                self._halted = self._halted or str(now)
                p.left = True
            elif isinstance(now, CRMError):
                p.choices = {}
                self.errors.append(f"{p.deal.name}: {now}")
                p.rows.append(self._row(run_id, p.deal, action=ActionKind.FAILED, reason="reading deal failed",
                                        error=str(now)))
            else:
                p.deal = now

    # -- batch mode -------------------------------------------------------------------------------------------

    async def _load_many(self, run_id: int, refs: Sequence[DealRef]) -> dict[str, Loaded]:
        """The deals and their notes, in batched pages; the ones that are gone or unreadable are logged."""
        loaded: dict[str, Loaded] = {}
        for start in range(0, len(refs), self._page):
            page = refs[start:start + self._page]
            read = await self._read_page(page)
            for ref in page:
                got = read[ref.id]
                if isinstance(got, CRMError):
                    await self._unreadable(run_id, ref, got)
                else:
                    loaded[ref.id] = got
        return loaded

    async def _settle_pages(self, run_id: int, items: Sequence[Extracted]) -> None:
        for start in range(0, len(items), self._page):
            await self._settle_many(run_id, items[start:start + self._page])

    async def _run_batch(self, run_id: int, ordered: list[DealRef], cap: int) -> None:
        """Cached deals settle at once; the rest go out as ONE Message Batch. A batch left by an interrupted
        run is resumed instead: polled and settled, never submitted (and paid for) again."""
        source = cast(SupportsBatch, self.extractor)
        stored = await self.store.open_batch()
        if stored is not None and (stored.model, stored.prompt_version) != (source.model, source.prompt_version):
            why = f"it was for {stored.model} ({stored.prompt_version}), not {source.model} ({source.prompt_version})"
            await self.store.close_batch(stored.id, "superseded", why)
            self.notices.append(f"Batch {stored.id} left by an interrupted run was not used: {why}.")
            stored = None
        if stored is not None:
            self.batch_id, self.batch_resumed = stored.id, True
            if stored.run_id is not None:
                await self.store.mark_interrupted(stored.run_id, f"interrupted while waiting for batch {stored.id};"
                                                                 f" run {run_id} resumed it")
            entries = await self.store.batch_entries(stored.id)
            known = {ref.id: ref for ref in ordered}
            refs = [known.get(d, DealRef(id=d, name=d)) for d in dict.fromkeys(e.deal_id for e in entries)]
            await self._finish_batch(run_id, stored.id, entries, await self._load_many(run_id, refs))
            return

        ready: list[tuple[Deal, list[Note], Extraction | None]] = []
        pending: list[PendingDeal] = []
        loaded = list((await self._load_many(run_id, ordered[:cap])).values())
        keys = {deal.id: self._keys.key(deal, notes) for deal, notes in loaded if notes}
        cached = await self.store.cache_get(list(keys.values()))
        for deal, notes in loaded:
            if not notes:
                ready.append((deal, notes, None))
            elif keys[deal.id] not in cached:
                pending.append(PendingDeal(deal=deal, notes=notes, cache_key=keys[deal.id]))
            else:  # unchanged notes: no tokens, not even at half price
                ready.append((deal, notes, Extraction.model_validate_json(cached[keys[deal.id]])))
        await self._settle_pages(run_id, ready)
        if not pending:
            return
        try:
            self.batch_id, entries = await submit(source, self.store, run_id, pending, self.field_map)
        except ExtractionError as exc:
            message = str(exc)
            await self._each(pending, lambda p: self._extraction_failed(run_id, p.deal, message))
            return
        await self._finish_batch(run_id, self.batch_id, entries, {p.deal.id: (p.deal, p.notes) for p in pending})

    async def _finish_batch(
        self, run_id: int, batch_id: str, entries: list[BatchEntry], loaded: dict[str, tuple[Deal, list[Note]]]
    ) -> None:
        """Wait for the batch, then settle each deal's result exactly as a synchronous extraction would be."""
        source = cast(SupportsBatch, self.extractor)
        closing: BatchStatus
        try:
            await wait_until_ended(source, batch_id, cast(BatchOptions, self._batch), self._keep_lock)
            results = outcomes(source, await source.batch_results(batch_id, self.field_map), entries)
            closing, note = "ended", None
        except BatchGone as exc:
            self.notices.append(str(exc))
            results = {d: DealOutcome(deal_id=d, expired=True) for d in dict.fromkeys(e.deal_id for e in entries)}
            closing, note = "gone", str(exc)
        keys = {e.deal_id: e.cache_key for e in entries}
        expired: list[ActionRow] = []
        settle: list[tuple[Deal, list[Note], DealOutcome]] = []
        for deal_id, outcome in results.items():
            self.usage = self.usage + outcome.usage
            if deal_id not in loaded:
                continue  # deleted or unreadable since: logged when it was read
            deal, notes = loaded[deal_id]
            if outcome.expired:
                # Not marked scanned: the deal keeps its place at the front of the next run.
                expired.append(self._row(run_id, deal, action=ActionKind.SKIPPED,
                                         reason=f"{EXPIRED_REASON} {batch_id}: retried next run"))
                continue
            if outcome.extraction is not None and cacheable(outcome.extraction):
                await self.store.cache_put(keys[deal_id], outcome.extraction.model_dump_json())
            settle.append((deal, notes, outcome))
        if expired:
            self.expired += len(expired)
            await self.store.log_many(expired)  # reported as expired, not counted among the skipped

        async def failed(item: tuple[Deal, list[Note], DealOutcome]) -> None:
            await self._extraction_failed(run_id, item[0], item[2].error or "")
            self._report()

        await self._each([i for i in settle if i[2].error is not None], failed)
        await self._settle_pages(run_id, [(d, n, o.extraction) for d, n, o in settle if o.error is None])
        await self.store.close_batch(batch_id, closing, note)


    def _act(self, run_id: int, deal: Deal, choice: Choice, applied: AppliedWrites,
             rows: list[ActionRow]) -> _Write | None:
        """The rows one choice logs (appended to `rows`), and the write it asks for, if any."""
        finding, new = choice.finding, choice.value
        fields = self.field_map.concepts[finding.concept]
        base = dict(concept=str(finding.concept), field=fields.scout.name, note_id=finding.note_id,
                    excerpt=finding.excerpt)

        def set_aside(f: Finding, reason: str) -> ActionRow:
            return self._row(run_id, deal, action=ActionKind.SKIPPED, concept=str(f.concept),
                             field=fields.scout.name, new=f.value, note_id=f.note_id, excerpt=f.excerpt, reason=reason)

        aside = [set_aside(f, f"merged into the suggestion from the same note {f.note_id}") for f in choice.merged]
        aside += [set_aside(f, f"superseded by newer note {finding.note_id}" if f.note_id != finding.note_id
                            else f"note {f.note_id} gives another value; its first one was kept")
                  for f in choice.superseded]
        decision = decide(fields, deal, finding, new, applied.has(fields.scout.name, finding.note_id, new))
        if not decision.writes:
            reason = _SKIP_REASONS[decision.verdict].format(rep=fields.rep.name, scout=fields.scout.name)
            rows += aside + [self._row(run_id, deal, action=ActionKind.SKIPPED, reason=reason,
                                       previous=decision.previous, new=new, rep_value=decision.rep_value, **base)]
            return None
        reason = "new suggestion" if decision.verdict is Verdict.WRITE else "newer suggestion replaces older"
        if self.writer is None:
            rows += aside + [self._row(run_id, deal, action=ActionKind.WOULD_WRITE, reason=reason,
                                       previous=decision.previous, new=new, **base)]
            return None
        return _Write(deal, aside, self._row(run_id, deal, action=ActionKind.WRITTEN, reason=reason,
                                             previous=decision.previous, new=new, status="pending", **base))

    async def _write(self, writes: list[_Write]) -> list[OutcomeUpdate]:
        """Invariant 4 per batch: the intents (with their set-aside rows) in one commit, one batched CRM call;
        then each write's own outcome, from the vendor's answer for its deal, for the caller to commit."""
        assert self.writer is not None
        log.info("writing %d field(s) of %d deal(s)", len(writes), len({w.deal.id for w in writes}))
        rows = [r for w in writes for r in (*w.aside, w.intent)]
        ids = dict(zip(map(id, rows), await self.store.log_intents(rows)))
        for w in writes:
            w.intent.id = ids[id(w.intent)]
        outcomes = await write_batch(self.writer, self.crm, [FieldWrite(ids[id(w.intent)], w.deal.id, w.field,
                                                                        w.intent.new) for w in writes])
        for w, outcome in zip(writes, outcomes):
            w.outcome = outcome
            if outcome is None:
                self.errors.append(f"{w.deal.name} {w.field}: outcome unknown until reconciled")
            elif outcome.status != "applied":
                self.errors.append(f"{w.deal.name} {w.field}: {outcome.error}")
        return [o for o in outcomes if o is not None]

    def _count_writes(self, writes: list[_Write]) -> None:
        for w in writes:
            for r in w.aside:
                self.counts[r.action] += 1
            if w.outcome is not None:
                self.counts[ActionKind.WRITTEN if w.outcome.status == "applied" else ActionKind.FAILED] += 1

    async def _log_rows(self, rows: list[ActionRow]) -> None:
        if not rows:
            return
        for row in rows:
            self.counts[row.action] += 1
        await self.store.log_many(rows)


async def refuse_a_replaced_log(crm: CRMReader, store: ActionLog, field_map: FieldMap) -> None:
    """A log restarted under values it does not know would orphan their provenance and reuse run ids."""
    if await store.has_passes():
        return
    found = await crm.first_filled([s.name for s in field_map.scout_fields()])
    if found is not None:
        raise LogReplaced(
            f"the provenance log {store.path} has no record of any pass, but the CRM already holds Scout's values "
            f"(deal {found[0]} {found[1]}): restore the log from a backup (or point SCOUT_LOG_DB at it), or pass "
            "--new-log to start a new log over these values on purpose")


async def run_pass(
    *, crm: CRMReader, writer: CRMWriter | None, store: ProvenanceLog, extractor: Extractor,
    field_map: FieldMap, gate: Gate, cap: int, concurrency: int,
    cost: Callable[[str, Usage], float | None] | None = None, batch: BatchOptions | None = None,
    deadline: float | None = None, clock: Callable[[], float] = time.monotonic,
    progress: ProgressSink | None = None, new_log: bool = False, page_size: int = PAGE,
) -> RunSummary:
    """Run one pass under the database lock so two passes never overlap. `batch`: extract as a Message Batch.
    `deadline`: seconds after which no deal is extracted (the rest lead the next run); `clock` for tests.
    `new_log`: start a log over a CRM that already holds Scout's values (refused otherwise: LogReplaced)."""
    holder = await store.acquire_lock()
    try:
        if not new_log:
            await refuse_a_replaced_log(crm, store, field_map)
        runner = PassRunner(crm=crm, writer=writer, store=store, extractor=extractor, field_map=field_map,
                            gate=gate, concurrency=concurrency, cost=cost, batch=batch, lock_holder=holder,
                            deadline=deadline, clock=clock, progress=progress, page_size=page_size)
        return await runner.run(cap)
    finally:
        await store.release_lock(holder)

"""The pass: select deals fairly, extract, verify, decide, gate, log, summarise."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from datetime import datetime, timezone
from typing import Any, Awaitable, Callable, Sequence, TypeVar, cast

from engine.batch import (BatchGone, BatchOptions, DealOutcome, PendingDeal, SupportsBatch, cacheable, outcomes,
                          submit, wait_until_ended)
from engine.crm.base import CRMError, CRMReader, CRMWriter, DealNotFound
from engine.decide import decide
from engine.extract.base import ExtractionError, Extractor
from engine.extract.cache import cache_key, cached_extract
from engine.extract.citations import verify_citations
from engine.extract.pricing import BATCH_PRICE_FACTOR
from engine.fieldtypes import CoercionError, coerce
from engine.gate import Gate
from engine.medic import FieldMap
from engine.models import ActionKind, Deal, DealRef, Extraction, Finding, Note, RunSummary, Usage, Verdict
from engine.provenance import ActionRow, AppliedWrites, BatchEntry, ProvenanceStore
from engine.reconcile import reconcile_pending
from engine.summary import PassSummary, format_summary

log = logging.getLogger("scout.pass")
T = TypeVar("T")

_SKIP_REASONS = {
    Verdict.REP_FILLED: "rep filled {rep}: deferring to the rep's value",
    Verdict.UNCHANGED: "{scout} already holds this value",
    Verdict.DUPLICATE: "this value from this note was already written live before (run `scout log` to see when)",
}


async def order_deals(crm: CRMReader, store: ProvenanceStore) -> list[DealRef]:
    """Never-scanned deals first (oldest id first), then least-recently-scanned, so a cap rotates fairly."""
    refs = [ref async for ref in crm.iter_deal_refs()]
    scanned = await store.last_scanned()
    return sorted(refs, key=lambda r: (r.id in scanned, scanned.get(r.id, ""), r.id))


def pick_newest(findings: list[Finding], notes: list[Note]) -> dict[str, tuple[Finding, list[Finding]]]:
    """Per concept, the finding from the newest note wins; the rest are superseded."""
    when = {n.id: (n.created_at, i) for i, n in enumerate(notes)}
    by_concept: dict[str, list[Finding]] = {}
    for f in findings:
        by_concept.setdefault(f.concept.value, []).append(f)
    out = {}
    for concept, group in by_concept.items():
        ordered = sorted(group, key=lambda f: when[f.note_id], reverse=True)
        out[concept] = (ordered[0], ordered[1:])
    return out


class PassRunner:
    """One pass. `writer` is None for a dry run: the rehearsal path holds no object that can write.

    With `batch`, every uncached extraction goes out as one Message Batch; its results go through the same
    `_settle` (citations, decisions, gate, log) as a synchronous extraction.
    """

    def __init__(
        self, *, crm: CRMReader, writer: CRMWriter | None, store: ProvenanceStore, extractor: Extractor,
        field_map: FieldMap, gate: Gate, concurrency: int, cost: Callable[[str, Usage], float] | None = None,
        batch: BatchOptions | None = None, lock_holder: str | None = None,
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

    def _row(self, run_id: int, deal: Deal | DealRef, **kw: Any) -> ActionRow:
        return ActionRow(run_id=run_id, deal_id=deal.id, deal_name=deal.name, model=self.extractor.model,
                         dry_run=not self.gate.live, **kw)

    async def run(self, cap: int) -> RunSummary:
        reconciled = await reconcile_pending(self.crm, self.store)
        run_id = await self.store.start_run(
            "pass", dry_run=not self.gate.live, dry_run_reason=self.gate.reason, cap=cap,
            model=self.extractor.model, prompt_version=self.extractor.prompt_version,
        )
        status = "finished"
        total = 0
        try:
            ordered = await order_deals(self.crm, self.store)
            total = len(ordered)
            if self._batch is not None:
                await self._run_batch(run_id, ordered, cap)
            else:
                await self._each(ordered[:cap], lambda ref: self._process(run_id, ref))
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
        cost = self._cost(self.extractor.model, self.usage) if self._cost else 0.0
        summary = PassSummary(
            run_id=run_id, mode=self.gate.mode, dry_run_reason=self.gate.reason,
            written=self.counts[ActionKind.WRITTEN], would_write=self.counts[ActionKind.WOULD_WRITE],
            skipped=self.counts[ActionKind.SKIPPED], dropped=self.counts[ActionKind.DROPPED],
            failed=self.counts[ActionKind.FAILED], scanned=self.scanned, total=total, cap=cap,
            not_reached=max(0, total - min(total, cap)), model=self.extractor.model, usage=self.usage,
            # In batch mode every token spent this run went through the batch, billed at the batch price.
            cost_usd=cost * BATCH_PRICE_FACTOR if self._batch is not None else cost,
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

        await asyncio.gather(*(worker() for _ in range(min(self.concurrency, max(1, len(items))))))

    async def _load(self, run_id: int, ref: DealRef) -> tuple[Deal, list[Note]] | None:
        """The deal and its notes; None (logged) when it is gone or cannot be read."""
        try:
            return await self.crm.get_deal(ref.id), await self.crm.list_notes(ref.id)
        except DealNotFound as exc:
            await self._log_rows([self._row(run_id, ref, action=ActionKind.SKIPPED,
                                            reason=f"deal not found (deleted or merged mid-run): {exc}")])
        except CRMError as exc:
            self.errors.append(f"{ref.name}: {exc}")
            await self._log_rows([self._row(run_id, ref, action=ActionKind.FAILED, reason="reading deal failed",
                                            error=str(exc))])
        return None

    async def _process(self, run_id: int, ref: DealRef) -> None:
        """Read, extract, decide and act on one deal (the synchronous path)."""
        loaded = await self._load(run_id, ref)
        if loaded is None:
            return
        deal, notes = loaded
        extraction = None
        if notes:
            try:
                extraction, _hit = await cached_extract(self.store, self.extractor, deal, notes, self.field_map)
            except ExtractionError as exc:
                await self._extraction_failed(run_id, deal, str(exc))
                return
            self.usage = self.usage + extraction.usage
        await self._settle(run_id, deal, notes, extraction)

    async def _extraction_failed(self, run_id: int, deal: Deal, error: str) -> None:
        self.errors.append(f"{deal.name}: {error}")
        await self._log_rows([self._row(run_id, deal, action=ActionKind.FAILED, reason="extraction failed",
                                        error=error)])
        await self.store.mark_scanned(deal.id, run_id)
        self.scanned += 1

    async def _settle(self, run_id: int, deal: Deal, notes: list[Note], extraction: Extraction | None) -> None:
        """Shared by both paths: check citations, decide, gate, log, and mark the deal scanned."""
        rows: list[ActionRow] = []
        if extraction is not None:
            kept, unverified = verify_citations(extraction.findings, notes)
            for d in [*extraction.dropped, *unverified]:
                fields = self.field_map.concepts.get(d.concept) if d.concept != "*" else None
                rows.append(self._row(
                    run_id, deal, action=ActionKind.DROPPED, concept=d.concept, reason=d.reason,
                    field=fields.scout.name if fields else None,
                    new=d.value if isinstance(d.value, (str, list, int, float, type(None))) else str(d.value),
                    note_id=d.note_id, excerpt=d.excerpt,
                ))
            winners = pick_newest(kept, notes)
            # Duplicate protection for the whole deal in one query, not one per finding.
            applied = await self.store.applied_writes(
                deal.id, [self.field_map.concepts[f.concept].scout.name for f, _ in winners.values()])
            for concept, (finding, superseded) in winners.items():
                rows.extend(await self._act(run_id, deal, finding, superseded, applied))
        for row in rows:
            self.counts[row.action] += 1
        await self.store.log_scanned(rows, deal.id, run_id)
        self.scanned += 1

    # -- batch mode -------------------------------------------------------------------------------------------

    async def _load_many(self, run_id: int, refs: Sequence[DealRef]) -> dict[str, tuple[Deal, list[Note]]]:
        slots: list[tuple[Deal, list[Note]] | None] = [None] * len(refs)

        async def load(i: int) -> None:
            slots[i] = await self._load(run_id, refs[i])

        await self._each(range(len(refs)), load)
        return {ref.id: slot for ref, slot in zip(refs, slots) if slot is not None}

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
        for deal, notes in (await self._load_many(run_id, ordered[:cap])).values():
            if not notes:
                ready.append((deal, notes, None))
                continue
            key = cache_key(deal, notes, self.extractor, self.field_map)
            payload = await self.store.cache_get(key)
            if payload is None:
                pending.append(PendingDeal(deal=deal, notes=notes, cache_key=key))
            else:  # unchanged notes: no tokens, not even at half price
                ready.append((deal, notes, Extraction.model_validate_json(payload)))
        await self._each(ready, lambda r: self._settle(run_id, *r))
        if not pending:
            return
        try:
            self.batch_id, entries = await submit(source, self.store, run_id, pending, self.field_map)
        except ExtractionError as exc:
            await self._each(pending, lambda p: self._extraction_failed(run_id, p.deal, str(exc)))
            return
        await self._finish_batch(run_id, self.batch_id, entries, {p.deal.id: (p.deal, p.notes) for p in pending})

    async def _finish_batch(
        self, run_id: int, batch_id: str, entries: list[BatchEntry], loaded: dict[str, tuple[Deal, list[Note]]]
    ) -> None:
        """Wait for the batch, then settle each deal's result exactly as a synchronous extraction would be."""
        source = cast(SupportsBatch, self.extractor)
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
                                         reason=f"extraction expired in batch {batch_id}: retried next run"))
                continue
            if outcome.extraction is not None and cacheable(outcome.extraction):
                await self.store.cache_put(keys[deal_id], outcome.extraction.model_dump_json())
            settle.append((deal, notes, outcome))
        if expired:
            self.expired += len(expired)
            await self.store.log_many(expired)  # reported as expired, not counted among the skipped

        async def one(item: tuple[Deal, list[Note], DealOutcome]) -> None:
            deal, notes, outcome = item
            if outcome.error is not None:
                await self._extraction_failed(run_id, deal, outcome.error)
            else:
                await self._settle(run_id, deal, notes, outcome.extraction)

        await self._each(settle, one)
        await self.store.close_batch(batch_id, closing, note)

    async def _keep_lock(self) -> None:
        if self._lock_holder is not None:
            await self.store.extend_lock(self._lock_holder)

    async def _act(
        self, run_id: int, deal: Deal, finding: Finding, superseded: list[Finding], applied: AppliedWrites
    ) -> list[ActionRow]:
        fields = self.field_map.concepts[finding.concept]
        base = dict(concept=finding.concept.value, field=fields.scout.name, note_id=finding.note_id,
                    excerpt=finding.excerpt)
        rows = [
            self._row(run_id, deal, action=ActionKind.SKIPPED, concept=f.concept.value, field=fields.scout.name,
                      new=f.value, note_id=f.note_id, excerpt=f.excerpt,
                      reason=f"superseded by newer note {finding.note_id}")
            for f in superseded
        ]
        try:
            new = coerce(fields.scout, finding.value)
        except CoercionError as exc:
            return rows + [self._row(run_id, deal, action=ActionKind.DROPPED, new=finding.value,
                                     reason=f"value does not fit {fields.scout.name}: {exc}", **base)]
        decision = decide(fields, deal, finding, new, applied.has(fields.scout.name, finding.note_id, new))
        if not decision.writes:
            reason = _SKIP_REASONS[decision.verdict].format(rep=fields.rep.name, scout=fields.scout.name)
            return rows + [self._row(run_id, deal, action=ActionKind.SKIPPED, reason=reason,
                                     previous=decision.previous, new=new, rep_value=decision.rep_value, **base)]
        reason = "new suggestion" if decision.verdict is Verdict.WRITE else "newer suggestion replaces older"
        if self.writer is None:
            return rows + [self._row(run_id, deal, action=ActionKind.WOULD_WRITE, reason=reason,
                                     previous=decision.previous, new=new, **base)]
        # Live: the intent is durable before the CRM is touched, so a crash in between is found next start.
        await self._log_rows(rows)
        intent = await self.store.log(self._row(run_id, deal, action=ActionKind.WRITTEN, reason=reason,
                                                previous=decision.previous, new=new, status="pending", **base))
        try:
            await self.writer.set_field(deal.id, fields.scout.name, new)
        except CRMError as exc:
            self.errors.append(f"{deal.name} {fields.scout.name}: {exc}")
            await self.store.set_outcome(intent, "failed", str(exc), action=ActionKind.FAILED)
            self.counts[ActionKind.FAILED] += 1
            return []
        await self.store.set_outcome(intent, "applied")
        applied.add(fields.scout.name, finding.note_id, new)
        self.counts[ActionKind.WRITTEN] += 1
        return []

    async def _log_rows(self, rows: list[ActionRow]) -> None:
        if not rows:
            return
        for row in rows:
            self.counts[row.action] += 1
        await self.store.log_many(rows)


async def run_pass(
    *, crm: CRMReader, writer: CRMWriter | None, store: ProvenanceStore, extractor: Extractor,
    field_map: FieldMap, gate: Gate, cap: int, concurrency: int,
    cost: Callable[[str, Usage], float] | None = None, batch: BatchOptions | None = None,
) -> RunSummary:
    """Run one pass under the database lock so two passes never overlap. `batch`: extract as a Message Batch."""
    holder = await store.acquire_lock()
    try:
        runner = PassRunner(crm=crm, writer=writer, store=store, extractor=extractor, field_map=field_map,
                            gate=gate, concurrency=concurrency, cost=cost, batch=batch, lock_holder=holder)
        return await runner.run(cap)
    finally:
        await store.release_lock(holder)

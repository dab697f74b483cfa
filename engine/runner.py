"""The pass: select deals fairly, extract, verify, decide, gate, log, summarise."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from datetime import datetime, timezone
from typing import Any, Callable

from engine.crm.base import CRMError, CRMReader, CRMWriter, DealNotFound
from engine.decide import decide
from engine.extract.base import ExtractionError, Extractor
from engine.extract.cache import cached_extract
from engine.extract.citations import verify_citations
from engine.fieldtypes import CoercionError, coerce
from engine.gate import Gate
from engine.medic import FieldMap
from engine.models import ActionKind, Deal, DealRef, Finding, Note, RunSummary, Usage, Verdict
from engine.provenance import ActionRow, ProvenanceStore
from engine.reconcile import reconcile_pending
from engine.summary import format_summary

log = logging.getLogger("scout.pass")

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
    """One pass. `writer` is None for a dry run: the rehearsal path holds no object that can write."""

    def __init__(
        self, *, crm: CRMReader, writer: CRMWriter | None, store: ProvenanceStore, extractor: Extractor,
        field_map: FieldMap, gate: Gate, concurrency: int, cost: Callable[[str, Usage], float] | None = None,
    ):
        if gate.live != (writer is not None):
            raise ValueError("a live gate needs a writer and a dry run must not have one")
        self.crm, self.writer, self.store, self.extractor = crm, writer, store, extractor
        self.field_map, self.gate, self.concurrency = field_map, gate, concurrency
        self._cost = cost
        self.counts: Counter[str] = Counter()
        self.usage = Usage()
        self.errors: list[str] = []

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
        total = scanned = 0
        try:
            ordered = await order_deals(self.crm, self.store)
            total = len(ordered)
            selected = ordered[:cap]
            queue: asyncio.Queue[DealRef] = asyncio.Queue()
            for ref in selected:
                queue.put_nowait(ref)

            async def worker() -> None:
                nonlocal scanned
                while not queue.empty():
                    ref = queue.get_nowait()
                    if await self._process(run_id, ref):
                        scanned += 1

            await asyncio.gather(*(worker() for _ in range(min(self.concurrency, max(1, len(selected))))))
        except CRMError as exc:
            # The pipeline could not be listed at all: record it, say it loudly, lose nothing.
            status = "failed"
            self.errors.append(str(exc))
            await self.store.log(ActionRow(run_id=run_id, action=ActionKind.FAILED, reason="listing deals failed",
                                           error=str(exc), dry_run=not self.gate.live))
            self.counts[ActionKind.FAILED] += 1
        summary = RunSummary(
            run_id=run_id, mode=self.gate.mode, dry_run_reason=self.gate.reason,
            written=self.counts[ActionKind.WRITTEN], would_write=self.counts[ActionKind.WOULD_WRITE],
            skipped=self.counts[ActionKind.SKIPPED], dropped=self.counts[ActionKind.DROPPED],
            failed=self.counts[ActionKind.FAILED], scanned=scanned, total=total, cap=cap,
            not_reached=max(0, total - min(total, cap)), model=self.extractor.model, usage=self.usage,
            cost_usd=self._cost(self.extractor.model, self.usage) if self._cost else 0.0,
            reconciled=reconciled, errors=self.errors[:20],
        )
        await self.store.finish_run(summary, format_summary(summary), status=status)
        return summary

    async def _process(self, run_id: int, ref: DealRef) -> bool:
        """Extract, decide and act on one deal. True when the deal was scanned."""
        rows: list[ActionRow] = []
        try:
            deal = await self.crm.get_deal(ref.id)
            notes = await self.crm.list_notes(ref.id)
        except DealNotFound as exc:
            await self._log_rows([self._row(run_id, ref, action=ActionKind.SKIPPED,
                                            reason=f"deal not found (deleted or merged mid-run): {exc}")])
            return False
        except CRMError as exc:
            self.errors.append(f"{ref.name}: {exc}")
            await self._log_rows([self._row(run_id, ref, action=ActionKind.FAILED, reason="reading deal failed",
                                            error=str(exc))])
            return False

        if notes:
            try:
                extraction, _hit = await cached_extract(self.store, self.extractor, deal, notes, self.field_map)
            except ExtractionError as exc:
                self.errors.append(f"{deal.name}: {exc}")
                await self._log_rows([self._row(run_id, deal, action=ActionKind.FAILED, reason="extraction failed",
                                                error=str(exc))])
                await self.store.mark_scanned(deal.id, run_id)
                return True
            self.usage = self.usage + extraction.usage
            kept, unverified = verify_citations(extraction.findings, notes)
            for d in [*extraction.dropped, *unverified]:
                fields = self.field_map.concepts.get(d.concept) if d.concept != "*" else None
                rows.append(self._row(
                    run_id, deal, action=ActionKind.DROPPED, concept=d.concept, reason=d.reason,
                    field=fields.scout.name if fields else None,
                    new=d.value if isinstance(d.value, (str, list, int, float, type(None))) else str(d.value),
                    note_id=d.note_id, excerpt=d.excerpt,
                ))
            for concept, (finding, superseded) in pick_newest(kept, notes).items():
                rows.extend(await self._act(run_id, deal, finding, superseded))
        await self._log_rows(rows)
        await self.store.mark_scanned(deal.id, run_id)
        return True

    async def _act(self, run_id: int, deal: Deal, finding: Finding, superseded: list[Finding]) -> list[ActionRow]:
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
        applied = await self.store.applied_before(deal.id, fields.scout.name, finding.note_id, new)
        decision = decide(fields, deal, finding, new, applied)
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
    cost: Callable[[str, Usage], float] | None = None,
) -> RunSummary:
    """Run one pass under the database lock so two passes never overlap."""
    holder = await store.acquire_lock()
    try:
        runner = PassRunner(crm=crm, writer=writer, store=store, extractor=extractor, field_map=field_map,
                            gate=gate, concurrency=concurrency, cost=cost)
        return await runner.run(cap)
    finally:
        await store.release_lock(holder)

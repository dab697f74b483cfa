"""The read-only deal summary behind `scout deal NAME` and Slack's `/scout NAME`.

It is built from a CRM reader and a read-only log, and extracts fresh without the cache (a cache write
would be a write): no code path here can change the CRM or the log.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from engine.crm.base import CRMError, CRMReader, DealNotFound
from engine.crm.matching import normalise_name
from engine.extract.base import ExtractionError, Extractor
from engine.extract.citations import verify_citations
from engine.fieldtypes import display
from engine.medic import FieldMap
from engine.models import ActionKind, Deal
from engine.store import LogReader
from engine.runner import choose


class ConceptView(BaseModel):
    concept: str
    label: str = ""  # the method's or field map's label, as people read it
    rep_field: str
    rep_value: str
    scout_field: str
    scout_value: str
    suggestion_excerpt: str | None = None
    suggestion_note_date: str | None = None
    suggestion_run: int | None = None
    fresh_value: str | None = None
    fresh_excerpt: str | None = None
    fresh_note_id: str | None = None


class DealView(BaseModel):
    deal_id: str
    name: str
    stage: str | None
    url: str | None
    last_scanned: str | None
    concepts: list[ConceptView]
    fresh_error: str | None = None
    fresh_dropped: int = 0


SHOWN = 5  # candidates listed for an ambiguous name
COUNTED = 100  # matches ranked, so "and N more" is a true count up to here


class Candidate(BaseModel):
    deal_id: str
    name: str


class Lookup(BaseModel):
    """Exactly one of: a view, candidates to choose from (the best SHOWN of `total`), or nothing found."""

    query: str
    view: DealView | None = None
    candidates: list[Candidate] = Field(default_factory=list)
    total: int = 0

    @property
    def more(self) -> int:
        return self.total - len(self.candidates)


def _pick(query: str, deals: list[Deal]) -> Deal | None:
    """The one deal meant: the only one whose name is the query (ignoring case, spacing and dash style), or
    the only match at all."""
    wanted = normalise_name(query)
    exact = [d for d in deals if normalise_name(d.name) == wanted]
    if len(exact) == 1:
        return exact[0]
    return deals[0] if len(deals) == 1 else None


async def _by_id(query: str, crm: CRMReader) -> Deal | None:
    """The deal whose id was typed (`d0001`, a HubSpot number, an Attio uuid), if the text can be an id."""
    text = query.strip()
    if not text or any(c.isspace() for c in text):
        return None
    try:
        return await crm.get_deal(text)
    except DealNotFound:
        return None
    except CRMError:
        # A vendor may refuse text that is not shaped like its ids (a 400); the name search that follows
        # reports a real outage itself.
        return None


async def build_view(
    deal: Deal, crm: CRMReader, log: LogReader | None, extractor: Extractor | None, field_map: FieldMap
) -> DealView:
    notes = await crm.list_notes(deal.id)
    note_dates = {n.id: n.created_at.date().isoformat() for n in notes}
    fresh = {}
    fresh_error, fresh_dropped = None, 0
    if extractor is not None and notes:
        try:
            extraction = await extractor.extract(deal, notes, field_map)
            kept, dropped = verify_citations(extraction.findings, notes, field_map)
            fresh = choose(kept, notes, field_map)[0]
            fresh_dropped = len(dropped) + len(extraction.dropped)
        except ExtractionError as exc:
            fresh_error = str(exc)
    last_scanned = None
    if log is not None:
        last_scanned = (await log.last_scanned()).get(deal.id)
    concepts = []
    for concept, fields in field_map.concepts.items():
        suggestion = None
        if log is not None:
            suggestion = await log.latest_for_field(
                deal.id, fields.scout.name, (ActionKind.WRITTEN, ActionKind.WOULD_WRITE, ActionKind.SKIPPED)
            )
            if suggestion is not None and suggestion.excerpt is None:
                suggestion = None
        f = fresh.get(str(concept))
        concepts.append(ConceptView(
            concept=str(concept), label=fields.label, rep_field=fields.rep.name,
            rep_value=display(deal.values.get(fields.rep.name)),
            scout_field=fields.scout.name, scout_value=display(deal.values.get(fields.scout.name)),
            suggestion_excerpt=suggestion.excerpt if suggestion else None,
            suggestion_note_date=note_dates.get(suggestion.note_id or "") if suggestion else None,
            suggestion_run=suggestion.run_id if suggestion else None,
            fresh_value=display(f.value) if f else None, fresh_excerpt=f.finding.excerpt if f else None,
            fresh_note_id=f.finding.note_id if f else None,
        ))
    return DealView(deal_id=deal.id, name=deal.name, stage=deal.stage, url=deal.url, last_scanned=last_scanned,
                    concepts=concepts, fresh_error=fresh_error, fresh_dropped=fresh_dropped)


async def lookup(
    query: str, crm: CRMReader, log: LogReader | None, extractor: Extractor | None, field_map: FieldMap
) -> Lookup:
    deal = await _by_id(query, crm)
    if deal is None:
        deals = await crm.find_deals(query, limit=COUNTED)
        deal = _pick(query, deals)
        if deal is None:
            return Lookup(query=query, candidates=[Candidate(deal_id=d.id, name=d.name) for d in deals[:SHOWN]],
                          total=len(deals))
    return Lookup(query=query, view=await build_view(deal, crm, log, extractor, field_map))


def format_candidates(result: Lookup, pick: str) -> str:
    """An ambiguous name for a terminal: the best matches with their ids, how many more, and how to pick one
    (`pick` is the command that takes an id, e.g. `scout deal`)."""
    lines = [f"'{result.query}' matches {result.total} deals:"]
    width = max(len(c.deal_id) for c in result.candidates)
    lines += [f"  {c.deal_id:<{width}}  {c.name}" for c in result.candidates]
    if result.more:
        lines.append(f"  and {result.more} more")
    lines.append(f"Pick one by its id, e.g. `{pick} {result.candidates[0].deal_id}`, or give more of the name.")
    return "\n".join(lines)


def format_view(view: DealView) -> str:
    lines = [f"{view.name} ({view.deal_id})" + (f" · {view.stage}" if view.stage else ""),
             f"last scanned: {view.last_scanned or 'never'}"]
    for c in view.concepts:
        lines.append(f"\n{c.label or c.concept}")
        lines.append(f"  rep   {c.rep_field}: {c.rep_value or '(empty)'}")
        lines.append(f"  scout {c.scout_field}: {c.scout_value or '(empty)'}")
        if c.suggestion_excerpt:
            lines.append(f"        \"{c.suggestion_excerpt}\" (note of {c.suggestion_note_date}, run {c.suggestion_run})")
        if c.fresh_value:
            lines.append(f"  now   {c.fresh_value} \"{c.fresh_excerpt}\"")
    if view.fresh_error:
        lines.append(f"\nfresh extraction failed: {view.fresh_error}")
    return "\n".join(lines)

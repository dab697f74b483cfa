"""Extraction cache: unchanged notes under the same model and prompt cost no tokens on the next pass.

Only extraction is cached; decisions are always recomputed against the CRM's current values.
"""

from __future__ import annotations

import hashlib
import json

from engine.extract.base import Extractor
from engine.medic import FieldMap
from engine.models import Deal, Extraction, Note, Usage
from engine.store import ExtractionCache


def cache_key(deal: Deal, notes: list[Note], extractor: Extractor, field_map: FieldMap) -> str:
    """Everything the prompt carries: the deal's name, each note's id, date, author, title and text, the field
    map, the model and the prompt version. Renaming a deal or retitling a note is a new question."""
    digest = hashlib.sha256()
    digest.update(json.dumps(["deal", deal.name]).encode())
    for note in notes:
        digest.update(json.dumps([note.id, note.created_at.isoformat(), note.author, note.title, note.text]).encode())
    # A label is what people read, never the model: relabelling a concept is not a new question.
    digest.update(field_map.model_dump_json(exclude={"concepts": {"__all__": {"label"}}}).encode())
    return "|".join([deal.id, digest.hexdigest(), extractor.model, extractor.prompt_version])


def worth_caching(extraction: Extraction) -> bool:
    """An extraction with a whole-reply drop (concept "*", e.g. an item that is not even an object) is not an
    answer worth keeping: the deal is extracted again next pass. A reply Claude cut short never gets here: it
    is a failed extraction (engine/extract/claude.py)."""
    return not any(d.concept == "*" for d in extraction.dropped)


async def cached_extract(
    store: ExtractionCache, extractor: Extractor, deal: Deal, notes: list[Note], field_map: FieldMap
) -> tuple[Extraction, bool]:
    """(extraction, hit). A hit reports zero usage: nothing was spent this time."""
    key = cache_key(deal, notes, extractor, field_map)
    payload = await store.cache_get(key)
    if payload is not None:
        extraction = Extraction.model_validate_json(payload)
        return extraction.model_copy(update={"usage": Usage()}), True
    extraction = await extractor.extract(deal, notes, field_map)
    if worth_caching(extraction):
        # Committed with the deal's log rows right after (one commit per deal); a crash in between only means
        # this deal is extracted again next pass.
        await store.cache_put(key, extraction.model_dump_json(), commit=False)
    return extraction, False

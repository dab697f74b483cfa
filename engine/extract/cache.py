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


class CacheKeys:
    """The cache keys of one pass: the model, prompt version and field map are the same for every deal, so
    they are serialised once, not once per deal."""

    def __init__(self, extractor: Extractor, field_map: FieldMap):
        # A label is what people read, never the model: relabelling a concept is not a new question.
        self._map = field_map.model_dump_json(exclude={"concepts": {"__all__": {"label"}}}).encode()
        self._tail = [extractor.model, extractor.prompt_version]

    def key(self, deal: Deal, notes: list[Note]) -> str:
        """Everything the prompt carries: the deal's name, each note's id, date, author, title and text, the
        field map, the model and the prompt version. Renaming a deal or retitling a note is a new question."""
        digest = hashlib.sha256()
        digest.update(json.dumps(["deal", deal.name]).encode())
        for note in notes:
            digest.update(json.dumps([note.id, note.created_at.isoformat(), note.author, note.title,
                                      note.text]).encode())
        digest.update(self._map)
        return "|".join([deal.id, digest.hexdigest(), *self._tail])


def worth_caching(extraction: Extraction) -> bool:
    """An extraction with a whole-reply drop (concept "*", e.g. an item that is not even an object) is not an
    answer worth keeping: the deal is extracted again next pass. A reply Claude cut short never gets here: it
    is a failed extraction (engine/extract/claude.py)."""
    return not any(d.concept == "*" for d in extraction.dropped)


def from_cache(payload: str) -> Extraction:
    """A cached answer; it reports zero usage, as nothing was spent this time."""
    return Extraction.model_validate_json(payload).model_copy(update={"usage": Usage()})


async def extract_and_keep(store: ExtractionCache, extractor: Extractor, deal: Deal, notes: list[Note],
                           field_map: FieldMap, key: str) -> Extraction:
    """A cache miss: ask the extractor, and keep the answer if it is worth keeping."""
    extraction = await extractor.extract(deal, notes, field_map)
    if worth_caching(extraction):
        # Committed with the deal's log rows right after (one commit per page); a crash in between only means
        # this deal is extracted again next pass.
        await store.cache_put(key, extraction.model_dump_json(), commit=False)
    return extraction

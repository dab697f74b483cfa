"""The extractor contract. Extractors only propose (concept, value, note, excerpt); code does the rest."""

from __future__ import annotations

from typing import Protocol

from engine.errors import ExtractionError  # noqa: F401 (re-exported)
from engine.medic import FieldMap
from engine.models import Deal, Extraction, Note, Usage


class Extractor(Protocol):
    @property
    def model(self) -> str:
        """Recorded on every log row (e.g. 'offline-rules-1' or a pinned Claude model id)."""
        ...

    @property
    def prompt_version(self) -> str:
        """Part of the extraction cache key: bump it when the prompt or rules change."""
        ...

    async def extract(self, deal: Deal, notes: list[Note], field_map: FieldMap) -> Extraction:
        """Findings for one deal. Never raises on bad model output: such output becomes `dropped` entries.

        May raise `ExtractionError` when the service itself cannot be reached after retries.
        """
        ...
"""A stand-in extractor with a fixed latency, so the bench measures the engine and not a model.

It waits `latency` seconds (asyncio.sleep, as a network call would) and proposes one finding per
`Label: value.` line of the bench notes, quoting the line word for word, so citation checks, decisions and
log rows all run for real. Every tenth deal also gets one invented quote, which the citation check drops.
"""

from __future__ import annotations

import asyncio

from engine.medic import FieldMap
from engine.models import Concept, Deal, Extraction, Finding, Note, Usage

_CONCEPTS = {
    "Metrics": Concept.METRICS, "Pain": Concept.IDENTIFIED_PAIN, "Buyer": Concept.ECONOMIC_BUYER,
    "Champion": Concept.CHAMPION, "Criteria": Concept.DECISION_CRITERIA, "Paper": Concept.PAPER_PROCESS,
    "Competition": Concept.COMPETITION,
}


class FixedLatencyExtractor:
    """Implements engine.extract.base.Extractor."""

    def __init__(self, latency: float = 0.0):
        self.latency = latency
        self.calls = 0

    @property
    def model(self) -> str:
        return "bench-fixed-latency"

    @property
    def prompt_version(self) -> str:
        return "bench-1"

    async def extract(self, deal: Deal, notes: list[Note], field_map: FieldMap) -> Extraction:
        self.calls += 1
        if self.latency > 0:
            await asyncio.sleep(self.latency)
        findings: list[Finding] = []
        for note in notes:
            for line in note.text.splitlines():
                label, sep, rest = line.partition(": ")
                concept = _CONCEPTS.get(label) if sep else None
                if concept is None:
                    continue
                raw = rest.rstrip(".")
                value: str | list[str] = raw.split(", ") if concept is Concept.DECISION_CRITERIA else raw
                findings.append(Finding(concept=concept, value=value, note_id=note.id, excerpt=line))
        if notes and deal.id.endswith("0"):
            findings.append(Finding(concept=Concept.COMPETITION, value="Imaginary Corp", note_id=notes[0].id,
                                    excerpt="We are also evaluating Imaginary Corp."))
        return Extraction(findings=findings, model=self.model, usage=Usage(input_tokens=1000, output_tokens=100))

"""Invariant 3: a finding survives only if its excerpt occurs word for word in the note it cites, and
that excerpt states the value.

The one check every extractor, `scout eval` and promotion go through, in this order: the excerpt is the
note's own text (normalisation forgives what copying text legitimately changes and nothing else; whole
words only, so "over $5" is not in "over $50k"; and some words at all, so "--------" proves nothing); neither
excerpt nor value reads as an instruction to a machine (engine/extract/injection.py); the value's shape is
clean (engine/extract/hygiene.py); and the excerpt says the value (engine/extract/grounding.py).
Each note is normalised once per call, so checking a deal is linear in its notes' length.
"""

from __future__ import annotations

import re

from engine.extract.grounding import fold, ground
from engine.extract.hygiene import clean_value, excerpt_problem, visible
from engine.extract.injection import reads_as_instruction
from engine.extract.normalise import normalise
from engine.medic import FieldMap
from engine.models import DroppedFinding, Finding, Note

__all__ = ["citation_problem", "normalise", "EXCERPT_NOT_FOUND", "verify_citations", "MAX_EXCERPT_CHARS",
           "MIN_EXCERPT_CHARS"]

EXCERPT_NOT_FOUND = "excerpt not found word for word in the cited note"
MIN_EXCERPT_CHARS = 8
MAX_EXCERPT_CHARS = 600
# An excerpt must say something: "--------" or a lone token is no evidence of anything.
MIN_EXCERPT_WORDS = 2
MIN_EXCERPT_ALNUM = 5

_WORD = re.compile(r"[^\W_]+")  # a run of letters or digits (any script)


def citation_problem(
    finding: Finding, notes_by_id: dict[str, Note], normalised: dict[str, str] | None = None
) -> str | None:
    """None when the excerpt is word for word in its note, else the reason it is not.

    `normalised` caches each note's normalised text across the findings of one deal.
    """
    note = notes_by_id.get(finding.note_id)
    if note is None:
        return "cited note is not one of this deal's notes"
    excerpt = normalise(finding.excerpt)
    if len(excerpt) < MIN_EXCERPT_CHARS:
        return f"excerpt shorter than {MIN_EXCERPT_CHARS} characters"
    if len(excerpt) > MAX_EXCERPT_CHARS:
        return f"excerpt longer than {MAX_EXCERPT_CHARS} characters"
    words = _WORD.findall(excerpt)
    if len(words) < MIN_EXCERPT_WORDS or sum(map(len, words)) < MIN_EXCERPT_ALNUM:
        return (f"excerpt too thin to be evidence: needs at least {MIN_EXCERPT_WORDS} words and "
                f"{MIN_EXCERPT_ALNUM} letters or digits")
    if normalised is None:
        normalised = {}
    if note.id not in normalised:
        normalised[note.id] = normalise(note.text)
    text = normalised[note.id]
    if excerpt not in text:
        return EXCERPT_NOT_FOUND
    if not any(_whole_words(text, start, len(excerpt)) for start in _occurrences(text, excerpt)):
        return "excerpt occurs in the cited note only as part of longer words"
    return None


def _occurrences(text: str, part: str) -> list[int]:
    starts, at = [], text.find(part)
    while at != -1:
        starts.append(at)
        at = text.find(part, at + 1)
    return starts


def _whole_words(text: str, start: int, length: int) -> bool:
    """The match is not cut out of a longer word: "over $5" must not verify against "over $50k"."""
    end = start + length
    return not (start > 0 and text[start - 1].isalnum()) and not (end < len(text) and text[end].isalnum())


def verify_citations(findings: list[Finding], notes: list[Note], field_map: FieldMap
                     ) -> tuple[list[Finding], list[DroppedFinding]]:
    """The findings whose excerpt is in their note and states their value (a multi-select keeps the options
    its excerpt states), and a drop with its reason for everything else."""
    notes_by_id = {n.id: n for n in notes}
    normalised: dict[str, str] = {}
    kept: list[Finding] = []
    dropped: list[DroppedFinding] = []

    def drop(finding: Finding, reason: str, value: object = None) -> None:
        dropped.append(DroppedFinding(concept=finding.concept.value, note_id=finding.note_id,
                                      value=finding.value if value is None else value,
                                      excerpt=visible(finding.excerpt), reason=reason))

    for finding in findings:
        reason = citation_problem(finding, notes_by_id, normalised)
        if reason is not None:
            drop(finding, reason)
            continue
        fields = field_map.concepts.get(finding.concept)
        if fields is None:
            drop(finding, "concept is not in the field map")
            continue
        problem = excerpt_problem(finding.excerpt)
        if problem:
            drop(finding, problem, visible(finding.value))
            continue
        if reads_as_instruction(normalise(finding.excerpt)):
            drop(finding, "excerpt reads as an instruction to a machine, not a note of the call")
            continue
        value, reason = clean_value(finding.value, fields.scout)
        if reason is not None or value is None:
            drop(finding, reason or "empty value", visible(finding.value))
            continue
        # A value in the excerpt's own words was judged with the excerpt, in context ("Metrics: save each rep
        # 5 hours on CRM updates" is a note; "save ... CRM" alone would read as an order).
        quoted = fold(finding.excerpt)
        if any(fold(v) not in quoted and reads_as_instruction(v)
               for v in (value if isinstance(value, list) else [value])):
            drop(finding, "value reads as an instruction to a machine")
            continue
        stated, unstated = ground(value, finding.excerpt, fields)
        for part, why in unstated:
            drop(finding, why, part)
        if stated is not None:
            kept.append(finding if stated == finding.value else finding.model_copy(update={"value": stated}))
    return kept, dropped

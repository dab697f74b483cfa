"""Invariant 3: a finding survives only if its excerpt occurs word for word in the note it cites.

Shared by every extractor. Normalisation forgives what copying text legitimately changes (whitespace,
curly vs straight quotes, dash styles, Unicode compatibility forms) and nothing else.
"""

from __future__ import annotations

import re
import unicodedata

from engine.models import DroppedFinding, Finding, Note

MIN_EXCERPT_CHARS = 8
MAX_EXCERPT_CHARS = 600

_TRANSLATE = str.maketrans(
    {
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "`": "'",
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"', "\u00ab": '"', "\u00bb": '"',
        "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2212": "-",
        "\u00a0": " ", "\u2026": "...",
    }
)
_WS = re.compile(r"\s+")


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).translate(_TRANSLATE)
    return _WS.sub(" ", text).strip()


def check(finding: Finding, notes_by_id: dict[str, Note]) -> str | None:
    """None when the citation verifies, else the reason it does not."""
    note = notes_by_id.get(finding.note_id)
    if note is None:
        return "cited note is not one of this deal's notes"
    excerpt = normalise(finding.excerpt)
    if len(excerpt) < MIN_EXCERPT_CHARS:
        return f"excerpt shorter than {MIN_EXCERPT_CHARS} characters"
    if len(excerpt) > MAX_EXCERPT_CHARS:
        return f"excerpt longer than {MAX_EXCERPT_CHARS} characters"
    if excerpt not in normalise(note.text):
        return "excerpt not found word for word in the cited note"
    return None


def verify_citations(findings: list[Finding], notes: list[Note]) -> tuple[list[Finding], list[DroppedFinding]]:
    notes_by_id = {n.id: n for n in notes}
    kept: list[Finding] = []
    dropped: list[DroppedFinding] = []
    for finding in findings:
        reason = check(finding, notes_by_id)
        if reason is None:
            kept.append(finding)
        else:
            dropped.append(
                DroppedFinding(
                    concept=finding.concept.value,
                    value=finding.value,
                    note_id=finding.note_id,
                    excerpt=finding.excerpt,
                    reason=reason,
                )
            )
    return kept, dropped

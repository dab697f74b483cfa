"""Invariant 3: a finding survives only if its excerpt occurs word for word in the note it cites.

Shared by every extractor. Normalisation forgives what copying text legitimately changes (whitespace,
curly vs straight quotes, dash styles, Unicode compatibility forms) and nothing else. The excerpt must
match whole words ("over $5" is not in "over $50k") and carry some words at all ("--------" proves nothing).
"""

from __future__ import annotations

import re
import unicodedata

from engine.models import DroppedFinding, Finding, Note

MIN_EXCERPT_CHARS = 8
MAX_EXCERPT_CHARS = 600
# An excerpt must say something: "--------" or a lone token is no evidence of anything.
MIN_EXCERPT_WORDS = 2
MIN_EXCERPT_ALNUM = 5

_TRANSLATE = str.maketrans(
    {
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "`": "'",
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"', "\u00ab": '"', "\u00bb": '"',
        "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2212": "-",
        "\u00a0": " ", "\u2026": "...",
    }
)
_WS = re.compile(r"\s+")
_WORD = re.compile(r"[^\W_]+")  # a run of letters or digits (any script)


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
    words = _WORD.findall(excerpt)
    if len(words) < MIN_EXCERPT_WORDS or sum(map(len, words)) < MIN_EXCERPT_ALNUM:
        return (f"excerpt too thin to be evidence: needs at least {MIN_EXCERPT_WORDS} words and "
                f"{MIN_EXCERPT_ALNUM} letters or digits")
    text = normalise(note.text)
    if excerpt not in text:
        return "excerpt not found word for word in the cited note"
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

"""Long notes: split a note into overlapping pieces that fit one request, and pack pieces into requests.

A piece keeps its note (and so the note's id): a finding cites the note, and its excerpt is verified
against the whole note, never against the piece. Consecutive pieces of a note overlap by at least
`overlap` characters, so any quote no longer than the overlap lies wholly inside some piece (a signal that
straddles a cut is still seen whole by one request).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from engine.models import Note

# Where a piece may end or begin, strongest first: a paragraph break, a line break, a sentence end, a space.
_BOUNDARIES = (
    re.compile(r"\n[ \t]*\n\s*"),
    re.compile(r"\n\s*"),
    re.compile(r"(?<=[.!?])[\"'\u201d\u2019)\]]*\s+|(?<=[\u3002\uff01\uff1f])"),
    re.compile(r"\s+"),
)


@dataclass(frozen=True)
class NotePiece:
    """note.text[start:end]; part is 1-based, parts is how many pieces the note was cut into."""

    note: Note
    start: int
    end: int
    part: int
    parts: int

    @property
    def text(self) -> str:
        return self.note.text[self.start : self.end]

    @property
    def split(self) -> bool:
        return self.parts > 1


def _last_boundary(text: str, lo: int, hi: int) -> int | None:
    """The latest position in [lo, hi] where a new unit starts, preferring paragraphs over lines, etc."""
    for pattern in _BOUNDARIES:
        best = None
        for match in pattern.finditer(text, lo, hi):
            if lo < match.end() <= hi:
                best = match.end()
        if best is not None:
            return best
    return None


def split_spans(text: str, size: int, overlap: int) -> list[tuple[int, int]]:
    """(start, end) spans of at most `size` characters covering `text`, each overlapping the next.

    A span ends at the strongest boundary in its second half; the next starts at a boundary between
    `overlap` and `2 * overlap` characters before that end, so the overlap is at least `overlap`.
    """
    if size < 4:
        raise ValueError("piece size must be at least 4 characters")
    overlap = max(0, min(overlap, size // 4))  # keeps every step forward by at least size / 4
    spans: list[tuple[int, int]] = []
    start = 0
    while start + size < len(text):
        limit = start + size
        end = _last_boundary(text, start + size // 2, limit) or limit
        spans.append((start, end))
        if overlap == 0:
            start = end
            continue
        lo, hi = max(start + 1, end - 2 * overlap), end - overlap
        start = _last_boundary(text, lo - 1, hi) or hi
    spans.append((start, len(text)))
    return spans


def note_pieces(notes: list[Note], size: int, overlap: int) -> list[NotePiece]:
    """Every note as pieces of at most `size` characters, oldest note first."""
    pieces: list[NotePiece] = []
    for note in sorted(notes, key=lambda n: n.created_at):
        spans = split_spans(note.text, size, overlap)
        for part, (start, end) in enumerate(spans, start=1):
            pieces.append(NotePiece(note=note, start=start, end=end, part=part, parts=len(spans)))
    return pieces


def pack(pieces: list[NotePiece], budget: int) -> list[list[NotePiece]]:
    """Pieces in order, grouped into requests of at most `budget` characters of note text each."""
    groups: list[list[NotePiece]] = []
    used = 0
    for piece in pieces:
        size = piece.end - piece.start
        if not groups or used + size > budget:
            groups.append([])
            used = 0
        groups[-1].append(piece)
        used += size
    return groups

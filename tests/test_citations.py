from datetime import datetime, timezone

from engine.extract.citations import verify_citations
from engine.models import Concept, Finding, Note

NOTE = Note(id="n1", deal_id="d1", created_at=datetime(2026, 5, 1, tzinfo=timezone.utc),
            text="Call recap.\nDana Ruiz (CFO) said \u201cwe\u2019ll sign\u00a0off   by Q3\u201d \u2014 budget is approved.")


def f(excerpt: str, note_id: str = "n1") -> Finding:
    return Finding(concept=Concept.ECONOMIC_BUYER, value="Dana Ruiz", note_id=note_id, excerpt=excerpt)


def test_excerpt_must_occur_word_for_word_modulo_quotes_and_whitespace():
    kept, dropped = verify_citations(
        [f('Dana Ruiz (CFO) said "we\'ll sign off by Q3" - budget'), f("Dana Ruiz (CFO) said\n\u201cwe\u2019ll")],
        [NOTE],
    )
    assert len(kept) == 2 and dropped == []


def test_paraphrase_wrong_note_short_and_unknown_note_are_dropped_with_reasons():
    kept, dropped = verify_citations(
        [f("Dana Ruiz, the CFO, will sign"), f("Dana Ruiz (CFO)", note_id="n9"), f("Dana"),
         f("dana ruiz (cfo) said")],
        [NOTE],
    )
    assert kept == []
    assert [d.reason for d in dropped] == [
        "excerpt not found word for word in the cited note",
        "cited note is not one of this deal's notes",
        "excerpt shorter than 8 characters",
        "excerpt not found word for word in the cited note",
    ]

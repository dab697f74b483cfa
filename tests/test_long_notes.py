"""Long notes: split with overlap so no signal is lost past the per-request budget; findings merged per deal.

Through the real anthropic client and a stand-in model that only "sees" what a request carries and refuses a
request longer than its context (tests/standins/model_server.py ReadingServer).
"""

from __future__ import annotations

import random
import re
from datetime import timedelta

import pytest

from engine.extract.chunks import note_pieces, pack, split_spans
from engine.extract.claude import ClaudeExtractor
from engine.jobs import run_job
from engine.medic import default_field_map
from engine.models import ActionKind, Deal, Note
from engine.provenance import ProvenanceStore
from tests.standins.model_server import ReadingServer
from tests.pipeline import T0, seed, small_pipeline
from tests.samples import SIGNAL, filler, long_note_with_signal_near_the_end, paragraphs_until

FIRST = "For this rollout the budget holder is Priya Shah, the CFO."
SECOND = "She signs every contract above fifty thousand dollars herself, with no delegate at all."
STRADDLING = f"{FIRST} {SECOND}"


def note_straddling_the_first_cut(size: int = 24_000) -> str:
    """One long paragraph whose only sentence end near `size` is the one inside the signal, so the first
    piece ends between the signal's two sentences."""
    sentences, text = iter(filler(10_000, 5)), ""
    second_at = size - 20
    while len(text) + 100 < second_at - len(FIRST):
        text += next(sentences) + " "
    while len(text) + len(FIRST) + 1 < second_at:
        text += "indeed "  # words, not sentences: no other place to cut near `size`
    text += STRADDLING + " "
    assert text.index(SECOND) < size < text.index(SECOND) + len(SECOND)
    while len(text) < 50_000:
        text += next(sentences) + " "
    return text.strip()


async def actions(settings, run_id):
    store = await ProvenanceStore.open(settings.log_db, readonly=True)
    try:
        return await store.actions_for_run(run_id)
    finally:
        await store.aclose()


async def seed_with(settings, *notes: Note) -> None:
    data = small_pipeline()
    data.notes.extend(notes)
    await seed(settings.workspace, data)


def long_note(text: str, note_id: str = "n6", deal_id: str = "d4", day: int = 4) -> Note:
    return Note(id=note_id, deal_id=deal_id, author="Alex Rep", created_at=T0 + timedelta(days=day),
                title=f"Call {note_id}", text=text)


# ---- splitting -----------------------------------------------------------------------------------------------


def test_pieces_cover_the_text_fit_the_budget_and_overlap_enough_for_any_excerpt() -> None:
    rng = random.Random(11)
    words = ["alpha", "beta.", "gamma,", "delta!", "\n", "\n\n", "zeta", "eta?", "theta", "iota\u3002"]
    for _ in range(60):
        text = " ".join(rng.choice(words) for _ in range(rng.randint(0, 4000)))
        size, overlap = rng.randint(400, 3000), rng.randint(0, 600)
        spans = split_spans(text, size, overlap)
        assert spans[0][0] == 0 and spans[-1][1] == len(text)
        assert all(end - start <= size for start, end in spans)
        for (s1, e1), (s2, _) in zip(spans, spans[1:]):
            assert s1 < s2 <= e1 - min(overlap, size // 4)  # forward, and overlapping by at least the overlap
        # Any quote no longer than the overlap lies wholly inside one piece.
        width = min(overlap, size // 4)
        for a in range(0, max(1, len(text) - width), 97):
            assert any(s <= a and a + width <= e for s, e in spans)


def test_pieces_end_at_paragraphs_before_sentences_before_words() -> None:
    text = paragraphs_until(60_000)
    spans = split_spans(text, 24_000, 1_000)
    assert len(spans) == 3
    for start, end in spans[:-1]:
        assert text[end - 2:end] == "\n\n"  # a piece ends at a paragraph break
        assert text[start - 1] in " \n" if start else True  # and the next starts at a sentence or paragraph
    one_paragraph = " ".join(filler(600))
    for start, end in split_spans(one_paragraph, 24_000, 1_000)[:-1]:
        assert one_paragraph[end - 2:end] == ". "


def test_short_notes_are_packed_together_and_a_long_one_is_split_in_parts() -> None:
    def note(i: int, length: int) -> Note:
        return long_note(("x " * (length // 2)).strip(), note_id=f"n{i}", day=i)

    groups = pack(note_pieces([note(3, 10_000), note(1, 10_000), note(2, 10_000), note(4, 50_000)], 24_000, 1_000),
                  24_000)
    shape = [[(p.note.id, p.part, p.parts) for p in g] for g in groups]
    assert shape[:2] == [[("n1", 1, 1), ("n2", 1, 1)], [("n3", 1, 1)]]  # oldest first, whole when they fit
    assert [part for g in shape[2:] for part in g] == [("n4", 1, 3), ("n4", 2, 3), ("n4", 3, 3)]
    assert all(sum(p.end - p.start for p in g) <= 24_000 for g in groups)


# ---- through the pass --------------------------------------------------------------------------------------


async def test_a_signal_near_the_end_of_a_60k_note_yields_a_verified_suggestion(make_settings) -> None:
    settings = make_settings(ANTHROPIC_API_KEY="sk-ant-test")
    text = long_note_with_signal_near_the_end()
    await seed_with(settings, long_note(text))
    server = ReadingServer({SIGNAL: ("economic_buyer", "Priya Shah, CFO")}, context_chars=30_000)
    extractor = ClaudeExtractor.from_settings(settings, http_client=server.http_client())

    summary, _ = await run_job(settings, apply=False, extractor=extractor)

    rows = await actions(settings, summary.run_id)
    assert [(r.deal_id, r.field, r.new, r.note_id, r.excerpt) for r in rows if r.action is ActionKind.WOULD_WRITE
            and r.deal_id == "d4"] == [("d4", "scout_economic_buyer", "Priya Shah, CFO", "n6", SIGNAL)]
    assert summary.failed == 0  # no request was refused as too long
    sent = [t for t in server.message_texts() if 'id="n6"' in t]
    assert len(sent) == 3
    assert [re.findall(r" part=(\d/\d) delim=", t) for t in sent] == [["1/3"], ["2/3"], ["3/3"]]
    assert [SIGNAL in t for t in sent] == [False, False, True]
    # The citation was checked against the whole note, which the last request alone did not carry.
    assert text[:1000] not in sent[2]
    # Usage is summed over every request sent (the stand-in bills one token per 4 characters).
    assert summary.usage.input_tokens == sum(len(t) // 4 for t in server.message_texts())
    assert summary.usage.output_tokens == 100 * len(server.message_texts())
    assert "tokens: " in (await _summary_text(settings, summary.run_id))


async def _summary_text(settings, run_id: int) -> str:
    store = await ProvenanceStore.open(settings.log_db, readonly=True)
    try:
        return (await store.get_run(run_id)).summary
    finally:
        await store.aclose()


@pytest.mark.parametrize(("overlap", "found"), [("1000", True), ("0", False)])
async def test_a_signal_straddling_a_cut_is_found_thanks_to_the_overlap(make_settings, overlap, found) -> None:
    settings = make_settings(ANTHROPIC_API_KEY="sk-ant-test", SCOUT_NOTE_CHUNK_OVERLAP=overlap)
    await seed_with(settings, long_note(note_straddling_the_first_cut()))
    server = ReadingServer({STRADDLING: ("economic_buyer", "Priya Shah, CFO")}, context_chars=30_000)
    extractor = ClaudeExtractor.from_settings(settings, http_client=server.http_client())

    summary, _ = await run_job(settings, apply=False, extractor=extractor)

    sent = [t for t in server.message_texts() if 'id="n6"' in t]
    # The first request's piece ends between the signal's two sentences: it sees only the first.
    assert FIRST in sent[0] and SECOND not in sent[0]
    assert any(STRADDLING in t for t in sent[1:]) is found
    rows = await actions(settings, summary.run_id)
    suggested = [(r.field, r.excerpt) for r in rows if r.action is ActionKind.WOULD_WRITE and r.deal_id == "d4"]
    assert suggested == ([("scout_economic_buyer", STRADDLING)] if found else [])


async def test_a_deal_whose_notes_exceed_the_budget_is_read_in_several_requests_and_merged(make_settings) -> None:
    settings = make_settings(ANTHROPIC_API_KEY="sk-ant-test")
    pain = "Their month-end close takes twelve days because every invoice is matched by hand."
    rival = "They are also evaluating Blackline for the reconciliation piece."
    notes = [
        long_note(paragraphs_until(10_000, 7) + "\n\n" + pain, note_id="n6", day=4),
        long_note(paragraphs_until(10_000, 8), note_id="n7", day=5),
        long_note(rival + "\n\n" + paragraphs_until(10_000, 9), note_id="n8", day=6),
    ]
    await seed_with(settings, *notes)
    server = ReadingServer({pain: ("identified_pain", "Month-end close takes twelve days"),
                            rival: ("competition", "Blackline")}, context_chars=30_000)
    extractor = ClaudeExtractor.from_settings(settings, http_client=server.http_client())

    summary, _ = await run_job(settings, apply=False, extractor=extractor)

    sent = [t for t in server.message_texts() if 'id="n6"' in t or 'id="n8"' in t]
    assert len(sent) == 2 and "request 1 of 2" in sent[0] and "request 2 of 2" in sent[1]
    assert 'id="n7"' in sent[0] and not re.search(r" part=\d", "".join(sent))  # whole notes, oldest first
    rows = await actions(settings, summary.run_id)
    assert sorted((r.field, r.note_id) for r in rows if r.action is ActionKind.WOULD_WRITE and r.deal_id == "d4") \
        == [("scout_competition", "n8"), ("scout_identified_pain", "n6")]


async def test_a_quote_seen_in_two_overlapping_parts_is_one_finding() -> None:
    text = note_straddling_the_first_cut()
    in_overlap = FIRST  # the end of the first piece, repeated at the start of the second
    server = ReadingServer({in_overlap: ("economic_buyer", "Priya Shah, CFO")}, context_chars=30_000)
    extractor = server.extractor(chunk_chars=24_000, chunk_overlap=1_000)

    result = await extractor.extract(Deal(id="d4", name="Umbrella"), [long_note(text)], default_field_map())

    assert sum(in_overlap in t for t in server.message_texts()) == 2
    assert [(f.concept.value, f.excerpt) for f in result.findings] == [("economic_buyer", in_overlap)]
    assert result.usage.output_tokens == 100 * len(server.message_texts())

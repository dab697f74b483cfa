"""The evaluation set is well formed and honest about its coverage, and the evaluator scores exactly right."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path

import pytest

from engine.evaluate import (
    DEFAULT_DATA_DIR,
    LABELLED_CONCEPTS,
    EvalDeal,
    EvalReport,
    evaluate,
    load_split,
    norm_value,
    text_matches,
)
from engine.commands.evalcmd import format_table
from engine.extract.base import ExtractionError
from engine.extract.citations import normalise
from engine.medic import DECISION_CRITERIA_OPTIONS, PAPER_PROCESS_OPTIONS, FieldMap, method_field_map
from engine.models import Concept, Deal, DroppedFinding, Extraction, Finding, Note, Usage
from tests.standins.scripted_findings import truthful_findings

SPLITS = ("dev", "test")
OPTION_CONCEPTS = {Concept.DECISION_CRITERIA: DECISION_CRITERIA_OPTIONS, Concept.PAPER_PROCESS: PAPER_PROCESS_OPTIONS}


@pytest.fixture(scope="module")
def splits() -> dict[str, list[EvalDeal]]:
    return {s: load_split(s) for s in SPLITS}


def all_notes(splits):
    return [(d, n) for s in SPLITS for d in splits[s] for n in d.notes]


# ---------------------------------------------------------------------------------------------------------
# The data


def test_eval_dir_is_found_next_to_the_package():
    assert DEFAULT_DATA_DIR == Path(__file__).resolve().parent.parent / "eval"
    assert (DEFAULT_DATA_DIR / "dev.jsonl").is_file() and (DEFAULT_DATA_DIR / "test.jsonl").is_file()


def test_every_line_of_both_splits_validates_and_sizes_hold(splits):
    for split in SPLITS:
        raw = [line for line in (DEFAULT_DATA_DIR / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()
               if line.strip()]
        assert len(raw) == len(splits[split])
    deals = [d for s in SPLITS for d in splits[s]]
    notes = [n for d in deals for n in d.notes]
    assert len(deals) >= 40 and len(notes) >= 80
    # Roughly 50/50 by deal, and no deal or note in both splits.
    assert abs(len(splits["dev"]) - len(splits["test"])) <= 2
    assert len({d.deal.id for d in deals}) == len(deals)
    assert len({n.id for n in notes}) == len(notes)


def test_labels_use_valid_concepts_and_options(splits):
    for d in (d for s in SPLITS for d in splits[s]):
        note_ids = {n.id for n in d.notes}
        for note_id, per_concept in d.labels.items():
            assert note_id in note_ids
            for concept, values in per_concept.items():
                assert concept in LABELLED_CONCEPTS and values
                if concept in OPTION_CONCEPTS:
                    assert set(values) <= set(OPTION_CONCEPTS[concept]), (note_id, values)


def test_free_text_labels_are_grounded_in_their_note(splits):
    """At least one accepted phrasing of every free-text label occurs in the note (modulo case and quotes)."""
    for d, n in all_notes(splits):
        text = normalise(n.text).lower()
        for concept, values in d.labels.get(n.id, {}).items():
            if concept not in OPTION_CONCEPTS:
                assert any(normalise(v).lower() in text for v in values), (n.id, concept, values)


def test_committed_files_are_what_build_py_writes():
    spec = importlib.util.spec_from_file_location("eval_build", DEFAULT_DATA_DIR / "build.py")
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    for name, text in build.render().items():
        assert (DEFAULT_DATA_DIR / name).read_text(encoding="utf-8") == text, f"eval/{name} is stale: run eval/build.py"


def test_loader_names_the_file_and_line_of_a_bad_label(tmp_path):
    good = {"deal": {"id": "d1", "name": "Acme"},
            "notes": [{"id": "n1", "created_at": "2026-01-01T00:00:00Z", "text": "Dana Ruiz signs."}],
            "labels": {"n1": {"economic_buyer": ["Dana Ruiz"]}}}
    cases = [
        ({"labels": {"n9": {"economic_buyer": ["Dana Ruiz"]}}}, "not one of deal d1's notes"),
        ({"labels": {"n1": {"budget": ["10k"]}}}, "budget"),
        ({"labels": {"n1": {"decision_criteria": ["Cost"]}}}, "'Cost' is not an option"),
        ({"labels": {"n1": {"paper_process": ["Negotiation"]}}}, "'Negotiation' is not an option"),
        ({"labels": {"n1": {"champion": []}}}, "empty list"),
        ({"final": {"champion": ["Dana Ruiz"]}}, "no note is labelled for it"),
        ({"extra": 1}, "extra"),
    ]
    for change, message in cases:
        path = tmp_path / "bad.jsonl"
        path.write_text(json.dumps(good) + "\n" + json.dumps({**good, **change}) + "\n")
        with pytest.raises(ValueError, match=r"bad\.jsonl:2") as info:
            load_split("bad", tmp_path)
        assert message in str(info.value), (change, str(info.value))
    with pytest.raises(ValueError, match="available: bad"):
        load_split("nope", tmp_path)


# ---------------------------------------------------------------------------------------------------------
# Coverage claims (eval/README.md)

LANG_WORDS = {
    "lang:de": {"und", "der", "die", "das", "ist", "mit"},
    "lang:es": {"el", "la", "que", "de", "los", "es"},
    "lang:fr": {"le", "la", "les", "des", "et", "est"},
}


def test_long_notes_hide_signals_deep_inside(splits):
    for split in SPLITS:
        long_notes = [(d, n) for d in splits[split] for n in d.notes if len(n.text.split()) > 3000]
        assert long_notes, f"no long note in {split}"
        for d, n in long_notes:
            labels = d.labels[n.id]
            text = normalise(n.text).lower()
            # Every labelled signal sits past the first quarter of the note.
            positions = [min(p for v in values if (p := text.find(normalise(v).lower())) >= 0)
                         for c, values in labels.items() if c not in OPTION_CONCEPTS]
            assert positions and min(positions) > len(text) // 4


def test_non_english_notes_in_at_least_two_languages(splits):
    by_lang: dict[str, int] = {}
    for _, n in all_notes(splits):
        for tag in (t for t in n.tags if t.startswith("lang:")):
            words = set(re.findall(r"\w+", n.text.lower()))
            assert len(words & LANG_WORDS[tag]) >= 2, (n.id, tag)
            by_lang[tag] = by_lang.get(tag, 0) + 1
    assert len(by_lang) >= 2 and all(count >= 2 for count in by_lang.values())


def test_injection_notes_carry_an_attack_and_no_label_for_it(splits):
    markers = re.compile(r"SYSTEM:|</note>|ignore all|ignora todas|instruction", re.IGNORECASE)
    injected_names = {"mallory grant", "sarah connor", "eve torres", "ivan petrov"}
    injections = [(d, n) for d, n in all_notes(splits) if "injection" in n.tags]
    assert len(injections) >= 5
    for d, n in injections:
        assert markers.search(n.title + " " + n.text), n.id
        values = {norm_value(v) for vs in d.labels.get(n.id, {}).values() for v in vs}
        assert not values & injected_names, n.id
    # Some injections are the whole note; some sit inside a note with real content that is still labelled.
    assert any(n.id not in d.labels for d, n in injections)
    assert any(n.id in d.labels for d, n in injections)


def test_no_signal_tag_matches_notes_without_labels(splits):
    for d, n in all_notes(splits):
        assert ("no_signal" in n.tags) == (n.id not in d.labels), n.id
    assert sum("no_signal" in n.tags for _, n in all_notes(splits)) >= 5


def test_text_hygiene_tags_are_honest(splits):
    for _, n in all_notes(splits):
        if "curly_quotes" in n.tags:
            assert re.search("[\u2018\u2019\u201c\u201d\u00ab\u00bb]", n.text), n.id
        if "whitespace" in n.tags:
            assert re.search(r"\t|  |\r|\n(?=\w)", n.text), n.id


def test_paraphrases_and_negations_are_present(splits):
    texts = " ".join(normalise(n.text).lower() for _, n in all_notes(splits))
    for phrase in ("holds the purse strings", "the person who signs", "whoever controls the budget",
                   "economic buyer unknown", "we still don't know who signs"):
        assert phrase in texts, phrase
    # The negated notes name no economic buyer.
    for d, n in all_notes(splits):
        lowered = normalise(n.text).lower()
        if "economic buyer unknown" in lowered or "we still don't know who signs" in lowered:
            assert Concept.ECONOMIC_BUYER not in d.labels.get(n.id, {}), n.id


def test_superseded_deals_label_each_note_and_a_final_newest_value(splits):
    deals = [d for s in SPLITS for d in splits[s] if d.final]
    assert len(deals) >= 4 and all(any(d.final for d in splits[s]) for s in SPLITS)
    for d in deals:
        order = [n.id for n in d.as_notes()]
        for concept, final in d.final.items():
            labelled = [nid for nid in order if concept in d.labels.get(nid, {})]
            assert len(labelled) >= 2, (d.deal.id, concept)
            newest, older = d.labels[labelled[-1]][concept], [d.labels[nid][concept] for nid in labelled[:-1]]
            # The final value is what the newest note states ...
            assert all(any(text_matches(f, v) for v in newest) for f in final), (d.deal.id, concept)
            # ... and some older note states something the final value no longer accepts.
            assert any(not any(text_matches(v, f) for f in final) for vs in older for v in vs), (d.deal.id, concept)


# ---------------------------------------------------------------------------------------------------------
# Matching


@pytest.mark.parametrize("value,accepted,expected", [
    ("Dana Ruiz", "Dana Ruiz, CFO", True),   # says a little less, covers over half
    ("Dana Ruiz, CFO", "Dana Ruiz", True),   # says more
    ("  dana   RUIZ ", "Dana Ruiz", True),
    ("Lucia Fernandez", "Lucía Fernández", True),
    ("can\u2019t see history", "can't see history", True),
    ("CFO", "Dana Ruiz, CFO", False),        # too little of the accepted value
    ("Epicor", "Epic", False),               # word boundaries
    ("Dana Ruizz", "Dana Ruiz", False),
    ("", "Dana Ruiz", False),
])
def test_text_matching(value, accepted, expected):
    assert text_matches(value, accepted) is expected


# ---------------------------------------------------------------------------------------------------------
# Scoring, with extractor stubs that implement the Extractor protocol


class StubExtractor:
    """Returns canned extractions per deal id; raises ExtractionError for ids in `fail`."""

    def __init__(self, by_deal: dict[str, Extraction], fail: frozenset[str] = frozenset()):
        self.by_deal, self.fail, self.calls = by_deal, fail, []

    @property
    def model(self) -> str:
        return "stub-1"

    @property
    def prompt_version(self) -> str:
        return "p1"

    async def extract(self, deal: Deal, notes: list[Note], field_map: FieldMap) -> Extraction:
        self.calls.append((deal.id, [n.id for n in notes]))
        if deal.id in self.fail:
            raise ExtractionError("service unavailable after retries")
        return self.by_deal.get(deal.id, Extraction(model=self.model))


TINY = [
    {"deal": {"id": "d1", "name": "Acme"},
     "notes": [
         {"id": "n1", "created_at": "2026-01-01T10:00:00Z", "author": "Rep", "title": "Call",
          "text": "Dana Ruiz (CFO) holds the purse strings. They care about security and price. Gong is in the mix."},
         {"id": "n2", "created_at": "2026-01-05T10:00:00Z", "text": "Legal is reviewing the MSA now."},
         {"id": "n3", "created_at": "2026-01-09T10:00:00Z", "text": "Sent the recap. Omar was very positive."},
     ],
     "labels": {"n1": {"economic_buyer": ["Dana Ruiz", "Dana Ruiz (CFO)"],
                       "decision_criteria": ["Security", "Price"],
                       "competition": ["Gong"]},
                "n2": {"paper_process": ["Legal review"]}}},
    {"deal": {"id": "d2", "name": "Kestrel"},
     "notes": [
         {"id": "k2", "created_at": "2026-03-01T10:00:00Z", "text": "Tom left. Aisha Khan now drives it for us."},
         {"id": "k1", "created_at": "2026-02-01T10:00:00Z", "text": "Tom Becker is our champion."},
     ],
     "labels": {"k1": {"champion": ["Tom Becker"]}, "k2": {"champion": ["Aisha Khan"]}},
     "final": {"champion": ["Aisha Khan"]}},
]


def F(concept: Concept, value, note_id: str, excerpt: str) -> Finding:
    return Finding(concept=concept, value=value, note_id=note_id, excerpt=excerpt)


@pytest.fixture
def tiny_dir(tmp_path: Path) -> Path:
    (tmp_path / "tiny.jsonl").write_text("".join(json.dumps(d) + "\n" for d in TINY))
    return tmp_path


ACME = Extraction(
    model="stub-1",
    usage=Usage(input_tokens=1000, output_tokens=200, cache_read_tokens=50),
    findings=[
        # TP: says more than the accepted value.
        F(Concept.ECONOMIC_BUYER, "Dana Ruiz, CFO", "n1", "Dana Ruiz (CFO) holds the purse strings"),
        # Security TP; Reporting is not stated by the excerpt, so dropped; Price is then a FN.
        F(Concept.DECISION_CRITERIA, ["Security", "Reporting"], "n1", "They care about security and price."),
        # The same claim again counts once.
        F(Concept.DECISION_CRITERIA, ["security"], "n1", "They care about security"),
        # A competitor the excerpt does not name: dropped; Gong is then a FN.
        F(Concept.COMPETITION, "Chorus", "n1", "Gong is in the mix."),
        # Right value, invented excerpt: a citation failure, dropped, and the label becomes a FN.
        F(Concept.PAPER_PROCESS, "Legal review", "n2", "Legal signed the MSA yesterday."),
        # FP: no label for champion on n3.
        F(Concept.CHAMPION, "Omar", "n3", "Omar was very positive."),
    ],
    dropped=[DroppedFinding(concept="metrics", value=None, reason="item failed validation")],
)


async def test_scores_exact_counts_on_a_hand_made_stub(tiny_dir):
    stub = StubExtractor({"d1": ACME})
    report = await evaluate(stub, split="tiny", data_dir=tiny_dir)

    assert stub.calls == [("d1", ["n1", "n2", "n3"]), ("d2", ["k1", "k2"])]  # notes oldest first
    o = report.overall
    # d1: predictions EB, Security, Omar = 3 (Reporting and Chorus are not what their excerpts say); TP EB +
    # Security; d2 contributes 2 FN.
    assert (o.findings, o.verified, o.predictions, o.tp, o.fp) == (6, 4, 3, 2, 1)
    assert (o.labelled, o.fn) == (7, 5)
    assert o.precision == pytest.approx(2 / 3) and o.recall == pytest.approx(2 / 7)
    assert o.f1 == pytest.approx(2 * (2 / 3) * (2 / 7) / ((2 / 3) + (2 / 7)))
    assert o.citation_validity == pytest.approx(4 / 6)

    dc = report.per_concept[Concept.DECISION_CRITERIA]
    assert (dc.predictions, dc.tp, dc.fp, dc.labelled, dc.fn) == (1, 1, 0, 2, 1)
    pp = report.per_concept[Concept.PAPER_PROCESS]
    assert (pp.findings, pp.verified, pp.predictions, pp.fn) == (1, 0, 0, 1)
    assert pp.citation_validity == 0.0 and pp.precision is None and pp.recall == 0.0 and pp.f1 == 0.0
    eb = report.per_concept[Concept.ECONOMIC_BUYER]
    assert (eb.precision, eb.recall, eb.f1) == (1.0, 1.0, 1.0)
    assert report.per_concept[Concept.METRICS].f1 is None  # nothing labelled, nothing predicted

    assert report.drops == {"excerpt not found word for word in the cited note": 1, "item failed validation": 1,
                            "the excerpt does not state 'Reporting' (none of its synonyms is in it)": 1,
                            "the excerpt does not name the competitor 'Chorus'": 1}
    assert report.usage == Usage(input_tokens=1000, output_tokens=200, cache_read_tokens=50)
    assert report.cost_usd is None  # an unpriced model: says so, never $0.00
    assert "estimated cost unpriced (stub-1 is not in engine/extract/pricing.py)" in format_table(report)
    assert (report.deals, report.notes, report.model, report.prompt_version) == (2, 5, "stub-1", "p1")
    assert all(r.latency_s >= 0 for r in report.per_deal) and report.latency.max_s >= report.latency.mean_s

    acme = report.per_deal[0]
    assert sorted((m.kind, m.note_id, m.value) for m in acme.mistakes) == [
        ("fn", "n1", "Gong"), ("fn", "n1", "Price"), ("fn", "n2", "Legal review"),
        ("fp", "n3", "Omar"),
    ]
    assert report.superseded_total == 1 and report.superseded_correct == 0  # d2 found nothing


async def test_superseded_fact_is_scored_on_what_the_pass_would_file(tiny_dir):
    both = Extraction(model="stub-1", findings=[
        F(Concept.CHAMPION, "Aisha Khan", "k2", "Aisha Khan now drives it for us."),
        F(Concept.CHAMPION, "Tom Becker", "k1", "Tom Becker is our champion."),
    ])
    stale = Extraction(model="stub-1",
                       findings=[F(Concept.CHAMPION, "Tom Becker", "k1", "Tom Becker is our champion.")])

    good = await evaluate(StubExtractor({"d2": both}), split="tiny", data_dir=tiny_dir)
    assert (good.superseded_correct, good.superseded_total) == (1, 1)
    check = good.per_deal[1].superseded[0]
    assert (check.got, check.from_note, check.correct) == ("Aisha Khan", "k2", True)
    assert good.per_concept[Concept.CHAMPION].tp == 2

    bad = await evaluate(StubExtractor({"d2": stale}), split="tiny", data_dir=tiny_dir)
    assert (bad.superseded_correct, bad.superseded_total) == (0, 1)
    assert bad.per_deal[1].superseded[0].got == "Tom Becker"


async def test_value_that_is_not_an_option_is_dropped_not_scored(tiny_dir):
    stub = StubExtractor({"d1": Extraction(model="stub-1", findings=[
        F(Concept.PAPER_PROCESS, "Negotiation", "n2", "Legal is reviewing the MSA now."),
    ])})
    report = await evaluate(stub, split="tiny", data_dir=tiny_dir)
    assert report.drops == {"'Negotiation' is not an option of scout_paper_process (Not started, Security review, "
                            "Legal review, Procurement, Awaiting signature, Signed)": 1}
    pp = report.per_concept[Concept.PAPER_PROCESS]
    assert (pp.verified, pp.predictions, pp.fp, pp.fn) == (0, 0, 0, 1)


async def test_extraction_error_is_reported_and_its_labels_are_missed(tiny_dir):
    report = await evaluate(StubExtractor({}, fail=frozenset({"d1"})), split="tiny", data_dir=tiny_dir)
    assert report.errors == 1 and report.per_deal[0].error == "service unavailable after retries"
    assert report.overall.fn == report.overall.labelled == 7
    assert "d1 Acme: service unavailable after retries" in format_table(report)


async def test_table_and_json_show_the_numbers(tiny_dir):
    report = await evaluate(StubExtractor({"d1": ACME}), split="tiny", data_dir=tiny_dir)
    table = format_table(report)
    assert "split tiny (2 deals, 5 notes), model stub-1, prompt p1" in table
    overall = next(line for line in table.splitlines() if line.startswith("overall"))
    assert overall.split() == ["overall", "6", "3", "2", "1", "7", "5", "0.67", "0.29", "0.40", "0.67"]
    dc = next(line for line in table.splitlines() if line.startswith("decision_criteria"))
    assert dc.split()[-4:] == ["1.00", "0.50", "0.67", "1.00"]
    assert "excerpt not found word for word in the cited note" in table
    assert "tokens: input 1000, output 200, cache read 50, cache write 0" in table
    assert "superseded facts filed correctly: 0/1" in table
    data = json.loads(report.model_dump_json(indent=2))
    assert data["overall"]["precision"] == pytest.approx(2 / 3)
    assert data["per_concept"]["decision_criteria"]["fn"] == 1
    assert EvalReport.model_validate_json(report.model_dump_json()) == report


# ---------------------------------------------------------------------------------------------------------
# The real splits, end to end with an oracle that cites every label from its own note


class Oracle:
    """Proposes every label in the note's own words, quoting the sentence that states it: every label must be
    reachable, verify and be stated by its excerpt."""

    def __init__(self, deals: list[EvalDeal]):
        self.deals = {d.deal.id: d for d in deals}

    model = "oracle"
    prompt_version = "labels"

    async def extract(self, deal: Deal, notes: list[Note], field_map: FieldMap) -> Extraction:
        return Extraction(model=self.model, findings=truthful_findings(self.deals[deal.id], notes, field_map))


@pytest.mark.parametrize("method", ["medic", "meddpicc"])
@pytest.mark.parametrize("split", SPLITS)
async def test_oracle_scores_perfectly_and_an_empty_extractor_scores_zero(split, method, splits):
    field_map = method_field_map(method)
    perfect = await evaluate(Oracle(splits[split]), split=split, field_map=field_map)
    o = perfect.overall
    assert o.labelled > 0 and (o.precision, o.recall, o.citation_validity) == (1.0, 1.0, 1.0)
    assert perfect.drops == {} and perfect.superseded_correct == perfect.superseded_total > 0
    assert list(perfect.per_concept) == list(field_map.concepts)
    if method == "meddpicc":  # decision process is labelled in both splits and scored only here
        assert perfect.per_concept["decision_process"].tp >= 8

    empty = await evaluate(StubExtractor({}), split=split, field_map=field_map)
    assert empty.overall.labelled == o.labelled and empty.overall.fn == o.labelled
    assert empty.overall.recall == 0.0 and empty.overall.precision is None

"""The demo pipeline: reproducible, realistic enough to exercise every field type and every MEDIC concept."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, datetime, timedelta, timezone

import pytest

from engine.demo import (
    DEFAULT_NOW,
    INJECTION_MARKERS,
    STAGES,
    generate_demo,
    generate_demo_with_truth,
)
from engine.commands import EXIT_OK
from engine.fieldtypes import is_empty
from engine.medic import DECISION_CRITERIA_OPTIONS, PAPER_PROCESS_OPTIONS, default_field_map
from engine.models import Concept, FieldType


@pytest.fixture(scope="module")
def demo():
    return generate_demo_with_truth()


def test_same_seed_gives_the_same_pipeline_and_another_seed_does_not():
    a, b = generate_demo(seed=7), generate_demo(seed=7)
    assert a.model_dump() == b.model_dump()
    other = generate_demo(seed=8)
    assert other.model_dump() != a.model_dump()
    assert [n.text for n in other.notes] != [n.text for n in a.notes]


def test_size_and_ids(demo):
    data, _ = demo
    assert len(data.deals) >= 200
    assert data.deals[0].id == "d0001" and all(re.fullmatch(r"d\d{4}", d.id) for d in data.deals)
    assert all(re.fullmatch(r"n\d{5}", n.id) for n in data.notes) and data.notes[0].id == "n00001"
    assert all(re.fullmatch(r"p\d{3}", p.id) for p in data.people) and data.people[0].id == "p001"
    for items in (data.deals, data.notes, data.people):
        assert len({i.id for i in items}) == len(items)
    assert len({d.name for d in data.deals}) == len(data.deals)


def test_fields_cover_every_type_and_use_the_field_map_rep_specs(demo):
    data, _ = demo
    by_name = {f.name: f for f in data.fields}
    types = {f.type for f in data.fields}
    for t in (FieldType.TEXT, FieldType.NUMBER, FieldType.DATE, FieldType.SELECT, FieldType.MULTI_SELECT,
              FieldType.PERSON):
        assert t in types, t
    assert by_name["stage"].options == STAGES
    assert (by_name["amount"].type, by_name["close_date"].type, by_name["owner"].type, by_name["company"].type) == (
        FieldType.NUMBER, FieldType.DATE, FieldType.PERSON, FieldType.TEXT
    )
    for concept in default_field_map().concepts.values():
        assert by_name[concept.rep.name] == concept.rep
    assert not [f.name for f in data.fields if f.name.startswith("scout_")]


def test_values_are_decoded_per_field_type(demo):
    data, _ = demo
    specs = {f.name: f for f in data.fields}
    people = {p.name for p in data.people}
    for deal in data.deals:
        assert set(deal.values) <= set(specs), deal.values
        assert deal.stage == deal.values["stage"] in STAGES
        for name, value in deal.values.items():
            spec = specs[name]
            if spec.type is FieldType.NUMBER:
                assert isinstance(value, float)
            elif spec.type is FieldType.DATE:
                date.fromisoformat(value)
            elif spec.type is FieldType.SELECT:
                assert value in spec.options
            elif spec.type is FieldType.MULTI_SELECT:
                assert isinstance(value, list) and value and set(value) <= set(spec.options)
            elif spec.type is FieldType.PERSON:
                assert value in people, (name, value)
            else:
                assert isinstance(value, str)


def test_some_rep_fields_filled_some_empty_with_placeholders_and_a_real_zero(demo):
    data, _ = demo
    fmap = default_field_map()
    for concept in fmap.concepts.values():
        spec = concept.rep
        empty = sum(is_empty(spec.type, d.values.get(spec.name)) for d in data.deals)
        filled = len(data.deals) - empty
        # Roughly a third filled per field, and never all or nothing.
        assert 0.12 * len(data.deals) < filled < 0.5 * len(data.deals), (spec.name, filled)
    placeholders = [
        d.values[c.rep.name]
        for d in data.deals
        for c in fmap.concepts.values()
        if c.rep.type is FieldType.TEXT and c.rep.name in d.values and is_empty(FieldType.TEXT, d.values[c.rep.name])
    ]
    assert placeholders and "TBD" in placeholders
    zero = [d for d in data.deals if d.values.get("amount") == 0.0]
    assert zero and not is_empty(FieldType.NUMBER, zero[0].values["amount"])


def test_people_are_reps_and_buyers_and_owners_are_reps(demo):
    data, _ = demo
    reps = {p.name for p in data.people if p.email.endswith("@lumen.example")}
    buyers = [p for p in data.people if not p.email.endswith("@lumen.example")]
    assert len(reps) >= 5 and len(buyers) >= 100
    assert all(p.title and "@" in p.email for p in data.people)
    assert {d.values["owner"] for d in data.deals} <= reps
    assert {n.author for n in data.notes} <= reps


def test_dates_stay_within_each_deal_lifetime(demo):
    data, _ = demo
    deals = {d.id: d for d in data.deals}
    created = [d.created_at for d in data.deals]
    assert max(created) - min(created) > timedelta(days=450)  # spread over about eighteen months
    for d in data.deals:
        assert d.created_at <= d.updated_at <= DEFAULT_NOW
    for n in data.notes:
        deal = deals[n.deal_id]
        assert deal.created_at <= n.created_at <= deal.updated_at <= DEFAULT_NOW, n.id


def test_now_moves_the_whole_pipeline():
    now = datetime(2027, 3, 1, 12, 0, tzinfo=timezone.utc)
    data = generate_demo(n_deals=40, now=now)
    assert len(data.deals) == 40
    assert all(n.created_at <= now for n in data.notes)
    assert max(n.created_at for n in data.notes) > DEFAULT_NOW


def test_notes_per_deal_and_oldest_first(demo):
    data, _ = demo
    per_deal = Counter(n.deal_id for n in data.notes)
    counts = [per_deal.get(d.id, 0) for d in data.deals]
    assert min(counts) == 0 and max(counts) == 4
    assert sum(c == 0 for c in counts) >= 5
    for deal_id in per_deal:
        times = [n.created_at for n in data.notes if n.deal_id == deal_id]
        assert times == sorted(times)


def test_every_concept_is_planted_with_values_a_field_can_hold(demo):
    data, truth = demo
    note_text = {n.id: n.text for n in data.notes}
    by_concept = Counter(p.concept for p in truth.planted)
    assert set(by_concept) == set(Concept) and min(by_concept.values()) >= 50
    for p in truth.planted:
        if p.concept is Concept.DECISION_CRITERIA:
            assert set(p.value) <= set(DECISION_CRITERIA_OPTIONS)
        elif p.concept is Concept.PAPER_PROCESS:
            assert p.value in PAPER_PROCESS_OPTIONS
        elif p.concept in (Concept.ECONOMIC_BUYER, Concept.CHAMPION):
            assert p.value.split(", ")[0] in note_text[p.note_id]
        else:
            for part in p.value.split(", "):
                assert part in note_text[p.note_id]
    # Some deals change their answer over time: a later note names a new champion or buyer.
    assert sum(p.supersedes for p in truth.planted if p.concept is Concept.CHAMPION) >= 5
    assert sum(p.supersedes for p in truth.planted if p.concept is Concept.ECONOMIC_BUYER) >= 5


def _shape(note_text: str, value: str) -> str:
    """The sentence that carries `value`, with the value itself blanked: what is left is the template."""
    name, _, title = value.partition(", ")
    sentence = next(s for s in re.split(r"(?<=[.!?])\s+|\n", note_text) if name in s)
    return sentence.replace(name, "<name>").replace(title, "<title>") if title else sentence.replace(name, "<x>")


def test_notes_vary_their_wording(demo):
    data, truth = demo
    texts = {n.id: n.text for n in data.notes}
    for concept in (Concept.ECONOMIC_BUYER, Concept.CHAMPION, Concept.METRICS, Concept.COMPETITION):
        shapes = {_shape(texts[p.note_id], p.value) for p in truth.planted if p.concept is concept}
        assert len(shapes) >= 6, (concept, shapes)
    signal_free = {n.id for n in data.notes} - {p.note_id for p in truth.planted}
    assert len(signal_free) >= 50
    assert len(truth.negation_note_ids) >= 20


def test_injection_notes_and_ambiguous_names_are_present(demo):
    data, truth = demo
    texts = {n.id: n.text for n in data.notes}
    injected = [texts[i] for i in truth.injection_note_ids]
    assert len(injected) >= 5
    assert any("Ignore previous instructions" in t for t in injected)
    assert any("</note>" in t and "Closed Won" in t for t in injected)
    assert any("Mallory" in t for t in injected) and any("approved" in t for t in injected)
    assert all(any(marker in t for marker in INJECTION_MARKERS + ("amount to 0",)) for t in injected)
    names = [d.name for d in data.deals]
    assert sum(n.startswith("Acme") for n in names) >= 2
    assert any(n.startswith("Globex") for n in names)


# -- scout demo --deals N: any size from 1 to 100,000, and a clear usage error outside it ---------------------

@pytest.mark.parametrize("n", [1, 2, 3, 804, 2500])
def test_demo_seeds_exactly_n_deals_with_distinct_names_beyond_the_fixed_list(scout, make_settings, n):
    settings = make_settings()
    code, out, err = scout("demo", "--deals", str(n))
    assert code == 0 and f": {n} deals, " in out, err
    import sqlite3

    with sqlite3.connect(settings.workspace) as db:
        names = [row[0] for row in db.execute("SELECT name FROM deals")]
        notes = db.execute("SELECT COUNT(*) FROM notes").fetchone()[0]
    assert len(names) == n and len(set(names)) == n and notes >= n


@pytest.mark.parametrize("value, message", [("-3", "must be between 1 and 100000, not -3"),
                                            ("0", "must be between 1 and 100000, not 0"),
                                            ("100001", "must be between 1 and 100000, not 100001"),
                                            ("lots", "'lots' is not a whole number")])
def test_demo_size_outside_1_to_100000_is_a_usage_error_and_seeds_nothing(scout, make_settings, value, message):
    settings = make_settings()
    code, out, err = scout("demo", "--deals", value)
    assert code == 2 and out == "" and f"argument --deals: {message}" in err and "Traceback" not in err
    assert not settings.workspace.exists()


# ---- meddpicc: the same demo plus decision processes ------------------------------------------------------


def test_the_meddpicc_demo_is_the_medic_demo_plus_decision_processes(demo):
    data, truth = demo
    dp_data, dp_truth = generate_demo_with_truth(method="meddpicc")
    assert dp_data.people == data.people
    assert [f.name for f in dp_data.fields] == [f.name for f in data.fields] + ["decision_process"]
    for plain, more in zip(data.deals, dp_data.deals, strict=True):
        assert {k: v for k, v in more.values.items() if k != "decision_process"} == plain.values
    changed = set()
    for plain, more in zip(data.notes, dp_data.notes, strict=True):
        assert more.id == plain.id and more.text.startswith(plain.text)  # only ever a sentence added at the end
        if more.text != plain.text:
            changed.add(more.id)
    medic_plants = [p for p in dp_truth.planted if p.concept != "decision_process"]
    assert medic_plants == truth.planted and set(truth.injection_note_ids) == set(dp_truth.injection_note_ids)

    planted = [p for p in dp_truth.planted if p.concept == "decision_process"]
    assert len(planted) >= 80 and sum(p.supersedes for p in planted) >= 5
    notes = {n.id: n for n in dp_data.notes}
    for p in planted:
        assert p.note_id in changed and p.note_id not in dp_truth.injection_note_ids
        tail = notes[p.note_id].text.rsplit(".", 2)[-2]
        assert all(word in tail for word in str(p.value).replace(",", "").split()), (p.value, tail)
    filled = [d.values["decision_process"] for d in dp_data.deals if "decision_process" in d.values]
    assert 20 <= len(filled) <= 80 and "TBD" in filled


def test_meddpicc_demo_and_run_carry_decision_processes_and_medic_is_as_before(scout, make_settings, tmp_path):
    make_settings(SCOUT_METHOD="meddpicc")
    code, out, _ = scout("demo")
    assert code == EXIT_OK and "212 deals, 466 notes, 296 people" in out
    code, out, _ = scout("check")
    assert "decision_process   decision_process         text          text          ok" in out
    code, out, _ = scout("run", "--cap", "212")
    assert code == EXIT_OK and "do not extract" not in out
    _, log, _ = scout("log", "1", "--action", "would_write")
    suggested = [line for line in log.splitlines() if "scout_decision_process" in line]
    assert len(suggested) >= 50
    make_settings(SCOUT_METHOD="medic", SCOUT_DATA_DIR=str(tmp_path / "medic"))
    code, out, _ = scout("demo")
    assert code == EXIT_OK and "212 deals, 466 notes, 296 people" in out
    code, out, _ = scout("run", "--cap", "212")
    assert out.startswith("DRY RUN (--apply was not given and LIVE_WRITES is not set): 0 written, 551 would-write, "
                          "281 skipped, 0 dropped; scanned 212/212 (cap 212)")
    assert "decision_process" not in scout("log", "1")[1]

"""The decision table, including every field type's notion of empty."""

from datetime import datetime, timezone

import pytest

from engine.decide import decide
from engine.fieldtypes import CoercionError, coerce, is_empty
from engine.medic import ConceptFields
from engine.models import Concept, Deal, FieldSpec, FieldType, Finding, Verdict

EMPTY_CASES = [
    # (type, value, empty?)
    (FieldType.TEXT, None, True),
    (FieldType.TEXT, "", True),
    (FieldType.TEXT, "   ", True),
    (FieldType.TEXT, "TBD", True),
    (FieldType.TEXT, "n/a", True),
    (FieldType.TEXT, "Dana Ruiz", False),
    (FieldType.TEXT, "0", False),
    (FieldType.NUMBER, None, True),
    (FieldType.NUMBER, "", True),
    (FieldType.NUMBER, 0.0, False),
    (FieldType.NUMBER, 0, False),
    (FieldType.NUMBER, 125000.0, False),
    (FieldType.DATE, None, True),
    (FieldType.DATE, "", True),
    (FieldType.DATE, "2026-11-01", False),
    (FieldType.SELECT, None, True),
    (FieldType.SELECT, "", True),
    (FieldType.SELECT, "Legal review", False),
    (FieldType.MULTI_SELECT, None, True),
    (FieldType.MULTI_SELECT, [], True),
    (FieldType.MULTI_SELECT, [""], True),
    (FieldType.MULTI_SELECT, ["Security"], False),
    (FieldType.PERSON, None, True),
    (FieldType.PERSON, "", True),
    (FieldType.PERSON, "Dana Ruiz", False),
    (FieldType.RECORD, None, True),
    (FieldType.RECORD, "rec_123", False),
]


@pytest.mark.parametrize(("ftype", "value", "empty"), EMPTY_CASES)
def test_emptiness_per_field_type(ftype, value, empty):
    assert is_empty(ftype, value) is empty


def test_every_field_type_has_an_emptiness_case():
    assert {c[0] for c in EMPTY_CASES} == set(FieldType)


def fields_for(rep_type: FieldType, scout_type: FieldType = FieldType.TEXT, options=()) -> ConceptFields:
    return ConceptFields(
        concept=Concept.ECONOMIC_BUYER, description="",
        rep=FieldSpec(name="economic_buyer", type=rep_type, options=options),
        scout=FieldSpec(name="scout_economic_buyer", type=scout_type, options=options), grounding="person",
    )


FINDING = Finding(concept=Concept.ECONOMIC_BUYER, value="Dana Ruiz, CFO", note_id="n1",
                  excerpt="Dana Ruiz, the CFO, signs off")


def deal(**values) -> Deal:
    return Deal(id="d1", name="Acme", created_at=datetime(2026, 1, 1, tzinfo=timezone.utc), values=values)


@pytest.mark.parametrize(
    ("rep_type", "rep_value", "scout_value", "applied", "expected"),
    [
        # The rep's answer wins whatever Scout holds, for every type's notion of filled.
        (FieldType.PERSON, "Sam Lee", None, False, Verdict.REP_FILLED),
        (FieldType.TEXT, "Sam Lee", None, False, Verdict.REP_FILLED),
        (FieldType.NUMBER, 0.0, None, False, Verdict.REP_FILLED),
        (FieldType.DATE, "2026-03-01", None, False, Verdict.REP_FILLED),
        (FieldType.SELECT, "Legal review", None, False, Verdict.REP_FILLED),
        (FieldType.MULTI_SELECT, ["Price"], None, False, Verdict.REP_FILLED),
        (FieldType.RECORD, "rec_1", None, False, Verdict.REP_FILLED),
        # Empty rep fields (per type) let Scout suggest.
        (FieldType.PERSON, None, None, False, Verdict.WRITE),
        (FieldType.TEXT, "TBD", None, False, Verdict.WRITE),
        (FieldType.NUMBER, None, None, False, Verdict.WRITE),
        (FieldType.MULTI_SELECT, [], None, False, Verdict.WRITE),
        (FieldType.SELECT, "", None, False, Verdict.WRITE),
        (FieldType.DATE, "", None, False, Verdict.WRITE),
        # Scout's own field: same value → unchanged; another value → update.
        (FieldType.PERSON, None, "Dana Ruiz, CFO", False, Verdict.UNCHANGED),
        (FieldType.PERSON, None, "dana ruiz,  CFO", False, Verdict.UNCHANGED),
        (FieldType.PERSON, None, "Old Buyer, VP", False, Verdict.UPDATE),
        # Already applied live from this note: never again, even if the field was emptied (undo) since.
        (FieldType.PERSON, None, None, True, Verdict.DUPLICATE),
        (FieldType.PERSON, None, "Old Buyer, VP", True, Verdict.DUPLICATE),
    ],
)
def test_decision_table(rep_type, rep_value, scout_value, applied, expected):
    d = decide(fields_for(rep_type), deal(economic_buyer=rep_value, scout_economic_buyer=scout_value),
               FINDING, "Dana Ruiz, CFO", applied)
    assert d.verdict is expected
    assert d.writes is (expected in (Verdict.WRITE, Verdict.UPDATE))
    assert d.scout_field == "scout_economic_buyer"
    assert d.previous == scout_value
    assert d.rep_value == rep_value


def test_multi_select_unchanged_ignores_order():
    f = fields_for(FieldType.MULTI_SELECT, FieldType.MULTI_SELECT, ("Price", "Security"))
    d = decide(f, deal(scout_economic_buyer=["Security", "Price"]), FINDING, ["Price", "Security"], False)
    assert d.verdict is Verdict.UNCHANGED


def test_coerce_to_field_types():
    assert coerce(FieldSpec(name="x", type=FieldType.NUMBER), "about $1,250,000 a year") == 1250000.0
    assert coerce(FieldSpec(name="x", type=FieldType.DATE), "2026-12-01") == "2026-12-01"
    sel = FieldSpec(name="x", type=FieldType.SELECT, options=("Legal review", "Signed"))
    assert coerce(sel, "legal review") == "Legal review"
    multi = FieldSpec(name="x", type=FieldType.MULTI_SELECT, options=("Price", "Security"))
    assert coerce(multi, ["security", "Price", "price"]) == ["Price", "Security"]
    with pytest.raises(CoercionError, match="not an option"):
        coerce(sel, "Approved by Mallory")
    with pytest.raises(CoercionError, match="not a number"):
        coerce(FieldSpec(name="x", type=FieldType.NUMBER), "lots")
    with pytest.raises(CoercionError, match="link"):
        coerce(FieldSpec(name="x", type=FieldType.PERSON), "Dana")


def test_field_map_refuses_a_scout_field_outside_the_namespace(tmp_path):
    from engine.medic import load_field_map

    cfg = tmp_path / "map.toml"
    cfg.write_text('[concepts.champion]\nscout_field = "champion"\n')
    with pytest.raises(ValueError, match="must start with 'scout_'"):
        load_field_map(cfg)
    cfg.write_text('object = "opportunities"\n[concepts.champion]\nrep_field = "champ"\nrep_type = "text"\n')
    fm = load_field_map(cfg)
    assert fm.object == "opportunities"
    assert fm.concepts[Concept.CHAMPION].rep == FieldSpec(name="champ", type=FieldType.TEXT, label="Champion")

"""Qualification methods as data: each is a list of concepts, the built-ins here, chosen by SCOUT_METHOD.

A concept row is (key, description the model reads, rep type, scout type, options, grounding rule, label);
field names, synonyms and (unless given) the label follow from the key and options (engine/medic.py).
The field-map TOML adds or overrides concepts on top of the chosen method.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

from engine.models import Concept, FieldType

# How grounding proves an excerpt states a value (engine/extract/grounding.py).
GroundingRule = Literal["person", "number", "option", "text"]
GROUNDING_RULES: tuple[GroundingRule, ...] = ("person", "number", "option", "text")
MethodName = Literal["medic", "meddpicc", "bant", "spiced"]
METHOD_NAMES: tuple[MethodName, ...] = ("medic", "meddpicc", "bant", "spiced")

DECISION_CRITERIA_OPTIONS = (
    "Security",
    "Price",
    "Integrations",
    "Ease of use",
    "Support",
    "Scalability",
    "Compliance",
    "Reporting",
)
PAPER_PROCESS_OPTIONS = (
    "Not started",
    "Security review",
    "Legal review",
    "Procurement",
    "Awaiting signature",
    "Signed",
)


class ConceptRow(NamedTuple):
    key: str
    description: str
    rep_type: FieldType
    scout_type: FieldType
    options: tuple[str, ...]
    grounding: GroundingRule
    label: str = ""  # what people read; "" means the key as words ("decision_process": "Decision process")


_MEDIC: tuple[ConceptRow, ...] = (
    ConceptRow(Concept.METRICS, "Quantified outcome the buyer expects (e.g. 'cut onboarding from 6 to 2 weeks').",
               FieldType.TEXT, FieldType.TEXT, (), "text"),
    ConceptRow(Concept.ECONOMIC_BUYER, "The person with budget authority who signs off; name and role.",
               FieldType.PERSON, FieldType.TEXT, (), "person"),
    ConceptRow(Concept.DECISION_CRITERIA, "What the buyer will judge vendors on.",
               FieldType.MULTI_SELECT, FieldType.MULTI_SELECT, DECISION_CRITERIA_OPTIONS, "option"),
    ConceptRow(Concept.IDENTIFIED_PAIN, "The business problem driving the purchase.",
               FieldType.TEXT, FieldType.TEXT, (), "text"),
    ConceptRow(Concept.CHAMPION, "The insider who sells for us internally; name and role.",
               FieldType.PERSON, FieldType.TEXT, (), "person"),
    ConceptRow(Concept.PAPER_PROCESS, "Where the deal is in the buyer's approval and contracting steps.",
               FieldType.SELECT, FieldType.SELECT, PAPER_PROCESS_OPTIONS, "option"),
    ConceptRow(Concept.COMPETITION, "Other vendors or alternatives the buyer is considering.",
               FieldType.TEXT, FieldType.TEXT, (), "text"),
)

_DECISION_PROCESS = ConceptRow(
    "decision_process", "The buyer's steps to approve the purchase, who is involved and by when "
    "(e.g. 'pilot review in May, then board approval in June').", FieldType.TEXT, FieldType.TEXT, (), "text")

_BANT: tuple[ConceptRow, ...] = (
    ConceptRow("budget", "The money the buyer has set aside for this purchase (e.g. '$120k this fiscal year').",
               FieldType.TEXT, FieldType.TEXT, (), "number"),
    ConceptRow("authority", "The person who can approve the purchase; name and role.",
               FieldType.PERSON, FieldType.TEXT, (), "person"),
    ConceptRow("need", "The business need the purchase answers.", FieldType.TEXT, FieldType.TEXT, (), "text"),
    ConceptRow("timeline", "When the buyer intends to decide or go live (e.g. 'decision by end of Q3').",
               FieldType.TEXT, FieldType.TEXT, (), "text"),
)

_SPICED: tuple[ConceptRow, ...] = (
    ConceptRow("situation", "The buyer's current setup and circumstances relevant to the purchase.",
               FieldType.TEXT, FieldType.TEXT, (), "text"),
    ConceptRow("pain", "The problem the buyer feels today.", FieldType.TEXT, FieldType.TEXT, (), "text"),
    ConceptRow("impact", "What solving the pain is worth to the buyer, ideally quantified.",
               FieldType.TEXT, FieldType.TEXT, (), "text"),
    ConceptRow("critical_event", "The dated event that forces a decision (e.g. 'contract renewal on 1 March').",
               FieldType.TEXT, FieldType.TEXT, (), "text"),
    ConceptRow("decision", "How and by whom the buying decision is made.",
               FieldType.TEXT, FieldType.TEXT, (), "text"),
)

BUILT_IN_METHODS: dict[MethodName, tuple[ConceptRow, ...]] = {
    "medic": _MEDIC,
    "meddpicc": (*_MEDIC, _DECISION_PROCESS),
    "bant": _BANT,
    "spiced": _SPICED,
}

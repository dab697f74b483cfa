"""A large, deterministic pipeline for the benchmark: N deals, 1-3 call notes each, typed rep fields.

`engine/demo.py` stops at a few hundred deals because its notes are hand-shaped prose; the bench needs
10,000 deals fast. Each note is a few lines of the form `Label: value.` so the stand-in extractor can quote
them word for word without any text analysis. Every random choice comes from one `random.Random(seed)`.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

from engine.medic import DECISION_CRITERIA_OPTIONS, PAPER_PROCESS_OPTIONS, default_field_map
from engine.models import Deal, FieldSpec, FieldType, Note, Person, WorkspaceData

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=timezone.utc)
STAGES = ("Discovery", "Qualification", "Demo", "Proposal", "Negotiation")
COMPETITORS = ("Forecastly", "PipeIQ", "Dealwise", "Revlytic", "Clarion", "Tidemark", "in-house build")
METRICS = (
    "cut month-end close from 10 days to 4", "reduce forecast error by 20%", "save each rep 5 hours a week",
    "lift win rate from 18% to 25%", "shorten ramp from 6 months to 3",
)
PAINS = (
    "reps update the CRM by hand every Friday", "forecasts live in spreadsheets nobody trusts",
    "renewals fall through the cracks", "customer data is scattered across five tools",
)
FIRST = ("Dana", "Priya", "Tom", "Marcus", "Aiko", "Olu", "Sofia", "Liam", "Grace", "Mateo", "Ravi", "Zoe")
LAST = ("Ruiz", "Shah", "Becker", "Okafor", "Tanaka", "Moreau", "Nguyen", "Park", "Novak", "Rossi", "Silva")
TITLES = ("CFO", "VP Finance", "COO", "Head of RevOps", "Sales Ops Manager", "Director of Enablement")

# Lines a note may carry; the label before ':' names the concept (see bench/extractor.py).
LABELS = ("Metrics", "Pain", "Buyer", "Champion", "Criteria", "Paper", "Competition")


def _line(rng: random.Random, label: str) -> str:
    if label == "Metrics":
        return f"Metrics: {rng.choice(METRICS)}."
    if label == "Pain":
        return f"Pain: {rng.choice(PAINS)}."
    if label in ("Buyer", "Champion"):
        return f"{label}: {rng.choice(FIRST)} {rng.choice(LAST)}, {rng.choice(TITLES)}."
    if label == "Criteria":
        return f"Criteria: {', '.join(sorted(rng.sample(DECISION_CRITERIA_OPTIONS, rng.randint(1, 3))))}."
    if label == "Paper":
        return f"Paper: {rng.choice(PAPER_PROCESS_OPTIONS)}."
    return f"Competition: {rng.choice(COMPETITORS)}."


def field_specs() -> list[FieldSpec]:
    fm = default_field_map()
    return [
        FieldSpec(name="amount", type=FieldType.NUMBER, label="Amount"),
        FieldSpec(name="close_date", type=FieldType.DATE, label="Close date"),
        FieldSpec(name="stage", type=FieldType.SELECT, label="Stage", options=STAGES),
        FieldSpec(name="owner", type=FieldType.PERSON, label="Owner"),
        *[c.rep for c in fm.concepts.values()],
        *fm.scout_fields(),
    ]


def generate_workspace(n: int, seed: int = 7) -> WorkspaceData:
    """`n` deals with about two notes each; some rep fields filled, some scout fields already suggested."""
    rng = random.Random(seed)
    people = [Person(id=f"p{i:03d}", name=f"{f} {l}") for i, (f, l) in enumerate(
        (f, l) for f in FIRST for l in LAST)]
    deals: list[Deal] = []
    notes: list[Note] = []
    for i in range(n):
        deal_id = f"b{i:06d}"
        created = T0 + timedelta(minutes=i)
        values: dict[str, object] = {
            "amount": float(rng.randrange(5, 500) * 1000), "stage": rng.choice(STAGES),
            "close_date": (created + timedelta(days=rng.randint(30, 180))).date().isoformat(),
            "owner": rng.choice(people).name,
        }
        # The decide path's other branches: a rep answer to defer to, an older suggestion to replace.
        if rng.random() < 0.25:
            values["economic_buyer"] = rng.choice(people).name
        if rng.random() < 0.2:
            values["competition"] = rng.choice(COMPETITORS)
        if rng.random() < 0.15:
            values["scout_metrics"] = rng.choice(METRICS) + "."
        deals.append(Deal(id=deal_id, name=f"Bench {i:06d}", stage=values["stage"], created_at=created,
                          updated_at=created, values=values))
        for k in range(1 + i % 3):
            labels = rng.sample(LABELS, rng.randint(2, 4))
            text = "\n".join(["Call recap.", *(_line(rng, label) for label in labels), "Next step: follow-up call."])
            notes.append(Note(id=f"{deal_id}-n{k}", deal_id=deal_id, author="Bench Rep",
                              created_at=created + timedelta(days=k + 1), title=f"Call {k + 1}", text=text))
    return WorkspaceData(fields=field_specs(), people=people, deals=deals, notes=notes)

"""The decision table: a pure function from what the CRM holds to what Scout should do with one finding."""

from __future__ import annotations

from typing import Any

from engine.fieldtypes import is_empty, same_value
from engine.medic import ConceptFields
from engine.models import Deal, Decision, Finding, Verdict


def decide(fields: ConceptFields, deal: Deal, finding: Finding, new: Any, applied_before: bool) -> Decision:
    """`new` is the finding's value already coerced to the scout field's type.

    `applied_before` says whether this exact value from this note was already written live (a rehearsal
    never counts). Order matters: the rep's answer always wins, then we avoid rewriting what is there.
    """
    rep_value = deal.values.get(fields.rep.name)
    current = deal.values.get(fields.scout.name)

    def verdict(v: Verdict) -> Decision:
        return Decision(
            concept=fields.concept, verdict=v, scout_field=fields.scout.name, rep_field=fields.rep.name,
            previous=current, new=new, rep_value=rep_value, finding=finding,
        )

    if not is_empty(fields.rep.type, rep_value):
        return verdict(Verdict.REP_FILLED)
    current_empty = is_empty(fields.scout.type, current)
    if not current_empty and same_value(current, new):
        return verdict(Verdict.UNCHANGED)
    if applied_before:
        return verdict(Verdict.DUPLICATE)
    return verdict(Verdict.WRITE if current_empty else Verdict.UPDATE)

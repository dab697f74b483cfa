"""`scout setup`: create the seven `scout_*` fields. Rehearsal first; both locks to apply; safe to repeat."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from engine.crm.base import CRMError, CRMReader, CRMWriter, FieldTypeConflict
from engine.gate import Gate
from engine.medic import FieldMap
from engine.models import ActionKind, RunSummary
from engine.store import ActionLog, ActionRow


class FieldPlan(BaseModel):
    field: str
    type: str
    state: Literal["exists", "would_create", "created", "conflict", "failed"]
    detail: str = ""


_PHRASES = {"created": "created", "would_create": "would be created", "exists": "already there",
            "conflict": "in conflict", "failed": "failed"}


def describe(counts: dict[str, int], gate: Gate) -> str:
    """One line for the runs table: 'setup: 7 created', 'DRY RUN: 7 would be created'."""
    parts = [f"{n} {_PHRASES[state]}" for state, n in counts.items() if n] or ["no fields in the map"]
    return f"{'setup' if gate.live else 'DRY RUN'}: {', '.join(parts)}"


async def setup_fields(
    crm: CRMReader, writer: CRMWriter | None, store: ActionLog, field_map: FieldMap, gate: Gate
) -> tuple[int, list[FieldPlan]]:
    run_id = await store.start_run("setup", dry_run=not gate.live, dry_run_reason=gate.reason)
    summary = RunSummary(run_id=run_id, mode=gate.mode, dry_run_reason=gate.reason)
    try:
        plans = await _plan_and_create(run_id, crm, writer, store, field_map, gate)
    except Exception as exc:
        # The run ends on record either way, so `scout log` never shows it running forever.
        await store.finish_run(summary, f"setup stopped: {type(exc).__name__}: {exc}", status="failed")
        raise
    except BaseException:
        await store.mark_interrupted(run_id, "setup interrupted")  # Ctrl-C or SIGTERM
        raise
    n = {state: sum(p.state == state for p in plans) for state in _PHRASES}
    summary = summary.model_copy(update=dict(written=n["created"], would_write=n["would_create"],
                                             skipped=n["exists"], failed=n["conflict"] + n["failed"]))
    await store.finish_run(summary, describe(n, gate))
    return run_id, plans


async def _plan_and_create(
    run_id: int, crm: CRMReader, writer: CRMWriter | None, store: ActionLog, field_map: FieldMap, gate: Gate
) -> list[FieldPlan]:
    existing = await crm.field_specs()
    plans: list[FieldPlan] = []
    for spec in field_map.scout_fields():
        have = existing.get(spec.name)
        row = ActionRow(run_id=run_id, field=spec.name, action=ActionKind.SKIPPED, dry_run=not gate.live,
                        new={"type": spec.type.value, "options": list(spec.options)})
        if have is not None and have.type is spec.type:
            plans.append(FieldPlan(field=spec.name, type=spec.type, state="exists"))
            row.reason = "field already exists with this type"
        elif have is not None:
            detail = f"exists as {have.type}, not {spec.type}: Scout will not touch it; rename or remove it"
            plans.append(FieldPlan(field=spec.name, type=spec.type, state="conflict", detail=detail))
            row.action, row.reason = ActionKind.FAILED, detail
        elif writer is None:
            plans.append(FieldPlan(field=spec.name, type=spec.type, state="would_create"))
            row.action, row.reason = ActionKind.WOULD_CREATE_FIELD, "field missing"
        else:
            try:
                created = await writer.create_field(spec)
                plans.append(FieldPlan(field=spec.name, type=spec.type, state="created" if created else "exists"))
                row.action = ActionKind.FIELD_CREATED if created else ActionKind.SKIPPED
                row.status, row.reason = ("applied", "created") if created else ("none", "already existed")
            except FieldTypeConflict as exc:
                plans.append(FieldPlan(field=spec.name, type=spec.type, state="conflict", detail=str(exc)))
                row.action, row.reason = ActionKind.FAILED, str(exc)
            except CRMError as exc:
                plans.append(FieldPlan(field=spec.name, type=spec.type, state="failed", detail=str(exc)))
                row.action, row.status, row.error = ActionKind.FAILED, "failed", str(exc)
        await store.log(row)
    return plans


async def missing_rep_fields(crm: CRMReader, field_map: FieldMap) -> list[str]:
    """Rep fields the map names that the CRM does not have (a typo in SCOUT_FIELD_MAP, usually).

    A pass reads a missing field as empty, so it would keep suggesting over answers the rep did fill in
    the real field: a live pass refuses instead.
    """
    existing = await crm.field_specs()
    return [c.rep.name for c in field_map.concepts.values() if c.rep.name not in existing]


async def missing_scout_fields(crm: CRMReader, field_map: FieldMap) -> list[str]:
    existing = await crm.field_specs()
    return [s.name for s in field_map.scout_fields() if s.name not in existing or existing[s.name].type is not s.type]

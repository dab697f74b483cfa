"""A reviewer's decision on a suggestion: promote it into the rep's field, or dismiss it.

Promotion is a human's decision, so the reviewer's click stands for `--apply`; `LIVE_WRITES=1` is still
required (the second lock). With it closed the click is rehearsed: logged as `would_promote`, nothing written.

Before anything is written the suggestion is checked again against the CRM as it is now:
- the rep field must still be empty (the rep's answer always wins);
- the note it cites must still hold the quoted excerpt;
- a live suggestion must still stand in its scout_* field (not replaced, cleared or undone);
- a rehearsed suggestion (never written) must still be Scout's newest suggestion for that field, and the
  scout_* field must be empty or hold that same value. No fresh model call is made on a click: the latest
  pass's logged decision stands for "what a fresh decision would propose".

Every click is its own run (kind `promote` or `dismiss`, `target_run` = the suggestion's pass), so
`scout undo RUN` reverts one promotion without touching the pass that suggested it. A promotion logs its
intent (`promoted`, pending) before the CRM call and its outcome after, with the reviewer as actor.
A second click finds the first decision and does nothing; a replayed payload (same click id) is answered
with the first answer. Who may review is checked by the caller (bot/), which knows Slack user groups.

Edit & promote: the reviewer may change the value before it is written. Every check above still runs on
the suggestion as Scout made it (its quote must still stand); the value written is the reviewer's, coerced to
the rep field's type. The log row keeps the suggestion's note and quote, and its reason names both Scout's
value and the edit: the edit is the human's decision and needs no quote of its own.
"""

from __future__ import annotations

from collections.abc import Awaitable
from enum import StrEnum
from functools import partial
from typing import Any

from pydantic import BaseModel

from engine.crm.base import CRMError, CRMReader, DealNotFound
from engine.errors import InvalidEdit, ReviewInterrupted  # noqa: F401 (re-exported)
from engine.extract.citations import EXCERPT_NOT_FOUND, verify_citations
from engine.fieldtypes import CoercionError, coerce, display, is_empty, same_value
from engine.gate import Gate, gated_crm, open_gate
from engine.jobs import open_log
from engine.medic import ConceptFields, FieldMap
from engine.reconcile import field_holds, interrupt_dead_runs
from engine.models import ActionKind, Deal, FieldSpec, FieldType, Finding, RunSummary
from engine.writeguard import ScoutWriter
from engine.settings import Settings
from engine.store import (
    SUGGESTIONS,
    ActionRow,
    ProvenanceLog,
    ReviewClaim,
    is_suggestion,
    suggestion_key,
)


class ReviewOutcome(StrEnum):
    PROMOTED = "promoted"  # the rep field was written
    WOULD_PROMOTE = "would_promote"  # LIVE_WRITES is closed: nothing written
    DISMISSED = "dismissed"
    ALREADY = "already"  # decided earlier (or in flight): nothing done
    REFUSED = "refused"  # no longer promotable as it stands: nothing written
    FAILED = "failed"  # the CRM rejected the write or could not be read
    NOT_FOUND = "not_found"  # no such suggestion in the log


class ReviewResult(BaseModel):
    outcome: ReviewOutcome
    suggestion_id: int
    reviewer: str
    detail: str  # one plain sentence for the reviewer
    final: bool  # True when the suggestion can no longer be acted on (buttons can go)
    deal_id: str | None = None
    deal_name: str | None = None
    rep_field: str | None = None
    scout_field: str | None = None
    value: Any = None  # the suggestion as Scout made it
    written: Any = None  # what went (or would go) into the rep field
    run_id: int | None = None  # this click's run: `scout undo RUN` reverts a promotion
    action_id: int | None = None
    decided_by: str | None = None  # for ALREADY: who decided first
    decided_action: ActionKind | None = None
    replay: bool = False
    edited: bool = False  # the reviewer changed the value before promoting it


def check_edit(rep: FieldSpec, value: Any) -> Any:
    """The edited value in the rep field's own type, or InvalidEdit (checked again when it is written)."""
    if rep.type is not FieldType.MULTI_SELECT and is_empty(rep.type, value):
        raise InvalidEdit("enter a value (or use Dismiss)")
    try:
        return promotion_value(rep, value)
    except _Refusal as refusal:
        raise InvalidEdit(refusal.reason) from None


class _OutcomeUnknown(Exception):
    """The write raised and the CRM could not be read back: its intent stays pending until reconciled."""


class _Progress:
    """What a click has logged so far, for closing its run if it is cut short."""

    def __init__(self) -> None:
        self.intent: int | None = None


async def _abandon(store: ProvenanceLog, run_id: int, gate: Gate | None, exc: BaseException,
                   progress: _Progress) -> None:
    """Close a click's run as failed. A pending intent stays pending: only the CRM knows if the write landed."""
    summary = RunSummary(run_id=run_id, mode=gate.mode if gate else "LIVE", dry_run_reason=gate.reason if gate else None,
                         failed=1 if progress.intent is not None else 0)
    pending = f"; intent {progress.intent} is pending until reconciled" if progress.intent is not None else ""
    try:
        await store.finish_run(summary, f"interrupted: {type(exc).__name__}: {exc}{pending}", status="failed")
    except Exception:  # the original error is the one to report; a still-running run is settled after 15 min
        pass


async def _close_dead_clicks(store: ProvenanceLog) -> None:
    """A click's run still 'running' whose process is gone, or long after any click could last, died with its
    process: say so in the log. (Its pending intent is settled by the next reconcile, which asks the CRM.)"""
    await interrupt_dead_runs(store, holding_lock=False)


async def _guarded(store: ProvenanceLog, run_id: int, gate: Gate | None, progress: _Progress,
                   work: Awaitable[ReviewResult]) -> ReviewResult:
    """Every click's run ends on record: finished by `_finish`, or failed here whatever stopped it."""
    try:
        return await work
    except BaseException as exc:
        await _abandon(store, run_id, gate, exc, progress)
        if isinstance(exc, Exception):
            raise ReviewInterrupted(exc, run_id=run_id, intent_pending=progress.intent is not None) from exc
        raise


def _not_posted_here(action_id: int, reviewer: str) -> ReviewResult:
    return ReviewResult(outcome=ReviewOutcome.NOT_FOUND, suggestion_id=action_id, reviewer=reviewer, final=True,
                        detail=f"suggestion {action_id} was not posted in this message; nothing was done")


async def _posted_elsewhere(store: ProvenanceLog, suggestion: ActionRow, posted_at: tuple[str, str] | None) -> bool:
    """A click must come from the message the suggestion was posted in (its button names that suggestion)."""
    if posted_at is None:
        return False
    post = await store.post_for(suggestion_key(suggestion))
    return post is None or (post.channel, post.ts) != posted_at


class _Refusal(Exception):
    def __init__(self, reason: str, *, final: bool = True, failed: bool = False):
        super().__init__(reason)
        self.reason, self.final, self.failed = reason, final, failed


def promotion_value(rep: FieldSpec, value: Any) -> Any:
    """The suggestion in the rep field's own type. Person links take the name before a comma."""
    if rep.type is FieldType.RECORD:
        raise _Refusal(f"{rep.name} links a record; Scout cannot pick the record, so promote it by hand")
    if rep.type is FieldType.PERSON:
        name = display(value).split(",")[0].strip()
        if not name:
            raise _Refusal(f"no person's name in '{display(value)}' for {rep.name}")
        return name
    try:
        return coerce(rep, value if isinstance(value, list) else display(value))
    except CoercionError as exc:
        raise _Refusal(f"'{display(value)}' does not fit {rep.name}: {exc}") from exc


async def reverify(
    store: ProvenanceLog, crm: CRMReader, suggestion: ActionRow, fields: ConceptFields
) -> tuple[Deal, Any]:
    """The deal as it is now and the value to write into the rep field; raises _Refusal when stale."""
    if suggestion.field != fields.scout.name:
        raise _Refusal(f"the field map now pairs {suggestion.concept} with {fields.scout.name}, not {suggestion.field}")
    try:
        deal = await crm.get_deal(suggestion.deal_id or "")
        notes = await crm.list_notes(deal.id)
    except DealNotFound as exc:
        raise _Refusal(f"the deal no longer exists ({exc})") from exc
    except CRMError as exc:
        raise _Refusal(f"could not read the deal from the CRM: {exc}", final=False, failed=True) from exc
    rep_now = deal.values.get(fields.rep.name)
    if not is_empty(fields.rep.type, rep_now):
        raise _Refusal(f"the rep has filled {fields.rep.name} since ('{display(rep_now)}'); the rep's value stands")
    finding = Finding(concept=fields.concept, note_id=suggestion.note_id or "",
                      excerpt=suggestion.excerpt or "",
                      value=suggestion.new if isinstance(suggestion.new, list) else display(suggestion.new))
    unverified = verify_citations([finding], notes, FieldMap(concepts={fields.concept: fields}))[1]
    if unverified:
        reason = unverified[0].reason
        raise _Refusal(f"note {suggestion.note_id} no longer holds the quoted excerpt" if reason == EXCERPT_NOT_FOUND
                       else f"the quoted excerpt does not state this suggestion: {reason}")
    scout_now = deal.values.get(fields.scout.name)
    if suggestion.action is ActionKind.WRITTEN:
        if not same_value(scout_now, suggestion.new):
            now = f"now holds '{display(scout_now)}'" if not is_empty(fields.scout.type, scout_now) else "is empty now"
            raise _Refusal(f"{fields.scout.name} {now}: this suggestion is no longer current")
    else:
        latest = await store.latest_for_field(deal.id, fields.scout.name, SUGGESTIONS)
        if latest is not None and not same_value(latest.new, suggestion.new):
            raise _Refusal(f"a newer suggestion ('{display(latest.new)}', run {latest.run_id}) replaced this one")
        if not is_empty(fields.scout.type, scout_now) and not same_value(scout_now, suggestion.new):
            raise _Refusal(
                f"{fields.scout.name} now holds '{display(scout_now)}': this suggestion is no longer current")
    return deal, promotion_value(fields.rep, suggestion.new)


async def _load(store: ProvenanceLog, settings: Settings, action_id: int
                ) -> tuple[ActionRow | None, ConceptFields | None]:
    row = await store.get_action(action_id)
    if row is None or not is_suggestion(row) or not row.concept:
        return None, None
    # By name through the map: a method's or field map's own concept is no member of the MEDIC enum.
    fields = settings.field_map.fields_for(row.concept)
    return (row, fields) if fields is not None else (None, None)


def _result(outcome: ReviewOutcome, suggestion: ActionRow, fields: ConceptFields, reviewer: str, detail: str,
            **kw: Any) -> ReviewResult:
    final = kw.pop("final", outcome in (ReviewOutcome.PROMOTED, ReviewOutcome.DISMISSED, ReviewOutcome.ALREADY))
    return ReviewResult(outcome=outcome, suggestion_id=suggestion.id or 0, reviewer=reviewer, detail=detail,
                        final=final, deal_id=suggestion.deal_id, deal_name=suggestion.deal_name,
                        rep_field=fields.rep.name, scout_field=fields.scout.name, value=suggestion.new, **kw)


def _already(suggestion: ActionRow, fields: ConceptFields, reviewer: str, decided: ActionRow) -> ReviewResult:
    verb = {ActionKind.DISMISSED: "dismissed", ActionKind.PROMOTED: "promoted"}.get(
        decided.action, f"answered ({decided.action.value})")
    when = (decided.created_at or "")[:16].replace("T", " ")
    in_flight = " (still being written)" if decided.status == "pending" else ""
    return _result(ReviewOutcome.ALREADY, suggestion, fields, reviewer,
                   f"already {verb} by {decided.actor} at {when} UTC{in_flight}; nothing more was done",
                   decided_by=decided.actor, decided_action=decided.action, run_id=decided.run_id,
                   action_id=decided.id)


def _lost(claim: ReviewClaim, suggestion: ActionRow, fields: ConceptFields, reviewer: str, run_id: int
          ) -> ReviewResult:
    """This click lost the race: to an earlier decision, or to an earlier delivery of the same click."""
    assert claim.earlier is not None
    if claim.replay and claim.earlier_result is not None:
        first = ReviewResult.model_validate_json(claim.earlier_result)
        return first.model_copy(update={"replay": True, "run_id": run_id, "action_id": None})
    result = _already(suggestion, fields, reviewer, claim.earlier)
    return result.model_copy(update={"run_id": run_id, "action_id": None, "replay": claim.replay})


def _not_found(action_id: int, reviewer: str) -> ReviewResult:
    return ReviewResult(outcome=ReviewOutcome.NOT_FOUND, suggestion_id=action_id, reviewer=reviewer, final=True,
                        detail=f"no suggestion {action_id} in the provenance log; nothing was done")


async def _replayed(store: ProvenanceLog, click_id: str | None) -> ReviewResult | None:
    claim = await store.replayed_click(click_id)
    if claim is None or claim.earlier_result is None:
        return None
    return ReviewResult.model_validate_json(claim.earlier_result).model_copy(update={"replay": True})


async def _finish(store: ProvenanceLog, result: ReviewResult, gate: Gate | None) -> ReviewResult:
    assert result.run_id is not None
    counts = {ReviewOutcome.PROMOTED: "written", ReviewOutcome.WOULD_PROMOTE: "would_write",
              ReviewOutcome.REFUSED: "skipped", ReviewOutcome.FAILED: "failed"}
    summary = RunSummary(run_id=result.run_id, mode=gate.mode if gate else "LIVE",
                         dry_run_reason=gate.reason if gate else None)
    if result.outcome in counts and result.action_id is not None and not result.replay:
        setattr(summary, counts[result.outcome], 1)
    await store.finish_run(summary, f"{result.outcome.value} by {result.reviewer}: {result.detail}")
    if result.action_id is not None and result.outcome is not ReviewOutcome.ALREADY:
        await store.set_review_result(result.action_id, result.model_dump_json())
    return result


async def _precheck(
    store: ProvenanceLog, settings: Settings, action_id: int, reviewer_id: str, click_id: str | None,
    posted_at: tuple[str, str] | None,
) -> ReviewResult | tuple[ActionRow, ConceptFields]:
    """What every click checks first: the answer to give now, or the suggestion and its fields to act on."""
    await _close_dead_clicks(store)
    suggestion, fields = await _load(store, settings, action_id)
    if suggestion is None or fields is None:
        return _not_found(action_id, reviewer_id)
    if await _posted_elsewhere(store, suggestion, posted_at):
        return _not_posted_here(action_id, reviewer_id)
    if (replay := await _replayed(store, click_id)) is not None:
        return replay
    if (decided := await store.final_decision(suggestion_key(suggestion))) is not None:
        return _already(suggestion, fields, reviewer_id, decided)
    return suggestion, fields


async def promote(action_id: int, reviewer_id: str, settings: Settings, *, click_id: str | None = None,
                  posted_at: tuple[str, str] | None = None, edited: Any = None) -> ReviewResult:
    """Promote suggestion `action_id` (a written or would_write row) into the rep's field.

    `posted_at` (channel, message ts): the message clicked; the suggestion must have been posted there.
    `edited`: the reviewer's own value to write instead of Scout's (None: Scout's, as suggested).
    Raises ReviewInterrupted when something unplanned stops it after its run started (the run is closed).
    """
    gate = open_gate(True, settings)  # the reviewer's click is the --apply; LIVE_WRITES is the other lock
    async with open_log(settings) as store:
        checked = await _precheck(store, settings, action_id, reviewer_id, click_id, posted_at)
        if isinstance(checked, ReviewResult):
            return checked
        suggestion, fields = checked

        async with gated_crm(settings, gate) as (crm, writer):
            run_id = await store.start_run("promote", dry_run=not gate.live, dry_run_reason=gate.reason,
                                           target_run=suggestion.run_id, model=suggestion.model)
            progress = _Progress()
            return await _guarded(store, run_id, gate, progress, _promote_run(
                store, crm, writer, gate, suggestion, fields, reviewer_id, click_id, run_id, progress, edited))


def _as_suggested(rep: FieldSpec, value: Any) -> Any:
    """What a plain promotion would write (None when Scout's own value does not fit: any edit is then an edit)."""
    try:
        return promotion_value(rep, value)
    except _Refusal:
        return None


def _edit_note(suggestion: ActionRow, fields: ConceptFields, value: Any) -> str:
    return (f"edited by the reviewer: Scout suggested '{display(suggestion.new)}', the reviewer wrote "
            f"'{display(value)}'; the edit is the reviewer's decision (the quote is Scout's, for its suggestion)")


async def _promote_run(
    store: ProvenanceLog, crm: CRMReader, writer: ScoutWriter | None, gate: Gate, suggestion: ActionRow,
    fields: ConceptFields, reviewer_id: str, click_id: str | None, run_id: int, progress: _Progress,
    edited: Any = None,
) -> ReviewResult:
    row = ActionRow(run_id=run_id, deal_id=suggestion.deal_id, deal_name=suggestion.deal_name,
                    concept=suggestion.concept, field=fields.rep.name, note_id=suggestion.note_id,
                    excerpt=suggestion.excerpt, model=suggestion.model, actor=reviewer_id,
                    dry_run=not gate.live, action=ActionKind.SKIPPED)
    try:
        deal, value = await reverify(store, crm, suggestion, fields)
        if edited is not None:
            value = promotion_value(fields.rep, edited)
    except _Refusal as refusal:
        row.action = ActionKind.FAILED if refusal.failed else ActionKind.SKIPPED
        row.status = "failed" if refusal.failed else "none"
        row.reason, row.new = f"promote refused: {refusal.reason}", suggestion.new
        # Exclusive too: a refusal caused by a racing click's own promotion is that click's "already".
        claim = await store.record_review(row, suggestion=suggestion, decision="promote",
                                          click_id=click_id, exclusive=True)
        if claim.action_id is None:
            return await _finish(store, _lost(claim, suggestion, fields, reviewer_id, run_id), gate)
        outcome = ReviewOutcome.FAILED if refusal.failed else ReviewOutcome.REFUSED
        result = _result(outcome, suggestion, fields, reviewer_id, f"not promoted: {refusal.reason}",
                         final=refusal.final, run_id=run_id, action_id=claim.action_id)
        return await _finish(store, result, gate)

    rep_now = deal.values.get(fields.rep.name)
    row.previous, row.rep_value, row.new = rep_now, rep_now, value
    is_edit = edited is not None and not same_value(value, _as_suggested(fields.rep, suggestion.new))
    edit = {"edited": True} if is_edit else {}
    edit_note = f"; {_edit_note(suggestion, fields, value)}" if is_edit else ""
    if writer is None:
        row.action = ActionKind.WOULD_PROMOTE
        row.reason = f"nothing written: {gate.reason}{edit_note}"
        claim = await store.record_review(row, suggestion=suggestion, decision="promote",
                                          click_id=click_id, exclusive=True)
        if claim.action_id is None:
            return await _finish(store, _lost(claim, suggestion, fields, reviewer_id, run_id), gate)
        result = _result(ReviewOutcome.WOULD_PROMOTE, suggestion, fields, reviewer_id,
                         f"not written: {gate.reason}; a promotion writes {fields.rep.name} only when "
                         "LIVE_WRITES=1", written=value, run_id=run_id, action_id=claim.action_id, **edit)
        return await _finish(store, result, gate)

    # Live. The intent and the claim are one transaction: a racing second click finds it and stops.
    row.action, row.status = ActionKind.PROMOTED, "pending"
    row.reason = f"promoted by reviewer {reviewer_id} from {fields.scout.name} (run {suggestion.run_id}){edit_note}"
    claim = await store.record_review(row, suggestion=suggestion, decision="promote",
                                      click_id=click_id, exclusive=True)
    if claim.action_id is None:
        return await _finish(store, _lost(claim, suggestion, fields, reviewer_id, run_id), gate)
    progress.intent = claim.action_id
    rep = fields.rep.name
    # The rep field is written only here, naming the concept whose twin it is (invariant 1's one exception).
    write = partial(writer.write_rep_field, deal.id, fields.concept, rep, value)
    carried = await store.carry_out(claim.action_id, write, lambda: field_holds(crm, deal.id, rep, value))
    if carried.status == "pending":
        raise _OutcomeUnknown(carried.error or "the write's outcome is unknown")
    progress.intent = None
    if not carried.applied:
        result = _result(ReviewOutcome.FAILED, suggestion, fields, reviewer_id,
                         f"not written: the CRM refused {rep} = '{display(value)}': {carried.error}",
                         final=False, written=value, run_id=run_id, action_id=claim.action_id, **edit)
        return await _finish(store, result, gate)
    result = _result(ReviewOutcome.PROMOTED, suggestion, fields, reviewer_id,
                     f"written to {fields.rep.name}: '{display(value)}' (undo with `scout undo {run_id}`)",
                     written=value, run_id=run_id, action_id=claim.action_id, **edit)
    return await _finish(store, result, gate)


async def dismiss(action_id: int, reviewer_id: str, settings: Settings, *, click_id: str | None = None,
                  posted_at: tuple[str, str] | None = None) -> ReviewResult:
    """Dismiss a suggestion: logged, remembered so it is not posted again; the CRM is not touched."""
    async with open_log(settings) as store:
        checked = await _precheck(store, settings, action_id, reviewer_id, click_id, posted_at)
        if isinstance(checked, ReviewResult):
            return checked
        suggestion, fields = checked
        run_id = await store.start_run("dismiss", dry_run=False, dry_run_reason=None, target_run=suggestion.run_id,
                                       model=suggestion.model)
        return await _guarded(store, run_id, None, _Progress(),
                              _dismiss_run(store, suggestion, fields, reviewer_id, click_id, run_id))


async def _dismiss_run(store: ProvenanceLog, suggestion: ActionRow, fields: ConceptFields, reviewer_id: str,
                       click_id: str | None, run_id: int) -> ReviewResult:
    row = ActionRow(run_id=run_id, deal_id=suggestion.deal_id, deal_name=suggestion.deal_name,
                    concept=suggestion.concept, field=fields.scout.name, new=suggestion.new,
                    note_id=suggestion.note_id, excerpt=suggestion.excerpt, model=suggestion.model,
                    actor=reviewer_id, dry_run=False, action=ActionKind.DISMISSED,
                    reason=f"dismissed by reviewer {reviewer_id}; not posted again")
    claim = await store.record_review(row, suggestion=suggestion, decision="dismiss", click_id=click_id,
                                      exclusive=True)
    if claim.action_id is None:
        return await _finish(store, _lost(claim, suggestion, fields, reviewer_id, run_id), None)
    result = _result(ReviewOutcome.DISMISSED, suggestion, fields, reviewer_id,
                     "dismissed; nothing was written and it will not be posted again",
                     run_id=run_id, action_id=claim.action_id)
    return await _finish(store, result, None)

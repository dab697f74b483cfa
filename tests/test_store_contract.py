"""The store's contract, on both backends: the embedded SQLite file and a real PostgreSQL (a schema per test).

Every protocol of engine.store, through `ProvenanceStore.open(target)` as the jobs open it; what is asserted
is what the log then says."""

from __future__ import annotations

import pytest

from engine.errors import LockHeld
from engine.models import ActionKind, RunSummary, Usage
from engine.provenance import ActionRow, BatchEntry, ProvenanceStore, open_log_reader, suggestion_key


def row(run_id: int, **kw) -> ActionRow:
    base = dict(run_id=run_id, deal_id="d1", deal_name="Acme", concept="metrics", field="scout_metrics",
                action=ActionKind.WRITTEN, new="40% faster", note_id="n1", excerpt="40% faster", dry_run=False,
                status="pending")
    return ActionRow(**{**base, **kw})


@pytest.fixture
async def store(log_target):
    s = await ProvenanceStore.open(log_target)
    yield s
    await s.aclose()


async def test_runs_and_actions_keep_intent_then_outcome_and_derive_counts(store):
    run_id = await store.start_run("pass", dry_run=False, dry_run_reason=None, cap=10, model="m", prompt_version="p")
    await store.set_total(run_id, 3)
    intent = await store.log(row(run_id))
    assert [r.id for r in await store.pending_intents()] == [intent]
    outcome = await store.carry_out(intent, _ok, _yes)
    assert outcome.applied and await store.pending_intents() == []
    await store.log_scanned([row(run_id, action=ActionKind.SKIPPED, status="none", field="scout_champion",
                                 reason="rep field filled")], "d1", run_id)
    await store.log_many([row(run_id, deal_id="d2", action=ActionKind.DROPPED, status="none")])
    failed = await store.log(row(run_id, deal_id="d3"))
    await store.set_outcome(failed, "failed", "CRM said no", action=ActionKind.FAILED)

    run = await store.get_run(run_id)
    assert (run.written, run.skipped, run.dropped, run.failed, run.scanned, run.total) == (1, 1, 1, 1, 1, 3)
    assert run.status == "running" and run.holder and await store.has_passes()
    assert [r.id for r in await store.running_runs()] == [run_id]
    assert await store.last_live_pass() == run_id
    # A page's duplicate protection in one read: each deal sees only its own applied writes, in the fields
    # asked for it (d3's intent failed, so it protects nothing).
    held = await store.applied_writes({"d1": ["scout_metrics", "scout_champion"], "d3": ["scout_metrics"], "d9": []})
    assert held["d1"].has("scout_metrics", "n1", "40% faster") and not held["d1"].has("scout_champion", "n1", "40% faster")
    assert not held["d3"].has("scout_metrics", "n1", "40% faster")
    assert set(held) == {"d1", "d3", "d9"}
    only_champion = await store.applied_writes({"d1": ["scout_champion"]})
    with pytest.raises(KeyError):
        only_champion["d1"].has("scout_metrics", "n1", "40% faster")  # not read: never silently "no duplicate"
    latest = await store.latest_for_field("d1", "scout_metrics", (ActionKind.WRITTEN,))
    assert latest.id == intent and latest.status == "applied" and latest.new == "40% faster"
    assert [r.action for r in await store.actions_for_run(run_id)] == [
        ActionKind.WRITTEN, ActionKind.SKIPPED, ActionKind.DROPPED, ActionKind.FAILED]
    assert (await store.get_action(failed)).error == "CRM said no"

    summary = RunSummary(run_id=run_id, mode="LIVE", scanned=1, total=3, usage=Usage(input_tokens=5))
    await store.finish_run(summary, "done")
    run = await store.get_run(run_id)
    assert run.status == "finished" and run.summary == "done" and run.usage.input_tokens == 5
    assert [r.id for r in await store.list_runs()] == [run_id]

    undo = await store.start_run("undo", dry_run=False, dry_run_reason=None, target_run=run_id)
    revert = await store.log(row(undo, action=ActionKind.REVERTED, reverts=intent, new=None, previous="40% faster"))
    assert not await store.reverted(intent)
    await store.set_outcome(revert, "applied")
    assert await store.reverted(intent)
    await store.interrupt_runs({undo: "killed"})
    assert (await store.get_run(undo)).status == "interrupted"
    await store.mark_interrupted(undo, "resumed later")
    await store.refresh_counts({run_id, undo})
    assert (await store.get_run(undo)).written == 1


async def _ok() -> None:
    return None


async def _yes() -> bool:
    return True


async def test_a_page_commits_its_intents_then_its_outcomes_with_its_rows_and_scan_marks(store, log_target):
    from engine.provenance import OutcomeUpdate

    run_id = await store.start_run("pass", dry_run=False, dry_run_reason=None)
    ids = await store.log_intents([row(run_id, deal_id=f"d{i}", new=f"v{i}") for i in range(45)])
    other = await ProvenanceStore.open(log_target)  # another process, as after a crash: the intents are there
    try:
        assert [(r.id, r.deal_id) for r in await other.pending_intents()] == [(i, f"d{n}") for n, i in enumerate(ids)]
        await store.set_outcomes([OutcomeUpdate(action_id=ids[0], status="applied"),
                                  OutcomeUpdate(action_id=ids[1], status="failed", error="refused: bad value",
                                                action=ActionKind.FAILED)], commit=False)
        assert len(await other.pending_intents()) == 45  # not yet: they go with the page's commit
        await store.log_scanned_many([(f"d{i}", [row(run_id, deal_id=f"d{i}", action=ActionKind.SKIPPED,
                                                     status="none", reason="rep field filled")])
                                      for i in (2, 0, 1)], run_id)
        assert len(await other.pending_intents()) == 43
        first, second = await other.get_action(ids[0]), await other.get_action(ids[1])
        assert (first.action, first.status) == (ActionKind.WRITTEN, "applied")
        assert (second.action, second.status, second.error) == (ActionKind.FAILED, "failed", "refused: bad value")
        run = await other.get_run(run_id)
        assert (run.scanned, run.written, run.failed, run.skipped) == (3, 1, 1, 3)
        marks = await other.last_scanned(dry_run=False)
        assert sorted(marks, key=marks.__getitem__) == ["d2", "d0", "d1"]  # the page's order, for the rotation
    finally:
        await other.aclose()


async def test_scan_marks_rotate_per_mode(store):
    live = await store.start_run("pass", dry_run=False, dry_run_reason=None)
    dry = await store.start_run("pass", dry_run=True, dry_run_reason="no --apply")
    await store.log_scanned([], "d1", live)
    await store.log_scanned([], "d2", dry, counted=False)
    await store.log_scanned([], "d1", live)  # a second scan moves the mark, not a second row
    assert set(await store.last_scanned(False)) == {"d1"} and set(await store.last_scanned(True)) == {"d2"}
    assert set(await store.last_scanned()) == {"d1", "d2"}
    assert (await store.get_run(live)).scanned == 2 and (await store.get_run(dry)).scanned is None


async def test_the_extraction_cache_keeps_one_answer_per_key_and_a_deferred_entry_lands_with_the_next_commit(
        log_target):
    store = await ProvenanceStore.open(log_target)
    await store.cache_put("k1", "first")
    await store.cache_put("k1", "second")
    await store.cache_put("k2", "later", commit=False)
    assert await store.cache_get(["k1", "missing", "k1"]) == {"k1": "second"}
    assert await store.cache_get([]) == {}
    await store.start_run("pass", dry_run=True, dry_run_reason="x")  # the next commit carries k2
    await store.cache_put("k3", "at close", commit=False)
    await store.aclose()
    store = await ProvenanceStore.open(log_target)
    try:
        assert await store.cache_get(["k2", "k3"]) == {"k2": "later", "k3": "at close"}
        # More keys than one IN (...) list binds: every one is found.
        for i in range(1200):
            await store.cache_put(f"many{i}", str(i), commit=False)
        await store.start_run("pass", dry_run=True, dry_run_reason="x")
        assert len(await store.cache_get([f"many{i}" for i in range(1200)])) == 1200
    finally:
        await store.aclose()


async def test_batches_resume_in_submission_order(store):
    run_id = await store.start_run("pass", dry_run=True, dry_run_reason="x")
    entries = [BatchEntry(custom_id=c, deal_id=d, cache_key=f"k{d}") for c, d in (("z-p0", "d9"), ("a-p0", "d1"))]
    await store.record_batch("b1", run_id=run_id, model="m", prompt_version="p", entries=entries)
    assert (await store.open_batch()).id == "b1"
    assert await store.batch_entries("b1") == entries  # as submitted, not sorted
    await store.close_batch("b1", "ended", "done")
    assert await store.open_batch() is None and (await store.get_batch("b1")).status == "ended"


async def test_a_review_is_logged_once_per_click_and_once_per_suggestion(store):
    run_id = await store.start_run("pass", dry_run=False, dry_run_reason=None)
    sid = await store.log(row(run_id, status="applied"))
    suggestion = await store.get_action(sid)
    assert [r.id for r in await store.new_suggestions(run_id)] == [sid]
    assert [r.id for r in await store.pending_suggestions()] == [sid]
    await store.record_post(suggestion, "C1", "1.1", "0.5")
    await store.record_post(suggestion, "C1", "9.9", None)  # posted once: the first post stands
    assert (await store.post_for(suggestion_key(suggestion))).ts == "1.1"
    assert await store.new_suggestions(run_id) == []
    assert [r.id for r in await store.posted_with("C1", "1.1")] == [sid]
    assert await store.deal_messages_in("C1", "0.5", "d1") == ["1.1"]

    promote = await store.start_run("promote", dry_run=False, dry_run_reason=None, target_run=run_id)
    mine = row(promote, action=ActionKind.PROMOTED, field="metrics", actor="U1")
    claim = await store.record_review(mine, suggestion=suggestion, decision="promote", click_id="c1", exclusive=True)
    assert claim.action_id is not None
    await store.set_review_result(claim.action_id, '{"outcome": "promoted"}')
    again = await store.record_review(mine, suggestion=suggestion, decision="promote", click_id="c1", exclusive=True)
    assert again.replay and again.earlier.id == claim.action_id and again.earlier_result == '{"outcome": "promoted"}'
    other = await store.record_review(mine, suggestion=suggestion, decision="promote", click_id="c2", exclusive=True)
    assert other.action_id is None and other.earlier.id == claim.action_id  # already decided: nothing logged
    assert (await store.final_decision(suggestion_key(suggestion))).id == claim.action_id
    assert (await store.replayed_click("c1")).earlier.id == claim.action_id
    assert await store.pending_suggestions() == []  # decided
    assert await store.review_results([suggestion_key(suggestion)]) == {
        suggestion_key(suggestion): '{"outcome": "promoted"}'}
    next_run = await store.start_run("pass", dry_run=False, dry_run_reason=None)
    assert await store.unposted_earlier(next_run) == []


async def test_one_pass_at_a_time(log_target):
    first, second = await ProvenanceStore.open(log_target), await ProvenanceStore.open(log_target)
    try:
        holder = await first.acquire_lock()
        with pytest.raises(LockHeld, match="another pass is running"):
            await second.acquire_lock()
        await first.extend_lock(holder)
        await first.release_lock(holder)
        mine = await second.acquire_lock()
        await second.release_lock(mine)
    finally:
        await first.aclose()
        await second.aclose()


async def test_the_read_only_face_reads_the_log_and_a_write_through_it_fails(log_target):
    store = await ProvenanceStore.open(log_target)
    run_id = await store.start_run("pass", dry_run=True, dry_run_reason="no --apply")
    await store.aclose()
    reader = await open_log_reader(log_target)
    try:
        assert [r.id for r in await reader.list_runs()] == [run_id]
        assert (await reader.get_run(run_id)).kind == "pass"
        underneath = reader._store  # past the protocol, as a bug would reach: the connection itself refuses
        with pytest.raises(Exception, match="read-only|readonly"):
            await underneath.start_run("pass", dry_run=True, dry_run_reason="x")
    finally:
        await reader.aclose()
    store = await ProvenanceStore.open(log_target)
    try:
        assert [r.id for r in await store.list_runs()] == [run_id]  # nothing was written
    finally:
        await store.aclose()

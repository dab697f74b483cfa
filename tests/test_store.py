"""The provenance store behind small interfaces: the read-only faces get a reader with no write method."""

from __future__ import annotations

import ast
import inspect
import typing
from pathlib import Path

from engine import dealview
from engine.provenance import ProvenanceStore, open_log_reader
from engine.store import LogReader, ProvenanceLog

ROOT = Path(__file__).resolve().parent.parent
READS = {"get_run", "list_runs", "actions_for_run", "latest_for_field", "last_scanned", "pending_suggestions",
         "review_results", "aclose"}


def _members(cls: type) -> set[str]:
    return {name for name, _ in inspect.getmembers(cls, inspect.isfunction) if not name.startswith("_")}


def test_the_log_reader_protocol_has_no_write_method() -> None:
    writes = _members(ProvenanceLog) - READS  # everything else the log can do changes it
    assert {"log", "start_run", "cache_put", "acquire_lock", "record_batch", "record_review"} <= writes
    assert _members(LogReader) == READS
    assert not _members(LogReader) & writes


async def test_the_reader_handed_out_has_only_the_readers_methods(tmp_path) -> None:
    path = tmp_path / "log.sqlite"
    store = await ProvenanceStore.open(path)
    run_id = await store.start_run("pass", dry_run=True, dry_run_reason="no --apply")
    await store.aclose()
    reader = await open_log_reader(path)
    try:
        assert {name for name in dir(reader) if not name.startswith("_")} == READS
        assert (await reader.get_run(run_id)).kind == "pass"
        assert [r.id for r in await reader.list_runs()] == [run_id]
    finally:
        await reader.aclose()


def _calls(path: Path, function: str) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    node = next(n for n in ast.walk(tree) if isinstance(n, ast.AsyncFunctionDef) and n.name == function)
    return {ast.unparse(c.func) for c in ast.walk(node) if isinstance(c, ast.Call)}


def test_scout_and_scout_deal_are_handed_only_the_reader() -> None:
    assert typing.get_type_hints(dealview.lookup)["log"] == LogReader | None
    assert typing.get_type_hints(dealview.build_view)["log"] == LogReader | None
    for path, function in ((ROOT / "bot/listeners/command.py", "answer"),
                           (ROOT / "engine/commands/core.py", "cmd_deal")):
        calls = _calls(path, function)
        assert "open_log_reader" in calls, path
        assert not {c for c in calls if "ProvenanceStore" in c}, path


async def test_a_batch_of_intents_is_one_commit_with_its_ids_in_order_and_its_outcomes_another(tmp_path) -> None:
    import sqlite3

    from engine.models import ActionKind
    from engine.provenance import ActionRow, OutcomeUpdate, ProvenanceStore

    store = await ProvenanceStore.open(tmp_path / "log.sqlite")
    run = await store.start_run("pass", dry_run=False, dry_run_reason=None)
    rows = [ActionRow(run_id=run, deal_id=f"d{i}", field="scout_metrics", new=f"v{i}", action=ActionKind.WRITTEN,
                      status="pending", dry_run=False) for i in range(45)]  # more than one INSERT's worth
    ids = await store.log_intents(rows)
    # Committed: another connection (another process, after a crash) sees every intent.
    seen = sqlite3.connect(tmp_path / "log.sqlite").execute(
        "SELECT id, deal_id FROM actions WHERE status = 'pending' ORDER BY id").fetchall()
    assert [(i, f"d{n}") for n, i in enumerate(ids)] == seen
    await store.set_outcomes([OutcomeUpdate(action_id=ids[0], status="applied"),
                              OutcomeUpdate(action_id=ids[1], status="failed", error="refused by the CRM: no",
                                            action=ActionKind.FAILED)])
    first, second = await store.get_action(ids[0]), await store.get_action(ids[1])
    assert (first.action, first.status) == (ActionKind.WRITTEN, "applied")
    assert (second.action, second.status, second.error) == (ActionKind.FAILED, "failed", "refused by the CRM: no")
    assert len(await store.pending_intents()) == 43
    await store.aclose()


def test_app_home_reads_the_queue_through_the_reader() -> None:
    calls = _calls(ROOT / "bot/home.py", "read_queue")
    assert "open_log_reader" in calls and not {c for c in calls if "ProvenanceStore" in c or "open_log(" in c}


async def test_the_review_queue_is_each_fields_newest_suggestion_not_decided_nor_undone(env) -> None:
    from engine.jobs import run_job, undo_job
    from engine.models import ActionKind
    from engine.promote import dismiss
    from tests.pipeline import GOOD_SCRIPT, seed, small_pipeline
    from tests.standins.scripted_model import ScriptedModel

    settings = env(LIVE_WRITES="1")
    await seed(settings.workspace, small_pipeline())
    rehearsal, _ = await run_job(settings, apply=False, extractor=ScriptedModel(GOOD_SCRIPT).extractor())
    store = await ProvenanceStore.open(settings.log_db)
    try:
        rehearsed = {r.field: r for r in await store.run_suggestions(rehearsal.run_id)}
        await dismiss(rehearsed["scout_competition"].id, "U1", settings)
        first = await store.pending_suggestions()
        live, _ = await run_job(settings, apply=True, extractor=ScriptedModel(GOOD_SCRIPT).extractor(model="m2"))
        second = await store.pending_suggestions()
        await undo_job(settings, live.run_id, apply=True)
        third = await store.pending_suggestions()
    finally:
        await store.aclose()

    fields = {"scout_economic_buyer", "scout_decision_criteria", "scout_identified_pain", "scout_paper_process",
              "scout_champion"}  # competition was dismissed, and stays so when the live pass suggests it again
    assert {r.field for r in first} == fields and {r.run_id for r in first} == {rehearsal.run_id}
    assert [r.id for r in first] == sorted((r.id for r in first), reverse=True)  # newest first
    assert {r.field for r in second} == fields  # each field's newest: the live pass's replace the rehearsal's
    assert {(r.run_id, r.action) for r in second} == {(live.run_id, ActionKind.WRITTEN)}
    assert third == []  # undone: no longer suggestions to review

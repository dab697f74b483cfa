"""Batch mode end to end: the real anthropic client against a local Messages + Message Batches stand-in
(tests/standins/model_server.py), the embedded CRM and a real provenance log in tmp_path."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import timedelta

import pytest

from engine.extract.batch import BatchOptions
from engine.cli import main
from engine.crm.local import LocalCRM
from engine.extract.pricing import estimate_cost
from engine.gate import open_gate
from engine.jobs import run_job
from engine.models import ActionKind, Note, Usage
from engine.provenance import ProvenanceStore
from engine.runner import run_pass
from tests.standins.model_server import ScriptedServer, user_text
from tests.pipeline import GOOD_SCRIPT, T0, seed, small_pipeline, snapshot
from tests.standins.scripted_model import ScriptedModel
from tests.samples import SIGNAL, long_note_with_signal_near_the_end

EXPECTED_WRITES = [
    ("d1", "scout_competition"), ("d1", "scout_decision_criteria"), ("d1", "scout_economic_buyer"),
    ("d1", "scout_identified_pain"), ("d3", "scout_champion"), ("d5", "scout_paper_process"),
]
BATCH_IDS = ["d1-p0", "d2-p0", "d3-p0", "d5-p0"]  # the deals with notes, oldest id first


class ProcessDied(BaseException):
    """Stands for the process being killed: nothing in the engine may catch it."""


async def log_of(settings):
    return await ProvenanceStore.open(settings.log_db)


async def actions(settings, run_id):
    store = await log_of(settings)
    try:
        return await store.actions_for_run(run_id)
    finally:
        await store.aclose()


def outcome_rows(rows):
    """What a user sees per suggestion, without ids and timestamps."""
    return sorted((r.deal_id, r.field or "", r.action.value, json.dumps(r.new), r.note_id or "", r.excerpt or "",
                   r.reason or "", r.status) for r in rows)


def since(server, n):
    return server.routes()[n:]


def by_deal(texts):
    return {re.search(r'Deal: "([^"]+)"', t).group(1): t for t in texts}


async def test_a_batch_pass_writes_what_a_sync_pass_writes_at_half_the_price(make_settings, tmp_path):
    sync_settings = make_settings(LIVE_WRITES="1", SCOUT_DATA_DIR=str(tmp_path / "sync"))
    batch_settings = make_settings(LIVE_WRITES="1", SCOUT_DATA_DIR=str(tmp_path / "batch"),
                                   SCOUT_BATCH_POLL_SECONDS="0")
    for s in (sync_settings, batch_settings):
        await seed(s.workspace, small_pipeline())
    sync_server, batch_server = ScriptedServer(GOOD_SCRIPT), ScriptedServer(GOOD_SCRIPT, polls=2)

    sync, _ = await run_job(sync_settings, apply=True, extractor=sync_server.extractor())
    batch, _ = await run_job(batch_settings, apply=True, extractor=batch_server.extractor(), batch=True)

    # The same suggestions land in the CRM, with the same provenance rows.
    assert await snapshot(batch_settings.workspace) == await snapshot(sync_settings.workspace)
    assert outcome_rows(await actions(batch_settings, batch.run_id)) == \
        outcome_rows(await actions(sync_settings, sync.run_id))
    assert (batch.written, batch.scanned) == (6, 5)
    # One batch, nothing synchronous; polled until it ended, then its results read from results_url.
    assert [[r["custom_id"] for r in b] for b in batch_server.posted_batches()] == [BATCH_IDS]
    assert ("POST", "/v1/messages") not in batch_server.routes()
    assert batch_server.routes()[1:] == [("GET", "/v1/messages/batches/msgbatch_0001")] * 4 + [
        ("GET", "/v1/messages/batches/msgbatch_0001/results")]
    # Each batched request is exactly what the sync pass sent for that deal (its delimiter aside),
    # so the system block is cached in the batch too.
    sent_sync = by_deal(user_text(r.json) for r in sync_server.requests)
    bodies_sync = {re.search(r'Deal: "([^"]+)"', user_text(r.json)).group(1): r.json for r in sync_server.requests}
    for item in batch_server.posted_batches()[0]:
        params = item["params"]
        assert params["system"][0]["cache_control"] == {"type": "ephemeral"}
        name = re.search(r'Deal: "([^"]+)"', user_text(params)).group(1)
        mine, theirs = json.dumps(params, sort_keys=True), json.dumps(bodies_sync[name], sort_keys=True)
        for text in (user_text(params), sent_sync[name]):
            delim = re.search(r"delim=([0-9a-f]{16})>>", text).group(1)
            mine, theirs = mine.replace(delim, "KEY"), theirs.replace(delim, "KEY")
        assert mine == theirs
    # Usage is the same tokens; the batch costs half, and the summary says so.
    assert batch.usage == sync.usage == Usage(input_tokens=4 * 1200, output_tokens=4 * 180)
    assert sync.cost_usd == pytest.approx(estimate_cost("claude-sonnet-4-6", sync.usage)) and sync.cost_usd > 0
    assert batch.cost_usd == pytest.approx(sync.cost_usd / 2)
    store = await log_of(batch_settings)
    run = await store.get_run(batch.run_id)
    stored_batch = await store.get_batch("msgbatch_0001")
    await store.aclose()
    assert (run.usage, run.cost_usd) == (batch.usage, pytest.approx(batch.cost_usd))
    assert "Message Batch msgbatch_0001 submitted." in run.summary
    assert f"4800 in, 720 out, 0 cache read, 0 cache write · est. ${batch.cost_usd:.4f} (batch, 50% price)" \
        in run.summary
    assert (stored_batch.status, stored_batch.run_id) == ("ended", batch.run_id)


async def test_a_sync_claude_run_shows_tokens_and_cost_at_full_price(make_settings):
    settings = make_settings()
    await seed(settings.workspace, small_pipeline())

    summary, _ = await run_job(settings, apply=False, extractor=ScriptedModel(GOOD_SCRIPT).extractor())

    store = await log_of(settings)
    text = (await store.get_run(summary.run_id)).summary
    await store.aclose()
    assert f"tokens: 4800 in, 720 out, 0 cache read, 0 cache write · est. ${summary.cost_usd:.4f}\n" in text + "\n"
    assert "batch" not in text


async def test_a_restart_resumes_the_stored_batch_and_never_submits_twice(make_settings):
    settings = make_settings(LIVE_WRITES="1", SCOUT_BATCH_POLL_SECONDS="0")
    await seed(settings.workspace, small_pipeline())
    server = ScriptedServer(GOOD_SCRIPT, polls=2)  # the API: its batches outlive our processes

    async def killed_while_waiting(seconds: float) -> None:
        raise ProcessDied

    # Process 1 submits, records the batch, and dies while waiting for it.
    store = await log_of(settings)
    crm = await LocalCRM.open(settings.workspace, writable=True)
    with pytest.raises(ProcessDied):
        await run_pass(crm=crm, writer=crm, store=store, extractor=server.extractor(),
                       field_map=settings.field_map, gate=open_gate(True, settings), cap=50, concurrency=4,
                       batch=BatchOptions(poll_seconds=60, sleep=killed_while_waiting))
    await crm.aclose()
    stored = await store.open_batch()
    entries = await store.batch_entries(stored.id)
    first_run = stored.run_id
    await store.aclose()
    assert stored.id == "msgbatch_0001"
    assert [(e.custom_id, e.deal_id) for e in entries] == [(c, c[:2]) for c in BATCH_IDS]
    assert server.routes() == [("POST", "/v1/messages/batches"), ("GET", "/v1/messages/batches/msgbatch_0001")]
    assert await snapshot(settings.workspace) == await _seeded_snapshot(settings)  # nothing written yet

    # Process 2 (a new client, as after a restart) resumes polling the same batch.
    before = len(server.requests)
    summary, _ = await run_job(settings, apply=True, extractor=server.extractor(), batch=True)

    assert ("POST", "/v1/messages/batches") not in since(server, before)
    assert set(since(server, before)) == {("GET", "/v1/messages/batches/msgbatch_0001"),
                                          ("GET", "/v1/messages/batches/msgbatch_0001/results")}
    assert server.calls == 4  # the model answered each deal once: nothing was paid for twice
    assert (summary.batch_id, summary.batch_resumed, summary.written, summary.scanned) == \
        ("msgbatch_0001", True, 6, 4)  # the batch's four deals; d4 (no notes) settled before process 1 died
    rows = await actions(settings, summary.run_id)
    assert sorted((r.deal_id, r.field) for r in rows if r.action is ActionKind.WRITTEN) == EXPECTED_WRITES
    store = await log_of(settings)
    interrupted, resumed = await store.get_run(first_run), await store.get_run(summary.run_id)
    closed = await store.get_batch("msgbatch_0001")
    await store.aclose()
    assert interrupted.status == "interrupted" and f"run {summary.run_id} resumed it" in interrupted.summary
    assert "Message Batch msgbatch_0001 resumed after an interrupted run (no new batch submitted)." in resumed.summary
    assert closed.status == "ended" and await store_has_no_open_batch(settings)

    # A third run finds every extraction cached: no batch, no request at all.
    before = len(server.requests)
    again, _ = await run_job(settings, apply=True, extractor=server.extractor(), batch=True)
    assert since(server, before) == [] and again.written == 0 and again.batch_id is None


async def _seeded_snapshot(settings):
    other = settings.data_dir.parent / "pristine.sqlite"
    await seed(other, small_pipeline())
    return await snapshot(other)


async def store_has_no_open_batch(settings) -> bool:
    store = await log_of(settings)
    try:
        return await store.open_batch() is None
    finally:
        await store.aclose()


async def test_an_expired_batch_is_reported_and_its_deals_come_first_next_run(make_settings):
    # SCOUT_BATCH=1 is how the scheduler asks for batch mode: run_job(batch=None) follows it.
    settings = make_settings(SCOUT_BATCH="1", SCOUT_BATCH_POLL_SECONDS="0", SCOUT_SCAN_CAP="4",
                             SCOUT_CONCURRENCY="1")
    await seed(settings.workspace, small_pipeline(extra_deals=7))  # 12 deals
    # A first synchronous pass (another model, so nothing is cached for the next) scans everything in order.
    await run_job(settings, apply=False, cap=12, batch=False,
                  extractor=ScriptedServer(GOOD_SCRIPT).extractor(model="claude-haiku-4-5"))

    expiring = ScriptedServer(GOOD_SCRIPT, expire_all=True)
    expired, _ = await run_job(settings, apply=False, extractor=expiring.extractor())

    assert [[r["custom_id"] for r in b] for b in expiring.posted_batches()] == [["d1-p0", "d2-p0", "d3-p0"]]
    assert (expired.expired, expired.scanned, expired.would_write, expired.skipped) == (3, 1, 0, 0)
    store = await log_of(settings)
    text = (await store.get_run(expired.run_id)).summary
    await store.aclose()
    assert "3 deals' extractions expired: retried next run." in text
    rows = await actions(settings, expired.run_id)
    assert sorted((r.deal_id, r.reason) for r in rows) == [
        (d, "extraction expired in batch msgbatch_0001: retried next run") for d in ("d1", "d2", "d3")]

    working = ScriptedServer(GOOD_SCRIPT, first_batch=2)
    retried, _ = await run_job(settings, apply=False, extractor=working.extractor())

    # The expired deals were not marked scanned, so they lead the next run's batch.
    assert [[r["custom_id"] for r in b] for b in working.posted_batches()] == [["d1-p0", "d2-p0", "d3-p0", "d5-p0"]]
    assert (retried.expired, retried.would_write) == (0, 6)


@pytest.mark.parametrize("fate", ["errored", "canceled"])
async def test_a_failed_request_in_a_batch_affects_only_its_deal(make_settings, fate):
    settings = make_settings(SCOUT_BATCH_POLL_SECONDS="0")
    await seed(settings.workspace, small_pipeline())
    server = ScriptedServer(GOOD_SCRIPT, fates={"d3-p0": fate})

    summary, _ = await run_job(settings, apply=False, extractor=server.extractor(), batch=True)

    rows = await actions(settings, summary.run_id)
    assert sorted((r.deal_id, r.field) for r in rows if r.action is ActionKind.WOULD_WRITE) == \
        [w for w in EXPECTED_WRITES if w[0] != "d3"]
    store = await log_of(settings)
    scanned = await store.last_scanned()
    await store.aclose()
    d3 = [r for r in rows if r.deal_id == "d3"]
    if fate == "errored":
        assert [(r.action, r.reason, r.error) for r in d3] == [(
            ActionKind.FAILED, "extraction failed",
            "Claude batch request failed (invalid_request_error): prompt is too long [request req_batch_err]")]
        assert (summary.failed, summary.expired, summary.scanned) == (1, 0, 4)
        assert "d3" not in scanned  # as a synchronous extraction failure: it comes first next run
    else:
        assert [r.action for r in d3] == [ActionKind.SKIPPED] and "expired" in d3[0].reason
        assert (summary.failed, summary.expired, summary.scanned) == (0, 1, 4)
        assert "d3" not in scanned


async def test_a_batch_that_cannot_be_polled_is_resumed_and_a_vanished_one_is_retried(make_settings):
    settings = make_settings(SCOUT_BATCH_POLL_SECONDS="0")
    await seed(settings.workspace, small_pipeline())
    server = ScriptedServer(GOOD_SCRIPT)
    server.queue_error(500, "api_error", "Internal server error", method="GET",
                       path="/v1/messages/batches/msgbatch_0001")

    broken, _ = await run_job(settings, apply=False, extractor=server.extractor(), batch=True)

    rows = await actions(settings, broken.run_id)
    assert [(r.action, r.reason) for r in rows] == [
        (ActionKind.FAILED, "waiting for batch msgbatch_0001 failed: resumed next run")]
    assert "Claude server error (500)" in rows[0].error and broken.scanned == 1  # only d4, which has no notes
    assert not await store_has_no_open_batch(settings)

    server.batches["msgbatch_0001"].gone = True  # e.g. deleted in the console meanwhile
    gone, _ = await run_job(settings, apply=False, extractor=server.extractor(), batch=True)

    assert (gone.batch_resumed, gone.expired, gone.would_write) == (True, 4, 0)
    assert any("msgbatch_0001 is no longer available (404)" in n for n in gone.notices)
    retried, _ = await run_job(settings, apply=False, extractor=server.extractor(), batch=True)
    assert retried.batch_id == "msgbatch_0002" and retried.would_write == 6
    assert [[r["custom_id"] for r in b] for b in server.posted_batches()] == [BATCH_IDS, BATCH_IDS]


async def test_a_long_note_in_a_batch_goes_out_in_parts_and_merges(make_settings):
    settings = make_settings(SCOUT_BATCH_POLL_SECONDS="0")
    data = small_pipeline()
    data.notes.append(Note(id="n6", deal_id="d4", author="Alex Rep", created_at=T0 + timedelta(days=4),
                           title="Long call", text=long_note_with_signal_near_the_end()))
    await seed(settings.workspace, data)
    script = {**GOOD_SCRIPT, "n6": [{"concept": "economic_buyer", "value": "Priya Shah, CFO", "note_id": "n6",
                                     "excerpt": SIGNAL}]}
    server = ScriptedServer(script)

    summary, _ = await run_job(settings, apply=False, extractor=server.extractor(), batch=True)

    [posted] = server.posted_batches()
    assert [r["custom_id"] for r in posted] == ["d1-p0", "d2-p0", "d3-p0", "d4-p0", "d4-p1", "d4-p2", "d5-p0"]
    rows = await actions(settings, summary.run_id)
    # Each of the three parts "found" it (the scripted model answers per note id): merged into one suggestion.
    assert [(r.field, r.excerpt) for r in rows if r.deal_id == "d4"] == [("scout_economic_buyer", SIGNAL)]
    assert summary.usage.input_tokens == 7 * 1200


def test_scout_run_batch_with_the_offline_extractor_says_it_ran_synchronously(make_settings, capsys):
    settings = make_settings()
    asyncio.run(seed(settings.workspace, small_pipeline()))

    code = main(["run", "--batch"])

    out = capsys.readouterr().out
    assert code == 0
    assert "Batch mode needs the Claude extractor: offline" in out and "ran synchronously" in out
    assert out.startswith("DRY RUN")

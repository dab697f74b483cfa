"""Issue 10: the log stays true through any crash, and bad input never hangs a process.

Processes are real subprocesses killed with real signals; the log is read back as a user would.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from engine.commands import EXIT_OK
from engine.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


def scout_process(*argv: str, **env: str) -> subprocess.Popen[str]:
    """`scout ARGV` as its own process, in the test's environment (SCOUT_DATA_DIR is the test's tmp dir)."""
    return subprocess.Popen([sys.executable, "-m", "engine.cli", *argv], cwd=ROOT, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, **env})


def finish(proc: subprocess.Popen[str], timeout: float = 30) -> tuple[str, str]:
    """Its output once it exits; a process that hangs is killed and fails the test."""
    try:
        return proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise AssertionError(f"the process did not exit within {timeout} s") from None


def count(db: Path, sql: str, *params: object) -> int:
    """A plain read, as `sqlite3` would do it (it rolls back a hot journal a killed writer left)."""
    conn = sqlite3.connect(db, timeout=5)
    try:
        return int(conn.execute(sql, params).fetchone()[0])
    finally:
        conn.close()


def wait_for_writes(settings: Settings, at_least: int, proc: subprocess.Popen[str], timeout: float = 60) -> int:
    sql = "SELECT COUNT(*) FROM actions WHERE action = 'written' AND status = 'applied'"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the pass ended before it could be killed: {proc.communicate()}"
        if settings.log_db.exists():
            try:
                if (n := count(settings.log_db, sql)) >= at_least:
                    return n
            except sqlite3.OperationalError:
                pass  # the schema is not there yet
        time.sleep(0.01)
    raise AssertionError("the pass wrote too little in time")


@pytest.fixture
def live_demo(scout, make_settings, monkeypatch) -> Settings:
    """A 600-deal demo workspace with the scout_* fields created: a live pass takes a few seconds."""
    settings = make_settings(LIVE_WRITES="1")
    assert scout("demo", "--deals", "600")[0] == EXIT_OK
    assert scout("setup", "--apply")[0] == EXIT_OK
    return settings


def log_json(scout) -> list[dict]:
    code, out, _ = scout("log", "--json")
    assert code == EXIT_OK
    return json.loads(out)


def table_row(scout, run_id: int) -> list[str]:
    code, out, _ = scout("log")
    assert code == EXIT_OK
    return next(line.split() for line in out.splitlines() if line.split()[:1] == [str(run_id)])


# -- run counts -------------------------------------------------------------------------------------------------


def test_a_live_pass_killed_mid_way_shows_its_true_counts_in_the_log(scout, live_demo):
    proc = scout_process("run", "--apply", "--cap", "600")
    wait_for_writes(live_demo, 40, proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)

    applied = count(live_demo.log_db, "SELECT COUNT(*) FROM actions WHERE run_id = 2 AND action = 'written'"
                                      " AND status = 'applied'")
    skipped = count(live_demo.log_db, "SELECT COUNT(*) FROM actions WHERE run_id = 2 AND action = 'skipped'")
    run = next(r for r in log_json(scout) if r["id"] == 2)
    assert run["status"] == "running"  # nobody has settled it yet: the lock holder is dead, not gone
    assert applied >= 40 and (run["written"], run["skipped"], run["failed"]) == (applied, skipped, 0)
    assert run["scanned"] >= 1 and run["total"] == 600
    # The table shows the same figures.
    row = table_row(scout, 2)
    assert row[1:3] == ["pass", "LIVE"] and row[4:9] == [str(applied), "0", str(skipped), "0", "0"]

    # The next pass settles the killed run: interrupted on record, the writes in flight reconciled.
    assert scout("run", "--apply", "--cap", "1")[0] == EXIT_OK
    run = next(r for r in log_json(scout) if r["id"] == 2)
    assert run["status"] == "interrupted"
    assert count(live_demo.log_db, "SELECT COUNT(*) FROM actions WHERE status = 'pending'") == 0
    landed = count(live_demo.log_db, "SELECT COUNT(*) FROM actions WHERE run_id = 2 AND action = 'written'"
                                     " AND status = 'applied'")
    assert run["written"] == landed >= applied


# -- SIGTERM ----------------------------------------------------------------------------------------------------


def test_sigterm_ends_a_live_pass_interrupted_on_record_and_frees_the_lock(scout, live_demo):
    proc = scout_process("run", "--apply", "--cap", "600")
    wait_for_writes(live_demo, 40, proc)
    proc.send_signal(signal.SIGTERM)
    out, err = finish(proc)

    assert proc.returncode == 128 + signal.SIGTERM
    *progress, last = err.splitlines()
    assert last == "scout: stopped by SIGTERM; an interrupted live write is reconciled on the next run"
    # A slow machine may print the plain progress line (every 5 s without a terminal) first; nothing else.
    assert all(re.match(r"scout: \d+/\d+ deals, \d+ written, \d+ failed, ", line) for line in progress), err
    run = next(r for r in log_json(scout) if r["id"] == 2)
    assert run["status"] == "interrupted" and run["finished_at"] is not None
    assert run["written"] == count(live_demo.log_db, "SELECT COUNT(*) FROM actions WHERE run_id = 2"
                                                     " AND action = 'written' AND status = 'applied'")
    assert count(live_demo.log_db, "SELECT COUNT(*) FROM locks") == 0


# -- a killed undo or promotion ---------------------------------------------------------------------------------


def scout_values(workspace: Path) -> int:
    return count(workspace, "SELECT COUNT(*) FROM deal_values WHERE field LIKE 'scout\\_%' ESCAPE '\\'")


def test_an_undo_killed_mid_way_is_settled_by_the_next_undo(scout, live_demo):
    assert scout("run", "--apply", "--cap", "600")[0] == EXIT_OK
    written = scout_values(live_demo.workspace)
    proc = scout_process("undo", "2", "--apply")
    sql = "SELECT COUNT(*) FROM actions WHERE run_id = 3 AND action = 'reverted' AND status = 'applied'"
    deadline = time.monotonic() + 60
    while count(live_demo.log_db, sql) < 20:
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    assert 0 < scout_values(live_demo.workspace) < written

    code, out, _ = scout("undo", "2", "--apply")

    assert code == EXIT_OK, out  # no conflict: a revert that landed before the kill is known as reverted
    assert scout_values(live_demo.workspace) == 0
    runs = {r["id"]: r for r in log_json(scout)}
    assert runs[3]["status"] == "interrupted" and runs[4]["status"] == "finished"
    assert count(live_demo.log_db, "SELECT COUNT(*) FROM actions WHERE status = 'pending'") == 0
    assert runs[3]["written"] + runs[4]["written"] == written  # every write reverted exactly once
    assert runs[4]["skipped"] == runs[3]["written"]  # ... and the first undo's reverts known as done


DIES_MID_WRITE = """
import asyncio, sys
from engine.models import ActionKind
from engine.provenance import ActionRow, ProvenanceStore

async def main():
    store = await ProvenanceStore.open(sys.argv[1])
    for kind, action, field, value in (("undo", ActionKind.REVERTED, "scout_champion", None),
                                       ("promote", ActionKind.PROMOTED, "champion", "Tom Becker")):
        run = await store.start_run(kind, dry_run=False, dry_run_reason=None)
        await store.log(ActionRow(run_id=run, deal_id="d0001", field=field, new=value, action=action,
                                  status="pending", dry_run=False))
    await store.aclose()

asyncio.run(main())  # the process ends between each intent and its CRM call, as a SIGKILL would leave it
"""


def test_an_undo_and_a_promotion_killed_between_intent_and_outcome_are_settled_by_the_next_pass(scout, live_demo):
    subprocess.run([sys.executable, "-c", DIES_MID_WRITE, str(live_demo.log_db)], cwd=ROOT, check=True)

    code, out, _ = scout("run", "--cap", "1")  # a rehearsal holds the lock too

    assert code == EXIT_OK
    assert "2 interrupted write(s) from an earlier run reconciled." in out
    runs = {r["id"]: r for r in log_json(scout)}
    assert (runs[2]["kind"], runs[2]["status"]) == ("undo", "interrupted")
    assert (runs[3]["kind"], runs[3]["status"]) == ("promote", "interrupted")
    code, out, _ = scout("log", "2", "--json")
    (revert,) = json.loads(out)["actions"]
    assert (revert["action"], revert["status"]) == ("reverted", "applied")  # the field is empty: it landed
    code, out, _ = scout("log", "3", "--json")
    (promotion,) = json.loads(out)["actions"]
    assert (promotion["action"], promotion["status"]) == ("failed", "failed")  # champion is not Tom Becker


# -- errors from the writer that are not CRMError ---------------------------------------------------------------


def refuse_writes(workspace: Path) -> None:
    """The workspace starts refusing every write with a plain SQLite error, as a read-only copy would."""
    conn = sqlite3.connect(workspace)
    for event, table in (("INSERT", "deal_values"), ("UPDATE", "deal_values"), ("DELETE", "deal_values"),
                         ("UPDATE", "deals")):
        conn.execute(f"CREATE TRIGGER no_{event.lower()}_{table} BEFORE {event} ON {table}"
                     " BEGIN SELECT RAISE(ABORT, 'attempt to write a readonly database'); END")
    conn.commit()
    conn.close()


def test_a_writer_error_that_is_not_a_crm_error_still_records_each_intents_outcome(scout, live_demo):
    refuse_writes(live_demo.workspace)

    code, out, _ = scout("run", "--apply", "--cap", "5")

    assert code == 4  # finished, with failed actions
    code, log_out, _ = scout("log", "2", "--json")
    actions = json.loads(log_out)["actions"]
    failed = [a for a in actions if a["action"] == "failed"]
    assert failed and all(a["status"] == "failed" for a in failed)
    assert all("attempt to write a readonly database" in a["error"] for a in failed)
    assert [a for a in actions if a["status"] == "pending" or a["reason"] == "unexpected error"] == []
    run = json.loads(log_out)["run"]
    assert (run["written"], run["failed"]) == (0, len(failed))
    assert f"0 written, 0 would-write, " in out and f"{len(failed)} failed" in out


def test_an_undo_whose_writer_fails_that_way_records_each_reverts_outcome(scout, live_demo):
    assert scout("run", "--apply", "--cap", "5")[0] == EXIT_OK
    refuse_writes(live_demo.workspace)

    code, out, _ = scout("undo", "2", "--apply")

    assert code == 4 and " 0 reverted," in out
    actions = json.loads(scout("log", "3", "--json")[1])["actions"]
    assert actions and {(a["action"], a["status"]) for a in actions} == {("failed", "failed")}
    assert all("attempt to write a readonly database" in a["error"] for a in actions)


async def test_a_promotion_whose_writer_fails_that_way_is_failed_on_record(make_settings):
    from engine.jobs import run_job
    from engine.promote import ReviewOutcome, promote
    from engine.provenance import ProvenanceStore
    from tests.pipeline import GOOD_SCRIPT, seed, small_pipeline
    from tests.standins.scripted_model import ScriptedModel

    settings = make_settings(LIVE_WRITES="1")
    await seed(settings.workspace, small_pipeline())
    summary, _ = await run_job(settings, apply=True, extractor=ScriptedModel(GOOD_SCRIPT).extractor())
    store = await ProvenanceStore.open(settings.log_db, readonly=True)
    suggestion = next(r for r in await store.run_suggestions(summary.run_id) if r.field == "scout_competition")
    await store.aclose()
    refuse_writes(settings.workspace)

    result = await promote(suggestion.id, "U0REVIEWER", settings)

    assert result.outcome is ReviewOutcome.FAILED and "readonly database" in result.detail
    store = await ProvenanceStore.open(settings.log_db, readonly=True)
    (row,) = await store.actions_for_run(result.run_id)
    run = await store.get_run(result.run_id)
    await store.aclose()
    assert (row.action.value, row.status) == ("failed", "failed") and "readonly database" in row.error
    assert (run.status, run.failed) == ("finished", 1)


# -- import -----------------------------------------------------------------------------------------------------

NOTE_WITH_A_LONE_SURROGATE = [
    '{"type": "deal", "id": "d1", "name": "Acme Corp"}',
    '{"type": "note", "id": "n1", "deal_id": "d1", "created_at": "2026-09-02T09:00:00Z", "text": "bad \\ud800 here"}',
]


def test_a_note_with_a_lone_surrogate_is_named_and_the_process_exits(make_settings, tmp_path):
    settings = make_settings()
    source = tmp_path / "pipeline.jsonl"
    source.write_text("\n".join(NOTE_WITH_A_LONE_SURROGATE) + "\n", encoding="utf-8")

    proc = scout_process("import", str(source))
    out, err = finish(proc)  # before the fix the process never exited

    assert proc.returncode == 1 and out == ""
    assert err.splitlines() == [
        "  pipeline.jsonl line 2: note: text holds a lone surrogate (\\ud800), which is not text; fix the file's escapes",
        "scout: pipeline.jsonl: 1 problem(s), nothing imported"]
    assert not settings.workspace.exists()


def test_import_replace_with_a_file_of_no_deals_is_refused_unless_asked(scout, live_demo, tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    before = count(live_demo.workspace, "SELECT COUNT(*) FROM deals")

    code, _, err = scout("import", str(empty), "--replace")

    assert code == 2 and err == (f"scout: {empty.name} holds no deals; replacing the {before} deals in "
                                 f"{live_demo.workspace} with nothing needs --allow-empty; nothing was imported\n")
    assert count(live_demo.workspace, "SELECT COUNT(*) FROM deals") == before
    assert scout("import", str(empty), "--replace", "--allow-empty")[0] == EXIT_OK
    assert count(live_demo.workspace, "SELECT COUNT(*) FROM deals") == 0


def test_import_waits_its_turn_while_a_pass_holds_the_lock(scout, live_demo, tmp_path):
    import asyncio

    from engine.provenance import ProvenanceStore

    source = tmp_path / "pipeline.jsonl"
    source.write_text(NOTE_WITH_A_LONE_SURROGATE[0] + "\n")

    async def hold():
        store = await ProvenanceStore.open(live_demo.log_db)
        return store, await store.acquire_lock()

    store, holder = asyncio.run(hold())
    try:
        code, _, err = scout("import", str(source), "--replace")
        assert code == 3 and "another pass is running" in err
        assert count(live_demo.workspace, "SELECT COUNT(*) FROM deals") == 600
    finally:
        asyncio.run(_release(store, holder))


async def _release(store, holder):
    await store.release_lock(holder)
    await store.aclose()


@pytest.mark.parametrize("kind", ["device", "symlink"])
def test_import_never_replaces_a_device_or_follows_a_link_elsewhere(scout, make_settings, tmp_path, kind):
    source = tmp_path / "pipeline.jsonl"
    source.write_text(NOTE_WITH_A_LONE_SURROGATE[0] + "\n")
    elsewhere = tmp_path / "elsewhere.sqlite"
    elsewhere.write_bytes(b"")
    target = tmp_path / "data" / "workspace.sqlite"
    target.parent.mkdir()
    if kind == "device":
        make_settings(SCOUT_WORKSPACE="/dev/null")
        where = "/dev/null"
    else:
        target.symlink_to(elsewhere)
        make_settings(SCOUT_WORKSPACE=str(target))
        where = str(target)

    code, _, err = scout("import", str(source), "--replace")

    assert code == 2 and err.startswith(f"scout: the workspace {where} is not a regular file") and err.count("\n") == 1
    assert elsewhere.read_bytes() == b"" and Path("/dev/null").is_char_device()


def test_scout_deal_with_a_corrupt_log_is_one_line_and_the_process_exits(scout, make_settings):
    settings = make_settings()
    assert scout("demo")[0] == EXIT_OK
    settings.log_db.write_text("garbage\n")

    proc = scout_process("deal", "Acme", "--no-extract")
    out, err = finish(proc)  # the workspace's connection was left open: the process hung

    assert proc.returncode == 1 and out == ""
    assert err == f"scout: cannot open the provenance log {settings.log_db}: file is not a database\n"


# -- Slack ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("body", ["payload=not-json", "payload=%5B1%2C2%5D", "payload=%22text%22",
                                  "payload=%7B%22type%22%3A%22block_actions%22%2C%22actions%22%3A%22x%22"])
async def test_a_malformed_interactive_payload_gets_a_4xx_signed_or_not_and_no_traceback(
        make_settings, slack, caplog, body):
    import logging

    import aiohttp
    from aiohttp.test_utils import TestServer

    from bot.web import EVENTS_PATH, http_app
    from tests.standins.slack_api import SIGNING_SECRET, signed_headers

    settings = make_settings(SLACK_BOT_TOKEN="xoxb-standin-token", SLACK_SIGNING_SECRET=SIGNING_SECRET,
                             SLACK_API_URL=slack.base_url)
    server = TestServer(http_app(settings), host="127.0.0.1")
    await server.start_server()
    try:
        url = f"http://127.0.0.1:{server.port}{EVENTS_PATH}"
        signed = {k: v[0] for k, v in signed_headers(body).items()}
        caplog.set_level(logging.WARNING)
        async with aiohttp.ClientSession() as session:
            async with session.post(url, data=body, headers=signed) as reply:
                assert reply.status == 400, await reply.text()
            async with session.post(url, data=body, headers={"content-type": signed["content-type"]}) as reply:
                assert reply.status == 401
    finally:
        await server.close()
    assert [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info] == []
    assert slack.calls == []


# -- an emptied or replaced log ---------------------------------------------------------------------------------


@pytest.mark.parametrize("how", ["emptied", "deleted"])
def test_a_log_emptied_or_lost_under_a_crm_holding_scout_values_is_refused(scout, make_settings, how):
    settings = make_settings(LIVE_WRITES="1")
    assert scout("demo")[0] == EXIT_OK
    assert scout("run")[0] == EXIT_OK  # a brand-new install starts cleanly, a rehearsal ...
    assert scout("setup", "--apply")[0] == EXIT_OK
    assert scout("run", "--apply")[0] == EXIT_OK  # ... and a live pass
    if how == "emptied":
        settings.log_db.write_bytes(b"")
    else:
        settings.log_db.unlink()
    for leftover in (settings.log_db.with_name("log.sqlite-wal"), settings.log_db.with_name("log.sqlite-shm")):
        leftover.unlink(missing_ok=True)
    before = (settings.workspace.read_bytes())

    for argv in (("run",), ("run", "--apply"), ("setup", "--apply"), ("run",)):
        code, out, err = scout(*argv)
        if argv[0] == "setup":
            continue  # setup writes no values; the pass after it is still refused
        assert code == 1 and out == ""
        assert err.startswith(f"scout: the provenance log {settings.log_db} has no record of any pass, but the "
                              "CRM already holds Scout's values (deal d")
        assert err.endswith("restore the log from a backup (or point SCOUT_LOG_DB at it), or pass --new-log to "
                            "start a new log over these values on purpose\n") and err.count("\n") == 1
    assert settings.workspace.read_bytes() == before
    assert scout("run", "--apply", "--new-log")[0] in (EXIT_OK, 4)


def test_setup_waits_its_turn_while_a_pass_holds_the_lock(scout, make_settings):
    import asyncio

    from engine.provenance import ProvenanceStore

    settings = make_settings(LIVE_WRITES="1")
    assert scout("demo", "--deals", "20")[0] == EXIT_OK
    fields_before = count(settings.workspace, "SELECT COUNT(*) FROM fields")

    async def hold():
        store = await ProvenanceStore.open(settings.log_db)
        return store, await store.acquire_lock()

    store, holder = asyncio.run(hold())
    try:
        code, _, err = scout("setup", "--apply")
        assert code == 3 and "another pass is running" in err
        assert count(settings.workspace, "SELECT COUNT(*) FROM fields") == fields_before  # nothing created
    finally:
        asyncio.run(_release(store, holder))
    assert scout("setup", "--apply")[0] == EXIT_OK  # and once the lock is free, setup goes ahead
    assert count(settings.workspace, "SELECT COUNT(*) FROM fields") == fields_before + 7


DIES_AFTER_A_BATCH = """
import asyncio, os, signal
from engine.crm.local import LocalCRM
from engine.extract.offline import OfflineExtractor
from engine.gate import Gate
from engine.provenance import ProvenanceStore
from engine.runner import run_pass
from engine.settings import Settings

class KilledAfterTheCall(LocalCRM):
    calls = 0

    async def write_many(self, writes):
        results = await super().write_many(writes)  # the CRM has the page's writes ...
        KilledAfterTheCall.calls += 1
        if KilledAfterTheCall.calls == 2:
            os.kill(os.getpid(), signal.SIGKILL)  # ... and the process dies before their outcomes are logged
        return results

async def main():
    settings = Settings()
    store = await ProvenanceStore.open(settings.log_db)
    crm = await KilledAfterTheCall.open(settings.workspace, writable=True)
    await run_pass(crm=crm, writer=crm, store=store, extractor=OfflineExtractor(), field_map=settings.field_map,
                   gate=Gate(live=True, reason=None), cap=600, concurrency=4)

asyncio.run(main())
"""


def workspace_value(workspace: Path, deal_id: str, field: str) -> object:
    conn = sqlite3.connect(workspace, timeout=5)
    try:
        row = conn.execute("SELECT value FROM deal_values WHERE deal_id = ? AND field = ?", (deal_id, field)).fetchone()
    finally:
        conn.close()
    return None if row is None else json.loads(row[0])


def test_a_pass_killed_between_a_batch_call_and_its_outcomes_is_reconciled_by_reading_the_fields_back(
        scout, live_demo):
    proc = subprocess.run([sys.executable, "-c", DIES_AFTER_A_BATCH], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr

    conn = sqlite3.connect(live_demo.log_db, timeout=5)
    pending = conn.execute("SELECT id, deal_id, field, new FROM actions WHERE status = 'pending'").fetchall()
    conn.close()
    # The second page's intents were committed together before its call; none has an outcome.
    assert len(pending) > 1 and len({deal for _, deal, _, _ in pending}) > 1
    assert all(workspace_value(live_demo.workspace, deal, field) == json.loads(new) for _, deal, field, new in pending)

    code, out, _ = scout("run", "--apply", "--cap", "1")

    assert code == EXIT_OK
    assert f"{len(pending)} interrupted write(s) from an earlier run reconciled." in out
    assert count(live_demo.log_db, "SELECT COUNT(*) FROM actions WHERE status = 'pending'") == 0
    conn = sqlite3.connect(live_demo.log_db, timeout=5)
    settled = conn.execute(f"SELECT status, error FROM actions WHERE id IN ({','.join('?' * len(pending))})",
                           [i for i, *_ in pending]).fetchall()
    applied = conn.execute("SELECT deal_id, field, new FROM actions WHERE run_id = 2 AND action = 'written'"
                           " AND status = 'applied'").fetchall()
    conn.close()
    assert all(status == "applied" and "reconciled" in error for status, error in settled)
    # The CRM equals the log: every write the killed run has on record as applied is there.
    assert all(workspace_value(live_demo.workspace, deal, field) == json.loads(new) for deal, field, new in applied)

"""The shared PostgreSQL log: two processes with data directories of their own share it, see and undo each
other's runs and exclude each other's passes; a dropped connection is replaced mid-pass; a SQLite log moves in.

Every process here is the real CLI in a subprocess; the database is the real server (tests/pg.py), one fresh
schema per test. The shared CRM is one embedded workspace file both processes name (SCOUT_WORKSPACE)."""

from __future__ import annotations

import asyncio
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from engine.commands import EXIT_OK
from tests.pg import Schema

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "tests" / "fixtures" / "log_fac8dc7"
WRITTEN = "SELECT COUNT(*) FROM actions WHERE action = 'written' AND status = 'applied'"


def machine(tmp_path: Path, pg: Schema, name: str, **extra: str) -> dict[str, str]:
    """One process's environment: its own data directory, the shared log and the shared CRM."""
    return {**os.environ, **pg.env(), "SCOUT_DATA_DIR": str(tmp_path / name), "LIVE_WRITES": "1",
            "SCOUT_WORKSPACE": str(tmp_path / "crm.sqlite"), **extra}


def scout(env: dict[str, str], *argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "engine.cli", *argv], cwd=ROOT, env=env, text=True,
                          capture_output=True, timeout=timeout)


def start(env: dict[str, str], *argv: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "engine.cli", *argv], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def scout_values(tmp_path: Path) -> int:
    return scout_values_in(tmp_path / "crm.sqlite")


def scout_values_in(workspace: Path) -> int:
    with sqlite3.connect(workspace) as db:
        return int(db.execute("SELECT COUNT(*) FROM deal_values WHERE field LIKE 'scout_%'").fetchone()[0])


async def wait_for(pg: Schema, sql: str, at_least: int, proc: subprocess.Popen[str], timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the process ended first: {proc.communicate()}"
        try:
            if (n := int(pg.scalar(sql) or 0)) >= at_least:
                return n
        except Exception:
            pass  # the schema is not there yet
        await asyncio.sleep(0.02)
    raise AssertionError("too little happened in time")


async def test_two_processes_share_the_log_exclude_each_others_passes_and_undo_each_others_runs(
        pg_schema, tmp_path):
    a, b = machine(tmp_path, pg_schema, "a"), machine(tmp_path, pg_schema, "b")
    # Enough deals that the pass is still going while the other machine tries three commands (a pass of
    # 2,000 deals once ended before the third: about 14 s for 4,000 on a 2-core VM).
    assert scout(a, "demo", "--deals", "4000").returncode == EXIT_OK
    assert scout(a, "setup", "--apply").returncode == EXIT_OK  # run 1, on the shared log

    holder = start(a, "run", "--apply", "--cap", "4000")  # run 2
    await wait_for(pg_schema, WRITTEN, 40, holder)
    for argv in (("run", "--apply"), ("undo", "last", "--apply"), ("setup", "--apply")):
        refused = scout(b, *argv)
        assert refused.returncode == 3 and "another pass is running" in refused.stderr, (argv, refused.stderr)
    assert holder.poll() is None, "the holder finished before it could be killed: give it more deals"
    holder.send_signal(signal.SIGKILL)  # the holder dies: its session ends, and the server frees the lock
    holder.wait(10)

    after = scout(b, "run", "--apply", "--cap", "2000")  # run 3: no TTL to wait out
    assert after.returncode == EXIT_OK, after.stderr
    assert pg_schema.scalar("SELECT COUNT(*) FROM actions WHERE status = 'pending'") == 0
    assert pg_schema.scalar("SELECT status FROM runs WHERE id = 2") == "interrupted"
    listed = scout(a, "log")  # each sees the other's runs
    assert listed.returncode == EXIT_OK and all(f" {n} " in listed.stdout for n in (1, 2, 3))
    assert scout_values(tmp_path) > 0

    assert scout(a, "undo", "3", "--apply").returncode == EXIT_OK  # a undoes b's pass ...
    assert scout(b, "undo", "2", "--apply").returncode == EXIT_OK  # ... and b the pass a was killed in
    assert scout_values(tmp_path) == 0
    assert pg_schema.scalar("SELECT COUNT(*) FROM actions WHERE status = 'pending'") == 0
    status = scout(b, "db", "status")
    assert status.returncode == EXIT_OK and "(the newest)" in status.stdout and "password" not in status.stdout


def _terminate_scout_sessions() -> int:
    """Ends every session Scout has open on the server (from another connection), as a restart would."""
    from tests.pg import execute, run

    return len(run(execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname ="
                           " current_database() AND application_name = 'scout' AND pid <> pg_backend_pid()")))


def test_a_pass_survives_the_servers_sessions_ending_between_two_deals(pg_schema, make_settings, scout_cli):
    from engine.jobs import run_job

    settings = make_settings(**pg_schema.env(), LIVE_WRITES="1", SCOUT_CONCURRENCY="1")
    assert scout_cli("demo", "--deals", "250")[0] == EXIT_OK
    assert scout_cli("setup", "--apply")[0] == EXIT_OK
    ended: list[int] = []

    def between_deals(progress) -> None:
        if progress.done in (50, 150):  # in two different pages (a page is 100 deals, committed together)
            ended.append(_terminate_scout_sessions())

    summary, _ = asyncio.run(run_job(settings, apply=True, cap=250, progress=between_deals))
    assert len(ended) == 2 and all(n >= 1 for n in ended), (ended, summary)  # the pool's and the lock's sessions went
    assert summary.scanned == 250 and summary.failed == 0 and summary.written > 0, summary.errors
    assert pg_schema.scalar("SELECT COUNT(*) FROM actions WHERE status = 'pending'") == 0
    assert pg_schema.scalar(WRITTEN) == summary.written
    assert scout_cli("run", "--apply")[0] == EXIT_OK  # and the lock is free afterwards


def test_a_sqlite_log_is_copied_into_postgres_with_every_count_checked(pg_schema, tmp_path, make_settings,
                                                                              scout_cli):
    source = tmp_path / "old.sqlite"
    shutil.copyfile(FIXTURE / "log.sqlite", source)
    shutil.copyfile(FIXTURE / "workspace.sqlite", tmp_path / "crm.sqlite")
    make_settings(**pg_schema.env(), SCOUT_WORKSPACE=str(tmp_path / "crm.sqlite"))

    code, out, _ = scout_cli("db", "copy", "--from", str(source))
    assert code == EXIT_OK and "6 runs, 73 actions" in out and "every count checked" in out
    assert pg_schema.scalar("SELECT COUNT(*) FROM reviews") == 1
    assert pg_schema.scalar("SELECT COUNT(*) FROM slack_posts") == 2
    assert pg_schema.scalar("SELECT COUNT(*) FROM batch_requests") == 2

    code, _, err = scout_cli("db", "copy", "--from", str(source))  # the target holds a log now
    assert code == 2 and "already holds 6 runs" in err and "--replace" in err
    assert pg_schema.scalar("SELECT COUNT(*) FROM actions") == 73

    code, out, _ = scout_cli("log", "--json")
    assert code == EXIT_OK and out.count('"kind": "pass"') == 3
    make_settings(LIVE_WRITES="1")
    code, out, _ = scout_cli("undo", "last", "--apply")  # the copied history still undoes
    assert code == EXIT_OK and "LIVE: undo of run 5 (run 7)" in out  # new ids follow the copied ones
    assert scout_cli("db", "copy", "--from", str(source), "--replace")[0] == EXIT_OK
    assert pg_schema.scalar("SELECT COUNT(*) FROM runs") == 6


async def test_a_live_pass_killed_at_random_points_is_settled_by_the_next_start(pg_schema, tmp_path):
    """20 SIGKILLs at random moments of a live pass on the shared log. After each, the next start settles it:
    no pending rows, and the CRM holds exactly the values the log says landed. At the end every live pass
    is undone, newest first, and the CRM holds no Scout value: undo restored it exactly."""
    env = machine(tmp_path, pg_schema, "a")
    assert scout(env, "demo", "--deals", "400").returncode == EXIT_OK
    assert scout(env, "setup", "--apply").returncode == EXIT_OK
    seed = int(os.environ.get("SCOUT_CRASH_SEED", random.randrange(1 << 30)))
    rng = random.Random(seed)
    for kill in range(20):
        proc = start(env, "run", "--apply", "--cap", "40")
        await asyncio.sleep(rng.uniform(0.3, 2.5))  # from start-up to the last deals of the pass
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        settle = scout(env, "run", "--apply", "--cap", "1")
        assert settle.returncode == EXIT_OK, (seed, kill, settle.stderr)
        assert pg_schema.scalar("SELECT COUNT(*) FROM actions WHERE status = 'pending'") == 0, (seed, kill)
        assert scout_values(tmp_path) == _held_by_log(pg_schema), (seed, kill)
    for run_id in [r[0] for r in pg_schema.query(
            "SELECT id FROM runs WHERE kind = 'pass' AND dry_run = 0 ORDER BY id DESC")]:
        undone = scout(env, "undo", str(run_id), "--apply")
        assert undone.returncode in (EXIT_OK, 5), (seed, run_id, undone.stderr)  # 5: a pass that wrote nothing
    assert scout_values(tmp_path) == 0, seed
    assert pg_schema.scalar("SELECT COUNT(*) FROM actions WHERE status = 'pending'") == 0


def _held_by_log(pg: Schema) -> int:
    """Fields whose newest applied CRM change on record is a write (not yet reverted)."""
    return int(pg.scalar(
        "SELECT COUNT(*) FROM (SELECT DISTINCT ON (deal_id, field) deal_id, field, action FROM actions"
        " WHERE status = 'applied' AND dry_run = 0 AND action IN ('written', 'reverted') AND field LIKE 'scout_%'"
        " ORDER BY deal_id, field, id DESC) latest WHERE action = 'written'") or 0)


async def test_a_commit_whose_answer_was_lost_is_looked_up_never_run_again(pg_schema):
    """The server committed a page's intents and the connection dropped before its answer came back. Run
    again on a new connection, the transaction would log every intent twice; the store asks the server what
    became of it (txid_status) and, as it was committed, carries on with its rows logged once."""
    from engine.db.engines import LogTarget
    from engine.provenance import ProvenanceStore
    from tests.standins.pgproxy import PgProxy
    from tests.test_store_contract import row

    async with PgProxy(pg_schema.url) as proxy:
        store = await ProvenanceStore.open(LogTarget.postgres(proxy.url, schema=pg_schema.name))
        try:
            run_id = await store.start_run("pass", dry_run=False, dry_run_reason=None)
            proxy.cut_after_next_commit()
            ids = await store.log_intents([row(run_id), row(run_id, deal_id="d2")])
            assert proxy.cuts == 1 and len(ids) == 2
            assert pg_schema.scalar("SELECT COUNT(*) FROM actions") == 2  # committed once, never twice
            assert sorted(r.id for r in await store.pending_intents()) == sorted(ids)
        finally:
            await store.aclose()


def test_a_pass_whose_lock_session_ended_stops_when_another_pass_has_taken_the_lock(pg_schema, make_settings,
                                                                                     scout_cli):
    """The server ends the pass's sessions, its pass lock with them, and another process takes the lock before
    the next page: the first pass stops before settling another deal, and the log still matches the CRM."""
    from engine.jobs import run_job

    settings = make_settings(**pg_schema.env(), LIVE_WRITES="1", SCOUT_CONCURRENCY="1")
    assert scout_cli("demo", "--deals", "250")[0] == EXIT_OK
    assert scout_cli("setup", "--apply")[0] == EXIT_OK
    other: list[subprocess.Popen[bytes]] = []

    def after_the_first_page(progress) -> None:
        if progress.done == 100 and not other:
            ours = _pass_lock_holder(pg_schema)
            _terminate_scout_sessions()
            other.append(_take_the_lock_elsewhere(pg_schema, ours))  # the lock the server just freed

    try:
        summary, _ = asyncio.run(run_job(settings, apply=True, cap=250, progress=after_the_first_page))
    finally:
        for proc in other:
            proc.kill()
            proc.wait(10)
    assert other and any("the pass lock was lost" in e for e in summary.errors), summary.errors
    # It stopped: the first page, and at most the one whose check came just before the lock was lost.
    assert summary.scanned in (100, 200), summary
    assert pg_schema.scalar("SELECT COUNT(*) FROM actions WHERE status = 'pending'") == 0
    assert pg_schema.scalar(WRITTEN) == summary.written == scout_values_in(settings.workspace)


async def test_pages_checking_the_lock_at_once_never_let_it_go(pg_schema):
    """Two pages settle at once and both check the lock: its one session must answer both in turn. Used at
    once, the session failed one of them, was dropped and the lock taken again: a moment another pass could
    take it in (seen as `run` succeeding beside a live pass)."""
    from engine.db.engines import LogTarget
    from engine.provenance import ProvenanceStore

    store = await ProvenanceStore.open(LogTarget.postgres(pg_schema.url, schema=pg_schema.name))
    try:
        holder = await store.acquire_lock()
        before = _pass_lock_holder(pg_schema)
        await asyncio.gather(*(store.confirm_lock(holder) for _ in range(8)))
        assert before is not None and _pass_lock_holder(pg_schema) == before  # one session held it throughout
    finally:
        await store.aclose()


def test_a_pass_survives_the_server_restarting_between_two_deals(private_pg, make_settings, scout_cli):
    """Real restarts, on a server of this test's own: every session ends, and the pass goes on with new
    connections for the pool and the lock. The first restart is at once (pg_ctl restart); in the second the
    server stays down for 1.5 s, refusing connections, and the pass waits for it."""
    from engine.jobs import run_job

    settings = make_settings(DATABASE_URL=private_pg.url, LIVE_WRITES="1", SCOUT_CONCURRENCY="1")
    assert scout_cli("demo", "--deals", "250")[0] == EXIT_OK
    assert scout_cli("setup", "--apply")[0] == EXIT_OK
    restarted: list[int] = []

    def between_deals(progress) -> None:
        if progress.done in (50, 150) and progress.done not in restarted:
            private_pg.restart() if progress.done == 50 else private_pg.down_for(1.5)
            restarted.append(progress.done)

    summary, _ = asyncio.run(run_job(settings, apply=True, cap=250, progress=between_deals))
    assert restarted == [50, 150], restarted
    assert summary.scanned == 250 and summary.failed == 0 and summary.written > 0, summary.errors
    log = Schema.at(private_pg.url, "public")
    assert log.scalar("SELECT COUNT(*) FROM actions WHERE status = 'pending'") == 0
    assert log.scalar(WRITTEN) == summary.written == scout_values_in(settings.workspace)
    assert scout_cli("run", "--apply")[0] == EXIT_OK  # and the lock is free afterwards



async def test_intents_are_never_logged_by_a_pass_whose_lock_session_has_ended(pg_schema):
    """The check before a page can pass just before the server ends the lock's session: the intents' own
    transaction checks again that the lock's session still holds the lock, so no write of that page begins."""
    import pytest

    from engine.db.engines import LogTarget
    from engine.errors import LockHeld
    from engine.provenance import ProvenanceStore
    from tests.pg import execute, run
    from tests.test_store_contract import row

    store = await ProvenanceStore.open(LogTarget.postgres(pg_schema.url, schema=pg_schema.name))
    other = None
    try:
        await store.acquire_lock()
        run_id = await store.start_run("pass", dry_run=False, dry_run_reason=None)
        assert len(await store.log_intents([row(run_id)])) == 1  # held: logged
        pid = _pass_lock_holder(pg_schema)
        run(execute("SELECT pg_terminate_backend($1)", pid))
        other = _take_the_lock_elsewhere(pg_schema, pid)
        with pytest.raises(LockHeld):
            await store.log_intents([row(run_id, deal_id="d2")])
        assert pg_schema.scalar("SELECT COUNT(*) FROM actions") == 1  # nothing of the second page
    finally:
        if other is not None:
            other.kill()
            other.wait(10)
        await store.aclose()


def _pass_lock_holder(pg: Schema) -> int | None:
    """The server process holding this schema's pass lock (pg_locks shows a bigint key as two 32-bit halves);
    other tests' sessions may still be ending with locks of their own."""
    from engine.provenance import _advisory_key

    key = _advisory_key(f"{pg.name}:pass") & 0xFFFFFFFFFFFFFFFF
    return pg.scalar("SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = $1"
                     " AND objid = $2 AND objsubid = 1", key >> 32, key & 0xFFFFFFFF)


def _take_the_lock_elsewhere(pg: Schema, ours: int | None) -> subprocess.Popen[bytes]:
    """Another machine's pass (psql, holding it for a minute) takes this schema's pass lock once the session
    `ours` has let it go: pg_terminate_backend returns before the session has gone."""
    from engine.provenance import _advisory_key

    key = _advisory_key(f"{pg.name}:pass")
    other = subprocess.Popen(["psql", pg.url, "-q", "-c", f"SELECT pg_advisory_lock({key})", "-c",
                              "SELECT pg_sleep(60)"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while _pass_lock_holder(pg) in (None, ours):
        assert time.monotonic() < deadline, "the other process never took the lock"
        time.sleep(0.05)
    return other

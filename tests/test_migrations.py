"""Versioned migrations: today's logs upgrade in place with no row lost; an old schema is refused with the fix."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from engine.commands import EXIT_OK
from engine.db.schema import head
from engine.db.tables import TABLES

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "log_fac8dc7"


def table_counts(db: Path) -> dict[str, int]:
    with sqlite3.connect(db) as conn:
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        return {t.name: conn.execute(f"SELECT COUNT(*) FROM {t.name}").fetchone()[0]
                for t in TABLES if t.name in names}


def rows(db: Path, table: str) -> list[tuple]:
    with sqlite3.connect(db) as conn:
        columns = [r[1] for r in conn.execute(f"PRAGMA table_info({table})") if r[1] != "seq"]
        return conn.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY 1, 2").fetchall()


@pytest.fixture
def old_log(make_settings, tmp_path):
    """A copy of a log (and its demo workspace) that Scout wrote before migrations existed."""
    data = tmp_path / "scout-data"
    data.mkdir(exist_ok=True)
    for name in ("log.sqlite", "workspace.sqlite"):
        shutil.copyfile(FIXTURE / name, data / name)
    return make_settings(SCOUT_DATA_DIR=str(data))


def test_a_log_from_before_migrations_is_refused_with_the_fix_and_upgrades_in_place_losing_no_row(
        scout, old_log, make_settings):
    before = table_counts(old_log.log_db)
    assert before["runs"] == 6 and before["actions"] == 73 and before["reviews"] == 1 and before["slack_posts"] == 2
    kept = {t.name: rows(old_log.log_db, t.name) for t in TABLES}

    code, out, err = scout("db", "status")
    assert code == 1 and "unversioned schema" in out and "scout db upgrade" in out
    for argv in (("run",), ("log",), ("undo", "last")):
        code, out, err = scout(*argv)
        assert code == 1 and err.count("\n") == 1 and "run `scout db upgrade`" in err, (argv, err)
    assert table_counts(old_log.log_db) == before  # a refusal touched nothing

    code, out, _ = scout("db", "upgrade")
    assert code == EXIT_OK and f"to revision {head()}" in out
    assert table_counts(old_log.log_db) == before
    assert {t.name: rows(old_log.log_db, t.name) for t in TABLES} == kept
    code, out, _ = scout("db", "status")
    assert code == EXIT_OK and f"at revision {head()} (the newest)" in out
    assert scout("db", "upgrade")[1].endswith("nothing to do\n")

    # The upgraded log is the same history: its runs list, and the live pass it recorded undoes exactly.
    code, out, _ = scout("log", "--json")
    assert code == EXIT_OK and out.count('"kind": "pass"') == 3
    code, out, _ = scout("undo", "last")
    assert code == EXIT_OK and "would-revert" in out
    with sqlite3.connect(old_log.workspace) as db:
        held = db.execute("SELECT COUNT(*) FROM deal_values WHERE field LIKE 'scout_%'").fetchone()[0]
    make_settings(LIVE_WRITES="1")
    code, out, _ = scout("undo", "last", "--apply")
    assert code == EXIT_OK and "LIVE: undo of run 5" in out
    with sqlite3.connect(old_log.workspace) as db:
        assert db.execute("SELECT COUNT(*) FROM deal_values WHERE field LIKE 'scout_%'").fetchone()[0] < held


def test_an_upgrade_that_fails_part_way_leaves_the_log_as_it_was(scout, old_log):
    with sqlite3.connect(old_log.log_db) as db:  # revision 0002 adds batch_requests.seq: make that step fail
        db.execute("ALTER TABLE batch_requests ADD COLUMN seq INTEGER")
    before = table_counts(old_log.log_db)
    code, _, err = scout("db", "upgrade")
    assert code == 1 and "duplicate column" in err and err.count("\n") == 1
    with sqlite3.connect(old_log.log_db) as db:  # revision 0001's own step (the version table) rolled back too
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "alembic_version" not in tables
    assert table_counts(old_log.log_db) == before
    assert "unversioned schema" in scout("db", "status")[1]


def test_a_new_log_is_created_at_the_newest_revision_with_no_extra_command(scout, small_demo):
    assert scout("run")[0] == EXIT_OK
    code, out, _ = scout("db", "status")
    assert code == EXIT_OK and f"at revision {head()} (the newest)" in out


def test_a_log_from_a_newer_scout_is_refused(scout, small_demo):
    assert scout("run")[0] == EXIT_OK
    with sqlite3.connect(small_demo.log_db) as db:
        db.execute("UPDATE alembic_version SET version_num = '0999'")
    code, _, err = scout("run")
    assert code == 1 and "newer than this Scout knows" in err and "upgrade Scout" in err


def test_upgrading_an_empty_database_says_it_created_the_schema(scout, make_settings):
    settings = make_settings()
    code, out, err = scout("db", "upgrade")
    assert code == EXIT_OK, err
    assert out == f"provenance log {settings.log_target.describe()}: created at revision {head()} (it was empty)\n"
    assert scout("db", "upgrade")[1].endswith("nothing to do\n")

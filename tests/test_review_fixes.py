"""Regression tests for the review's findings: each asserts what an operator would see."""

from __future__ import annotations

import json
import re

import pytest

from engine.cli import main
from engine.commands import EXIT_OK, EXIT_USAGE
from engine.jobs import run_job


def scout(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        code = main(list(args))
    except SystemExit as exc:  # argparse reports usage errors by exiting
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def demo(capsys, make_settings):
    settings = make_settings()
    code, out, _ = scout(capsys, "demo", "--deals", "12")
    assert code == EXIT_OK and "12 deals" in out
    return settings


# -- 2. --cap is validated ---------------------------------------------------------------------------------

@pytest.mark.parametrize("cap, message", [("-1", "must be at least 1, not -1"), ("0", "must be at least 1, not 0"),
                                          ("many", "'many' is not a whole number")])
def test_a_cap_below_one_is_a_usage_error_not_a_bypass_or_the_default(capsys, demo, cap, message):
    code, out, err = scout(capsys, "run", "--cap", cap)
    assert code == EXIT_USAGE and out == ""
    assert f"argument --cap: {message}" in err
    assert not demo.log_db.exists()  # nothing ran


def test_a_cap_of_one_scans_one_deal(capsys, demo):
    code, out, _ = scout(capsys, "run", "--cap", "1")
    assert code == EXIT_OK and "scanned 1/12 (cap 1)" in out


async def test_run_job_refuses_a_zero_cap_instead_of_using_the_default(demo):
    with pytest.raises(ValueError, match="cap must be at least 1, not 0"):
        await run_job(demo, apply=False, cap=0)


# -- 3. a rep field missing from the CRM -------------------------------------------------------------------

TYPO_MAP = '[concepts.economic_buyer]\nrep_field = "econ_buyer"\nrep_type = "person"\n'


async def test_missing_rep_fields_names_fields_the_crm_does_not_have(demo, tmp_path):
    from engine.crm.factory import open_reader
    from engine.fieldsetup import missing_rep_fields
    from engine.medic import load_field_map

    crm = await open_reader(demo)
    try:
        assert await missing_rep_fields(crm, demo.field_map) == []
        path = tmp_path / "map.toml"
        path.write_text(TYPO_MAP)
        assert await missing_rep_fields(crm, load_field_map(path)) == ["econ_buyer"]
    finally:
        await crm.aclose()


def test_a_live_pass_refuses_when_a_rep_field_is_missing_and_a_dry_run_warns(capsys, demo, monkeypatch, tmp_path):
    monkeypatch.setenv("LIVE_WRITES", "1")
    assert scout(capsys, "setup", "--apply")[0] == EXIT_OK
    path = tmp_path / "map.toml"
    path.write_text(TYPO_MAP)
    monkeypatch.setenv("SCOUT_FIELD_MAP", str(path))

    code, out, err = scout(capsys, "run", "--apply")
    assert code == 1 and out == ""
    assert err.startswith("scout: live pass refused: rep field(s) econ_buyer not found in the CRM")
    assert "SCOUT_FIELD_MAP" in err and "`scout check`" in err
    code, out, _ = scout(capsys, "log", "--json")
    assert [r["kind"] for r in json.loads(out)] == ["setup"]  # refused before a pass started: nothing written

    code, out, _ = scout(capsys, "run")
    assert code == EXIT_OK and out.startswith("DRY RUN (--apply was not given)")
    assert "warning: rep field(s) econ_buyer not found in the CRM" in out


# -- 4. setup and undo runs end on record with a readable summary ------------------------------------------

def runs(capsys) -> list[dict]:
    code, out, _ = scout(capsys, "log", "--json")
    assert code == EXIT_OK
    return json.loads(out)


def test_setup_runs_finish_with_a_one_line_summary_and_counts(capsys, demo, monkeypatch):
    scout(capsys, "setup")
    monkeypatch.setenv("LIVE_WRITES", "1")
    scout(capsys, "setup", "--apply")
    scout(capsys, "setup", "--apply")
    again, live, dry = runs(capsys)
    assert [r["status"] for r in (dry, live, again)] == ["finished"] * 3
    assert dry["summary"] == "DRY RUN: 7 would be created" and dry["would_write"] == 7
    assert live["summary"] == "setup: 7 created" and live["written"] == 7
    assert again["summary"] == "setup: 7 already there" and again["skipped"] == 7 and again["written"] == 0
    code, out, _ = scout(capsys, "log")
    assert "[running]" not in out


def test_an_undo_run_finishes_with_readable_text_and_the_runs_counts(capsys, demo, monkeypatch):
    monkeypatch.setenv("LIVE_WRITES", "1")
    scout(capsys, "setup", "--apply")
    code, out, _ = scout(capsys, "run", "--apply")
    written = int(out.split(": ", 1)[1].split(" written")[0])
    assert code == EXIT_OK and written > 0
    pass_id = runs(capsys)[0]["id"]

    scout(capsys, "undo", str(pass_id))
    rehearsal = runs(capsys)[0]
    assert rehearsal["kind"] == "undo" and rehearsal["status"] == "finished"
    assert rehearsal["summary"] == (f"DRY RUN: undo of run {pass_id}: {written} would be reverted, "
                                    "0 conflicts left as is, 0 failed, 0 already reverted")
    assert (rehearsal["would_write"], rehearsal["written"], rehearsal["failed"]) == (written, 0, 0)

    scout(capsys, "undo", str(pass_id), "--apply")
    live = runs(capsys)[0]
    assert live["summary"] == (f"LIVE: undo of run {pass_id}: {written} reverted, "
                               "0 conflicts left as is, 0 failed, 0 already reverted")
    assert (live["written"], live["would_write"], live["skipped"]) == (written, 0, 0)
    code, out, _ = scout(capsys, "log", str(live["id"]))
    assert out.splitlines()[0] == live["summary"]


# -- 5. a corrupt or unusable data file is one line and the process exits ----------------------------------

def test_a_corrupt_log_is_one_line_naming_it(capsys, demo):
    demo.log_db.write_text("garbage\n")
    code, out, err = scout(capsys, "run")
    assert code == 1 and out == ""
    assert err == f"scout: cannot open the provenance log {demo.log_db}: file is not a database\n"
    code, _, err = scout(capsys, "log")  # the read-only face says the same
    assert code == 1 and err == f"scout: cannot open the provenance log {demo.log_db}: file is not a database\n"


def test_a_corrupt_workspace_is_one_line_naming_it(capsys, demo):
    demo.workspace.write_text("garbage\n")
    code, out, err = scout(capsys, "run")
    assert code == 1 and out == ""
    # The read-only open reads the header at once, so the line names the workspace and only the workspace.
    assert err == f"scout: cannot open the embedded workspace {demo.workspace}: file is not a database\n"


def test_a_data_dir_that_cannot_be_created_is_one_line(capsys, make_settings, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    make_settings(SCOUT_DATA_DIR=str(blocker / "data"))
    code, out, err = scout(capsys, "run")
    assert code == 1 and out == "" and err.count("\n") == 1
    assert err.startswith(f"scout: cannot open the provenance log {blocker / 'data' / 'log.sqlite'}: ")
    assert "Not a directory" in err


def test_a_corrupt_workspace_opened_for_writing_is_one_line_naming_it(capsys, demo, monkeypatch):
    demo.workspace.write_text("garbage\n")
    monkeypatch.setenv("LIVE_WRITES", "1")
    code, out, err = scout(capsys, "setup", "--apply")
    assert code == 1 and out == ""
    assert err == f"scout: cannot open the embedded workspace {demo.workspace}: file is not a database\n"


def test_the_cli_process_exits_after_a_corrupt_log_instead_of_hanging(demo):
    import os
    import subprocess
    import sys

    demo.log_db.write_text("garbage\n")
    # Without closing the failed connection, its thread kept the interpreter alive forever after the error.
    done = subprocess.run([sys.executable, "-m", "engine.cli", "run"], capture_output=True, text=True, timeout=30,
                          env={**os.environ}, cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr == f"scout: cannot open the provenance log {demo.log_db}: file is not a database\n"


# -- 6. undo takes the pass lock ---------------------------------------------------------------------------

def test_undo_waits_its_turn_while_a_pass_holds_the_lock(capsys, demo, monkeypatch):
    import asyncio

    from engine.commands import EXIT_BUSY
    from engine.provenance import ProvenanceStore
    from tests.pipeline import file_digest

    monkeypatch.setenv("LIVE_WRITES", "1")
    scout(capsys, "setup", "--apply")
    assert scout(capsys, "run", "--apply")[0] == EXIT_OK
    pass_id = runs(capsys)[0]["id"]

    async def lock(holder: str | None = None) -> str:
        store = await ProvenanceStore.open(demo.log_db)
        try:
            if holder is None:
                return await store.acquire_lock()  # as a live pass in this (living) process would
            await store.release_lock(holder)
            return holder
        finally:
            await store.aclose()

    holder = asyncio.run(lock())
    before = file_digest(demo.workspace)
    code, out, err = scout(capsys, "undo", str(pass_id), "--apply")
    assert code == EXIT_BUSY and out == "" and "another pass is running" in err
    assert file_digest(demo.workspace) == before and runs(capsys)[0]["id"] == pass_id  # nothing reverted or logged

    asyncio.run(lock(holder))
    code, out, _ = scout(capsys, "undo", str(pass_id), "--apply")
    assert code == EXIT_OK and out.startswith("LIVE")
    assert runs(capsys)[0]["kind"] == "undo"


# -- 8. only the exact string "1" opens a lock -------------------------------------------------------------

@pytest.mark.parametrize("raw", [" 1", "1 ", "1\n", "\t1"])
def test_a_padded_live_writes_keeps_the_lock_shut_and_says_so(capsys, demo, monkeypatch, raw):
    from engine.gate import open_gate
    from engine.settings import Settings
    from tests.pipeline import file_digest

    monkeypatch.setenv("LIVE_WRITES", raw)
    monkeypatch.setenv("SCOUT_SCHEDULE_APPLY", raw)
    settings = Settings()
    assert settings.live_writes is False and settings.schedule_apply is False
    gate = open_gate(True, settings)
    assert gate.live is False and gate.reason == f"LIVE_WRITES is {raw!r}, not 1"

    before = file_digest(demo.workspace)
    code, out, _ = scout(capsys, "setup", "--apply")
    assert code == EXIT_OK and out.startswith(f"DRY RUN (LIVE_WRITES is {raw!r}, not 1)")
    assert file_digest(demo.workspace) == before


def test_exactly_1_opens_it(make_settings):
    settings = make_settings(LIVE_WRITES="1", SCOUT_SCHEDULE_APPLY="1")
    assert settings.live_writes and settings.schedule_apply


# -- 9. the extraction cache key covers what the prompt carries --------------------------------------------

async def test_a_renamed_deal_or_retitled_or_reattributed_note_is_extracted_again(make_settings):
    from tests.pipeline import GOOD_SCRIPT, seed, small_pipeline
    from tests.scripted_model import ScriptedModel

    settings = make_settings()
    data = small_pipeline()
    await seed(settings.workspace, data)
    model = ScriptedModel(GOOD_SCRIPT)

    async def pass_() -> int:
        before = model.calls
        await run_job(settings, apply=False, extractor=model.extractor())
        return model.calls - before

    assert await pass_() == 4  # one request per deal with notes
    assert await pass_() == 0  # unchanged: all from the cache

    d2, n3 = data.deals[1], next(n for n in data.notes if n.id == "n3")  # the prompt names both
    assert d2.id == n3.deal_id == "d2"
    for obj, attr, value in ((d2, "name", "Globex — Expansion (EMEA)"), (n3, "title", "Call n3 (corrected)"),
                             (n3, "author", "Sam Lee")):
        setattr(obj, attr, value)
        await seed(settings.workspace, data)
        assert await pass_() == 1  # exactly d2, whose prompt changed
        assert await pass_() == 0


def test_one_rule_decides_what_the_cache_keeps():
    from engine.extract import batch
    from engine.extract.cache import worth_caching
    from engine.models import DroppedFinding, Extraction

    cut_short = Extraction(model="m", dropped=[DroppedFinding(concept="*", reason="max_tokens")])
    fine = Extraction(model="m", dropped=[DroppedFinding(concept="metrics", reason="not verbatim")])
    assert (worth_caching(cut_short), worth_caching(fine)) == (False, True)
    assert batch.cacheable is worth_caching


# -- 10. one scout_* field per concept ---------------------------------------------------------------------

SHARED = '[concepts.champion]\nscout_field = "scout_economic_buyer"\n'
SHARED_MESSAGE = ("economic_buyer and champion both use the scout field scout_economic_buyer: "
                  "give each concept its own scout_* field")


def test_two_concepts_cannot_share_a_scout_field(tmp_path):
    from pydantic import ValidationError

    from engine.medic import load_field_map

    path = tmp_path / "map.toml"
    path.write_text(SHARED)
    with pytest.raises(ValidationError, match=re.escape(SHARED_MESSAGE)):
        load_field_map(path)
    path.write_text('[concepts.champion]\nscout_field = "scout_champion_v2"\n')  # its own field is fine
    assert load_field_map(path).concepts["champion"].scout.name == "scout_champion_v2"


def test_a_shared_scout_field_is_one_configuration_line(capsys, make_settings, tmp_path):
    path = tmp_path / "map.toml"
    path.write_text(SHARED)
    make_settings(SCOUT_FIELD_MAP=str(path))
    code, out, err = scout(capsys, "run")
    assert code == EXIT_USAGE and out == ""
    assert err == f"scout: configuration error in SCOUT_FIELD_MAP ({path}): Value error, {SHARED_MESSAGE}\n"

"""The command line as an operator meets it: the demo, setup, a pass, the log, undo and deal lookups."""

from __future__ import annotations

import json

import pytest

from engine.commands import EXIT_BUSY, EXIT_NOT_FOUND, EXIT_OK, EXIT_PARTIAL, EXIT_USAGE
from tests.pipeline import file_digest, snapshot
import re
from engine.jobs import run_job


@pytest.fixture
def demo(scout, make_settings):
    settings = make_settings()
    code, out, _ = scout("demo")
    assert code == EXIT_OK and "212 deals" in out
    return settings


def test_main_job_on_a_fresh_machine_is_a_loud_rehearsal(scout, demo):
    code, out, _ = scout("run")
    assert code == EXIT_OK
    head = out.splitlines()[0]
    assert head.startswith("DRY RUN (--apply was not given and LIVE_WRITES is not set): 0 written, ")
    assert head.endswith("scanned 50/212 (cap 50)")
    assert "Nothing was written to the CRM" in out
    assert "162 deals not reached this run (cap 50); they come first next run." in out
    assert "7 scout_* field(s) missing" in out


def test_demo_twice_keeps_the_workspace_unless_reset(scout, demo):
    before = file_digest(demo.workspace)
    code, out, _ = scout("demo")
    assert code == EXIT_OK and "already" in out and file_digest(demo.workspace) == before
    code, out, _ = scout("demo", "--reset", "--deals", "220")
    assert code == EXIT_OK and "220 deals" in out


def test_setup_rehearses_then_creates_and_is_harmless_twice(scout, demo, monkeypatch):
    before = file_digest(demo.workspace)
    code, out, _ = scout("setup", "--apply")
    assert code == EXIT_OK and out.startswith("DRY RUN (LIVE_WRITES is not set)")
    assert out.count("would_create") == 7 and "Nothing was created" in out
    assert file_digest(demo.workspace) == before

    monkeypatch.setenv("LIVE_WRITES", "1")
    code, out, _ = scout("setup")
    assert code == EXIT_OK and out.startswith("DRY RUN (--apply was not given)")
    code, out, _ = scout("setup", "--apply")
    assert code == EXIT_OK and out.startswith("LIVE") and out.count(" created") == 7
    code, out, _ = scout("setup", "--apply")
    assert code == EXIT_OK and out.count(" exists") == 7 and " created" not in out


def test_live_run_refuses_before_setup_and_writes_after(scout, demo, monkeypatch):
    monkeypatch.setenv("LIVE_WRITES", "1")
    code, _, err = scout("run", "--apply")
    assert code == 1 and "run `scout setup --apply` first" in err
    scout("setup", "--apply")
    before = await_snapshot(demo)
    code, out, _ = scout("run", "--apply", "--cap", "30")
    assert code == EXIT_OK and out.startswith("LIVE: ") and "scanned 30/212 (cap 30)" in out
    written = int(out.split(": ", 1)[1].split(" written")[0])
    assert written > 0
    after = await_snapshot(demo)
    changed = {(d, f) for d in after for f in set(after[d]) | set(before[d]) if after[d].get(f) != before[d].get(f)}
    assert len(changed) == written and all(f.startswith("scout_") for _, f in changed)


def await_snapshot(settings):
    import asyncio

    return asyncio.run(snapshot(settings.workspace))


def test_log_lists_runs_and_shows_a_runs_actions_as_table_and_json(scout, demo):
    scout("run", "--cap", "5")
    code, out, _ = scout("log")
    assert code == EXIT_OK
    assert "DRY RUN" in out.splitlines()[1] and "5/212 (cap 5)" in out
    code, out, _ = scout("log", "1")
    assert code == EXIT_OK and out.startswith("DRY RUN")
    assert "would_write" in out and "skipped" in out
    code, out, _ = scout("log", "1", "--json", "--action", "would_write")
    data = json.loads(out)
    assert data["run"]["id"] == 1 and data["run"]["dry_run"] is True
    assert data["actions"] and {a["action"] for a in data["actions"]} == {"would_write"}
    first = data["actions"][0]
    assert first["field"].startswith("scout_") and first["excerpt"] and first["note_id"]
    assert first["model"] == "offline-rules-1" and first["dry_run"] is True
    code, _, err = scout("log", "99")
    assert code == EXIT_NOT_FOUND and "no run 99" in err


def test_undo_by_run_id_through_the_cli(scout, demo, monkeypatch):
    monkeypatch.setenv("LIVE_WRITES", "1")
    scout("setup", "--apply")
    before = await_snapshot(demo)
    code, out, _ = scout("run", "--apply", "--cap", "20")
    run_id = json.loads(scout("log", "--json")[1])[0]["id"]
    code, out, _ = scout("undo", str(run_id))
    assert code == EXIT_OK and out.startswith("DRY RUN (--apply was not given)") and "Nothing was changed" in out
    code, out, _ = scout("undo", str(run_id), "--apply")
    assert code == EXIT_OK and out.startswith("LIVE") and " 0 conflicts" in out
    assert await_snapshot(demo) == before
    code, _, err = scout("undo", "999", "--apply")
    assert code == EXIT_NOT_FOUND and "no run 999" in err


def test_undo_last_reverts_the_most_recent_live_pass_whatever_its_number(scout, demo, monkeypatch):
    code, _, err = scout("undo", "last")
    assert code == EXIT_NOT_FOUND and "no live pass" in err
    monkeypatch.setenv("LIVE_WRITES", "1")
    scout("setup", "--apply")
    before = await_snapshot(demo)
    code, out, _ = scout("run", "--apply", "--cap", "20")
    assert code == EXIT_OK and out.startswith("LIVE")
    live = json.loads(scout("log", "--json")[1])[0]["id"]
    scout("run", "--cap", "5")  # a later rehearsal and setup are not "the last pass" to undo
    scout("setup")
    code, out, _ = scout("undo", "last")
    assert code == EXIT_OK and out.startswith(f"DRY RUN (--apply was not given): undo of run {live} ")
    assert " 0 would-revert" not in out and "To revert: `scout undo last --apply` with LIVE_WRITES=1" in out
    code, out, _ = scout("undo", "last", "--apply")
    assert code == EXIT_OK and out.startswith(f"LIVE: undo of run {live} ") and " 0 conflicts" in out
    assert await_snapshot(demo) == before
    code, _, err = scout("undo", "lats")
    assert code == EXIT_USAGE and "last" in err


def test_deal_lookup_is_read_only_and_handles_ambiguity(scout, demo):
    scout("run", "--cap", "212")
    workspace, log = file_digest(demo.workspace), file_digest(demo.log_db)
    code, out, _ = scout("deal", "Acme")
    assert code == EXIT_NOT_FOUND and "'Acme' matches 5 deals:" in out and out.count("Acme") >= 5
    code, out, _ = scout("deal", "no such deal zzz")
    assert code == EXIT_NOT_FOUND and "No deal matches" in out
    code, out, _ = scout("deal", "--json", "Acme Corp")
    candidates = json.loads(out)["candidates"]
    name = candidates[0]["name"] if candidates else json.loads(out)["view"]["name"]
    code, out, _ = scout("deal", name)
    assert code == EXIT_OK and out.startswith(name) and "last scanned: 20" in out
    assert "economic_buyer" in out and "scout_champion" in out
    assert (file_digest(demo.workspace), file_digest(demo.log_db)) == (workspace, log)


def test_settings_errors_and_a_busy_lock_have_clear_exit_codes(scout, demo, monkeypatch):
    monkeypatch.setenv("SCOUT_SCAN_CAP", "zero")
    code, _, err = scout("run")
    assert code == EXIT_USAGE and "SCOUT_SCAN_CAP" in err
    monkeypatch.delenv("SCOUT_SCAN_CAP")

    import asyncio

    from engine.provenance import ProvenanceStore

    async def hold():
        store = await ProvenanceStore.open(demo.log_db)
        await store.acquire_lock()
        await store.aclose()

    asyncio.run(hold())
    code, _, err = scout("run")
    assert code == EXIT_BUSY and "another pass is running" in err


def test_missing_workspace_says_what_to_do(scout, make_settings):
    make_settings()
    code, _, err = scout("run")
    assert code == 1 and "run `scout demo`" in err and "Traceback" not in err


def test_partial_exit_code_when_setup_meets_a_conflicting_field(scout, demo, monkeypatch):
    import asyncio

    from engine.crm.local import LocalCRM
    from engine.models import FieldSpec, FieldType

    async def squat():
        crm = await LocalCRM.open(demo.workspace, writable=True)
        await crm.create_field(FieldSpec(name="scout_metrics", type=FieldType.NUMBER))
        await crm.aclose()

    asyncio.run(squat())
    monkeypatch.setenv("LIVE_WRITES", "1")
    code, out, _ = scout("setup", "--apply")
    assert code == EXIT_PARTIAL and "scout_metrics" in out and "conflict" in out and "will not touch it" in out


@pytest.mark.parametrize(("content", "expected"), [
    (None, "No such file"),
    ("concepts = [", "SCOUT_FIELD_MAP"),
    ('[concepts.champion]\nscout_field = "champion"\n', "must start with 'scout_'"),
    ('[concepts.budget]\nrep_field = "x"\n',
     "unknown concept 'budget' in [concepts.budget]; the concepts are metrics, economic_buyer, decision_criteria, "
     "identified_pain, champion, paper_process, competition"),
    ('[concepts.champion]\nrep_type = "string"\n',
     "unknown rep_type 'string' for champion; the types are text, number, date, select, multi_select, person, "
     "record"),
    ('[concepts.metrics]\nscout_type = "Text"\n', "unknown scout_type 'Text' for metrics; the types are text,"),
])
def test_a_bad_field_map_is_one_line_not_a_traceback(scout, make_settings, tmp_path, content, expected):
    path = tmp_path / "map.toml"
    if content is not None:
        path.write_text(content)
    make_settings(SCOUT_FIELD_MAP=str(path))
    code, _, err = scout("run")
    assert code == EXIT_USAGE
    assert err.startswith("scout: configuration error in SCOUT_FIELD_MAP") and expected in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_post_without_a_channel_refuses_before_the_pass_runs(scout, demo, monkeypatch):
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    code, out, err = scout("run", "--post")
    assert code != EXIT_OK and "SCOUT_SUMMARY_CHANNEL is not set" in err and "Traceback" not in err
    assert out == "" and not demo.log_db.exists()  # no pass ran


@pytest.mark.parametrize("query", ["d0001", "Acme Corp — Platform renewal", "acme corp - platform renewal",
                                   "ACME CORP – PLATFORM RENEWAL", "Acme Corp—Platform  renewal"])
def test_a_deal_is_found_by_id_exact_name_or_name_in_any_case_and_dash_style(scout, demo, query):
    code, out, _ = scout("deal", "--no-extract", query)
    assert code == EXIT_OK, out
    assert out.startswith("Acme Corp — Platform renewal (d0001)")


def test_an_ambiguous_name_lists_candidates_with_ids_how_many_more_and_how_to_pick(scout, demo):
    from engine.demo import generate_demo

    pilots = sorted((d.id, d.name) for d in generate_demo().deals if "pilot" in d.name.casefold())
    assert len(pilots) > 6
    code, out, _ = scout("deal", "--no-extract", "PILOT")
    assert code == EXIT_NOT_FOUND
    lines = out.splitlines()
    assert lines[0] == f"'PILOT' matches {len(pilots)} deals:"
    shown = [line.split(None, 1) for line in lines[1:6]]
    assert all(pair in [list(p) for p in pilots] for pair in shown), lines
    assert lines[6] == f"  and {len(pilots) - 5} more"
    first = shown[0][0]
    assert lines[7] == f"Pick one by its id, e.g. `scout deal {first}`, or give more of the name."

    code, out, _ = scout("deal", "--json", "--no-extract", "PILOT")
    data = json.loads(out)
    assert code == EXIT_NOT_FOUND and data["view"] is None and data["total"] == len(pilots)
    assert [c["deal_id"] for c in data["candidates"]] == [pair[0] for pair in shown]
    code, out, _ = scout("deal", "--no-extract", first)
    assert code == EXIT_OK and out.startswith(f"{dict(pilots)[first]} ({first})")


def test_log_checks_the_action_filter_and_limits_a_runs_actions(scout, demo):
    scout("run", "--cap", "10")
    code, _, err = scout("log", "1", "--action", "would-write")
    assert code == EXIT_USAGE and "invalid choice: 'would-write'" in err
    assert "would_write" in err and "revert_conflict" in err  # the known actions are listed
    code, _, err = scout("log", "--action", "failed")  # a filter needs the run it filters
    assert code == EXIT_USAGE and "--action" in err and "scout log RUN --action" in err

    everything = json.loads(scout("log", "1", "--json")[1])["actions"]
    assert len(everything) > 3
    limited = json.loads(scout("log", "1", "--json", "--limit", "3")[1])["actions"]
    assert limited == everything[:3]
    code, out, _ = scout("log", "1", "--limit", "3")
    assert code == EXIT_OK and f"{len(everything) - 3} more" in out
    table = out.split("\n\n", 1)[1].splitlines()  # after the run's summary
    assert table[0].split()[:2] == ["id", "action"]
    shown = [line.split()[0] for line in table[1:] if line.split() and line.split()[0].isdigit()]
    assert shown == [str(a["id"]) for a in everything[:3]]  # exactly the first three action rows
    code, _, err = scout("log", "--limit", "0")
    assert code == EXIT_USAGE
    code, out, _ = scout("log", "1", "--action", "failed", "--action", "revert_conflict")
    assert code == EXIT_OK and out.rstrip().endswith("no failed or revert_conflict actions in run 1")


def test_log_marks_a_running_run_and_shows_its_counts_so_far(scout, demo):
    import asyncio

    from engine.provenance import ProvenanceStore

    scout("run", "--cap", "5")

    async def start():  # a pass in progress in another process, as the log holds it
        store = await ProvenanceStore.open(demo.log_db)
        run_id = await store.start_run("pass", dry_run=True, dry_run_reason="--apply was not given", cap=50)
        await store.aclose()
        return run_id

    running = asyncio.run(start())
    code, out, _ = scout("log")
    line = next(line for line in out.splitlines() if line.split() and line.split()[0] == str(running))
    assert "RUNNING" in line
    finished = next(line for line in out.splitlines() if line.split() and line.split()[0] == "1")
    assert "RUNNING" not in finished and "finished" in finished
    code, out, _ = scout("log", str(running))
    assert code == EXIT_OK and out.startswith(f"run {running} (pass) is RUNNING: so far 0 written, 0 would-write")


def test_an_undo_row_tampered_to_name_a_rep_field_is_refused_logged_and_the_crm_untouched(scout, demo, monkeypatch):
    import sqlite3

    monkeypatch.setenv("LIVE_WRITES", "1")
    scout("setup", "--apply")
    scout("run", "--apply", "--cap", "20")
    run_id = json.loads(scout("log", "--json")[1])[0]["id"]
    written = [a for a in json.loads(scout("log", str(run_id), "--json")[1])["actions"] if a["action"] == "written"]
    target = written[0]
    rep = demo.field_map.concepts[target["concept"]].rep.name
    # Someone edits the log: the write now "was" to the rep-owned twin, and undo would put their text there.
    with sqlite3.connect(demo.log_db) as db:
        db.execute("UPDATE actions SET field=?, new=NULL, previous=? WHERE id=?",
                   (rep, json.dumps("planted by a tampered log"), target["id"]))
    before = await_snapshot(demo)
    code, out, _ = scout("undo", str(run_id))  # the rehearsal shows the refusal the live undo meets
    assert code == EXIT_PARTIAL and " 1 failed" in out
    code, out, _ = scout("undo", str(run_id), "--apply")
    assert code == EXIT_PARTIAL and " 1 failed" in out
    undo_id = json.loads(scout("log", "--json")[1])[0]["id"]
    actions = json.loads(scout("log", str(undo_id), "--json")[1])["actions"]
    refused = [a for a in actions if a["reverts"] == target["id"]]
    assert [(a["action"], a["status"], a["field"]) for a in refused] == [("failed", "failed", rep)]
    assert "not a scout_* field" in refused[0]["error"]
    after = await_snapshot(demo)
    assert after[target["deal_id"]].get(rep) == before[target["deal_id"]].get(rep)  # the rep field untouched


@pytest.mark.parametrize("cap, message", [("-1", "must be at least 1, not -1"), ("0", "must be at least 1, not 0"),
                                          ("many", "'many' is not a whole number")])
def test_a_cap_below_one_is_a_usage_error_not_a_bypass_or_the_default(scout, small_demo, cap, message):
    code, out, err = scout("run", "--cap", cap)
    assert code == EXIT_USAGE and out == ""
    assert f"argument --cap: {message}" in err
    assert not small_demo.log_db.exists()  # nothing ran


def test_a_cap_of_one_scans_one_deal(scout, small_demo):
    code, out, _ = scout("run", "--cap", "1")
    assert code == EXIT_OK and "scanned 1/12 (cap 1)" in out


async def test_run_job_refuses_a_zero_cap_instead_of_using_the_default(small_demo):
    with pytest.raises(ValueError, match="cap must be at least 1, not 0"):
        await run_job(small_demo, apply=False, cap=0)


TYPO_MAP = '[concepts.economic_buyer]\nrep_field = "econ_buyer"\nrep_type = "person"\n'


async def test_missing_rep_fields_names_fields_the_crm_does_not_have(small_demo, tmp_path):
    from engine.crm.factory import open_reader
    from engine.fieldsetup import missing_rep_fields
    from engine.medic import load_field_map

    crm = await open_reader(small_demo)
    try:
        assert await missing_rep_fields(crm, small_demo.field_map) == []
        path = tmp_path / "map.toml"
        path.write_text(TYPO_MAP)
        assert await missing_rep_fields(crm, load_field_map(path)) == ["econ_buyer"]
    finally:
        await crm.aclose()


def test_a_live_pass_refuses_when_a_rep_field_is_missing_and_a_dry_run_warns(scout, small_demo, monkeypatch, tmp_path):
    monkeypatch.setenv("LIVE_WRITES", "1")
    assert scout("setup", "--apply")[0] == EXIT_OK
    path = tmp_path / "map.toml"
    path.write_text(TYPO_MAP)
    monkeypatch.setenv("SCOUT_FIELD_MAP", str(path))

    code, out, err = scout("run", "--apply")
    assert code == 1 and out == ""
    assert err.startswith("scout: live pass refused: rep field(s) econ_buyer not found in the CRM")
    assert "SCOUT_FIELD_MAP" in err and "`scout check`" in err
    code, out, _ = scout("log", "--json")
    assert [r["kind"] for r in json.loads(out)] == ["setup"]  # refused before a pass started: nothing written

    code, out, _ = scout("run")
    assert code == EXIT_OK and out.startswith("DRY RUN (--apply was not given)")
    assert "warning: rep field(s) econ_buyer not found in the CRM" in out


def runs(scout) -> list[dict]:
    code, out, _ = scout("log", "--json")
    assert code == EXIT_OK
    return json.loads(out)


def test_setup_runs_finish_with_a_one_line_summary_and_counts(scout, small_demo, monkeypatch):
    scout("setup")
    monkeypatch.setenv("LIVE_WRITES", "1")
    scout("setup", "--apply")
    scout("setup", "--apply")
    again, live, dry = runs(scout)
    assert [r["status"] for r in (dry, live, again)] == ["finished"] * 3
    assert dry["summary"] == "DRY RUN: 7 would be created" and dry["would_write"] == 7
    assert live["summary"] == "setup: 7 created" and live["written"] == 7
    assert again["summary"] == "setup: 7 already there" and again["skipped"] == 7 and again["written"] == 0
    code, out, _ = scout("log")
    assert "[running]" not in out


def test_an_undo_run_finishes_with_readable_text_and_the_runs_counts(scout, small_demo, monkeypatch):
    monkeypatch.setenv("LIVE_WRITES", "1")
    scout("setup", "--apply")
    code, out, _ = scout("run", "--apply")
    written = int(out.split(": ", 1)[1].split(" written")[0])
    assert code == EXIT_OK and written > 0
    pass_id = runs(scout)[0]["id"]

    scout("undo", str(pass_id))
    rehearsal = runs(scout)[0]
    assert rehearsal["kind"] == "undo" and rehearsal["status"] == "finished"
    assert rehearsal["summary"] == (f"DRY RUN: undo of run {pass_id}: {written} would be reverted, "
                                    "0 conflicts left as is, 0 failed, 0 already reverted")
    assert (rehearsal["would_write"], rehearsal["written"], rehearsal["failed"]) == (written, 0, 0)

    scout("undo", str(pass_id), "--apply")
    live = runs(scout)[0]
    assert live["summary"] == (f"LIVE: undo of run {pass_id}: {written} reverted, "
                               "0 conflicts left as is, 0 failed, 0 already reverted")
    assert (live["written"], live["would_write"], live["skipped"]) == (written, 0, 0)
    code, out, _ = scout("log", str(live["id"]))
    assert out.splitlines()[0] == live["summary"]


def test_undo_waits_its_turn_while_a_pass_holds_the_lock(scout, small_demo, monkeypatch):
    import asyncio

    from engine.commands import EXIT_BUSY
    from engine.provenance import ProvenanceStore
    from tests.pipeline import file_digest

    monkeypatch.setenv("LIVE_WRITES", "1")
    scout("setup", "--apply")
    assert scout("run", "--apply")[0] == EXIT_OK
    pass_id = runs(scout)[0]["id"]

    async def lock(holder: str | None = None) -> str:
        store = await ProvenanceStore.open(small_demo.log_db)
        try:
            if holder is None:
                return await store.acquire_lock()  # as a live pass in this (living) process would
            await store.release_lock(holder)
            return holder
        finally:
            await store.aclose()

    holder = asyncio.run(lock())
    before = file_digest(small_demo.workspace)
    code, out, err = scout("undo", str(pass_id), "--apply")
    assert code == EXIT_BUSY and out == "" and "another pass is running" in err
    assert file_digest(small_demo.workspace) == before and runs(scout)[0]["id"] == pass_id  # nothing reverted or logged

    asyncio.run(lock(holder))
    code, out, _ = scout("undo", str(pass_id), "--apply")
    assert code == EXIT_OK and out.startswith("LIVE")
    assert runs(scout)[0]["kind"] == "undo"


@pytest.mark.parametrize("raw", [" 1", "1 ", "1\n", "\t1"])
def test_a_padded_live_writes_keeps_the_lock_shut_and_says_so(scout, small_demo, monkeypatch, raw):
    from engine.gate import open_gate
    from engine.settings import Settings
    from tests.pipeline import file_digest

    monkeypatch.setenv("LIVE_WRITES", raw)
    monkeypatch.setenv("SCOUT_SCHEDULE_APPLY", raw)
    settings = Settings()
    assert settings.live_writes is False and settings.schedule_apply is False
    gate = open_gate(True, settings)
    assert gate.live is False and gate.reason == f"LIVE_WRITES is {raw!r}, not 1"

    before = file_digest(small_demo.workspace)
    code, out, _ = scout("setup", "--apply")
    assert code == EXIT_OK and out.startswith(f"DRY RUN (LIVE_WRITES is {raw!r}, not 1)")
    assert file_digest(small_demo.workspace) == before


def test_exactly_1_opens_it(make_settings):
    settings = make_settings(LIVE_WRITES="1", SCOUT_SCHEDULE_APPLY="1")
    assert settings.live_writes and settings.schedule_apply


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


def test_a_shared_scout_field_is_one_configuration_line(scout, make_settings, tmp_path):
    path = tmp_path / "map.toml"
    path.write_text(SHARED)
    make_settings(SCOUT_FIELD_MAP=str(path))
    code, out, err = scout("run")
    assert code == EXIT_USAGE and out == ""
    assert err == f"scout: configuration error in SCOUT_FIELD_MAP ({path}): Value error, {SHARED_MESSAGE}\n"

"""Errors as a person at a terminal meets them: one line naming only the file at fault, a closed pipe that
exits quietly, exit codes that mean the same in `scout` and `python -m bot`, and wording that fits the run."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from engine.commands import EXIT_ERROR, EXIT_NOT_FOUND, EXIT_OK, EXIT_USAGE


@pytest.fixture
def demo(scout, make_settings):
    settings = make_settings()
    assert scout("demo", "--deals", "40")[0] == EXIT_OK
    return settings


def test_a_corrupt_workspace_names_the_workspace_only(scout, demo):
    demo.workspace.write_bytes(b"this is not sqlite, just some text" * 10)
    code, out, err = scout("run", "--quiet")
    assert code == EXIT_ERROR and out == ""
    assert str(demo.workspace) in err and "file is not a database" in err
    assert "log.sqlite" not in err and len(err.strip().splitlines()) == 1


def test_a_corrupt_log_names_the_log_only(scout, demo):
    assert scout("run", "--quiet")[0] == EXIT_OK
    for suffix in ("-wal", "-shm"):
        demo.log_db.with_name(demo.log_db.name + suffix).unlink(missing_ok=True)
    demo.log_db.write_bytes(b"this is not sqlite, just some text" * 10)
    for argv in (("log",), ("run", "--quiet"), ("log", "1")):
        code, out, err = scout(*argv)
        assert code == EXIT_ERROR and out == "", argv
        assert str(demo.log_db) in err and "file is not a database" in err
        assert "workspace" not in err and len(err.strip().splitlines()) == 1


def test_a_zero_byte_log_is_an_empty_log_not_a_missing_table(scout, demo):
    demo.log_db.parent.mkdir(parents=True, exist_ok=True)
    demo.log_db.write_bytes(b"")
    code, out, err = scout("log")
    assert code == EXIT_NOT_FOUND and out == ""
    assert "no such table" not in err and str(demo.log_db) in err and "empty" in err
    assert "workspace" not in err
    code, out, err = scout("deal", "--no-extract", "Acme Logistics — Pilot")  # read-only faces treat it as no log
    assert code == EXIT_OK and out.startswith("Acme Logistics — Pilot"), err
    code, out, err = scout("run", "--quiet")  # a brand-new install still starts cleanly on it
    assert code == EXIT_OK and out.startswith("DRY RUN"), err
    code, out, _ = scout("log")
    assert code == EXIT_OK and "DRY RUN" in out


def test_a_closed_pipe_exits_quietly(scout, demo, tmp_path):
    assert scout("run", "--quiet", "--cap", "40")[0] == EXIT_OK
    env = {**os.environ, "SCOUT_DATA_DIR": str(demo.data_dir)}
    proc = subprocess.Popen([sys.executable, "-m", "engine.cli", "log", "1"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()  # `scout log 1 | head -1`
    proc.stdout.close()
    err = proc.stderr.read().decode()
    code = proc.wait(timeout=60)
    assert first.startswith(b"DRY RUN")
    assert err == "" and code == EXIT_OK


@pytest.mark.parametrize("crm", ["attio", "hubspot"])
def test_a_missing_setting_is_exit_2_in_scout_and_in_the_bot(scout, make_settings, capsys, crm, tmp_path):
    from bot.__main__ import main as bot_main

    make_settings(SCOUT_CRM=crm)
    code, out, err = scout("run")  # the CRM token is a setting like any other
    assert code == EXIT_USAGE and out == "" and "is not set" in err and len(err.strip().splitlines()) == 1
    code, out, err = scout("run", "--post")  # a Slack setting
    assert code == EXIT_USAGE and "is not set" in err

    make_settings(SCOUT_CRM="local", SCOUT_FIELD_MAP=str(tmp_path / "no-such-map.toml"))
    code, _, err = scout("run")
    assert code == EXIT_USAGE and err.startswith("scout: configuration error in SCOUT_FIELD_MAP")
    capsys.readouterr()
    assert bot_main(["clock"]) == EXIT_USAGE  # the bot reads the same settings and says the same
    err = capsys.readouterr().err
    assert err.startswith("scout-bot: configuration error in SCOUT_FIELD_MAP") and err.count("\n") == 1


@pytest.mark.parametrize("live", [False, True])
def test_interrupting_a_pass_speaks_of_live_writes_only_when_it_was_live(scout, make_settings, monkeypatch, live):
    import signal

    settings = make_settings()
    assert scout("demo", "--deals", "790")[0] == EXIT_OK
    argv = ["run", "--cap", "790"]
    env = {**os.environ, "SCOUT_DATA_DIR": str(settings.data_dir)}
    if live:
        monkeypatch.setenv("LIVE_WRITES", "1")
        assert scout("setup", "--apply")[0] == EXIT_OK
        env["LIVE_WRITES"] = "1"
        argv.append("--apply")
    proc = subprocess.Popen([sys.executable, "-m", "engine.cli", "-v", *argv], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, text=True)
    assert proc.stderr is not None
    for line in proc.stderr:  # wait until the pass is really under way
        if "reading notes" in line:
            break
    proc.send_signal(signal.SIGINT)
    _, rest = proc.communicate(timeout=60)
    last = [line for line in rest.splitlines() if "interrupted" in line][-1]
    assert proc.returncode == 130
    if live:
        assert "live write" in last
    else:
        assert "live write" not in last and "rehearsal" in last and "nothing was written" in last


def test_a_corrupt_log_is_one_line_naming_it(scout, small_demo):
    small_demo.log_db.write_text("garbage\n")
    code, out, err = scout("run")
    assert code == 1 and out == ""
    assert err == f"scout: cannot open the provenance log {small_demo.log_db}: file is not a database\n"
    code, _, err = scout("log")  # the read-only face says the same
    assert code == 1 and err == f"scout: cannot open the provenance log {small_demo.log_db}: file is not a database\n"


def test_a_corrupt_workspace_is_one_line_naming_it(scout, small_demo):
    small_demo.workspace.write_text("garbage\n")
    code, out, err = scout("run")
    assert code == 1 and out == ""
    # The read-only open reads the header at once, so the line names the workspace and only the workspace.
    assert err == f"scout: cannot open the embedded workspace {small_demo.workspace}: file is not a database\n"


def test_a_data_dir_that_cannot_be_created_is_one_line(scout, make_settings, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    make_settings(SCOUT_DATA_DIR=str(blocker / "data"))
    code, out, err = scout("run")
    assert code == 1 and out == "" and err.count("\n") == 1
    assert err.startswith(f"scout: cannot open the provenance log {blocker / 'data' / 'log.sqlite'}: ")
    assert "Not a directory" in err


def test_a_corrupt_workspace_opened_for_writing_is_one_line_naming_it(scout, small_demo, monkeypatch):
    small_demo.workspace.write_text("garbage\n")
    monkeypatch.setenv("LIVE_WRITES", "1")
    code, out, err = scout("setup", "--apply")
    assert code == 1 and out == ""
    assert err == f"scout: cannot open the embedded workspace {small_demo.workspace}: file is not a database\n"


def test_the_cli_process_exits_after_a_corrupt_log_instead_of_hanging(small_demo):
    import os
    import subprocess
    import sys

    small_demo.log_db.write_text("garbage\n")
    # Without closing the failed connection, its thread kept the interpreter alive forever after the error.
    done = subprocess.run([sys.executable, "-m", "engine.cli", "run"], capture_output=True, text=True, timeout=30,
                          env={**os.environ}, cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr == f"scout: cannot open the provenance log {small_demo.log_db}: file is not a database\n"

"""Tables: rich's on a terminal, plain aligned columns when stdout is a pipe or file; --json unchanged."""

from __future__ import annotations

import json

import pytest

from engine.commands import EXIT_OK, EXIT_PARTIAL
from tests.samples import DEALS_CSV

RULE = "─"  # rich draws the header rule with it; plain output has no box characters


@pytest.fixture
def demo(scout, make_settings):
    settings = make_settings()
    assert scout("demo", "--deals", "12")[0] == EXIT_OK
    scout("run", "--cap", "5")
    return settings


def _every_table(scout, tmp_path, monkeypatch) -> dict[str, str]:
    (tmp_path / "deals.csv").write_text(DEALS_CSV, encoding="utf-8")
    outputs = {
        "log": scout("log")[1],
        "log RUN": scout("log", "1")[1],
        "setup": scout("setup")[1],
        "check": scout("check")[1],
        "eval": scout("eval", "--split", "dev")[1],
    }
    monkeypatch.setenv("SCOUT_DATA_DIR", str(tmp_path / "imported"))  # a fresh workspace to import into
    outputs["import"] = scout("import", str(tmp_path / "deals.csv"))[1]
    return outputs


def test_plain_columns_when_not_a_terminal(scout, demo, tmp_path, monkeypatch):
    outputs = _every_table(scout, tmp_path, monkeypatch)
    for name, out in outputs.items():
        assert out and RULE not in out and "\x1b[" not in out, name
    runs = outputs["log"].splitlines()
    assert runs[0].split() == ["run", "kind", "mode", "started", "(UTC)", "written", "would", "skip", "drop",
                               "fail", "scanned", "status"]
    assert runs[1].split()[:4] == ["1", "pass", "DRY", "RUN"]
    assert runs[1].split()[-4:] == ["5/12", "(cap", "5)", "finished"]
    setup = outputs["setup"].splitlines()
    assert any(line.split()[:3] == ["scout_metrics", "text", "would_create"] for line in setup)
    check = outputs["check"].splitlines()
    assert any(line.split()[:4] == ["champion", "champion", "person", "person"] for line in check)
    overall = next(line for line in outputs["eval"].splitlines() if line.startswith("overall"))
    assert len(overall.split()) == 11
    imported = next(line for line in outputs["import"].splitlines() if "'Economic Buyer'" in line)
    assert "economic_buyer (person)" in imported


def test_rich_tables_on_a_terminal_and_json_unchanged(scout, demo, tmp_path, monkeypatch):
    plain_json = scout("log", "1", "--json")[1]
    monkeypatch.setenv("TTY_COMPATIBLE", "1")
    outputs = _every_table(scout, tmp_path, monkeypatch)
    for name, out in outputs.items():
        assert RULE in out, name
    monkeypatch.setenv("SCOUT_DATA_DIR", str(demo.data_dir))
    assert json.loads(scout("log", "1", "--json")[1]) == json.loads(plain_json)
    assert RULE not in plain_json and scout("check", "--json")[0] == EXIT_PARTIAL

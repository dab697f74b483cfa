"""`scout import` / `scout export` through the real CLI on a real workspace file in tmp_path.

A valid JSON Lines file round-trips; a file with one bad line imports nothing and names the line and the
reason; a HubSpot deals + notes CSV pair imports, and a rehearsal pass runs on it.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path

import pytest

from engine.importer import _parse_instant, parse_jsonl
from engine.models import WorkspaceData
from engine.settings import Settings
from tests.pipeline import file_digest
from tests.samples import DEALS_CSV

GOOD = [
    {"type": "field", "name": "stage", "field_type": "select", "label": "Stage",
     "options": ["Discovery", "Proposal", "Closed Won"]},
    {"type": "field", "name": "amount", "field_type": "number", "label": "Amount"},
    {"type": "field", "name": "close_date", "field_type": "date"},
    {"type": "field", "name": "owner", "field_type": "person"},
    {"type": "field", "name": "account", "field_type": "record"},
    {"type": "field", "name": "economic_buyer", "field_type": "person"},
    {"type": "field", "name": "decision_criteria", "field_type": "multi_select",
     "options": ["Security", "Price", "Integrations"]},
    {"type": "field", "name": "paper_process", "field_type": "select",
     "options": ["Not started", "Security review", "Legal review", "Procurement", "Awaiting signature", "Signed"]},
    {"type": "field", "name": "metrics", "field_type": "text"},
    {"type": "person", "id": "p2", "name": "Dana Ruiz", "email": "dana@acme.example", "title": "CFO"},
    {"type": "person", "id": "p1", "name": "Alex Rep"},
    {"type": "deal", "id": "d2", "name": "Globex — Expansion", "stage": "Proposal",
     "created_at": "2026-09-01T09:00:00",
     "values": {"amount": 80000.5, "economic_buyer": "Sam Lee (not a person record)"}},
    {"type": "deal", "id": "d1", "name": "Acme Corp — Platform", "created_at": "2026-09-01T09:00:00+02:00",
     "updated_at": "2026-09-03T10:00:00Z",
     "values": {"stage": "discovery", "amount": 120000, "close_date": "2026-12-15", "owner": "Alex Rep",
                "account": "Acme Corp", "economic_buyer": "Dana Ruiz", "decision_criteria": ["price", "Security"],
                "metrics": "Cut close from 12 to 4 days — “fast”", "paper_process": None}},
    {"type": "note", "id": "n1", "deal_id": "d1", "author": "Alex Rep", "created_at": "2026-09-02T09:00:00Z",
     "title": "Discovery", "text": "Discovery call.\nDana Ruiz, the CFO, holds the budget and signs off.\n\n"
                                   "They will judge vendors on security and integrations."},
    {"type": "note", "id": "n2", "deal_id": "d2", "created_at": "2026-09-05T16:30:00+00:00",
     "text": "Globex intro. Also evaluating Blackline."},
]


def write_jsonl(path: Path, records: list[dict], extra: dict[int, str] | None = None) -> Path:
    lines = [json.dumps(r, ensure_ascii=False) for r in records]
    for index, text in sorted((extra or {}).items()):
        lines.insert(index - 1, text)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def normalised(data: WorkspaceData) -> WorkspaceData:
    return WorkspaceData(fields=data.fields, people=sorted(data.people, key=lambda p: p.id),
                         deals=sorted(data.deals, key=lambda d: d.id),
                         notes=sorted(data.notes, key=lambda n: n.id))


# ---- JSON Lines -----------------------------------------------------------------------------------------


def test_a_valid_file_round_trips_through_export(scout, tmp_path) -> None:
    source = write_jsonl(tmp_path / "pipeline.jsonl", GOOD)
    code, out, err = scout("import", str(source))
    assert code == 0, err
    assert "2 deals, 2 notes, 9 fields, 2 people" in out

    exported = tmp_path / "out.jsonl"
    code, _, err = scout("export", str(exported))
    assert code == 0 and "2 deals, 2 notes" in err
    original = normalised(parse_jsonl(source.read_text().splitlines()))
    again = normalised(parse_jsonl(exported.read_text().splitlines()))
    assert again == original  # the same records: values, people, times, note text to the character

    # An exported file is canonical: import it, export again, and the bytes are the same.
    assert scout("import", str(exported), "--replace")[0] == 0
    second = tmp_path / "out2.jsonl"
    assert scout("export", str(second))[0] == 0
    assert second.read_bytes() == exported.read_bytes()
    code, out, _ = scout("export")
    assert code == 0 and out.encode() == exported.read_bytes()

    deal = next(json.loads(line) for line in exported.read_text().splitlines() if '"id": "d1"' in line)
    assert deal["stage"] == "Discovery" and deal["values"]["decision_criteria"] == ["Price", "Security"]
    assert deal["values"]["amount"] == 120000 and deal["created_at"] == "2026-09-01T09:00:00+02:00"
    naive = next(json.loads(line) for line in exported.read_text().splitlines() if '"id": "d2"' in line)
    assert naive["created_at"] == "2026-09-01T09:00:00+00:00"  # no offset given: read as UTC


@pytest.mark.parametrize(("line", "reason"), [
    ('{"type": "deal", "id": "d3", "name": "Initech", "values": {"amount": "lots"}}',
     "deal 'd3': amount is a number field; got \"lots\""),
    ('{"type": "deal", "id": "d3", "name": "Initech", "values": {"amont": 5}}',
     "deal 'd3': field 'amont' is not declared"),
    ('{"type": "deal", "id": "d3", "name": "Initech", "stage": "Won"}',
     "'Won' is not an option of stage (Discovery, Proposal, Closed Won)"),
    ('{"type": "deal", "id": "d3", "name": "Initech", "values": {"close_date": "15/12/2026"}}',
     "close_date is a date field; '15/12/2026' is not a YYYY-MM-DD date"),
    ('{"type": "note", "id": "n9", "deal_id": "d9", "created_at": "2026-09-02T09:00:00Z", "text": "x"}',
     "note 'n9': deal 'd9' is not in the file"),
    ('{"type": "note", "id": "n9", "deal_id": "d1", "text": "no time"}', "note: created_at: Field required"),
    ('{"type": "deal", "id": "d1", "name": "Acme again"}', "duplicate deal id 'd1' (first on line"),
    ('{"type": "deal", "id": "d3", "name": "Initech", "vaules": {}}', "vaules: unknown key"),
    ('{"type": "company", "id": "c1"}', '"type" must be one of field, person, deal, note'),
    ('{"type": "deal", "id": "d3", "name": "Initech",}', "not valid JSON"),
    ('{"type": "deal", "id": "d3", "name": "Initech", "values": {"amount": %s}}' % ("9" * 5000),
     "not valid JSON (a number longer than 4300 digits)"),
    ('["deal", "d3"]', "each line must be a JSON object"),
])
def test_one_bad_line_imports_nothing_and_names_the_line(scout, tmp_path, line, reason) -> None:
    settings = Settings()
    bad = write_jsonl(tmp_path / "bad.jsonl", GOOD, extra={14: line})
    code, out, err = scout("import", str(bad))
    assert code == 1 and out == ""
    assert "bad.jsonl line 14: " in err and reason in err, err
    assert "nothing imported" in err.splitlines()[-1]
    assert not settings.workspace.exists()

    # Over an existing workspace, the failed import leaves it as it was, byte for byte.
    assert scout("import", str(write_jsonl(tmp_path / "good.jsonl", GOOD)))[0] == 0
    before = file_digest(settings.workspace)
    assert scout("import", str(bad), "--replace")[0] == 1
    assert file_digest(settings.workspace) == before


def test_every_problem_is_listed_with_its_line(scout, tmp_path) -> None:
    # Lines that do not parse are reported first (all of them); references between records after that.
    bad = write_jsonl(tmp_path / "bad.jsonl", GOOD[:3], extra={
        2: "{oops", 4: '{"type": "opportunity"}', 5: '{"type": "note", "id": "n1", "text": "t"}',
    })
    code, _, err = scout("import", str(bad))
    assert code == 1 and "3 problem(s), nothing imported" in err
    assert "bad.jsonl line 2: not valid JSON" in err
    assert 'bad.jsonl line 4: "type" must be one of field, person, deal, note' in err
    assert "bad.jsonl line 5: note: deal_id: Field required; created_at: Field required" in err

    bad = write_jsonl(tmp_path / "bad.jsonl", GOOD[:3], extra={
        4: '{"type": "deal", "id": "d1", "name": "A", "values": {"x": 1}}',
        5: '{"type": "note", "id": "n1", "deal_id": "zz", "created_at": "2026-01-01", "text": "t"}',
    })
    code, _, err = scout("import", str(bad))
    assert code == 1
    assert "bad.jsonl line 4: deal 'd1': field 'x' is not declared" in err
    assert "bad.jsonl line 5: note 'n1': deal 'zz' is not in the file" in err


def test_import_refuses_a_live_crm_and_an_occupied_workspace(scout, tmp_path, monkeypatch) -> None:
    source = write_jsonl(tmp_path / "pipeline.jsonl", GOOD)
    monkeypatch.setenv("SCOUT_CRM", "hubspot")
    code, out, err = scout("import", str(source))
    assert code == 2 and "embedded workspace only, and SCOUT_CRM is hubspot" in err
    assert scout("export")[0] == 2
    monkeypatch.delenv("SCOUT_CRM")

    assert scout("import", str(source))[0] == 0
    before = file_digest(Settings().workspace)
    code, _, err = scout("import", str(source))
    assert code == 2 and "already holds 2 deals; add --replace" in err
    assert file_digest(Settings().workspace) == before


# ---- HubSpot CSV ----------------------------------------------------------------------------------------

NOTES_CSV = (
    "Record ID,Activity date,Created by,Note body,Associated Deal IDs,Associated Contact IDs\r\n"
    '5001,2026-09-04 15:00,Alex Rep,"<div><p>Discovery call.</p><p>Dana Ruiz, the CFO, holds the budget '
    '&amp; signs off.</p>\n<p>Also evaluating Blackline.</p></div>",1001,77\r\n'
    '5002,09/05/2026 04:30 PM,Sam Lee,<p>Joint call: they will judge vendors on security.</p>,1001;1002,\r\n'
    "5003,2026-09-06 09:00,Sam Lee,<p>Contact-only note</p>,,78\r\n"
)


def test_a_hubspot_deals_and_notes_export_imports_and_rehearses(scout, tmp_path) -> None:
    (tmp_path / "deals.csv").write_text(DEALS_CSV, encoding="utf-8")
    (tmp_path / "notes.csv").write_text(NOTES_CSV, encoding="utf-8")
    code, out, err = scout("import", str(tmp_path / "deals.csv"), "--notes", str(tmp_path / "notes.csv"))
    assert code == 0, err
    assert "3 deals, 3 notes" in out
    used = next(line for line in out.splitlines() if "'Economic Buyer'" in line)
    assert used.split()[-2:] == ["economic_buyer", "(person)"]
    assert "Columns ignored: 'Deal probability'" in out
    assert "1 note(s) skipped: not associated with any deal in the deals file" in out

    exported = tmp_path / "out.jsonl"
    assert scout("export", str(exported))[0] == 0
    records = [json.loads(line) for line in exported.read_text().splitlines()]
    deals = {r["id"]: r for r in records if r["type"] == "deal"}
    assert deals["1001"]["stage"] == "Appointment Scheduled"
    assert deals["1001"]["created_at"] == "2026-09-01T09:00:00+00:00"
    assert deals["1001"]["values"] == {
        "amount": 120000, "close_date": "2026-10-31", "owner": "Alex Rep", "economic_buyer": "Dana Ruiz",
        "decision_criteria": ["Security", "Price"], "paper_process": "Security review",
    }
    # A team's own option label is kept rather than refused.
    assert deals["1002"]["values"]["paper_process"] == "Board sign-off"
    assert deals["1003"]["values"] == {}
    notes = {r["id"]: r for r in records if r["type"] == "note"}
    assert notes["5001"]["text"] == ("Discovery call.\nDana Ruiz, the CFO, holds the budget & signs off.\n"
                                     "Also evaluating Blackline.")
    assert notes["5001"]["author"] == "Alex Rep" and notes["5001"]["deal_id"] == "1001"
    # One note on two deals becomes one note per deal.
    assert {(n["id"], n["deal_id"]) for n in notes.values() if n["id"].startswith("5002")} == {
        ("5002-1001", "1001"), ("5002-1002", "1002")}
    assert notes["5002-1002"]["created_at"] == "2026-09-05T16:30:00+00:00"

    # The rehearsal: a dry pass over the imported copy, citing the plain text.
    code, out, err = scout("run")
    assert code == 0 and out.startswith("DRY RUN") and "scanned 3/3" in out, err
    run_id = re.search(r"^run (\d+) ", out, re.M).group(1)
    code, out, _ = scout("log", run_id, "--json")
    actions = json.loads(out)["actions"]
    competition = [a for a in actions if a["field"] == "scout_competition" and a["action"] == "would_write"]
    assert competition and competition[0]["deal_id"] == "1001" and "Blackline" in competition[0]["excerpt"]


def test_a_csv_with_a_bad_row_imports_nothing(scout, tmp_path) -> None:
    (tmp_path / "deals.csv").write_text(DEALS_CSV.replace("80000", "eighty"), encoding="utf-8")
    code, _, err = scout("import", str(tmp_path / "deals.csv"))
    assert code == 1
    assert "deals.csv line 3: deal '1002', column 'Amount': amount: 'eighty' is not a number" in err
    assert not Settings().workspace.exists()

    (tmp_path / "deals.csv").write_text("Name,Stage\r\nAcme,Open\r\n", encoding="utf-8")
    code, _, err = scout("import", str(tmp_path / "deals.csv"))
    assert code == 1 and "no 'Record ID' or 'Deal ID' column; columns found: Name, Stage" in err


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-09-04 15:00", datetime(2026, 9, 4, 15, 0, tzinfo=timezone.utc)),
    ("2026-09-04T15:00:00Z", datetime(2026, 9, 4, 15, 0, tzinfo=timezone.utc)),
    ("09/05/2026 04:30 PM", datetime(2026, 9, 5, 16, 30, tzinfo=timezone.utc)),
    ("25/12/2026 08:00", datetime(2026, 12, 25, 8, 0, tzinfo=timezone.utc)),  # day first when it must be
    ("1788800000000", datetime.fromtimestamp(1_788_800_000, tz=timezone.utc)),
    ("next Tuesday", None),
])
def test_hubspot_export_times(text, expected) -> None:
    assert _parse_instant(text) == expected


def test_the_documented_example_imports(scout, tmp_path) -> None:
    doc = (Path(__file__).resolve().parent.parent / "docs" / "import-format.md").read_text(encoding="utf-8")
    example = re.search(r"### Example\n\n```json\n(.*?)```", doc, re.S).group(1)
    (tmp_path / "example.jsonl").write_text(example, encoding="utf-8")
    code, out, err = scout("import", str(tmp_path / "example.jsonl"))
    assert code == 0 and "2 deals, 2 notes, 5 fields, 1 people" in out, err


def test_import_refuses_to_overwrite_a_file_that_is_not_a_workspace(scout, tmp_path) -> None:
    settings = Settings()
    settings.workspace.parent.mkdir(parents=True)
    settings.workspace.write_text("my notes, not a database\n" * 100)
    code, _, err = scout("import", str(write_jsonl(tmp_path / "p.jsonl", GOOD)), "--replace")
    assert code == 1 and "is not a Scout workspace" in err and "Traceback" not in err
    assert settings.workspace.read_text().startswith("my notes")


def test_rehearsing_a_full_pass_on_an_imported_copy(scout, tmp_path, monkeypatch) -> None:
    """The README's walk-through: import, check, set up and write on the copy, export what Scout suggested."""
    # A live pass needs every rep field the map names (a missing one would hide what reps filled in).
    rep_fields = [{"type": "field", "name": name, "field_type": kind}
                  for name, kind in (("identified_pain", "text"), ("champion", "person"), ("competition", "text"))]
    source = write_jsonl(tmp_path / "pipeline.jsonl", GOOD[:9] + rep_fields + GOOD[9:])
    assert scout("import", str(source))[0] == 0
    code, out, _ = scout("check")
    assert code == 4 and "scout_competition missing" in out
    monkeypatch.setenv("LIVE_WRITES", "1")
    assert scout("setup", "--apply")[0] == 0
    code, out, err = scout("run", "--apply")
    assert code == 0 and out.startswith("LIVE: "), err

    exported = tmp_path / "after.jsonl"
    assert scout("export", str(exported))[0] == 0
    deals = {r["id"]: r for r in map(json.loads, exported.read_text().splitlines()) if r["type"] == "deal"}
    assert deals["d2"]["values"]["scout_competition"] == "Blackline"
    assert deals["d1"]["values"]["economic_buyer"] == "Dana Ruiz"  # the rep's own value is untouched
    assert "scout_economic_buyer" not in deals["d1"]["values"]  # and Scout deferred to it


def test_a_semicolon_csv_from_european_excel_is_detected(scout, tmp_path) -> None:
    import csv
    import io

    rows = list(csv.reader(io.StringIO(DEALS_CSV.lstrip("\ufeff"), newline="")))
    text = io.StringIO()
    csv.writer(text, delimiter=";").writerows(rows)  # what Excel writes where ',' is the decimal mark
    (tmp_path / "deals.csv").write_text(text.getvalue(), encoding="utf-8")
    code, out, err = scout("import", str(tmp_path / "deals.csv"))
    assert code == 0, err
    assert "3 deals" in out and "';'-separated" in out
    exported = tmp_path / "out.jsonl"
    assert scout("export", str(exported))[0] == 0
    deals = {r["id"]: r for r in map(json.loads, exported.read_text().splitlines()) if r["type"] == "deal"}
    assert deals["1001"]["values"]["decision_criteria"] == ["Security", "Price"]
    assert deals["1001"]["values"]["amount"] == 120000


@pytest.mark.parametrize("name", ["deals.xlsx", "deals.csv"])
def test_an_excel_workbook_gets_export_as_csv_advice(scout, tmp_path, name) -> None:
    import zipfile

    with zipfile.ZipFile(tmp_path / name, "w") as book:  # an .xlsx is a zip of XML parts
        book.writestr("[Content_Types].xml", "<Types/>")
        book.writestr("xl/workbook.xml", "<workbook/>")
    code, out, err = scout("import", str(tmp_path / name))
    assert code == 1 and out == ""
    assert "Excel workbook" in err and "CSV" in err and "UTF-8" not in err.split("Excel")[0]
    assert "is not UTF-8" not in err and "Traceback" not in err
    assert not Settings().workspace.exists()


# ---- a method's own concepts ----------------------------------------------------------------------------

METHOD_CSV = (
    "Record ID,Deal Name,Economic Buyer,Decision Process,Implementation Partner,scout_decision_process\r\n"
    "2001,Umbrella — New logo,Dana Ruiz,Pilot in May then board approval in June,Deloitte,\r\n"
    "2002,Vandelay — Renewal,,,,Board approves in Q3\r\n"
)
PARTNER_MAP = ('[concepts.implementation_partner]\n'
               'description = "The systems integrator who will roll the product out."\n')


def test_a_methods_own_concepts_import_from_csv_and_round_trip_through_export(scout, tmp_path, monkeypatch) -> None:
    (tmp_path / "deals.csv").write_text(METHOD_CSV, encoding="utf-8")
    (tmp_path / "map.toml").write_text(PARTNER_MAP, encoding="utf-8")
    # The default method knows neither column: both are ignored, as before.
    code, out, err = scout("import", str(tmp_path / "deals.csv"))
    assert code == 0, err
    assert ("Columns ignored: 'Decision Process', 'Implementation Partner', 'scout_decision_process'" in out)

    monkeypatch.setenv("SCOUT_METHOD", "meddpicc")
    monkeypatch.setenv("SCOUT_FIELD_MAP", str(tmp_path / "map.toml"))
    code, out, err = scout("import", str(tmp_path / "deals.csv"), "--replace")
    assert code == 0, err
    became = {line.split()[0]: line.split()[-2:] for line in out.splitlines() if line.startswith("  '")}
    assert became["'Decision"] == ["decision_process", "(text)"]
    assert became["'Implementation"] == ["implementation_partner", "(text)"]
    assert became["'scout_decision_process'"] == ["scout_decision_process", "(text)"]
    assert "Columns ignored" not in out

    exported = tmp_path / "out.jsonl"
    assert scout("export", str(exported))[0] == 0
    records = [json.loads(line) for line in exported.read_text().splitlines()]
    deals = {r["id"]: r for r in records if r["type"] == "deal"}
    assert deals["2001"]["values"] == {"economic_buyer": "Dana Ruiz", "implementation_partner": "Deloitte",
                                       "decision_process": "Pilot in May then board approval in June"}
    assert deals["2002"]["values"] == {"scout_decision_process": "Board approves in Q3"}
    assert {r["name"] for r in records if r["type"] == "field"} >= {
        "decision_process", "implementation_partner", "scout_decision_process"}

    # Back in: the exported file imports under any method and exports to the same bytes.
    monkeypatch.delenv("SCOUT_METHOD")
    monkeypatch.delenv("SCOUT_FIELD_MAP")
    assert scout("import", str(exported), "--replace")[0] == 0
    again = tmp_path / "again.jsonl"
    assert scout("export", str(again))[0] == 0
    assert again.read_bytes() == exported.read_bytes()

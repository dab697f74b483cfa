"""Pipelines in and out of the embedded workspace: Scout's JSON Lines format, and HubSpot CSV exports.

Everything is parsed and validated before the workspace is touched; a file with one bad line yields a list
of problems (file, line, reason) and nothing else. The format is described in docs/import-format.md.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Annotated, Any, Iterable, Iterator, Literal, Union, overload

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from engine.crm.hubspot_codec import html_to_text
from engine.errors import MAX_PROBLEMS, ImportFailed, NotText  # noqa: F401 (re-exported)
from engine.medic import FieldMap
from engine.models import Deal, FieldSpec, FieldType, Note, Person, WorkspaceData

STAGE_FIELD = "stage"


# ---- problems -------------------------------------------------------------------------------------------


class Problem(BaseModel):
    source: str
    line: int | None = None
    message: str

    def __str__(self) -> str:
        where = f"{self.source} line {self.line}" if self.line else self.source
        return f"{where}: {self.message}"


# An .xlsx is a zip archive, an old .xls an OLE compound file: both start with these bytes.
_WORKBOOK_MAGIC = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0")


def refuse_workbook(path: Path) -> None:
    with open(path, "rb") as handle:
        head = handle.read(4)
    if head.startswith(_WORKBOOK_MAGIC):
        raise NotText("this is an Excel workbook, not a CSV or JSON Lines text file: in Excel use File > "
                      "Save As > 'CSV UTF-8 (Comma delimited)' (in HubSpot, export as CSV), then import the "
                      ".csv; nothing imported")


class _Collector:
    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(self, source: str, line: int | None, message: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(Problem(source=source, line=line, message=message))

    def raise_if_any(self) -> None:
        if self.problems:
            raise ImportFailed(self.problems)


# ---- the JSON Lines records -----------------------------------------------------------------------------

NonEmpty = Annotated[str, Field(min_length=1)]


@overload
def _utc(value: datetime) -> datetime: ...
@overload
def _utc(value: None) -> None: ...
def _utc(value: datetime | None) -> datetime | None:
    # A timestamp without an offset is taken as UTC: notes are ordered by time, and naive and aware
    # datetimes cannot be compared.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class FieldRecord(_Record):
    type: Literal["field"]
    name: NonEmpty
    field_type: FieldType
    label: str = ""
    options: list[str] = Field(default_factory=list)

    @field_validator("name")
    @classmethod
    def _plain_name(cls, value: str) -> str:
        if value != value.strip() or not value.strip():
            raise ValueError("a field name must not start or end with spaces")
        return value


class PersonRecord(_Record):
    type: Literal["person"]
    id: NonEmpty
    name: NonEmpty
    email: str = ""
    title: str = ""


class DealRecord(_Record):
    type: Literal["deal"]
    id: NonEmpty
    name: NonEmpty
    stage: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    values: dict[str, Any] = Field(default_factory=dict)

    @field_validator("created_at", "updated_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        return _utc(value)


class NoteRecord(_Record):
    type: Literal["note"]
    id: NonEmpty
    deal_id: NonEmpty
    created_at: datetime
    author: str = ""
    title: str = ""
    text: str

    @field_validator("created_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        return _utc(value)


Record = Annotated[Union[FieldRecord, PersonRecord, DealRecord, NoteRecord], Field(discriminator="type")]
_RECORD = TypeAdapter(Record)
RECORD_TYPES = ("field", "person", "deal", "note")


def _explain(exc: ValidationError) -> str:
    """pydantic's errors as one short sentence a user can act on."""
    parts = []
    for err in exc.errors()[:3]:
        loc = ".".join(str(p) for p in err.get("loc", ()) if p not in RECORD_TYPES)
        msg = err.get("msg", "invalid")
        if err.get("type") == "union_tag_invalid" or err.get("type") == "union_tag_not_found":
            return f'"type" must be one of {", ".join(RECORD_TYPES)}'
        if err.get("type") == "extra_forbidden":
            msg = "unknown key (check the spelling; see docs/import-format.md)"
        parts.append(f"{loc}: {msg}" if loc else msg)
    return "; ".join(parts)


# ---- values ---------------------------------------------------------------------------------------------


def _option(spec: FieldSpec, raw: str) -> str:
    if not spec.options:
        return raw
    for option in spec.options:
        if option.casefold() == raw.strip().casefold():
            return option
    raise ValueError(f"'{raw}' is not an option of {spec.name} ({', '.join(spec.options)})")


def check_value(spec: FieldSpec, value: Any) -> Any:
    """A value in the decoded form of `spec`'s type (see engine.models.Deal), or ValueError saying why not."""
    kind = spec.type
    if kind is FieldType.NUMBER:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{spec.name} is a number field; got {json.dumps(value)}")
        return float(value)
    if kind is FieldType.MULTI_SELECT:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError(
                f"{spec.name} is a multi_select field; expected a list of strings, got {json.dumps(value)}"
            )
        return [_option(spec, v) for v in value]
    if not isinstance(value, str):
        raise ValueError(f"{spec.name} is a {kind.value} field; expected a string, got {json.dumps(value)}")
    if kind is FieldType.DATE:
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            raise ValueError(f"{spec.name} is a date field; '{value}' is not a YYYY-MM-DD date") from None
    if kind is FieldType.SELECT:
        return _option(spec, value)
    return value


# ---- JSON Lines in --------------------------------------------------------------------------------------


@dataclass
class _Lines:
    """Parsed records with the line each came from, for cross-record checks."""

    fields: list[tuple[int, FieldRecord]] = field(default_factory=list)
    people: list[tuple[int, PersonRecord]] = field(default_factory=list)
    deals: list[tuple[int, DealRecord]] = field(default_factory=list)
    notes: list[tuple[int, NoteRecord]] = field(default_factory=list)


def _unique(items: Iterable[tuple[int, str]], what: str, source: str, problems: _Collector) -> None:
    seen: dict[str, int] = {}
    for line, key in items:
        if key in seen:
            problems.add(source, line, f"duplicate {what} '{key}' (first on line {seen[key]})")
        else:
            seen[key] = line


def _lone_surrogate(value: Any, where: str = "") -> str | None:
    """The key of the first string holding a lone surrogate, or None when everything is real text."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return where or "a value"
        return None
    items = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, item in items:
        if isinstance(key, str) and _lone_surrogate(key) is not None:
            return "a key"
        found = _lone_surrogate(item, f"{where}.{key}" if where else str(key))
        if found is not None:
            return found
    return None


def parse_jsonl(lines: Iterable[str], source: str = "input") -> WorkspaceData:
    """Validate a whole JSON Lines file and return the pipeline it describes, or raise ImportFailed."""
    problems = _Collector()
    parsed = _Lines()
    for number, raw in enumerate(lines, start=1):
        text = raw.strip()
        if not text:
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            problems.add(source, number, f"not valid JSON ({exc.msg} at column {exc.colno})")
            continue
        except ValueError:  # json reads a number past Python's digit limit as an int, and refuses it
            problems.add(source, number, f"not valid JSON (a number longer than {sys.get_int_max_str_digits()} digits)")
            continue
        if not isinstance(obj, dict):
            problems.add(source, number, "each line must be a JSON object")
            continue
        if (where := _lone_surrogate(obj)) is not None:
            # JSON allows "\ud800" on its own, but it is no character: SQLite (and every CRM) would refuse it.
            kind = obj.get("type")
            problems.add(source, number, f"{kind + ': ' if kind in RECORD_TYPES else ''}{where} holds a lone "
                                         "surrogate (\\ud800), which is not text; fix the file's escapes")
            continue
        if "type" not in obj:
            problems.add(source, number, f'missing "type" (one of {", ".join(RECORD_TYPES)})')
            continue
        try:
            record = _RECORD.validate_python(obj)
        except ValidationError as exc:
            kind = obj.get("type")
            problems.add(source, number, f"{kind}: {_explain(exc)}" if kind in RECORD_TYPES else _explain(exc))
            continue
        getattr(parsed, {"field": "fields", "person": "people", "deal": "deals", "note": "notes"}[record.type]).append(
            (number, record)
        )
    problems.raise_if_any()
    return _assemble(parsed, source, problems)


def _assemble(parsed: _Lines, source: str, problems: _Collector) -> WorkspaceData:
    _unique(((n, r.name) for n, r in parsed.fields), "field", source, problems)
    _unique(((n, r.id) for n, r in parsed.people), "person id", source, problems)
    _unique(((n, r.id) for n, r in parsed.deals), "deal id", source, problems)
    _unique(((n, r.id) for n, r in parsed.notes), "note id", source, problems)

    specs: dict[str, FieldSpec] = {}
    for _, f in parsed.fields:
        # A field's label defaults to its name (the embedded workspace stores it that way).
        specs.setdefault(f.name, FieldSpec(name=f.name, type=f.field_type, label=f.label or f.name,
                                           options=tuple(f.options)))

    deals: list[Deal] = []
    for line, r in parsed.deals:
        values: dict[str, Any] = {}
        raw_values = dict(r.values)
        if r.stage is not None:
            if STAGE_FIELD in raw_values and raw_values[STAGE_FIELD] != r.stage:
                problems.add(source, line, f"deal '{r.id}': stage '{r.stage}' differs from values.stage "
                                           f"'{raw_values[STAGE_FIELD]}'; give it once")
                continue
            raw_values[STAGE_FIELD] = r.stage
        for name, value in raw_values.items():
            if value is None:
                continue
            spec = specs.get(name)
            if spec is None:
                hint = ' (declare it: {"type": "field", "name": "%s", "field_type": ...})' % name
                problems.add(source, line, f"deal '{r.id}': field '{name}' is not declared{hint}")
                continue
            try:
                values[name] = check_value(spec, value)
            except ValueError as exc:
                problems.add(source, line, f"deal '{r.id}': {exc}")
        stage = values.get(STAGE_FIELD)
        deals.append(Deal(id=r.id, name=r.name, stage=stage if isinstance(stage, str) else None,
                          created_at=r.created_at, updated_at=r.updated_at, values=values))

    deal_ids = {r.id for _, r in parsed.deals}
    notes: list[Note] = []
    for line, n in parsed.notes:
        if n.deal_id not in deal_ids:
            problems.add(source, line, f"note '{n.id}': deal '{n.deal_id}' is not in the file")
            continue
        notes.append(Note(id=n.id, deal_id=n.deal_id, author=n.author, created_at=n.created_at, title=n.title,
                          text=n.text))
    problems.raise_if_any()
    people = [Person(id=r.id, name=r.name, email=r.email, title=r.title) for _, r in parsed.people]
    return WorkspaceData(fields=list(specs.values()), people=people, deals=deals, notes=notes)


def read_jsonl(path: Path) -> WorkspaceData:
    refuse_workbook(path)
    with open(path, encoding="utf-8-sig") as handle:  # -sig: tolerate a BOM from Windows editors
        return parse_jsonl(handle, source=path.name)


# ---- JSON Lines out -------------------------------------------------------------------------------------


def _plain_number(value: Any) -> Any:
    # 120000.0 reads back as the same number; 120000 is what a person wrote.
    if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


def _ts(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def to_jsonl(data: WorkspaceData) -> Iterator[str]:
    """One line per record: fields, people, deals, notes, each in a stable order. No trailing newline."""
    specs = {f.name: f for f in data.fields}
    for f in data.fields:
        rec: dict[str, Any] = {"type": "field", "name": f.name, "field_type": f.type.value}
        if f.label and f.label != f.name:
            rec["label"] = f.label
        if f.options:
            rec["options"] = list(f.options)
        yield _dump(rec)
    for p in sorted(data.people, key=lambda p: p.id):
        rec = {"type": "person", "id": p.id, "name": p.name}
        rec.update({k: v for k, v in (("email", p.email), ("title", p.title)) if v})
        yield _dump(rec)
    for d in sorted(data.deals, key=lambda d: d.id):
        values = {k: v for k, v in d.values.items() if v is not None}
        stage = values.pop(STAGE_FIELD, None)
        stage = d.stage if stage is None else stage
        rec = {"type": "deal", "id": d.id, "name": d.name}
        if stage is not None:
            rec["stage"] = stage
        if d.created_at:
            rec["created_at"] = _ts(d.created_at)
        if d.updated_at:
            rec["updated_at"] = _ts(d.updated_at)
        rec["values"] = {
            k: _plain_number(v) if k in specs and specs[k].type is FieldType.NUMBER else v for k, v in values.items()
        }
        yield _dump(rec)
    for n in sorted(data.notes, key=lambda n: (n.deal_id, n.created_at, n.id)):
        rec = {"type": "note", "id": n.id, "deal_id": n.deal_id, "created_at": _ts(n.created_at)}
        if n.author:
            rec["author"] = n.author
        if n.title:
            rec["title"] = n.title
        rec["text"] = n.text
        yield _dump(rec)


def _dump(record: dict[str, Any]) -> str:
    return json.dumps(record, ensure_ascii=False)


# ---- HubSpot CSV exports --------------------------------------------------------------------------------

# HubSpot's export writes one column per property, headed by the property's label. Each of Scout's needs is
# matched against these headers (compared case-insensitively, ignoring spaces, '_' and punctuation), so the
# internal property name works as well as the label.
DEAL_COLUMNS: dict[str, tuple[str, ...]] = {
    "id": ("Record ID", "Deal ID", "hs_object_id", "ID"),
    "name": ("Deal Name", "dealname", "Name"),
    "stage": ("Deal Stage", "dealstage", "Stage"),
    "pipeline": ("Pipeline",),
    "amount": ("Amount",),
    "close_date": ("Close Date", "closedate"),
    "owner": ("Deal owner", "hubspot_owner_id", "Owner"),
    "created_at": ("Create Date", "createdate", "Created Date"),
    "updated_at": ("Last Modified Date", "hs_lastmodifieddate"),
}
NOTE_COLUMNS: dict[str, tuple[str, ...]] = {
    "id": ("Record ID", "Activity ID", "Note ID", "Engagement ID", "hs_object_id"),
    "body": ("Note body", "Body", "Note", "Notes", "hs_note_body", "Activity body"),
    "time": ("Activity date", "hs_timestamp", "Timestamp", "Create Date", "Created at", "hs_createdate"),
    "author": ("Created by", "Activity created by", "Activity assigned to", "Note owner", "hubspot_owner_id"),
    "deal_ids": ("Associated Deal IDs", "Associated Deal ID", "Associated Deals IDs", "Deal IDs"),
    "deal_names": ("Associated Deal", "Associated Deals"),
}
# The fields the HubSpot basics become in the workspace (the demo and the default field map use these).
_BASIC_FIELDS = {
    "pipeline": FieldSpec(name="pipeline", type=FieldType.TEXT, label="Pipeline"),
    "amount": FieldSpec(name="amount", type=FieldType.NUMBER, label="Amount"),
    "close_date": FieldSpec(name="close_date", type=FieldType.DATE, label="Close Date"),
    "owner": FieldSpec(name="owner", type=FieldType.PERSON, label="Deal owner"),
}
_MULTI_SEPARATOR = ";"


def _norm(header: str) -> str:
    return " ".join(re.sub(r"[^0-9a-z]+", " ", header.casefold()).split())


def _find(headers: list[str], candidates: Iterable[str]) -> str | None:
    by_norm = {_norm(h): h for h in reversed(headers)}  # first column wins when two normalise alike
    for candidate in candidates:
        hit = by_norm.get(_norm(candidate))
        if hit is not None:
            return hit
    return None


def _parse_instant(text: str) -> datetime | None:
    """A time as HubSpot exports write it (ISO, 'YYYY-MM-DD HH:MM', US 'MM/DD/YYYY HH:MM AM', epoch ms).

    Times without an offset are taken as UTC. Slashed dates are read month first unless the first number
    is above 12.
    """
    text = text.strip()
    if not text:
        return None
    if text.isdigit() and len(text) >= 11:
        return datetime.fromtimestamp(int(text) / 1000, tz=timezone.utc)
    iso = text[:-1] + "+00:00" if text.endswith("Z") else text
    try:
        return _utc(datetime.fromisoformat(iso))
    except ValueError:
        pass
    first = text.split("/", 1)[0]
    day_first = first.isdigit() and int(first) > 12
    for fmt in ("%m/%d/%Y %I:%M %p", "%m/%d/%Y %H:%M", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y", "%m/%d/%y",
                "%Y/%m/%d %H:%M", "%Y/%m/%d"):
        if day_first and fmt.startswith("%m/%d"):
            fmt = "%d/%m" + fmt[5:]
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=timezone.utc)
        except ValueError:
            continue
    return None


_MONEY = re.compile(r"[^\d.\-]")


def _csv_value(spec: FieldSpec, text: str) -> Any:
    """A CSV cell (always text) in the decoded form of `spec`'s type; '' is absent."""
    text = text.strip()
    if not text:
        return None
    if spec.type is FieldType.NUMBER:
        cleaned = _MONEY.sub("", text)  # "$120,000.00" -> "120000.00"
        try:
            return float(cleaned)
        except ValueError:
            raise ValueError(f"{spec.name}: '{text}' is not a number") from None
    if spec.type is FieldType.DATE:
        instant = _parse_instant(text)
        if instant is None:
            raise ValueError(f"{spec.name}: '{text}' is not a date")
        return instant.date().isoformat()
    if spec.type is FieldType.MULTI_SELECT:
        return [part.strip() for part in text.split(_MULTI_SEPARATOR) if part.strip()] or None
    return text


class CsvMapping(BaseModel):
    """Which column fed which field: printed after an import so the mapping is never a guess."""

    used: dict[str, str] = Field(default_factory=dict)  # column -> what it became
    separator: str = ","  # of the deals file; ';' when Excel saved it the European way
    ignored: list[str] = Field(default_factory=list)
    notes_imported: int = 0
    notes_skipped: int = 0
    notes_skipped_reason: str = ""


def _separator(raw: str) -> str:
    """',' or ';': whichever splits the header row into more columns. Excel saves CSV with ';' wherever ','
    is the decimal mark (most of Europe), and HubSpot's own multi-select values use ';' inside a cell."""
    first = raw.split("\n", 1)[0]
    counts = {sep: len(next(csv.reader([first], delimiter=sep), [])) for sep in (",", ";")}
    return ";" if counts[";"] > counts[","] else ","


def _read_csv(path: Path) -> tuple[list[str], list[tuple[int, dict[str, str]]], str]:
    refuse_workbook(path)
    raw = path.read_bytes().decode("utf-8-sig")
    separator = _separator(raw)
    reader = csv.reader(io.StringIO(raw, newline=""), delimiter=separator)
    try:
        headers = [h.strip() for h in next(reader)]
    except StopIteration:
        raise ImportFailed([Problem(source=path.name, message="the file is empty")]) from None
    rows: list[tuple[int, dict[str, str]]] = []
    start = reader.line_num + 1
    for cells in reader:
        # A quoted cell can span lines (note bodies do): report the line the record starts on.
        if any(c.strip() for c in cells):
            rows.append((start, {h: (cells[i] if i < len(cells) else "") for i, h in enumerate(headers)}))
        start = reader.line_num + 1
    return headers, rows, separator


def _concept_columns(headers: list[str], field_map: FieldMap) -> dict[str, FieldSpec]:
    """Columns that carry a concept's rep field or its scout_* twin (the method's and the field map's concepts),
    by the field's name or label."""
    found: dict[str, FieldSpec] = {}
    for concept in field_map.concepts.values():
        for spec in (concept.rep, concept.scout):
            column = _find(headers, [spec.name, spec.label] if spec.label else [spec.name])
            if column is not None and column not in found:
                found[column] = spec
    return found


def parse_hubspot_csv(
    deals_path: Path, notes_path: Path | None, field_map: FieldMap
) -> tuple[WorkspaceData, CsvMapping]:
    """A HubSpot deals export (plus, optionally, a notes export) as a pipeline, or raise ImportFailed."""
    problems = _Collector()
    source = deals_path.name
    headers, rows, separator = _read_csv(deals_path)
    columns = {need: _find(headers, names) for need, names in DEAL_COLUMNS.items()}
    for need in ("id", "name"):
        if columns[need] is None:
            problems.add(source, 1, f"no {' or '.join(repr(c) for c in DEAL_COLUMNS[need][:2])} column; "
                                    f"columns found: {', '.join(headers)}")
    problems.raise_if_any()
    mapping = CsvMapping(separator=separator)
    concept_cols = _concept_columns(headers, field_map)

    specs: dict[str, FieldSpec] = {}
    stages: list[str] = []
    stage_column = columns["stage"]
    if stage_column:
        for _, row in rows:
            stage = row[stage_column].strip()
            if stage and stage not in stages:
                stages.append(stage)
        specs[STAGE_FIELD] = FieldSpec(name=STAGE_FIELD, type=FieldType.SELECT, label="Deal Stage",
                                       options=tuple(stages))
        mapping.used[stage_column] = "stage (select)"
    # A basic field's column, where the export has it.
    basic = [(column, spec) for need, spec in _BASIC_FIELDS.items() if (column := columns[need])]
    for column, spec in basic:
        specs[spec.name] = spec
        mapping.used[column] = f"{spec.name} ({spec.type.value})"
    for column, spec in concept_cols.items():
        if spec.options and spec.type in (FieldType.SELECT, FieldType.MULTI_SELECT):
            spec = spec.model_copy(update={"options": _with_seen_options(spec, column, rows)})
        specs[spec.name] = spec
        mapping.used[column] = f"{spec.name} ({spec.type.value})"
    for need in ("id", "name", "created_at", "updated_at"):
        if column := columns[need]:
            mapping.used[column] = {"id": "deal id", "name": "deal name", "created_at": "created_at",
                                           "updated_at": "updated_at"}[need]
    mapping.ignored = [h for h in headers if h and h not in mapping.used]

    id_column, name_column = columns["id"], columns["name"]
    assert id_column and name_column  # a file without either was refused above
    deals: list[Deal] = []
    seen: dict[str, int] = {}
    for line, row in rows:
        deal_id = row[id_column].strip()
        name = row[name_column].strip()
        if not deal_id or not name:
            problems.add(source, line, "a deal needs both a Record ID and a Deal Name")
            continue
        if deal_id in seen:
            problems.add(source, line, f"duplicate Record ID '{deal_id}' (first on line {seen[deal_id]})")
            continue
        seen[deal_id] = line
        values: dict[str, Any] = {}
        if stage_column and row[stage_column].strip():
            values[STAGE_FIELD] = row[stage_column].strip()
        for column, spec in basic + list(concept_cols.items()):
            spec = specs[spec.name]
            try:
                value = _csv_value(spec, row[column])
            except ValueError as exc:
                problems.add(source, line, f"deal '{deal_id}', column '{column}': {exc}")
                continue
            if value is not None:
                values[spec.name] = value
        times: dict[str, datetime | None] = {"created_at": None, "updated_at": None}
        for need in times:
            time_column = columns[need]
            if time_column and row[time_column].strip():
                times[need] = _parse_instant(row[time_column])
                if times[need] is None:
                    problems.add(source, line, f"deal '{deal_id}', column '{time_column}': "
                                               f"'{row[time_column]}' is not a date/time")
        deals.append(Deal(id=deal_id, name=name, stage=values.get(STAGE_FIELD), created_at=times["created_at"],
                          updated_at=times["updated_at"], values=values))
    problems.raise_if_any()

    notes: list[Note] = []
    if notes_path is not None:
        notes = _hubspot_notes(notes_path, deals, problems, mapping)
        problems.raise_if_any()
    return WorkspaceData(fields=list(specs.values()), deals=deals, notes=notes), mapping


def _with_seen_options(spec: FieldSpec, column: str, rows: list[tuple[int, dict[str, str]]]) -> tuple[str, ...]:
    """The field map's options plus any other value the export carries (a team's own labels stay valid)."""
    options = list(spec.options)
    known = {o.casefold() for o in options}
    for _, row in rows:
        cell = row.get(column, "")
        parts = cell.split(_MULTI_SEPARATOR) if spec.type is FieldType.MULTI_SELECT else [cell]
        for part in (p.strip() for p in parts):
            if part and part.casefold() not in known:
                options.append(part)
                known.add(part.casefold())
    return tuple(options)


def _hubspot_notes(path: Path, deals: list[Deal], problems: _Collector, mapping: CsvMapping) -> list[Note]:
    source = path.name
    headers, rows, _ = _read_csv(path)
    columns = {need: _find(headers, names) for need, names in NOTE_COLUMNS.items()}
    if columns["body"] is None:
        problems.add(source, 1, f"no 'Note body' column; columns found: {', '.join(headers)}")
    if columns["time"] is None:
        problems.add(source, 1, f"no 'Activity date' column; columns found: {', '.join(headers)}")
    if columns["deal_ids"] is None and columns["deal_names"] is None:
        problems.add(source, 1, "no 'Associated Deal IDs' column: include deal associations in the export")
    if problems.problems:
        return []
    roles = {"id": "note id", "body": "note text (HTML to plain text)", "time": "note time",
             "author": "note author", "deal_ids": "note's deals", "deal_names": "note's deals (by name)"}
    for need, column in columns.items():
        if column:
            mapping.used[f"{source}: {column}"] = roles[need]
    by_id = {d.id for d in deals}
    by_name: dict[str, list[str]] = {}
    for d in deals:
        by_name.setdefault(d.name.casefold(), []).append(d.id)

    time_column, body_column, ids_column = columns["time"], columns["body"], columns["deal_ids"]
    deals_column = ids_column or columns["deal_names"]
    assert time_column and body_column and deals_column  # a file without them was refused above
    notes: list[Note] = []
    used_ids: set[str] = set()
    for line, row in rows:
        when = _parse_instant(row[time_column])
        if when is None:
            problems.add(source, line, f"'{row[time_column]}' in '{time_column}' is not a date/time")
            continue
        if ids_column:
            targets = [t.strip() for t in re.split(r"[;,]", row[ids_column]) if t.strip()]
            targets = [t for t in targets if t in by_id]
        else:
            names = [t.strip() for t in row[deals_column].split(_MULTI_SEPARATOR) if t.strip()]
            targets = [i for n in names for i in by_name.get(n.casefold(), [])[:1]]
        if not targets:
            mapping.notes_skipped += 1
            continue
        base_id = (row[columns["id"]].strip() if columns["id"] else "") or f"{source}:{line}"
        text = html_to_text(row[body_column])
        author = row[columns["author"]].strip() if columns["author"] else ""
        for deal_id in targets:
            note_id = base_id if len(targets) == 1 else f"{base_id}-{deal_id}"
            if note_id in used_ids:
                problems.add(source, line, f"duplicate note id '{note_id}'")
                continue
            used_ids.add(note_id)
            notes.append(Note(id=note_id, deal_id=deal_id, author=author, created_at=when, text=text))
    mapping.notes_imported = len(notes)
    if mapping.notes_skipped:
        mapping.notes_skipped_reason = "not associated with any deal in the deals file"
    return notes


__all__ = [
    "CsvMapping", "DEAL_COLUMNS", "ImportFailed", "NOTE_COLUMNS", "Problem", "check_value", "parse_hubspot_csv",
    "parse_jsonl", "read_jsonl", "to_jsonl",
]

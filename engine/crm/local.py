"""The embedded CRM: a SQLite workspace file with deals, notes, people and typed fields.

It is the default CRM, the demo, and the place a user rehearses on an imported copy of their pipeline.
A reader opens the file with SQLite's `mode=ro`, so a dry run cannot change one byte of it.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, AsyncIterator, Iterable, Mapping, Sequence

import aiosqlite

from engine.crm.base import CRMError, DealNotFound, DealWrite, FieldTypeConflict, WriteResult
from engine.crm.matching import rank_names
from engine.sqlitefile import open_sqlite
from engine.fieldtypes import CoercionError, coerce, is_empty
from engine.models import Deal, DealRef, FieldSpec, FieldType, Note, Person, WorkspaceData

SCHEMA = """
CREATE TABLE IF NOT EXISTS fields (
    name TEXT PRIMARY KEY, label TEXT NOT NULL, type TEXT NOT NULL, options TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE IF NOT EXISTS people (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL DEFAULT '', title TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS deals (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, created_at TEXT, updated_at TEXT
);
CREATE TABLE IF NOT EXISTS deal_values (
    deal_id TEXT NOT NULL REFERENCES deals(id) ON DELETE CASCADE,
    field TEXT NOT NULL REFERENCES fields(name),
    value TEXT NOT NULL,
    PRIMARY KEY (deal_id, field)
);
CREATE TABLE IF NOT EXISTS notes (
    id TEXT PRIMARY KEY, deal_id TEXT NOT NULL REFERENCES deals(id) ON DELETE CASCADE,
    author TEXT NOT NULL DEFAULT '', created_at TEXT NOT NULL, title TEXT NOT NULL DEFAULT '', text TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS notes_by_deal ON notes(deal_id, created_at);
"""


def _ts(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _parse_ts(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


_IDS_PER_QUERY = 500  # bound parameters per IN (...): under SQLite's smallest variable limit (999)


class LocalCRM:
    """Implements CRMWriter; open it read-only (the default) for anything that must not write."""

    pages_in_flight = 2  # no network: depth only bounds memory

    def __init__(self, db: aiosqlite.Connection, path: Path, writable: bool, deal_url_template: str | None = None):
        self._db = db
        self.path = path
        self.writable = writable
        self._url_template = deal_url_template
        self._specs: dict[str, FieldSpec] | None = None

    @classmethod
    async def open(
        cls, path: Path, *, writable: bool = False, create: bool = False, deal_url_template: str | None = None
    ) -> "LocalCRM":
        path = Path(path)
        if not path.exists() and not create:
            raise CRMError(f"embedded workspace not found at {path}: run `scout demo` (or `scout import FILE`) first")
        where = f"cannot open the embedded workspace {path}"  # the CLI's one-line error names the file

        async def setup(db: aiosqlite.Connection) -> None:
            if writable:
                await db.execute("PRAGMA foreign_keys = ON")
                await db.executescript(SCHEMA)
                await db.commit()

        db = await open_sqlite(path, readonly=not writable, where=where, setup=setup, table="deals",
                               empty_hint="it holds no pipeline: run `scout demo --reset` or `scout import FILE`")
        return cls(db, path, writable, deal_url_template)

    async def aclose(self) -> None:
        await self._db.close()

    # -- reader -------------------------------------------------------------------------------------------

    async def field_specs(self) -> dict[str, FieldSpec]:
        if self._specs is None:
            rows = await self._db.execute_fetchall("SELECT name, label, type, options FROM fields")
            self._specs = {
                r["name"]: FieldSpec(name=r["name"], label=r["label"], type=FieldType(r["type"]),
                                     options=tuple(json.loads(r["options"])))
                for r in rows
            }
        return self._specs

    async def count_deals(self) -> int:
        rows = list(await self._db.execute_fetchall("SELECT COUNT(*) FROM deals"))
        return int(rows[0][0])

    async def iter_deal_refs(self) -> AsyncIterator[DealRef]:
        page, last = 500, ""
        while True:
            rows = list(await self._db.execute_fetchall(
                "SELECT id, name FROM deals WHERE id > ? ORDER BY id LIMIT ?", (last, page)
            ))
            for r in rows:
                yield DealRef(id=r["id"], name=r["name"])
            if len(rows) < page:
                return
            last = rows[-1]["id"]

    # Each value with its person's name when it is a JSON string naming a person id: one indexed lookup per
    # value instead of reading the whole people table for every deal.
    _PERSON = "LEFT JOIN people p ON json_type(v.value) = 'text' AND p.id = json_extract(v.value, '$')"
    _VALUES = f"SELECT v.deal_id, v.field, v.value, p.name AS person FROM deal_values v {_PERSON}"

    async def _build_deals(self, rows: list[Any]) -> list[Deal]:
        if not rows:
            return []
        ids = [r["id"] for r in rows]
        marks = ",".join("?" * len(ids))
        value_rows = await self._db.execute_fetchall(
            f"{self._VALUES} WHERE v.deal_id IN ({marks}) ORDER BY v.deal_id, v.field", ids
        )
        return await self._assemble(rows, value_rows)

    async def _assemble(self, rows: list[Any], value_rows: Iterable[Any]) -> list[Deal]:
        specs = await self.field_specs()
        values: dict[str, dict[str, Any]] = {r["id"]: {} for r in rows}
        for v in value_rows:
            if v["field"] is None:  # a deal without values, from get_deal's outer join
                continue
            decoded = json.loads(v["value"])
            spec = specs.get(v["field"])
            if spec is not None and spec.type is FieldType.PERSON and decoded is not None and v["person"] is not None:
                decoded = v["person"]
            values[v["deal_id"]][v["field"]] = decoded
        return [
            Deal(
                id=r["id"], name=r["name"], stage=values[r["id"]].get("stage"),
                created_at=_parse_ts(r["created_at"]), updated_at=_parse_ts(r["updated_at"]),
                url=self._url_template.format(id=r["id"]) if self._url_template else None,
                values=values[r["id"]],
            )
            for r in rows
        ]

    async def get_deal(self, deal_id: str) -> Deal:
        # The deal and its values in one query (one trip to the database thread): a pass reads every deal.
        rows = list(await self._db.execute_fetchall(
            "SELECT d.id, d.name, d.created_at, d.updated_at, d.id AS deal_id, v.field, v.value, p.name AS person"
            f" FROM deals d LEFT JOIN deal_values v ON v.deal_id = d.id {self._PERSON} WHERE d.id = ? ORDER BY v.field",
            (deal_id,),
        ))
        if not rows:
            raise DealNotFound(f"deal {deal_id} not found in the embedded workspace")
        return (await self._assemble(rows[:1], rows))[0]

    async def find_deals(self, name: str, limit: int = 5) -> list[Deal]:
        rows = await self._db.execute_fetchall("SELECT id, name FROM deals")
        ranked = rank_names(name, [(r["id"], r["name"]) for r in rows], limit)
        if not ranked:
            return []
        marks = ",".join("?" * len(ranked))
        deal_rows = await self._db.execute_fetchall(
            f"SELECT * FROM deals WHERE id IN ({marks})", ranked
        )
        by_id = {d.id: d for d in await self._build_deals(list(deal_rows))}
        return [by_id[i] for i in ranked]

    async def first_filled(self, fields: Sequence[str]) -> tuple[str, str] | None:
        if not fields:
            return None
        specs = await self.field_specs()
        marks = ",".join("?" * len(fields))
        rows = await self._db.execute_fetchall(
            f"SELECT deal_id, field, value FROM deal_values WHERE field IN ({marks})", list(fields))
        for r in rows:
            spec = specs.get(r["field"])
            if spec is not None and not is_empty(spec.type, json.loads(r["value"])):
                return r["deal_id"], r["field"]
        return None

    async def list_notes(self, deal_id: str) -> list[Note]:
        # Existence and notes in one query: no row means no deal; one row with a NULL note id means no notes.
        rows = await self._db.execute_fetchall(
            "SELECT n.* FROM deals d LEFT JOIN notes n ON n.deal_id = d.id WHERE d.id = ?"
            " ORDER BY n.created_at, n.id", (deal_id,)
        )
        if not rows:
            raise DealNotFound(f"deal {deal_id} not found in the embedded workspace")
        return [
            Note(id=r["id"], deal_id=r["deal_id"], author=r["author"],
                 created_at=datetime.fromisoformat(r["created_at"]), title=r["title"], text=r["text"])
            for r in rows if r["id"] is not None
        ]

    async def get_deals(self, deal_ids: Sequence[str]) -> dict[str, Deal]:
        found: dict[str, Deal] = {}
        ids = list(dict.fromkeys(deal_ids))
        for start in range(0, len(ids), _IDS_PER_QUERY):
            chunk = ids[start:start + _IDS_PER_QUERY]
            marks = ",".join("?" * len(chunk))
            rows = list(await self._db.execute_fetchall(
                f"SELECT id, name, created_at, updated_at FROM deals WHERE id IN ({marks})", chunk))
            found.update((d.id, d) for d in await self._build_deals(rows))
        return {i: found[i] for i in deal_ids if i in found}

    async def list_notes_many(self, deal_ids: Sequence[str]) -> dict[str, list[Note]]:
        out: dict[str, list[Note]] = {}
        ids = list(dict.fromkeys(deal_ids))
        for start in range(0, len(ids), _IDS_PER_QUERY):
            chunk = ids[start:start + _IDS_PER_QUERY]
            marks = ",".join("?" * len(chunk))
            rows = await self._db.execute_fetchall(
                f"SELECT d.id AS deal, n.* FROM deals d LEFT JOIN notes n ON n.deal_id = d.id WHERE d.id IN ({marks})"
                " ORDER BY n.created_at, n.id", chunk)
            for r in rows:
                notes = out.setdefault(r["deal"], [])
                if r["id"] is not None:
                    notes.append(Note(id=r["id"], deal_id=r["deal_id"], author=r["author"],
                                      created_at=datetime.fromisoformat(r["created_at"]), title=r["title"],
                                      text=r["text"]))
        return {i: out[i] for i in deal_ids if i in out}

    # -- writer -------------------------------------------------------------------------------------------

    def _require_writable(self) -> None:
        if not self.writable:
            raise CRMError("the embedded workspace was opened read-only")

    async def create_field(self, spec: FieldSpec) -> bool:
        self._require_writable()
        existing = (await self.field_specs()).get(spec.name)
        if existing is not None:
            if existing.type is not spec.type:
                raise FieldTypeConflict(
                    f"field {spec.name} exists as {existing.type}, not {spec.type}; Scout will not touch it"
                )
            return False
        await self._db.execute(
            "INSERT INTO fields (name, label, type, options) VALUES (?, ?, ?, ?)",
            (spec.name, spec.label or spec.name, spec.type.value, json.dumps(list(spec.options))),
        )
        await self._db.commit()
        self._specs = None
        return True

    async def _encode(self, spec: FieldSpec, value: Any) -> Any:
        if value is None:
            return None
        if spec.type is FieldType.PERSON:
            rows = list(await self._db.execute_fetchall(
                "SELECT id FROM people WHERE id = ? OR lower(name) = lower(?)", (value, value)
            ))
            if len(rows) != 1:
                raise CRMError(f"no single person named '{value}' for {spec.name}")
            return rows[0]["id"]
        if spec.type is FieldType.RECORD:
            return str(value)
        if spec.type is FieldType.NUMBER and isinstance(value, (int, float)):
            return float(value)
        try:
            return coerce(spec, value if isinstance(value, list) else str(value))
        except CoercionError as exc:
            raise CRMError(f"value for {spec.name} rejected: {exc}") from exc

    async def set_field(self, deal_id: str, field: str, value: Any) -> None:
        await self.set_fields(deal_id, {field: value})

    async def set_fields(self, deal_id: str, values: Mapping[str, Any]) -> None:
        result = (await self.write_many([DealWrite(deal_id, values)]))[0]
        if result.not_found:
            raise DealNotFound(result.error or deal_id)
        if not result.ok:
            raise CRMError(result.error or f"write to deal {deal_id} refused")

    async def write_many(self, writes: Sequence[DealWrite]) -> list[WriteResult]:
        """One transaction for the whole batch: a deal that is gone or a value that does not fit is refused
        before anything of that deal is written, and the other deals' writes commit together."""
        self._require_writable()
        specs = await self.field_specs()
        present: set[str] = set()
        ids = list(dict.fromkeys(w.deal_id for w in writes))
        for start in range(0, len(ids), _IDS_PER_QUERY):
            chunk = ids[start:start + _IDS_PER_QUERY]
            rows = await self._db.execute_fetchall(
                f"SELECT id FROM deals WHERE id IN ({','.join('?' * len(chunk))})", chunk)
            present.update(r["id"] for r in rows)
        results: list[WriteResult] = []
        touched: list[tuple[str, str]] = []
        cleared: list[tuple[str, str]] = []
        stored: dict[tuple[str, str], str] = {}
        now = datetime.now(timezone.utc).isoformat()
        for w in writes:
            # A missing deal is reported before a bad value, as if existence had been checked first.
            if w.deal_id not in present:
                results.append(WriteResult(w.deal_id, False, f"deal {w.deal_id} not found in the embedded workspace",
                                           not_found=True))
                continue
            try:
                encoded = {field: await self._encode(self._spec(specs, field), value)
                           for field, value in w.values.items()}
            except CRMError as exc:
                results.append(WriteResult(w.deal_id, False, str(exc)))
                continue
            touched.append((now, w.deal_id))
            for field, value in encoded.items():
                key = (w.deal_id, field)
                if value is None:
                    stored.pop(key, None)
                    cleared.append(key)
                else:
                    stored[key] = json.dumps(value)
            results.append(WriteResult(w.deal_id, True))
        if touched:
            try:
                for sql, params in (
                    ("UPDATE deals SET updated_at = ? WHERE id = ?", touched),
                    ("DELETE FROM deal_values WHERE deal_id = ? AND field = ?", cleared),
                    ("INSERT INTO deal_values (deal_id, field, value) VALUES (?, ?, ?) "
                     "ON CONFLICT(deal_id, field) DO UPDATE SET value = excluded.value",
                     [(d, f, v) for (d, f), v in stored.items()]),
                ):
                    if params:
                        await (await self._db.executemany(sql, params)).close()
                await self._db.commit()
            except BaseException:
                await self._db.rollback()
                raise
        return results

    @staticmethod
    def _spec(specs: dict[str, FieldSpec], field: str) -> FieldSpec:
        spec = specs.get(field)
        if spec is None:
            raise CRMError(f"field {field} does not exist in the workspace: run `scout setup --apply`")
        return spec

    async def delete_deal(self, deal_id: str) -> None:
        """For tests and imports: a deal that vanishes."""
        self._require_writable()
        await self._db.execute("DELETE FROM deals WHERE id = ?", (deal_id,))
        await self._db.commit()

    # -- bulk ---------------------------------------------------------------------------------------------

    async def load(self, data: WorkspaceData, *, replace: bool = True) -> None:
        """Load a whole pipeline in one transaction: all or nothing."""
        self._require_writable()
        people_by_name = {p.name.casefold(): p.id for p in data.people}
        specs = {f.name: f for f in data.fields}
        try:
            await self._db.execute("BEGIN")
            if replace:
                for table in ("notes", "deal_values", "deals", "people", "fields"):
                    await self._db.execute(f"DELETE FROM {table}")
            await self._db.executemany(
                "INSERT INTO fields (name, label, type, options) VALUES (?, ?, ?, ?)",
                [(f.name, f.label or f.name, f.type.value, json.dumps(list(f.options))) for f in data.fields],
            )
            await self._db.executemany(
                "INSERT INTO people (id, name, email, title) VALUES (?, ?, ?, ?)",
                [(p.id, p.name, p.email, p.title) for p in data.people],
            )
            await self._db.executemany(
                "INSERT INTO deals (id, name, created_at, updated_at) VALUES (?, ?, ?, ?)",
                [(d.id, d.name, _ts(d.created_at), _ts(d.updated_at)) for d in data.deals],
            )
            value_rows = []
            for d in data.deals:
                values = dict(d.values)
                if d.stage is not None:
                    values.setdefault("stage", d.stage)
                for name, value in values.items():
                    if value is None:
                        continue
                    spec = specs.get(name)
                    if spec is None:
                        raise CRMError(f"deal {d.id}: field '{name}' is not declared")
                    if spec.type is FieldType.PERSON:
                        value = people_by_name.get(str(value).casefold(), value)
                    value_rows.append((d.id, name, json.dumps(value)))
            await self._db.executemany(
                "INSERT INTO deal_values (deal_id, field, value) VALUES (?, ?, ?)", value_rows
            )
            await self._db.executemany(
                "INSERT INTO notes (id, deal_id, author, created_at, title, text) VALUES (?, ?, ?, ?, ?, ?)",
                [(n.id, n.deal_id, n.author, _ts(n.created_at), n.title, n.text) for n in data.notes],
            )
            await self._db.commit()
        except Exception:
            await self._db.rollback()
            raise
        finally:
            self._specs = None

    async def export(self) -> WorkspaceData:
        specs = await self.field_specs()
        people = [
            Person(id=r["id"], name=r["name"], email=r["email"], title=r["title"])
            for r in await self._db.execute_fetchall("SELECT * FROM people ORDER BY id")
        ]
        deals = await self._build_deals(list(await self._db.execute_fetchall("SELECT * FROM deals ORDER BY id")))
        notes = [
            Note(id=r["id"], deal_id=r["deal_id"], author=r["author"],
                 created_at=datetime.fromisoformat(r["created_at"]), title=r["title"], text=r["text"])
            for r in await self._db.execute_fetchall("SELECT * FROM notes ORDER BY deal_id, created_at, id")
        ]
        return WorkspaceData(fields=list(specs.values()), people=people, deals=deals, notes=notes)

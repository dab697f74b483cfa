"""Attio REST API v2 adapter: deals are records of one object, fields are its attributes.

Attio returns every attribute value as an array of value objects (`[]` when empty); this module decodes
them into the engine's decoded form (see `engine.models.Deal`) and encodes decoded values back for writes.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from datetime import datetime
from typing import Any, AsyncIterator, Awaitable, Callable, Mapping, Sequence, TypeVar

import httpx

from engine.crm.base import (AuthError, CRMError, CRMRetriesSpent, CRMUnreachable, DealNotFound, DealWrite,
                             FieldTypeConflict, TokenMissing, WriteResult)
from engine.crm.matching import rank_names
from engine.fieldtypes import is_empty
from engine.crm.http import Clock, RateLimiter, Sleep, error_for, request
from engine.medic import FieldMap
from engine.models import Deal, DealRef, FieldSpec, FieldType, Note
from engine.settings import Settings

log = logging.getLogger(__name__)

VENDOR = "Attio"
DEFAULT_BASE_URL = "https://api.attio.com"
TOKEN_SCOPES = (
    "record_permission:read-write, object_configuration:read-write, note:read "
    "(and user_management:read to show owner names)"
)
DEAL_PAGE_SIZE = 500  # Attio's records query accepts up to 500 per page
NOTE_PAGE_SIZE = 50  # the notes list accepts up to 50 per page
SPEC_TTL_S = 300.0  # attribute definitions rarely change; re-read them every few minutes at most

# Attio attribute type -> engine field type. select and record-reference are refined in `_field_type`.
_TYPE_MAP: dict[str, FieldType] = {
    "text": FieldType.TEXT,
    "personal-name": FieldType.TEXT,
    "email-address": FieldType.TEXT,
    "domain": FieldType.TEXT,
    "phone-number": FieldType.TEXT,
    "location": FieldType.TEXT,
    "checkbox": FieldType.TEXT,
    "number": FieldType.NUMBER,
    "currency": FieldType.NUMBER,
    "rating": FieldType.NUMBER,
    "date": FieldType.DATE,
    "timestamp": FieldType.DATE,
    "select": FieldType.SELECT,
    "status": FieldType.SELECT,
    "record-reference": FieldType.RECORD,
    "actor-reference": FieldType.PERSON,
}


class _Attribute:
    """One attribute definition, with what decoding and encoding need to know about it."""

    def __init__(self, raw: dict[str, Any], spec: FieldSpec, to_people: bool):
        self.raw = raw
        self.slug: str = raw["api_slug"]
        self.attio_type: str = raw["type"]
        self.multi: bool = bool(raw.get("is_multiselect"))
        self.spec = spec
        self.to_people = to_people


def _token_rejected(token_env: str) -> str:
    return (
        f"{token_env} was rejected ({{status}}): create an Attio access token (Workspace settings > Developers) "
        f"with scopes {TOKEN_SCOPES}"
    )


_FRACTION = re.compile(r"(?<=\.)(\d+)")


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    # Attio prints nanoseconds; Python's parser takes at most microseconds.
    text = _FRACTION.sub(lambda m: m.group(1)[:6], text, count=1)
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _scalar(item: dict[str, Any], attio_type: str) -> Any:
    """The display value inside one Attio value object (before engine typing)."""
    match attio_type:
        case "select":
            return (item.get("option") or {}).get("title")
        case "status":
            return (item.get("status") or {}).get("title")
        case "currency":
            return item.get("currency_value")
        case "personal-name":
            return item.get("full_name") or " ".join(
                p for p in (item.get("first_name"), item.get("last_name")) if p
            )
        case "email-address":
            return item.get("email_address")
        case "domain":
            return item.get("domain")
        case "phone-number":
            return item.get("phone_number") or item.get("original_phone_number")
        case "location":
            parts = (item.get(k) for k in ("line_1", "locality", "region", "postcode", "country_code"))
            return ", ".join(p for p in parts if p) or None
        case "record-reference":
            return item.get("target_record_id")
        case "actor-reference":
            return item.get("referenced_actor_id")
        case "checkbox":
            value = item.get("value")
            return None if value is None else ("true" if value else "false")
        case _:
            return item.get("value")


class AttioCRM:
    """`CRMWriter` over Attio. The client carries base_url and the Bearer header; this class owns pacing."""

    # A page is 100 writes, four seconds of the write budget: two pages cover any round trip, and more read
    # ahead only queues the re-read before each write behind reads of later pages (measured: slower).
    pages_in_flight = 2

    def __init__(
        self,
        client: httpx.AsyncClient,
        field_map: FieldMap,
        *,
        token_env: str = "ATTIO_API_TOKEN",
        reads_per_s: int = 100,
        writes_per_s: int = 25,
        sleep: Sleep = asyncio.sleep,
        clock: Clock | None = None,
        deal_url_template: str | None = None,
        page_size: int = DEAL_PAGE_SIZE,
        note_page_size: int = NOTE_PAGE_SIZE,
    ) -> None:
        self._client = client
        self._map = field_map
        self._object = field_map.object
        self._token_env = token_env
        self._sleep = sleep
        # A test passes one fake clock for both pacing and Retry-After dates; production uses real time.
        self._wall: Clock = clock or time.time
        limiter_clock: Clock = clock or time.monotonic
        limiter_sleep: Sleep = sleep if clock is not None else asyncio.sleep
        self._reads = RateLimiter(reads_per_s, 1.0, clock=limiter_clock, sleep=limiter_sleep)
        self._writes = RateLimiter(writes_per_s, 1.0, clock=limiter_clock, sleep=limiter_sleep)
        self._url_template = deal_url_template
        self._page_size = page_size
        self._note_page_size = note_page_size
        self._attrs: dict[str, _Attribute] | None = None
        self._attrs_at = 0.0
        self._attrs_lock = asyncio.Lock()  # concurrent readers share one load instead of each paying for it
        self._members_readable = True
        self._people_object_id: str | None = None
        self._names: dict[tuple[str, str], str] = {}
        # Reference values are resolved to names (extra reads) only for the fields Scout reasons about.
        self._mapped = {c.rep.name for c in field_map.concepts.values()} | {
            c.scout.name for c in field_map.concepts.values()
        }

    @classmethod
    def from_settings(cls, settings: Settings) -> "AttioCRM":
        token = settings.attio_api_token.get_secret_value().strip() if settings.attio_api_token else ""
        if not token:
            raise TokenMissing(
                "ATTIO_API_TOKEN is not set: create an Attio access token (Workspace settings > Developers) "
                f"with scopes {TOKEN_SCOPES}, then export ATTIO_API_TOKEN=..."
            )
        client = httpx.AsyncClient(
            base_url=settings.crm_base_url or DEFAULT_BASE_URL,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
            timeout=httpx.Timeout(30.0),
        )
        return cls(client, settings.field_map, deal_url_template=settings.deal_url_template)

    # ---- HTTP -------------------------------------------------------------------------------------

    async def _call(self, method: str, url: str, *, write: bool = False, **kwargs: Any) -> httpx.Response:
        return await request(
            self._client,
            method,
            url,
            limiter=self._writes if write else self._reads,
            vendor=VENDOR,
            auth_message=_token_rejected(self._token_env),
            sleep=self._sleep,
            now=self._wall,
            **kwargs,
        )

    @staticmethod
    def _json(response: httpx.Response) -> Any:
        if response.status_code >= 300:
            raise error_for(response, VENDOR)
        try:
            return response.json()
        except ValueError as exc:
            raise CRMError(f"{VENDOR} sent a non-JSON reply ({response.status_code}) to {response.request.url.path}") from exc

    def _records(self) -> str:
        return f"/v2/objects/{self._object}/records"

    async def _query(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        response = await self._call("POST", f"{self._records()}/query", json=body)
        if response.status_code == 404:
            raise CRMError(f"Attio has no object '{self._object}': check `object` in the field map (SCOUT_FIELD_MAP)")
        return list(self._json(response).get("data") or [])

    async def _pages(self, body: dict[str, Any]) -> AsyncIterator[dict[str, Any]]:
        offset = 0
        while True:
            page = await self._query({**body, "limit": self._page_size, "offset": offset})
            for record in page:
                yield record
            if len(page) < self._page_size:  # a short page is the last
                return
            offset += len(page)

    # Creation order with the record id as tie-break: stable across pages while nobody inserts mid-run.
    _SORTS = [{"attribute": "created_at", "direction": "asc"}, {"attribute": "record_id", "direction": "asc"}]

    # ---- attributes -------------------------------------------------------------------------------

    async def _people_id(self) -> str:
        if self._people_object_id is None:
            response = await self._call("GET", "/v2/objects/people")
            if response.status_code == 404:
                self._people_object_id = ""
            else:
                self._people_object_id = str(self._json(response)["data"]["id"]["object_id"])
        return self._people_object_id

    async def _points_at_people(self, raw: dict[str, Any]) -> bool:
        allowed = ((raw.get("config") or {}).get("record_reference") or {}).get("allowed_object_ids") or []
        if not allowed:
            return False
        if "people" in allowed:
            return True
        people = await self._people_id()
        return bool(people) and people in allowed

    async def _field_type(self, raw: dict[str, Any]) -> tuple[FieldType | None, bool]:
        attio_type = raw.get("type", "")
        if attio_type == "select" and raw.get("is_multiselect"):
            return FieldType.MULTI_SELECT, False
        if attio_type == "record-reference":
            to_people = await self._points_at_people(raw)
            return (FieldType.PERSON if to_people else FieldType.RECORD), to_people
        return _TYPE_MAP.get(attio_type), False

    async def _options(self, slug: str) -> tuple[str, ...]:
        response = await self._call("GET", f"/v2/objects/{self._object}/attributes/{slug}/options")
        return tuple(o["title"] for o in self._json(response).get("data") or [] if not o.get("is_archived"))

    def _attrs_current(self) -> dict[str, _Attribute] | None:
        """The attributes read last, while they are younger than SPEC_TTL_S."""
        return self._attrs if self._attrs is not None and time.monotonic() - self._attrs_at < SPEC_TTL_S else None

    async def _load_attributes(self, *, fresh: bool = False) -> dict[str, _Attribute]:
        if not fresh and (attrs := self._attrs_current()) is not None:
            return attrs
        async with self._attrs_lock:
            if not fresh and (attrs := self._attrs_current()) is not None:
                return attrs
            return await self._fetch_attributes()

    async def _fetch_attributes(self) -> dict[str, _Attribute]:
        response = await self._call("GET", f"/v2/objects/{self._object}/attributes")
        if response.status_code == 404:
            raise CRMError(f"Attio has no object '{self._object}': check `object` in the field map (SCOUT_FIELD_MAP)")
        attrs: dict[str, _Attribute] = {}
        for raw in self._json(response).get("data") or []:
            if raw.get("is_archived"):
                continue
            field_type, to_people = await self._field_type(raw)
            if field_type is None:
                log.debug("attio: skipping attribute %s of unsupported type %s", raw.get("api_slug"), raw.get("type"))
                continue
            options: tuple[str, ...] = ()
            if raw["type"] == "select":
                options = await self._options(raw["api_slug"])
            spec = FieldSpec(name=raw["api_slug"], type=field_type, label=raw.get("title") or "", options=options)
            attrs[spec.name] = _Attribute(raw, spec, to_people)
        self._attrs, self._attrs_at = attrs, time.monotonic()
        return attrs

    async def field_specs(self) -> dict[str, FieldSpec]:
        return {slug: a.spec for slug, a in (await self._load_attributes()).items()}

    # ---- decoding ---------------------------------------------------------------------------------

    async def _name_of(self, kind: str, ref_id: str, target_object: str = "") -> str:
        key = (kind, ref_id)
        if key in self._names:
            return self._names[key]
        name = ref_id
        if kind == "actor":
            if not self._members_readable:
                return name
            # Owner names need user_management:read; without it an id is still an honest non-empty value.
            try:
                response = await self._call("GET", f"/v2/workspace_members/{ref_id}")
                if response.status_code < 300:
                    data = response.json().get("data") or {}
                    name = " ".join(p for p in (data.get("first_name"), data.get("last_name")) if p) or name
            except AuthError:
                self._members_readable = False
                log.warning("attio: the token cannot read workspace members (user_management:read); showing ids")
        else:
            response = await self._call("GET", f"/v2/objects/{target_object}/records/{ref_id}")
            if response.status_code < 300:
                values = (response.json().get("data") or {}).get("values") or {}
                for item in values.get("name") or []:
                    name = _scalar(item, item.get("attribute_type", "text")) or name
                    break
        self._names[key] = name
        return name

    async def _decode(self, attr: _Attribute, items: list[dict[str, Any]]) -> Any:
        if not items:
            return None
        if attr.attio_type in ("record-reference", "actor-reference"):
            resolve = attr.slug in self._mapped
            names: list[str] = []
            for item in items:
                ref = _scalar(item, attr.attio_type)
                if not ref:
                    continue
                if resolve and attr.attio_type == "actor-reference":
                    ref = await self._name_of("actor", ref)
                elif resolve:
                    ref = await self._name_of("record", ref, item.get("target_object") or "")
                names.append(ref)
            return ", ".join(names) or None
        raw = [v for v in (_scalar(item, attr.attio_type) for item in items) if v is not None]
        if not raw:
            return None
        field_type = attr.spec.type
        if field_type is FieldType.MULTI_SELECT:
            return sorted(str(v) for v in raw)
        first = raw[0]
        if field_type is FieldType.NUMBER:
            try:
                return float(first)
            except (TypeError, ValueError):
                return None
        if field_type is FieldType.DATE:
            return str(first)[:10]
        if attr.multi:
            return ", ".join(str(v) for v in raw)
        return str(first)

    def _url(self, record: dict[str, Any], record_id: str) -> str:
        if self._url_template:
            return self._url_template.format(id=record_id, object=self._object)
        return record.get("web_url") or f"https://app.attio.com/record/{self._object}/{record_id}"

    async def _deal(self, record: dict[str, Any]) -> Deal:
        attrs = await self._load_attributes()
        record_id = str(record["id"]["record_id"])
        raw_values: dict[str, list[dict[str, Any]]] = record.get("values") or {}
        values: dict[str, Any] = {}
        for slug, attr in attrs.items():
            if slug in raw_values:
                values[slug] = await self._decode(attr, raw_values[slug])
        name_items = raw_values.get("name") or []
        name = str(_scalar(name_items[0], name_items[0].get("attribute_type", "text")) or "") if name_items else ""
        stage_items = raw_values.get("stage") or []
        stage = _scalar(stage_items[0], "status") if stage_items else None
        return Deal(
            id=record_id,
            name=name,
            stage=stage,
            created_at=_parse_time(record.get("created_at")),
            url=self._url(record, record_id),
            values=values,
        )

    @staticmethod
    def _ref(record: dict[str, Any]) -> DealRef:
        items = (record.get("values") or {}).get("name") or []
        name = str(_scalar(items[0], items[0].get("attribute_type", "text")) or "") if items else ""
        return DealRef(id=str(record["id"]["record_id"]), name=name)

    # ---- CRMReader --------------------------------------------------------------------------------

    async def count_deals(self) -> int:
        # Attio has no count endpoint: page through and count.
        return sum([1 async for _ in self._pages({"sorts": self._SORTS})])

    async def first_filled(self, fields: Sequence[str]) -> tuple[str, str] | None:
        # The records query returns values too: 500 deals a request, stopping at the first value found.
        specs = await self.field_specs()
        async for record in self._pages({"sorts": self._SORTS}):
            deal = await self._deal(record)
            for name in fields:
                if name in specs and not is_empty(specs[name].type, deal.values.get(name)):
                    return deal.id, name
        return None

    async def iter_deal_refs(self) -> AsyncIterator[DealRef]:
        async for record in self._pages({"sorts": self._SORTS}):
            yield self._ref(record)

    async def _record(self, deal_id: str) -> dict[str, Any]:
        response = await self._call("GET", f"{self._records()}/{deal_id}")
        if response.status_code == 404:
            raise DealNotFound(f"Attio deal {deal_id} not found (deleted or merged?)")
        return self._json(response)["data"]

    async def get_deal(self, deal_id: str) -> Deal:
        return await self._deal(await self._record(deal_id))

    async def find_deals(self, name: str, limit: int = 5) -> list[Deal]:
        wanted = " ".join(name.split()).casefold()
        if not wanted:
            return []
        body = {"filter": {"name": {"$contains": name.strip()}}, "sorts": self._SORTS}
        records = [r async for r in self._pages(body)]
        if not records:
            # Nothing contains the text: fall back to close spellings over the whole pipeline.
            records = [r async for r in self._pages({"sorts": self._SORTS})]
        by_id = {self._ref(r).id: r for r in records}
        ranked = rank_names(wanted, [(i, self._ref(r).name) for i, r in by_id.items()], limit)
        return [await self._deal(by_id[i]) for i in ranked]

    async def list_notes(self, deal_id: str) -> list[Note]:
        notes: list[Note] = []
        offset = 0
        while True:
            response = await self._call(
                "GET",
                "/v2/notes",
                params={
                    "parent_object": self._object,
                    "parent_record_id": deal_id,
                    "limit": self._note_page_size,
                    "offset": offset,
                },
            )
            if response.status_code == 404:
                raise DealNotFound(f"Attio deal {deal_id} not found (deleted or merged?)")
            page = self._json(response).get("data") or []
            for raw in page:
                created = _parse_time(raw.get("created_at"))
                if created is None:
                    continue
                actor = raw.get("created_by_actor") or {}
                notes.append(
                    Note(
                        id=str((raw.get("id") or {}).get("note_id", "")),
                        deal_id=deal_id,
                        author=str(actor.get("id") or ""),
                        created_at=created,
                        title=raw.get("title") or "",
                        text=raw.get("content_plaintext") or "",
                    )
                )
            if len(page) < self._note_page_size:
                break
            offset += len(page)
        if not notes:
            # An unknown parent may list as empty rather than 404; make a vanished deal visible.
            await self._record(deal_id)
        notes.sort(key=lambda n: (n.created_at, n.id))
        return notes

    # ---- CRMWriter --------------------------------------------------------------------------------

    async def create_field(self, spec: FieldSpec) -> bool:
        attrs = await self._load_attributes(fresh=True)
        existing = attrs.get(spec.name)
        if existing is None:
            existing = await self._create_attribute(spec)
            if existing is None:
                await self._add_options(spec.name, spec.options, ())
                self._attrs = None
                return True
        if existing.spec.type is not spec.type:
            raise FieldTypeConflict(
                f"Attio attribute '{spec.name}' on {self._object} is {existing.spec.type.value} "
                f"({existing.attio_type}{', multiselect' if existing.multi else ''}); Scout needs "
                f"{spec.type.value}. Rename or remove it in Attio, or map the concept to another field."
            )
        await self._add_options(spec.name, spec.options, existing.spec.options)
        self._attrs = None
        return False

    async def _create_attribute(self, spec: FieldSpec) -> _Attribute | None:
        """POST the attribute. None when created; the existing attribute when the slug was taken meanwhile."""
        attio_type, multi, config = _attio_type(spec.type)
        body = {
            "data": {
                "title": spec.label or spec.name,
                "description": f"Written by Scout ({spec.name}); a human promotes values to the rep's field.",
                "api_slug": spec.name,
                "type": attio_type,
                "is_required": False,
                "is_unique": False,
                "is_multiselect": multi,
                "config": config,
            }
        }
        response = await self._call("POST", f"/v2/objects/{self._object}/attributes", write=True, json=body)
        if response.status_code == 409:
            attrs = await self._load_attributes(fresh=True)
            if spec.name in attrs:
                return attrs[spec.name]
            raise CRMError(
                f"Attio refused to create '{spec.name}': the slug is taken, probably by an archived attribute. "
                "Unarchive or rename it in Attio, then run setup again."
            )
        self._json(response)
        return None

    async def _add_options(self, slug: str, wanted: tuple[str, ...], present: tuple[str, ...]) -> None:
        have = {o.casefold() for o in present}
        for title in wanted:
            if title.casefold() in have:
                continue
            response = await self._call(
                "POST",
                f"/v2/objects/{self._object}/attributes/{slug}/options",
                write=True,
                json={"data": {"title": title}},
            )
            if response.status_code != 409:  # 409: the option exists already
                self._json(response)
            have.add(title.casefold())

    async def set_field(self, deal_id: str, field: str, value: Any) -> None:
        await self.set_fields(deal_id, {field: value})

    async def set_fields(self, deal_id: str, values: Mapping[str, Any]) -> None:
        """All of the deal's fields in one request."""
        attrs = await self._load_attributes()
        encoded: dict[str, Any] = {}
        overwrite = False
        for field, value in values.items():
            attr = attrs.get(field) or (await self._load_attributes(fresh=True)).get(field)
            if attr is None:
                raise CRMError(f"Attio {self._object} has no attribute '{field}': run `scout setup` first")
            encoded[field] = _encode(attr, value)
            overwrite = overwrite or attr.spec.type is FieldType.MULTI_SELECT or value is None
        # PUT overwrites multiselect values (PATCH would append) and is how a value is cleared; either touches
        # only the attributes it names.
        response = await self._call("PUT" if overwrite else "PATCH", f"{self._records()}/{deal_id}", write=True,
                                    json={"data": {"values": encoded}})
        if response.status_code == 404:
            # Attio says not_found for a missing record and for some missing references alike: ask which.
            await self._record(deal_id)
        self._json(response)

    async def write_many(self, writes: Sequence[DealWrite]) -> list[WriteResult]:
        """Attio has no batch update: one request per deal, all of them in flight together (the write limiter
        paces them), each answered on its own."""

        async def one(w: DealWrite) -> WriteResult:
            try:
                await self.set_fields(w.deal_id, w.values)
            except DealNotFound as exc:
                return WriteResult(w.deal_id, False, str(exc), not_found=True)
            except (AuthError, CRMUnreachable, CRMRetriesSpent):
                raise  # the call failed, not this input
            except CRMError as exc:
                return WriteResult(w.deal_id, False, str(exc))
            return WriteResult(w.deal_id, True)

        return await _together([lambda w=w: one(w) for w in writes])  # type: ignore[misc]

    async def get_deals(self, deal_ids: Sequence[str]) -> dict[str, Deal]:
        """One read per deal, all in flight together: reads are not Attio's floor (writes are), and a records
        query by a list of record ids is not something its filtering guide documents."""
        return await self._each_present(self.get_deal, deal_ids)

    async def list_notes_many(self, deal_ids: Sequence[str]) -> dict[str, list[Note]]:
        """`GET /v2/notes` filters by one parent record at most (or lists every note of the object, which costs
        more than one request per deal once a pass is capped), so one list per deal, all in flight together."""
        return await self._each_present(self.list_notes, deal_ids)

    @staticmethod
    async def _each_present(read: Callable[[str], Awaitable[T]], deal_ids: Sequence[str]) -> dict[str, T]:
        """`read` for every deal at once; the deals that are gone are left out."""

        async def one(deal_id: str) -> T | None:
            try:
                return await read(deal_id)
            except DealNotFound:
                return None

        got = await _together([lambda d=d: one(d) for d in deal_ids])  # type: ignore[misc]
        return {d: value for d, value in zip(deal_ids, got) if value is not None}

    async def aclose(self) -> None:
        await self._client.aclose()


T = TypeVar("T")


async def _together(calls: Sequence[Callable[[], Awaitable[T]]]) -> list[T]:
    """Run the calls concurrently, answers in order; the first failure cancels the rest and is raised."""
    results: list[T | None] = [None] * len(calls)

    async def run(i: int) -> None:
        results[i] = await calls[i]()

    try:
        async with asyncio.TaskGroup() as group:
            for i in range(len(calls)):
                group.create_task(run(i))
    except BaseExceptionGroup as failed:
        raise failed.exceptions[0] from None
    return results  # type: ignore[return-value]


def _attio_type(field_type: FieldType) -> tuple[str, bool, dict[str, Any]]:
    match field_type:
        case FieldType.TEXT:
            return "text", False, {}
        case FieldType.NUMBER:
            return "number", False, {}
        case FieldType.DATE:
            return "date", False, {}
        case FieldType.SELECT:
            return "select", False, {}
        case FieldType.MULTI_SELECT:
            return "select", True, {}
        case FieldType.PERSON:
            return "record-reference", False, {"record_reference": {"allowed_objects": ["people"]}}
        case FieldType.RECORD:
            return "record-reference", False, {"record_reference": {"allowed_objects": ["companies"]}}
    raise ValueError(field_type)


def _encode(attr: _Attribute, value: Any) -> Any:
    """A decoded value in Attio's write format; [] clears."""
    if value is None:
        return []
    field_type = attr.spec.type
    if field_type is FieldType.MULTI_SELECT:
        items = [value] if isinstance(value, str) else list(value)
        return [str(v) for v in items if str(v).strip()]
    if field_type in (FieldType.PERSON, FieldType.RECORD):
        raise CRMError(
            f"Scout does not write links: '{attr.slug}' is an Attio {attr.attio_type}; map the concept to a text field"
        )
    if field_type is FieldType.NUMBER:
        number = float(value)
        return int(number) if number.is_integer() and attr.attio_type == "rating" else number
    if field_type is FieldType.DATE:
        return str(value)[:10]
    if attr.attio_type == "checkbox":
        return str(value).strip().casefold() in ("true", "yes", "1")
    return str(value)


__all__ = ["AttioCRM"]

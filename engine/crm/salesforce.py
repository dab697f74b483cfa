"""Salesforce CRM adapter (REST API, SOQL, sObject Collections, Tooling API) over httpx, async.

Deals are Opportunities (the field map's `object`). Reads are SOQL queries streamed page by page through
`nextRecordsUrl`; batched reads are `WHERE Id IN (...)`; batched writes are sObject Collections
(`PATCH /composite/sobjects`, 200 records, `allOrNone: false`). Notes are Tasks on the Opportunity
(`WhatId`, their `Description`), ContentNotes linked through `ContentDocumentLink` (HTML turned into text
with the HubSpot codec's `html_to_text`, so quotes verify the same way) and, if chosen, EmailMessages.

Every response's `Sforce-Limit-Info: api-usage=N/M` is read; once the day's use reaches the allocation less
the reserve (SALESFORCE_API_RESERVE per cent), the next call raises CRMBudgetSpent instead of being sent, and
the pass stops with the deals left for the next run. At most SALESFORCE_MAX_CONCURRENT requests are in flight.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import re
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, AsyncIterator, Callable, Mapping, Sequence

import httpx

from engine.crm.base import (AuthError, CRMBudgetSpent, CRMError, DealNotFound, DealWrite, FieldTypeConflict,
                             WriteResult)
from engine.crm.http import Sleep, backoff_seconds, request
from engine.crm.hubspot_codec import html_to_text
from engine.crm.matching import rank_names
from engine.crm.salesforce_auth import CREDENTIALS_ENV, SalesforceAuth, Session
from engine.crm.salesforce_codec import (
    FieldInfo, custom_field_definition, decode_value, developer_name, encode_value, error_codes, error_line,
    field_info, is_record_id, metadata_type, parse_datetime, soql_ids, soql_like, soql_string,
)
from engine.medic import FieldMap, is_scout_name
from engine.models import Deal, DealRef, FieldSpec, FieldType, Note

if TYPE_CHECKING:
    from engine.settings import Settings

log = logging.getLogger(__name__)

VENDOR = "Salesforce"
COLLECTION_SIZE = 200  # sObject Collections' maximum per request
IDS_PER_QUERY = 200  # keeps a `WHERE Id IN (...)` query well under the URI length limit
QUERY_BATCH = 2000  # records a query page returns (Sforce-Query-Options batchSize: 200 to 2,000)
MAX_EXTRA_FIELDS = 100  # custom fields read with each deal, beyond the field map's
NOTE_SOURCES = ("tasks", "content_notes", "emails")
LIMIT_RETRIES = 3  # REQUEST_LIMIT_EXCEEDED for concurrent long-running requests: wait and try again
_USAGE = re.compile(r"api-usage=(\d+)/(\d+)")
_ALWAYS = ("Id", "Name", "StageName", "CreatedDate", "LastModifiedDate")
_TOP_LEVEL = frozenset({"Id", "Name", "StageName", "CreatedDate", "LastModifiedDate", "attributes"})


class _InFlight:
    """A Limiter (engine.crm.http) that bounds requests in flight: Salesforce limits concurrent long-running
    requests, not a rate."""

    def __init__(self, places: int) -> None:
        self._places = asyncio.Semaphore(places)

    async def acquire(self) -> Callable[[], None]:
        await self._places.acquire()
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                self._places.release()

        return release


@dataclass
class ApiUsage:
    used: int | None = None
    limit: int | None = None

    def left(self) -> int | None:
        return None if self.used is None or self.limit is None else max(0, self.limit - self.used)


class SalesforceCRM:
    """Implements CRMWriter against a Salesforce org."""

    pages_in_flight = 2  # not measured deeper yet (its limit is a daily allocation, not a short window)

    def __init__(
        self,
        client: httpx.AsyncClient,
        auth: SalesforceAuth,
        field_map: FieldMap,
        *,
        api_version: str = "66.0",
        reserve_percent: int = 20,
        max_concurrent: int = 5,
        note_sources: Sequence[str] = ("tasks", "content_notes"),
        permission_set: str = "Scout_Integration",
        reviewer_profiles: Sequence[str] = (),
        sleep: Sleep = asyncio.sleep,
        max_retries: int = 5,
        query_batch: int = QUERY_BATCH,
        deal_url_template: str | None = None,
    ) -> None:
        unknown = [s for s in note_sources if s not in NOTE_SOURCES]
        if unknown:
            raise CRMError(f"SALESFORCE_NOTE_SOURCES: unknown source(s) {', '.join(unknown)}; "
                           f"the sources are {', '.join(NOTE_SOURCES)}")
        self._client = client
        self._auth = auth
        self._map = field_map
        self.sobject = "Opportunity" if field_map.object in ("deals", "") else field_map.object
        self.api_version = api_version
        self._data = f"/services/data/v{api_version}"
        self.reserve_percent = reserve_percent
        self._limiter = _InFlight(max_concurrent)
        self.note_sources = tuple(note_sources)
        self.permission_set = permission_set
        self.reviewer_profiles = tuple(p for p in reviewer_profiles if p)
        self._sleep = sleep
        self._max_retries = max_retries
        self.query_batch = max(200, min(query_batch, QUERY_BATCH))
        self._url_template = deal_url_template
        self.usage = ApiUsage()
        self._fields: dict[str, FieldInfo] | None = None
        self._fields_lock = asyncio.Lock()
        self._grant_lock = asyncio.Lock()
        self._permission_set_id: str | None = None
        self._reviewer_ids: list[str] | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> "SalesforceCRM":
        client = httpx.AsyncClient(timeout=httpx.Timeout(60.0))  # opens no connection until first used
        auth = SalesforceAuth.from_settings(settings, client)
        return cls(
            client, auth, settings.field_map, api_version=settings.salesforce_api_version,
            reserve_percent=settings.salesforce_api_reserve, max_concurrent=settings.salesforce_max_concurrent,
            note_sources=[s.strip() for s in settings.salesforce_note_sources.split(",") if s.strip()],
            permission_set=settings.salesforce_permission_set,
            reviewer_profiles=[p.strip() for p in settings.salesforce_reviewer_profiles.split(",") if p.strip()],
            deal_url_template=settings.deal_url_template,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    # -- HTTP ---------------------------------------------------------------------------------------------

    async def session(self) -> Session:
        return await self._auth.session()

    def _check_budget(self) -> None:
        left, limit = self.usage.left(), self.usage.limit
        if left is None or limit is None:
            return
        reserve = limit * self.reserve_percent // 100
        if left <= reserve:
            raise CRMBudgetSpent(
                f"Salesforce API allocation nearly spent: {self.usage.used} of {limit} calls used today, and "
                f"Scout leaves {self.reserve_percent}% ({reserve}) for other integrations "
                "(SALESFORCE_API_RESERVE); stopping here, the rest waits for the next run")

    def _read_usage(self, response: httpx.Response) -> None:
        found = _USAGE.search(response.headers.get("sforce-limit-info", ""))
        if found:
            self.usage = ApiUsage(int(found.group(1)), int(found.group(2)))

    async def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request on the instance, with a fresh session on INVALID_SESSION_ID and the allocation kept."""
        session = await self._auth.session()
        refreshed = limited = 0
        extra = kwargs.pop("headers", {})
        while True:
            if method != "PATCH":  # a deal already read finishes its writes; no new read starts
                self._check_budget()
            url = path if path.startswith("http") else session.instance_url + path
            headers = {"Authorization": f"Bearer {session.access_token}", "Accept": "application/json", **extra}
            response = await request(self._client, method, url, limiter=self._limiter, vendor=VENDOR,
                                     max_retries=self._max_retries, sleep=self._sleep, auth_statuses=(),
                                     headers=headers, **kwargs)
            self._read_usage(response)
            if response.status_code not in (401, 403):
                return response
            body = _json_or_none(response)
            codes = error_codes(body)
            if response.status_code == 401 and not refreshed:
                refreshed += 1  # the session expired or was revoked: one new token, then the same call
                session = await self._auth.refresh(session)
                continue
            if "REQUEST_LIMIT_EXCEEDED" in codes:
                line = error_line(body)
                if "TotalRequests" in line or "daily" in line.casefold():
                    raise CRMBudgetSpent(f"Salesforce refused the call: {line}; the org's daily API allocation "
                                         "is spent, the rest waits for the next run")
                if limited < LIMIT_RETRIES:  # too many concurrent long-running requests: they finish, retry
                    await self._sleep(backoff_seconds(limited + 2))
                    limited += 1
                    continue
                raise CRMError(f"Salesforce refused the call after {LIMIT_RETRIES} retries: {line}")
            why = error_line(body) or f"HTTP {response.status_code}"
            if response.status_code == 401:
                raise AuthError(f"Salesforce rejected the session from {CREDENTIALS_ENV} ({why}): check the "
                                "External Client App and its execution user")
            raise AuthError(f"Salesforce refused {method} {httpx.URL(url).path} ({why}): the integration user "
                            "lacks a permission; `scout check` lists what Scout needs")

    async def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self._call(method, path, **kwargs)
        if not response.is_success:
            raise self._error(response)
        return response.json() if response.content else None

    def _error(self, response: httpx.Response) -> CRMError:
        where = f"{response.request.method} {response.request.url.path}"
        line = error_line(_json_or_none(response)) or response.text[:200]
        return CRMError(f"Salesforce {response.status_code} on {where}: {line}")

    # -- SOQL ---------------------------------------------------------------------------------------------

    async def query(self, soql: str, *, tooling: bool = False) -> AsyncIterator[dict[str, Any]]:
        """Every record of a SOQL query, page by page (`nextRecordsUrl` until `done`), never all at once."""
        base = self._data + ("/tooling" if tooling else "")
        path: str | None = base + "/query"
        params: dict[str, str] | None = {"q": soql}
        while path:
            body = await self._json("GET", path, params=params,
                                    headers={"Sforce-Query-Options": f"batchSize={self.query_batch}"})
            for record in body.get("records") or []:
                yield record
            path = None if body.get("done", True) else body.get("nextRecordsUrl")
            params = None

    async def _records(self, soql: str, *, tooling: bool = False) -> list[dict[str, Any]]:
        return [r async for r in self.query(soql, tooling=tooling)]

    # -- describe -----------------------------------------------------------------------------------------

    async def describe(self, *, refresh: bool = False) -> dict[str, FieldInfo]:
        async with self._fields_lock:
            if self._fields is None or refresh:
                body = await self._json("GET", f"{self._data}/sobjects/{self.sobject}/describe")
                self._fields = {str(f["name"]): field_info(f) for f in body.get("fields") or [] if f.get("name")}
            return self._fields

    async def field_specs(self) -> dict[str, FieldSpec]:
        return {name: info.spec() for name, info in (await self.describe()).items()}

    async def _select(self) -> list[str]:
        """The fields read with each deal: the basics, the field map's (those visible), then custom fields;
        a reference also reads its record's Name, so owners and contacts show as names."""
        fields = await self.describe()
        wanted = list(_ALWAYS)
        for concept in self._map.concepts.values():
            wanted += [concept.rep.name, concept.scout.name]
        wanted += [n for n, f in fields.items() if f.custom][:MAX_EXTRA_FIELDS]
        out: dict[str, None] = {}
        for name in wanted:
            info = fields.get(name)
            if info is None and name not in _ALWAYS:
                continue
            out.setdefault(name, None)
            if info is not None and info.sf_type == "reference" and info.relationship:
                out.setdefault(f"{info.relationship}.Name", None)
        return list(out)

    async def _deal(self, record: dict[str, Any]) -> Deal:
        fields = await self.describe()
        values: dict[str, Any] = {}
        for name, raw in record.items():
            if name in _TOP_LEVEL or isinstance(raw, dict) and name not in fields:
                continue
            info = fields.get(name)
            related = record.get(info.relationship) if info is not None and info.relationship else None
            values[name] = decode_value(info, raw, related.get("Name") if isinstance(related, dict) else None)
        deal_id = str(record["Id"])
        stage = record.get("StageName")
        return Deal(id=deal_id, name=record.get("Name") or "", stage=stage if isinstance(stage, str) else None,
                    created_at=parse_datetime(record.get("CreatedDate")),
                    updated_at=parse_datetime(record.get("LastModifiedDate")),
                    url=await self._deal_url(deal_id), values=values)

    async def _deal_url(self, deal_id: str) -> str | None:
        if self._url_template:
            return self._url_template.replace("{id}", deal_id)
        session = await self._auth.session()
        return f"{session.instance_url}/lightning/r/{self.sobject}/{deal_id}/view"

    # -- reader -------------------------------------------------------------------------------------------

    async def iter_deal_refs(self) -> AsyncIterator[DealRef]:
        async for record in self.query(f"SELECT Id, Name FROM {self.sobject} ORDER BY Id"):
            yield DealRef(id=str(record["Id"]), name=record.get("Name") or "")

    async def count_deals(self) -> int:
        body = await self._json("GET", self._data + "/query", params={"q": f"SELECT COUNT() FROM {self.sobject}"})
        return int(body.get("totalSize") or 0)

    async def get_deals(self, deal_ids: Sequence[str]) -> dict[str, Deal]:
        ids = [i for i in dict.fromkeys(deal_ids) if is_record_id(i)]
        found: dict[str, Deal] = {}
        select = ", ".join(await self._select())
        for start in range(0, len(ids), IDS_PER_QUERY):
            chunk = ids[start:start + IDS_PER_QUERY]
            async for record in self.query(f"SELECT {select} FROM {self.sobject} WHERE Id IN {soql_ids(chunk)}"):
                deal = await self._deal(record)
                found[deal.id] = deal
        return {i: found[i] for i in deal_ids if i in found}

    async def get_deal(self, deal_id: str) -> Deal:
        deal = (await self.get_deals([deal_id])).get(deal_id)
        if deal is None:
            raise DealNotFound(f"Salesforce {self.sobject} {deal_id} not found (deleted or merged)")
        return deal

    async def find_deals(self, name: str, limit: int = 5) -> list[Deal]:
        wanted = " ".join(name.split()).casefold()
        if not wanted or limit < 1:
            return []
        tokens = sorted(set(re.findall(r"\w+", wanted)), key=len, reverse=True)[:3]
        select = ", ".join(await self._select())
        where = " OR ".join(f"Name LIKE {soql_like(t)}" for t in tokens)
        candidates = [await self._deal(r) async for r in self.query(
            f"SELECT {select} FROM {self.sobject} WHERE {where} LIMIT 200")] if tokens else []
        ranked = rank_names(wanted, [(d.id, d.name or "") for d in candidates], limit)
        by_id = {d.id: d for d in candidates}
        return [by_id[i] for i in ranked]

    async def first_filled(self, fields: Sequence[str]) -> tuple[str, str] | None:
        described = await self.describe()
        present = [f for f in fields if f in described]
        if not present:
            return None
        filterable = [f for f in present if described[f].filterable]
        # Long text areas cannot be filtered in SOQL: those are looked for page by page.
        others = [f for f in present if not described[f].filterable]
        if filterable:
            where = " OR ".join(f"{f} != null" for f in filterable)
            async for record in self.query(f"SELECT Id, {', '.join(filterable)} FROM {self.sobject} "
                                           f"WHERE {where} LIMIT 1"):
                return str(record["Id"]), next(f for f in filterable if record.get(f) not in (None, ""))
        if others:
            async for record in self.query(f"SELECT Id, {', '.join(others)} FROM {self.sobject}"):
                hit = next((f for f in others if record.get(f) not in (None, "")), None)
                if hit:
                    return str(record["Id"]), hit
        return None

    async def list_notes(self, deal_id: str) -> list[Note]:
        found = await self.list_notes_many([deal_id])
        if deal_id not in found:
            raise DealNotFound(f"Salesforce {self.sobject} {deal_id} not found (deleted or merged)")
        return found[deal_id]

    async def list_notes_many(self, deal_ids: Sequence[str]) -> dict[str, list[Note]]:
        ids = list(dict.fromkeys(i for i in deal_ids if is_record_id(i)))
        notes: dict[str, list[Note]] = {}
        for start in range(0, len(ids), IDS_PER_QUERY):
            chunk = ids[start:start + IDS_PER_QUERY]
            existing = [str(r["Id"]) async for r in self.query(
                f"SELECT Id FROM {self.sobject} WHERE Id IN {soql_ids(chunk)}")]
            for deal_id in existing:
                notes[deal_id] = []
            if not existing:
                continue
            if "tasks" in self.note_sources:
                await self._tasks(existing, notes)
            if "content_notes" in self.note_sources:
                await self._content_notes(existing, notes)
            if "emails" in self.note_sources:
                await self._emails(existing, notes)
        for found in notes.values():
            found.sort(key=lambda n: (n.created_at, n.id))
        return {i: notes[i] for i in deal_ids if i in notes}

    async def _tasks(self, ids: list[str], into: dict[str, list[Note]]) -> None:
        async for r in self.query("SELECT Id, WhatId, Subject, Description, CreatedDate, Owner.Name FROM Task "
                                  f"WHERE WhatId IN {soql_ids(ids)}"):
            created = parse_datetime(r.get("CreatedDate"))
            if r.get("Description") in (None, "") or created is None or r.get("WhatId") not in into:
                continue  # a to-do with no text is no note
            into[str(r["WhatId"])].append(Note(
                id=str(r["Id"]), deal_id=str(r["WhatId"]), author=_name(r.get("Owner")), created_at=created,
                title=r.get("Subject") or "", text=str(r["Description"])))

    async def _content_notes(self, ids: list[str], into: dict[str, list[Note]]) -> None:
        links: dict[str, list[str]] = {}
        async for link in self.query("SELECT ContentDocumentId, LinkedEntityId FROM ContentDocumentLink "
                                     f"WHERE LinkedEntityId IN {soql_ids(ids)}"):
            links.setdefault(str(link["ContentDocumentId"]), []).append(str(link["LinkedEntityId"]))
        docs = list(links)
        for start in range(0, len(docs), IDS_PER_QUERY):
            chunk = docs[start:start + IDS_PER_QUERY]
            # A linked file that is not a note is simply not a ContentNote: the query leaves it out.
            async for r in self.query("SELECT Id, Title, Content, CreatedDate, Owner.Name FROM ContentNote "
                                      f"WHERE Id IN {soql_ids(chunk)}"):
                created = parse_datetime(r.get("CreatedDate"))
                if created is None:
                    continue
                text = html_to_text(await self._note_html(r.get("Content")))
                for deal_id in links.get(str(r["Id"]), []):
                    into[deal_id].append(Note(id=str(r["Id"]), deal_id=deal_id, author=_name(r.get("Owner")),
                                              created_at=created, title=r.get("Title") or "", text=text))

    async def _note_html(self, content: Any) -> str:
        """ContentNote.Content: REST gives a blob URL to fetch (raw HTML bytes); a base64 string is decoded."""
        if not isinstance(content, str) or not content:
            return ""
        if content.startswith("/services/"):
            response = await self._call("GET", content)
            if not response.is_success:
                raise self._error(response)
            return response.content.decode("utf-8", "replace")
        try:
            return base64.b64decode(content, validate=True).decode("utf-8", "replace")
        except ValueError:
            return content

    async def _emails(self, ids: list[str], into: dict[str, list[Note]]) -> None:
        async for r in self.query("SELECT Id, RelatedToId, Subject, TextBody, MessageDate, CreatedDate, FromName "
                                  f"FROM EmailMessage WHERE RelatedToId IN {soql_ids(ids)}"):
            created = parse_datetime(r.get("MessageDate") or r.get("CreatedDate"))
            if created is None or r.get("RelatedToId") not in into or not r.get("TextBody"):
                continue
            into[str(r["RelatedToId"])].append(Note(
                id=str(r["Id"]), deal_id=str(r["RelatedToId"]), author=r.get("FromName") or "", created_at=created,
                title=r.get("Subject") or "", text=str(r["TextBody"])))

    # -- what `scout check` needs beyond the contract ----------------------------------------------------

    async def hidden_fields(self, names: Sequence[str]) -> dict[str, FieldType | None]:
        """Of `names`, absent from describe, those that exist all the same (Tooling sees every custom field):
        invisible to this user for want of field-level security. name -> its type (None if unknown)."""
        visible = await self.describe()
        out: dict[str, FieldType | None] = {}
        for name in names:
            if name in visible:
                continue
            existing = await self._custom_field(name)
            if existing is not None:
                out[name] = existing[1]
        return out

    async def limits(self) -> dict[str, Any]:
        return await self._json("GET", self._data + "/limits")

    async def versions(self) -> list[str]:
        body = await self._json("GET", "/services/data/")
        return [str(v.get("version")) for v in body or [] if isinstance(v, dict)]

    # -- writer -------------------------------------------------------------------------------------------

    async def _custom_field(self, name: str) -> tuple[str, FieldType | None] | None:
        """(Tooling CustomField Id, engine type) of `name` on this object, visible or not; None if absent."""
        table = soql_string(self.sobject)
        dev = soql_string(developer_name(name))
        rows = await self._records(f"SELECT Id, DeveloperName FROM CustomField WHERE TableEnumOrId = {table} "
                                   f"AND DeveloperName = {dev}", tooling=True)
        if not rows:
            return None
        field_id = str(rows[0]["Id"])
        # Metadata can be read only when a query returns a single record: ask for it by Id.
        detail = await self._records(f"SELECT Id, Metadata FROM CustomField WHERE Id = {soql_string(field_id)}",
                                     tooling=True)
        meta = (detail[0].get("Metadata") if detail else None) or {}
        return field_id, metadata_type(meta.get("type"), meta.get("referenceTo"))

    async def create_field(self, spec: FieldSpec) -> bool:
        if spec.type in (FieldType.PERSON, FieldType.RECORD):
            raise CRMError(f"Scout does not create {spec.type} fields ({spec.name})")
        await self._reviewer_sets()  # a mistyped reviewer profile stops setup before it changes anything
        visible = (await self.describe(refresh=True)).get(spec.name)
        if visible is not None:
            self._accept(spec, visible.field_type, f"{visible.sf_type}")
            have = {label.casefold() for label in visible.options.values()} | {v.casefold() for v in visible.options}
            missing = [o for o in spec.options if o.casefold() not in have]
            if missing and is_scout_name(spec.name):
                await self._add_options(spec.name, missing)
            await self.grant_access(spec.name)
            return False
        existing = await self._custom_field(spec.name)
        if existing is not None:  # there, but this user cannot see it: grant, do not create twice
            self._accept(spec, existing[1], str(existing[1]))
            await self.grant_access(spec.name)
            self._fields = None
            return False
        response = await self._call("POST", self._data + "/tooling/sobjects/CustomField",
                                    json=custom_field_definition(self.sobject, spec))
        if not response.is_success:
            raise self._error(response)
        await self.grant_access(spec.name)
        self._fields = None
        return True

    async def _add_options(self, name: str, labels: list[str]) -> None:
        """Append options to one of Scout's own picklists. Metadata is sent whole, so every existing value is
        sent back as it is (one left out would turn inactive)."""
        existing = await self._custom_field(name)
        if existing is None:
            raise CRMError(f"Salesforce field {self.sobject}.{name} is visible but has no CustomField row")
        rows = await self._records(f"SELECT Id, Metadata FROM CustomField WHERE Id = {soql_string(existing[0])}",
                                   tooling=True)
        meta = dict(rows[0].get("Metadata") or {})
        value_set = dict(meta.get("valueSet") or {})
        definition = dict(value_set.get("valueSetDefinition") or {})
        values = list(definition.get("value") or [])
        values += [{"fullName": label, "label": label, "default": False} for label in labels]
        meta["valueSet"] = {**value_set, "valueSetDefinition": {**definition, "value": values}}
        await self._json("PATCH", f"{self._data}/tooling/sobjects/CustomField/{existing[0]}", json={"Metadata": meta})
        self._fields = None

    def _accept(self, spec: FieldSpec, have: FieldType | None, shown: str) -> None:
        if have is not spec.type:
            raise FieldTypeConflict(
                f"Salesforce field {self.sobject}.{spec.name} exists as {shown} ({have}), not {spec.type}; Scout "
                "will not touch it. Rename or delete it in Setup > Object Manager, or map another scout field "
                "name in SCOUT_FIELD_MAP.")

    async def grant_access(self, field: str) -> None:
        """Field-level security: read/edit for Scout's permission set (assigned to the integration user), read
        for the reviewers' profiles. Each grant is looked up first, so running it twice changes nothing."""
        async with self._grant_lock:
            ps = await self._scout_permission_set()
            await self._field_permission(ps, field, edit=True)
            for reviewers in await self._reviewer_sets():
                await self._field_permission(reviewers, field, edit=False)

    async def _reviewer_sets(self) -> list[str]:
        """The reviewers' profiles as their own permission sets (IsOwnedByProfile): FieldPermissions hang off
        a PermissionSet, never a Profile, and this is how a profile's field-level security is set through the
        API. A name that matches no profile is refused before anything is created."""
        if self._reviewer_ids is None:
            found, unknown = await self.reviewer_permission_sets()
            if unknown:
                raise CRMError(f"SALESFORCE_REVIEWER_PROFILES: no profile named {', '.join(repr(u) for u in unknown)} "
                               "in this org (Setup > Profiles shows the exact names); nothing was created")
            self._reviewer_ids = list(dict.fromkeys(found.values()))
        return self._reviewer_ids

    async def reviewer_permission_sets(self) -> tuple[dict[str, str], list[str]]:
        """(profile name -> its own PermissionSet Id, the configured names that match no profile)."""
        found: dict[str, str] = {}
        if self.reviewer_profiles:
            names = ", ".join(soql_string(p) for p in self.reviewer_profiles)
            for row in await self._records("SELECT Id, Profile.Name FROM PermissionSet WHERE IsOwnedByProfile = "
                                           f"true AND Profile.Name IN ({names})"):
                found[_name(row.get("Profile")).casefold()] = str(row["Id"])
        return found, [p for p in self.reviewer_profiles if p.casefold() not in found]

    async def _scout_permission_set(self) -> str:
        if self._permission_set_id is None:
            rows = await self._records(f"SELECT Id FROM PermissionSet WHERE Name = {soql_string(self.permission_set)}")
            if rows:
                ps = str(rows[0]["Id"])
            else:
                created = await self._json("POST", self._data + "/sobjects/PermissionSet", json={
                    "Name": self.permission_set, "Label": self.permission_set.replace("_", " "),
                    "Description": "Scout's own fields: read and edit for the integration user"})
                ps = str(created["id"])
            user = (await self._auth.session()).user_id
            if user:
                assigned = await self._records(
                    "SELECT Id FROM PermissionSetAssignment WHERE PermissionSetId = "
                    f"{soql_string(ps)} AND AssigneeId = {soql_string(user)}")
                if not assigned:
                    await self._json("POST", self._data + "/sobjects/PermissionSetAssignment",
                                     json={"PermissionSetId": ps, "AssigneeId": user})
            self._permission_set_id = ps
        return self._permission_set_id

    async def _field_permission(self, parent: str, field: str, *, edit: bool) -> None:
        qualified = f"{self.sobject}.{field}"
        rows = await self._records(
            "SELECT Id, PermissionsRead, PermissionsEdit FROM FieldPermissions WHERE ParentId = "
            f"{soql_string(parent)} AND SobjectType = {soql_string(self.sobject)} AND Field = {soql_string(qualified)}")
        if rows:
            row = rows[0]
            if row.get("PermissionsRead") and (row.get("PermissionsEdit") or not edit):
                return
            await self._json("PATCH", f"{self._data}/sobjects/FieldPermissions/{row['Id']}",
                             json={"PermissionsRead": True, "PermissionsEdit": edit or bool(row.get("PermissionsEdit"))})
            return
        await self._json("POST", self._data + "/sobjects/FieldPermissions", json={
            "ParentId": parent, "SobjectType": self.sobject, "Field": qualified,
            "PermissionsRead": True, "PermissionsEdit": edit})

    async def _encode(self, values: Mapping[str, Any]) -> dict[str, Any]:
        fields = await self.describe()
        out: dict[str, Any] = {}
        for name, value in values.items():
            info = fields.get(name) or (await self.describe(refresh=True)).get(name)
            if info is None:
                raise CRMError(f"Salesforce field {self.sobject}.{name} does not exist or is not visible to the "
                               "integration user: run `scout check`")
            try:
                if info.field_type is FieldType.PERSON and value is not None and not is_record_id(str(value)):
                    out[name] = await self._person_id(info, str(value))
                else:
                    out[name] = encode_value(info, value)
            except (TypeError, ValueError) as exc:
                raise CRMError(f"value {value!r} does not fit Salesforce field {name} ({info.sf_type}): {exc}") from exc
        return out

    async def _person_id(self, info: FieldInfo, name: str) -> str:
        for target in info.reference_to:
            rows = await self._records(f"SELECT Id FROM {target} WHERE Name = {soql_string(name)} LIMIT 2")
            if len(rows) == 1:
                return str(rows[0]["Id"])
        raise CRMError(f"no single {' or '.join(info.reference_to)} named '{name}' for {info.name}")

    async def set_field(self, deal_id: str, field: str, value: Any) -> None:
        await self.set_fields(deal_id, {field: value})

    async def set_fields(self, deal_id: str, values: Mapping[str, Any]) -> None:
        if not is_record_id(deal_id):
            raise DealNotFound(f"Salesforce {self.sobject} {deal_id} not found (not a record Id)")
        body = await self._encode(values)
        response = await self._call("PATCH", f"{self._data}/sobjects/{self.sobject}/{deal_id}", json=body)
        if response.status_code == 404 or error_codes(_json_or_none(response)) & {"ENTITY_IS_DELETED", "NOT_FOUND"}:
            raise DealNotFound(f"Salesforce {self.sobject} {deal_id} not found (deleted or merged)")
        if not response.is_success:
            raise self._error(response)

    async def write_many(self, writes: Sequence[DealWrite]) -> list[WriteResult]:
        results: dict[int, WriteResult] = {}
        ready: list[tuple[int, dict[str, Any]]] = []
        for i, w in enumerate(writes):
            try:
                encoded = await self._encode(w.values)
            except CRMError as exc:
                results[i] = WriteResult(w.deal_id, False, str(exc))
                continue
            if not is_record_id(w.deal_id):
                results[i] = WriteResult(w.deal_id, False, "not a Salesforce record Id", not_found=True)
                continue
            ready.append((i, {"attributes": {"type": self.sobject}, "id": w.deal_id, **encoded}))
        for start in range(0, len(ready), COLLECTION_SIZE):
            chunk = ready[start:start + COLLECTION_SIZE]
            answer = await self._json("PATCH", self._data + "/composite/sobjects",
                                      json={"allOrNone": False, "records": [r for _, r in chunk]})
            if not isinstance(answer, list) or len(answer) != len(chunk):
                raise CRMError(f"Salesforce answered {len(answer) if isinstance(answer, list) else 'no list'} "
                               f"results for {len(chunk)} records on PATCH /composite/sobjects")
            for (i, _), saved in zip(chunk, answer):  # results come back in the order the records were sent
                deal_id = writes[i].deal_id
                if saved.get("success"):
                    results[i] = WriteResult(deal_id, True)
                else:
                    errors = saved.get("errors") or []
                    gone = bool(error_codes(errors) & {"ENTITY_IS_DELETED", "NOT_FOUND"})
                    results[i] = WriteResult(deal_id, False, error_line(errors) or "rejected", not_found=gone)
        return [results[i] for i in range(len(writes))]


def _name(related: Any) -> str:
    return str(related.get("Name") or "") if isinstance(related, dict) else ""


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None

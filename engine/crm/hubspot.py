"""HubSpot CRM adapter (CRM API v3, associations v4) over httpx, async, within the private app's budget.

Every call goes through one client-side sliding-window limiter sized to the account tier
(`HUBSPOT_RATE_PER_10S`: 100 on Free/Starter, 190 on Professional/Enterprise) and, for the search endpoint,
a second one (HubSpot limits search separately, to a few requests a second). 429 and 5xx are retried by
`engine.crm.http.request`, honouring Retry-After.

Note bodies (`hs_note_body`) arrive as HTML and are turned into plain text here, before any extractor or
citation check sees them.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from typing import TYPE_CHECKING, Any, AsyncIterator, Callable, Mapping, Sequence
from urllib.parse import quote

import httpx

from engine.crm.base import AuthError, CRMError, DealNotFound, DealWrite, FieldTypeConflict, TokenMissing, WriteResult
from engine.crm.hubspot_codec import (
    OWNER_PROPERTY,
    PropertyInfo,
    decode_value,
    encode_value,
    html_to_text,
    option_definitions,
    parse_timestamp,
    property_definition,
    property_info,
)
from engine.crm.matching import rank_names
from engine.crm.http import Clock, RateLimiter, Sleep, error_for, request
from engine.medic import FieldMap, is_scout_name
from engine.models import Deal, DealRef, FieldSpec, FieldType, Note

if TYPE_CHECKING:
    from engine.settings import Settings

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.hubapi.com"
VENDOR = "HubSpot"
REQUIRED_SCOPES = (
    "crm.objects.deals.read",
    "crm.objects.deals.write",
    "crm.schemas.deals.read",
    "crm.schemas.deals.write",
    "crm.objects.contacts.read",
)
_SCOPE_HINT = (
    "the private app needs the scopes " + ", ".join(REQUIRED_SCOPES[:-1])
    + " and crm.objects.contacts.read (HubSpot files notes under it); crm.objects.owners.read is optional"
    " (owner names)"
)
AUTH_MESSAGE = "HubSpot rejected HUBSPOT_TOKEN ({status}): check the token, and note that " + _SCOPE_HINT + "."
MISSING_TOKEN = (
    "HUBSPOT_TOKEN is not set: create a private app in HubSpot (Settings > Integrations > Private apps), "
    "give it the scopes " + ", ".join(REQUIRED_SCOPES) + ", and export its access token as HUBSPOT_TOKEN."
)

SCOUT_GROUP = "scout"
FALLBACK_GROUP = "dealinformation"
PAGE_SIZE = 100  # the list endpoint's maximum (also the search page Scout asks for)
BATCH_SIZE = 100  # batch read maximum
ASSOCIATION_PAGE = 500  # the associations endpoint's maximum
ASSOCIATION_BATCH = 1000  # associations v4 batch read: ids per request (developer changelog, Feb 2025)
SEARCH_PER_SECOND = 4  # HubSpot allows 5 search requests a second per token; keep one in hand
MAX_SEARCH_TOKENS = 3
MAX_EXTRA_PROPERTIES = 100  # custom properties fetched with each deal, beyond the field map's

# Properties that become Deal attributes rather than entries in Deal.values.
_DEAL_NAME = "dealname"
_DEAL_STAGE = "dealstage"
_CREATED = "createdate"
_MODIFIED = "hs_lastmodifieddate"
_TOP_LEVEL = frozenset({_DEAL_NAME, _DEAL_STAGE, _CREATED, _MODIFIED, "hs_object_id"})
_ALWAYS = (_DEAL_NAME, _DEAL_STAGE, _CREATED, _MODIFIED, OWNER_PROPERTY, "amount", "closedate")
NOTE_PROPERTIES = ["hs_note_body", "hs_timestamp", OWNER_PROPERTY]


class _Both:
    """Acquire the search limiter, then the account-wide one: a search counts against both budgets."""

    def __init__(self, first: RateLimiter, second: RateLimiter) -> None:
        self._first = first
        self._second = second

    async def acquire(self) -> Callable[[], None]:
        release_first = await self._first.acquire()
        release_second = await self._second.acquire()

        def release() -> None:
            release_first()
            release_second()

        return release


def _after(body: dict[str, Any]) -> str | None:
    after = ((body.get("paging") or {}).get("next") or {}).get("after")
    return str(after) if after not in (None, "") else None




class HubSpotCRM:
    """Implements CRMWriter against a HubSpot account. `client` carries the base URL and the Bearer token."""

    # A page of 100 deals is about five batch requests: a twentieth of a 10-second window at 190/10 s, less
    # than one round trip. Eight pages each way keep the budget, not the latency, the bound up to ~1 s RTT.
    pages_in_flight = 8

    def __init__(
        self,
        client: httpx.AsyncClient,
        field_map: FieldMap,
        *,
        requests_per_10s: int = 100,
        sleep: Sleep = asyncio.sleep,
        clock: Clock = time.monotonic,
        deal_url_template: str | None = None,
        max_retries: int = 5,
        page_size: int = PAGE_SIZE,
        note_page_size: int = ASSOCIATION_PAGE,
    ) -> None:
        self._client = client
        self.requests_per_10s = requests_per_10s
        self.page_size = max(1, min(page_size, PAGE_SIZE))
        self.note_page_size = max(1, min(note_page_size, ASSOCIATION_PAGE))
        self._field_map = field_map
        self._sleep = sleep
        self._max_retries = max_retries
        self._limiter = RateLimiter(requests_per_10s, 10.0, clock=clock, sleep=sleep)
        self._search_limiter = _Both(RateLimiter(SEARCH_PER_SECOND, 1.0, clock=clock, sleep=sleep), self._limiter)
        self._url_template = deal_url_template
        self._props: dict[str, PropertyInfo] | None = None
        self._owners: dict[str, str] | None = None
        self._account: tuple[str, str] | None = None  # (portal id, UI domain)
        self._account_looked_up = False
        # Lazy lookups are shared by concurrent deal reads: one fetch each, the others wait for it.
        self._props_lock = asyncio.Lock()
        self._owners_lock = asyncio.Lock()
        self._account_lock = asyncio.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> "HubSpotCRM":
        token = settings.hubspot_token.get_secret_value() if settings.hubspot_token else ""
        if not token.strip():
            raise TokenMissing(MISSING_TOKEN)
        client = httpx.AsyncClient(
            base_url=settings.crm_base_url or DEFAULT_BASE_URL,
            headers={"Authorization": f"Bearer {token.strip()}", "Accept": "application/json"},
            timeout=httpx.Timeout(30.0),
        )
        return cls(
            client,
            settings.field_map,
            requests_per_10s=settings.hubspot_requests_per_10s,
            deal_url_template=settings.deal_url_template,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    # -- HTTP ---------------------------------------------------------------------------------------------

    async def _call(self, method: str, path: str, *, search: bool = False, **kwargs: Any) -> httpx.Response:
        return await request(
            self._client,
            method,
            path,
            limiter=self._search_limiter if search else self._limiter,
            max_retries=self._max_retries,
            vendor=VENDOR,
            auth_message=AUTH_MESSAGE,
            sleep=self._sleep,
            **kwargs,
        )

    async def _json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = await self._call(method, path, **kwargs)
        if not response.is_success:
            raise error_for(response, VENDOR)
        return response.json()

    # -- properties ---------------------------------------------------------------------------------------

    async def _properties(self, *, refresh: bool = False) -> dict[str, PropertyInfo]:
        async with self._props_lock:
            if self._props is None or refresh:
                body = await self._json("GET", "/crm/v3/properties/deals")
                self._props = {str(p["name"]): property_info(p) for p in body.get("results") or [] if p.get("name")}
            return self._props

    async def field_specs(self) -> dict[str, FieldSpec]:
        return {name: info.spec() for name, info in (await self._properties()).items()}

    async def _deal_properties(self) -> list[str]:
        """What to ask for with each deal: the field map's fields, the basics, then custom properties."""
        props = await self._properties()
        wanted: list[str] = list(_ALWAYS)
        for concept in self._field_map.concepts.values():
            wanted += [concept.rep.name, concept.scout.name]
        extras = [name for name, info in props.items() if not info.hubspot_defined]
        wanted += extras[:MAX_EXTRA_PROPERTIES]
        seen: dict[str, None] = {}
        for name in wanted:
            if name in props or name in _ALWAYS:
                seen.setdefault(name, None)
        return list(seen)

    # -- owners and account (optional lookups: a missing scope degrades names and links, nothing else) -----

    async def _owner_names(self) -> dict[str, str]:
        async with self._owners_lock:
            return await self._load_owners()

    async def _load_owners(self) -> dict[str, str]:
        if self._owners is None:
            owners: dict[str, str] = {}
            after: str | None = None
            try:
                while True:
                    params: dict[str, Any] = {"limit": 100}
                    if after:
                        params["after"] = after
                    body = await self._json("GET", "/crm/v3/owners", params=params)
                    for owner in body.get("results") or []:
                        name = " ".join(filter(None, [owner.get("firstName"), owner.get("lastName")])).strip()
                        owners[str(owner.get("id"))] = name or str(owner.get("email") or owner.get("id"))
                    after = _after(body)
                    if not after:
                        break
            except CRMError as exc:
                log.warning("HubSpot owners unavailable (%s); owner ids are shown instead of names", exc)
            self._owners = owners
        return self._owners

    async def _owner_name(self, owner_id: str) -> str:
        return (await self._owner_names()).get(owner_id, owner_id)

    async def _owner_id(self, name_or_id: str) -> str:
        text = name_or_id.strip()
        if text.isdigit():
            return text
        matches = [oid for oid, name in (await self._owner_names()).items() if name.casefold() == text.casefold()]
        if len(matches) != 1:
            raise CRMError(f"no single HubSpot owner named '{text}'")
        return matches[0]

    async def _account_info(self) -> tuple[str, str] | None:
        async with self._account_lock:
            return await self._load_account()

    async def _load_account(self) -> tuple[str, str] | None:
        if not self._account_looked_up:
            self._account_looked_up = True
            try:
                body = await self._json("GET", "/account-info/v3/details")
                portal = body.get("portalId")
                if portal is not None:
                    self._account = (str(portal), str(body.get("uiDomain") or "app.hubspot.com"))
            except CRMError as exc:
                log.warning("HubSpot account details unavailable (%s); deal links need SCOUT_DEAL_URL", exc)
        return self._account

    async def _deal_url(self, deal_id: str) -> str | None:
        if self._url_template:
            account = await self._account_info() if "{portal}" in self._url_template else None
            return self._url_template.replace("{id}", deal_id).replace("{portal}", account[0] if account else "")
        account = await self._account_info()
        if account is None:
            return None
        portal, domain = account
        return f"https://{domain}/contacts/{portal}/deal/{deal_id}"

    # -- decoding -----------------------------------------------------------------------------------------

    async def _decode(self, info: PropertyInfo | None, raw: Any) -> Any:
        value = decode_value(info, raw)
        if info is not None and info.field_type is FieldType.PERSON and isinstance(value, str) and value == str(raw):
            value = await self._owner_name(value)
        return value

    async def _deal(self, obj: dict[str, Any]) -> Deal:
        props = await self._properties()
        raw = obj.get("properties") or {}
        deal_id = str(obj.get("id") or raw.get("hs_object_id"))
        values = {
            name: await self._decode(props.get(name), value) for name, value in raw.items() if name not in _TOP_LEVEL
        }
        stage = await self._decode(props.get(_DEAL_STAGE), raw.get(_DEAL_STAGE))
        return Deal(
            id=deal_id,
            name=raw.get(_DEAL_NAME) or "",
            stage=stage if isinstance(stage, str) else None,
            created_at=parse_timestamp(raw.get(_CREATED) or obj.get("createdAt")),
            updated_at=parse_timestamp(raw.get(_MODIFIED) or obj.get("updatedAt")),
            url=await self._deal_url(deal_id),
            values=values,
        )

    # -- reader -------------------------------------------------------------------------------------------

    async def iter_deal_refs(self) -> AsyncIterator[DealRef]:
        """Every deal through the list endpoint's `after` cursor (search stops at 10,000 results)."""
        after: str | None = None
        while True:
            params: dict[str, Any] = {"limit": self.page_size, "properties": _DEAL_NAME, "archived": "false"}
            if after:
                params["after"] = after
            body = await self._json("GET", "/crm/v3/objects/deals", params=params)
            for obj in body.get("results") or []:
                yield DealRef(id=str(obj["id"]), name=(obj.get("properties") or {}).get(_DEAL_NAME) or "")
            after = _after(body)
            if not after:
                return

    async def count_deals(self) -> int:
        try:
            body = await self._json(
                "POST", "/crm/v3/objects/deals/search", search=True,
                json={"filterGroups": [], "properties": [_DEAL_NAME], "limit": 1},
            )
            total = body.get("total")
            if isinstance(total, int):
                return total
        except AuthError:
            raise
        except CRMError as exc:
            log.warning("HubSpot search unavailable for the deal count (%s); counting pages instead", exc)
        count = 0
        async for _ in self.iter_deal_refs():
            count += 1
        return count

    async def get_deal(self, deal_id: str) -> Deal:
        params = {"properties": ",".join(await self._deal_properties()), "archived": "false"}
        response = await self._call("GET", f"/crm/v3/objects/deals/{quote(deal_id, safe='')}", params=params)
        if response.status_code == 404:
            raise DealNotFound(f"HubSpot deal {deal_id} not found (deleted or merged)")
        if not response.is_success:
            raise error_for(response, VENDOR)
        return await self._deal(response.json())

    async def find_deals(self, name: str, limit: int = 5) -> list[Deal]:
        wanted = " ".join(name.split()).casefold()
        if not wanted or limit < 1:
            return []
        candidates = await self._search_by_name(wanted)
        if candidates:
            by_id = {d.id: d for d in candidates}
            hits = rank_names(wanted, [(d.id, d.name or "") for d in candidates], limit)
            if hits:
                return [by_id[i] for i in hits]
        # Search missed (or is unavailable, or has not indexed a new deal yet): page through every name.
        ranked = rank_names(wanted, [(ref.id, ref.name) async for ref in self.iter_deal_refs()], limit)
        deals: list[Deal] = []
        for deal_id in ranked:
            try:
                deals.append(await self.get_deal(deal_id))
            except DealNotFound:
                continue
        return deals

    async def first_filled(self, fields: Sequence[str]) -> tuple[str, str] | None:
        # HAS_PROPERTY is "holds a value"; groups are ORed, and a search takes at most 5 of them.
        for start in range(0, len(fields), 5):
            chunk = list(fields[start:start + 5])
            body = {"filterGroups": [{"filters": [{"propertyName": f, "operator": "HAS_PROPERTY"}]} for f in chunk],
                    "properties": chunk, "limit": 1}
            found = (await self._json("POST", "/crm/v3/objects/deals/search", search=True, json=body)).get("results")
            if found:
                props = found[0].get("properties") or {}
                return str(found[0]["id"]), next((f for f in chunk if props.get(f) not in (None, "")), chunk[0])
        return None

    async def _search_by_name(self, wanted: str) -> list[Deal]:
        tokens = sorted(set(re.findall(r"\w+", wanted)), key=len, reverse=True)[:MAX_SEARCH_TOKENS]
        if not tokens:
            return []
        body = {
            # One group per token: groups are ORed, so a name sharing any long word is a candidate.
            "filterGroups": [
                {"filters": [{"propertyName": _DEAL_NAME, "operator": "CONTAINS_TOKEN", "value": f"*{t}*"}]}
                for t in tokens
            ],
            "properties": await self._deal_properties(),
            "limit": PAGE_SIZE,
        }
        try:
            result = await self._json("POST", "/crm/v3/objects/deals/search", search=True, json=body)
        except AuthError:
            raise
        except CRMError as exc:
            log.warning("HubSpot search failed (%s); falling back to paging deal names", exc)
            return []
        return [await self._deal(obj) for obj in result.get("results") or []]

    async def list_notes(self, deal_id: str) -> list[Note]:
        note_ids = await self._note_ids(deal_id)
        if not note_ids:
            await self.get_deal(deal_id)  # no notes, or no deal: only the latter is an error
            return []
        notes: list[Note] = []
        for start in range(0, len(note_ids), BATCH_SIZE):
            chunk = note_ids[start : start + BATCH_SIZE]
            body = await self._json(
                "POST", "/crm/v3/objects/notes/batch/read",
                json={"properties": NOTE_PROPERTIES, "inputs": [{"id": i} for i in chunk]},
            )
            # 207 Multi-Status lists notes deleted since the association was read under "errors": skip them.
            for obj in body.get("results") or []:
                note = await self._note(deal_id, obj)
                if note is not None:
                    notes.append(note)
        notes.sort(key=lambda n: (n.created_at, n.id))
        return notes

    async def get_deals(self, deal_ids: Sequence[str]) -> dict[str, Deal]:
        """Batch read, 100 a request. An id that is gone comes back under `errors` (207), absent here; so does a
        merged one (HubSpot answers with the deal it was merged into)."""
        wanted = list(dict.fromkeys(deal_ids))
        found: dict[str, Deal] = {}
        properties = await self._deal_properties()
        for start in range(0, len(wanted), BATCH_SIZE):
            chunk = wanted[start:start + BATCH_SIZE]
            body = await self._json("POST", "/crm/v3/objects/deals/batch/read", params={"archived": "false"},
                                    json={"properties": properties, "inputs": [{"id": i} for i in chunk]})
            for obj in body.get("results") or []:
                deal = await self._deal(obj)
                if deal.id in chunk:
                    found[deal.id] = deal
        return {i: found[i] for i in deal_ids if i in found}

    async def list_notes_many(self, deal_ids: Sequence[str]) -> dict[str, list[Note]]:
        """Associations batch read (1,000 deals a request, each deal's list paged by its own `after`), then the
        notes by batch read, 100 a request. A deal with no notes is checked to exist, so a vanished one is absent."""
        wanted = list(dict.fromkeys(deal_ids))
        note_ids: dict[str, list[str]] = {}
        todo: list[dict[str, str]] = [{"id": i} for i in wanted]
        while todo:
            chunk, todo = todo[:ASSOCIATION_BATCH], todo[ASSOCIATION_BATCH:]
            body = await self._json("POST", "/crm/v4/associations/deals/notes/batch/read", json={"inputs": chunk})
            for result in body.get("results") or []:
                deal_id = str((result.get("from") or {}).get("id"))
                ids = note_ids.setdefault(deal_id, [])
                for assoc in result.get("to") or []:
                    note_id = str(assoc.get("toObjectId"))
                    if note_id not in ids:
                        ids.append(note_id)
                after = _after(result)
                if after:
                    todo.append({"id": deal_id, "after": after})
        bare = [i for i in wanted if not note_ids.get(i)]
        existing = set(await self.get_deals(bare)) if bare else set()
        owner: dict[str, str] = {n: d for d, ns in note_ids.items() for n in ns}
        notes: dict[str, list[Note]] = {i: [] for i in wanted if note_ids.get(i) or i in existing}
        every = list(owner)
        for start in range(0, len(every), BATCH_SIZE):
            body = await self._json(
                "POST", "/crm/v3/objects/notes/batch/read",
                json={"properties": NOTE_PROPERTIES, "inputs": [{"id": i} for i in every[start:start + BATCH_SIZE]]},
            )
            # 207 Multi-Status lists notes deleted since the association was read under "errors": skip them.
            for obj in body.get("results") or []:
                parent = owner.get(str(obj.get("id")))
                if parent is not None and parent in notes:
                    note = await self._note(parent, obj)
                    if note is not None:
                        notes[parent].append(note)
        for found in notes.values():
            found.sort(key=lambda n: (n.created_at, n.id))
        return {i: notes[i] for i in deal_ids if i in notes}

    async def _note_ids(self, deal_id: str) -> list[str]:
        ids: list[str] = []
        after: str | None = None
        path = f"/crm/v4/objects/deals/{quote(deal_id, safe='')}/associations/notes"
        while True:
            params: dict[str, Any] = {"limit": self.note_page_size}
            if after:
                params["after"] = after
            response = await self._call("GET", path, params=params)
            if response.status_code == 404:
                raise DealNotFound(f"HubSpot deal {deal_id} not found (deleted or merged)")
            if not response.is_success:
                raise error_for(response, VENDOR)
            body = response.json()
            for assoc in body.get("results") or []:
                note_id = str(assoc.get("toObjectId"))
                if note_id not in ids:
                    ids.append(note_id)
            after = _after(body)
            if not after:
                return ids

    async def _note(self, deal_id: str, obj: dict[str, Any]) -> Note | None:
        props = obj.get("properties") or {}
        # An empty body (an attachment-only note) stays in the list: the deal's notes are reported as they are.
        text = html_to_text(props.get("hs_note_body"))
        created = parse_timestamp(props.get("hs_timestamp")) or parse_timestamp(obj.get("createdAt"))
        if created is None:
            return None
        owner = props.get(OWNER_PROPERTY)
        author = await self._owner_name(str(owner)) if owner not in (None, "") else ""
        return Note(id=str(obj["id"]), deal_id=deal_id, author=author, created_at=created, text=text)

    # -- writer -------------------------------------------------------------------------------------------

    async def create_field(self, spec: FieldSpec) -> bool:
        if spec.type in (FieldType.PERSON, FieldType.RECORD):
            raise CRMError(f"Scout does not create {spec.type} properties ({spec.name})")
        existing = (await self._properties(refresh=True)).get(spec.name)
        if existing is not None:
            await self._accept_existing(existing, spec)
            return False
        group = await self._ensure_group()
        response = await self._call("POST", "/crm/v3/properties/deals", json=property_definition(spec, group))
        if response.status_code == 409:  # created meanwhile (another process): judge what is there now
            existing = (await self._properties(refresh=True)).get(spec.name)
            if existing is None:
                raise error_for(response, VENDOR)
            await self._accept_existing(existing, spec)
            return False
        if not response.is_success:
            raise error_for(response, VENDOR)
        self._props = None
        return True

    async def _accept_existing(self, existing: PropertyInfo, spec: FieldSpec) -> None:
        if existing.field_type is not spec.type:
            raise FieldTypeConflict(
                f"HubSpot deal property {spec.name} exists as {existing.hs_type}/{existing.field_type_hs} "
                f"({existing.field_type}), not {spec.type}; Scout will not touch it. Rename or delete it in "
                "HubSpot, or map another scout field name in SCOUT_FIELD_MAP."
            )
        missing = [o for o in spec.options if o.casefold() not in {v.casefold() for v in existing.options.values()}]
        if missing and is_scout_name(spec.name):
            await self._add_options(spec.name, missing)

    async def _add_options(self, name: str, labels: list[str]) -> None:
        """Append options to one of Scout's own enumerations, keeping every existing option (hidden ones too)."""
        path = f"/crm/v3/properties/deals/{quote(name, safe='')}"
        current = await self._json("GET", path)
        options = list(current.get("options") or [])
        for extra in option_definitions(labels):
            extra["displayOrder"] = len(options)
            options.append(extra)
        await self._json("PATCH", path, json={"options": options})
        self._props = None

    async def _ensure_group(self) -> str:
        response = await self._call("GET", f"/crm/v3/properties/deals/groups/{SCOUT_GROUP}")
        if response.is_success:
            return SCOUT_GROUP
        if response.status_code == 404:
            created = await self._call(
                "POST", "/crm/v3/properties/deals/groups",
                json={"name": SCOUT_GROUP, "label": "Scout suggestions", "displayOrder": -1},
            )
            if created.is_success or created.status_code == 409:
                return SCOUT_GROUP
            response = created
        log.warning("HubSpot property group '%s' unavailable (%s); using '%s'", SCOUT_GROUP,
                    error_for(response, VENDOR), FALLBACK_GROUP)
        return FALLBACK_GROUP

    async def _encode_values(self, values: Mapping[str, Any]) -> dict[str, Any]:
        encoded: dict[str, Any] = {}
        for field, value in values.items():
            info = (await self._properties()).get(field) or (await self._properties(refresh=True)).get(field)
            if info is None:
                raise CRMError(f"HubSpot deal property {field} does not exist: run `scout setup --apply`")
            try:
                if info.field_type is FieldType.PERSON and value is not None and not info.options:
                    encoded[field] = await self._owner_id(str(value))
                else:
                    encoded[field] = encode_value(info, value)
            except (TypeError, ValueError) as exc:
                raise CRMError(f"value {value!r} does not fit HubSpot property {field} ({info.hs_type}): {exc}") from exc
        return encoded

    async def set_field(self, deal_id: str, field: str, value: Any) -> None:
        await self.set_fields(deal_id, {field: value})

    async def set_fields(self, deal_id: str, values: Mapping[str, Any]) -> None:
        await self._patch(deal_id, await self._encode_values(values))

    async def _patch(self, deal_id: str, encoded: dict[str, Any]) -> None:
        response = await self._call(
            "PATCH", f"/crm/v3/objects/deals/{quote(deal_id, safe='')}", json={"properties": encoded}
        )
        if response.status_code == 404:
            raise DealNotFound(f"HubSpot deal {deal_id} not found (deleted or merged)")
        if not response.is_success:
            raise error_for(response, VENDOR)

    async def write_many(self, writes: Sequence[DealWrite]) -> list[WriteResult]:
        """Batch update, 100 deals a request. HubSpot answers 200 when every input landed and 207 Multi-Status
        when some did not, naming them under `errors` (context.ids). A request it refuses as a whole (400: one
        input's value does not validate) is split into one PATCH per deal, so each input gets its own answer."""
        results: dict[int, WriteResult] = {}
        ready: list[tuple[int, DealWrite, dict[str, Any]]] = []
        for n, w in enumerate(writes):
            try:
                ready.append((n, w, await self._encode_values(w.values)))
            except CRMError as exc:
                results[n] = WriteResult(w.deal_id, False, str(exc))
        for start in range(0, len(ready), BATCH_SIZE):
            results.update(await self._update_batch(ready[start:start + BATCH_SIZE]))
        return [results[n] for n in range(len(writes))]

    async def _update_batch(self, chunk: list[tuple[int, DealWrite, dict[str, Any]]]) -> dict[int, WriteResult]:
        inputs = [{"id": w.deal_id, "properties": encoded} for _, w, encoded in chunk]
        response = await self._call("POST", "/crm/v3/objects/deals/batch/update", json={"inputs": inputs})
        if response.status_code in (400, 404) and len(chunk) > 1:
            return {n: await self._one(w, encoded) for n, w, encoded in chunk}
        if not response.is_success:
            error = error_for(response, VENDOR)
            if len(chunk) == 1 and response.status_code in (400, 404):
                _, w, _ = chunk[0]
                return {chunk[0][0]: WriteResult(w.deal_id, False, str(error), not_found=response.status_code == 404)}
            raise error
        body = response.json() if response.content else {}
        done = {str(r.get("id")) for r in body.get("results") or []}
        refused: dict[str, tuple[str, bool]] = {}
        for err in body.get("errors") or []:
            ids = [str(i) for i in ((err.get("context") or {}).get("ids") or [])]
            if err.get("id"):
                ids.append(str(err["id"]))
            why = f"{VENDOR} refused the write: {err.get('message') or err.get('category') or 'error'}"
            for i in ids:
                refused[i] = (why, err.get("category") == "OBJECT_NOT_FOUND")
        out: dict[int, WriteResult] = {}
        for n, w, _ in chunk:
            if w.deal_id in refused:
                why, gone = refused[w.deal_id]
                out[n] = WriteResult(w.deal_id, False, why, not_found=gone)
            elif w.deal_id in done or response.status_code == 200:
                out[n] = WriteResult(w.deal_id, True)
            else:  # a 207 that names this input nowhere: not confirmed, so not counted as written
                out[n] = WriteResult(w.deal_id, False, f"{VENDOR} did not confirm this write (207 without it)")
        return out

    async def _one(self, w: DealWrite, encoded: dict[str, Any]) -> WriteResult:
        """One input on its own; an answer about this input is its result, a failure of the call itself raises."""
        response = await self._call(
            "PATCH", f"/crm/v3/objects/deals/{quote(w.deal_id, safe='')}", json={"properties": encoded})
        if response.status_code == 404:
            return WriteResult(w.deal_id, False, f"HubSpot deal {w.deal_id} not found (deleted or merged)",
                               not_found=True)
        if 400 <= response.status_code < 500:
            return WriteResult(w.deal_id, False, str(error_for(response, VENDOR)))
        if not response.is_success:
            raise error_for(response, VENDOR)
        return WriteResult(w.deal_id, True)

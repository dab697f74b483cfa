"""A stateful stand-in for the HubSpot CRM API endpoints Scout uses, as an `httpx.MockTransport` handler.

Shapes follow HubSpot's documentation for CRM API v3 / associations v4: `results` lists with
`paging.next.after` cursors, search with `total` (and its 10,000-result ceiling), property values as
strings with `null` for unset, enumeration options with distinct internal values and labels, date
properties as epoch-millisecond strings, note bodies as HTML, owners, property groups, and HubSpot's
error bodies (`status`, `message`, `category`, `correlationId`).

It enforces what a real account would: the Bearer token (401), the private app's scopes (403
MISSING_SCOPES), the rolling 10-second budget (429 with Retry-After in seconds) and the search endpoint's
own per-second limit. Faults can be injected (the next N requests to a path answer 429/500) and deals
deleted behind the adapter's back.
"""

from __future__ import annotations

import asyncio
import fnmatch
import html
import json
import math
import re
import time
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import date, datetime, timezone
from html.entities import codepoint2name
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import httpx

from engine.models import FieldType, WorkspaceData

if TYPE_CHECKING:
    from tests.standins.contract import ContractEnv

TOKEN = "pat-na1-standin-token"
PORTAL_ID = 4242
BASE_URL = "https://api.hubapi.com"
ALL_SCOPES = frozenset(
    {
        "crm.objects.deals.read",
        "crm.objects.deals.write",
        "crm.schemas.deals.read",
        "crm.schemas.deals.write",
        "crm.objects.contacts.read",
        "crm.objects.owners.read",
    }
)
SEARCH_CEILING = 10_000
TOKEN_INFO_PATH = "/oauth/v2/private-apps/get/access-token-info"
DEFAULT_DEAL_PROPERTIES = (
    "amount", "closedate", "createdate", "dealname", "dealstage", "hs_lastmodifieddate", "hs_object_id", "pipeline",
)
STAGES = {
    "appointmentscheduled": "Appointment Scheduled",
    "qualifiedtobuy": "Qualified To Buy",
    "presentationscheduled": "Presentation Scheduled",
    "decisionmakerboughtin": "Decision Maker Bought-In",
    "contractsent": "Contract Sent",
    "closedwon": "Closed Won",
    "closedlost": "Closed Lost",
}
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_PAIRS = {
    ("string", "text"), ("string", "textarea"), ("string", "html"), ("string", "phonenumber"),
    ("number", "number"), ("date", "date"), ("datetime", "date"), ("enumeration", "select"),
    ("enumeration", "radio"), ("enumeration", "checkbox"), ("enumeration", "booleancheckbox"),
    ("bool", "booleancheckbox"),
}


def _iso_ms(when: datetime) -> str:
    """HubSpot's datetime format: UTC with milliseconds and a Z."""
    when = when.astimezone(timezone.utc) if when.tzinfo else when.replace(tzinfo=timezone.utc)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


def _date_ms(day: date) -> str:
    return str(int(datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp() * 1000))


def _slug(label: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", label.casefold()).strip("_") or "option"


def note_html(text: str) -> str:
    """A plain-text note as HubSpot's editor stores it: a <p> per line, <p><br></p> for a blank line,
    HTML-escaped, non-ASCII characters as entities."""

    def entities(line: str) -> str:
        out = []
        for ch in html.escape(line, quote=True):
            if ord(ch) < 128:
                out.append(ch)
            elif ord(ch) in codepoint2name:
                out.append(f"&{codepoint2name[ord(ch)]};")
            else:
                out.append(f"&#{ord(ch)};")
        return "".join(out)

    paragraphs = [f"<p>{entities(line)}</p>" if line.strip() else "<p><br></p>" for line in text.split("\n")]
    return '<div style="" dir="auto" data-top-level="true">' + "".join(paragraphs) + "</div>"


def _tokens(text: str) -> list[str]:
    return [t for t in re.split(r"[^\w]+", text.casefold()) if t]


def _sort_key(object_id: str) -> tuple[int, int, str]:
    return (0, int(object_id), "") if object_id.isdigit() else (1, 0, object_id)


@dataclass
class _Fault:
    status: int
    remaining: int
    retry_after: float | None


class HubSpotStandIn:
    """One HubSpot account in memory. Use `transport()` (or `client()`) to talk to it."""

    def __init__(
        self,
        *,
        token: str = TOKEN,
        requests_per_10s: int = 100,
        search_per_second: int = 5,
        clock: Callable[[], float] = time.monotonic,
        scopes: frozenset[str] = ALL_SCOPES,
        search_index_lag: float = 0.0,
        token_info: bool = True,
    ) -> None:
        self.token = token
        self.requests_per_10s = requests_per_10s
        self.search_per_second = search_per_second
        self.clock = clock
        self.scopes = set(scopes)
        self.search_index_lag = search_index_lag
        self.token_info = token_info  # False: the token-info endpoint answers 404 (as if unavailable)

        self.properties: dict[str, dict[str, Any]] = {}
        self.groups: dict[str, dict[str, Any]] = {}
        self.deals: dict[str, dict[str, Any]] = {}
        self.notes: dict[str, dict[str, Any]] = {}
        self.associations: dict[str, list[str]] = {}  # deal id -> note ids, in association order
        self.owners: dict[str, dict[str, Any]] = {}

        self.requests: list[str] = []  # "METHOD /path" of every request received
        self.queries: list[httpx.QueryParams] = []  # the query string of each, same order
        self.throttled = 0  # 429s because the 10-second budget (or the search limit) was spent
        self.injected = 0  # 429/5xx answered from fail_next
        self._window: deque[float] = deque()
        self._search_window: deque[float] = deque()
        self._faults: list[tuple[tuple[str, ...], _Fault]] = []
        self._next_id = 9_000_000_001
        self._install_defaults()

    # -- setup --------------------------------------------------------------------------------------------

    def transport(self) -> httpx.MockTransport:
        async def over_the_network(request: httpx.Request) -> httpx.Response:
            await asyncio.sleep(0)  # a real round trip yields, so concurrent callers interleave
            return self.handler(request)

        return httpx.MockTransport(over_the_network)

    def client(self, token: str | None = None) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=BASE_URL,
            transport=self.transport(),
            headers={"Authorization": f"Bearer {self.token if token is None else token}"},
        )

    def _new_id(self) -> str:
        self._next_id += 1
        return str(self._next_id)

    def _install_defaults(self) -> None:
        for name, label in (("dealinformation", "Deal information"), ("deal_activity", "Deal activity")):
            self.groups[name] = {"name": name, "label": label, "displayOrder": 0, "archived": False}

        def builtin(name: str, label: str, hs_type: str, field_type: str, **extra: Any) -> None:
            self.properties[name] = self._definition(
                {"name": name, "label": label, "type": hs_type, "fieldType": field_type,
                 "groupName": "dealinformation", **extra},
                hubspot_defined=True,
            )

        builtin("dealname", "Deal Name", "string", "text")
        builtin("amount", "Amount", "number", "number")
        builtin("closedate", "Close Date", "datetime", "date")
        builtin("createdate", "Create Date", "datetime", "date", modificationMetadata={"readOnlyValue": True})
        builtin("hs_lastmodifieddate", "Last Modified Date", "datetime", "date",
                modificationMetadata={"readOnlyValue": True})
        builtin("hs_object_id", "Record ID", "number", "number", modificationMetadata={"readOnlyValue": True})
        builtin("pipeline", "Pipeline", "enumeration", "select", options=[self._option("default", "Sales Pipeline", 0)])
        builtin("dealstage", "Deal Stage", "enumeration", "radio",
                options=[self._option(v, label, i) for i, (v, label) in enumerate(STAGES.items())])
        builtin("hubspot_owner_id", "Deal owner", "enumeration", "select", referencedObjectType="OWNER",
                externalOptions=True, options=[])

    @staticmethod
    def _option(value: str, label: str, order: int, hidden: bool = False) -> dict[str, Any]:
        return {"label": label, "value": value, "displayOrder": order, "hidden": hidden}

    def _definition(self, body: dict[str, Any], *, hubspot_defined: bool = False) -> dict[str, Any]:
        now = _iso_ms(datetime.now(timezone.utc))
        definition = {
            "updatedAt": now, "createdAt": now, "name": body["name"], "label": body.get("label") or body["name"],
            "type": body["type"], "fieldType": body["fieldType"], "description": body.get("description", ""),
            "groupName": body.get("groupName", "dealinformation"), "options": list(body.get("options") or []),
            "displayOrder": body.get("displayOrder", -1), "calculated": False, "externalOptions": False,
            "hasUniqueValue": False, "hidden": False, "hubspotDefined": hubspot_defined,
            "modificationMetadata": {"archivable": not hubspot_defined, "readOnlyDefinition": hubspot_defined,
                                     "readOnlyValue": False},
            "formField": True, "archived": False,
        }
        for key in ("referencedObjectType", "externalOptions", "modificationMetadata"):
            if key in body:
                definition[key] = body[key] if key != "modificationMetadata" else {
                    **definition["modificationMetadata"], **body[key]}
        return definition

    def add_owner(self, name: str, email: str = "") -> str:
        for owner_id, owner in self.owners.items():
            if f"{owner['firstName']} {owner['lastName']}".strip().casefold() == name.strip().casefold():
                return owner_id
        owner_id = str(100 + len(self.owners) + 1)
        first, _, last = name.strip().partition(" ")
        now = _iso_ms(datetime.now(timezone.utc))
        self.owners[owner_id] = {
            "id": owner_id, "email": email or f"{_slug(name)}@example.com", "type": "PERSON", "firstName": first,
            "lastName": last, "userId": int(owner_id) * 7, "createdAt": now, "updatedAt": now, "archived": False,
        }
        return owner_id

    def add_property(self, name: str, field_type: FieldType, label: str = "", options: tuple[str, ...] = (),
                     group: str = "dealinformation") -> None:
        """A rep-owned custom property, as an admin would create it in HubSpot's settings."""
        if field_type is FieldType.PERSON:
            body: dict[str, Any] = {"type": "enumeration", "fieldType": "select", "referencedObjectType": "OWNER",
                                    "externalOptions": True}
        elif field_type in (FieldType.SELECT, FieldType.MULTI_SELECT):
            multi = field_type is FieldType.MULTI_SELECT
            body = {"type": "enumeration", "fieldType": "checkbox" if multi else "select",
                    # Internal values differ from labels, as they do for properties made in HubSpot's UI.
                    "options": [self._option(_slug(o), o, i) for i, o in enumerate(options)]}
        else:
            body = {FieldType.TEXT: {"type": "string", "fieldType": "textarea"},
                    FieldType.NUMBER: {"type": "number", "fieldType": "number"},
                    FieldType.DATE: {"type": "date", "fieldType": "date"},
                    # HubSpot has no record-link property; a loaded record field is carried as its name.
                    FieldType.RECORD: {"type": "string", "fieldType": "text"}}[field_type]
        self.properties[name] = self._definition({"name": name, "label": label or name, "groupName": group, **body})

    def encode(self, name: str, value: Any) -> str | None:
        """A decoded value in this account's encoding (what HubSpot would store for it)."""
        if value is None:
            return None
        prop = self.properties[name]
        if prop.get("referencedObjectType") == "OWNER":
            return self.add_owner(str(value))
        if prop["type"] == "number":
            number = float(value)
            return str(int(number)) if number.is_integer() else str(number)
        if prop["type"] == "date":
            return _date_ms(date.fromisoformat(str(value)[:10]))
        if prop["type"] == "datetime":
            return _iso_ms(datetime.fromisoformat(str(value)) if "T" in str(value)
                           else datetime.fromisoformat(str(value)[:10] + "T00:00:00+00:00"))
        if prop["type"] == "enumeration":
            by_label = {o["label"].casefold(): o["value"] for o in prop["options"]}
            items = value if isinstance(value, list) else [value]
            return ";".join(by_label.get(str(v).casefold(), str(v)) for v in items)
        return str(value)

    def add_deal(self, name: str, values: dict[str, Any] | None = None, *, stage: str | None = None,
                 created_at: datetime | None = None, deal_id: str | None = None) -> str:
        deal_id = deal_id or self._new_id()
        created = created_at or datetime.now(timezone.utc)
        props: dict[str, Any] = {"dealname": name, "pipeline": "default", "hs_object_id": deal_id,
                                 "createdate": _iso_ms(created), "hs_lastmodifieddate": _iso_ms(created)}
        if stage is not None:
            options = self.properties["dealstage"]["options"]
            match = next((o for o in options if stage.casefold() in (o["label"].casefold(), o["value"])), None)
            if match is None:
                match = self._option(_slug(stage), stage, len(options))
                options.append(match)
            props["dealstage"] = match["value"]
        for field, value in (values or {}).items():
            encoded = self.encode(field, value)
            if encoded is not None:
                props[field] = encoded
        self.deals[deal_id] = {"id": deal_id, "properties": props, "createdAt": _iso_ms(created),
                               "updatedAt": _iso_ms(created), "archived": False,
                               "_indexed_at": self.clock() + self.search_index_lag}
        self.associations.setdefault(deal_id, [])
        return deal_id

    def add_note(self, deal_id: str, body_html: str, *, created_at: datetime, author: str = "",
                 note_id: str | None = None) -> str:
        note_id = note_id or self._new_id()
        props: dict[str, Any] = {"hs_note_body": body_html, "hs_timestamp": _iso_ms(created_at),
                                 "hs_object_id": note_id, "hs_createdate": _iso_ms(created_at),
                                 "hs_lastmodifieddate": _iso_ms(created_at)}
        if author:
            props["hubspot_owner_id"] = self.add_owner(author)
        self.notes[note_id] = {"id": note_id, "properties": props, "createdAt": _iso_ms(created_at),
                               "updatedAt": _iso_ms(created_at), "archived": False}
        self.associations.setdefault(deal_id, []).append(note_id)
        return note_id

    def load(self, data: WorkspaceData) -> dict[str, str]:
        """Load a decoded pipeline; returns WorkspaceData deal id -> HubSpot deal id (HubSpot picks ids)."""
        for person in data.people:
            self.add_owner(person.name, person.email)
        for spec in data.fields:
            if spec.name in ("stage", "dealstage"):
                continue  # the deal's stage is HubSpot's built-in dealstage
            if spec.name not in self.properties:
                self.add_property(spec.name, spec.type, spec.label, spec.options)
        ids: dict[str, str] = {}
        for deal in data.deals:
            values = {k: v for k, v in deal.values.items() if k not in ("stage", "dealstage")}
            stage = deal.stage or deal.values.get("stage")
            ids[deal.id] = self.add_deal(deal.name, values, stage=stage, created_at=deal.created_at)
        # Associate notes in insertion order, not time order: the adapter must sort.
        for note in data.notes:
            if note.deal_id in ids:
                self.add_note(ids[note.deal_id], note_html(note.text), created_at=note.created_at,
                              author=note.author)
        return ids

    # -- behaviour hooks ----------------------------------------------------------------------------------

    def fail_next(self, paths: str | tuple[str, ...], status: int, times: int = 1,
                  retry_after: float | None = None) -> None:
        """The next `times` requests whose "METHOD /path" matches one of `paths` (fnmatch patterns, e.g.
        "GET /crm/v3/objects/deals/*") get `status`; a 429 carries Retry-After seconds when given."""
        patterns = (paths,) if isinstance(paths, str) else tuple(paths)
        self._faults.append((patterns, _Fault(status, times, retry_after)))

    def delete_deal(self, deal_id: str) -> None:
        self.deals.pop(deal_id, None)
        self.associations.pop(deal_id, None)

    def reject_token(self) -> None:
        self.token = "revoked-" + uuid.uuid4().hex

    @property
    def refusals(self) -> int:
        return self.throttled + self.injected

    # -- HTTP ---------------------------------------------------------------------------------------------

    def handler(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        where = f"{request.method} {path}"
        self.requests.append(where)
        self.queries.append(request.url.params)
        if where == f"POST {TOKEN_INFO_PATH}":
            return self._access_token_info(request)
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return _error(401, "Authentication credentials not found. This API supports OAuth 2.0 authentication "
                               "and you can find more details at https://developers.hubspot.com/docs/methods/auth/"
                               "oauth-overview", "INVALID_AUTHENTICATION")
        limited = self._rate_limit(path, request.method)
        if limited is not None:
            return limited
        for patterns, fault in self._faults:
            if fault.remaining > 0 and any(fnmatch.fnmatchcase(where, p) for p in patterns):
                fault.remaining -= 1
                self.injected += 1
                headers = {"Retry-After": _seconds(fault.retry_after)} if fault.retry_after is not None else {}
                if fault.status == 429:
                    return _error(429, "You have reached your ten_secondly_rolling limit.", None, headers=headers,
                                  extra={"errorType": "RATE_LIMIT", "policyName": "TEN_SECONDLY_ROLLING"})
                return _error(fault.status, "internal error", "INTERNAL_ERROR", headers=headers)
        body: Any = None
        if request.content:
            try:
                body = json.loads(request.content)
            except ValueError:
                return _error(400, "Invalid input JSON", "VALIDATION_ERROR")
        try:
            return self._route(request, path, body)
        except _Refused as refused:
            return refused.response

    def _access_token_info(self, request: httpx.Request) -> httpx.Response:
        """POST /oauth/v2/private-apps/get/access-token-info: the private app token named in the body
        (`tokenKey`), with its account and scopes. It needs no scope, and a token it does not know is a 401."""
        if not self.token_info:
            return _error(404, f"Unknown endpoint POST {TOKEN_INFO_PATH}", "OBJECT_NOT_FOUND")
        try:
            key = (json.loads(request.content or b"{}") or {}).get("tokenKey")
        except (ValueError, AttributeError):
            return _error(400, "Invalid input JSON", "VALIDATION_ERROR")
        if key != self.token:
            return _error(401, "The access token is invalid or has been revoked.", "INVALID_AUTHENTICATION")
        return _json(200, {"userId": 7_000_001, "hubId": PORTAL_ID, "appId": 3_000_001,
                           "scopes": sorted(self.scopes)})

    def _rate_limit(self, path: str, method: str) -> httpx.Response | None:
        now = self.clock()
        while self._window and self._window[0] <= now - 10.0:
            self._window.popleft()
        if len(self._window) >= self.requests_per_10s:
            self.throttled += 1
            wait = max(1, math.ceil(self._window[0] + 10.0 - now))
            return _error(
                429, "You have reached your ten_secondly_rolling limit.", None,
                headers={"Retry-After": str(wait), "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
                         "X-HubSpot-RateLimit-Max": str(self.requests_per_10s), "X-HubSpot-RateLimit-Remaining": "0"},
                extra={"errorType": "RATE_LIMIT", "policyName": "TEN_SECONDLY_ROLLING"},
            )
        if method == "POST" and path.endswith("/search"):
            while self._search_window and self._search_window[0] <= now - 1.0:
                self._search_window.popleft()
            if len(self._search_window) >= self.search_per_second:
                self.throttled += 1
                return _error(429, "You have reached your secondly limit.", None, headers={"Retry-After": "1"},
                              extra={"errorType": "RATE_LIMIT", "policyName": "SECONDLY"})
            self._search_window.append(now)
        self._window.append(now)
        return None

    def _need(self, scope: str) -> None:
        if scope not in self.scopes:
            raise _Refused(_error(
                403, "This app hasn't been granted all required scopes to make this call. Read more about required "
                     "scopes here: https://developers.hubspot.com/scopes.", "MISSING_SCOPES",
                extra={"errors": [{"message": "One or more of the following scopes are required.",
                                   "context": {"requiredGranularScopes": [scope]}}]},
            ))

    def _route(self, request: httpx.Request, path: str, body: Any) -> httpx.Response:
        method = request.method
        params = request.url.params
        parts = [p for p in path.split("/") if p]
        if path == "/account-info/v3/details" and method == "GET":
            return _json(200, {"portalId": PORTAL_ID, "accountType": "STANDARD", "timeZone": "US/Eastern",
                               "companyCurrency": "USD", "additionalCurrencies": [], "utcOffset": "-05:00",
                               "utcOffsetMilliseconds": -18000000, "uiDomain": "app.hubspot.com",
                               "dataHostingLocation": "na1"})
        if path == "/crm/v3/owners" and method == "GET":
            self._need("crm.objects.owners.read")
            return self._page(list(self.owners.values()), params, max_limit=500)
        if parts[:4] == ["crm", "v3", "objects", "deals"]:
            return self._deals(method, parts[4:], params, body)
        if parts[:4] == ["crm", "v3", "properties", "deals"]:
            return self._properties(method, parts[4:], body)
        if path == "/crm/v3/objects/notes/batch/read" and method == "POST":
            self._need("crm.objects.contacts.read")
            return self._batch_read_notes(body or {})
        if path == "/crm/v4/associations/deals/notes/batch/read" and method == "POST":
            self._need("crm.objects.deals.read")
            return self._batch_read_associations(body or {})
        if len(parts) == 7 and parts[:4] == ["crm", "v4", "objects", "deals"] and parts[5:] == [
            "associations", "notes"
        ]:
            self._need("crm.objects.deals.read")
            return self._note_associations(parts[4], params)
        return _error(404, f"Unknown endpoint {method} {path}", "OBJECT_NOT_FOUND")

    # -- deals --------------------------------------------------------------------------------------------

    def _view(self, obj: dict[str, Any], requested: list[str] | None, defaults: tuple[str, ...]) -> dict[str, Any]:
        names = requested if requested else list(defaults)
        stored = obj["properties"]
        props = {n: stored.get(n) for n in names if n in self.properties or n in stored}
        for always in ("createdate", "hs_lastmodifieddate", "hs_object_id"):
            if always in stored:
                props[always] = stored[always]
        return {"id": obj["id"], "properties": props, "createdAt": obj["createdAt"], "updatedAt": obj["updatedAt"],
                "archived": False}

    @staticmethod
    def _requested(params: httpx.QueryParams) -> list[str] | None:
        names = [n for raw in params.get_list("properties") for n in raw.split(",") if n]
        return names or None

    def _deals(self, method: str, rest: list[str], params: httpx.QueryParams, body: Any) -> httpx.Response:
        if not rest and method == "GET":
            self._need("crm.objects.deals.read")
            limit = min(int(params.get("limit", 10)), 100)
            ordered = sorted(self.deals, key=_sort_key)
            after = params.get("after")
            start = 0
            if after:
                start = next((i for i, d in enumerate(ordered) if _sort_key(d) >= _sort_key(after)), len(ordered))
            chunk = ordered[start : start + limit]
            out: dict[str, Any] = {"results": [self._view(self.deals[d], self._requested(params),
                                                          DEFAULT_DEAL_PROPERTIES) for d in chunk]}
            if start + limit < len(ordered):
                nxt = ordered[start + limit]
                out["paging"] = {"next": {"after": nxt, "link": f"{BASE_URL}/crm/v3/objects/deals?after={nxt}"}}
            return _json(200, out)
        if rest == ["batch", "read"] and method == "POST":
            self._need("crm.objects.deals.read")
            return self._batch_read_deals(body or {})
        if rest == ["batch", "update"] and method == "POST":
            self._need("crm.objects.deals.write")
            return self._batch_update_deals(body or {})
        if rest == ["search"] and method == "POST":
            self._need("crm.objects.deals.read")
            return self._search(body or {})
        if len(rest) == 1 and method == "GET":
            self._need("crm.objects.deals.read")
            deal = self.deals.get(rest[0])
            if deal is None:
                return _error(404, "resource not found", "OBJECT_NOT_FOUND")
            return _json(200, self._view(deal, self._requested(params), DEFAULT_DEAL_PROPERTIES))
        if len(rest) == 1 and method == "PATCH":
            self._need("crm.objects.deals.write")
            deal = self.deals.get(rest[0])
            if deal is None:
                return _error(404, "resource not found", "OBJECT_NOT_FOUND")
            updates = (body or {}).get("properties")
            if not isinstance(updates, dict):
                return _error(400, "Invalid input JSON: properties is required", "VALIDATION_ERROR")
            problems: list[dict[str, Any]] = []
            stored = self._validated(updates, problems)
            if problems:
                return _error(400, "Property values were not valid: " + json.dumps(problems), "VALIDATION_ERROR")
            now = _iso_ms(datetime.now(timezone.utc))
            deal["properties"].update(stored)
            deal["properties"]["hs_lastmodifieddate"] = now
            deal["updatedAt"] = now
            return _json(200, self._view(deal, list(updates), DEFAULT_DEAL_PROPERTIES))
        return _error(405, f"{method} not allowed here", "VALIDATION_ERROR")

    def _validated(self, updates: dict[str, Any], problems: list[dict[str, Any]]) -> dict[str, str]:
        """The values as HubSpot stores them; each one that does not validate is added to `problems`."""
        stored = {}
        for name, value in updates.items():
            problem, encoded = self._validate(name, value)
            if problem:
                problems.append(problem)
            else:
                stored[name] = encoded
        return stored

    @staticmethod
    def _batch(results: list[dict[str, Any]], errors: list[dict[str, Any]]) -> httpx.Response:
        """HubSpot's batch answer: 200 when every input succeeded, 207 Multi-Status with `errors` otherwise."""
        now = _iso_ms(datetime.now(timezone.utc))
        out: dict[str, Any] = {"status": "COMPLETE", "results": results, "startedAt": now, "completedAt": now}
        if errors:
            out["numErrors"] = len(errors)
            out["errors"] = errors
            return _json(207, out)
        return _json(200, out)

    @staticmethod
    def _not_found(kind: str, ids: list[str]) -> dict[str, Any]:
        return {"status": "error", "category": "OBJECT_NOT_FOUND", "context": {"ids": ids},
                "message": f"Could not get some {kind} objects, they may be deleted or not exist. "
                           "Check that ids are valid."}

    def _batch_read_deals(self, body: dict[str, Any]) -> httpx.Response:
        inputs = body.get("inputs") or []
        if len(inputs) > 100:
            return _error(400, "Batch read is limited to 100 inputs", "VALIDATION_ERROR")
        results, missing = [], []
        for item in inputs:
            deal = self.deals.get(str(item.get("id")))
            if deal is None:
                missing.append(str(item.get("id")))
            else:
                results.append(self._view(deal, body.get("properties"), DEFAULT_DEAL_PROPERTIES))
        return self._batch(results, [self._not_found("DEAL", missing)] if missing else [])

    def _batch_update_deals(self, body: dict[str, Any]) -> httpx.Response:
        """Every input's values are validated first: one that does not validate refuses the whole request (400),
        nothing written. An id that does not exist is reported under `errors` (207); the others are written."""
        inputs = body.get("inputs") or []
        if len(inputs) > 100:
            return _error(400, "Batch update is limited to 100 inputs", "VALIDATION_ERROR")
        problems: list[dict[str, Any]] = []
        staged = []
        for item in inputs:
            updates = item.get("properties")
            if not isinstance(updates, dict) or item.get("id") in (None, ""):
                return _error(400, "Invalid input JSON: each input needs an id and properties", "VALIDATION_ERROR")
            stored = self._validated(updates, problems)
            staged.append((str(item["id"]), stored, list(updates)))
        if problems:
            return _error(400, "Property values were not valid: " + json.dumps(problems), "VALIDATION_ERROR")
        results, missing = [], []
        now = _iso_ms(datetime.now(timezone.utc))
        for deal_id, stored, names in staged:
            deal = self.deals.get(deal_id)
            if deal is None:
                missing.append(deal_id)
                continue
            deal["properties"].update(stored)
            deal["properties"]["hs_lastmodifieddate"] = now
            deal["updatedAt"] = now
            results.append(self._view(deal, names, DEFAULT_DEAL_PROPERTIES))
        return self._batch(results, [self._not_found("DEAL", missing)] if missing else [])

    def _batch_read_associations(self, body: dict[str, Any]) -> httpx.Response:
        """Associations v4 batch read: up to 1,000 inputs; each result pages its own list (`after` per input,
        500 a page). A deal that does not exist is an error; a deal without notes is a result with no `to`."""
        inputs = body.get("inputs") or []
        if len(inputs) > 1000:
            return _error(400, "Batch read is limited to 1000 inputs", "VALIDATION_ERROR")
        results, missing = [], []
        for item in inputs:
            deal_id = str(item.get("id"))
            if deal_id not in self.deals:
                missing.append(deal_id)
                continue
            start = int(item.get("after") or 0)
            note_ids = self.associations.get(deal_id, [])
            page = note_ids[start:start + 500]
            result: dict[str, Any] = {"from": {"id": deal_id}, "to": [
                {"toObjectId": int(n) if n.isdigit() else n,
                 "associationTypes": [{"category": "HUBSPOT_DEFINED", "typeId": 214, "label": None}]}
                for n in page]}
            if start + 500 < len(note_ids):
                result["paging"] = {"next": {"after": str(start + 500)}}
            results.append(result)
        return self._batch(results, [self._not_found("DEAL", missing)] if missing else [])

    def _validate(self, name: str, value: Any) -> tuple[dict[str, Any] | None, str]:
        def bad(error: str, message: str) -> tuple[dict[str, Any], str]:
            return {"isValid": False, "message": message, "error": error, "name": name}, ""

        prop = self.properties.get(name)
        if prop is None:
            return bad("PROPERTY_DOESNT_EXIST", f'Property "{name}" does not exist')
        if prop["modificationMetadata"].get("readOnlyValue"):
            return bad("READ_ONLY_VALUE", f"{name} is a read only property; its value cannot be set.")
        text = "" if value is None else (str(value).lower() if isinstance(value, bool) else str(value))
        if text == "":
            return None, ""  # clears the property
        kind = prop["type"]
        if prop.get("referencedObjectType") == "OWNER":
            if text not in self.owners:
                return bad("INVALID_OWNER_ID", f"{text} is not a valid owner id")
            return None, text
        if kind == "number":
            try:
                float(text)
            except ValueError:
                return bad("INVALID_FLOAT", f"{text} was not a valid number.")
            return None, text
        if kind in ("date", "datetime"):
            try:
                if text.isdigit():
                    instant = datetime.fromtimestamp(int(text) / 1000, tz=timezone.utc)
                else:
                    instant = datetime.fromisoformat(text.replace("Z", "+00:00"))
                    if instant.tzinfo is None:
                        instant = instant.replace(tzinfo=timezone.utc)
            except ValueError:
                return bad("INVALID_DATE", f"{text} is not a valid date")
            if kind == "date":
                if (instant.hour, instant.minute, instant.second, instant.microsecond) != (0, 0, 0, 0):
                    return bad("INVALID_DATE", f"{text} is at {instant.time()} UTC, not midnight")
                return None, _date_ms(instant.date())
            return None, _iso_ms(instant)
        if kind == "bool":
            if text not in ("true", "false"):
                return bad("INVALID_BOOLEAN", f"{text} is not a valid boolean")
            return None, text
        if kind == "enumeration":
            allowed = {o["value"] for o in prop["options"]}
            items = text.split(";") if prop["fieldType"] == "checkbox" else [text]
            for item in items:
                if item not in allowed:
                    return bad("INVALID_OPTION", f'{item} was not one of the allowed options: '
                                                 f'[{", ".join(sorted(allowed))}]')
            return None, text
        return None, text

    def _search(self, body: dict[str, Any]) -> httpx.Response:
        limit = int(body.get("limit", 10))
        if limit > 200:
            return _error(400, "limit must be at most 200", "VALIDATION_ERROR")
        offset = int(body.get("after") or 0)
        if offset + limit > SEARCH_CEILING:
            return _error(400, "The search API cannot page past 10,000 results.", "VALIDATION_ERROR")
        groups = body.get("filterGroups") or []
        for group in groups:
            for f in group.get("filters") or []:
                if f.get("operator") not in ("EQ", "NEQ", "CONTAINS_TOKEN", "HAS_PROPERTY", "NOT_HAS_PROPERTY"):
                    return _error(400, f"operator {f.get('operator')} is not supported by the stand-in",
                                  "VALIDATION_ERROR")
        now = self.clock()
        hits = [d for d in sorted(self.deals, key=_sort_key)
                if self.deals[d]["_indexed_at"] <= now
                and (not groups or any(self._matches(self.deals[d], g) for g in groups))]
        chunk = hits[offset : offset + limit]
        out: dict[str, Any] = {
            "total": len(hits),
            "results": [self._view(self.deals[d], body.get("properties"), DEFAULT_DEAL_PROPERTIES) for d in chunk],
        }
        if offset + limit < len(hits):
            out["paging"] = {"next": {"after": str(offset + limit)}}
        return _json(200, out)

    def _matches(self, deal: dict[str, Any], group: dict[str, Any]) -> bool:
        for f in group.get("filters") or []:
            raw = deal["properties"].get(f.get("propertyName"))
            have = "" if raw is None else str(raw)
            op, value = f.get("operator"), str(f.get("value", ""))
            if op == "EQ" and have.casefold() != value.casefold():
                return False
            if op == "NEQ" and have.casefold() == value.casefold():
                return False
            if op == "HAS_PROPERTY" and have == "":
                return False
            if op == "NOT_HAS_PROPERTY" and have != "":
                return False
            if op == "CONTAINS_TOKEN":
                pattern = value.casefold()
                tokens = _tokens(have)
                if "*" in pattern:
                    if not any(fnmatch.fnmatchcase(t, pattern) for t in tokens):
                        return False
                elif pattern not in tokens:
                    return False
        return True

    # -- properties ---------------------------------------------------------------------------------------

    def _properties(self, method: str, rest: list[str], body: Any) -> httpx.Response:
        if rest[:1] == ["groups"]:
            return self._groups(method, rest[1:], body)
        if not rest and method == "GET":
            self._need("crm.schemas.deals.read")
            return _json(200, {"results": list(self.properties.values())})
        if not rest and method == "POST":
            self._need("crm.schemas.deals.write")
            body = body or {}
            name = str(body.get("name") or "")
            if not _NAME_RE.match(name):
                return _error(400, f"Invalid property name '{name}'", "VALIDATION_ERROR")
            if name in self.properties:
                return _error(409, f"Property named '{name}' already exists.", "OBJECT_ALREADY_EXISTS")
            if (body.get("type"), body.get("fieldType")) not in _PAIRS:
                return _error(400, f"Invalid type/fieldType pair {body.get('type')}/{body.get('fieldType')}",
                              "VALIDATION_ERROR")
            if body.get("groupName") not in self.groups:
                return _error(400, f"Property group {body.get('groupName')} does not exist", "VALIDATION_ERROR")
            if body["type"] == "enumeration" and body["fieldType"] != "booleancheckbox" and not body.get("options"):
                return _error(400, "Enumeration properties need options", "VALIDATION_ERROR")
            self.properties[name] = self._definition(body)
            return _json(201, self.properties[name])
        if len(rest) == 1 and method == "GET":
            self._need("crm.schemas.deals.read")
            prop = self.properties.get(rest[0])
            if prop is None:
                return _error(404, f"Unable to find property {rest[0]}", "OBJECT_NOT_FOUND")
            return _json(200, prop)
        if len(rest) == 1 and method == "PATCH":
            self._need("crm.schemas.deals.write")
            prop = self.properties.get(rest[0])
            if prop is None:
                return _error(404, f"Unable to find property {rest[0]}", "OBJECT_NOT_FOUND")
            if prop["hubspotDefined"]:
                return _error(400, f"{rest[0]} is a HubSpot-defined property", "VALIDATION_ERROR")
            for key in ("label", "description", "groupName", "options", "displayOrder"):
                if key in (body or {}):
                    prop[key] = body[key]
            return _json(200, prop)
        return _error(405, f"{method} not allowed here", "VALIDATION_ERROR")

    def _groups(self, method: str, rest: list[str], body: Any) -> httpx.Response:
        if not rest and method == "GET":
            self._need("crm.schemas.deals.read")
            return _json(200, {"results": list(self.groups.values())})
        if not rest and method == "POST":
            self._need("crm.schemas.deals.write")
            name = str((body or {}).get("name") or "")
            if not _NAME_RE.match(name):
                return _error(400, f"Invalid group name '{name}'", "VALIDATION_ERROR")
            if name in self.groups:
                return _error(409, f"Property group {name} already exists", "OBJECT_ALREADY_EXISTS")
            self.groups[name] = {"name": name, "label": body.get("label") or name,
                                 "displayOrder": body.get("displayOrder", -1), "archived": False}
            return _json(201, self.groups[name])
        if len(rest) == 1 and method == "GET":
            self._need("crm.schemas.deals.read")
            group = self.groups.get(rest[0])
            if group is None:
                return _error(404, f"Unable to find property group {rest[0]}", "OBJECT_NOT_FOUND")
            return _json(200, group)
        return _error(405, f"{method} not allowed here", "VALIDATION_ERROR")

    # -- notes and owners ---------------------------------------------------------------------------------

    def _note_associations(self, deal_id: str, params: httpx.QueryParams) -> httpx.Response:
        # A deal that does not exist has no associations: HubSpot answers with an empty list here.
        note_ids = self.associations.get(deal_id, []) if deal_id in self.deals else []
        rows = [{"toObjectId": int(n) if n.isdigit() else n,
                 "associationTypes": [{"category": "HUBSPOT_DEFINED", "typeId": 214, "label": None}]}
                for n in note_ids]
        return self._page(rows, params, max_limit=500)

    def _page(self, rows: list[dict[str, Any]], params: httpx.QueryParams, *, max_limit: int) -> httpx.Response:
        limit = min(int(params.get("limit", 100)), max_limit)
        start = int(params.get("after") or 0)
        out: dict[str, Any] = {"results": rows[start : start + limit]}
        if start + limit < len(rows):
            out["paging"] = {"next": {"after": str(start + limit)}}
        return _json(200, out)

    def _batch_read_notes(self, body: dict[str, Any]) -> httpx.Response:
        inputs = body.get("inputs") or []
        if len(inputs) > 100:
            return _error(400, "Batch read is limited to 100 inputs", "VALIDATION_ERROR")
        requested = body.get("properties") or []
        results, missing = [], []
        for item in inputs:
            note = self.notes.get(str(item.get("id")))
            if note is None:
                missing.append(str(item.get("id")))
                continue
            stored = note["properties"]
            props = {n: stored.get(n) for n in requested}
            for always in ("hs_createdate", "hs_lastmodifieddate", "hs_object_id"):
                props[always] = stored.get(always)
            results.append({"id": note["id"], "properties": props, "createdAt": note["createdAt"],
                            "updatedAt": note["updatedAt"], "archived": False})
        now = _iso_ms(datetime.now(timezone.utc))
        out: dict[str, Any] = {"status": "COMPLETE", "results": results, "startedAt": now, "completedAt": now}
        if missing:
            out["numErrors"] = 1
            out["errors"] = [{"status": "error", "category": "OBJECT_NOT_FOUND",
                              "message": "Could not get some NOTE objects, they may be deleted or not exist.",
                              "context": {"ids": missing}}]
            return _json(207, out)
        return _json(200, out)


class _Refused(Exception):
    def __init__(self, response: httpx.Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


def _error(status: int, message: str, category: str | None, *, headers: dict[str, str] | None = None,
           extra: dict[str, Any] | None = None) -> httpx.Response:
    body: dict[str, Any] = {"status": "error", "message": message, "correlationId": str(uuid.uuid4())}
    if category:
        body["category"] = category
    body.update(extra or {})
    return _json(status, body, headers)


# -- the shared CRM contract suite (tests/test_crm_contract.py) ------------------------------------------

# Contract fault operations -> the HubSpot requests that carry them ("METHOD /path" fnmatch patterns).
CONTRACT_OPS: dict[str, tuple[str, ...]] = {
    "list": ("GET /crm/v3/objects/deals", "POST /crm/v3/objects/deals/search"),
    "get": ("GET /crm/v3/objects/deals/*", "POST /crm/v3/objects/deals/batch/read"),
    "notes": ("GET /crm/v4/objects/deals/*/associations/notes", "POST /crm/v4/associations/deals/notes/batch/read",
              "POST /crm/v3/objects/notes/batch/read"),
    "write": ("PATCH /crm/v3/objects/deals/*", "POST /crm/v3/objects/deals/batch/update"),
}
CONTRACT_PAGE_SIZE = 20  # below HubSpot's maximum of 100 so the suite pages several times cheaply
CONTRACT_NOTE_PAGE_SIZE = 5


async def build_contract_env(tmp_path: Path) -> "ContractEnv":
    from engine.crm.hubspot import HubSpotCRM
    from engine.medic import default_field_map
    from tests.standins.contract import FakeClock, standin_env

    clock = FakeClock()
    standin = HubSpotStandIn(clock=clock.time)
    crm = HubSpotCRM(
        standin.client(), default_field_map(), requests_per_10s=100, sleep=clock.sleep, clock=clock.time,
        page_size=CONTRACT_PAGE_SIZE, note_page_size=CONTRACT_NOTE_PAGE_SIZE,
    )

    return standin_env(
        standin, crm, CONTRACT_OPS, clock.sleeps, page_size=CONTRACT_PAGE_SIZE,
        note_page_size=CONTRACT_NOTE_PAGE_SIZE,
        # A deal property cannot link another record in HubSpot (that is what associations are for).
        field_types=tuple(t for t in FieldType if t is not FieldType.RECORD), token_env="HUBSPOT_TOKEN",
    )

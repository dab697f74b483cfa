"""A stateful stand-in for the part of Attio's REST API v2 that Scout uses, as an httpx.MockTransport handler.

It keeps objects, attributes, select options, statuses, records, notes and workspace members in memory and
answers in Attio's documented shapes: every record value is an array of value objects (`[]` when empty),
errors are `{status_code, type, code, message}`. It checks the Bearer token (401), enforces a per-second
read/write limit (429 with `Retry-After` as an HTTP date), counts what it refused, and takes injected faults.
"""

from __future__ import annotations

import json
import math
import re
import time
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import date, datetime, timezone
from email.utils import formatdate
from pathlib import Path
from typing import Any, Callable

import httpx

from engine.models import FieldType, WorkspaceData

BASE_URL = "https://api.attio.test"
TOKEN = "attio-test-token"
MAX_QUERY_LIMIT = 500
MAX_NOTES_LIMIT = 50
_NS = uuid.UUID("5c0a7e55-0000-4000-8000-00000000a771")
# What an access token can be granted in Attio (the ones Scout's routes touch); a ':read-write' scope
# includes its ':read'. The default token has all of them.
ALL_SCOPES = frozenset(
    {"record_permission:read-write", "object_configuration:read-write", "note:read-write", "user_management:read"}
)

_ATTRIBUTE_TYPES = {
    "text", "number", "checkbox", "currency", "date", "timestamp", "rating", "status", "select",
    "record-reference", "actor-reference", "location", "domain", "email-address", "phone-number",
    "personal-name",
}
_CREATE_KEYS = {"title", "description", "api_slug", "type", "is_required", "is_unique", "is_multiselect", "config"}


class _Reply(Exception):
    """Raised inside a route to answer with an Attio error body."""

    def __init__(self, status: int, code: str, message: str, kind: str = "invalid_request_error"):
        self.status, self.code, self.message, self.kind = status, code, message, kind


@dataclass
class _Fault:
    status: int
    times: int
    methods: frozenset[str] | None
    path: re.Pattern[str]
    retry_after: float | None
    query: dict[str, str] | None = None


def _iso(moment: datetime) -> str:
    # Attio prints nanosecond precision with a Z.
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z"


class AttioStandIn:
    def __init__(
        self,
        *,
        token: str = TOKEN,
        reads_per_s: int = 100,
        writes_per_s: int = 25,
        clock: Callable[[], float] = time.time,
        scopes: frozenset[str] = ALL_SCOPES,
    ) -> None:
        self.token = token
        self.clock = clock
        self.scopes = set(scopes)  # GET /v2/self lists them; each route needs its scope (403 otherwise)
        self.workspace_name = "Scout Test"
        self.workspace_id = str(uuid.uuid5(_NS, "workspace"))
        self.token_id = str(uuid.uuid5(_NS, "api-token"))
        self.limits = {"read": reads_per_s, "write": writes_per_s}
        self._windows: dict[str, deque[float]] = {"read": deque(), "write": deque()}
        self.objects: dict[str, dict[str, Any]] = {}
        self.attributes: dict[str, dict[str, dict[str, Any]]] = {}
        self.options: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.statuses: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.records: dict[str, dict[str, dict[str, Any]]] = {}
        self.notes: list[dict[str, Any]] = []
        self.members: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request that reached the stand-in
        self.count_429 = 0
        self.count_5xx = 0
        self.count_401 = 0
        self._faults: list[_Fault] = []
        self._seq = 0
        self._standard_objects()

    # ---- wiring --------------------------------------------------------------------------------------

    @property
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handler)

    def client(self, token: str | None = None) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=BASE_URL,
            headers={"Authorization": f"Bearer {token or self.token}"},
            transport=self.transport,
        )

    # ---- test hooks ----------------------------------------------------------------------------------

    def fail_next(
        self,
        times: int,
        status: int,
        *,
        method: str | tuple[str, ...] | None = None,
        path: str = ".*",
        retry_after: float | None = None,
        query: dict[str, str] | None = None,
    ) -> None:
        """The next `times` requests whose path matches the regex `path` (and `method`, and each `query`
        parameter given) get `status`."""
        methods = None if method is None else frozenset(m.upper() for m in ((method,) if isinstance(method, str) else method))
        self._faults.append(_Fault(status, times, methods, re.compile(path), retry_after, query))

    def reject_token(self) -> None:
        """Rotate the accepted token: whatever clients hold is now rejected with 401."""
        self.token = f"rotated-{uuid.uuid4()}"

    def delete_record(self, object_slug: str, record_id: str) -> None:
        del self.records[object_slug][record_id]
        self.notes = [n for n in self.notes if n["parent_record_id"] != record_id]

    def add_member(self, first: str, last: str, email: str) -> str:
        member_id = str(uuid.uuid5(_NS, f"member:{email}"))
        self.members[member_id] = {
            "id": {"workspace_id": self.workspace_id, "workspace_member_id": member_id},
            "first_name": first,
            "last_name": last,
            "avatar_url": None,
            "email_address": email,
            "access_level": "admin",
            "created_at": _iso(self._now()),
        }
        return member_id

    # ---- model ---------------------------------------------------------------------------------------

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), timezone.utc)

    def _actor(self) -> dict[str, Any]:
        return {"type": "api-token", "id": self.token_id}

    def _standard_objects(self) -> None:
        for slug, singular, plural in (
            ("people", "Person", "People"),
            ("companies", "Company", "Companies"),
            ("deals", "Deal", "Deals"),
        ):
            self.add_object(slug, singular, plural)
        people_id = self.objects["people"]["id"]["object_id"]
        companies_id = self.objects["companies"]["id"]["object_id"]
        self.add_attribute("people", "name", "personal-name", title="Name", system=True)
        self.add_attribute("people", "email_addresses", "email-address", title="Email addresses", multi=True, system=True)
        self.add_attribute("companies", "name", "text", title="Name", system=True)
        self.add_attribute("deals", "name", "text", title="Deal name", system=True, required=True)
        self.add_attribute("deals", "stage", "status", title="Deal stage", system=True)
        self.add_attribute("deals", "owner", "actor-reference", title="Deal owner", system=True)
        self.add_attribute("deals", "value", "currency", title="Deal value", system=True)
        self.add_attribute(
            "deals", "associated_people", "record-reference", title="Associated people", multi=True, system=True,
            config={"record_reference": {"allowed_object_ids": [people_id]}},
        )
        self.add_attribute(
            "deals", "associated_company", "record-reference", title="Associated company", system=True,
            config={"record_reference": {"allowed_object_ids": [companies_id]}},
        )
        for stage in ("Lead", "In Progress", "Won 🎉", "Lost"):
            self.add_status("deals", "stage", stage)

    def add_object(self, slug: str, singular: str, plural: str) -> None:
        object_id = str(uuid.uuid5(_NS, f"object:{slug}"))
        self.objects[slug] = {
            "id": {"workspace_id": self.workspace_id, "object_id": object_id},
            "api_slug": slug,
            "singular_noun": singular,
            "plural_noun": plural,
            "created_at": _iso(self._now()),
        }
        self.attributes[slug] = {}
        self.records[slug] = {}
        for system_slug, kind, title in (
            ("record_id", "text", "Record ID"),
            ("created_at", "timestamp", "Created at"),
            ("created_by", "actor-reference", "Created by"),
        ):
            self.add_attribute(slug, system_slug, kind, title=title, system=True, writable=False)

    def add_attribute(
        self,
        object_slug: str,
        api_slug: str,
        attio_type: str,
        *,
        title: str = "",
        description: str | None = None,
        multi: bool = False,
        config: dict[str, Any] | None = None,
        system: bool = False,
        writable: bool = True,
        required: bool = False,
    ) -> dict[str, Any]:
        obj = self.objects[object_slug]
        attribute_id = str(uuid.uuid5(_NS, f"attribute:{object_slug}:{api_slug}"))
        ref = (config or {}).get("record_reference") or {}
        allowed = [self._object_id(o) for o in ref.get("allowed_objects", [])] + list(ref.get("allowed_object_ids", []))
        currency = (config or {}).get("currency") or {}
        attr = {
            "id": {"workspace_id": self.workspace_id, "object_id": obj["id"]["object_id"], "attribute_id": attribute_id},
            "title": title or api_slug,
            "description": description,
            "api_slug": api_slug,
            "type": attio_type,
            "is_system_attribute": system,
            "is_writable": writable,
            "is_required": required,
            "is_unique": False,
            "is_multiselect": multi,
            "is_default_value_enabled": False,
            "is_archived": False,
            "default_value": None,
            "relationship": None,
            "created_at": _iso(self._now()),
            "config": {
                "currency": {
                    "default_currency_code": currency.get("default_currency_code", "USD" if attio_type == "currency" else None),
                    "display_type": currency.get("display_type", "symbol" if attio_type == "currency" else None),
                },
                "record_reference": {"allowed_object_ids": allowed if attio_type == "record-reference" else None},
            },
        }
        self.attributes[object_slug][api_slug] = attr
        return attr

    def _object_id(self, slug_or_id: str) -> str:
        if slug_or_id in self.objects:
            return self.objects[slug_or_id]["id"]["object_id"]
        for obj in self.objects.values():
            if obj["id"]["object_id"] == slug_or_id:
                return slug_or_id
        raise _Reply(400, "validation_type", f'Object with slug/ID "{slug_or_id}" not found.')

    def _object_slug(self, slug_or_id: str) -> str:
        if slug_or_id in self.objects:
            return slug_or_id
        for slug, obj in self.objects.items():
            if obj["id"]["object_id"] == slug_or_id:
                return slug
        raise _Reply(404, "not_found", f'Object with slug/ID "{slug_or_id}" not found.')

    def add_option(self, object_slug: str, attribute: str, title: str) -> dict[str, Any]:
        attr = self.attributes[object_slug][attribute]
        options = self.options.setdefault((object_slug, attribute), [])
        option = {
            "id": {**attr["id"], "option_id": str(uuid.uuid5(_NS, f"option:{object_slug}:{attribute}:{title}"))},
            "title": title,
            "is_archived": False,
        }
        options.append(option)
        return option

    def add_status(self, object_slug: str, attribute: str, title: str) -> dict[str, Any]:
        attr = self.attributes[object_slug][attribute]
        status = {
            "id": {**attr["id"], "status_id": str(uuid.uuid5(_NS, f"status:{object_slug}:{attribute}:{title}"))},
            "title": title,
            "is_archived": False,
            "celebration_enabled": False,
            "target_time_in_status": None,
        }
        self.statuses.setdefault((object_slug, attribute), []).append(status)
        return status

    def add_record(
        self, object_slug: str, record_id: str | None = None, created_at: datetime | None = None
    ) -> str:
        record_id = record_id or str(uuid.uuid4())
        created = created_at or self._now()
        self.records[object_slug][record_id] = {"created_at": _iso(created), "values": {}}
        record = self.records[object_slug][record_id]
        record["values"]["record_id"] = [self._value("text", {"value": record_id})]
        record["values"]["created_at"] = [self._value("timestamp", {"value": _iso(created)})]
        record["values"]["created_by"] = [
            self._value("actor-reference", {"referenced_actor_type": "api-token", "referenced_actor_id": self.token_id})
        ]
        return record_id

    def set_values(self, object_slug: str, record_id: str, values: dict[str, Any], *, append: bool = False) -> None:
        """Apply values in Attio's write formats, as PATCH (append=True for multiselect) or PUT would."""
        record = self.records[object_slug][record_id]
        staged: dict[str, list[dict[str, Any]]] = {}
        for slug, raw in values.items():
            attr = self.attributes[object_slug].get(slug)
            if attr is None or attr["is_archived"]:
                raise _Reply(400, "validation_type", f'Cannot find attribute with slug/ID "{slug}".')
            if not attr["is_writable"]:
                raise _Reply(400, "immutable_value", f'Attribute "{slug}" is not writable.')
            items = [] if raw is None else raw if isinstance(raw, list) else [raw]
            if len(items) > 1 and not attr["is_multiselect"]:
                raise _Reply(400, "validation_type", f'Attribute "{slug}" accepts a single value, got {len(items)}.')
            parsed = [self._parse(object_slug, attr, item) for item in items]
            if append and attr["is_multiselect"]:
                existing = record["values"].get(slug, [])
                keys = {self._identity(v) for v in existing}
                parsed = [v for v in parsed if self._identity(v) not in keys] + existing
            staged[slug] = parsed
        record["values"].update(staged)

    @staticmethod
    def _identity(value: dict[str, Any]) -> str:
        core = {k: v for k, v in value.items() if k not in ("active_from", "active_until", "created_by_actor")}
        return json.dumps(core, sort_keys=True)

    def _value(self, attio_type: str, body: dict[str, Any]) -> dict[str, Any]:
        return {
            "active_from": _iso(self._now()),
            "active_until": None,
            "created_by_actor": self._actor(),
            **body,
            "attribute_type": attio_type,
        }

    def _parse(self, object_slug: str, attr: dict[str, Any], item: Any) -> dict[str, Any]:
        """One written value (any of Attio's accepted input shapes for the type) -> a stored value object."""
        kind = attr["type"]
        slug = attr["api_slug"]

        def bad(why: str) -> _Reply:
            return _Reply(400, "validation_type", f'Invalid value for attribute "{slug}" ({kind}): {why}.')

        if kind in ("text", "number", "date", "timestamp", "checkbox", "rating") and isinstance(item, dict):
            if "value" not in item:
                raise bad("expected an object with `value`")
            item = item["value"]
        if kind == "text":
            if not isinstance(item, str):
                raise bad(f"expected a string, got {type(item).__name__}")
            return self._value(kind, {"value": item})
        if kind in ("number", "rating"):
            if isinstance(item, bool) or not isinstance(item, (int, float)):
                raise bad(f"expected a number, got {type(item).__name__}")
            return self._value(kind, {"value": item})
        if kind == "checkbox":
            if not isinstance(item, bool):
                raise bad("expected a boolean")
            return self._value(kind, {"value": item})
        if kind == "date":
            try:
                return self._value(kind, {"value": date.fromisoformat(str(item)).isoformat()})
            except ValueError:
                raise bad(f"'{item}' is not a YYYY-MM-DD date") from None
        if kind == "currency":
            amount = item.get("currency_value") if isinstance(item, dict) else item
            if isinstance(amount, bool) or not isinstance(amount, (int, float)):
                raise bad("expected a number")
            return self._value(kind, {"currency_value": amount, "currency_code": attr["config"]["currency"]["default_currency_code"]})
        if kind in ("select", "status"):
            key = "option" if kind == "select" else "status"
            wanted = item.get(key) if isinstance(item, dict) else item
            pool = (self.options if kind == "select" else self.statuses).get((object_slug, slug), [])
            for choice in pool:
                ident = choice["id"]["option_id" if kind == "select" else "status_id"]
                if not choice["is_archived"] and wanted in (choice["title"], ident):
                    return self._value(kind, {key: choice})
            raise bad(f"no {key} titled '{wanted}'")
        if kind == "record-reference":
            if not isinstance(item, dict) or "target_record_id" not in item or "target_object" not in item:
                raise bad("expected {target_object, target_record_id}")
            target = self._object_slug(item["target_object"])
            if item["target_record_id"] not in self.records[target]:
                raise bad(f"record {item['target_record_id']} not found in {target}")
            return self._value(kind, {"target_object": target, "target_record_id": item["target_record_id"]})
        if kind == "actor-reference":
            if isinstance(item, str):
                member = next((m for m in self.members.values() if m["email_address"] == item), None)
                if member is None:
                    raise bad(f"no workspace member with email {item}")
                item = {"referenced_actor_type": "workspace-member", "referenced_actor_id": member["id"]["workspace_member_id"]}
            if not isinstance(item, dict) or item.get("referenced_actor_type") != "workspace-member":
                raise bad("only workspace members can be written")
            return self._value(kind, {"referenced_actor_type": "workspace-member", "referenced_actor_id": item["referenced_actor_id"]})
        if kind == "personal-name":
            if isinstance(item, str):
                first, _, last = item.partition(" ")
                item = {"first_name": first, "last_name": last, "full_name": item}
            return self._value(kind, {k: item.get(k) for k in ("first_name", "last_name", "full_name")})
        if kind == "email-address":
            address = item.get("email_address") if isinstance(item, dict) else item
            return self._value(kind, {"email_address": address, "email_domain": str(address).partition("@")[2]})
        raise bad("type not supported by the stand-in")

    def _record_json(self, object_slug: str, record_id: str) -> dict[str, Any]:
        record = self.records[object_slug][record_id]
        obj = self.objects[object_slug]
        values = {
            slug: list(record["values"].get(slug, []))
            for slug, attr in self.attributes[object_slug].items()
            if not attr["is_archived"]
        }
        return {
            "id": {"workspace_id": self.workspace_id, "object_id": obj["id"]["object_id"], "record_id": record_id},
            "created_at": record["created_at"],
            "web_url": f"https://app.attio.com/scout-test/{obj['singular_noun'].lower()}/{record_id}",
            "values": values,
        }

    # ---- HTTP ----------------------------------------------------------------------------------------

    def handler(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        method = request.method
        for fault in self._faults:
            if (fault.times > 0 and (fault.methods is None or method in fault.methods) and fault.path.search(path)
                    and all(request.url.params.get(k) == v for k, v in (fault.query or {}).items())):
                fault.times -= 1
                return self._refuse(fault.status, fault.retry_after)
        if method == "GET" and path == "/v2/self":
            return self._identify(request)
        if request.headers.get("authorization") != f"Bearer {self.token}":
            self.count_401 += 1
            return self._error(401, "auth_error", "unauthorized", "Invalid or revoked access token.")
        kind = "read" if method == "GET" or path.endswith("/records/query") else "write"
        window = self._windows[kind]
        now = self.clock()
        while window and window[0] <= now - 1.0:
            window.popleft()
        if len(window) >= self.limits[kind]:
            # Refused requests are not processed and do not count against the window.
            return self._refuse(429, window[0] + 1.0 - now)
        window.append(now)
        self.requests.append((method, path))
        try:
            self._need_scope(method, path)
            return self._route(request, method, path)
        except _Reply as reply:
            return self._error(reply.status, reply.kind, reply.code, reply.message)

    def _identify(self, request: httpx.Request) -> httpx.Response:
        """GET /v2/self: who the token is. Like OAuth introspection it answers 200 `{"active": false}` for a
        token it does not know, rather than 401."""
        self.requests.append(("GET", "/v2/self"))
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return httpx.Response(200, json={"active": False})
        return httpx.Response(200, json={
            "active": True,
            "scope": " ".join(sorted(self.scopes)),
            "client_id": str(uuid.uuid5(_NS, "client")),
            "token_type": "Bearer",
            "exp": None,
            "iat": int(self.clock()),
            "sub": self.workspace_id,
            "aud": str(uuid.uuid5(_NS, "client")),
            "iss": "attio.com",
            "authorized_by_workspace_member_id": None,
            "workspace_id": self.workspace_id,
            "workspace_name": self.workspace_name,
            "workspace_slug": self.workspace_name.lower().replace(" ", "-"),
            "workspace_logo_url": None,
        })

    def _has_scope(self, scope: str) -> bool:
        return scope in self.scopes or (
            scope.endswith(":read") and scope[: -len(":read")] + ":read-write" in self.scopes
        )

    def _need_scope(self, method: str, path: str) -> None:
        parts = path.strip("/").split("/")[1:]
        head = parts[:1]
        if head == ["notes"]:
            scope = "note:read" if method == "GET" else "note:read-write"
        elif head == ["workspace_members"]:
            scope = "user_management:read"
        elif head == ["objects"] and "records" in parts:
            scope = "record_permission:read" if method == "GET" or parts[-1] == "query" else "record_permission:read-write"
        elif head == ["objects"]:
            scope = "object_configuration:read" if method == "GET" else "object_configuration:read-write"
        else:
            return
        if not self._has_scope(scope):
            raise _Reply(403, "missing_scopes", f"This token is missing the required scope: {scope}.", "auth_error")

    def _refuse(self, status: int, retry_after: float | None) -> httpx.Response:
        if status == 429:
            self.count_429 += 1
            headers = {}
            if retry_after is not None:
                # Attio sends an HTTP date (whole seconds), never delta-seconds; round up so it is never early.
                headers["Retry-After"] = formatdate(math.ceil(self.clock() + retry_after), usegmt=True)
            return httpx.Response(
                429,
                headers=headers,
                json={
                    "status_code": 429,
                    "type": "rate_limit_error",
                    "code": "rate_limit_exceeded",
                    "message": "Rate limit exceeded, please try again later",
                },
            )
        if status >= 500:
            self.count_5xx += 1
            return self._error(status, "api_error", "internal_server_error", "An unexpected error occurred.")
        return self._error(status, "invalid_request_error", "injected", "Injected fault.")

    @staticmethod
    def _error(status: int, kind: str, code: str, message: str) -> httpx.Response:
        return httpx.Response(status, json={"status_code": status, "type": kind, "code": code, "message": message})

    @staticmethod
    def _body(request: httpx.Request) -> dict[str, Any]:
        try:
            body = json.loads(request.content or b"{}")
        except ValueError:
            raise _Reply(400, "validation_type", "Body is not valid JSON.") from None
        if not isinstance(body, dict):
            raise _Reply(400, "validation_type", "Body must be a JSON object.")
        return body

    def _route(self, request: httpx.Request, method: str, path: str) -> httpx.Response:
        parts = path.strip("/").split("/")
        if parts[:1] != ["v2"]:
            raise _Reply(404, "not_found", f"No route for {method} {path}.")
        parts = parts[1:]
        match (method, parts):
            case ("GET", ["objects", obj]):
                return httpx.Response(200, json={"data": self.objects[self._object_slug(obj)]})
            case ("GET", ["objects", obj, "attributes"]):
                return self._list_attributes(self._object_slug(obj), request)
            case ("POST", ["objects", obj, "attributes"]):
                return self._create_attribute(self._object_slug(obj), self._body(request))
            case ("GET", ["objects", obj, "attributes", attribute, "options"]):
                slug = self._attribute(obj, attribute, "select")
                return httpx.Response(200, json={"data": self.options.get((self._object_slug(obj), slug), [])})
            case ("POST", ["objects", obj, "attributes", attribute, "options"]):
                return self._create_option(self._object_slug(obj), self._attribute(obj, attribute, "select"), self._body(request))
            case ("GET", ["objects", obj, "attributes", attribute, "statuses"]):
                slug = self._attribute(obj, attribute, "status")
                return httpx.Response(200, json={"data": self.statuses.get((self._object_slug(obj), slug), [])})
            case ("POST", ["objects", obj, "records", "query"]):
                return self._query(self._object_slug(obj), self._body(request))
            case ("GET", ["objects", obj, "records", record_id]):
                slug = self._object_slug(obj)
                self._need_record(slug, record_id)
                return httpx.Response(200, json={"data": self._record_json(slug, record_id)})
            case ("PATCH" | "PUT", ["objects", obj, "records", record_id]):
                slug = self._object_slug(obj)
                self._need_record(slug, record_id)
                body = self._body(request)
                values = (body.get("data") or {}).get("values") if isinstance(body.get("data"), dict) else None
                if not isinstance(values, dict) or set(body) != {"data"}:
                    raise _Reply(400, "validation_type", "Body must be {\"data\": {\"values\": {...}}}.")
                self.set_values(slug, record_id, values, append=method == "PATCH")
                return httpx.Response(200, json={"data": self._record_json(slug, record_id)})
            case ("GET", ["notes"]):
                return self._list_notes(request)
            case ("GET", ["workspace_members", member_id]):
                if member_id not in self.members:
                    raise _Reply(404, "not_found", f'Workspace member with ID "{member_id}" not found.')
                return httpx.Response(200, json={"data": self.members[member_id]})
        raise _Reply(404, "not_found", f"No route for {method} {path}.")

    def _need_record(self, object_slug: str, record_id: str) -> None:
        if record_id not in self.records[object_slug]:
            raise _Reply(404, "not_found", f'Record with ID "{record_id}" not found.')

    def _attribute(self, obj: str, attribute: str, kind: str) -> str:
        slug = self._object_slug(obj)
        for attr in self.attributes[slug].values():
            if attribute in (attr["api_slug"], attr["id"]["attribute_id"]):
                if attr["type"] != kind:
                    raise _Reply(400, "validation_type", f'Attribute "{attribute}" is not a {kind} attribute.')
                return attr["api_slug"]
        raise _Reply(404, "not_found", f'Attribute with slug/ID "{attribute}" not found.')

    def _list_attributes(self, object_slug: str, request: httpx.Request) -> httpx.Response:
        show_archived = request.url.params.get("show_archived") == "true"
        data = [a for a in self.attributes[object_slug].values() if show_archived or not a["is_archived"]]
        return httpx.Response(200, json={"data": data})

    def _create_attribute(self, object_slug: str, body: dict[str, Any]) -> httpx.Response:
        data = body.get("data")
        if not isinstance(data, dict):
            raise _Reply(400, "validation_type", "Body must be {\"data\": {...}}.")
        missing = _CREATE_KEYS - set(data)
        if missing:
            raise _Reply(400, "validation_type", f"Missing required keys: {', '.join(sorted(missing))}.")
        if data["type"] not in _ATTRIBUTE_TYPES or data["type"] == "personal-name":
            raise _Reply(400, "validation_type", f"Unknown attribute type '{data['type']}'.")
        if data["is_multiselect"] and data["type"] not in ("select", "record-reference", "actor-reference"):
            raise _Reply(400, "validation_type", f"Type '{data['type']}' cannot be multiselect.")
        if not re.fullmatch(r"[a-z][a-z0-9_]*", str(data["api_slug"])):
            raise _Reply(400, "validation_type", f"Invalid api_slug '{data['api_slug']}'.")
        if data["api_slug"] in self.attributes[object_slug]:
            raise _Reply(409, "slug_conflict", f'An attribute with slug "{data["api_slug"]}" already exists.')
        if data["type"] == "record-reference":
            allowed = ((data.get("config") or {}).get("record_reference") or {}).get("allowed_objects")
            if not allowed:
                raise _Reply(400, "validation_type", "record-reference attributes need config.record_reference.allowed_objects.")
        attr = self.add_attribute(
            object_slug,
            data["api_slug"],
            data["type"],
            title=data["title"],
            description=data.get("description"),
            multi=bool(data["is_multiselect"]),
            config=data.get("config") or {},
        )
        return httpx.Response(200, json={"data": attr})

    def _create_option(self, object_slug: str, attribute: str, body: dict[str, Any]) -> httpx.Response:
        title = (body.get("data") or {}).get("title") if isinstance(body.get("data"), dict) else None
        if not isinstance(title, str) or not title.strip():
            raise _Reply(400, "validation_type", "Body must be {\"data\": {\"title\": ...}}.")
        if any(o["title"] == title for o in self.options.get((object_slug, attribute), [])):
            raise _Reply(409, "slug_conflict", f'An option titled "{title}" already exists.')
        return httpx.Response(200, json={"data": self.add_option(object_slug, attribute, title)})

    def _query(self, object_slug: str, body: dict[str, Any]) -> httpx.Response:
        unknown = set(body) - {"filter", "sorts", "limit", "offset"}
        if unknown:
            raise _Reply(400, "validation_type", f"Unknown keys: {', '.join(sorted(unknown))}.")
        limit = body.get("limit", MAX_QUERY_LIMIT)
        offset = body.get("offset", 0)
        if not isinstance(limit, int) or not 1 <= limit <= MAX_QUERY_LIMIT:
            raise _Reply(400, "validation_type", f"limit must be an integer from 1 to {MAX_QUERY_LIMIT}.")
        if not isinstance(offset, int) or offset < 0:
            raise _Reply(400, "validation_type", "offset must be a non-negative integer.")
        ids = [rid for rid in self.records[object_slug] if self._matches(object_slug, rid, body.get("filter") or {})]
        for sort in reversed(body.get("sorts") or []):
            attribute = sort.get("attribute")
            if attribute not in self.attributes[object_slug] or sort.get("direction") not in ("asc", "desc"):
                raise _Reply(400, "filter_error", f"Invalid sort {sort}.")
            ids.sort(key=lambda rid: self._sort_key(object_slug, rid, attribute), reverse=sort["direction"] == "desc")
        page = ids[offset : offset + limit]
        return httpx.Response(200, json={"data": [self._record_json(object_slug, rid) for rid in page]})

    def _text_of(self, object_slug: str, record_id: str, attribute: str) -> str:
        items = self.records[object_slug][record_id]["values"].get(attribute) or []
        if not items:
            return ""
        item = items[0]
        for key in ("value", "full_name", "email_address"):
            if key in item:
                return str(item[key])
        return json.dumps(item, sort_keys=True)

    def _sort_key(self, object_slug: str, record_id: str, attribute: str) -> tuple[int, str]:
        text = self._text_of(object_slug, record_id, attribute)
        return (0 if text else 1, text)

    def _matches(self, object_slug: str, record_id: str, flt: dict[str, Any]) -> bool:
        for attribute, condition in flt.items():
            if attribute not in self.attributes[object_slug] or self.attributes[object_slug][attribute]["type"] not in ("text", "personal-name"):
                raise _Reply(400, "filter_error", f'Cannot filter on "{attribute}".')
            text = self._text_of(object_slug, record_id, attribute)
            if isinstance(condition, str):
                condition = {"$eq": condition}
            if not isinstance(condition, dict) or not set(condition) <= {"$eq", "$contains"}:
                raise _Reply(400, "filter_error", f"Unsupported condition {condition}.")
            if "$eq" in condition and text != condition["$eq"]:
                return False
            if "$contains" in condition and str(condition["$contains"]).casefold() not in text.casefold():
                return False
        return True

    def _list_notes(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        try:
            limit = int(params.get("limit", 10))
            offset = int(params.get("offset", 0))
        except ValueError:
            raise _Reply(400, "validation_type", "limit and offset must be integers.") from None
        if not 1 <= limit <= MAX_NOTES_LIMIT or offset < 0:
            raise _Reply(400, "validation_type", f"limit must be 1..{MAX_NOTES_LIMIT}, offset >= 0.")
        parent_object, parent_id = params.get("parent_object"), params.get("parent_record_id")
        if bool(parent_object) != bool(parent_id):
            raise _Reply(400, "validation_type", "parent_object and parent_record_id go together.")
        notes = self.notes
        if parent_object:
            slug = self._object_slug(parent_object)
            notes = [n for n in notes if n["parent_object"] == slug and n["parent_record_id"] == parent_id]
        # Newest first, so a client that trusts list order gets the wrong reading order.
        notes = sorted(notes, key=lambda n: n["created_at"], reverse=True)
        return httpx.Response(200, json={"data": notes[offset : offset + limit]})

    # ---- seeding -------------------------------------------------------------------------------------

    def add_note(self, object_slug: str, record_id: str, *, title: str, text: str, created_at: datetime) -> str:
        self._seq += 1
        note_id = str(uuid.uuid5(_NS, f"note:{record_id}:{self._seq}"))
        self.notes.append(
            {
                "id": {"workspace_id": self.workspace_id, "note_id": note_id},
                "parent_object": object_slug,
                "parent_record_id": record_id,
                "title": title,
                "meeting_id": None,
                "content_plaintext": text,
                "content_markdown": text,
                "tags": [],
                "created_by_actor": {"type": "workspace-member", "id": next(iter(self.members), None)},
                "created_at": _iso(created_at),
            }
        )
        return note_id

    def _find_or_create(self, object_slug: str, name: str) -> str:
        for record_id in self.records[object_slug]:
            if self._text_of(object_slug, record_id, "name") == name:
                return record_id
        record_id = self.add_record(object_slug, str(uuid.uuid5(_NS, f"{object_slug}:{name}")))
        self.set_values(object_slug, record_id, {"name": name})
        return record_id

    def _encode_decoded(self, object_slug: str, slug: str, value: Any) -> Any:
        """A decoded engine value -> the write format of the attribute that actually exists here."""
        attr = self.attributes[object_slug][slug]
        kind = attr["type"]
        if kind == "status":
            if not any(s["title"] == value for s in self.statuses.get((object_slug, slug), [])):
                self.add_status(object_slug, slug, value)
            return value
        if kind == "select":
            items = value if isinstance(value, list) else [value]
            have = {o["title"] for o in self.options.get((object_slug, slug), [])}
            for item in items:
                if item not in have:
                    self.add_option(object_slug, slug, item)
            return value
        if kind == "actor-reference":
            first, _, last = str(value).partition(" ")
            email = f"{first}.{last}".strip(".").lower().replace(" ", "") + "@example.com"
            if not any(m["email_address"] == email for m in self.members.values()):
                self.add_member(first, last, email)
            return email
        if kind == "record-reference":
            allowed = attr["config"]["record_reference"]["allowed_object_ids"] or []
            target = self._object_slug(allowed[0]) if allowed else "companies"
            names = value if isinstance(value, list) else [value]
            refs = [{"target_object": target, "target_record_id": self._find_or_create(target, n)} for n in names]
            return refs if attr["is_multiselect"] else refs[0]
        return value

    def load(self, data: WorkspaceData, object_slug: str = "deals") -> dict[str, str]:
        """Seed from decoded WorkspaceData; returns its deal ids -> the record ids Attio would have given."""
        for spec in data.fields:
            if spec.name in self.attributes[object_slug]:
                continue
            attio_type, multi, config = {
                FieldType.TEXT: ("text", False, {}),
                FieldType.NUMBER: ("number", False, {}),
                FieldType.DATE: ("date", False, {}),
                FieldType.SELECT: ("select", False, {}),
                FieldType.MULTI_SELECT: ("select", True, {}),
                FieldType.PERSON: ("record-reference", False, {"record_reference": {"allowed_objects": ["people"]}}),
                FieldType.RECORD: ("record-reference", False, {"record_reference": {"allowed_objects": ["companies"]}}),
            }[spec.type]
            self.add_attribute(object_slug, spec.name, attio_type, title=spec.label or spec.name, multi=multi, config=config)
            for option in spec.options:
                self.add_option(object_slug, spec.name, option)
        for person in data.people:
            record_id = self._find_or_create("people", person.name)
            if person.email:
                self.set_values("people", record_id, {"email_addresses": [person.email]})
        ids: dict[str, str] = {}
        for deal in data.deals:
            record_id = self.add_record(object_slug, str(uuid.uuid5(_NS, f"deal:{deal.id}")), deal.created_at)
            ids[deal.id] = record_id
            values: dict[str, Any] = {"name": deal.name}
            if deal.stage:
                values["stage"] = deal.stage
            values.update({k: v for k, v in deal.values.items() if v is not None})
            encoded = {k: self._encode_decoded(object_slug, k, v) for k, v in values.items()}
            self.set_values(object_slug, record_id, encoded)
        for note in data.notes:
            self.add_note(object_slug, ids[note.deal_id], title=note.title, text=note.text, created_at=note.created_at)
        return ids


# ---- the contract suite's entry point ------------------------------------------------------------------

_FAULT_PATHS: dict[str, tuple[str | tuple[str, ...], str]] = {
    "list": ("POST", r"^/v2/objects/deals/records/query$"),
    "get": ("GET", r"^/v2/objects/deals/records/[^/]+$"),
    "notes": ("GET", r"^/v2/notes$"),
    "write": (("PATCH", "PUT"), r"^/v2/objects/deals/records/[^/]+$"),
}


async def build_contract_env(tmp_path: Path) -> Any:
    from engine.crm.attio import AttioCRM
    from engine.medic import default_field_map
    from tests.standins.contract import ContractEnv, FakeClock

    clock = FakeClock()
    standin = AttioStandIn(clock=clock.time)
    crm = AttioCRM(
        standin.client(), default_field_map(), sleep=clock.sleep, clock=clock.time, page_size=5, note_page_size=2
    )

    async def seed(data: WorkspaceData) -> dict[str, str]:
        return standin.load(data)

    async def delete_deal(deal_id: str) -> None:
        standin.delete_record("deals", deal_id)

    def fail_next(op: str, status: int, times: int, retry_after: float | None) -> None:
        method, path = _FAULT_PATHS[op]
        standin.fail_next(times, status, method=method, path=path, retry_after=retry_after)

    return ContractEnv(
        crm=crm,
        seed=seed,
        delete_deal=delete_deal,
        page_size=5,
        note_page_size=2,
        token_env="ATTIO_API_TOKEN",
        fail_next=fail_next,
        reject_token=standin.reject_token,
        refusals=lambda: standin.count_429 + standin.count_5xx,
        sleeps=clock.sleeps,
    )

"""A stateful stand-in for the Salesforce REST and Tooling APIs Scout uses, as an `httpx.MockTransport` handler.

Shapes follow Salesforce's REST API Developer Guide: the OAuth token endpoint (client credentials and JWT
bearer, answering `access_token`, `instance_url`, `id`), `describe` with `type`, `picklistValues`,
`referenceTo`, `relationshipName`, `filterable`; SOQL `query` answering `totalSize`, `done`, `records` (each
with `attributes`) and `nextRecordsUrl` while not done; sObject rows (`POST` 201 `{id, success, errors}`,
`PATCH` 204), sObject Collections (`PATCH /composite/sobjects`, one SaveResult per record, in order, errors
with `statusCode`), the Tooling `CustomField` (FullName + Metadata), PermissionSet / PermissionSetAssignment /
FieldPermissions, `/limits`, the `Sforce-Limit-Info: api-usage=N/M` header on every data call, and error
bodies as JSON arrays of `{message, errorCode, fields}`.

What a real org enforces, it enforces: the session (401 INVALID_SESSION_ID), field-level security (a custom
field without a read grant is absent from describe and `No such column` in SOQL, exactly like a field that
does not exist), long text areas that cannot be filtered, restricted picklists, the daily allocation (403
REQUEST_LIMIT_EXCEEDED), Metadata readable only on a one-row Tooling query. Faults can be injected.

The SOQL understood is the subset Scout sends: SELECT fields (with `Rel.Name`) or COUNT(), FROM, WHERE with
AND / OR / parentheses over `=`, `!=`, `IN (...)`, `LIKE`, ORDER BY one field, LIMIT.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable
from urllib.parse import parse_qs

import httpx

from engine.crm.salesforce_codec import format_datetime
from engine.models import FieldType, WorkspaceData
from tests.standins.hubspot import note_html

if TYPE_CHECKING:
    from tests.standins.contract import ContractEnv

BASE_URL = "https://acme.my.salesforce.com"
CLIENT_ID = "3MVG9standin.consumer.key"
CLIENT_SECRET = "standin-consumer-secret"
USERNAME = "scout-integration@acme.example"
ORG_ID = "00D000000000001EAA"
API_VERSIONS = ("64.0", "65.0", "66.0")
DAILY_LIMIT = 100_000
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_CUSTOM = re.compile(r"^[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)*__c$")
_TOKEN = re.compile(r"\s*(?:(?P<str>'(?:\\.|[^'\\])*')|(?P<num>-?\d+(?:\.\d+)?)|(?P<op>!=|<=|>=|=|<|>|\(|\)|,)"
                    r"|(?P<word>[A-Za-z_][\w.]*))")
_PREFIX = {"Opportunity": "006", "Task": "00T", "ContentNote": "069", "ContentDocumentLink": "06A",
           "EmailMessage": "02s", "User": "005", "Contact": "003", "Account": "001", "PermissionSet": "0PS",
           "PermissionSetAssignment": "0Pa", "FieldPermissions": "01k", "CustomField": "00N", "Profile": "00e"}
# describe type of each Tooling Metadata type this stand-in creates
_META_TO_TYPE = {"LongTextArea": "textarea", "TextArea": "textarea", "Text": "string", "Picklist": "picklist",
                 "MultiselectPicklist": "multipicklist", "Number": "double", "Date": "date", "Currency": "currency"}
_TYPE_TO_META = {"textarea": "LongTextArea", "string": "Text", "picklist": "Picklist",
                 "multipicklist": "MultiselectPicklist", "double": "Number", "date": "Date", "currency": "Currency",
                 "reference": "Lookup"}


def _errors(status: int, code: str, message: str, fields: list[str] | None = None,
            headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=[{"message": message, "errorCode": code, "fields": fields or []}],
                          headers=headers)


class _Refused(Exception):
    def __init__(self, response: httpx.Response) -> None:
        super().__init__(response.status_code)
        self.response = response


@dataclass
class _Fault:
    pattern: re.Pattern[str]
    status: int
    remaining: int
    retry_after: float | None
    code: str = ""


@dataclass
class _Cursor:
    soql: str
    rows: list[dict[str, Any]]
    total: int
    tooling: bool = False


@dataclass
class _Field:
    name: str
    type: str
    label: str = ""
    options: list[str] = field(default_factory=list)
    reference_to: list[str] = field(default_factory=list)
    custom: bool = True
    standard_visible: bool = False  # standard fields need no grant

    @property
    def relationship(self) -> str | None:
        if self.type != "reference":
            return None
        if self.name.endswith("__c"):
            return self.name[:-3] + "__r"
        return self.name[:-2] if self.name.endswith("Id") else self.name + "__r"

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name, "type": self.type, "label": self.label or self.name, "custom": self.custom,
            "filterable": self.type != "textarea", "updateable": self.name not in ("Id", "CreatedDate",
                                                                                   "LastModifiedDate"),
            "nillable": True, "referenceTo": list(self.reference_to), "relationshipName": self.relationship,
            "picklistValues": [{"active": True, "defaultValue": False, "label": o, "value": o, "validFor": None}
                               for o in self.options],
            "length": 131072 if self.type == "textarea" else 255,
        }


class SalesforceStandIn:
    """One Salesforce org in memory, the integration user's view of it."""

    def __init__(self, *, client_id: str = CLIENT_ID, client_secret: str = CLIENT_SECRET,
                 username: str = USERNAME, public_key: str | None = None, daily_limit: int = DAILY_LIMIT,
                 strict_names: bool = True, clock: Callable[[], float] | None = None) -> None:
        self.client_id, self.client_secret, self.username = client_id, client_secret, username
        self.public_key = public_key
        self.daily_limit = daily_limit
        self.api_used = 0
        self.strict_names = strict_names  # False: accept the contract suite's vendor-neutral names (no __c)
        self.clock = clock
        self.sessions: set[str] = set()
        self.credentials_ok = True
        self.tokens_issued = 0
        self.requests: list[str] = []  # "METHOD /path" of every request
        self.soql: list[str] = []  # every SOQL statement received, in order
        self.refusals = 0  # 429 / 5xx answered
        self._faults: list[_Fault] = []
        self.validation_rules: dict[str, str] = {}  # Opportunity Id -> the rule's error message
        self._cursors: dict[str, _Cursor] = {}
        self._ids = itertools.count(1)
        self.records: dict[str, dict[str, dict[str, Any]]] = {name: {} for name in _PREFIX}
        self.fields: dict[str, _Field] = {}  # Opportunity's fields by API name
        self.custom_fields: dict[str, dict[str, Any]] = {}  # Tooling CustomField rows by Id
        self.user_id = self._new_id("User")
        self.records["User"][self.user_id] = {"Id": self.user_id, "Name": "Scout Integration",
                                              "Username": username}
        self.profile_id = self._new_id("Profile")
        self.records["Profile"][self.profile_id] = {"Id": self.profile_id,
                                                    "Name": "Minimum Access - API Only Integrations"}
        # The integration user's profile, as the permission set every profile owns.
        self.profile_ps = self._insert("PermissionSet", {"Name": "X00ex000000API", "Label": "Profile",
                                                         "IsOwnedByProfile": True, "ProfileId": self.profile_id})
        self._insert("PermissionSetAssignment", {"PermissionSetId": self.profile_ps, "AssigneeId": self.user_id})
        for name, kind in (("Id", "id"), ("Name", "string"), ("StageName", "picklist"), ("CreatedDate", "datetime"),
                           ("LastModifiedDate", "datetime"), ("Amount", "currency"), ("CloseDate", "date")):
            self.fields[name] = _Field(name, kind, custom=False, standard_visible=True,
                                       options=["Prospecting", "Qualification", "Closed Won"] if kind == "picklist"
                                       else [])
        self.fields["OwnerId"] = _Field("OwnerId", "reference", reference_to=["User"], custom=False,
                                        standard_visible=True)

    # -- wiring -------------------------------------------------------------------------------------------

    def transport(self) -> httpx.MockTransport:
        async def over_the_network(request: httpx.Request) -> httpx.Response:
            await asyncio.sleep(0)
            return self.handler(request)

        return httpx.MockTransport(over_the_network)

    def _new_id(self, sobject: str) -> str:
        return f"{_PREFIX[sobject]}{next(self._ids):012d}AAA"

    def _insert(self, sobject: str, values: dict[str, Any]) -> str:
        record_id = self._new_id(sobject)
        self.records[sobject][record_id] = {"Id": record_id, **values}
        return record_id

    # -- seeding ------------------------------------------------------------------------------------------

    def add_field(self, name: str, field_type: FieldType, label: str = "", options: tuple[str, ...] = (), *,
                  visible: bool = True, sf_type: str | None = None) -> None:
        """A custom field an admin made (with its CustomField row), granted to the integration user unless
        `visible` is False (the invisible-field mode: it exists, FLS hides it)."""
        kind = sf_type or {FieldType.TEXT: "textarea", FieldType.NUMBER: "double", FieldType.DATE: "date",
                           FieldType.SELECT: "picklist", FieldType.MULTI_SELECT: "multipicklist",
                           FieldType.PERSON: "reference", FieldType.RECORD: "reference"}[field_type]
        ref = ["Contact"] if field_type is FieldType.PERSON else ["Account"] if field_type is FieldType.RECORD else []
        self.fields[name] = _Field(name, kind, label or name, list(options), ref)
        meta: dict[str, Any] = {"label": label or name, "type": _TYPE_TO_META.get(kind, "Text")}
        if ref:
            meta["referenceTo"] = ref[0]
        row_id = self._new_id("CustomField")
        self.custom_fields[row_id] = {"Id": row_id, "DeveloperName": name.removesuffix("__c"),
                                      "TableEnumOrId": "Opportunity", "FullName": f"Opportunity.{name}",
                                      "Metadata": meta}
        if visible:
            self.grant(self.profile_ps, name, edit=True)

    def grant(self, parent: str, name: str, *, edit: bool) -> None:
        self._insert("FieldPermissions", {"ParentId": parent, "SobjectType": "Opportunity",
                                          "Field": f"Opportunity.{name}", "PermissionsRead": True,
                                          "PermissionsEdit": edit})

    def hide(self, name: str) -> None:
        """Revoke every grant on a field: it still exists, the integration user no longer sees it."""
        for pid, perm in list(self.records["FieldPermissions"].items()):
            if perm["Field"] == f"Opportunity.{name}":
                del self.records["FieldPermissions"][pid]

    def add_profile(self, name: str) -> str:
        profile = self._insert("Profile", {"Name": name})
        return self._insert("PermissionSet", {"Name": f"X{profile}", "Label": name, "IsOwnedByProfile": True,
                                              "ProfileId": profile})

    def encode(self, name: str, value: Any) -> Any:
        info = self.fields[name]
        if value is None or value == "" or value == []:
            return None
        if info.type == "multipicklist":
            return ";".join(value if isinstance(value, list) else [value])
        if info.type in ("double", "currency", "percent"):
            return float(value)
        if info.type == "reference":
            target = info.reference_to[0]
            for rid, rec in self.records[target].items():
                if rec.get("Name") == value:
                    return rid
            return self._insert(target, {"Name": value})
        return str(value)

    def load(self, data: WorkspaceData, names: Callable[[str], str] = lambda n: n) -> dict[str, str]:
        """Seed the org; returns WorkspaceData deal id -> Opportunity Id. Notes alternate between Tasks and
        ContentNotes, so both sources are read in every test. `names` renames fields (snake -> API names)."""
        for person in data.people:
            self._insert("Contact", {"Name": person.name, "Email": person.email, "Title": person.title})
        for spec in data.fields:
            if names(spec.name) not in self.fields:
                self.add_field(names(spec.name), spec.type, spec.label, spec.options)
        ids: dict[str, str] = {}
        for deal in data.deals:
            created = deal.created_at or datetime.now(timezone.utc)
            values = {names(k): self.encode(names(k), v) for k, v in deal.values.items() if names(k) in self.fields}
            record_id = self._insert("Opportunity", {
                "Name": deal.name, "StageName": deal.stage or "Prospecting", "CreatedDate": format_datetime(created),
                "LastModifiedDate": format_datetime(created), "OwnerId": self.user_id, **values})
            ids[deal.id] = record_id
        for i, note in enumerate(data.notes):
            deal_id = ids[note.deal_id]
            self.add_note(deal_id, note.text, created_at=note.created_at, title=note.title,
                          kind="task" if i % 2 == 0 else "content_note")
        return ids

    def add_note(self, deal_id: str, text: str, *, created_at: datetime, title: str = "",
                 kind: str = "task") -> str:
        when = format_datetime(created_at)
        if kind == "task":
            return self._insert("Task", {"WhatId": deal_id, "Subject": title or "Call", "Description": text,
                                         "CreatedDate": when, "OwnerId": self.user_id, "TaskSubtype": "Call"})
        if kind == "email":
            return self._insert("EmailMessage", {"RelatedToId": deal_id, "Subject": title, "TextBody": text,
                                                 "MessageDate": when, "CreatedDate": when, "FromName": "Jane Doe"})
        doc = self._insert("ContentNote", {"Title": title or "Note", "CreatedDate": when, "OwnerId": self.user_id,
                                           "Content": note_html(text).encode("utf-8")})
        self._insert("ContentDocumentLink", {"ContentDocumentId": doc, "LinkedEntityId": deal_id,
                                             "ShareType": "V"})
        return doc

    def delete(self, sobject: str, record_id: str) -> None:
        self.records[sobject].pop(record_id, None)

    def delete_deal(self, deal_id: str) -> None:
        self.delete("Opportunity", deal_id)

    # -- faults -------------------------------------------------------------------------------------------

    def fail_next(self, pattern: str, status: int, times: int = 1, retry_after: float | None = None,
                  code: str = "") -> None:
        """The next `times` requests whose "METHOD /path SOQL" matches `pattern` (a regex) get `status`."""
        self._faults.append(_Fault(re.compile(pattern), status, times, retry_after, code))

    def expire_sessions(self) -> None:
        self.sessions.clear()

    def reject_token(self) -> None:
        self.sessions.clear()
        self.credentials_ok = False

    # -- the handler --------------------------------------------------------------------------------------

    def handler(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.requests.append(f"{request.method} {path}")
        try:
            if path == "/services/oauth2/token":
                return self._token(request)
            if path.rstrip("/") == "/services/data":
                return httpx.Response(200, json=[{"label": f"v{v}", "url": f"/services/data/v{v}", "version": v}
                                                 for v in API_VERSIONS])
            auth = request.headers.get("authorization", "")
            if not auth.startswith("Bearer ") or auth[7:] not in self.sessions:
                return _errors(401, "INVALID_SESSION_ID", "Session expired or invalid")
            soql = self._soql_of(request)
            fault = self._fault(f"{request.method} {path} {soql}")
            if fault is not None:
                return fault
            self.api_used += 1
            if self.api_used > self.daily_limit:
                return self._limited(_errors(403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."))
            return self._limited(self._route(request, path))
        except _Refused as refused:
            return self._limited(refused.response)

    def _limited(self, response: httpx.Response) -> httpx.Response:
        response.headers["Sforce-Limit-Info"] = f"api-usage={self.api_used}/{self.daily_limit}"
        return response

    def _soql_of(self, request: httpx.Request) -> str:
        if request.url.path.endswith("/query"):
            return request.url.params.get("q", "")
        cursor = self._cursors.get(request.url.path.rsplit("/", 1)[-1])
        return cursor.soql if cursor is not None and "/query/" in request.url.path else ""

    def _fault(self, where: str) -> httpx.Response | None:
        for fault in self._faults:
            if fault.remaining > 0 and fault.pattern.search(where):
                fault.remaining -= 1
                headers = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else None
                if fault.status == 429 or fault.status >= 500:
                    self.refusals += 1
                code = fault.code or {429: "REQUEST_LIMIT_EXCEEDED", 403: "REQUEST_LIMIT_EXCEEDED",
                                      400: "INVALID_QUERY", 404: "NOT_FOUND"}.get(fault.status, "SERVER_ERROR")
                message = ("ConcurrentRequests (Concurrent API Requests) Limit exceeded." if code == "REQUEST_LIMIT_EXCEEDED"
                           else "injected failure")
                return self._limited(_errors(fault.status, code, message, headers=headers))
        return None

    def _token(self, request: httpx.Request) -> httpx.Response:
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        grant = form.get("grant_type")
        ok = False
        if grant == "client_credentials":
            ok = form.get("client_id") == self.client_id and form.get("client_secret") == self.client_secret
        elif grant == "urn:ietf:params:oauth:grant-type:jwt-bearer" and self.public_key:
            import jwt

            try:
                claims = jwt.decode(form.get("assertion", ""), self.public_key, algorithms=["RS256"],
                                    audience="https://login.salesforce.com")
                ok = claims.get("iss") == self.client_id and claims.get("sub") == self.username
            except jwt.PyJWTError:
                ok = False
        else:
            return httpx.Response(400, json={"error": "unsupported_grant_type",
                                             "error_description": "grant type not supported"})
        if not ok or not self.credentials_ok:
            return httpx.Response(400, json={"error": "invalid_client",
                                             "error_description": "invalid client credentials"})
        token = f"{ORG_ID}!{uuid.uuid4().hex}"
        self.sessions.add(token)
        self.tokens_issued += 1
        base = f"{request.url.scheme}://{request.url.netloc.decode()}"
        return httpx.Response(200, json={
            "access_token": token, "instance_url": base, "id": f"{base}/id/{ORG_ID}/{self.user_id}",
            "token_type": "Bearer", "issued_at": "1767600000000", "scope": "api",
            "signature": "c3RhbmRpbg=="})

    def _route(self, request: httpx.Request, path: str) -> httpx.Response:
        parts = path.strip("/").split("/")
        if len(parts) < 3 or parts[:2] != ["services", "data"] or parts[2].removeprefix("v") not in API_VERSIONS:
            return _errors(404, "NOT_FOUND", "The requested resource does not exist")
        rest = parts[3:]
        body = json.loads(request.content) if request.content else None
        method = request.method
        tooling = bool(rest) and rest[0] == "tooling"
        if tooling:
            rest = rest[1:]
        if rest[:1] == ["query"]:
            if len(rest) == 2:
                return self._more(rest[1])
            batch = re.search(r"batchSize=(\d+)", request.headers.get("sforce-query-options", ""))
            return self._query(request.url.params.get("q", ""), int(batch.group(1)) if batch else 2000, tooling)
        if rest == ["limits"]:
            return httpx.Response(200, json={"DailyApiRequests": {"Max": self.daily_limit,
                                                                  "Remaining": self.daily_limit - self.api_used}})
        if rest == ["composite", "sobjects"] and method == "PATCH":
            return self._collection(body)
        if rest[:1] == ["sobjects"]:
            return self._sobjects(method, rest[1:], body, tooling)
        return _errors(404, "NOT_FOUND", "The requested resource does not exist")

    # -- visibility ---------------------------------------------------------------------------------------

    def _grants(self, name: str) -> tuple[bool, bool]:
        """(read, edit) the integration user holds on an Opportunity field."""
        info = self.fields.get(name)
        if info is None:
            return False, False
        if info.standard_visible:
            return True, True
        mine = {a["PermissionSetId"] for a in self.records["PermissionSetAssignment"].values()
                if a["AssigneeId"] == self.user_id}
        read = edit = False
        for perm in self.records["FieldPermissions"].values():
            if perm["ParentId"] in mine and perm["Field"] == f"Opportunity.{name}":
                read = read or bool(perm["PermissionsRead"])
                edit = edit or bool(perm["PermissionsEdit"])
        return read, edit

    def visible_fields(self) -> dict[str, _Field]:
        return {n: f for n, f in self.fields.items() if self._grants(n)[0]}

    def _describe_of(self, sobject: str) -> dict[str, dict[str, Any]]:
        """Field name -> describe entry, for the objects SOQL may read."""
        if sobject == "Opportunity":
            return {n: f.describe() for n, f in self.visible_fields().items()}
        extra = {"Task": ["WhatId", "Subject", "Description", "CreatedDate", "OwnerId", "TaskSubtype"],
                 "ContentNote": ["Title", "Content", "CreatedDate", "OwnerId"],
                 "ContentDocumentLink": ["ContentDocumentId", "LinkedEntityId", "ShareType"],
                 "EmailMessage": ["RelatedToId", "Subject", "TextBody", "MessageDate", "CreatedDate", "FromName"],
                 "PermissionSet": ["Name", "Label", "IsOwnedByProfile", "ProfileId"],
                 "PermissionSetAssignment": ["PermissionSetId", "AssigneeId"],
                 "FieldPermissions": ["ParentId", "SobjectType", "Field", "PermissionsRead", "PermissionsEdit"],
                 "User": ["Name", "Username"], "Contact": ["Name", "Email", "Title"], "Account": ["Name"],
                 "Profile": ["Name"]}.get(sobject)
        if extra is None:
            raise _Refused(_errors(400, "INVALID_TYPE", f"sObject type '{sobject}' is not supported."))
        out = {n: {"name": n, "type": "string", "filterable": n != "Content" and n != "Description"}
               for n in ["Id", *extra]}
        for ref, target in (("OwnerId", "Owner"), ("ProfileId", "Profile")):
            if ref in out:
                out[ref] |= {"type": "reference", "relationshipName": target}
        return out

    # -- SOQL ---------------------------------------------------------------------------------------------

    def _query(self, soql: str, batch: int, tooling: bool) -> httpx.Response:
        self.soql.append(soql)
        parsed = _parse(soql)
        sobject = parsed["from"]
        if tooling:
            if sobject != "CustomField":
                return _errors(400, "INVALID_TYPE", f"sObject type '{sobject}' is not supported.")
            rows = list(self.custom_fields.values())
            fields = {n: {"name": n, "filterable": True} for n in
                      ("Id", "DeveloperName", "TableEnumOrId", "FullName", "Metadata")}
        else:
            fields = self._describe_of(sobject)
            rows = list(self.records[sobject].values())
        for name in parsed["fields"]:
            self._known(name, fields, sobject)
        where = parsed["where"]
        if where is not None:
            self._check_filter(where, fields, sobject)
            rows = [r for r in rows if _matches(where, r, self._resolve)]
        if parsed["order"]:
            key, desc = parsed["order"]
            rows.sort(key=lambda r: (r.get(key) is None, str(r.get(key) or "")), reverse=desc)
        if parsed["limit"] is not None:
            rows = rows[:parsed["limit"]]
        if parsed["count"]:
            return httpx.Response(200, json={"totalSize": len(rows), "done": True, "records": []})
        if tooling and ("Metadata" in parsed["fields"] or "FullName" in parsed["fields"]) and len(rows) > 1:
            return _errors(400, "MALFORMED_QUERY", "When retrieving results with Metadata or FullName fields, the "
                           "query qualifications must specify no more than one row for retrieval.")
        projected = [self._project(sobject, r, parsed["fields"], fields) for r in rows]
        batch = max(200, min(batch, 2000))
        return self._page(_Cursor(soql, projected, len(projected), tooling), 0, batch)

    def _page(self, cursor: _Cursor, start: int, batch: int) -> httpx.Response:
        chunk = cursor.rows[start:start + batch]
        body: dict[str, Any] = {"totalSize": cursor.total, "done": start + batch >= len(cursor.rows),
                                "records": chunk}
        if not body["done"]:
            locator = f"01g{uuid.uuid4().hex[:12]}-{start + batch}"
            self._cursors[locator] = cursor
            self._batch = batch
            body["nextRecordsUrl"] = f"/services/data/v{API_VERSIONS[-1]}/query/{locator}"
        return httpx.Response(200, json=body)

    def _more(self, locator: str) -> httpx.Response:
        cursor = self._cursors.pop(locator, None)
        if cursor is None:
            return _errors(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        return self._page(cursor, int(locator.rsplit("-", 1)[1]), self._batch)

    def _known(self, name: str, fields: dict[str, dict[str, Any]], sobject: str) -> None:
        if "." in name:
            rel, _, _ = name.partition(".")
            if not any(f.get("relationshipName") == rel for f in fields.values()):
                raise _Refused(_errors(400, "INVALID_FIELD", f"Didn't understand relationship '{rel}' in field "
                                       f"path. If you are attempting to use a custom relationship, be sure to "
                                       "append the '__r' after the custom relationship name."))
            return
        if name not in fields:
            raise _Refused(_errors(400, "INVALID_FIELD", f"No such column '{name}' on entity '{sobject}'. If you "
                                   "are attempting to use a custom field, be sure to append the '__c' after the "
                                   "custom field name. Please reference your WSDL or the describe call for the "
                                   "appropriate names."))

    def _check_filter(self, node: Any, fields: dict[str, dict[str, Any]], sobject: str) -> None:
        if node[0] in ("and", "or"):
            for child in node[1:]:
                self._check_filter(child, fields, sobject)
            return
        name = node[1]
        self._known(name, fields, sobject)
        if "." not in name and not fields[name].get("filterable", True):
            raise _Refused(_errors(400, "INVALID_FIELD", f"field '{name}' can not be filtered in a query call"))

    def _resolve(self, row: dict[str, Any], name: str) -> Any:
        """A field of the row, or `Rel.Field` through the row's `RelId` reference."""
        if "." not in name:
            return row.get(name)
        rel, _, sub = name.partition(".")
        target_id = row.get(rel + "Id") or row.get(rel.removesuffix("__r") + "__c")
        target = next((recs[target_id] for recs in self.records.values() if target_id in recs), None)
        return None if target is None else target.get(sub)

    def _project(self, sobject: str, row: dict[str, Any], names: list[str],
                 fields: dict[str, dict[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {"attributes": {"type": sobject,
                                              "url": f"/services/data/v{API_VERSIONS[-1]}/sobjects/{sobject}/{row['Id']}"}}
        for name in names:
            if "." in name:
                rel, _, sub = name.partition(".")
                ref = next(n for n, f in fields.items() if f.get("relationshipName") == rel)
                target_id = row.get(ref)
                target = next((recs[target_id] for recs in self.records.values() if target_id in recs), None)
                out[rel] = None if target is None else {"attributes": {"type": "Name"}, sub: target.get(sub)}
            elif name == "Content" and sobject == "ContentNote":
                out[name] = f"/services/data/v{API_VERSIONS[-1]}/sobjects/ContentNote/{row['Id']}/Content"
            else:
                out[name] = row.get(name)
        return out

    # -- sObjects -----------------------------------------------------------------------------------------

    def _sobjects(self, method: str, rest: list[str], body: Any, tooling: bool) -> httpx.Response:
        sobject = rest[0] if rest else ""
        if tooling:
            if sobject == "CustomField" and method == "POST" and len(rest) == 1:
                return self._create_field(body)
            if sobject == "CustomField" and method == "PATCH" and len(rest) == 2 and rest[1] in self.custom_fields:
                row = self.custom_fields[rest[1]]
                meta = (body or {}).get("Metadata") or {}
                row["Metadata"] = meta
                name = row["FullName"].partition(".")[2]
                self.fields[name].options = [v["fullName"] for v in ((meta.get("valueSet") or {})
                                             .get("valueSetDefinition") or {}).get("value") or []]
                return httpx.Response(204)
            return _errors(404, "NOT_FOUND", "The requested resource does not exist")
        if sobject == "Opportunity" and rest[1:] == ["describe"] and method == "GET":
            return httpx.Response(200, json={"name": "Opportunity", "custom": False,
                                             "fields": [f.describe() for f in self.visible_fields().values()]})
        if sobject == "ContentNote" and len(rest) == 3 and rest[2] == "Content" and method == "GET":
            note = self.records["ContentNote"].get(rest[1])
            if note is None:
                return _errors(404, "NOT_FOUND", "The requested resource does not exist")
            return httpx.Response(200, content=note["Content"], headers={"Content-Type": "application/octet-stream"})
        if sobject == "Opportunity" and len(rest) == 2 and method == "PATCH":
            error = self._update(rest[1], body or {})
            if error is None:
                return httpx.Response(204)
            status = 404 if error["errorCode"] in ("NOT_FOUND", "ENTITY_IS_DELETED") else 400
            return httpx.Response(status, json=[error])
        if sobject in ("PermissionSet", "PermissionSetAssignment", "FieldPermissions") and len(rest) == 1 \
                and method == "POST":
            return self._create_row(sobject, body or {})
        if sobject == "FieldPermissions" and len(rest) == 2 and method == "PATCH":
            row = self.records["FieldPermissions"].get(rest[1])
            if row is None:
                return _errors(404, "NOT_FOUND", "The requested resource does not exist")
            row.update(body or {})
            return httpx.Response(204)
        return _errors(404, "NOT_FOUND", "The requested resource does not exist")

    def _create_row(self, sobject: str, body: dict[str, Any]) -> httpx.Response:
        if sobject == "FieldPermissions":
            for perm in self.records["FieldPermissions"].values():
                if perm["ParentId"] == body.get("ParentId") and perm["Field"] == body.get("Field"):
                    return _errors(400, "DUPLICATE_VALUE", "duplicate value found: Field duplicates value on record "
                                   f"with id: {perm['Id']}", ["Field"])
            if body.get("ParentId") not in self.records["PermissionSet"]:  # a Profile Id included
                return _errors(400, "FIELD_INTEGRITY_EXCEPTION", "Parent ID: id value of incorrect type: "
                               f"{body.get('ParentId')}", ["ParentId"])
            name = str(body.get("Field", "")).partition(".")[2]
            if name not in self.fields:
                return _errors(400, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                               f"Field: bad value for restricted picklist field: {body.get('Field')}", ["Field"])
        if sobject == "PermissionSet" and any(p["Name"] == body.get("Name")
                                              for p in self.records["PermissionSet"].values()):
            return _errors(400, "DUPLICATE_DEVELOPER_NAME", "The API name you entered is already in use.", ["Name"])
        record_id = self._insert(sobject, {"IsOwnedByProfile": False, **body} if sobject == "PermissionSet" else body)
        return httpx.Response(201, json={"id": record_id, "success": True, "errors": []})

    def _create_field(self, body: Any) -> httpx.Response:
        full = str((body or {}).get("FullName") or "")
        meta = (body or {}).get("Metadata") or {}
        sobject, _, name = full.partition(".")
        if sobject != "Opportunity" or not _NAME.match(name) or (self.strict_names and not _CUSTOM.match(name)):
            return _errors(400, "INVALID_FIELD", f"Invalid field name {full!r}: a custom field's API name ends "
                           "in __c and has letters, digits and single underscores", ["FullName"])
        kind = _META_TO_TYPE.get(str(meta.get("type")))
        if kind is None or not meta.get("label"):
            return _errors(400, "FIELD_INTEGRITY_EXCEPTION", f"Unsupported or incomplete Metadata for {full}",
                           ["Metadata"])
        dev = name.removesuffix("__c")
        if any(r["DeveloperName"] == dev and r["TableEnumOrId"] == "Opportunity" for r in self.custom_fields.values()):
            return _errors(400, "DUPLICATE_DEVELOPER_NAME",
                           f"There is already a field named {dev} on Opportunity.", ["FullName"])
        options = [v["fullName"] for v in ((meta.get("valueSet") or {}).get("valueSetDefinition") or {})
                   .get("value") or []]
        self.fields[name] = _Field(name, kind, meta["label"], options)
        row_id = self._new_id("CustomField")
        self.custom_fields[row_id] = {"Id": row_id, "DeveloperName": dev, "TableEnumOrId": "Opportunity",
                                      "FullName": full, "Metadata": meta}
        return httpx.Response(201, json={"id": row_id, "success": True, "errors": []})

    def _update(self, record_id: str, values: dict[str, Any]) -> dict[str, Any] | None:
        """None, or the error object (`errorCode` form) for one record's update."""
        record = self.records["Opportunity"].get(record_id)
        if record is None:
            return {"errorCode": "ENTITY_IS_DELETED", "message": "entity is deleted", "fields": []}
        if record_id in self.validation_rules:  # an admin's validation rule refuses any save of this record
            return {"errorCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION", "message": self.validation_rules[record_id],
                    "fields": []}
        for name, value in values.items():
            if name in ("attributes", "id", "Id"):
                continue
            read, edit = self._grants(name)
            if not read:
                return {"errorCode": "INVALID_FIELD", "message": f"No such column '{name}' on sobject of type "
                        "Opportunity", "fields": [name]}
            if not edit:
                return {"errorCode": "INVALID_FIELD_FOR_INSERT_UPDATE", "message": f"Unable to create/update "
                        f"fields: {name}. Please check the security settings of this field.", "fields": [name]}
            info = self.fields[name]
            if value is not None and info.type in ("picklist", "multipicklist"):
                bad = [v for v in str(value).split(";") if v not in info.options]
                if bad:
                    return {"errorCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                            "message": f"{info.label}: bad value for restricted picklist field: {bad[0]}",
                            "fields": [name]}
        for name, value in values.items():
            if name not in ("attributes", "id", "Id"):
                record[name] = None if value == "" else value
        record["LastModifiedDate"] = format_datetime(datetime.now(timezone.utc))
        return None

    def _collection(self, body: Any) -> httpx.Response:
        records = (body or {}).get("records") or []
        if len(records) > 200:
            return _errors(400, "EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than 200 records "
                           "into this call")
        if (body or {}).get("allOrNone"):
            return _errors(400, "INVALID_FIELD", "this stand-in answers allOrNone: false only")
        results = []
        for rec in records:
            if (rec.get("attributes") or {}).get("type") != "Opportunity" or not rec.get("id"):
                results.append({"success": False, "errors": [{"statusCode": "MALFORMED_ID",
                                                              "message": "missing id or type", "fields": []}]})
                continue
            error = self._update(str(rec["id"]), rec)
            if error is None:
                results.append({"id": rec["id"], "success": True, "errors": []})
            else:
                results.append({"success": False, "errors": [{"statusCode": error["errorCode"],
                                                              "message": error["message"],
                                                              "fields": error["fields"]}]})
        return httpx.Response(200, json=results)


# ---- a SOQL subset ---------------------------------------------------------------------------------------


def _tokens(text: str) -> list[tuple[str, str]]:
    out, pos = [], 0
    text = text.strip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise _Refused(_errors(400, "MALFORMED_QUERY", f"unexpected token at: {text[pos:pos + 20]}"))
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind)))
        pos = m.end()
    return out


def _literal(kind: str, value: str) -> Any:
    if kind == "str":
        return re.sub(r"\\(.)", lambda m: {"n": "\n"}.get(m.group(1), m.group(1)), value[1:-1])
    if kind == "num":
        return float(value)
    low = value.lower()
    return {"null": None, "true": True, "false": False}.get(low, value)


def _parse(soql: str) -> dict[str, Any]:
    toks = _tokens(soql)
    pos = 0

    def peek(word: str) -> bool:
        return pos < len(toks) and toks[pos][1].upper() == word

    def take() -> tuple[str, str]:
        nonlocal pos
        if pos >= len(toks):
            raise _Refused(_errors(400, "MALFORMED_QUERY", "unexpected end of query"))
        pos += 1
        return toks[pos - 1]

    if take()[1].upper() != "SELECT":
        raise _Refused(_errors(400, "MALFORMED_QUERY", "expecting SELECT"))
    fields: list[str] = []
    count = False
    while True:
        kind, word = take()
        if word.upper() == "COUNT" and peek("("):
            take(), take()
            count = True
        else:
            fields.append(word)
        if not peek(","):
            break
        take()
    if take()[1].upper() != "FROM":
        raise _Refused(_errors(400, "MALFORMED_QUERY", "expecting FROM"))
    sobject = take()[1]

    def condition() -> Any:
        node = conjunction()
        items = [node]
        while peek("OR"):
            take()
            items.append(conjunction())
        return items[0] if len(items) == 1 else ("or", *items)

    def conjunction() -> Any:
        items = [atom()]
        while peek("AND"):
            take()
            items.append(atom())
        return items[0] if len(items) == 1 else ("and", *items)

    def atom() -> Any:
        if peek("("):
            take()
            node = condition()
            take()
            return node
        name = take()[1]
        op = take()[1].upper()
        if op == "IN":
            take()
            values = []
            while True:
                values.append(_literal(*take()))
                if take()[1] == ")":
                    break
            return ("in", name, values)
        return (op.lower(), name, _literal(*take()))

    where = None
    if peek("WHERE"):
        take()
        where = condition()
    order = None
    if peek("ORDER"):
        take(), take()
        key = take()[1]
        desc = False
        if peek("ASC") or peek("DESC"):
            desc = take()[1].upper() == "DESC"
        order = (key, desc)
    limit = None
    if peek("LIMIT"):
        take()
        limit = int(float(take()[1]))
    if pos != len(toks):
        raise _Refused(_errors(400, "MALFORMED_QUERY", f"unexpected token: {toks[pos][1]}"))
    return {"fields": fields, "count": count, "from": sobject, "where": where, "order": order, "limit": limit}


def _matches(node: Any, row: dict[str, Any], resolve: Callable[[dict[str, Any], str], Any]) -> bool:
    op = node[0]
    if op == "and":
        return all(_matches(n, row, resolve) for n in node[1:])
    if op == "or":
        return any(_matches(n, row, resolve) for n in node[1:])
    have = resolve(row, node[1])
    if op == "in":
        return have in node[2]
    if op == "=":
        return have == node[2]
    if op == "!=":
        return have != node[2]
    if op == "like":
        pattern = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c)
                          for c in re.sub(r"\\([%_])", r"\1", str(node[2])))
        return have is not None and re.fullmatch(pattern, str(have), re.IGNORECASE | re.DOTALL) is not None
    raise _Refused(_errors(400, "MALFORMED_QUERY", f"unsupported operator {op}"))


# ---- the contract suite's environment --------------------------------------------------------------------

CONTRACT_PAGE_SIZE = 200  # the smallest query batch Salesforce allows
CONTRACT_OPS = {
    "list": r"^GET \S+/query\S* SELECT Id, Name FROM Opportunity ORDER BY Id",
    "get": r"^GET \S+/query\S* SELECT Id, Name, StageName\b.* FROM Opportunity WHERE Id IN",
    "notes": r"^GET \S+/query\S* SELECT .* FROM Task ",
    "write": r"^PATCH \S+/(sobjects/Opportunity/|composite/sobjects)",
}


def make_crm(standin: SalesforceStandIn, field_map: Any, *, sleep: Any = None,
             **kwargs: Any) -> Any:
    from engine.crm.salesforce import SalesforceCRM
    from engine.crm.salesforce_auth import SalesforceAuth

    client = httpx.AsyncClient(transport=standin.transport())
    auth = SalesforceAuth(client, BASE_URL, standin.client_id, client_secret=standin.client_secret)
    extra = {"sleep": sleep} if sleep is not None else {}
    return SalesforceCRM(client, auth, field_map, **extra, **kwargs)


async def build_contract_env(tmp_path: Path) -> "ContractEnv":
    from engine.medic import default_field_map
    from tests.standins.contract import FakeClock, standin_env

    clock = FakeClock()
    standin = SalesforceStandIn(strict_names=False)
    crm = make_crm(standin, default_field_map(), sleep=clock.sleep, query_batch=CONTRACT_PAGE_SIZE)
    return standin_env(standin, crm, CONTRACT_OPS, clock.sleeps, page_size=CONTRACT_PAGE_SIZE, note_page_size=0,
                       token_env="SALESFORCE_CLIENT_ID")

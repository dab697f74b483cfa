"""Salesforce's encodings, both ways: describe field types to FieldSpecs, record values to decoded values
(see `engine.models.Deal`) and back, SOQL literals, the Tooling `CustomField` definitions Scout creates, and
error arrays to one line. Pure functions only; the HTTP side lives in `engine.crm.salesforce`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any, Iterable, Sequence

from engine.models import FieldSpec, FieldType

MULTI_SEPARATOR = ";"
# Record Ids: 15 case-sensitive or 18 case-insensitive characters. Anything else is no Id at all.
_ID = re.compile(r"[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?")
_TEXT_TYPES = {"string", "textarea", "email", "phone", "url", "id", "encryptedstring", "combobox"}
_NUMBER_TYPES = {"double", "currency", "percent", "int", "long"}
_PERSON_OBJECTS = {"User", "Contact"}
LONG_TEXT_LENGTH = 32_768  # a Scout suggestion plus its reason fits with room; LongTextArea allows 131,072


def is_record_id(text: str) -> bool:
    return _ID.fullmatch(text) is not None


@dataclass(frozen=True)
class FieldInfo:
    """One field from `describe`, with what decoding and encoding need."""

    name: str
    sf_type: str
    label: str = ""
    options: dict[str, str] = field(default_factory=dict)  # picklist API value -> label
    reference_to: tuple[str, ...] = ()
    relationship: str | None = None  # e.g. Owner for OwnerId: SOQL reads `Owner.Name` through it
    filterable: bool = True
    custom: bool = False

    @property
    def field_type(self) -> FieldType:
        return engine_type(self.sf_type, self.reference_to)

    def spec(self) -> FieldSpec:
        return FieldSpec(name=self.name, type=self.field_type, label=self.label, options=tuple(self.options.values()))


def engine_type(sf_type: str, reference_to: Sequence[str] = ()) -> FieldType:
    if sf_type == "picklist":
        return FieldType.SELECT
    if sf_type == "multipicklist":
        return FieldType.MULTI_SELECT
    if sf_type in ("date", "datetime"):
        return FieldType.DATE
    if sf_type in _NUMBER_TYPES:
        return FieldType.NUMBER
    if sf_type == "reference":
        return FieldType.PERSON if set(reference_to) & _PERSON_OBJECTS else FieldType.RECORD
    return FieldType.TEXT  # string, textarea and the rest read as text


def field_info(raw: dict[str, Any]) -> FieldInfo:
    options = {str(p["value"]): str(p.get("label") or p["value"]) for p in raw.get("picklistValues") or []
               if p.get("active", True) and p.get("value") is not None}
    return FieldInfo(
        name=str(raw["name"]), sf_type=str(raw.get("type") or "string"), label=str(raw.get("label") or ""),
        options=options, reference_to=tuple(raw.get("referenceTo") or ()),
        relationship=raw.get("relationshipName") or None, filterable=bool(raw.get("filterable", True)),
        custom=bool(raw.get("custom", False)),
    )


def parse_datetime(raw: Any) -> datetime | None:
    """Salesforce's `2026-01-05T09:00:00.000+0000` (or a date) as an aware datetime."""
    if not isinstance(raw, str) or not raw:
        return None
    text = raw.strip()
    if len(text) == 10:
        return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)
    text = re.sub(r"([+-]\d\d)(\d\d)$", r"\1:\2", text.replace("Z", "+00:00"))
    when = datetime.fromisoformat(text)
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


def format_datetime(when: datetime) -> str:
    when = when.astimezone(timezone.utc) if when.tzinfo else when.replace(tzinfo=timezone.utc)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}+0000"


def decode_value(info: FieldInfo | None, raw: Any, related_name: Any = None) -> Any:
    """A record's JSON value, decoded. `null` is empty for every type, and so is an empty multi-select."""
    if raw is None or raw == "":
        return None
    if info is None:
        return raw
    kind = info.field_type
    if kind is FieldType.MULTI_SELECT:
        values = [info.options.get(v, v) for v in str(raw).split(MULTI_SEPARATOR) if v]
        return values or None
    if kind is FieldType.SELECT:
        return info.options.get(str(raw), str(raw))
    if kind is FieldType.NUMBER:
        return float(raw)
    if kind is FieldType.DATE:
        return str(raw)[:10]
    if kind in (FieldType.PERSON, FieldType.RECORD):
        return str(related_name) if related_name not in (None, "") else str(raw)
    return raw if isinstance(raw, str) else str(raw)


def encode_value(info: FieldInfo, value: Any) -> Any:
    """A decoded value as the record's JSON value; None clears the field. Raises ValueError if it cannot fit."""
    if value is None:
        return None
    kind = info.field_type
    by_label = {label.casefold(): api for api, label in info.options.items()}
    if kind is FieldType.MULTI_SELECT:
        items = [value] if isinstance(value, str) else list(value)
        if not items:
            return None
        return MULTI_SEPARATOR.join(_option(info, by_label, str(v)) for v in items)
    if kind is FieldType.SELECT:
        return _option(info, by_label, str(value))
    if kind is FieldType.NUMBER:
        return float(value)
    if kind is FieldType.DATE:
        return date.fromisoformat(str(value)[:10]).isoformat()
    if isinstance(value, (list, tuple)):
        raise ValueError("a list does not fit a text field")
    return str(value)


def _option(info: FieldInfo, by_label: dict[str, str], label: str) -> str:
    api = by_label.get(label.casefold())
    if api is None:
        if label in info.options:
            return label
        raise ValueError(f"'{label}' is not an option of {info.name} ({', '.join(info.options.values())})")
    return api


def soql_string(text: str) -> str:
    """A SOQL string literal: backslash and quote escaped, in single quotes."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n") + "'"


def soql_like(text: str) -> str:
    """A LIKE pattern matching `text` anywhere: its own % and _ escaped."""
    escaped = text.replace("\\", "\\\\").replace("'", "\\'").replace("%", "\\%").replace("_", "\\_")
    return f"'%{escaped}%'"


def soql_ids(ids: Iterable[str]) -> str:
    return "(" + ", ".join(soql_string(i) for i in ids) + ")"


def error_line(body: Any) -> str:
    """Salesforce's error array (`[{message, errorCode, fields}]`, or `statusCode` in a collection's result)
    as one line: `INVALID_FIELD: No such column 'X' (fields: X); ...`."""
    items = body if isinstance(body, list) else [body] if isinstance(body, dict) else []
    parts = []
    for item in items:
        if not isinstance(item, dict):
            continue
        code = item.get("errorCode") or item.get("statusCode") or item.get("error") or ""
        message = " ".join(str(item.get("message") or item.get("error_description") or "").split())
        fields = item.get("fields") or []
        where = f" (fields: {', '.join(map(str, fields))})" if fields else ""
        parts.append(f"{code}: {message}{where}".strip(": ") if code else f"{message}{where}")
    return "; ".join(p for p in parts if p)


def error_codes(body: Any) -> set[str]:
    items = body if isinstance(body, list) else [body] if isinstance(body, dict) else []
    return {str(i.get("errorCode") or i.get("statusCode") or i.get("error")) for i in items if isinstance(i, dict)}


# ---- Tooling API CustomField definitions -----------------------------------------------------------------

_METADATA_TYPES: dict[str, FieldType] = {
    "LongTextArea": FieldType.TEXT, "TextArea": FieldType.TEXT, "Text": FieldType.TEXT, "Html": FieldType.TEXT,
    "Email": FieldType.TEXT, "Phone": FieldType.TEXT, "Url": FieldType.TEXT, "Picklist": FieldType.SELECT,
    "MultiselectPicklist": FieldType.MULTI_SELECT, "Number": FieldType.NUMBER, "Currency": FieldType.NUMBER,
    "Percent": FieldType.NUMBER, "Date": FieldType.DATE, "DateTime": FieldType.DATE, "Lookup": FieldType.RECORD,
    "MasterDetail": FieldType.RECORD,
}


def metadata_type(metadata_type_name: str | None, reference_to: str | None = None) -> FieldType | None:
    """The engine type of a Tooling `CustomField.Metadata.type`; None for one Scout does not know."""
    kind = _METADATA_TYPES.get(metadata_type_name or "")
    if kind is FieldType.RECORD and reference_to in _PERSON_OBJECTS:
        return FieldType.PERSON
    return kind


def developer_name(api_name: str) -> str:
    """`Scout_Metrics__c` -> `Scout_Metrics`: how Tooling's CustomField names a field."""
    return api_name[:-3] if api_name.endswith("__c") else api_name


def custom_field_definition(sobject: str, spec: FieldSpec) -> dict[str, Any]:
    """The body of `POST /tooling/sobjects/CustomField` that creates `spec` on `sobject`."""
    label = (spec.label or spec.name)[:40]
    metadata: dict[str, Any] = {"label": label, "description": "Written by Scout: a cited suggestion. "
                                "Reps own the field it shadows; a reviewer promotes a suggestion there."}
    if spec.type is FieldType.TEXT:
        metadata |= {"type": "LongTextArea", "length": LONG_TEXT_LENGTH, "visibleLines": 3}
    elif spec.type in (FieldType.SELECT, FieldType.MULTI_SELECT):
        metadata |= {"type": "Picklist" if spec.type is FieldType.SELECT else "MultiselectPicklist",
                     "valueSet": {"restricted": True, "valueSetDefinition": {"sorted": False, "value": [
                         {"fullName": o, "label": o, "default": False} for o in spec.options]}}}
        if spec.type is FieldType.MULTI_SELECT:
            metadata["visibleLines"] = 4
    elif spec.type is FieldType.NUMBER:
        metadata |= {"type": "Number", "precision": 18, "scale": 2}
    elif spec.type is FieldType.DATE:
        metadata |= {"type": "Date"}
    else:
        raise ValueError(f"Scout does not create {spec.type} fields ({spec.name})")
    # The name goes as given: Salesforce refuses one without `__c`, with an error array Scout shows as is.
    return {"FullName": f"{sobject}.{spec.name}", "Metadata": metadata}

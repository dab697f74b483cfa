"""HubSpot's encodings, both ways: note HTML to plain text, property definitions to FieldSpecs,
property strings to decoded values (see `engine.models.Deal`) and back.

Pure functions and small value types only; the HTTP side lives in `engine.crm.hubspot`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from html import unescape
from html.parser import HTMLParser
from typing import Any

from engine.models import FieldSpec, FieldType

MULTI_SEPARATOR = ";"

# ---------------------------------------------------------------------------------------------------------
# Note bodies. `hs_note_body` is HTML; citations are checked against the text produced here, so the
# conversion must be deterministic and keep every word in reading order.

_BLOCK_TAGS = frozenset(
    {
        "address", "article", "aside", "blockquote", "dd", "div", "dl", "dt", "figcaption", "figure",
        "footer", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p",
        "pre", "section", "table", "tbody", "thead", "tfoot", "tr", "ul",
    }
)
_CELL_TAGS = frozenset({"td", "th"})
_SKIP_TAGS = frozenset({"script", "style", "head", "title", "template"})
_TAG_LIKE = re.compile(r"</?[a-zA-Z][^>]*>")
_INLINE_WS = re.compile(r"[ \t\f\v\r\u00a0]+")


class _TextCollector(HTMLParser):
    """Collects text in reading order. A block boundary is a *soft* break (several in a row make one line
    break, so `<p>a</p><p>b</p>` is two lines, not two lines and a blank); `<br>` is a *hard* break, so
    HubSpot's empty paragraph `<p><br></p>` still reads as a blank line."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0
        self._line_start = True

    def _soft_break(self) -> None:
        if not self._line_start:
            self.parts.append("\n")
            self._line_start = True

    def _hard_break(self) -> None:
        self.parts.append("\n")
        self._line_start = True

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skip += 1
        elif tag == "br":
            self._hard_break()
        elif tag == "li":
            self._soft_break()
            self.parts.append("- ")
        elif tag in _BLOCK_TAGS:
            self._soft_break()
        elif tag in _CELL_TAGS:
            self.parts.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self._hard_break()
        elif tag == "hr":
            self._soft_break()

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skip = max(0, self._skip - 1)
        elif tag in _BLOCK_TAGS:
            self._soft_break()
        elif tag in _CELL_TAGS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        # Source line breaks inside HTML text are just spaces; only tags make lines.
        text = re.sub(r"[ \t\n\r\f\v]+", " ", data)
        if self._line_start:
            text = text.lstrip(" ")
        if text:
            self.parts.append(text)
            self._line_start = False


def _tidy(text: str) -> str:
    lines = [_INLINE_WS.sub(" ", line).strip() for line in text.split("\n")]
    out: list[str] = []
    for line in lines:
        # At most one blank line in a row.
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()


def html_to_text(body: str | None) -> str:
    """Plain text of a note body: block tags become line breaks, entities are unescaped, whitespace tidied.

    A body with no tags at all (notes created through the API can be plain text) keeps its own line breaks.
    """
    if not body:
        return ""
    if not _TAG_LIKE.search(body):
        return _tidy(unescape(body))
    parser = _TextCollector()
    parser.feed(body)
    parser.close()
    return _tidy("".join(parser.parts))


# ---------------------------------------------------------------------------------------------------------
# Property definitions.

OWNER_PROPERTY = "hubspot_owner_id"


@dataclass(frozen=True)
class PropertyInfo:
    """What the adapter remembers of one HubSpot property: enough to decode and encode its values."""

    name: str
    label: str
    hs_type: str
    field_type_hs: str
    field_type: FieldType
    # option value (what the API carries) -> label (what people see and the engine matches)
    options: dict[str, str] = field(default_factory=dict)
    hubspot_defined: bool = False
    read_only: bool = False

    def spec(self) -> FieldSpec:
        return FieldSpec(name=self.name, type=self.field_type, label=self.label, options=tuple(self.options.values()))

    def option_value(self, label: str) -> str:
        """The API value for a label (or for a value given directly), matched case-insensitively."""
        wanted = label.strip().casefold()
        for value, shown in self.options.items():
            if shown.casefold() == wanted or value.casefold() == wanted:
                return value
        return label.strip()


def engine_type(prop: dict[str, Any]) -> FieldType:
    """Map HubSpot's (type, fieldType) pair onto the engine's field types."""
    hs_type = prop.get("type") or "string"
    field_type = prop.get("fieldType") or ""
    if prop.get("name") == OWNER_PROPERTY or prop.get("referencedObjectType") == "OWNER":
        return FieldType.PERSON
    if hs_type == "number":
        return FieldType.NUMBER
    if hs_type in ("date", "datetime"):
        return FieldType.DATE
    if hs_type == "enumeration":
        return FieldType.MULTI_SELECT if field_type == "checkbox" else FieldType.SELECT
    if hs_type == "bool":
        return FieldType.SELECT
    return FieldType.TEXT


def property_info(prop: dict[str, Any]) -> PropertyInfo:
    options = {
        str(o.get("value")): str(o.get("label") or o.get("value"))
        for o in prop.get("options") or []
        if o.get("value") is not None and not o.get("hidden")
    }
    if prop.get("type") == "bool" and not options:
        options = {"true": "true", "false": "false"}
    modification = prop.get("modificationMetadata") or {}
    return PropertyInfo(
        name=str(prop["name"]),
        label=str(prop.get("label") or prop["name"]),
        hs_type=str(prop.get("type") or "string"),
        field_type_hs=str(prop.get("fieldType") or "text"),
        field_type=engine_type(prop),
        options=options,
        hubspot_defined=bool(prop.get("hubspotDefined")),
        read_only=bool(modification.get("readOnlyValue") or prop.get("calculated")),
    )


def property_definition(spec: FieldSpec, group_name: str) -> dict[str, Any]:
    """The body for `POST /crm/v3/properties/deals` that creates `spec`.

    Options are created with value == label so what a reviewer sees is what the API carries.
    """
    pairs = {
        FieldType.TEXT: ("string", "textarea"),
        FieldType.NUMBER: ("number", "number"),
        FieldType.DATE: ("date", "date"),
        FieldType.SELECT: ("enumeration", "select"),
        FieldType.MULTI_SELECT: ("enumeration", "checkbox"),
    }
    if spec.type not in pairs:
        raise ValueError(f"Scout does not create {spec.type} properties ({spec.name})")
    hs_type, field_type = pairs[spec.type]
    body: dict[str, Any] = {
        "name": spec.name,
        "label": spec.label or spec.name,
        "type": hs_type,
        "fieldType": field_type,
        "groupName": group_name,
        "description": "Suggested by Scout from call notes; a reviewer promotes it to the rep's field.",
    }
    if hs_type == "enumeration":
        body["options"] = option_definitions(spec.options)
    return body


def option_definitions(labels: tuple[str, ...] | list[str]) -> list[dict[str, Any]]:
    return [{"label": label, "value": label, "displayOrder": i, "hidden": False} for i, label in enumerate(labels)]


# ---------------------------------------------------------------------------------------------------------
# Values. HubSpot carries every property value as a string (or null); the engine works on decoded values.


def parse_timestamp(raw: Any) -> datetime | None:
    """A HubSpot instant: epoch milliseconds (number or digit string) or an ISO 8601 string."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, (int, float)) or (isinstance(raw, str) and raw.strip().lstrip("-").isdigit()):
        return datetime.fromtimestamp(int(raw) / 1000, tz=timezone.utc)
    text = str(raw).strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def decode_value(info: PropertyInfo | None, raw: Any) -> Any:
    """The decoded form of one property value. null and "" are both 'empty' (None)."""
    if raw is None:
        return None
    text = str(raw)
    if text.strip() == "":
        return None
    kind = info.field_type if info else FieldType.TEXT
    if kind is FieldType.NUMBER:
        try:
            return float(text)
        except ValueError:
            return None
    if kind is FieldType.DATE:
        instant = parse_timestamp(text)
        if instant is not None:
            return instant.date().isoformat()
        try:
            return date.fromisoformat(text[:10]).isoformat()
        except ValueError:
            return None
    if kind is FieldType.MULTI_SELECT:
        values = [v.strip() for v in text.split(MULTI_SEPARATOR) if v.strip()]
        labels = [info.options.get(v, v) for v in values] if info else values
        return labels or None
    if kind in (FieldType.SELECT, FieldType.PERSON) and info is not None:
        # Owner properties list owners as options (value = owner id, label = name) when HubSpot includes them.
        return info.options.get(text, text)
    return text


def _number_text(value: Any) -> str:
    number = float(value)
    return str(int(number)) if number.is_integer() else repr(number)


def encode_value(info: PropertyInfo, value: Any) -> str:
    """The string HubSpot expects for a decoded value; None clears the property with ""."""
    if value is None:
        return ""
    kind = info.field_type
    if kind is FieldType.NUMBER:
        if isinstance(value, str) and value.strip() == "":
            return ""
        return _number_text(value)
    if kind is FieldType.DATE:
        day = date.fromisoformat(str(value)[:10])
        if info.hs_type == "datetime":
            return f"{day.isoformat()}T00:00:00Z"
        return day.isoformat()
    if kind is FieldType.MULTI_SELECT:
        items = value if isinstance(value, (list, tuple, set, frozenset)) else str(value).split(MULTI_SEPARATOR)
        chosen: list[str] = []
        for item in items:
            text = str(item).strip()
            if text:
                encoded = info.option_value(text) if info.options else text
                if encoded not in chosen:
                    chosen.append(encoded)
        return MULTI_SEPARATOR.join(chosen)
    if kind in (FieldType.SELECT, FieldType.PERSON):
        return info.option_value(str(value)) if info.options else str(value)
    return str(value)

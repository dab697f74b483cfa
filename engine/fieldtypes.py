"""Per-type rules on decoded values: when a field counts as empty, and how a proposed value is coerced.

Adapters decode their vendor's encoding (Attio arrays, HubSpot strings) into the decoded form described
on `engine.models.Deal`; everything here works on that form, so one table serves every CRM.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any, Callable

from engine.errors import CoercionError  # noqa: F401 (re-exported)
from engine.models import FieldSpec, FieldType

# Text a rep types to mean "not known yet". Treated as empty so Scout may suggest; documented in README.
TEXT_PLACEHOLDERS = frozenset({"", "-", "--", "?", "n/a", "na", "tbd", "tbc", "unknown", "none", "todo"})


def _text_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip().casefold() in TEXT_PLACEHOLDERS)


def _number_empty(value: Any) -> bool:
    # 0 is a real answer for a number field; only absence is empty.
    if value is None:
        return True
    return isinstance(value, str) and value.strip() == ""


def _scalar_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def _multi_empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip() == ""
    return not any(str(v).strip() for v in value)


_EMPTY: dict[FieldType, Callable[[Any], bool]] = {
    FieldType.TEXT: _text_empty,
    FieldType.NUMBER: _number_empty,
    FieldType.DATE: _scalar_empty,
    FieldType.SELECT: _scalar_empty,
    FieldType.MULTI_SELECT: _multi_empty,
    FieldType.PERSON: _scalar_empty,
    FieldType.RECORD: _scalar_empty,
}


def is_empty(field_type: FieldType, value: Any) -> bool:
    return _EMPTY[field_type](value)


# The longest text Scout files in a field; a longer value is refused, never cut (a cut value says something
# its excerpt may not).
MAX_TEXT_CHARS = 2000


_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


def _match_option(spec: FieldSpec, raw: str) -> str:
    wanted = raw.strip().casefold()
    for option in spec.options:
        if option.casefold() == wanted:
            return option
    raise CoercionError(f"'{raw}' is not an option of {spec.name} ({', '.join(spec.options)})")


def coerce(spec: FieldSpec, value: str | list[str]) -> Any:
    """Turn a proposed value into the decoded form of `spec`'s type, or raise CoercionError."""
    if spec.type is FieldType.MULTI_SELECT:
        items = value if isinstance(value, list) else [v for v in re.split(r"[;,]", value)]
        chosen: list[str] = []
        for item in items:
            if item.strip():
                option = _match_option(spec, item) if spec.options else item.strip()
                if option not in chosen:
                    chosen.append(option)
        if not chosen:
            raise CoercionError("no values")
        return sorted(chosen)
    text = "; ".join(value) if isinstance(value, list) else value
    text = text.strip()
    if not text:
        raise CoercionError("empty value")
    if spec.type is FieldType.NUMBER:
        m = _NUMBER.search(text)
        if not m:
            raise CoercionError(f"'{text}' is not a number")
        return float(m.group(0).replace(",", ""))
    if spec.type is FieldType.DATE:
        try:
            return date.fromisoformat(text[:10]).isoformat()
        except ValueError as exc:
            raise CoercionError(f"'{text}' is not an ISO date") from exc
    if spec.type is FieldType.SELECT:
        return _match_option(spec, text) if spec.options else text
    if spec.type in (FieldType.PERSON, FieldType.RECORD):
        raise CoercionError(f"{spec.name} is a {spec.type} link; Scout only suggests into text-like fields")
    if len(text) > MAX_TEXT_CHARS:
        raise CoercionError(f"value is {len(text):,} characters; {spec.name} holds at most {MAX_TEXT_CHARS:,}")
    return text


def same_value(a: Any, b: Any) -> bool:
    """Equality on decoded values that ignores list order and trivial whitespace/case in text."""
    if isinstance(a, list) and isinstance(b, list):
        return sorted(map(str, a)) == sorted(map(str, b))
    if isinstance(a, str) and isinstance(b, str):
        return " ".join(a.split()).casefold() == " ".join(b.split()).casefold()
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return float(a) == float(b)
    return a == b


def display(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(map(str, value))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)

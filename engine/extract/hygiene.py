"""Invariant 3, the value's own shape: a value is refused before anything checks what it says.

Refused, with the reason logged: NUL and other control characters (tab excepted), bidirectional overrides
and isolates (they make a value read differently from what is stored), a value longer than the field holds
(never cut), a list offered for a single-value field and text offered for a multi-select.

Every `scout_*` field is single-line: a newline (or a Unicode line separator) in a value is collapsed with
the whitespace around it into one space. Copying a quote across a hard-wrapped note line legitimately
brings one in, and a newline carries no meaning a CRM field could keep.
"""

from __future__ import annotations

import re
from typing import overload

from engine.fieldtypes import MAX_TEXT_CHARS
from engine.models import FieldSpec, FieldType

_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Either kind at once: the bidi controls, and Unicode's Cc category (C0, DEL, C1) but for tab. One regex
# search finds the first, where a per-character loop was a tenth of a pass's time.
_REFUSED = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_LINE_BREAK = re.compile(r"\s*[\n\r\u2028\u2029\u0085\u000b\u000c]+\s*")


@overload
def visible(value: str) -> str: ...
@overload
def visible(value: None) -> None: ...
@overload
def visible(value: object) -> object: ...
def visible(value: object) -> object:
    """A refused value as the log keeps it: control characters and bidi overrides spelled out ("\\u202e"), so
    no terminal, table or Slack message that shows the drop is steered by them."""
    if isinstance(value, list):
        return [visible(v) for v in value]
    if not isinstance(value, str):
        return value
    return _REFUSED.sub(lambda found: f"\\u{ord(found.group()):04x}", value)


def collapse_lines(value: str) -> str:
    return _LINE_BREAK.sub(" ", value).strip()


def _char_problem(text: str, what: str = "value") -> str | None:
    found = _REFUSED.search(text)
    if found is None:
        return None
    ch = found.group()
    if ch in _BIDI:
        return f"{what} contains a bidirectional override (U+{ord(ch):04X}), which makes it read differently"
    return f"{what} contains a control character (U+{ord(ch):04X})"


def excerpt_problem(excerpt: str) -> str | None:
    """An excerpt is shown wherever its value is: it is refused for the same characters (line breaks aside)."""
    return _char_problem(_LINE_BREAK.sub(" ", excerpt), "excerpt")


def clean_value(value: object, spec: FieldSpec) -> tuple[str | list[str] | None, str | None]:
    """(the value with line breaks collapsed, None) or (None, the reason it is refused)."""
    if spec.type is FieldType.MULTI_SELECT:
        if not isinstance(value, list):
            return None, f"text offered for {spec.name}, a multi-select: it takes a list of options"
        items = value
    elif isinstance(value, list):
        return None, f"a list offered for {spec.name}, which holds one {spec.type.value} value"
    else:
        items = [value]
    out: list[str] = []
    for item in items:
        if not isinstance(item, str):
            return None, f"value for {spec.name} is not text ({type(item).__name__})"
        # Line breaks are collapsed, not refused, so they are checked after the other control characters.
        problem = _char_problem(_LINE_BREAK.sub(" ", item))
        if problem:
            return None, problem
        item = collapse_lines(item)
        if len(item) > MAX_TEXT_CHARS:
            return None, (f"value is {len(item):,} characters; {spec.name} holds at most {MAX_TEXT_CHARS:,} "
                          "(refused, not cut)")
        out.append(item)
    return (out if spec.type is FieldType.MULTI_SELECT else out[0]), None

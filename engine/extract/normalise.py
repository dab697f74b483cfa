"""The one text normalisation every citation comparison uses.

It forgives what copying text legitimately changes (whitespace, curly vs straight quotes, dash styles,
Unicode compatibility forms) and nothing else.
"""

from __future__ import annotations

import unicodedata

_TRANSLATE = str.maketrans(
    {
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "`": "'",
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"', "\u00ab": '"', "\u00bb": '"',
        "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2212": "-",
        "\u00a0": " ", "\u2026": "...",
    }
)


def normalise(text: str) -> str:
    if text.isascii():  # NFKC leaves ASCII alone, and of the table only the backtick is ASCII
        text = text.replace("`", "'")
    else:
        text = unicodedata.normalize("NFKC", text).translate(_TRANSLATE)
    # str.split() splits on exactly the characters `\s` matches (str.isspace), at a quarter of a regex's cost.
    return " ".join(text.split())

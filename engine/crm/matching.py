"""How a typed deal name ranks against the pipeline's names: one rule for every adapter, so `/scout acme`
finds the same deals whichever CRM is behind it."""

from __future__ import annotations

import difflib
import re
import unicodedata

MATCH_THRESHOLD = 0.6
# Hyphen, the Unicode dashes and the minus sign, with any spaces around them: "Acme Corp — Pilot",
# "acme corp - pilot" and "Acme Corp–Pilot" are one name to a person typing it.
_DASH = re.compile(r"\s*[-\u2010-\u2015\u2212\ufe58\ufe63\uff0d]+\s*")


def normalise_name(name: str) -> str:
    """Case, spacing, dash style and Unicode compatibility forms do not tell two deal names apart."""
    text = unicodedata.normalize("NFKC", name or "").casefold()
    return " ".join(_DASH.sub(" - ", text).split())


def name_score(wanted: str, have: str) -> float:
    """Exact 3, prefix 2+, contained 1+, else fuzzy (token overlap or spelling) below 0.9. Both normalised."""
    if not have or not wanted:
        return 0.0
    if have == wanted:
        return 3.0
    if have.startswith(wanted):
        return 2.0 + len(wanted) / len(have)
    if wanted in have:
        return 1.0 + len(wanted) / len(have)
    wanted_tokens = set(re.findall(r"\w+", wanted))
    have_tokens = set(re.findall(r"\w+", have))
    overlap = len(wanted_tokens & have_tokens) / len(wanted_tokens) if wanted_tokens else 0.0
    return max(overlap * 0.9, difflib.SequenceMatcher(None, wanted, have).ratio() * 0.9)


def rank_names(wanted: str, candidates: list[tuple[str, str]], limit: int) -> list[str]:
    """Ids of the best-matching (id, name) pairs, best first, above the threshold."""
    query = normalise_name(wanted)
    scored = sorted(((name_score(query, normalise_name(name)), cid) for cid, name in candidates),
                    key=lambda t: (-t[0], t[1]))
    return [cid for score, cid in scored if score >= MATCH_THRESHOLD][:limit]

"""A deterministic, rule-based MEDIC extractor (and meddpicc's decision process): no API key, no network.

It reads notes the way a careful reviewer skims them: sentence by sentence, looking for cue phrases
("signs off", "our champion", "struggling with", "also looking at", "redlines"...), then pulls a concise
value out of the sentence that carried the cue. Every finding cites that sentence verbatim. Uncertain or
negated mentions ("not sure who signs") give nothing. A sentence that talks to a machine instead of
describing a call ends the note for this extractor: notes are data, never instructions.

Rules read a normalised copy of each sentence (hard-wrapped lines joined, one space, straight quotes) and
know English plus German, Spanish and French cue words. When a note states a concept several times, the
plainest statement wins (a stated goal over a baseline number, a named pain over a described symptom), the
later one on a tie. `scout eval` measures all of this on the labelled set in eval/.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Iterable

from engine.extract import offline_lexicon as lx
from engine.extract.citations import MAX_EXCERPT_CHARS, MIN_EXCERPT_CHARS, normalise
from engine.extract.grounding import PERSON_CONCEPTS, Excerpt, fold, person_problem as _person_problem
from engine.medic import FieldMap
from engine.models import Concept, ConceptKey, Deal, Extraction, FieldSpec, FieldType, Finding, Note

MODEL = "offline-rules-1"
PROMPT_VERSION = "rules-4"  # part of the extraction cache key: bump when rules change

_UPPER = "A-ZÀ-ÖØ-Þ"
_SENTENCE_END = re.compile(
    rf"[.!?]+[\"'”’)\]]*(?=\s+[\"'“‘(\[¿¡]?[{_UPPER}0-9]|\s*$)"
    r"|(?<=\S)(?=\s*</?[A-Za-z][^<>]{0,60}>)"  # a markup tag starts a new sentence
)
_ABBREVIATIONS = frozenset(
    "e.g i.e vs etc mr ms mrs dr inc corp ltd co jr sr st approx no nos fig dept est min max".split()
)
_BULLET = re.compile(r"\s*(?:[-*•▪‣]|\d+[.)])\s+")
# A line that starts a new item even without a bullet: a label ("EB: ...") or a timestamp ("[10:30]").
_LINE_START = re.compile(r"\s*(?:\[|[\w'’ /&-]{1,30}:\s)")
_PEOPLE_CLAUSE = re.compile(r";|\s[—–-]{1,2}\s|,\s+(?:and|but|so|while|whereas|though|although)\b")
_CLAUSE = re.compile(r"[;:]|\s[—–-]{1,2}\s|,\s")
_PAPER_CLAUSE = re.compile(r"[,;:]|\s[—–-]{1,2}\s|(?=\b(?:after|once|then|but|before|so)\b)")
_CRITERIA_SEGMENT = re.compile(r",|;|\b(?:and|but|or|y|e|pero|o|und|aber|oder|et|mais|ou)\b|\s[—–-]{1,2}\s")
_PAIN_CLAUSE = re.compile(r";|\s[—–-]{1,2}\s")
_SYMPTOM_CLAUSE = re.compile(r"[;:]|\s[—–-]{1,2}\s")
# The list before a cue may hold commas ("A, B and C are in the mix"): only ; : ( end it.
_VENDORS_BEFORE_CLAUSE = re.compile(r"[;:(]|\s[—–-]{1,2}\s")
_VENDOR_LEAD = re.compile(
    r"[\s:,(\-]*(?:(?:the likes of|such as|including|like|both|either|mainly|mostly|primarily|vendors?|"
    r"tools?|players|options|names|(?:the |el |le |der )?(?:main|principal|biggest|key|only|other|"
    r"gr[öo][ßs]te|wichtigste) (?:one )?(?:is|are|est|es|ist|sind|son|sont)|is|are|est|es|ist|sind|son|sont)\b"
    r"[\s:,]*)*",
    re.IGNORECASE,
)
_LABEL = re.compile(r"^[^:]{1,40}:")
# "Pain - renewals slip" at the start of a line: the dash is a label's colon (same length, so spans hold).
_LABEL_DASH = re.compile(r"^([A-Za-z][\w/&' ]{0,24}?)(\s[—–-]{1,2}\s)")
_PRONOUN_START = re.compile(r"^(?:he|she|they)(?:'s|'re| is| are| was| has| have| will)?\b", re.IGNORECASE)
_METRIC_LEAD = re.compile(
    r"^(?:[\w'’-]+\s+){0,5}?(?:goal|target|kpi|aim|objective|metric|success)\b[^:]{0,30}?"
    r"\b(?:is|are|means|was)\s+(?:simple\s+)?(?:to\s+|being able to\s+|that\s+)?",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class _Span:
    start: int
    end: int
    text: str


@dataclass(frozen=True)
class _Sentence:
    start: int  # offsets into the note text: `normalise(note.text[start:end]) == text`
    end: int
    text: str
    masked: str  # the deal's own company name blanked out, same length, for detection only
    previous: "_Sentence | None" = None  # the sentence before it in the same note, for "He's the CFO"


@dataclass(frozen=True)
class _Hit:
    values: list[str]
    start: int  # the note span the values came from: one sentence, or two when a pronoun points back
    end: int
    score: int = 0  # how plainly the sentence states it; a note's best-scored hit wins (the later on a tie)


@dataclass
class _Context:
    company_terms: list[str]
    # first name -> (full name, role); None when two people share the first name
    roster: dict[str, tuple[str, str | None] | None] = field(default_factory=dict)
    full_names: set[str] = field(default_factory=set)


# ------------------------------------------------------------------------------------------ text


def split_sentences(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence or bullet line, trimmed.

    A newline ends a sentence unless the line was merely wrapped: it ends without punctuation and the next
    line is neither blank, a bullet, a label ("Next steps:") nor a timestamp. An inline markup tag starts a
    new sentence, so text smuggled in after "</note>" never shares a sentence with the real note.
    """
    spans: list[tuple[int, int]] = []
    for line in _logical_lines(text):
        base, stop = line
        body = text[base:stop]
        bullet = _BULLET.match(body)
        pos = bullet.end() if bullet else len(body) - len(body.lstrip())
        for end in _SENTENCE_END.finditer(body, pos):
            word = re.search(r"([\w.]+)$", body[pos : end.start()])
            if word and word.group(1).lower().rstrip(".") in _ABBREVIATIONS and end.group().startswith("."):
                continue
            _add_span(spans, base, body, pos, end.end())
            pos = end.end()
        _add_span(spans, base, body, pos, len(body))
    return spans


def _logical_lines(text: str) -> list[tuple[int, int]]:
    """(start, end) of each line, with hard-wrapped lines joined to the line they continue."""
    lines = [(m.start(), m.end()) for m in re.finditer(r"[^\n]+", text)]
    out: list[tuple[int, int]] = []
    for start, end in lines:
        if out and _continues(text, out[-1], (start, end)):
            out[-1] = (out[-1][0], end)
        else:
            out.append((start, end))
    return out


def _continues(text: str, previous: tuple[int, int], line: tuple[int, int]) -> bool:
    before, current = text[previous[0] : previous[1]], text[line[0] : line[1]]
    if not before.strip() or not current.strip() or text[previous[1] : line[0]].count("\n") != 1:
        return False
    if re.search(r"[.!?:;)\]]\W*\s*$", before) or _BULLET.match(current) or _LINE_START.match(current):
        return False
    return True


def _add_span(spans: list[tuple[int, int]], base: int, body: str, start: int, end: int) -> None:
    chunk = body[start:end]
    lead = len(chunk) - len(chunk.lstrip())
    chunk = chunk.strip()
    if chunk:
        spans.append((base + start + lead, base + start + lead + len(chunk)))


def _mask(text: str, terms: Iterable[str]) -> str:
    for term in terms:
        text = re.sub(re.escape(term), lambda m: " " * len(m.group()), text, flags=re.IGNORECASE)
    return text


def _blank(text: str, spans: Iterable[_Span]) -> str:
    for s in spans:
        text = text[: s.start] + " " * (s.end - s.start) + text[s.end :]
    return text


def _clause_bounds(text: str, splitter: re.Pattern[str]) -> list[tuple[int, int]]:
    bounds, pos = [], 0
    for m in splitter.finditer(text):
        if m.start() > pos:
            bounds.append((pos, m.start()))
        pos = max(pos, m.end())
    bounds.append((pos, len(text)))
    return bounds


def _clause_at(bounds: list[tuple[int, int]], index: int) -> tuple[int, int]:
    for start, end in bounds:
        if start <= index < end:
            return start, end
    return bounds[-1]


def _gap(a: _Span, b: _Span) -> int:
    return max(0, b.start - a.end, a.start - b.end)


def _tidy(value: str) -> str:
    return value.strip(" \t\"'“”‘’()[]-–—:,;.!?")


# ------------------------------------------------------------------------------------- names, roles


def _roles(text: str) -> list[_Span]:
    return [_Span(m.start(), m.end(), m.group()) for m in lx.ROLE.finditer(text)]


def _joined(text: str, left: re.Match[str], right: re.Match[str]) -> bool:
    between = text[left.end() : right.start()]
    if between == " ":
        return True
    return between.startswith(" ") and between.endswith(" ") and between.strip() in lx.NAME_PARTICLES


def _names(text: str, ctx: _Context, resolve: bool = True) -> list[_Span]:
    """Person names in a sentence: runs of two or three capitalised name tokens, or a known first name."""
    runs: list[list[re.Match[str]]] = []
    for tok in lx.NAME_TOKEN.finditer(text):
        if runs and _joined(text, runs[-1][-1], tok):
            runs[-1].append(tok)
        else:
            runs.append([tok])
    found: list[_Span] = []
    for run in runs:
        sub: list[re.Match[str]] = []
        for member in [*run, None]:  # None closes the last name
            if member is not None and member.group() not in lx.NOT_A_NAME:
                sub.append(member)
                continue
            found.extend(_name_from_tokens(text, sub, ctx, resolve))
            sub = []
    return found


def _name_from_tokens(text: str, toks: list[re.Match[str]], ctx: _Context, resolve: bool) -> list[_Span]:
    if not toks:
        return []
    at_start = not text[: toks[0].start()].strip(" -*•\"'(")
    if len(toks) >= 3 and at_start and toks[0].group() not in ctx.roster:
        toks = toks[1:]  # a capitalised sentence opener ("Grilled Dana Ruiz on ...") is not a first name
    toks = toks[:3]
    if len(toks) >= 2:
        return [_Span(toks[0].start(), toks[-1].end(), text[toks[0].start() : toks[-1].end()])]
    entry = ctx.roster.get(toks[0].group()) if resolve else None
    if entry:
        return [_Span(toks[0].start(), toks[0].end(), entry[0])]
    title = lx.HONORIFIC_BEFORE.search(text, 0, toks[0].start())
    if title:  # "Herr Müller": the title is part of how the notes name this person
        return [_Span(title.start(), toks[0].end(), text[title.start() : toks[0].end()])]
    return []


def _corrected(sentence: _Sentence, cues: list[_Span], ctx: _Context) -> _Hit | None:
    """"She is not the one signing; that will be the CEO, Dan Ford": after a denied or doubted cue, a plain
    correction ("that will be", "turns out it's", "actually") names the person, unless it is hedged too."""
    if not cues:
        return None
    text = sentence.masked
    fix = lx.PERSON_CORRECTION.search(text, min(c.end for c in cues))
    if fix is None or lx.PERSON_UNCERTAIN.search(text[fix.start() :]):
        return None
    names, roles = _names(text, ctx), _roles(text)
    after = [n for n in names if n.start >= fix.start() and not _denied(text, n, roles)]
    if not after:
        return None
    role = _role_of(after[0], names, roles, ctx)
    return _hit(sentence, [f"{after[0].text}, {role}" if role else after[0].text])


def _lone_subject(text: str, ctx: _Context) -> _Span | None:
    """A first name alone as the sentence's subject ("Aisha is backing us"), when nothing else names anyone."""
    m = lx.LONE_SUBJECT.match(text)
    if m is None:
        return None
    word = m.group(1)
    if word in lx.NOT_A_NAME or word in lx.NOT_A_VENDOR or lx.ROLE.fullmatch(word) or ctx.roster.get(word, "") is None:
        return None
    if any(word.casefold() == t.casefold() or word.casefold() in t.casefold().split() for t in ctx.company_terms):
        return None
    return _Span(m.start(1), m.end(1), word)


def _role_of(name: _Span, names: list[_Span], roles: list[_Span], ctx: _Context) -> str | None:
    """The role written next to this name, unless it sits closer to another name; else the roster's."""
    best: tuple[int, str] | None = None
    for role in roles:
        gap = _gap(role, name)
        if gap > 60 or any(_gap(role, other) < gap for other in names if other != name):
            continue
        if best is None or gap < best[0]:
            best = (gap, role.text)
    if best:
        return best[1]
    entry = ctx.roster.get(name.text.split()[0])
    return entry[1] if entry and entry[0] == name.text else None


def _denied(text: str, span: _Span, roles: list[_Span]) -> bool:
    end = span.end
    for role in roles:  # look past an appositive role: "Tom Becker (CFO) has left"
        if 0 <= role.start - end <= 3:
            end = role.end
    before = text[max(0, span.start - 40) : span.start]
    return bool(lx.NAME_DENIED_BEFORE.search(before) or lx.NAME_DENIED_AFTER.search(text[end : end + 60]))


def _person(
    sentence: _Sentence, cue: re.Pattern[str], ctx: _Context, extra: re.Pattern[str] | None = None
) -> _Hit | None:
    text = sentence.masked
    cues = [_Span(m.start(), m.end(), m.group()) for m in cue.finditer(text)]
    if extra is not None:
        cues += [_Span(m.start(), m.end(), m.group()) for m in extra.finditer(text)]
    live = [c for c in cues if not lx.CUE_NEGATED_BEFORE.search(text[max(0, c.start - 40) : c.start])]
    if not live or lx.PERSON_UNCERTAIN.search(text):
        return _corrected(sentence, cues, ctx)
    cues = live
    names, roles = _names(text, ctx), _roles(text)
    clauses = _clause_bounds(text, _PEOPLE_CLAUSE)
    allowed = [n for n in names if not _denied(text, n, roles)]
    best: tuple[tuple[int, int], _Span] | None = None
    for c in cues:
        for n in allowed:
            key = (0 if _clause_at(clauses, c.start) == _clause_at(clauses, n.start) else 1, _gap(c, n))
            if best is None or key < best[0]:
                best = (key, n)
    if best is not None:
        role = _role_of(best[1], names, roles, ctx)
        return _hit(sentence, [f"{best[1].text}, {role}" if role else best[1].text])
    if names:
        return None  # everyone named here was ruled out; their roles go with them
    lone = _lone_subject(text, ctx)
    if lone is not None and not _denied(text, lone, roles):
        return _hit(sentence, [lone.text])
    near = [
        (_gap(c, r), r.text)
        for c in cues
        for r in roles
        if _clause_at(clauses, c.start) == _clause_at(clauses, r.start) and not _denied(text, r, [])
    ]
    role = min(near)[1] if near else None
    # "Spoke with Dana Ruiz. She's the CFO and signs off": the pronoun points at the one person last named,
    # a sentence or two back; when that sentence names several people, nobody is guessed.
    if _PRONOUN_START.match(text.lstrip()):
        previous, hops = sentence.previous, 0
        while previous is not None and hops < 3:
            previous_roles = _roles(previous.masked)
            named = _names(previous.masked, ctx)
            if named:
                before = [n for n in named if not _denied(previous.masked, n, previous_roles)]
                if len({n.text for n in named}) == 1 and before:
                    name = before[0].text
                    role = role or _role_of(before[0], before, previous_roles, ctx)
                    return _hit_across(previous, sentence, [f"{name}, {role}" if role else name])
                break
            previous, hops = previous.previous, hops + 1
    # No name: a role in the cue's clause is still an answer ("their CFO signs off").
    return _hit(sentence, [role]) if role else None


def _hit_across(first: _Sentence, last: _Sentence, values: list[str]) -> _Hit:
    """A hit citing from `first` to `last`; just `last` when that span is too long to quote."""
    if last.end - first.start > MAX_EXCERPT_CHARS - 20:
        return _Hit(values, last.start, last.end)
    return _Hit(values, first.start, last.end)


def _hit(sentence: _Sentence, values: list[str]) -> _Hit | None:
    return _Hit(values, sentence.start, sentence.end) if values else None


# ------------------------------------------------------------------------------------- other concepts


def _metric(sentence: _Sentence, ctx: _Context) -> tuple[list[str], int]:
    """The clause stating a measurable goal (score 3), an improvement (2) or a measured baseline (1)."""
    text = sentence.masked
    if lx.METRIC_NOT.search(text):
        return [], 0
    blocked = [m.span() for m in lx.NOT_A_QUANTITY.finditer(text)]
    label = _LABEL.match(text)  # "Goal: 25% fewer escalations" - the cue is the label
    labelled = bool(label and lx.METRIC_CUE.search(label.group()))
    bounds = _clause_bounds(text, _CLAUSE)
    wanted = lx.METRIC_WANT.search(text)
    best: tuple[int, int, int] | None = None  # (score, first clause, last clause)
    for i, (start, end) in enumerate(bounds):
        clause = text[start:end]
        quantities = [
            q for q in lx.QUANTITY.finditer(clause)
            if not any(b0 < start + q.end() and start + q.start() < b1 for b0, b1 in blocked)
        ]
        targets = [
            q for q in lx.METRIC_GOAL_QUANTITY.finditer(clause)
            if not any(b0 < start + q.end() and start + q.start() < b1 for b0, b1 in blocked)
        ]
        goal = labelled or bool(wanted and wanted.start() < end and targets)
        if goal and (quantities or targets):
            score = 3
        elif quantities and lx.METRIC_CUE.search(clause):
            score = 2
        elif quantities and lx.METRIC_BASELINE.search(clause) and (
            lx.METRIC_RATE.search(clause) or any(re.search(r"\d", q.group()) for q in quantities)
        ) and (lx.METRIC_TIME_COST.search(clause) or lx.PAIN_SYMPTOM.search(text) or lx.PAIN_CUE.search(text)):
            # A measured cost of a problem: "1,500 exceptions a month, handled manually", "takes 40 minutes";
            # a plain volume ("300 calls a day") is not a metric, nor a vague "takes two weeks".
            score = 1
        else:
            continue
        if best is None or score > best[0]:
            best = (score, i, i)
    if best is None:
        return [], 0
    score, first, last = best
    if score == 1:  # "1,500 a month, each about 10 minutes": a baseline runs on over clauses with numbers
        while last + 1 < len(bounds) and lx.QUANTITY.search(text[bounds[last + 1][0] : bounds[last + 1][1]]):
            last += 1
    start, end = bounds[first][0], bounds[last][1]
    value = _tidy(sentence.text[start:end])
    for lead_rx in (_METRIC_LEAD, lx.METRIC_WANT_LEAD):
        lead = lead_rx.match(value)
        rest = value[lead.end() :] if lead else ""
        if lead and lx.METRIC_GOAL_QUANTITY.search(rest) and not lx.PRONOUN_OBJECT.match(rest):
            value = rest
            break
    return [value[:200]], score


def _pain(sentence: _Sentence, ctx: _Context) -> tuple[list[str], int]:
    """A named pain ("main pain: ...", score 3) or a described symptom ("re-key every order by hand", 2)."""
    text = sentence.masked
    if lx.PAIN_NOT.search(text):
        return [], 0
    cue = lx.PAIN_CUE.search(text)
    if cue is not None:
        start, end = _clause_at(_clause_bounds(text, _PAIN_CLAUSE), cue.start())
        colon = text.find(":", cue.end(), end)
        if colon != -1:
            start = colon + 1
        value = _tidy(sentence.text[start:end])
        lead = lx.PAIN_LEAD.match(value)
        if colon == -1 and lead and len(value[lead.end() :].split()) >= 3:
            value = value[lead.end() :]
        if len(value.split()) >= 2:
            return [_tidy(value)[:200]], 3
    bounds = _clause_bounds(text, _SYMPTOM_CLAUSE)
    for symptom in lx.PAIN_SYMPTOM.finditer(text):
        start, end = _clause_at(bounds, symptom.start())
        lead_in = text[start : symptom.start()]
        label = _LABEL.match(text)  # "Goal: zero missed renewals"
        if lx.METRIC_WANT.search(lead_in) or lx.METRIC_CUE.search(lead_in) or (
            label and label.end() <= symptom.start() and lx.METRIC_WANT.search(label.group())
        ):
            continue  # "they want to cut churn", "recover $400k in missed renewals": a goal, not a complaint
        value = _tidy(sentence.text[start:end])
        lead = lx.PAIN_ATTRIBUTION.match(value)
        if lead and len(value[lead.end() :].split()) >= 3:
            value = _tidy(value[lead.end() :])
        if len(value.split()) >= 3:
            return [value[:200]], 2
    return [], 0


def _criteria(sentence: _Sentence, ctx: _Context, options: tuple[str, ...]) -> list[str]:
    text = sentence.masked
    if lx.CRITERIA_CUE.search(text):
        scope = 0  # the sentence is about criteria: every option it names counts
    else:
        want = lx.CRITERIA_WANT.search(text)  # "wants reporting and a price under ...": what follows counts
        if want is None:
            return []
        scope = want.end()
    found: list[str] = []
    for start, end in _clause_bounds(text, _CRITERIA_SEGMENT):
        segment = text[start:end]
        if end <= scope or lx.CRITERIA_NEGATED.search(segment):
            continue
        segment = text[max(start, scope) : end]
        for option in options:
            keywords = lx.CRITERIA_KEYWORDS.get(option)
            literal = re.search(rf"\b{re.escape(option)}\b", segment, re.IGNORECASE)
            if (literal or (keywords and keywords.search(segment))) and option not in found:
                found.append(option)
    return found


def _paper(sentence: _Sentence, ctx: _Context, options: tuple[str, ...]) -> list[str]:
    text = sentence.masked
    if lx.PAPER_UNCERTAIN.search(text):
        return []
    patterns = {o: lx.PAPER_KEYWORDS.get(o) or re.compile(rf"\b{re.escape(o)}\b", re.IGNORECASE) for o in options}
    not_started = next((o for o in options if o.casefold() == "not started"), None)
    if not_started and patterns[not_started].search(text):
        return [not_started]
    clauses = _clause_bounds(text, _PAPER_CLAUSE)
    status: dict[str, list[int]] = {"current": [], "done": [], "future": []}
    for index, option in enumerate(options):
        if option == not_started:
            continue
        for m in patterns[option].finditer(text):
            c0, c1 = _clause_at(clauses, m.start())
            clause = text[c0:c1]
            if lx.PAPER_NEGATED.search(text[c0 : m.start()]) or lx.PAPER_NEGATED_AFTER.match(text, m.end()):
                continue
            terminal = index == len(options) - 1  # "signed" is done by definition, and that is the state
            if lx.PAPER_DONE.search(clause) and not terminal:
                status["done"].append(index)
            elif lx.PAPER_FUTURE.search(clause):
                status["future"].append(index)
            else:
                status["current"].append(index)
    if status["current"]:
        return [options[max(status["current"])]]  # the furthest step mentioned as happening now
    if status["done"] and status["future"]:
        return [options[min(status["future"])]]  # "security passed, legal next": heading into legal
    return []


def _vendor_list(text: str, pos: int, ctx: _Context) -> list[str]:
    lead = _VENDOR_LEAD.match(text, pos)
    assert lead is not None  # the pattern matches empty too
    pos = lead.end()
    items: list[str] = []
    while True:
        m = lx.VENDOR.match(text, pos)
        if not m:
            break
        item = m.group().rstrip(".")
        if _is_vendor(item, ctx):
            items.append(item)
        sep = lx.VENDOR_SEPARATOR.match(text, m.end())
        if not sep or sep.end() == m.end():
            break
        pos = sep.end()
    return items


def _is_vendor(item: str, ctx: _Context) -> bool:
    first = item.split()[0]
    if first in lx.NOT_A_VENDOR or first.isdigit() or len(item) < 2 or lx.ROLE.fullmatch(item):
        return False
    return item not in ctx.full_names and first not in ctx.roster


def _competition(sentence: _Sentence, ctx: _Context) -> list[str]:
    text = _blank(sentence.masked, _roles(sentence.masked))
    if lx.COMPETITION_NOT.search(text):
        return []
    cues = list(lx.COMPETITION_CUE.finditer(text))
    if lx.INTEGRATION_TALK.search(text):  # "sync with their current system (X)": X is a system, not a rival
        cues = [c for c in cues if not lx.CURRENT_TOOL.search(c.group())]
    if not cues:
        return []
    items: list[str] = []
    for cue in cues:
        after = _vendor_list(text, cue.end(), ctx)
        items += after
        if not after and lx.COMPETITION_NAME_FIRST.search(cue.group()):
            start, _ = _clause_at(_clause_bounds(text, _VENDORS_BEFORE_CLAUSE), cue.start())
            items += _vendor_list(text, start, ctx)
    items += [label for pattern, label in lx.COMPETITION_ALTERNATIVES if pattern.search(text)]
    return list(dict.fromkeys(items))[:6]


# -------------------------------------------------------------------------------------- extractor


def _decision_process(sentence: _Sentence, ctx: _Context) -> tuple[list[str], int]:
    """The buyer's steps: what a label or "the decision process is" introduces (score 3), or a sentence naming
    a deciding body, what it does and when (2). Unknown, guessed or open processes give nothing."""
    text = sentence.text
    if lx.DP_NOT.search(text):
        return [], 0
    for rx in (lx.DP_LABEL, lx.DP_IS):
        cue = rx.search(text)
        if cue is not None:
            value = _tidy(text[cue.end():])
            return ([value[:240]], 3) if len(value.split()) >= 3 else ([], 0)
    if lx.DP_BODY.search(text) and lx.DP_ACT.search(text) and lx.DP_WHEN.search(text):
        label = _LABEL.match(text)  # "Change of plan: the board now ..." - the label is not the process
        value = _tidy(text[label.end():] if label and len(text[label.end():].split()) >= 4 else text)
        return [value[:240]], 2
    return [], 0


@dataclass(frozen=True)
class _Rule:
    concept: ConceptKey
    find: Callable[[_Sentence, _Context, tuple[str, ...]], _Hit | None]
    merge: bool = False  # list-valued concepts gather every sentence of a note into one finding


def _scored(fn: Callable[[_Sentence, _Context], tuple[list[str], int]]) -> Callable[..., _Hit | None]:
    """Adapt a finder that returns (values, score) for one sentence."""

    def find(s: _Sentence, c: _Context, o: tuple[str, ...]) -> _Hit | None:
        values, score = fn(s, c)
        return _Hit(values, s.start, s.end, score) if values else None

    return find


def _per_sentence(fn: Callable[..., list[str]], *, options: bool = False) -> Callable[..., _Hit | None]:
    """Adapt a finder that reads one sentence and returns values into one that returns a `_Hit`."""
    if options:
        return lambda s, c, o: _hit(s, fn(s, c, o))
    return lambda s, c, o: _hit(s, fn(s, c))


_RULES = [
    _Rule(Concept.METRICS, _scored(_metric)),
    _Rule(Concept.ECONOMIC_BUYER, lambda s, c, o: _person(s, lx.EB_CUE, c, lx.EB_ABBREV)),
    _Rule(Concept.DECISION_CRITERIA, _per_sentence(_criteria, options=True), merge=True),
    _Rule(Concept.IDENTIFIED_PAIN, _scored(_pain)),
    _Rule(Concept.CHAMPION, lambda s, c, o: _person(s, lx.CHAMPION_CUE, c)),
    _Rule(Concept.PAPER_PROCESS, _per_sentence(_paper, options=True)),
    _Rule(Concept.COMPETITION, _per_sentence(_competition), merge=True),
    _Rule("decision_process", _scored(_decision_process)),  # meddpicc's; read only when the method has it
]


def concepts_without_rules(field_map: FieldMap) -> list[str]:
    """The method's concepts these rules cannot find: left empty, and said so (never guessed at)."""
    ruled = {rule.concept for rule in _RULES}
    return [str(c) for c in field_map.concepts if c not in ruled]


def unextracted_notice(field_map: FieldMap) -> str | None:
    missing = concepts_without_rules(field_map)
    if not missing:
        return None
    return (f"the offline rules do not extract {', '.join(missing)}: they stay empty; set ANTHROPIC_API_KEY "
            "to extract them with Claude")


def _company_terms(deal: Deal) -> list[str]:
    terms = [deal.values.get("company"), re.split(r"\s+[—–-]\s+", deal.name)[0]]
    return sorted({t.strip() for t in terms if isinstance(t, str) and len(t.strip()) >= 3}, key=len, reverse=True)


def _as_label(m: re.Match[str]) -> str:
    return m.group(1) + ":" + " " * (len(m.group(2)) - 1)


def _readable(note: Note, ctx: _Context) -> list[_Sentence]:
    """The note's sentences up to the first one that reads as an instruction to a machine."""
    out: list[_Sentence] = []
    for start, end in split_sentences(note.text):
        # Rules read the normalised text (one space, straight quotes); citations use the note's own span.
        text = _LABEL_DASH.sub(_as_label, normalise(note.text[start:end]))
        if lx.INJECTION.search(text):
            break
        out.append(_Sentence(start, end, text, _mask(text, ctx.company_terms), out[-1] if out else None))
    return out


def _build_roster(sentences: Iterable[_Sentence], ctx: _Context) -> None:
    for s in sentences:
        names, roles = _names(s.masked, ctx, resolve=False), _roles(s.masked)
        for n in names:
            ctx.full_names.add(n.text)
            first = n.text.split()[0]
            role = _role_of(n, names, roles, _Context(ctx.company_terms))
            if first not in ctx.roster:
                ctx.roster[first] = (n.text, role)
                continue
            known = ctx.roster[first]
            if known is not None and known[0] == n.text:
                ctx.roster[first] = (n.text, known[1] or role)
            else:
                ctx.roster[first] = None  # two people share this first name: never guess between them


def _excerpt(note: Note, start: int, end: int) -> str:
    text = note.text[start:end]
    if len(normalise(text)) < MIN_EXCERPT_CHARS:
        line_start = note.text.rfind("\n", 0, start) + 1
        line_end = note.text.find("\n", end)
        text = note.text[line_start : len(note.text) if line_end == -1 else line_end].strip()
    if len(normalise(text)) > MAX_EXCERPT_CHARS:
        text = text[: MAX_EXCERPT_CHARS - 10].rsplit(" ", 1)[0]
    return text


def _names_stated(value: str, excerpt: str) -> bool:
    return _person_problem(value, Excerpt.of(excerpt)) is None


def _shape(spec: FieldSpec, values: list[str]) -> str | list[str] | None:
    """Fit raw values to the scout field: option names for select types, one short phrase for text."""
    if spec.type in (FieldType.SELECT, FieldType.MULTI_SELECT) and spec.options:
        by_fold = {o.casefold(): o for o in spec.options}
        values = [by_fold[v.casefold()] for v in values if v.casefold() in by_fold]
    values = list(dict.fromkeys(v for v in values if v))
    if not values:
        return None
    if spec.type is FieldType.MULTI_SELECT:
        return sorted(values)
    if spec.type is FieldType.SELECT:
        return values[0]
    return ", ".join(values)


class OfflineExtractor:
    """Rule-based `Extractor`: deterministic, offline, one finding per (concept, note) at most."""

    @property
    def model(self) -> str:
        return MODEL

    @property
    def prompt_version(self) -> str:
        return PROMPT_VERSION

    async def extract(self, deal: Deal, notes: list[Note], field_map: FieldMap) -> Extraction:
        return Extraction(findings=self.findings(deal, notes, field_map), model=self.model)

    def findings(self, deal: Deal, notes: list[Note], field_map: FieldMap) -> list[Finding]:
        ctx = _Context(company_terms=_company_terms(deal))
        readable = {note.id: _readable(note, ctx) for note in notes}
        _build_roster((s for sentences in readable.values() for s in sentences), ctx)
        findings: list[Finding] = []
        for note in notes:
            for rule in _RULES:
                fields = field_map.concepts.get(rule.concept)
                if fields is None:
                    continue
                finding = self._note_finding(note, readable[note.id], rule, fields.scout, ctx)
                if finding is not None:
                    findings.append(finding)
        return findings

    def _note_finding(
        self, note: Note, sentences: list[_Sentence], rule: _Rule, spec: FieldSpec, ctx: _Context
    ) -> Finding | None:
        hits = [h for s in sentences if (h := rule.find(s, ctx, spec.options))]
        hits = [h for h in hits if _shape(spec, h.values) is not None]
        if not hits:
            return None
        if rule.merge and len(normalise(note.text[hits[0].start : hits[-1].end])) <= MAX_EXCERPT_CHARS:
            merged = [v for h in hits for v in h.values]
            return self._finding(rule.concept, _shape(spec, merged), note, hits[0].start, hits[-1].end)
        # Later sentences in a note usually correct earlier ones ("... update: the champion is now X"), so the
        # last of the best-scored hits wins.
        top = max(h.score for h in hits)
        last = [h for h in hits if h.score == top][-1]
        value = _shape(spec, last.values)
        if rule.concept in PERSON_CONCEPTS and isinstance(value, str):
            return self._person_finding(rule.concept, value, note, sentences, last, spec)
        return self._finding(rule.concept, value, note, last.start, last.end)

    def _person_finding(self, concept: ConceptKey, value: str, note: Note, sentences: list[_Sentence], hit: _Hit,
                        spec: FieldSpec) -> Finding:
        """The excerpt must name the person: a name completed from elsewhere in the notes ("Dana" -> "Dana
        Ruiz") widens the quote back to the sentence that named them, or else keeps only the words it states."""
        if _names_stated(value, _excerpt(note, hit.start, hit.end)):
            return self._finding(concept, value, note, hit.start, hit.end)
        for s in reversed([s for s in sentences if s.start < hit.start]):
            if hit.end - s.start > MAX_EXCERPT_CHARS - 20:
                break
            if _names_stated(value, _excerpt(note, s.start, hit.end)):
                return self._finding(concept, value, note, s.start, hit.end)
        excerpt = fold(_excerpt(note, hit.start, hit.end))
        name, _, role = value.partition(", ")
        stated = " ".join(w for w in name.split() if fold(w) in excerpt.split() or fold(w) in excerpt)
        value = f"{stated}, {role}" if stated and role else stated or role or value
        return self._finding(concept, value, note, hit.start, hit.end)

    @staticmethod
    def _finding(concept: ConceptKey, value: str | list[str] | None, note: Note, start: int, end: int) -> Finding:
        assert value is not None  # callers only pass hits whose values fit the field
        return Finding(concept=concept, value=value, note_id=note.id, excerpt=_excerpt(note, start, end))

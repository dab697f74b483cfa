"""Scores an extractor against the labelled evaluation set in `eval/` (see eval/README.md for the format).

The run mirrors a pass up to the decision: extract each deal, drop findings whose excerpt does not verify
(`verify_citations`, the same check a pass runs), coerce what survives to its `scout_*` field type, then
compare with the labels. Per concept and overall: precision, recall, F1, citation validity, drops by reason,
token usage, estimated cost and latency per deal.
"""

from __future__ import annotations

import re
import statistics
import time
import unicodedata
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from engine.extract.base import ExtractionError, Extractor
from engine.extract.citations import normalise, verify_citations
from engine.extract.pricing import format_cost
from engine.fieldtypes import CoercionError, coerce, display
from engine.medic import DECISION_CRITERIA_OPTIONS, PAPER_PROCESS_OPTIONS, FieldMap, default_field_map
from engine.methods import BUILT_IN_METHODS
from engine.models import Concept, ConceptKey, Deal, DroppedFinding, Finding, FieldType, Note, Usage

DEFAULT_DATA_DIR = Path(__file__).resolve().parent.parent / "eval"

# Labels for these concepts must be option names; the eval set is written against the default map's options.
_LABEL_OPTIONS: dict[ConceptKey, tuple[str, ...]] = {
    Concept.DECISION_CRITERIA: DECISION_CRITERIA_OPTIONS,
    Concept.PAPER_PROCESS: PAPER_PROCESS_OPTIONS,
}
# The concepts the set is labelled for (meddpicc's eight); a run scores those of its method and ignores the rest.
LABELLED_CONCEPTS: tuple[str, ...] = tuple(str(row.key) for row in BUILT_IN_METHODS["meddpicc"])


# ---------------------------------------------------------------------------------------------------------
# The data


class EvalNote(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    created_at: datetime
    author: str = ""
    title: str = ""
    text: str
    tags: list[str] = Field(default_factory=list)


class EvalDealRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    name: str


def _check_values(where: str, concept: ConceptKey, values: list[str]) -> None:
    if concept not in LABELLED_CONCEPTS:
        raise ValueError(f"{where}: unknown concept {concept!r} (the set labels {', '.join(LABELLED_CONCEPTS)})")
    if not values:
        raise ValueError(f"{where} {concept}: empty list of accepted values")
    for value in values:
        if not isinstance(value, str) or not value.strip():
            raise ValueError(f"{where} {concept}: blank accepted value")
        options = _LABEL_OPTIONS.get(concept)
        if options and value not in options:
            raise ValueError(f"{where} {concept}: {value!r} is not an option ({', '.join(options)})")


class EvalDeal(BaseModel):
    """One line of a split: a deal, its notes and the reviewer's labels."""

    model_config = ConfigDict(extra="forbid")

    deal: EvalDealRef
    notes: list[EvalNote]
    labels: dict[str, dict[ConceptKey, list[str]]] = Field(default_factory=dict)
    final: dict[ConceptKey, list[str]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _consistent(self) -> "EvalDeal":
        ids = [n.id for n in self.notes]
        if not ids:
            raise ValueError(f"deal {self.deal.id} has no notes")
        if len(set(ids)) != len(ids):
            raise ValueError(f"deal {self.deal.id} repeats a note id")
        for note_id, per_concept in self.labels.items():
            if note_id not in ids:
                raise ValueError(f"labels name note {note_id!r}, which is not one of deal {self.deal.id}'s notes")
            for concept, values in per_concept.items():
                _check_values(f"note {note_id}", concept, values)
        for concept, values in self.final.items():
            _check_values(f"deal {self.deal.id} final", concept, values)
            if not any(concept in c for c in self.labels.values()):
                raise ValueError(f"deal {self.deal.id} final {concept}: no note is labelled for it")
        return self

    def as_deal(self) -> Deal:
        return Deal(id=self.deal.id, name=self.deal.name)

    def as_notes(self) -> list[Note]:
        """The notes as an extractor sees them (no labels, no tags), oldest first."""
        notes = [Note(id=n.id, deal_id=self.deal.id, author=n.author, created_at=n.created_at, title=n.title,
                      text=n.text) for n in self.notes]
        return sorted(notes, key=lambda n: n.created_at)


def load_split(split: str, data_dir: Path = DEFAULT_DATA_DIR) -> list[EvalDeal]:
    """Every deal of `data_dir/<split>.jsonl`, validated; ValueError names the file and line of a bad one."""
    if not re.fullmatch(r"[A-Za-z0-9_-]+", split):
        raise ValueError(f"split must be a plain name like 'dev' or 'test', not {split!r}")
    path = Path(data_dir) / f"{split}.jsonl"
    if not path.is_file():
        found = sorted(p.stem for p in Path(data_dir).glob("*.jsonl")) if Path(data_dir).is_dir() else []
        raise ValueError(f"no split {split!r}: {path} does not exist (available: {', '.join(found) or 'none'})")
    deals: list[EvalDeal] = []
    seen: set[str] = set()
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            deal = EvalDeal.model_validate_json(line)
        except ValidationError as exc:
            raise ValueError(f"{path}:{lineno}: {exc}") from exc
        if deal.deal.id in seen:
            raise ValueError(f"{path}:{lineno}: deal id {deal.deal.id} appears twice")
        seen.add(deal.deal.id)
        deals.append(deal)
    return deals


# ---------------------------------------------------------------------------------------------------------
# Matching


_EDGE = " .,;:!?\"'()[]"


def norm_value(text: str) -> str:
    """Comparison form: citation normalisation, then no accents, no case, no edge punctuation."""
    text = unicodedata.normalize("NFKD", normalise(text))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(text.casefold().split()).strip(_EDGE)


def _contains(haystack: str, needle: str) -> bool:
    return re.search(r"(?<!\w)" + re.escape(needle) + r"(?!\w)", haystack) is not None


def text_matches(value: str, accepted: str) -> bool:
    """A finding's text against one accepted phrasing.

    Equal, or the accepted value occurs in the finding (it says more), or the finding occurs in the accepted
    value and covers at least half of it (it says a little less); containment is on word boundaries.
    """
    v, a = norm_value(value), norm_value(accepted)
    if not v or not a:
        return False
    if v == a or _contains(v, a):
        return True
    return _contains(a, v) and 2 * len(v) >= len(a)


def _option_matches(value: str, accepted: str) -> bool:
    return norm_value(value) == norm_value(accepted)


# ---------------------------------------------------------------------------------------------------------
# The report


class _Tally(BaseModel):
    """Running counts for one concept, or for all of them; `Rates` is its published form.

    `predictions` are surviving findings (one per option for multi-select); `tp`/`fp` split them. `labelled`
    are gold units ((note, concept), or (note, option) for multi-select); `fn` of them were not matched.
    """

    findings: int = 0
    verified: int = 0
    predictions: int = 0
    tp: int = 0
    fp: int = 0
    labelled: int = 0
    fn: int = 0

    @property
    def covered(self) -> int:
        return self.labelled - self.fn

    @property
    def precision(self) -> float | None:
        return self.tp / self.predictions if self.predictions else None

    @property
    def recall(self) -> float | None:
        return self.covered / self.labelled if self.labelled else None

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        if p == 0 or r == 0:
            return 0.0
        if p is None or r is None:
            return None
        return 2 * p * r / (p + r)

    @property
    def citation_validity(self) -> float | None:
        return self.verified / self.findings if self.findings else None

    def add(self, other: "_Tally") -> None:
        for name in ("findings", "verified", "predictions", "tp", "fp", "labelled", "fn"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


class Mistake(BaseModel):
    kind: Literal["fp", "fn"]  # fp: a surviving finding no label accepts; fn: a label nothing matched
    note_id: str
    concept: ConceptKey
    value: str
    excerpt: str = ""


class SupersededCheck(BaseModel):
    concept: ConceptKey
    expected: list[str]
    got: str | None = None  # what the pass would file (newest note wins), displayed
    from_note: str | None = None
    correct: bool = False


class DealResult(BaseModel):
    deal_id: str
    name: str
    model: str = ""
    latency_s: float = 0.0
    usage: Usage = Field(default_factory=Usage)
    cost_usd: float | None = 0.0  # None: unpriced model
    error: str | None = None
    tp: int = 0
    fp: int = 0
    fn: int = 0
    dropped: list[DroppedFinding] = Field(default_factory=list)
    mistakes: list[Mistake] = Field(default_factory=list)
    superseded: list[SupersededCheck] = Field(default_factory=list)


class Rates(BaseModel):
    findings: int
    verified: int
    predictions: int
    tp: int
    fp: int
    labelled: int
    fn: int
    precision: float | None
    recall: float | None
    f1: float | None
    citation_validity: float | None

    @classmethod
    def of(cls, s: _Tally) -> "Rates":
        return cls(findings=s.findings, verified=s.verified, predictions=s.predictions, tp=s.tp, fp=s.fp,
                   labelled=s.labelled, fn=s.fn, precision=s.precision, recall=s.recall, f1=s.f1,
                   citation_validity=s.citation_validity)


class Latency(BaseModel):
    mean_s: float = 0.0
    p50_s: float = 0.0
    max_s: float = 0.0


class EvalReport(BaseModel):
    split: str
    data_dir: str
    model: str
    prompt_version: str
    deals: int
    notes: int
    overall: Rates
    per_concept: dict[ConceptKey, Rates]
    drops: dict[str, int] = Field(default_factory=dict)
    superseded_correct: int = 0
    superseded_total: int = 0
    usage: Usage = Field(default_factory=Usage)
    cost_usd: float | None = 0.0  # None: some tokens were spent on a model the price table does not know
    latency: Latency = Field(default_factory=Latency)
    errors: int = 0
    per_deal: list[DealResult] = Field(default_factory=list)


# ---------------------------------------------------------------------------------------------------------
# Scoring


def _estimate_cost(model: str, usage: Usage) -> float | None:
    """None: tokens spent on a model the price table does not know (shown as "unpriced")."""
    from engine.extract.pricing import estimate_cost

    return estimate_cost(model, usage)


def _is_multi(field_map: FieldMap, concept: ConceptKey) -> bool:
    fields = field_map.concepts.get(concept)
    return fields is not None and fields.scout.type is FieldType.MULTI_SELECT


def _is_option(field_map: FieldMap, concept: ConceptKey) -> bool:
    fields = field_map.concepts.get(concept)
    return fields is not None and fields.scout.type in (FieldType.SELECT, FieldType.MULTI_SELECT)


class _Unit(BaseModel):
    note_id: str
    concept: ConceptKey
    accepted: list[str]
    covered: bool = False


def _gold_units(deal: EvalDeal, field_map: FieldMap) -> list[_Unit]:
    units: list[_Unit] = []
    for note_id, per_concept in deal.labels.items():
        for concept, values in per_concept.items():
            if concept not in field_map.concepts:
                continue  # labelled for another method (decision_process under medic): not scored
            if _is_multi(field_map, concept):
                units.extend(_Unit(note_id=note_id, concept=concept, accepted=[v]) for v in values)
            else:
                units.append(_Unit(note_id=note_id, concept=concept, accepted=list(values)))
    return units


def _matches(field_map: FieldMap, concept: ConceptKey, value: str, accepted: list[str]) -> bool:
    same = _option_matches if _is_option(field_map, concept) else text_matches
    return any(same(value, a) for a in accepted)


def _newest_wins(findings: list[Finding], notes: list[Note]) -> dict[ConceptKey, Finding]:
    """Per concept, the finding a pass files: the one from the newest note (first listed on a tie)."""
    when = {n.id: (n.created_at, i) for i, n in enumerate(notes)}
    out: dict[ConceptKey, Finding] = {}
    for f in findings:
        cur = out.get(f.concept)
        if cur is None or when[f.note_id] > when[cur.note_id]:
            out[f.concept] = f
    return out


def _score_deal(deal: EvalDeal, notes: list[Note], findings: list[Finding], dropped: list[DroppedFinding],
                field_map: FieldMap, per_concept: dict[ConceptKey, _Tally], result: DealResult) -> None:
    kept, unverified = verify_citations(findings, notes, field_map)
    for f in findings:
        if f.concept in per_concept:
            per_concept[f.concept].findings += 1
    for f in kept:
        if f.concept in per_concept:
            per_concept[f.concept].verified += 1
    result.dropped.extend([*dropped, *unverified])

    units = _gold_units(deal, field_map)
    for u in units:
        per_concept[u.concept].labelled += 1

    seen: set[tuple[str, ConceptKey, str]] = set()
    for f in kept:
        fields = field_map.concepts.get(f.concept)
        if fields is None:
            result.dropped.append(DroppedFinding(concept=str(f.concept), value=f.value, note_id=f.note_id,
                                                 excerpt=f.excerpt, reason="concept is not in the field map"))
            continue
        try:
            value = coerce(fields.scout, f.value)
        except CoercionError:
            # Grouped by field rather than by message, so the drop table stays readable.
            result.dropped.append(DroppedFinding(concept=str(f.concept), value=f.value, note_id=f.note_id,
                                                 excerpt=f.excerpt, reason=f"value does not fit {fields.scout.name}"))
            continue
        values = [str(v) for v in value] if isinstance(value, list) else [display(value)]
        for v in values:
            key = (f.note_id, f.concept, norm_value(v))
            if key in seen:
                continue  # the same claim twice is one prediction
            seen.add(key)
            score = per_concept[f.concept]
            score.predictions += 1
            hits = [u for u in units if u.note_id == f.note_id and u.concept == f.concept
                    and _matches(field_map, f.concept, v, u.accepted)]
            if hits:
                score.tp += 1
                result.tp += 1
                for u in hits:
                    u.covered = True
            else:
                score.fp += 1
                result.fp += 1
                result.mistakes.append(Mistake(kind="fp", note_id=f.note_id, concept=f.concept, value=v,
                                               excerpt=f.excerpt))
    for u in units:
        if not u.covered:
            per_concept[u.concept].fn += 1
            result.fn += 1
            result.mistakes.append(Mistake(kind="fn", note_id=u.note_id, concept=u.concept, value=u.accepted[0]))

    # Like a pass: the newest verified finding wins before coercion, so a newest value that does not fit
    # files nothing rather than falling back to an older one.
    winners = _newest_wins([f for f in kept if f.concept in field_map.concepts], notes)
    for concept, expected in deal.final.items():
        if concept not in field_map.concepts:
            continue
        check = SupersededCheck(concept=concept, expected=list(expected))
        winner = winners.get(concept)
        if winner is not None and concept in field_map.concepts:
            check.from_note = winner.note_id
            try:
                value = coerce(field_map.concepts[concept].scout, winner.value)
            except CoercionError:
                value = None
            if value is not None:
                values = [str(v) for v in value] if isinstance(value, list) else [display(value)]
                check.got = display(value)
                check.correct = all(_matches(field_map, concept, v, expected) for v in values)
        result.superseded.append(check)


async def evaluate(
    extractor: Extractor,
    split: str = "test",
    field_map: FieldMap | None = None,
    data_dir: Path = DEFAULT_DATA_DIR,
) -> EvalReport:
    """Run `extractor` over every deal of the split and score it. Deals run one at a time so latency is clean."""
    field_map = field_map or default_field_map()
    deals = load_split(split, data_dir)
    per_concept: dict[ConceptKey, _Tally] = {c: _Tally() for c in field_map.concepts}
    results: list[DealResult] = []
    usage = Usage()
    for deal in deals:
        notes = deal.as_notes()
        result = DealResult(deal_id=deal.deal.id, name=deal.deal.name)
        started = time.perf_counter()
        try:
            extraction = await extractor.extract(deal.as_deal(), notes, field_map)
        except ExtractionError as exc:
            result.latency_s = time.perf_counter() - started
            result.error = str(exc) or type(exc).__name__
            # A cut-short reply still spent tokens: count them, so the cost is not understated.
            result.model, result.usage = extractor.model, exc.usage
            result.cost_usd = _estimate_cost(extractor.model, exc.usage)
            usage = usage + exc.usage
            _score_deal(deal, notes, [], [], field_map, per_concept, result)
            results.append(result)
            continue
        result.latency_s = time.perf_counter() - started
        result.model, result.usage = extraction.model, extraction.usage
        result.cost_usd = _estimate_cost(extraction.model, extraction.usage)
        usage = usage + extraction.usage
        _score_deal(deal, notes, extraction.findings, extraction.dropped, field_map, per_concept, result)
        results.append(result)

    overall = _Tally()
    for score in per_concept.values():
        overall.add(score)
    latencies = [r.latency_s for r in results]
    checks = [c for r in results for c in r.superseded]
    return EvalReport(
        split=split,
        data_dir=str(data_dir),
        model=extractor.model,
        prompt_version=extractor.prompt_version,
        deals=len(deals),
        notes=sum(len(d.notes) for d in deals),
        overall=Rates.of(overall),
        per_concept={c: Rates.of(s) for c, s in per_concept.items()},
        drops=dict(Counter(d.reason for r in results for d in r.dropped).most_common()),
        superseded_correct=sum(c.correct for c in checks),
        superseded_total=len(checks),
        usage=usage,
        cost_usd=None if any(r.cost_usd is None for r in results) else sum(r.cost_usd or 0.0 for r in results),
        latency=Latency(
            mean_s=statistics.fmean(latencies) if latencies else 0.0,
            p50_s=statistics.median(latencies) if latencies else 0.0,
            max_s=max(latencies, default=0.0),
        ),
        errors=sum(1 for r in results if r.error),
        per_deal=results,
    )

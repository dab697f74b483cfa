"""Pydantic models that cross module boundaries: CRM records, findings, decisions, run summaries."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

_LONE_SURROGATE = re.compile("[\ud800-\udfff]")

# Text from a CRM as stored: JSON may carry a lone surrogate ("\ud800"), which is no character and which SQLite
# (the log) refuses in any row it reaches. It is read as U+FFFD, the replacement character. (`scout import`
# refuses such a file instead, naming the line.)
CRMText = Annotated[str, AfterValidator(lambda text: _LONE_SURROGATE.sub("\ufffd", text))]


class FieldType(StrEnum):
    TEXT = "text"
    NUMBER = "number"
    DATE = "date"
    SELECT = "select"
    MULTI_SELECT = "multi_select"
    PERSON = "person"
    RECORD = "record"


class Concept(StrEnum):
    """The MEDIC(+PC) concepts Scout extracts. The model may only name one of these; code maps it to a field."""

    METRICS = "metrics"
    ECONOMIC_BUYER = "economic_buyer"
    DECISION_CRITERIA = "decision_criteria"
    IDENTIFIED_PAIN = "identified_pain"
    CHAMPION = "champion"
    PAPER_PROCESS = "paper_process"
    COMPETITION = "competition"


class FieldSpec(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    type: FieldType
    label: str = ""
    options: tuple[str, ...] = ()


class Deal(BaseModel):
    """A deal as the engine sees it: values are already decoded from the vendor's encoding.

    Decoded values: text/select/date/person/record -> str (date as ISO `YYYY-MM-DD`), number -> float,
    multi_select -> list[str]; absent -> None.
    """

    id: str
    name: CRMText
    stage: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    url: str | None = None
    values: dict[str, Any] = Field(default_factory=dict)


class DealRef(BaseModel):
    """The light form used to order a pipeline without holding every deal's values."""

    id: str
    name: CRMText


class Note(BaseModel):
    id: str
    deal_id: str
    author: CRMText = ""
    created_at: datetime
    title: CRMText = ""
    text: CRMText


class Finding(BaseModel):
    """One value proposed by an extractor, with the word-for-word excerpt that supports it."""

    concept: Concept
    value: str | list[str]
    note_id: str
    excerpt: str


class DroppedFinding(BaseModel):
    concept: str
    value: Any = None
    note_id: str | None = None
    excerpt: str | None = None
    reason: str


class Usage(BaseModel):
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0

    def __add__(self, other: "Usage") -> "Usage":
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cache_read_tokens=self.cache_read_tokens + other.cache_read_tokens,
            cache_write_tokens=self.cache_write_tokens + other.cache_write_tokens,
        )


class Extraction(BaseModel):
    """What an extractor returns for one deal, before the citation check."""

    findings: list[Finding] = Field(default_factory=list)
    dropped: list[DroppedFinding] = Field(default_factory=list)
    model: str
    usage: Usage = Field(default_factory=Usage)


class ActionKind(StrEnum):
    WRITTEN = "written"
    WOULD_WRITE = "would_write"
    SKIPPED = "skipped"
    DROPPED = "dropped"
    FAILED = "failed"
    PROMOTED = "promoted"
    WOULD_PROMOTE = "would_promote"
    DISMISSED = "dismissed"
    REVERTED = "reverted"
    WOULD_REVERT = "would_revert"
    REVERT_CONFLICT = "revert_conflict"
    FIELD_CREATED = "field_created"
    WOULD_CREATE_FIELD = "would_create_field"


class Verdict(StrEnum):
    """What the decision table concludes for one (deal, concept)."""

    WRITE = "write"  # scout field empty: a new suggestion
    UPDATE = "update"  # scout field holds an older, different suggestion
    UNCHANGED = "unchanged"  # scout field already holds this value
    DUPLICATE = "duplicate"  # this exact value from this note was already applied live
    REP_FILLED = "rep_filled"  # the rep owns the answer: defer to it


class Decision(BaseModel):
    concept: Concept
    verdict: Verdict
    scout_field: str
    rep_field: str
    previous: Any = None
    new: Any = None
    rep_value: Any = None
    finding: Finding

    @property
    def writes(self) -> bool:
        return self.verdict in (Verdict.WRITE, Verdict.UPDATE)


Mode = Literal["LIVE", "DRY RUN"]  # what every run's output leads with (invariant 2)


class RunSummary(BaseModel):
    run_id: int
    mode: Mode
    dry_run_reason: str | None = None
    written: int = 0
    would_write: int = 0
    skipped: int = 0
    dropped: int = 0
    failed: int = 0
    scanned: int = 0
    total: int = 0
    cap: int = 0
    not_reached: int = 0
    model: str = ""
    usage: Usage = Field(default_factory=Usage)
    cost_usd: float | None = 0.0  # None: tokens were spent on a model the price table does not know
    reconciled: int = 0
    errors: list[str] = Field(default_factory=list)
    batch: bool = False  # extraction went through the Message Batches API (billed at the batch price)
    batch_id: str | None = None  # the batch submitted, or resumed, this run
    batch_resumed: bool = False  # polled a batch an interrupted run had submitted, instead of paying again
    expired: int = 0  # deals whose batch extraction expired or was canceled: not marked scanned
    deadline_left: int = 0  # deals not extracted because the pass deadline passed: not marked scanned
    deadline_seconds: float | None = None
    notices: list[str] = Field(default_factory=list)


class Person(BaseModel):
    """A contact that person-link fields point at. Decoded person values are the person's name."""

    id: str
    name: str
    email: str = ""
    title: str = ""


class WorkspaceData(BaseModel):
    """A whole pipeline in decoded form: what the demo seeder builds and `scout import/export` carry."""

    fields: list[FieldSpec] = Field(default_factory=list)
    people: list[Person] = Field(default_factory=list)
    deals: list[Deal] = Field(default_factory=list)
    notes: list[Note] = Field(default_factory=list)

"""The two CRM protocols and the errors every adapter raises.

The read-only face is handed a `CRMReader` and nothing else; only the gate hands out a `CRMWriter`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, AsyncIterator, Mapping, Protocol, Sequence, runtime_checkable

from engine.errors import (  # noqa: F401 (re-exported: every adapter raises these)
    AuthError, CRMBudgetSpent, CRMError, CRMRetriesSpent, CRMUnreachable, DealNotFound, FieldTypeConflict,
    TokenMissing,
)
from engine.models import Deal, DealRef, FieldSpec, Note


@dataclass(frozen=True)
class DealWrite:
    """Several fields of one deal, written in one call (values decoded; None clears a field)."""

    deal_id: str
    values: Mapping[str, Any]


@dataclass(frozen=True)
class WriteResult:
    """The vendor's own answer for one DealWrite of a batch: ok, or its one-line reason."""

    deal_id: str
    ok: bool
    error: str | None = None
    not_found: bool = False


@runtime_checkable
class CRMReader(Protocol):
    @property
    def pages_in_flight(self) -> int:
        """Pages of deals the pass keeps in flight each way (read ahead, written behind): enough that round
        trips overlap, where a page costs less of the vendor's budget than a round trip of waiting."""
        ...

    async def count_deals(self) -> int: ...

    def iter_deal_refs(self) -> AsyncIterator[DealRef]:
        """Every deal in the pipeline, paging as the vendor requires."""
        ...

    async def get_deal(self, deal_id: str) -> Deal:
        """Raises DealNotFound."""
        ...

    async def find_deals(self, name: str, limit: int = 5) -> list[Deal]:
        """Best matches for a deal name, best first."""
        ...

    async def list_notes(self, deal_id: str) -> list[Note]:
        """The deal's notes as plain text, oldest first. Raises DealNotFound."""
        ...

    async def get_deals(self, deal_ids: Sequence[str]) -> dict[str, Deal]:
        """Many deals at once, by id; an id that no longer exists is absent from the answer."""
        ...

    async def list_notes_many(self, deal_ids: Sequence[str]) -> dict[str, list[Note]]:
        """The notes of many deals at once, each oldest first; a vanished deal is absent from the answer."""
        ...

    async def field_specs(self) -> dict[str, FieldSpec]:
        """Fields on the deal object, by name."""
        ...

    async def first_filled(self, fields: Sequence[str]) -> tuple[str, str] | None:
        """Some (deal id, field) where one of `fields` holds a value, or None: is anything there at all?"""
        ...

    async def aclose(self) -> None: ...


@runtime_checkable
class CRMWriter(CRMReader, Protocol):
    async def create_field(self, spec: FieldSpec) -> bool:
        """Create the field; False when it already exists with this type. Raises FieldTypeConflict."""
        ...

    async def set_field(self, deal_id: str, field: str, value: Any) -> None:
        """Overwrite one field with a decoded value (None clears it). Raises DealNotFound."""
        ...

    async def set_fields(self, deal_id: str, values: Mapping[str, Any]) -> None:
        """Overwrite several fields of one deal in one call. Raises DealNotFound."""
        ...

    async def write_many(self, writes: Sequence[DealWrite]) -> list[WriteResult]:
        """Many deals' writes, batched as the vendor allows; one result per input, in order. A rejected
        input is a result with ok=False and the vendor's reason; only a failure of the whole call raises."""
        ...


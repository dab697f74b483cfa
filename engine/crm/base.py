"""The two CRM protocols and the errors every adapter raises.

The read-only face is handed a `CRMReader` and nothing else; only the gate hands out a `CRMWriter`.
"""

from __future__ import annotations

from typing import Any, AsyncIterator, Protocol, Sequence, runtime_checkable

from engine.errors import (  # noqa: F401 (re-exported: every adapter raises these)
    AuthError, CRMError, CRMUnreachable, DealNotFound, FieldTypeConflict, TokenMissing,
)
from engine.models import Deal, DealRef, FieldSpec, Note


@runtime_checkable
class CRMReader(Protocol):
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

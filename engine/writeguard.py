"""Invariant 1 at the write boundary: the writer the gate hands out writes only the field map's scout_*
fields. A rep-owned field is written only through `write_rep_field`, which names the concept's rep twin
explicitly; the promotion path (and undoing a promotion) is its only caller. Whatever a caller holds - a row
read back from the log, a field name from anywhere - the namespace is checked here, at the last step."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from engine.crm.base import CRMWriter, DealWrite, WriteResult
from engine.crm.factory import ReadOnlyCRM
from engine.errors import ScoutError
from engine.medic import FieldMap
from engine.models import Concept, FieldSpec


class NamespaceRefused(ScoutError):
    """A write outside the scout_* namespace (or to a rep field other than the concept's own); nothing written."""


def refusal(field_map: FieldMap, field: str, *, rep_of: Concept | str | None = None) -> str | None:
    """Why writing `field` is refused, or None. `rep_of` names the concept whose rep twin a promotion writes."""
    if rep_of is None:
        if field_map.is_scout_field(field):
            return None
        return f"refused to write {field}: it is not a scout_* field of the field map; Scout writes only its own fields"
    fields = field_map.concepts.get(rep_of)  # keys are a method's concept keys; MEDIC's are str enum members
    if fields is not None and fields.rep.name == field:
        return None
    return f"refused to write {field}: it is not the rep field of {rep_of}"


class ScoutWriter(ReadOnlyCRM):
    """A CRMWriter that refuses, before any CRM call, a field Scout does not own. Its reads pass straight
    through (ReadOnlyCRM)."""

    def __init__(self, crm: CRMWriter, field_map: FieldMap):
        super().__init__(crm)
        self._crm, self._map = crm, field_map

    async def set_field(self, deal_id: str, field: str, value: Any) -> None:
        self._check([field])
        await self._crm.set_field(deal_id, field, value)

    def _check(self, fields: Any) -> None:
        for field in fields:
            why = refusal(self._map, field)
            if why:
                raise NamespaceRefused(why)

    async def set_fields(self, deal_id: str, values: Mapping[str, Any]) -> None:
        self._check(values)
        await self._crm.set_fields(deal_id, values)

    async def write_many(self, writes: Sequence[DealWrite]) -> list[WriteResult]:
        """The whole batch is refused, before any call, when any input names a field Scout does not own."""
        for w in writes:
            self._check(w.values)
        return await self._crm.write_many(writes)

    async def write_rep_field(self, deal_id: str, concept: Concept | str, field: str, value: Any) -> None:
        """A promotion's write (or its undo): `field` must be `concept`'s rep-owned twin."""
        why = refusal(self._map, field, rep_of=concept)
        if why:
            raise NamespaceRefused(why)
        await self._crm.set_field(deal_id, field, value)

    async def create_field(self, spec: FieldSpec) -> bool:
        return await self._crm.create_field(spec)
